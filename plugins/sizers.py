"""Built-in position sizers."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from multifolio.protocols import ConfigError, PositionSizer, RiskContext


class FixedSizer(PositionSizer):
    """Always `size` units (shares, contracts, coins)."""

    def __init__(self, *, size: float) -> None:
        if not size > 0:
            raise ConfigError("size", f"must be > 0 units, was {size}")
        self.size_units = size

    def size(self, context: RiskContext) -> float:
        return self.size_units


class PercentageSizer(PositionSizer):
    """Units worth `size` (a fraction in (0, 1]) of current equity at the signal's close."""

    def __init__(self, *, size: float) -> None:
        if not 0 < size <= 1:
            raise ConfigError("size", f"must be a fraction of equity in (0, 1], was {size}")
        self.fraction = size

    def size(self, context: RiskContext) -> float:
        return max(0.0, self.fraction * context.equity / context.price)


class AtrRiskSizer(PositionSizer):
    """Risks `risk` (a fraction of equity) between the entry and its stop: units = risk × equity / distance.

    The distance is the system's own stop (`RiskContext.stop_distance`, from a `stop_loss` or
    `trailing_stop` exit) when it has one, else `atr` × ATR_`atr_period` at the signal's bar.
    No size while the ATR warms up.
    """

    def __init__(self, *, risk: float = 0.01, atr: float = 2.0, atr_period: int = 14) -> None:
        if not 0 < risk <= 1:
            raise ConfigError("risk", f"must be a fraction of equity in (0, 1], was {risk}")
        if not atr > 0:
            raise ConfigError("atr", f"must be a multiple > 0 of the ATR, was {atr}")
        if not isinstance(atr_period, int) or not 1 <= atr_period <= 100_000:
            raise ConfigError("atr_period", f"must be a whole number in [1, 100,000], was {atr_period!r}")
        self.risk, self.atr, self.atr_period = risk, atr, atr_period
        self._key = f"ATR_{atr_period}"

    def indicators(self) -> Sequence[str]:
        return (self._key,)

    def size(self, context: RiskContext) -> float:
        distance = context.stop_distance
        if not distance > 0:
            distance = self.atr * context.values[self._key]
        if not distance > 0:  # NaN while the ATR warms up
            return 0.0
        return max(0.0, self.risk * context.equity / distance)


class VolatilityTargetSizer(PositionSizer):
    """A position whose bar-to-bar volatility is `target` of equity: units = target × equity / (σ × price),
    σ the standard deviation of the close's returns over the last `lookback` bars. No size before
    `lookback` returns exist, nor when the price did not move."""

    def __init__(self, *, target: float = 0.01, lookback: int = 20) -> None:
        if not 0 < target <= 1:
            raise ConfigError("target", f"must be a fraction of equity per bar in (0, 1], was {target}")
        if not isinstance(lookback, int) or not 2 <= lookback <= 100_000:
            raise ConfigError("lookback", f"must be a whole number of bars in [2, 100,000], was {lookback!r}")
        self.target, self.lookback = target, lookback

    def size(self, context: RiskContext) -> float:
        closes = [context.values.ago("close", bars) for bars in range(self.lookback + 1)]
        returns = [newer / older - 1.0 for newer, older in zip(closes, closes[1:])]
        if any(math.isnan(value) for value in returns):
            return 0.0
        sigma = statistics.stdev(returns)
        return self.target * context.equity / (sigma * context.price) if sigma > 0 else 0.0


class TargetPercentSizer(PositionSizer):
    """A position worth `percent` of equity at the signal's close, leverage allowed (up to 10×): the
    `percentage` sizer without its cap at 1."""

    def __init__(self, *, percent: float) -> None:
        if not 0 < percent <= 10:
            raise ConfigError("percent", f"must be a multiple of equity in (0, 10], was {percent}")
        self.percent = percent

    def size(self, context: RiskContext) -> float:
        return max(0.0, self.percent * context.equity / context.price)

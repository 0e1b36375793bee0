"""Built-in exits: the legs of the bracket `risk.exits` attaches to every entry.

A distance is given one way: `price` (a fixed level), `percent` (a fraction of the entry's
fill price, or of the trailed close), or `atr` (a multiple of ATR_`atr_period` at the last
closed bar).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from multifolio.protocols import ConfigError, Exit, ExitOrder, HeldPosition, IndicatorValues

class _Distance:
    """One way of giving how far from a reference price an exit stands."""

    def __init__(self, owner: str, allowed: Sequence[str], given: dict[str, float | None], atr_period: int) -> None:
        named = {key: value for key, value in given.items() if value is not None}
        if len(named) != 1:
            raise ConfigError(allowed[0] if not named else next(iter(named)),
                              f"{owner} takes exactly one of {', '.join(allowed)}; found "
                              f"{', '.join(named) or 'none'}")
        (self.kind, self.value), = named.items()
        if not (isinstance(self.value, (int, float)) and math.isfinite(self.value) and self.value > 0):
            raise ConfigError(self.kind, f"must be a number > 0, was {self.value!r}")
        if self.kind == "percent" and self.value >= 1:
            raise ConfigError("percent", f"is a fraction of the price in (0, 1), was {self.value}")
        if not isinstance(atr_period, int) or not 1 <= atr_period <= 100_000:
            raise ConfigError("atr_period", f"must be a whole number in [1, 100,000], was {atr_period!r}")
        self.atr_key = f"ATR_{atr_period}"

    def indicators(self) -> tuple[str, ...]:
        return (self.atr_key,) if self.kind == "atr" else ()

    def away(self, reference: float, values: IndicatorValues) -> float:
        """The distance from `reference` (NaN while ATR warms up)."""
        if self.kind == "percent":
            return reference * self.value
        if self.kind == "atr":
            return values[self.atr_key] * self.value
        return self.value


class _Level(Exit):
    """An exit at a fixed level set when the entry fills."""

    direction = -1  # -1: on the losing side of the entry (a stop); +1: on the winning side (a target)

    def __init__(self, *, price: float | None = None, percent: float | None = None, atr: float | None = None,
                 atr_period: int = 14) -> None:
        self.price, self.percent, self.atr, self.atr_period = price, percent, atr, atr_period
        self._distance = _Distance(self.reason, ("price", "percent", "atr"),
                                   {"price": price, "percent": percent, "atr": atr}, atr_period)

    def indicators(self) -> Sequence[str]:
        return self._distance.indicators()

    def level(self, position: HeldPosition, values: IndicatorValues) -> float:
        if self._distance.kind == "price":
            return self._distance.value
        return position.entry_price + self.direction * position.side * self._distance.away(position.entry_price,
                                                                                            values)


class StopLoss(_Level):
    """Closes at a stop on the losing side of the entry: `price`, or `percent`/`atr` below a long's fill price
    (above a short's)."""

    reason = "stop_loss"
    direction = -1

    def order(self, position: HeldPosition, values: IndicatorValues) -> ExitOrder | None:
        level = self.level(position, values)
        return ExitOrder.stop(level) if level > 0 else None


class TakeProfit(_Level):
    """Closes at a limit on the winning side of the entry: `price`, or `percent`/`atr` above a long's fill price
    (below a short's)."""

    reason = "take_profit"
    direction = 1

    def order(self, position: HeldPosition, values: IndicatorValues) -> ExitOrder | None:
        level = self.level(position, values)
        return ExitOrder.limit(level) if level > 0 else None


class TrailingStop(Exit):
    """A stop that follows the best close since the entry (the entry's price first) at `percent` of it,
    `amount` (currency), or `atr` × ATR below it for a long (above for a short); it never loosens."""

    reason = "trailing_stop"
    trails = True

    def __init__(self, *, percent: float | None = None, amount: float | None = None, atr: float | None = None,
                 atr_period: int = 14) -> None:
        self.percent, self.amount, self.atr, self.atr_period = percent, amount, atr, atr_period
        self._distance = _Distance(self.reason, ("percent", "amount", "atr"),
                                   {"percent": percent, "amount": amount, "atr": atr}, atr_period)

    def indicators(self) -> Sequence[str]:
        return self._distance.indicators()

    def order(self, position: HeldPosition, values: IndicatorValues) -> ExitOrder | None:
        best = position.highest_close if position.side > 0 else position.lowest_close
        level = best - position.side * self._distance.away(best, values)
        return ExitOrder.stop(level) if level > 0 else None  # NaN (ATR warming up): none yet


class MaxBars(Exit):
    """Closes at market once the position has been held `bars` bars: the trade's bars_held is `bars`."""

    reason = "max_bars"
    trails = True

    def __init__(self, *, bars: int) -> None:
        if not isinstance(bars, int) or isinstance(bars, bool) or not 1 <= bars <= 10_000_000:
            raise ConfigError("bars", f"must be a whole number of bars in [1, 10,000,000], was {bars!r}")
        self.bars = bars

    def order(self, position: HeldPosition, values: IndicatorValues) -> ExitOrder | None:
        return ExitOrder.market() if position.bars_held >= self.bars else None

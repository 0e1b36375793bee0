"""A pairs trade on the full strategy form: the spread of two symbols, hedged by a rolling ratio."""

from __future__ import annotations

from collections import deque

import numpy as np

from multifolio.protocols import ConfigError, Strategy, TradingContext


class PairsStrategy(Strategy):
    """Trades the spread `first` − β × `second`, β the least-squares hedge ratio of `first`'s closes on
    `second`'s over the last `lookback` timestamps at which both have a bar; z is the spread's distance
    from its mean over that window in standard deviations.

    z above `entry_z`: short the spread (sell `first`, buy β units of `second` per unit); below
    −`entry_z`: long it; back within `exit_z` of the mean: flat. `first` is sized at `fraction` of
    equity; the hedge ratio is fixed at entry. Both legs are targets: each bar orders only what
    differs from what is held.
    """

    def __init__(self, *, first: str, second: str, lookback: int = 60, entry_z: float = 2.0, exit_z: float = 0.5,
                 fraction: float = 0.5) -> None:
        if first == second:
            raise ConfigError("second", f"must differ from first ({first!r})")
        if not isinstance(lookback, int) or not 3 <= lookback <= 100_000:
            raise ConfigError("lookback", f"must be a whole number of bars in [3, 100,000], was {lookback!r}")
        if not 0 <= exit_z < entry_z:
            raise ConfigError("exit_z", f"must be in [0, entry_z={entry_z}), was {exit_z}")
        if not 0 < fraction <= 1:
            raise ConfigError("fraction", f"must be a fraction of equity in (0, 1], was {fraction}")
        self.first, self.second, self.lookback = first, second, lookback
        self.entry_z, self.exit_z, self.fraction = entry_z, exit_z, fraction
        self._closes: deque[tuple[float, float]] = deque(maxlen=lookback)
        self._side = 0  # +1 long the spread, -1 short, 0 flat
        self._ratio = 0.0

    def on_bars(self, context: TradingContext) -> None:
        if self.first not in context.bars or self.second not in context.bars:
            return  # the spread moves only when both have traded
        self._closes.append((context.bars[self.first].close, context.bars[self.second].close))
        if len(self._closes) < self.lookback:
            return
        first, second = np.array(self._closes).T
        ratio = float(np.cov(first, second, bias=True)[0, 1] / np.var(second)) if np.var(second) > 0 else 0.0
        spread = first - ratio * second
        sigma = float(spread.std())
        if not sigma > 0:
            return
        z = float((spread[-1] - spread.mean()) / sigma)
        side = self._side
        if side == 0 and abs(z) > self.entry_z:
            side, self._ratio = (-1 if z > 0 else 1), ratio
        elif side != 0 and abs(z) < self.exit_z:
            side = 0
        if side == self._side:
            return
        self._side = side
        units = side * self.fraction * context.equity / context.bars[self.first].close
        context.target(self.first, quantity=units)
        context.target(self.second, quantity=-self._ratio * units)

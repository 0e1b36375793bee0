"""Momentum: follow the return over the last `lookback_period` bars."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from multifolio.protocols import BarClosed, ConfigError, Direction, IndicatorValues, Strategy


class MomentumStrategy(Strategy):
    """Long when the close rose more than `momentum_threshold` (a fraction) over
    `lookback_period` bars; short (or flat, without `allow_short`) when it fell more."""

    def __init__(self, *, lookback_period: int = 20, momentum_threshold: float = 0.0,
                 allow_short: bool = True) -> None:
        if lookback_period < 1:
            raise ConfigError("lookback_period", f"must be ≥ 1, was {lookback_period}")
        if momentum_threshold < 0:
            raise ConfigError("momentum_threshold", f"must be ≥ 0, was {momentum_threshold}")
        self.lookback_period = lookback_period
        self.momentum_threshold = momentum_threshold
        self.allow_short = allow_short

    def on_bar(self, bar: BarClosed, values: IndicatorValues) -> Direction | None:
        before = values.ago("close", self.lookback_period)
        if before != before:  # NaN: not enough history yet
            return None
        change = bar.close / before - 1.0
        if change > self.momentum_threshold:
            return Direction.LONG
        if change < -self.momentum_threshold:
            return Direction.SHORT if self.allow_short else Direction.FLAT
        return None

    def signals(self, values: Mapping[str, np.ndarray], start: int = 0) -> np.ndarray:
        """`on_bar` at every bar at once: the change over `lookback_period` bars against the threshold (NaN for
        the first `lookback_period` bars, which have no close that far back). Each bar's is its own, whatever
        `on_bar` saw before it: the same from any `start`."""
        close = np.asarray(values["close"], dtype=np.float64)
        wanted = np.full(len(close), np.nan)
        lookback = self.lookback_period
        if len(close) > lookback:
            change = close[lookback:] / close[:-lookback] - 1.0
            fallen = float(Direction.SHORT) if self.allow_short else float(Direction.FLAT)
            wanted[lookback:] = np.where(change > self.momentum_threshold, float(Direction.LONG),
                                         np.where(change < -self.momentum_threshold, fallen, np.nan))
        return wanted

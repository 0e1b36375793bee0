"""SMA crossover: long while the fast average is above the slow one, from the cross on."""

from __future__ import annotations

from app.protocols import BarClosed, ConfigError, Direction, IndicatorValues, Strategy


class SmaCrossoverStrategy(Strategy):
    """Long when the `fast_period` SMA of the close crosses above the `slow_period` SMA;
    flat (short with `allow_short`) when it crosses below. A cross is this bar's
    fast > slow after the previous bar's fast ≤ slow (and the mirror image)."""

    def __init__(self, *, fast_period: int = 10, slow_period: int = 30, allow_short: bool = False) -> None:
        if fast_period < 2:
            raise ConfigError("fast_period", f"must be ≥ 2, was {fast_period}")
        if slow_period <= fast_period:
            raise ConfigError("slow_period", f"must be greater than fast_period ({fast_period}), was {slow_period}")
        self.fast_period = fast_period
        self.slow_period = slow_period
        self.allow_short = allow_short
        self._fast, self._slow = f"SMA_{fast_period}", f"SMA_{slow_period}"

    def indicators(self) -> list[str]:
        return [self._fast, self._slow]

    def on_bar(self, bar: BarClosed, values: IndicatorValues) -> Direction | None:
        fast, slow = values[self._fast], values[self._slow]
        fast_before, slow_before = values.ago(self._fast, 1), values.ago(self._slow, 1)
        if fast > slow and fast_before <= slow_before:
            return Direction.LONG
        if fast < slow and fast_before >= slow_before:
            return Direction.SHORT if self.allow_short else Direction.FLAT
        return None  # no cross (comparisons with NaN during warm-up are all False)

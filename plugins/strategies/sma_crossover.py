"""SMA crossover: long while the fast average is above the slow one, from the cross on."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from multifolio.protocols import BarClosed, ConfigError, Direction, IndicatorValues, Strategy


class SmaCrossoverStrategy(Strategy):
    """Long when the `fast_period` SMA of the close crosses above the `slow_period` SMA;
    flat (short with `allow_short`) when it crosses below.

    A cross is a change in the sign of fast − slow. A bar where the two are equal keeps
    the last sign (backtrader's rule), so touching the slow average and turning back is
    not a cross, and passing through equality is one cross, on the bar after it.

    With `trend` (an indicator key such as `SMA_10@1W`), a cross up goes long only while the close is above the
    trend's value and a cross down goes short only while below it; otherwise the cross leaves the system flat
    (a NaN trend, still warming up, lets no entry through).
    """

    def __init__(self, *, fast_period: int = 10, slow_period: int = 30, allow_short: bool = False,
                 trend: str | None = None) -> None:
        if fast_period < 2:
            raise ConfigError("fast_period", f"must be ≥ 2, was {fast_period}")
        if slow_period <= fast_period:
            raise ConfigError("slow_period", f"must be greater than fast_period ({fast_period}), was {slow_period}")
        self.fast_period = fast_period
        self.slow_period = slow_period
        self.allow_short = allow_short
        if trend is not None and (not isinstance(trend, str) or not trend):
            raise ConfigError("trend", f"expected an indicator key such as SMA_10@1W, found {trend!r}")
        self.trend = trend
        self._fast, self._slow = f"SMA_{fast_period}", f"SMA_{slow_period}"
        self._last_sign: dict[str, int] = {}  # per symbol: +1 fast above, −1 below, since the last non-tie

    def indicators(self) -> list[str]:
        return [self._fast, self._slow] + ([self.trend] if self.trend else [])

    def on_bar(self, bar: BarClosed, values: IndicatorValues) -> Direction | None:
        difference = values[self._fast] - values[self._slow]
        if not difference:  # a tie keeps the last sign
            return None
        if difference != difference:  # NaN: still warming up
            return None
        sign = 1 if difference > 0 else -1
        before = self._last_sign.get(bar.symbol, sign)  # the first sign seen is no cross
        self._last_sign[bar.symbol] = sign
        if sign == before:
            return None
        wanted = Direction.LONG if sign > 0 else Direction.SHORT if self.allow_short else Direction.FLAT
        if self.trend is None or wanted is Direction.FLAT:
            return wanted
        trend = values[self.trend]
        with_trend = bar.close > trend if wanted is Direction.LONG else bar.close < trend  # NaN: neither
        return wanted if with_trend else Direction.FLAT

    def signals(self, values: Mapping[str, np.ndarray], start: int = 0) -> np.ndarray:
        """`on_bar` at every bar at once: the sign of fast − slow, ties and NaNs keeping the last sign; a cross
        where it differs from the last one before it, from `start` on (the first sign seen there is no cross)."""
        difference = np.asarray(values[self._fast], dtype=np.float64) - np.asarray(values[self._slow],
                                                                                   dtype=np.float64)
        sign = np.where(difference > 0, 1, np.where(difference < 0, -1, 0))  # ties and NaNs: 0
        sign[:start] = 0  # not seen
        bars = np.arange(len(sign))
        last = np.maximum.accumulate(np.where(sign != 0, bars, -1))  # the last bar with a sign, up to each
        before = np.concatenate(([-1], last[:-1]))  # ... strictly before each
        crossed = (sign != 0) & (before >= 0) & (sign != sign[np.maximum(before, 0)])
        wanted = np.where(sign > 0, float(Direction.LONG),
                          float(Direction.SHORT) if self.allow_short else float(Direction.FLAT))
        if self.trend is not None:
            close, trend = np.asarray(values["close"]), np.asarray(values[self.trend])
            with np.errstate(invalid="ignore"):
                with_trend = np.where(sign > 0, close > trend, close < trend)  # NaN: neither
            wanted = np.where((wanted == float(Direction.FLAT)) | with_trend, wanted, float(Direction.FLAT))
        return np.where(crossed, wanted, np.nan)

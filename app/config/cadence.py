"""Spans and cadences as written in a config: a number of bars, or of calendar days, weeks, months,
quarters or years (`20`, `1M`, `2Y`): how often a book rebalances, how far it looks back, how long a warm-up or
a walk-forward window is."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
from attrs import frozen

from multifolio.errors import ConfigError
from multifolio.wording import counted

MAX_LOOKBACK_BARS = 1_000_000
_UNITS = {"D": "day", "W": "week", "M": "month", "Q": "quarter", "Y": "year"}
_CADENCE = re.compile(r"(\d+)\s*([DWMQY])")


@frozen(hash=False)
class Cadence:
    """Every `count` bars (`unit` "bars"), or every `count` calendar days, weeks, months, quarters or years
    (`unit` D, W, M, Q or Y) of the timestamps' own zone."""

    count: int
    unit: str

    def describe(self) -> str:
        return counted(self.count, "bar" if self.unit == "bars" else _UNITS[self.unit])

    def starts(self, timestamps: pd.DatetimeIndex) -> np.ndarray:
        """Whether each bar is the first of its period (bar 0 is): a rebalance falls on these bars."""
        n = len(timestamps)
        if self.unit == "bars":
            return np.arange(n) % self.count == 0
        periods = self._period_numbers(timestamps) // self.count
        return np.concatenate(([True], periods[1:] != periods[:-1])) if n else np.zeros(0, dtype=bool)

    def window_starts(self, timestamps: pd.DatetimeIndex) -> np.ndarray:
        """For each bar, the first bar of the look-back ending at it: `count` bars back, or the first bar
        later than the same time `count` periods earlier."""
        n = len(timestamps)
        if self.unit == "bars":
            return np.maximum(np.arange(n) - self.count + 1, 0)
        earlier = timestamps - self.period()  # pandas may give it another unit (far back: microseconds)
        return np.asarray(timestamps.searchsorted(earlier, side="right"), dtype=np.int64)

    def period(self) -> pd.DateOffset:
        """The calendar span of `count` periods (not for a count of bars)."""
        return {"D": pd.DateOffset(days=self.count), "W": pd.DateOffset(weeks=self.count),
                "M": pd.DateOffset(months=self.count), "Q": pd.DateOffset(months=3 * self.count),
                "Y": pd.DateOffset(years=self.count)}[self.unit]

    def _period_numbers(self, timestamps: pd.DatetimeIndex) -> np.ndarray:
        if self.unit == "D":
            return calendar_days(timestamps)
        if self.unit == "W":  # weeks start on Monday (1970-01-01, day 0, was a Thursday)
            return (calendar_days(timestamps) + 3) // 7
        local = timestamps.tz_localize(None) if timestamps.tz is not None else timestamps  # wall time
        months = local.year.to_numpy() * 12 + local.month.to_numpy() - 1
        return {"M": months, "Q": months // 3, "Y": months // 12}[self.unit]


def calendar_days(timestamps: pd.DatetimeIndex) -> np.ndarray:
    """Each timestamp's calendar day as days since 1970-01-01, on the wall clock of its own zone."""
    wall = timestamps.tz_localize(None) if timestamps.tz is not None else timestamps
    return wall.to_numpy(dtype="datetime64[D]").astype(np.int64)


def parse_cadence(value: Any, path: str, *, what: str) -> Cadence:
    """`20` (bars), `"1M"`, `"2W"`, `"90D"`, `"1Q"`, `"1Y"`."""
    if isinstance(value, int) and not isinstance(value, bool) or isinstance(value, str) and value.strip().isdigit():
        count = int(value)
        if not 1 <= count <= MAX_LOOKBACK_BARS:
            raise ConfigError(path, f"must be in [1, {MAX_LOOKBACK_BARS:,}] bars, was {count}")
        return Cadence(count, "bars")
    match = _CADENCE.fullmatch(str(value).strip().upper())
    if not match or not 1 <= int(match.group(1)) <= 1000:
        raise ConfigError(path, f"expected {what}: a number of bars (20) or of calendar periods: 1D, 1W, 1M, 3M, "
                                f"1Q, 1Y (at most 1000), found {value!r}")
    return Cadence(int(match.group(1)), match.group(2))

"""The timeframe grammar of indicator keys (`SMA_20@1D`, `RSI_14@4h`): a count and a unit, one canonical spelling.

Units: `min` (minutes), `h` (hours), `D` (calendar days), `W` (weeks, Monday to Sunday), `M` (calendar months).
A lone lowercase `m` is refused, never read as minutes or months: `M` is a month and `min` a minute, as in
pandas. `h`/`H`, `D`/`d` and `W`/`w` are the same unit. Each span has one key: minutes that make whole hours
are written in hours (`60min` and `1h` are both `1h`, `90min` stays `90min`); an intraday timeframe is shorter
than a day (`24h` is refused: write `1D`), since intraday buckets never span two sessions.
"""

from __future__ import annotations

import re

import pandas as pd
from attrs import frozen

from multifolio.errors import ConfigError

MAX_COUNT = 1000  # bounds each count: a bucket of at most 1000 units
INTRADAY = ("min", "h")
CALENDAR = ("D", "W", "M")
_WRITTEN = re.compile(r"(\d+)(min|h|H|d|D|w|W|M)")
_UNIT = {"min": "min", "h": "h", "H": "h", "d": "D", "D": "D", "w": "W", "W": "W", "M": "M"}
_MINUTES_PER_DAY = 24 * 60
EXPECTED = "a count and a unit such as 15min, 1h, 4h, 1D, 1W or 1M (min: minutes, h: hours, D: days, W: weeks, " \
           "M: months)"


@frozen
class Timeframe:
    """`count` `unit`s; `key` is its one spelling (`60min` → `1h`)."""

    count: int
    unit: str  # one of INTRADAY + CALENDAR

    @property
    def key(self) -> str:
        return f"{self.count}{self.unit}"

    @property
    def intraday(self) -> bool:
        return self.unit in INTRADAY

    def span(self) -> pd.Timedelta | None:
        """Its length, when fixed (minutes, hours, days, weeks); None for months."""
        if self.unit == "M":
            return None
        return pd.Timedelta(**{{"min": "minutes", "h": "hours", "D": "days", "W": "weeks"}[self.unit]: self.count})

    def shortest(self) -> pd.Timedelta:
        """The least a bucket can span: a month is at least 28 days."""
        return self.span() or pd.Timedelta(days=28 * self.count)


def parse_timeframe(text: str, path: str) -> Timeframe:
    """`4h` → Timeframe(4, "h"); anything else than EXPECTED is a ConfigError at `path`."""
    written = str(text).strip()
    match = _WRITTEN.fullmatch(written)
    if match is None:
        hint = " (a lone m is ambiguous: write min for minutes or M for months)" \
            if re.fullmatch(r"\d+m", written) else ""
        raise ConfigError(path, f"unknown timeframe {written!r}{hint}; expected {EXPECTED}")
    count, unit = int(match[1]), _UNIT[match[2]]
    if not 1 <= count <= MAX_COUNT:
        raise ConfigError(path, f"timeframe {written!r}: the count must be in [1, {MAX_COUNT}], was {count}")
    minutes = count * (60 if unit == "h" else 1) if unit in INTRADAY else 0
    if unit in INTRADAY and minutes >= _MINUTES_PER_DAY:
        raise ConfigError(path, f"timeframe {written!r}: intraday timeframes are shorter than a day (their buckets "
                                "never span two sessions); write 1D for a day")
    if unit == "min" and minutes % 60 == 0:
        count, unit = minutes // 60, "h"
    return Timeframe(count, unit)

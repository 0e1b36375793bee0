"""`data.start`, `data.end` and `data.warmup` as written, checked: the window a run trades in and the
warm-up read before it (multifolio.data.window cuts the bars to it)."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pandas as pd
from attrs import frozen

from multifolio.config.cadence import Cadence, parse_cadence
from multifolio.errors import ConfigError

_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


@frozen
class DataWindow:
    """The bars from `start` (inclusive) to `end` (inclusive; a date alone: that whole day) are traded;
    `warmup` bars (or a calendar span) before `start` are read only so that indicators are warm there.
    None on a side: the data's own first or last bar; without `start`, a warm-up is the data's first bars
    (or its first span)."""

    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    end_whole_day: bool = False  # `end` written as a date alone: every bar of that day is kept
    warmup: Cadence | None = None

    def describe(self) -> str:
        """`2020-01-01 → 2020-12-31 (the whole day)`, for the plan."""
        start = self.start.date() if self.start is not None and self.start == self.start.normalize() else self.start
        end = f"{self.end.date()} (the whole day)" if self.end_whole_day else self.end
        first = "the first bar" + (" after the warm-up" if self.warmup is not None else "")
        return f"{start if start is not None else first} → {end if end is not None else 'the last bar'}"


def parse_window(start: Any, end: Any, warmup: Any) -> tuple[DataWindow | None, list[ConfigError]]:
    """`data.start`, `data.end`, `data.warmup` as written (YAML may give a date object) checked: the window,
    or None when none is given, and the errors, each at its key."""
    errors: list[ConfigError] = []
    bounds = [_moment(value, f"data.{key}", errors) for key, value in (("start", start), ("end", end))]
    cadence = None
    if warmup is not None:
        try:
            cadence = parse_cadence(warmup, "data.warmup", what="a warm-up")
        except ConfigError as error:
            errors.append(error)
    if errors:
        return None, errors
    begin, finish = bounds
    whole_day = finish is not None and _date_only(end)
    if begin is not None and finish is not None and (begin.tz is None) == (finish.tz is None):
        last = finish + pd.Timedelta(days=1) if whole_day else finish
        if (last <= begin) if whole_day else (finish < begin):
            errors.append(ConfigError("data.end", f"{end} is before data.start {start}"))
            return None, errors
    if begin is None and finish is None and cadence is None:
        return None, []
    return DataWindow(begin, finish, whole_day, cadence), []


def _moment(value: Any, path: str, errors: list[ConfigError]) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        moment = pd.Timestamp(value)
    except (ValueError, TypeError):
        moment = pd.NaT
    if moment is pd.NaT or isinstance(value, (bool, int, float)):
        errors.append(ConfigError(path, f"expected a date or time such as 2020-06-30 or 2020-06-30T14:30 (in the "
                                        f"data's zone unless written with one), found {value!r}"))
        return None
    return moment


def _date_only(value: Any) -> bool:
    """A date without a time of day: `2020-12-31` or YAML's date object."""
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return True
    return isinstance(value, str) and bool(_DATE_ONLY.fullmatch(value.strip()))

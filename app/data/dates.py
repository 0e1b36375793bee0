"""Text timestamps read by one explicit rule: `data.date_format` if given, else ISO 8601; never guessed.

A file whose dates are written day/month/year or month/day/year is refused without `date_format`,
with the format to set: `09/01/2004` is 9 January to some and September 1 to others, and a
wrong guess scrambles the series without an error.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from multifolio.data.rules import DataRules
from multifolio.errors import DataError

ISO_8601 = "ISO8601"  # pandas' strict ISO 8601 reader: 2024-01-02, 2024-01-02 09:30, 2024-01-02T09:30:00Z
_AWARE = r"(?:Z|[+-]\d\d:?\d\d)$"  # a time written with its UTC offset
# a date written day and month first in some order, then the year: 09/01/2004, 9.1.04, 09-01-2004 09:30
_DAY_MONTH = r"^\s*(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})(.*?)\s*$"
_CLOCK = re.compile(r"^([ T])\d{1,2}:\d{2}(:\d{2})?(\.\d+)?$")  # a time after the date: 09:30, T09:30:00.5
_MIXED_ZONES = "Mixed timezones"  # pandas' message when some times have an offset and others none


def parse_timestamps(column: pd.Series, rules: DataRules, timezone: str, date_format: str) -> pd.DatetimeIndex:
    """Timestamps, refusing a mix of naive and zone-aware ones; naive ones are in `timezone` if given.

    Text is parsed file by file with `date_format` (ISO 8601 when empty), so files from several
    vendors meet in one zone; a row that does not match is a broken rule, named with its line.
    """
    if pd.api.types.is_datetime64_any_dtype(column):
        return _in_zone(pd.DatetimeIndex(column), timezone)
    text = column.astype(str)
    parts = [(name, rows, _parse_text(text if rows is None else text.iloc[rows], rows, rules, date_format))
             for name, rows in rules.files()]
    if len(parts) == 1:
        return _in_zone(parts[0][2], timezone)
    aware = [name for name, _, stamps in parts if stamps.tz is not None]
    naive = [name for name, _, stamps in parts if stamps.tz is None]
    if aware and naive and not timezone:
        raise DataError(f"{aware[0]} writes times with a UTC offset and {naive[0]} without; write them all one way, "
                        "or set data.timezone to say where the times without one are")
    nanoseconds = np.empty(len(text), dtype=np.int64)
    for _, rows, stamps in parts:
        # naive times are wall-clock times in data.timezone: localised there, every file meets in UTC
        nanoseconds[rows] = (_in_zone(stamps, timezone).tz_convert("UTC") if aware else stamps).as_unit("ns").asi8
    joined = pd.DatetimeIndex(nanoseconds.view("datetime64[ns]"))
    return joined.tz_localize("UTC").tz_convert(timezone or "UTC") if aware else _in_zone(joined, timezone)


def _parse_text(text: pd.Series, rows: np.ndarray | None, rules: DataRules, date_format: str) -> pd.DatetimeIndex:
    """One file's times: NaT where a row does not parse, after the rules have marked (or refused) it."""
    first_aware = bool(re.search(_AWARE, text.iloc[0]))
    readable = text
    try:  # without utc=True first: with it, pandas would read a time without an offset as UTC
        parsed = pd.to_datetime(text, format=date_format or ISO_8601, errors="coerce")
    except ValueError as error:  # times with an offset beside times without: each row examined
        if _MIXED_ZONES not in str(error):
            raise
        other_way = text.str.contains(_AWARE, regex=True).to_numpy() != first_aware
        rules.check(_everywhere(other_way, rows, rules), "timestamps mix times with and without a UTC offset; "
                    "write them all one way (and set data.timezone for times without one)")
        readable = text.where(~other_way)
        parsed = pd.to_datetime(readable, format=date_format or ISO_8601, errors="coerce", utc=first_aware)
    if first_aware and parsed.dt.tz is not None:
        parsed = parsed.dt.tz_convert("UTC")  # offsets that change (daylight saving time) meet in UTC
    failed = (parsed.isna() & readable.notna()).to_numpy()
    if failed.any():
        if date_format:
            rules.check(_everywhere(failed, rows, rules), f"timestamp does not match data.date_format {date_format!r}")
        else:
            _refuse_day_month(text[failed], np.flatnonzero(failed) if rows is None else rows[failed], rules)
            rules.check(_everywhere(failed, rows, rules), "timestamp is not an ISO 8601 date/time such as "
                        "2024-01-02 09:30:00; set data.date_format to read another form")
    return pd.DatetimeIndex(parsed)


def _refuse_day_month(failed: pd.Series, positions: np.ndarray, rules: DataRules) -> None:
    """Raise, naming the format to set, if the dates that are not ISO 8601 are day/month/year or
    month/day/year dates: ambiguous ones name both formats, the others the only one they fit."""
    parts = failed.str.extract(_DAY_MONTH)
    matched = parts[0].notna().to_numpy()
    if not matched.any():
        return
    parts, positions = parts[matched], positions[matched]
    first, second = parts[0].astype(int).to_numpy(), parts[2].astype(int).to_numpy()
    day_first, month_first = bool((second <= 12).all()), bool((first <= 12).all())
    if not day_first and not month_first:
        return  # neither reading fits every row: the rows are named as not dates
    row = 0 if day_first and month_first else int(np.argmax(first > 12) if day_first else np.argmax(second > 12))
    separator, year, clock = parts.iloc[row, 1], parts.iloc[row, 3], parts.iloc[row, 4]
    time_format = _time_format(clock)
    if time_format is None:
        return
    year_format = "%Y" if len(year) == 4 else "%y"
    formats = {"day": f"%d{separator}%m{separator}{year_format}{time_format}",
               "month": f"%m{separator}%d{separator}{year_format}{time_format}"}
    found = f"{rules.where(positions[row])}: {failed.iloc[int(np.flatnonzero(matched)[row])].strip()!r} is not ISO 8601"
    if day_first and month_first:
        raise DataError(f"{found}, and its date may be day first or month first; set data.date_format: "
                        f"'{formats['day']}' (day first) or '{formats['month']}' (month first)")
    which = "day" if day_first else "month"
    raise DataError(f"{found} and can only be {which} first; set data.date_format: '{formats[which]}'")


def _time_format(clock: str) -> str | None:
    """The strftime format of what follows a date (`''`, ` 09:30`, `T09:30:00.5`); None if not a time."""
    if not clock:
        return ""
    written = _CLOCK.match(clock)
    if written is None:
        return None
    return f"{written[1]}%H:%M" + (":%S" if written[2] else "") + (".%f" if written[3] else "")


def _everywhere(mask: np.ndarray, rows: np.ndarray | None, rules: DataRules) -> np.ndarray:
    """A mask over one file's rows as a mask over every row."""
    if rows is None:
        return mask
    whole = np.zeros(len(rules.invalid), dtype=bool)
    whole[rows] = mask
    return whole


def _in_zone(stamps: pd.DatetimeIndex, timezone: str) -> pd.DatetimeIndex:
    if not timezone:
        return stamps
    try:
        return stamps.tz_convert(timezone) if stamps.tz is not None else stamps.tz_localize(timezone)
    except Exception as error:  # an unknown zone, or a time that does not exist in it (a DST gap)
        raise DataError(f"data.timezone {timezone!r}: {error}") from None

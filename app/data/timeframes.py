"""Higher timeframes: a symbol's own bars resampled to `1D`, `4h`, `1W`..., and each value shown from the base bar
that completes its bucket on (one mapping per symbol and timeframe, made by the IndicatorCache).

Buckets, in the data's wall time (its zone's calendar):
- `D`, `W`, `M`: calendar days, weeks (Monday 00:00 to the next Monday: a week ends on Sunday) and months;
  a count above 1 groups whole periods counted from 1970-01-01 (weeks from Monday 1969-12-29).
- `min`, `h` are session-aware: a session is a calendar day's bars, and its buckets are anchored at its first bar
  (a 09:30 open with `1h` gives 09:30, 10:30, ...); a bucket never spans two days (the last one of a day ends at
  midnight).
A bar belongs to the bucket holding its start: its stamp with `data.timestamps: open`, its stamp less the symbol's
bar spacing with `close` (a one-minute bar stamped 10:00 covers 09:59-10:00: the 09:00 hour). The spacing is the
smallest step between two of the symbol's bars.

Visibility: a bucket's bar (open first, high max, low min, close last, volume sum) and so its indicator value
become visible at the base bar that completes it: the bar whose next bar falls in a later bucket, or whose own end
(start + spacing) reaches the bucket's end; the data's last bar completes its bucket only by time. Before that the
value of the previous completed bucket is shown (NaN until the first completes). The value at bar k thus depends on
prices of bars ≤ k only; the next bar's stamp (when the market trades next, a schedule fact, not a price) decides
completion, so a session whose last bar is missing is completed by the bar before it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from attrs import frozen

from multifolio.config.spec import SystemSpec
from multifolio.config.timeframe import Timeframe, parse_timeframe
from multifolio.data.market import MarketData
from multifolio.errors import ConfigError

_DAY = 86_400 * 10**9
_THURSDAY_TO_MONDAY = 3  # 1970-01-01 was a Thursday: day d + 3 counts from Monday 1969-12-29


@frozen
class Buckets:
    """Which bucket of a timeframe each base bar belongs to, and whether it completes it."""

    index: np.ndarray  # per base bar: its bucket's number, 0, 1, ... in time order
    starts: np.ndarray  # per bucket: its first base bar
    complete: np.ndarray  # per base bar: the bucket's value becomes visible at this bar

    def resample(self, prices: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One OHLCV bar per bucket (the last one possibly incomplete: never shown)."""
        ends = np.append(self.starts[1:], len(self.index)) - 1
        return {"open": prices["open"][self.starts], "high": np.maximum.reduceat(prices["high"], self.starts),
                "low": np.minimum.reduceat(prices["low"], self.starts), "close": prices["close"][ends],
                "volume": np.add.reduceat(prices["volume"], self.starts)}

    def visible(self, per_bucket: np.ndarray) -> np.ndarray:
        """Per base bar: the value of the last bucket completed at or before it (NaN before the first)."""
        done = np.maximum.accumulate(np.where(self.complete, self.index, -1))
        return np.where(done >= 0, np.asarray(per_bucket, dtype=np.float64)[np.maximum(done, 0)], np.nan)


def bar_spacing(stamps: pd.DatetimeIndex) -> pd.Timedelta:
    """The smallest step between consecutive bars (0 for a single bar)."""
    steps = np.diff(stamps.as_unit("ns").asi8)
    return pd.Timedelta(int(steps.min()) if len(steps) else 0)


def buckets(stamps: pd.DatetimeIndex, timeframe: Timeframe, spacing: pd.Timedelta, *, close_stamped: bool = False
            ) -> Buckets:
    """The buckets of `timeframe` for bars stamped `stamps` (strictly increasing), `spacing` apart at least."""
    wall = (stamps.tz_localize(None) if stamps.tz is not None else stamps).as_unit("ns")
    step = spacing.value
    start = wall.asi8 - (step if close_stamped else 0)
    day = start // _DAY
    if timeframe.intraday:
        key, end = _intraday(start, day, timeframe)
    elif timeframe.unit == "D":
        key = day // timeframe.count
        end = (key + 1) * timeframe.count * _DAY
    elif timeframe.unit == "W":
        key = (day + _THURSDAY_TO_MONDAY) // (7 * timeframe.count)
        end = ((key + 1) * 7 * timeframe.count - _THURSDAY_TO_MONDAY) * _DAY
    else:
        key = start.astype("datetime64[ns]").astype("datetime64[M]").astype(np.int64) // timeframe.count
        end = ((key + 1) * timeframe.count).astype("datetime64[M]").astype("datetime64[ns]").astype(np.int64)
    changed = np.ones(len(start), dtype=bool)
    changed[1:] = key[1:] != key[:-1]
    complete = start + step >= end
    complete[:-1] |= changed[1:]  # the next bar opens a later bucket
    return Buckets(np.cumsum(changed) - 1, np.flatnonzero(changed), complete)


def _intraday(start: np.ndarray, day: np.ndarray, timeframe: Timeframe) -> tuple[np.ndarray, np.ndarray]:
    """Session-aware buckets: numbered within each calendar day from its first bar, ending by midnight."""
    length = timeframe.span().value
    first_of_day = np.ones(len(start), dtype=bool)
    first_of_day[1:] = day[1:] != day[:-1]
    anchor = start[np.flatnonzero(first_of_day)][np.cumsum(first_of_day) - 1]
    slot = (start - anchor) // length
    key = day * (_DAY // length + 1) + slot  # slots of one day stay below the next day's
    end = np.minimum(anchor + (slot + 1) * length, (day + 1) * _DAY)
    return key, end


def higher_timeframe(compute, prices: dict[str, np.ndarray], stamps: pd.DatetimeIndex, timeframe: Timeframe,
                     spacing: pd.Timedelta, *, close_stamped: bool = False) -> dict[str, np.ndarray]:
    """`compute` (an indicator's, arrays → outputs) run on the bars resampled to `timeframe`, each output mapped
    back to the base bars by visibility. Outputs are checked by the caller (one value per base bar)."""
    grouped = buckets(stamps, timeframe, spacing, close_stamped=close_stamped)
    outputs = compute(grouped.resample(prices))
    try:
        return {name: grouped.visible(values) if np.shape(values) == grouped.starts.shape else values
                for name, values in outputs.items()}
    except AttributeError:  # not a mapping: the caller names what it gave
        return outputs


def timeframe_errors(systems: list[SystemSpec], market: MarketData) -> list[ConfigError]:
    """A timeframe not above a symbol's bar spacing (`@1h` on daily bars) is refused, before the first bar,
    at the key path where the system asked for it."""
    spacings = {symbol: bar_spacing(market.warm_stamps(symbol)) for symbol in market.symbols}
    errors = []
    for system in systems:
        for spec in system.indicators:
            if not spec.timeframe:
                continue
            shortest = parse_timeframe(spec.timeframe, spec.path).shortest()
            finer = [f"{symbol} ({_spacing(spacing)})" for symbol, spacing in spacings.items() if spacing >= shortest]
            if finer:
                errors.append(ConfigError(spec.path, f"{spec.key}: timeframe {spec.timeframe} is not above the bar "
                                                     f"spacing of {', '.join(finer)}; a higher timeframe groups "
                                                     "several bars of a symbol"))
    return errors


def _spacing(spacing: pd.Timedelta) -> str:
    """`1 day`, `1 hour`, `15 minutes`: the spacing as people say it."""
    for unit, size in (("week", pd.Timedelta(weeks=1)), ("day", pd.Timedelta(days=1)),
                       ("hour", pd.Timedelta(hours=1)), ("minute", pd.Timedelta(minutes=1))):
        if spacing >= size and spacing % size == pd.Timedelta(0):
            count = spacing // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return str(spacing)

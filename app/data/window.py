"""The run's bars cut to `data.start`/`data.end`, with the `data.warmup` bars before them carried along for
the indicators only (one window per run)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from multifolio.config.window import DataWindow
from multifolio.data.market import MarketData, SymbolSeries, Warmup, load_market_data
from multifolio.errors import DataError
from multifolio.memory import freed_memory_handed_back
from multifolio.wording import counted


def load_window(source, symbols: list[str] | tuple[str, ...], window: DataWindow | None, **reading) -> MarketData:
    """`load_market_data`, cut to `window` (the whole data without one): the bars outside it are let go, and the
    memory the reading freed (the source's frames: some 65 MB at a million bars) is handed back."""
    with freed_memory_handed_back():
        market = load_market_data(source, symbols, **reading)
        return market if window is None else windowed(market, window)


def in_zone(moment: pd.Timestamp, timestamps: pd.DatetimeIndex) -> pd.Timestamp:
    """`moment` comparable with `timestamps`: in their zone when written without one."""
    if timestamps.tz is not None and moment.tz is None:
        return moment.tz_localize(timestamps.tz)
    if timestamps.tz is None and moment.tz is not None:
        return moment.tz_convert("UTC").tz_localize(None)
    return moment


def windowed(market: MarketData, window: DataWindow) -> MarketData:
    """The bars of `window` as the run's market, the warm-up bars before it carried along for the indicators.
    A window without bars, or a warm-up reaching back before the data begins, is refused (DataError)."""
    timestamps = market.timestamps
    first = _first_traded(timestamps, window)
    stop = _stop(timestamps, window)
    span = f"{window.start or 'the first bar'} → {window.end or 'the last bar'}"
    if first >= stop:
        raise DataError(f"data.start/data.end: no bars from {span}; the data runs from {timestamps[0]} to "
                        f"{timestamps[-1]}")
    kept = _first_warm(timestamps, window, first)
    series, warm, stamps = {}, {}, {}
    for symbol, one in market.series.items():
        low, middle, high = np.searchsorted(one.timeline_index, [kept, first, stop], side="left")
        if middle == high:
            raise DataError(f"data.start/data.end: no bars of symbol {symbol!r} from {span}")
        series[symbol] = SymbolSeries(symbol, one.timeline_index[middle:high] - first,
                                      {name: values[middle:high] for name, values in one.arrays.items()})
        warm[symbol] = {name: values[low:middle] for name, values in one.arrays.items()}
        stamps[symbol] = timestamps[one.timeline_index[low:middle]]
    warmup = Warmup(first - kept, timestamps[kept] if kept < first else None, warm, stamps)
    return MarketData(timestamps[first:stop], series, market.dropped, market.reversed_files, warmup, market.placed,
                      market.close_stamped)


def _first_traded(timestamps: pd.DatetimeIndex, window: DataWindow) -> int:
    """The first bar at or after `start`; without it, the first after the warm-up (the data's first bar
    without either)."""
    if window.start is not None:
        return int(timestamps.searchsorted(in_zone(window.start, timestamps), "left"))
    warmup = window.warmup
    if warmup is None:
        return 0
    first = warmup.count if warmup.unit == "bars" else int(timestamps.searchsorted(timestamps[0] + warmup.period()))
    if first >= len(timestamps):
        raise DataError(f"data.warmup: {warmup.describe()} from the first bar leave no bar to trade; the data holds "
                        f"{counted(len(timestamps), 'bar')}, {timestamps[0]} → {timestamps[-1]}")
    return first


def _stop(timestamps: pd.DatetimeIndex, window: DataWindow) -> int:
    """The first timeline index after the window."""
    if window.end is None:
        return len(timestamps)
    end = in_zone(window.end, timestamps)
    if window.end_whole_day:
        return int(timestamps.searchsorted(end + pd.Timedelta(days=1), "left"))
    return int(timestamps.searchsorted(end, "right"))


def _first_warm(timestamps: pd.DatetimeIndex, window: DataWindow, first: int) -> int:
    """The first bar kept: `warmup` bars before the first traded one, or the first at or after `start`
    less the warm-up's span; refused when the data does not reach back that far."""
    warmup = window.warmup
    if warmup is None:
        return first
    if window.start is None:  # the warm-up is the data's own first bars
        return 0
    before = f"the data holds {counted(first, 'bar')} before data.start {window.start}" + \
        (f" (from {timestamps[0]})" if first else "")
    if warmup.unit == "bars":
        if warmup.count > first:
            raise DataError(f"data.warmup: {warmup.describe()} asked for, but {before}")
        return first - warmup.count
    reach = in_zone(window.start, timestamps) - warmup.period()
    if timestamps[0] > reach:
        raise DataError(f"data.warmup: {warmup.describe()} before data.start reaches back to {reach}, but {before}")
    return int(timestamps.searchsorted(reach, "left"))

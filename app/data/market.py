"""The run's market data: validated bars on one shared timeline (shared, one per run)."""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd
from attrs import frozen

from multifolio.errors import PLUGIN_FAULTS, DataError, MultifolioError
from multifolio.protocols import BAR_COLUMNS, PRICE_FIELDS

_ROWS_SHOWN = 5  # bad rows named in a message
_AWARE = r"(?:Z|[+-]\d\d:?\d\d)$"  # a time written with its UTC offset


def immutable(array: np.ndarray) -> np.ndarray:
    """A float64 array over an immutable buffer: shared by every system (and handed to plugins), it cannot
    be made writeable again, neither through its flags nor through its base."""
    if isinstance(array.base, bytes) and array.dtype == np.float64:
        return array  # already one (a worker rebuilding unpickled series)
    return np.frombuffer(np.ascontiguousarray(array, dtype=np.float64).tobytes(), dtype=np.float64)


class SymbolSeries:
    """One symbol's bars as float64 arrays holding only the bars that exist."""

    def __init__(self, symbol: str, timeline_index: np.ndarray, arrays: Mapping[str, np.ndarray]) -> None:
        self.symbol = symbol
        self.timeline_index = timeline_index  # bar k of this symbol sits at timeline_index[k]
        self.arrays = {name: immutable(array) for name, array in arrays.items()}  # shared by every system
        # reading one value through a memoryview costs about 25 ns, float(array[k]) about 60 ns
        self.views = {name: memoryview(array) for name, array in self.arrays.items()}

    def __len__(self) -> int:
        return len(self.timeline_index)

    def __reduce__(self) -> tuple:
        # memoryviews do not pickle; a worker process rebuilds them from the arrays
        return SymbolSeries, (self.symbol, self.timeline_index, self.arrays)


class MarketData:
    """Bars of every symbol aligned on the union of their timestamps (shared, one per run).

    A symbol without a bar at some timestamp simply has none there: nothing is filled
    in, so no order can ever fill on a bar that does not exist.
    """

    def __init__(self, timestamps: pd.DatetimeIndex, series: Mapping[str, SymbolSeries],
                 dropped: Mapping[str, int] | None = None) -> None:
        self.timestamps = timestamps
        self.dropped = dict(dropped or {})  # rows left out by `on_invalid: drop`, by rule
        self.series = dict(series)
        self.symbols = tuple(self.series)
        n = len(timestamps)
        # position_of[symbol][t] = the symbol's own bar number at timeline index t, or -1
        self.position_of: dict[str, np.ndarray] = {}
        self._closes_filled: dict[str, np.ndarray] = {}
        for symbol, one in self.series.items():
            positions = np.full(n, -1, dtype=np.int64)
            positions[one.timeline_index] = np.arange(len(one), dtype=np.int64)
            positions.flags.writeable = False
            self.position_of[symbol] = positions

    def __len__(self) -> int:
        return len(self.timestamps)

    def __reduce__(self) -> tuple:
        # what a parallel run sends its workers: the bars, not the positions derived from them
        return MarketData, (self.timestamps, self.series, self.dropped)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, symbols: tuple[str, ...], origin: str = "bars") -> MarketData:
        """Validate a long frame (`BAR_COLUMNS`) and align it on one timeline, symbols in `symbols` order."""
        return cls.from_checked(check_bars(frame, origin, tuple(symbols)))

    @classmethod
    def from_checked(cls, bars: CheckedBars) -> MarketData:
        """Align validated bars: the timeline is the union of every symbol's timestamps."""
        stamps = bars.timestamps.asi8
        single = len(bars.symbols) == 1
        # one symbol's timestamps are already strictly increasing: they are the timeline
        timeline = bars.timestamps if single else bars.timestamps.unique().sort_values()
        timeline_ns = timeline.asi8
        series = {}
        for code, symbol in enumerate(bars.symbols):
            rows = slice(None) if single else np.flatnonzero(bars.codes == code)
            arrays = {name: values[rows] for name, values in bars.prices.items()}  # SymbolSeries makes them immutable
            where = np.arange(len(stamps), dtype=np.int64) if single else np.searchsorted(timeline_ns, stamps[rows])
            series[symbol] = SymbolSeries(symbol, where, arrays)
        return cls(timeline, series, bars.dropped)

    def last_bar(self, symbol: str, index: int) -> int:
        """The symbol's own number of its last bar at or before timeline index `index` (-1: none yet)."""
        k = int(self.position_of[symbol][index])
        if k >= 0:
            return k
        return int(np.searchsorted(self.series[symbol].timeline_index, index, side="right")) - 1

    def last_close(self, symbol: str, index: int) -> float:
        """The symbol's last known close at timeline index `index` (NaN before its first bar)."""
        k = self.last_bar(symbol, index)
        return float(self.series[symbol].arrays["close"][k]) if k >= 0 else float("nan")

    def closes_filled(self, symbol: str) -> np.ndarray:
        """The symbol's close at every timeline index, carried forward over its gaps (NaN before
        its first bar). A symbol with a bar at every timestamp gives its own array, uncopied; one
        with gaps a read-only array made once, shared by every system's equity curve."""
        filled = self._closes_filled.get(symbol)
        if filled is None:
            one = self.series[symbol]
            filled = one.arrays["close"]
            if len(one) < len(self.timestamps):
                last = np.full(len(self.timestamps), -1, dtype=np.int64)
                last[one.timeline_index] = np.arange(len(one))
                np.maximum.accumulate(last, out=last)
                filled = np.where(last >= 0, one.arrays["close"][np.maximum(last, 0)], np.nan)
                filled.flags.writeable = False
            self._closes_filled[symbol] = filled
        return filled

    def frame(self) -> pd.DataFrame:
        """The bars back as one long frame (for reports and exports)."""
        parts = []
        for symbol, one in self.series.items():
            part = pd.DataFrame({name: one.arrays[name] for name in PRICE_FIELDS})
            part.insert(0, "symbol", symbol)
            part.insert(0, "timestamp", self.timestamps[one.timeline_index])
            parts.append(part)
        return pd.concat(parts, ignore_index=True)


@frozen
class CheckedBars:
    """A data source's bars after validation, as arrays (no frame copies: 1M bars are large)."""

    timestamps: pd.DatetimeIndex
    codes: np.ndarray  # per row, the position of its symbol in `symbols`
    symbols: tuple[str, ...]
    prices: dict[str, np.ndarray]  # float64 per PRICE_FIELDS name
    dropped: dict[str, int]  # rule → rows dropped for it (`on_invalid: drop`)


class _Rules:
    """Applies the data rules: the first broken one raises, or (`drop`) every bad row is marked.

    A frame with `line` and `file` columns (rows read from several files) names each bad row's file
    and line; without them, its row number in `origin`.
    """

    def __init__(self, frame: pd.DataFrame, origin: str, drop: bool) -> None:
        self._lines = frame["line"].to_numpy() if "line" in frame.columns else None
        self._file_codes, files = (pd.factorize(frame["file"], sort=False) if "file" in frame.columns
                                   else (np.zeros(len(frame), dtype=np.int64), [origin]))
        self._files = [str(name) for name in files]
        self._drop = drop
        self.invalid = np.zeros(len(frame), dtype=bool)
        self.dropped: dict[str, int] = {}

    def files(self) -> list[tuple[str, np.ndarray | None]]:
        """(file, its rows) for each file the rows came from; the rows are None when there is one file."""
        if len(self._files) == 1:
            return [(self._files[0], None)]
        return [(name, np.flatnonzero(self._file_codes == code)) for code, name in enumerate(self._files)]

    def check(self, mask: np.ndarray, rule: str) -> None:
        mask = np.asarray(mask, dtype=bool) & ~self.invalid  # a row is dropped for its first broken rule
        if not mask.any():
            return
        if self._drop:
            self.invalid |= mask
            self.dropped[rule] = self.dropped.get(rule, 0) + int(mask.sum())
            return
        bad = np.flatnonzero(mask)
        in_file = bad[self._file_codes[bad] == self._file_codes[bad[0]]]  # lines are numbered per file
        label = "line" if self._lines is not None else "row"
        numbers = self._lines[in_file] if self._lines is not None else in_file + 1
        shown = ", ".join(str(int(n)) for n in numbers[:_ROWS_SHOWN])
        rest = len(bad) - min(len(in_file), _ROWS_SHOWN)
        elsewhere = " (some in other files)" if len(in_file) < len(bad) else ""
        more = f" and {rest} more{elsewhere}" if rest else ""
        fix = "" if self._drop else f"; fix the {'file' if self._lines is not None else 'data'}, or set " \
                                     "data.on_invalid: drop to skip such rows"
        raise DataError(f"{self._files[self._file_codes[bad[0]]]} {label}{'s' if len(bad) > 1 else ''} {shown}"
                        f"{more}: {rule}{fix}")


def _parse_timestamps(column: pd.Series, rules: _Rules, timezone: str) -> pd.DatetimeIndex:
    """Timestamps, refusing a mix of naive and zone-aware ones; naive ones are in `timezone` if given.

    Text is parsed file by file: the format is inferred once per file, so files written in different
    styles (one per symbol from different vendors, say) each read as written.
    """
    if pd.api.types.is_datetime64_any_dtype(column):
        return _in_zone(pd.DatetimeIndex(column), timezone)
    text = column.astype(str)
    parts = [(name, rows, _parse_text(text if rows is None else text.iloc[rows], rows, rules))
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


def _parse_text(text: pd.Series, rows: np.ndarray | None, rules: _Rules) -> pd.DatetimeIndex:
    """One file's times: NaT where a row does not parse, after the rules have marked (or refused) it."""
    # the format is inferred from the first row, so a row written the other way fails to parse:
    # only those rows are examined for a UTC offset (a regex over every row would cost more)
    first_aware = bool(re.search(_AWARE, text.iloc[0]))
    parsed = pd.to_datetime(text, errors="coerce", utc=first_aware)
    failed = parsed.isna().to_numpy()
    if failed.any():
        other_way = np.zeros(len(text), dtype=bool)
        other_way[failed] = text[failed].str.contains(_AWARE, regex=True).to_numpy() != first_aware
        rules.check(_everywhere(other_way, rows, rules), "timestamps mix times with and without a UTC offset; "
                    "write them all one way (and set data.timezone for times without one)")
        rules.check(_everywhere(failed, rows, rules), "timestamp is not a date/time; expected e.g. 2024-01-02 09:30:00")
    return pd.DatetimeIndex(parsed)


def _everywhere(mask: np.ndarray, rows: np.ndarray | None, rules: _Rules) -> np.ndarray:
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


def check_bars(frame: pd.DataFrame, origin: str, symbols: tuple[str, ...], *, on_invalid: str = "error",
               timezone: str = "") -> CheckedBars:
    """Validate a data source's frame (`BAR_COLUMNS`, optionally `line`).

    Raises `DataError` naming `origin`, the offending rows (file lines when the source
    gave a `line` column) and the rule broken; with `on_invalid="drop"` the bad rows are
    left out instead and counted by rule.
    """
    missing = [column for column in BAR_COLUMNS if column not in frame.columns]
    if missing:
        raise DataError(f"{origin}: missing column(s) {', '.join(missing)}; expected {', '.join(BAR_COLUMNS)}")
    if frame.empty:
        raise DataError(f"{origin}: no bars; expected at least one row of {', '.join(BAR_COLUMNS)}")
    rules = _Rules(frame, origin, on_invalid == "drop")
    timestamps = _parse_timestamps(frame["timestamp"], rules, timezone)
    prices = {}
    for name in PRICE_FIELDS:
        column = frame[name]
        if column.dtype != np.float64:
            values = pd.to_numeric(column, errors="coerce")
            rules.check((values.isna() & column.notna()).to_numpy(), f"{name} is not a number")
            column = values
        prices[name] = column.to_numpy(dtype=np.float64)
        rules.check(np.isnan(prices[name]), f"{name} is missing (NaN)")
    for name in ("open", "high", "low", "close"):
        rules.check(~(prices[name] > 0) | np.isinf(prices[name]), f"{name} must be a positive finite price")
    rules.check(prices["high"] < np.maximum(prices["open"], prices["close"]), "high is below max(open, close)")
    rules.check(prices["low"] > np.minimum(prices["open"], prices["close"]), "low is above min(open, close)")
    rules.check(prices["volume"] < 0, "volume is negative")

    codes, found = pd.factorize(frame["symbol"], sort=False)
    found = [str(symbol) for symbol in found]
    unknown = [symbol for symbol in found if symbol not in symbols]
    if unknown:
        rules.check(np.isin(codes, [found.index(u) for u in unknown]),
                    f"symbol {unknown[0]!r} is not in data.symbols {list(symbols)}")
    # codes in the order of `symbols`, so the timeline and results list symbols as the YAML does
    codes = np.asarray([symbols.index(s) if s in symbols else -1 for s in found], dtype=np.int64)[codes]
    stamps = timestamps.asi8
    for code, symbol in enumerate(symbols):
        rows = np.flatnonzero((codes == code) & ~rules.invalid)
        if not len(rows):
            raise DataError(f"{origin}: no {'valid ' if rules.dropped else ''}bars for symbol {symbol!r} "
                            "listed in data.symbols")
        # each row must be later than every earlier row of its symbol
        earlier_max = np.maximum.accumulate(stamps[rows])[:-1]
        for broken, rule in ((stamps[rows[1:]] == earlier_max, f"duplicate timestamp for {symbol}"),
                             (stamps[rows[1:]] < earlier_max,
                              f"timestamp earlier than the previous row's for {symbol} (sort the file by time)")):
            bad = np.zeros(len(codes), dtype=bool)
            bad[rows[1:][broken]] = True
            rules.check(bad, rule)
    if rules.invalid.any():
        keep = ~rules.invalid
        timestamps, codes = timestamps[keep], codes[keep]
        prices = {name: values[keep] for name, values in prices.items()}
    return CheckedBars(timestamps, codes, tuple(symbols), prices, rules.dropped)


def load_market_data(source, symbols: list[str] | tuple[str, ...], on_invalid: str = "error",
                     timezone: str = "") -> MarketData:
    """Load, validate and align the run's bars from a data source plugin. Every system shares them, so a
    source that cannot load stops the run: as a DataError naming the source, never a traceback."""
    try:
        frame = source.load()
    except MultifolioError:
        raise
    except PLUGIN_FAULTS as error:
        raise DataError(f"{source.describe()}: the data source {type(source).__name__} could not load the bars: "
                        f"{type(error).__name__}: {error}") from error
    checked = check_bars(frame, source.describe(), tuple(symbols), on_invalid=on_invalid, timezone=timezone)
    return MarketData.from_checked(checked)

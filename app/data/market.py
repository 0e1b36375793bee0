"""The run's market data: validated bars on one shared timeline (shared, one per run)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
from attrs import Factory, evolve, frozen

from multifolio.data.dates import parse_timestamps
from multifolio.data.placement import placed_stamps, placement_note, placements
from multifolio.data.rules import DataRules
from multifolio.errors import PLUGIN_FAULTS, DataError, MultifolioError
from multifolio.protocols import BAR_COLUMNS, PRICE_FIELDS, Timeline


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


@frozen
class Warmup:
    """The bars before `data.start` kept only to warm indicators up: never traded, never in a result."""

    bars: int  # timeline bars before the first traded one
    first: pd.Timestamp | None  # the first of them (None: no warm-up)
    arrays: dict[str, dict[str, np.ndarray]]  # symbol → price field → the symbol's warm-up bars
    stamps: dict[str, pd.DatetimeIndex] = Factory(dict)  # symbol → its warm-up bars' timestamps (higher timeframes)


NO_WARMUP = Warmup(0, None, {})


class MarketData:
    """Bars of every symbol aligned on the union of their timestamps (shared, one per run).

    A symbol without a bar at some timestamp simply has none there: nothing is filled
    in, so no order can ever fill on a bar that does not exist.
    """

    def __init__(self, timestamps: pd.DatetimeIndex, series: Mapping[str, SymbolSeries],
                 dropped: Mapping[str, int] | None = None, reversed_files: tuple[str, ...] = (),
                 warmup: Warmup = NO_WARMUP, placed: Mapping[str, pd.Timedelta] | None = None,
                 close_stamped: bool = False) -> None:
        self.timestamps = timestamps
        self.timeline = Timeline(timestamps)  # one bar's Timestamp, quickly (events' stamps)
        self.close_stamped = close_stamped  # `data.timestamps: close`: a stamp marks its bar's end, not its start
        self.placed = dict(placed or {})  # symbol → how far after its stamp its bars sit (data.placement)
        self.warmup = warmup  # `data.warmup`: the bars before the first, for the indicators only
        self.dropped = dict(dropped or {})  # rows left out by `on_invalid: drop`, by rule
        self.reversed_files = tuple(reversed_files)  # files written newest first, read in time order
        self.series = dict(series)
        self.symbols = tuple(self.series)
        n = len(timestamps)
        # position_of[symbol][t] = the symbol's own bar number at timeline index t, or -1
        self.position_of: dict[str, np.ndarray] = {}
        self._closes_filled: dict[str, np.ndarray] = {}
        for symbol, one in self.series.items():
            if len(one) == n:  # a bar at every timestamp: its bar numbers are the timeline's indices, already held
                positions = one.timeline_index.view()
            else:
                positions = np.full(n, -1, dtype=np.int64)
                positions[one.timeline_index] = np.arange(len(one), dtype=np.int64)
            positions.flags.writeable = False
            self.position_of[symbol] = positions
        # the same, read one at a time as Python ints (a numpy scalar costs more to make and to use)
        self.bar_numbers = {symbol: memoryview(positions) for symbol, positions in self.position_of.items()}

    def __len__(self) -> int:
        return len(self.timestamps)

    def __reduce__(self) -> tuple:
        # what a parallel run sends its workers: the bars, not the positions derived from them
        return MarketData, (self.timestamps, self.series, self.dropped, self.reversed_files, self.warmup, self.placed,
                            self.close_stamped)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, symbols: tuple[str, ...], origin: str = "bars") -> MarketData:
        """Validate a long frame (`BAR_COLUMNS`) and align it on one timeline, symbols in `symbols` order."""
        return cls.from_checked(check_bars(frame, origin, tuple(symbols)))

    @classmethod
    def from_checked(cls, bars: CheckedBars, timestamps: str = "open") -> MarketData:
        """Align validated bars: the timeline is the union of every symbol's timestamps, a coarser symbol's
        open-stamped bars placed at their close (multifolio.data.placement)."""
        placed = placements(bars.timestamps, bars.codes, bars.symbols, close_stamped=timestamps == "close")
        if placed:
            bars = evolve(bars, timestamps=placed_stamps(bars.timestamps, bars.codes, bars.symbols, placed))
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
        return cls(timeline, series, bars.dropped, bars.reversed_files, placed=placed,
                   close_stamped=timestamps == "close")

    def reading_notes(self) -> list[str]:
        """What reading the data changed, one phrase each, for the run's summary and plan: files read in
        reverse (written newest first) and rows dropped (`on_invalid: drop`); none when read as written."""
        notes = [placement_note(self.placed)] if self.placed else []
        if self.reversed_files:
            notes.append(f"read newest-first, put in time order: {', '.join(self.reversed_files)}")
        if self.dropped:
            count = sum(self.dropped.values())
            notes.append(f"{count:,} row{'s' if count != 1 else ''} dropped: "
                         + ", ".join(f"{n:,} ({rule})" for rule, n in self.dropped.items()))
        return notes

    def warm_arrays(self, symbol: str) -> tuple[Mapping[str, np.ndarray], int]:
        """The symbol's price arrays with its warm-up bars in front (copies when it has some: indicators
        only), and how many of those there are: an indicator computed over them is warm at bar 0."""
        warm = self.warmup.arrays.get(symbol)
        own = self.series[symbol].arrays
        if not warm or not len(warm["close"]):
            return own, 0
        return {name: np.concatenate((warm[name], values)) for name, values in own.items()}, len(warm["close"])

    def warm_stamps(self, symbol: str) -> pd.DatetimeIndex:
        """The timestamps of `warm_arrays`' bars as written (not where they were placed): the symbol's warm-up
        bars', then its own."""
        own = self.timestamps[self.series[symbol].timeline_index]
        warm = self.warmup.stamps.get(symbol)
        stamps = own if warm is None or not len(warm) else warm.append(own)
        return stamps - self.placed[symbol] if symbol in self.placed else stamps

    def last_bar(self, symbol: str, index: int) -> int:
        """The symbol's own number of its last bar at or before timeline index `index` (-1: none yet)."""
        k = self.bar_numbers[symbol][index]
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
        """The bars back as one long frame, symbol after symbol (for reports and exports)."""
        return self.long_frame({symbol: {name: one.arrays[name] for name in PRICE_FIELDS}
                                for symbol, one in self.series.items()})

    def long_frame(self, values: Mapping[str, Mapping[str, np.ndarray]], last: int | None = None) -> pd.DataFrame:
        """Per-bar `values` of each symbol (symbol → key → an array by the symbol's own bar number) as one long
        frame, symbol after symbol: timestamp, symbol, a column per key; the bars up to timeline index `last`
        (all of them by default). One symbol's values are its own arrays, not copies, and a symbol with a bar at
        every timestamp takes the timeline itself (a view) for its timestamps."""
        rows, columns = [], {}
        for symbol, arrays in values.items():
            where = self.series[symbol].timeline_index
            if last is not None:
                where = where[:int(np.searchsorted(where, last, side="right"))]  # this symbol's bars so far
            rows.append(where)
            for key, array in arrays.items():
                columns.setdefault(key, []).append(array[:len(where)])
        where = np.concatenate(rows)
        stamps = self.timestamps if len(rows) == 1 and len(where) == len(self.timestamps) else self.timestamps[where]
        return pd.DataFrame({"timestamp": stamps, "symbol": repeated_text(list(values), [len(r) for r in rows]),
                             **{key: parts[0] if len(parts) == 1 else np.concatenate(parts)
                                for key, parts in columns.items()}}, copy=False)


def repeated_text(texts: Sequence[str], counts: Sequence[int]) -> pd.Series:
    """Each text repeated its count of times, in pandas' own text type (the `str` a frame of Python strings
    gets): made by arrow from a code per row, some ms for a million rows where pandas would look at each of a
    million Python strings for a fifth of a second, holding the interpreter."""
    codes = np.repeat(np.arange(len(texts), dtype=np.int32), counts)
    strings = pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(list(texts), pa.string())).cast(pa.string())
    return pd.Series(strings.to_pandas(types_mapper={pa.string(): pd.StringDtype(na_value=np.nan)}.get))


@frozen
class CheckedBars:
    """A data source's bars after validation, as arrays (no frame copies: 1M bars are large)."""

    timestamps: pd.DatetimeIndex
    codes: np.ndarray  # per row, the position of its symbol in `symbols`
    symbols: tuple[str, ...]
    prices: dict[str, np.ndarray]  # float64 per PRICE_FIELDS name
    dropped: dict[str, int]  # rule → rows dropped for it (`on_invalid: drop`)
    reversed_files: tuple[str, ...] = ()  # files written newest first, whose rows were put in time order


def check_bars(frame: pd.DataFrame, origin: str, symbols: tuple[str, ...], *, on_invalid: str = "error",
               timezone: str = "", date_format: str = "", max_dropped: float = 0.01) -> CheckedBars:
    """Validate a data source's frame (`BAR_COLUMNS`, optionally `line` and `file`).

    Raises `DataError` naming `origin`, the offending rows (file lines when the source
    gave a `line` column) and the rule broken; with `on_invalid="drop"` the bad rows are
    left out instead and counted by rule, up to `max_dropped` of the rows. A file whose
    rows run newest first is read in reverse (named in `reversed_files`).
    """
    missing = [column for column in BAR_COLUMNS if column not in frame.columns]
    if missing:
        raise DataError(f"{origin}: missing column(s) {', '.join(missing)}; expected {', '.join(BAR_COLUMNS)}")
    if frame.empty:
        raise DataError(f"{origin}: no bars; expected at least one row of {', '.join(BAR_COLUMNS)}")
    rules = DataRules(frame, origin, on_invalid == "drop")
    timestamps = parse_timestamps(frame["timestamp"], rules, timezone, date_format)
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
    order, reversed_files, reversed_codes = _time_order(timestamps.asi8, codes, rules)
    if reversed_files:
        timestamps, codes = timestamps[order], codes[order]
        prices = {name: values[order] for name, values in prices.items()}
        rules.reorder(order)
    _check_each_symbol_in_time_order(timestamps.asi8, codes, symbols, rules, reversed_codes)
    rules.check_share_dropped(origin, max_dropped)
    for code, symbol in enumerate(symbols):
        if not ((codes == code) & ~rules.invalid).any():
            raise DataError(f"{origin}: no {'valid ' if rules.dropped else ''}bars for symbol {symbol!r} "
                            "listed in data.symbols")
    if rules.invalid.any():
        keep = ~rules.invalid
        timestamps, codes = timestamps[keep], codes[keep]
        prices = {name: values[keep] for name, values in prices.items()}
    return CheckedBars(timestamps, codes, tuple(symbols), prices, rules.dropped, reversed_files)


def _time_order(stamps: np.ndarray, codes: np.ndarray, rules: DataRules
                ) -> tuple[np.ndarray, tuple[str, ...], set[int]]:
    """The rows' order in time: a file in which each symbol's rows mostly go back in time is written
    newest first (as many vendors write) and is read in reverse. Returns the rows' new order, the files
    reversed and the codes of their symbols; whether each is then strictly in time order is checked after,
    so a row out of place is named by its line (a majority, not the first and last rows, decides: one
    row moved to the end of an oldest-first file does not turn it around)."""
    order = np.arange(len(stamps))
    reversed_files, reversed_codes = [], set()
    usable = ~rules.invalid & (codes >= 0)
    for name, rows in rules.files():
        valid = np.flatnonzero(usable) if rows is None else rows[usable[rows]]
        # the file's symbols, counted rather than sorted out of a million rows
        present = np.flatnonzero(np.bincount(codes[valid]))
        directions = set()
        for code in present:
            own = valid if len(present) == 1 else valid[codes[valid] == code]
            steps = np.diff(stamps[own])
            back, forward = int(np.count_nonzero(steps < 0)), int(np.count_nonzero(steps > 0))
            if back != forward:
                directions.add(back > forward)
        if directions == {True}:
            rows = np.arange(len(stamps)) if rows is None else rows
            order[rows] = rows[::-1]
            reversed_files.append(name)
            reversed_codes.update(int(code) for code in present)
    return order, tuple(reversed_files), reversed_codes


def _check_each_symbol_in_time_order(stamps: np.ndarray, codes: np.ndarray, symbols: tuple[str, ...],
                                     rules: DataRules, reversed_codes: set[int]) -> None:
    """Each row must be later than every earlier row of its symbol (in a reversed file: every later line)."""
    for code, symbol in enumerate(symbols):
        order = ("earlier than the next row's", " in a file read newest first") if code in reversed_codes else \
            ("earlier than the previous row's", "")
        rows = np.flatnonzero((codes == code) & ~rules.invalid)
        if len(rows) < 2:
            continue
        earlier_max = np.maximum.accumulate(stamps[rows])[:-1]
        for broken, rule in ((stamps[rows[1:]] == earlier_max, f"duplicate timestamp for {symbol}"),
                             (stamps[rows[1:]] < earlier_max,
                              f"timestamp {order[0]} for {symbol}{order[1]} (sort the file by time)")):
            bad = np.zeros(len(codes), dtype=bool)
            bad[rows[1:][broken]] = True
            rules.check(bad, rule)


def load_market_data(source, symbols: list[str] | tuple[str, ...], on_invalid: str = "error",
                     timezone: str = "", date_format: str = "", max_dropped: float = 0.01,
                     timestamps: str = "open") -> MarketData:
    """Load, validate and align the run's bars from a data source plugin. Every system shares them, so a
    source that cannot load stops the run: as a DataError naming the source, never a traceback."""
    try:
        frame = source.load()
    except MultifolioError:
        raise
    except PLUGIN_FAULTS as error:
        raise DataError(f"{source.describe()}: the data source {type(source).__name__} could not load the bars: "
                        f"{type(error).__name__}: {error}") from error
    checked = check_bars(frame, source.describe(), tuple(symbols), on_invalid=on_invalid, timezone=timezone,
                         date_format=date_format, max_dropped=max_dropped)
    return MarketData.from_checked(checked, timestamps)

"""Runs one system's strategy plugin on its bars and publishes what it wants (one per system)."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from types import MappingProxyType

import numpy as np

from multifolio.data.indicators import SystemIndicators
from multifolio.data.market import MarketData
from multifolio.errors import UndeclaredIndicatorError
from multifolio.protocols import PRICE_FIELDS, IndicatorValues, Strategy, TradingContext
from multifolio.trading.events import BarClosed, Direction, SignalGenerated
from multifolio.trading.signals import SystemSignals


_DIRECTIONS = {int(direction): direction for direction in Direction}  # a stated code's Direction, at once
_SILENT = 2  # the code of a symbol that states nothing at a bar where another symbol does


class BarValues(IndicatorValues):
    """One symbol's prices and indicators, readable at the current bar and before, never after."""

    __slots__ = ("_reader", "_views", "bar")

    def __init__(self, arrays: Mapping[str, np.ndarray], reader: str) -> None:
        self._views = {key: memoryview(array) for key, array in arrays.items()}  # Python floats, no copy
        self._reader = reader  # who reads, for the error on an undeclared key: "strategy 'momentum'"
        self.bar = -1  # the symbol's own bar number the strategy is looking at

    def __getitem__(self, key: str) -> float:
        try:
            return self._views[key][self.bar]
        except KeyError:
            raise self._undeclared(key) from None

    def ago(self, key: str, bars: int) -> float:
        if bars < 0:
            raise ValueError(f"bars must be ≥ 0 (no look-ahead), was {bars}")
        k = self.bar - bars
        try:
            view = self._views[key]
        except KeyError:
            raise self._undeclared(key) from None
        return view[k] if k >= 0 else float("nan")

    def _undeclared(self, key: str) -> UndeclaredIndicatorError:
        declared = [k for k in self._views if k not in PRICE_FIELDS]
        return UndeclaredIndicatorError(
            f"{self._reader} read {key!r}, which it did not declare; declared: {', '.join(declared) or 'none'} "
            f"(besides the price fields {', '.join(PRICE_FIELDS)}); name it in the system's `indicators` "
            "or return it from the strategy's indicators()")


class StrategyRunner:
    """Runs the strategy (one per system). The simple form: each `bar_closed` → `on_bar` →
    `signal_generated`; when the strategy states its signals for all bars at once (`signals`), the runner
    may publish them with `publish_stated` instead, and `signal_bars` and `next_signal` tell where they say
    something. The full form: `bar_closed` events are gathered into the context, and `on_timestamp` (after the
    last symbol's bar of a timestamp) hands them to `on_bars` at once."""

    def __init__(self, *, strategy: Strategy, signals: SystemSignals, indicators: SystemIndicators,
                 market: MarketData, context: TradingContext, strategy_name: str, system_name: str,
                 first_bar: int = 0) -> None:  # the timeline bar `on_bar` is first called at (a window)
        self.strategy = strategy
        self.full_form = type(strategy).full_form()
        self._signals = signals
        self._context = context
        self._positions = market.bar_numbers  # each symbol's own bar number at each timeline index
        self._timeline = market.timeline
        reader = f"strategy {strategy_name!r} of system {system_name!r}"
        self._values = {symbol: BarValues(indicators.arrays(symbol), reader) for symbol in market.symbols}
        stated = None if self.full_form else self._stated(indicators, market, reader, first_bar)
        # from event to event: the timeline's bars where a stated signal says something (None: the strategy states
        # none) and, per symbol, what it says at each of them: a byte a signal, not 8 bytes a bar per system
        self.signal_bars, self._stated_views = (None, []) if stated is None else _compacted(stated, market)
        self._signal_count = 0 if stated is None else len(self.signal_bars)
        self._signal_cursor = 0  # the first stated signal not yet passed (bars are visited in order)
        # what hears `bar_closed`
        self.on_bar_closed = self._gather if self.full_form else self._signal

    def _stated(self, indicators: SystemIndicators, market: MarketData, reader: str,
                first_bar: int) -> dict[str, np.ndarray] | None:
        """Each symbol's `signals()`, checked: one direction or NaN per bar of the symbol, NaN before `first_bar`,
        the timeline bar `on_bar` is first called at (a window's first: a `signals()` that cannot state from there
        states none)."""
        if first_bar >= len(market):  # dormant until the run's controller starts it: from where, not known yet
            return None
        takes_start = "start" in inspect.signature(self.strategy.signals).parameters
        if first_bar and not takes_start:
            return None
        stated = {}
        for symbol in market.symbols:
            arrays = indicators.arrays(symbol)
            timeline_index = market.series[symbol].timeline_index
            start = int(np.searchsorted(timeline_index, first_bar))  # the symbol's first bar in the window
            found = self.strategy.signals(MappingProxyType(arrays), **({"start": start} if takes_start else {}))
            if found is None:
                return None
            array = np.asarray(found, dtype=np.float64)
            bars = len(timeline_index)
            if array.shape != (bars,):
                raise ValueError(f"{reader}: signals() returned an array of shape {array.shape} for {symbol!r}, "
                                 f"expected one value per bar ({bars},)")
            known = np.isnan(array) | np.isin(array, [Direction.SHORT, Direction.FLAT, Direction.LONG])
            if not known.all():
                bad = int(np.flatnonzero(~known)[0])
                raise ValueError(f"{reader}: signals() returned {float(array[bad])!r} at bar {bad} of {symbol!r}; "
                                 "expected -1 (short), 0 (flat), 1 (long) or NaN (no signal)")
            if start:  # the bars before it are never `on_bar`'s: not read, whatever they say
                array = np.where(np.arange(bars) < start, np.nan, array)
            stated[symbol] = array
        return stated

    def _signal(self, bar: BarClosed) -> None:
        values = self._values[bar.symbol]
        values.bar = self._positions[bar.symbol][bar.index]
        direction = self.strategy.on_bar(bar, values)
        if direction is not None:
            self._signals.emit(SignalGenerated(
                bar.namespace, bar.timeline, bar.index, bar.symbol, Direction(direction), bar.close))

    def publish_stated(self, index: int) -> None:
        """What `on_bar` would return at timeline bar `index` for each symbol with a bar there, as the strategy
        stated it for every bar: the signals, without a `bar_closed` per symbol (nothing else hears them).
        Bars are published in order."""
        found = self._seek(index)
        if found == self._signal_count or self.signal_bars[found] != index:
            return
        namespace, timeline, emit = self._signals.namespace, self._timeline, self._signals.emit
        for symbol, codes, positions, closes in self._stated_views:
            code = codes[found]
            if code != _SILENT:
                emit(SignalGenerated(namespace, timeline, index, symbol, _DIRECTIONS[code], closes[positions[index]]))

    def next_signal(self, index: int, otherwise: int) -> int:
        """The first bar after `index` where a stated signal says something (`otherwise` if none does)."""
        found = self._seek(index + 1)
        return otherwise if found == self._signal_count else self.signal_bars[found]

    def _seek(self, index: int) -> int:
        """The position in `signal_bars` of the first stated signal at or after bar `index`; indices only grow."""
        bars, found = self.signal_bars, self._signal_cursor
        while found < self._signal_count and bars[found] < index:
            found += 1
        self._signal_cursor = found
        return found

    def _gather(self, bar: BarClosed) -> None:
        self._context.bars[bar.symbol] = bar

    def on_timestamp(self, index: int) -> None:
        """The full form: every bar of timestamp `index` has closed."""
        context = self._context
        if context.bars:
            context.index = index
            self.strategy.on_bars(context)
            context.bars = {}


def _compacted(stated: dict[str, np.ndarray], market: MarketData) -> tuple[memoryview, list[tuple]]:
    """The timeline's bars where some symbol's stated signal says something (a view: Python ints, one at a time),
    and per symbol: its code at each of them (a Direction, or _SILENT), its bar number at each timeline index and
    its closes, as views."""
    said = {symbol: ~np.isnan(array) for symbol, array in stated.items()}
    where = {symbol: market.series[symbol].timeline_index[said[symbol]] for symbol in stated}
    bars = np.unique(np.concatenate(list(where.values())))
    views = []
    for symbol, array in stated.items():
        codes = np.full(len(bars), _SILENT, dtype=np.int8)
        codes[np.searchsorted(bars, where[symbol])] = array[said[symbol]]
        views.append((symbol, memoryview(codes), market.bar_numbers[symbol], market.series[symbol].views["close"]))
    return memoryview(bars), views

"""Runs one system's strategy plugin on its bars and publishes what it wants (one per system)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from multifolio.data.indicators import SystemIndicators
from multifolio.data.market import MarketData
from multifolio.errors import UndeclaredIndicatorError
from multifolio.protocols import PRICE_FIELDS, IndicatorValues, Strategy
from multifolio.trading.events import BarClosed, Direction, SignalGenerated
from multifolio.trading.signals import SystemSignals


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
    """Receives `bar_closed`, asks the strategy, sends `signal_generated` (one per system)."""

    def __init__(self, *, strategy: Strategy, signals: SystemSignals, indicators: SystemIndicators,
                 market: MarketData, strategy_name: str, system_name: str) -> None:
        self.strategy = strategy
        self._signals = signals
        self._positions = {symbol: memoryview(positions) for symbol, positions in market.position_of.items()}
        reader = f"strategy {strategy_name!r} of system {system_name!r}"
        self._values = {symbol: BarValues(indicators.arrays(symbol), reader) for symbol in market.symbols}

    def on_bar_closed(self, bar: BarClosed) -> None:
        values = self._values[bar.symbol]
        values.bar = self._positions[bar.symbol][bar.index]
        direction = self.strategy.on_bar(bar, values)
        if direction is not None:
            self._signals.emit(SignalGenerated(
                bar.namespace, bar.timestamp, bar.index, bar.symbol, Direction(direction), bar.close))

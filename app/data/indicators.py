"""Indicators: the shared cache (each series computed once per run) and one system's view of it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from multifolio.config.registry import PluginKind, PluginRegistry
from multifolio.config.spec import IndicatorSpec
from multifolio.data.market import MarketData
from multifolio.protocols import PRICE_FIELDS, Indicator


class IndicatorCache:
    """Every (symbol, indicator key) computed once over the whole series (shared, one per run).

    Values are read-only arrays in the symbol's own bar numbering; TA-Lib's functions
    are causal, so the value at bar k depends on bars ≤ k only.
    """

    def __init__(self, *, market: MarketData, plugins: PluginRegistry) -> None:
        self._market = market
        self._plugins = plugins
        self._values: dict[tuple[str, str], dict[str, np.ndarray]] = {}
        self._built: dict[str, Indicator] = {}  # one plugin per key serves every symbol
        self.computations = 0  # how many series were actually computed (tests read it)

    def get(self, symbol: str, spec: IndicatorSpec) -> dict[str, np.ndarray]:
        """Output key → array for `spec` on `symbol`, computing it on first request only."""
        cached = self._values.get((symbol, spec.key))
        if cached is None:
            indicator = self._built.get(spec.key)
            if indicator is None:
                indicator = self._built[spec.key] = self._plugins.build(PluginKind.INDICATOR, spec)
            outputs = indicator.compute(self._market.series[symbol].arrays)
            cached = {}
            for key, output in zip(spec.output_keys(), spec.outputs):
                array = np.ascontiguousarray(outputs[output], dtype=np.float64)
                array.flags.writeable = False
                cached[key] = array
            self._values[(symbol, spec.key)] = cached
            self.computations += 1
        return cached


class SystemIndicators:
    """The indicators one system uses, resolved at validation: its YAML list plus what its strategy
    asks for (one per system)."""

    def __init__(self, *, cache: IndicatorCache, market: MarketData, specs: Iterable[IndicatorSpec]) -> None:
        self.specs: tuple[IndicatorSpec, ...] = tuple(specs)
        self._arrays = {symbol: self._arrays_for(cache, market, symbol) for symbol in market.symbols}

    def _arrays_for(self, cache: IndicatorCache, market: MarketData, symbol: str) -> dict[str, np.ndarray]:
        arrays = {name: market.series[symbol].arrays[name] for name in PRICE_FIELDS}
        for spec in self.specs:
            arrays.update(cache.get(symbol, spec))
        return arrays

    def arrays(self, symbol: str) -> Mapping[str, np.ndarray]:
        """Key → full array for `symbol` (prices and indicators), for reports after the run."""
        return self._arrays[symbol]

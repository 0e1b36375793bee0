"""Indicators: the shared cache (each series computed once per run) and one system's view of it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from multifolio.config.registry import PluginKind, PluginRegistry
from multifolio.config.spec import IndicatorSpec
from multifolio.config.timeframe import parse_timeframe
from multifolio.data.market import MarketData, immutable
from multifolio.data.timeframes import bar_spacing, higher_timeframe
from multifolio.errors import PluginOutputError
from multifolio.protocols import PRICE_FIELDS, Indicator


class IndicatorCache:
    """Every (symbol, indicator key) computed once over the whole series (shared, one per run).

    Values are read-only arrays in the symbol's own bar numbering; TA-Lib's functions
    are causal, so the value at bar k depends on bars ≤ k only. They are computed over the
    `data.warmup` bars too, so they are warm at the first traded bar. A key with a timeframe (`SMA_20@1D`) is
    computed on the symbol's bars resampled to it, each value shown from the bar completing its bucket on
    (multifolio.data.timeframes), the bars' stamps read as their start or end as the market says
    (`data.timestamps`).
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
            arrays, warm = self._market.warm_arrays(symbol)  # `data.warmup` bars in front, cut off after
            if spec.timeframe:
                stamps = self._market.warm_stamps(symbol)
                outputs = higher_timeframe(indicator.compute, arrays, stamps, parse_timeframe(spec.timeframe, spec.key),
                                           bar_spacing(stamps), close_stamped=self._market.close_stamped)
            else:
                outputs = indicator.compute(arrays)
            bars = len(self._market.series[symbol]) + warm
            cached = {key: immutable(_checked_output(indicator, outputs, output, bars)[warm:])
                      for key, output in zip(spec.output_keys(), spec.outputs)}
            self._values[(symbol, spec.key)] = cached
            self.computations += 1
        return cached


def _checked_output(indicator: Indicator, outputs: Mapping[str, np.ndarray], output: str, bars: int) -> np.ndarray:
    """One output of `compute`: float64, one value per bar of the symbol, NaN allowed (warm-up), ±inf not."""
    name = f"{type(indicator).__name__}.compute()"
    if not isinstance(outputs, Mapping) or output not in outputs:
        given = sorted(map(str, outputs)) if isinstance(outputs, Mapping) else type(outputs).__name__
        raise PluginOutputError(f"{name} gave no output {output!r} (gave {given})")
    array = np.asarray(outputs[output], dtype=np.float64)
    if array.shape != (bars,):
        raise PluginOutputError(f"{name} output {output!r} has shape {array.shape}; expected ({bars},), one value "
                                "per bar")
    if np.isinf(array).any():
        raise PluginOutputError(f"{name} output {output!r} holds ±inf at bar {int(np.isinf(array).argmax())}")
    return array


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

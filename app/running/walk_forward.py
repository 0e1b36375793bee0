"""Walk-forward studies: each window picks the sweep's best combination on its training bars and trades it on
the test bars that follow; the test windows, stitched, are one system of the results (`<entry>.walk_forward`).

The sweep's systems have run over the whole data by then (one pass, on the run's executor), so each one's
figures over a training window are read from its own curve there: in sample, nothing after the window's last
bar. Each test window is then traded as a backtest of its own, in this process: the chosen combination starts
flat with the equity the previous window ended with (the entry's capital first), its indicators warm from every
bar before the window (the same values the whole run computed), and closes what it holds at the window's last
close, so the next window starts from cash. The stitched system holds its capital idle before the first test
window and between windows, as any system that is not trading.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np
import pandas as pd
from dependency_injector import providers

from multifolio.config.model import BacktestConfig
from multifolio.config.registry import PluginRegistry
from multifolio.config.spec import SweepPoint, SystemSpec
from multifolio.config.walk_forward import WalkForwardSpec, Window
from multifolio.containers.backtest import BacktestContainer
from multifolio.data.market import MarketData, SymbolSeries, Warmup
from multifolio.errors import DataError
from multifolio.reports.catalogue import FIGURES, is_finite
from multifolio.reports.walk_forward import performance_between, study_record
from multifolio.running.executors.serial import run_systems
from multifolio.running.stitching import stitched_result
from multifolio.trading.system import SystemResult

SUFFIX = "walk_forward"  # the stitched system is named `<entry>.walk_forward`


def walk_forward_name(group: str) -> str:
    return f"{group}.{SUFFIX}"


def studied(spec: SystemSpec) -> bool:
    """Whether `spec` is a variant of a swept entry with a walk-forward study."""
    return spec.swept is not None and spec.swept.walk_forward is not None


def planned_systems(config: BacktestConfig) -> list[str]:
    """The names of the systems a run of `config` gives results for: its systems, then each study's stitched one."""
    studies = {system.swept.group: None for system in config.systems if studied(system)}
    return [system.name for system in config.systems] + [walk_forward_name(group) for group in studies]


def run_walk_forwards(config: BacktestConfig, registry: PluginRegistry, market: MarketData,
                      results: Sequence[SystemResult], benchmark: pd.Series | None) -> list[SystemResult]:
    """The stitched system of every swept entry with `walk_forward:`, in the order of the file (none when the
    run was interrupted: its systems did not reach the end)."""
    if any(result.status == "interrupted" for result in results):
        return []
    entries: dict[int, list[SystemResult]] = {}
    for result in results:
        if studied(result.spec):
            entries.setdefault(result.spec.swept.entry, []).append(result)
    return [_study(config, registry, market, candidates, benchmark) for candidates in entries.values()]


def _study(config: BacktestConfig, registry: PluginRegistry, market: MarketData,
           candidates: list[SystemResult], benchmark: pd.Series | None) -> SystemResult:
    swept: SweepPoint = candidates[0].spec.swept
    spec: WalkForwardSpec = swept.walk_forward
    figure = FIGURES[spec.select or config.reporting.sweep_metric]
    try:
        windows = spec.windows(market.timestamps)
    except ValueError as error:
        raise DataError(f"trading_systems[{swept.entry}].walk_forward: {error}") from None
    usable = [result for result in candidates if result.status == "completed"]
    capital = candidates[0].initial_capital
    chosen, traded, rows = [], [], []
    for window in windows:
        train = _ranked(usable, window.train_first, window.test_first, figure, benchmark)
        best = train[0][1] if train else None
        if best is None:  # no combination has the figure in this window: it is not traded
            rows.append(_row(window, None, None, None, None, len(usable)))
            continue
        outcome = _trade(config, registry, market, window, best.spec, capital, swept.group)
        test = _ranked(usable, window.test_first, window.test_stop, figure, benchmark)
        rank = next(position for position, (_, result) in enumerate(test, start=1) if result is best) \
            if any(result is best for _, result in test) else None
        out_of_sample = performance_between(outcome, 0, window.test_stop - window.test_first, benchmark)
        rows.append(_row(window, best, train[0][0], out_of_sample.get(figure.key), rank, len(test)))
        chosen.append(window)
        traded.append(outcome)
        if outcome.status != "completed":
            break  # a plugin raised: the stitched system fails with it
        capital = float(outcome.equity["equity"].iloc[-1])
    name = walk_forward_name(swept.group)
    template = attrs.evolve(candidates[0].spec, name=name, swept=None, indicators=(),
                            portfolio=attrs.evolve(candidates[0].spec.portfolio,
                                                   namespace=f"{candidates[0].spec.portfolio.namespace}.{SUFFIX}"))
    result = stitched_result(template, market, chosen, traded)
    record = study_record(spec, figure, swept, name, market.timestamps, rows, result, benchmark)
    return attrs.evolve(result, walk_forward=record)


def _ranked(results: Sequence[SystemResult], first: int, stop: int, figure, benchmark: pd.Series | None
            ) -> list[tuple[float, SystemResult]]:
    """(figure over bars [first, stop), system) of the systems that have it, best first; a tie keeps the
    sweep's order."""
    values = [(performance_between(result, first, stop, benchmark).get(figure.key), result) for result in results]
    finite = [(value, result) for value, result in values if is_finite(value)]
    return sorted(finite, key=lambda pair: figure.ranking(pair[0]))


def _row(window: Window, best: SystemResult | None, in_sample: float | None, out_of_sample: float | None,
         rank: int | None, candidates: int) -> dict:
    return {"window": window, "system": None if best is None else best.name,
            "values": {} if best is None else dict(best.spec.swept.values), "in_sample": in_sample,
            "out_of_sample": out_of_sample, "rank": rank, "candidates": candidates}


def _trade(config: BacktestConfig, registry: PluginRegistry, market: MarketData, window: Window,
           spec: SystemSpec, capital: float, group: str) -> SystemResult:
    """`spec` traded on the window's test bars alone, from `capital` in cash, closing out at its last close."""
    root = BacktestContainer(data_spec=providers.Object(config.data), plugins=providers.Object(registry))
    root.data.market.override(providers.Object(with_history(market, window.test_first, window.test_stop)))
    portfolio = attrs.evolve(spec.portfolio, initial_capital=capital, close_at_end=True)
    one = attrs.evolve(spec, name=f"{walk_forward_name(group)}.{window.number}", portfolio=portfolio)
    return run_systems(root, [one])[0]


def with_history(market: MarketData, first: int, stop: int) -> MarketData:
    """Timeline bars [first, stop) as a market of their own, every bar before them (the run's warm-up too)
    carried along as its warm-up: indicators computed over it equal the whole run's."""
    series, warm, stamps = {}, {}, {}
    timeline = market.timestamps
    for symbol, one in market.series.items():
        middle, high = np.searchsorted(one.timeline_index, [first, stop], side="left")
        series[symbol] = SymbolSeries(symbol, one.timeline_index[middle:high] - first,
                                      {name: values[middle:high] for name, values in one.arrays.items()})
        before, earlier = market.warmup.arrays.get(symbol), market.warmup.stamps.get(symbol)
        warm[symbol] = {name: np.concatenate((before[name], values[:middle])) if before else values[:middle]
                        for name, values in one.arrays.items()}
        own = timeline[one.timeline_index[:middle]]
        stamps[symbol] = earlier.append(own) if earlier is not None and len(earlier) else own
    earliest = market.warmup.first if market.warmup.first is not None else timeline[0]
    warmup = Warmup(market.warmup.bars + first, earliest if first or market.warmup.bars else None, warm, stamps)
    return MarketData(timeline[first:stop], series, market.dropped, market.reversed_files, warmup, market.placed,
                      market.close_stamped)

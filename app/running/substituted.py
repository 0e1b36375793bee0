"""A run in memory with objects put in place of what the config would build: a test's fakes.

A strategy instance that records what it saw must be the very object the system trades with, so it
cannot come from the registry (which builds a new one from the spec); it goes in as an override of the
system container's `strategy` provider, before first use (an override misses a Singleton already built).
`multifolio.testing` and the project's own tests reach the containers only through here.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from dependency_injector import providers

from multifolio.config.model import BacktestConfig
from multifolio.config.registry import PluginRegistry
from multifolio.data.market import MarketData
from multifolio.protocols import DataSource, Strategy
from multifolio.running.executors import run_containers
from multifolio.running.run import DataRecord, RunOutcome, build_container, outcome_of
from multifolio.trading.system import SystemResult

__all__ = ["run_substituted", "step_substituted"]


def step_substituted(config: BacktestConfig, registry: PluginRegistry, *,
                     strategies: Mapping[str, Strategy] | None = None, source: DataSource | None = None
                     ) -> tuple[MarketData, DataRecord, list[SystemResult]]:
    """Step every system of the checked `config` serially, nothing written: a system named in `strategies`
    trades with that instance; `source`, when given, serves the bars instead of the config's data source.
    Returns the checked bars, what the manifest would say of them, and the systems' results."""
    root = build_container(config, registry)
    if source is not None:
        root.data.source.override(providers.Object(source))
    systems = [root.trading_system(spec=spec) for spec in config.systems]
    for system, spec in zip(systems, config.systems):
        if spec.name in (strategies or {}):
            system.strategy.override(providers.Object(strategies[spec.name]))
    market, served = root.data.market(), root.data.source()
    data = DataRecord(served.describe(), tuple(Path(path) for path in served.files()))
    return market, data, run_containers(root, systems, book=config.book)


def run_substituted(config: BacktestConfig, registry: PluginRegistry, *,
                    strategies: Mapping[str, Strategy] | None = None, source: DataSource | None = None
                    ) -> RunOutcome:
    """`step_substituted`'s run with its figures and summary, as `run_backtest` gives it without writing."""
    return outcome_of(config, registry, *step_substituted(config, registry, strategies=strategies, source=source))

"""One backtest run from a checked config to its result files.

With `app/cli.py` this is the composition root: the only part of `app/` that
reaches into `containers/` (to build the run) and `reports/` (to write it).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from attrs import frozen

from app.config import BacktestConfig
from app.engine import Engine, ProgressCallback
from app.registry import PluginRegistry
from app.system import SystemResult
from containers.backtest import BacktestContainer
from reports.writers import performance, write_summary, write_system


@frozen
class RunOutcome:
    """What a finished run produced, for the CLI's table and for tests."""

    folder: Path
    results: list[SystemResult]
    metrics: dict[str, dict[str, Any]]  # system name → performance figures
    summary: dict[str, Any] | None


def build_container(config: BacktestConfig, registry: PluginRegistry) -> BacktestContainer:
    """A new root container for `config` (never reuse one across runs)."""
    root = BacktestContainer()
    root.plugins.override(registry)
    root.config.from_dict({"data": config.data_settings()})
    return root


def run_systems(root: BacktestContainer, entries: Sequence[dict[str, Any]],
                progress: ProgressCallback | None = None) -> list[SystemResult]:
    """Build one TradingSystem per entry (`TradingSystemConfig.settings()`), run them together."""
    systems = [root.trading_system(config=entry) for entry in entries]
    try:
        runners = [system.runner() for system in systems]
        return Engine(market=root.data.market(), systems=runners, progress=progress).run()
    finally:
        for system in systems:
            system.shutdown_resources()


def run_backtest(config: BacktestConfig, registry: PluginRegistry, *, output_dir: str | Path | None = None,
                 progress: ProgressCallback | None = None) -> RunOutcome:
    """Run every system of `config` over its data and write the results."""
    root = build_container(config, registry)
    results = run_systems(root, [entry.settings() for entry in config.trading_systems], progress)
    folder = Path(output_dir if output_dir is not None else config.reporting.output_dir) / config.run_name
    metrics = {result.name: performance(result) for result in results}
    if config.reporting.separate_reports:
        for result in results:
            write_system(result, folder / result.name, metrics[result.name])
    summary = write_summary(config.run_name, results, metrics, folder) if config.reporting.combined_summary \
        else None
    return RunOutcome(folder=folder, results=results, metrics=metrics, summary=summary)

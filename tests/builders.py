"""Small builders that keep tests short: configs, and whole runs with fakes put in.

The bar builders (`make_bars`, `bars_from_closes`) are the plugin authors' too: they live in
`multifolio.testing` and are imported from there.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from multifolio.config.model import BacktestConfig
from multifolio.config.registry import PluginRegistry
from multifolio.protocols import DataSource, Strategy
from multifolio.running.run import validate_document
from multifolio.running.substituted import step_substituted
from multifolio.testing import trading_system_entry
from multifolio.trading.system import SystemResult


def system_config(name: str = "alpha", *, capital: float = 10_000, strategy: Mapping | None = None,
                  namespace: str | None = None, **settings: Any) -> dict[str, Any]:
    """One `trading_systems` entry as the YAML would give it (buy and hold unless `strategy` says otherwise);
    `settings` as `trading_system_entry` takes them (`sizers`, `limits`, `exits`, `execution`, `indicators`,
    portfolio keys)."""
    return trading_system_entry(name, strategy=strategy or {"type": "buy_and_hold"}, initial_capital=capital,
                                namespace=namespace or name, **settings)


def backtest_config(*systems: Mapping, data: Mapping | None = None, output_dir: str | Path = "results",
                    name: str = "test run") -> dict[str, Any]:
    """A whole config document; synthetic data unless `data` says otherwise."""
    return {
        "workflow": {"type": "multi_portfolio_backtest", "name": name},
        "data": dict(data or {"source": "synthetic", "symbols": ["SPY"], "bars": 500, "seed": 7}),
        "trading_systems": [copy.deepcopy(dict(s)) for s in (systems or [system_config()])],
        "reporting": {"separate_reports": True, "combined_summary": True, "output_dir": str(output_dir)},
    }


def checked(document: Mapping, registry: PluginRegistry | None = None) -> BacktestConfig:
    return validate_document(copy.deepcopy(dict(document)), registry or PluginRegistry())


def run_in_memory(document: Mapping, *, source: DataSource | None = None,
                  strategies: Mapping[str, Strategy] | None = None,
                  registry: PluginRegistry | None = None) -> list[SystemResult]:
    """Run a config without writing files. `source` serves the bars instead of the config's data source;
    `strategies` maps a system name to the strategy instance it trades with (a fake to inspect afterwards)."""
    registry = registry or PluginRegistry()
    *_, results = step_substituted(checked(document, registry), registry, strategies=strategies, source=source)
    return results


def files_of(folder: Path) -> dict[str, bytes]:
    """Every file of a run folder by its path in it; manifest.json without its wall-clock times."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            content = path.read_bytes()
            if path.name == "manifest.json":
                document = json.loads(content)
                document.pop("started"), document.pop("ended")
                content = json.dumps(document, sort_keys=True).encode()
            found[str(path.relative_to(folder))] = content
    return found

"""Small builders that keep tests short: bars, configs, and whole runs with overrides."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from multifolio.config.model import BacktestConfig
from multifolio.config.registry import PluginRegistry
from multifolio.running.executors import run_containers
from multifolio.running.run import build_container, validate_document
from multifolio.trading.system import SystemResult


def make_bars(rows: Sequence[Sequence[float]], symbol: str = "SPY", start: str = "2024-01-02 09:30",
              freq: str = "1min") -> pd.DataFrame:
    """A long bars frame from (open, high, low, close[, volume]) rows, one bar per `freq`."""
    times = pd.date_range(start, periods=len(rows), freq=freq)
    records = []
    for time, row in zip(times, rows):
        o, h, low, c, *rest = row
        records.append({"timestamp": time, "symbol": symbol, "open": float(o), "high": float(h),
                        "low": float(low), "close": float(c), "volume": float(rest[0] if rest else 1000)})
    return pd.DataFrame(records)


def bars_from_closes(closes: Iterable[float], symbol: str = "SPY", **kwargs: Any) -> pd.DataFrame:
    """Bars whose open is the previous close and whose range spans open and close."""
    closes = list(closes)
    opens = [closes[0], *closes[:-1]]
    return make_bars([(o, max(o, c) + 0.5, min(o, c) - 0.5, c) for o, c in zip(opens, closes)], symbol, **kwargs)


def system_config(name: str = "alpha", *, capital: float = 10_000, strategy: Mapping | None = None,
                  sizers: Sequence[Mapping] = ({"type": "fixed", "size": 10},), limits: Sequence[Mapping] = (),
                  execution: Mapping | None = None, indicators: Sequence[Any] = (),
                  namespace: str | None = None, exits: Sequence[Mapping] = (), **portfolio: Any) -> dict[str, Any]:
    """One `trading_systems` entry as the YAML would give it."""
    risk = {"position_sizers": [dict(s) for s in sizers], "limits": [dict(s) for s in limits]}
    if exits:
        risk["exits"] = [dict(e) for e in exits]
    return {
        "name": name,
        "portfolio": {"initial_capital": capital, "namespace": namespace or name, **portfolio},
        "indicators": list(indicators),
        "strategy": dict(strategy or {"type": "buy_and_hold"}),
        "risk": risk,
        "execution": dict(execution or {}),
    }


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


def run_in_memory(document: Mapping, *, source: Any = None, overrides: Mapping[str, Mapping[str, Any]] = (),
                  registry: PluginRegistry | None = None) -> list[SystemResult]:
    """Run a config without writing files. `source` replaces the data source provider;
    `overrides` maps a system name to {provider name: object} put in with `override`."""
    registry = registry or PluginRegistry()
    config = checked(document, registry)
    root = build_container(config, registry)
    if source is not None:
        root.data.source.override(source)
    systems = [root.trading_system(spec=spec) for spec in config.systems]
    for system, spec in zip(systems, config.systems):
        for provider, fake in dict(overrides).get(spec.name, {}).items():
            getattr(system, provider).override(fake)  # before first use: overrides miss built Singletons
    return run_containers(root, systems, book=config.book)

"""Building plugin instances from resolved specs (what the containers call to wire plugins)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from multifolio.config.registry import PluginKind, PluginRegistry


def build_plugin(plugins: PluginRegistry, kind: PluginKind, spec: Mapping[str, Any]) -> Any:
    """One plugin from `{type: name, params: {...}}`."""
    return plugins.create(kind, spec["type"], spec.get("params", {}))


def build_plugins(plugins: PluginRegistry, kind: PluginKind, specs: Sequence[Mapping[str, Any]]) -> list[Any]:
    """A plugin per spec, in order."""
    return [build_plugin(plugins, kind, spec) for spec in specs]


def build_data_source(plugins: PluginRegistry, source: str, symbols: Sequence[str],
                      params: Mapping[str, Any]) -> Any:
    """The run's data source: `data.source` with `symbols` and the other `data` keys."""
    return plugins.create(PluginKind.DATA_SOURCE, source, {"symbols": list(symbols), **params})

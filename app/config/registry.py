"""Plugins found through entry points; only the names a config uses are ever imported."""

from __future__ import annotations

import enum
import importlib.metadata
import inspect
import math
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from multifolio.errors import ConfigError, did_you_mean
from multifolio.protocols import (
    Allocator,
    CommissionModel,
    Controller,
    DataSource,
    Exit,
    Indicator,
    PositionSizer,
    RiskLimit,
    SlippageModel,
    Strategy,
)


class PluginKind(enum.Enum):
    """A kind of plugin: its entry-point group, the base class it must extend, its label."""

    STRATEGY = ("multifolio.strategies", Strategy, "strategy")
    INDICATOR = ("multifolio.indicators", Indicator, "indicator")
    SIZER = ("multifolio.sizers", PositionSizer, "position sizer")
    RISK_LIMIT = ("multifolio.risk_limits", RiskLimit, "risk limit")
    EXIT = ("multifolio.exits", Exit, "exit")
    SLIPPAGE = ("multifolio.slippage", SlippageModel, "slippage model")
    COMMISSION = ("multifolio.commissions", CommissionModel, "commission model")
    DATA_SOURCE = ("multifolio.data_sources", DataSource, "data source")
    ALLOCATOR = ("multifolio.allocators", Allocator, "allocator")
    CONTROLLER = ("multifolio.controllers", Controller, "controller")

    def __init__(self, group: str, base: type, label: str) -> None:
        self.group = group
        self.base = base
        self.label = label

    @property
    def key(self) -> str:
        """The kind's name in a mapping of plugins given in code: its group without `multifolio.`."""
        return self.group.removeprefix("multifolio.")


GIVEN = "given in code"  # the origin of a plugin class handed to the registry rather than found by entry point


def given_plugins(plugins: Mapping[str, Mapping[str, type]] | None, path: str = "plugins"
                  ) -> dict[PluginKind, dict[str, type]]:
    """`{"strategies": {"mine": MyStrategy}}` checked: known kinds, string names, subclasses of the kind's base.
    A ConfigError names the key (`plugins.strategies.mine`) of the first problem."""
    kinds = {kind.key: kind for kind in PluginKind}
    checked: dict[PluginKind, dict[str, type]] = {}
    if plugins is None:
        return checked
    if not isinstance(plugins, Mapping):
        raise ConfigError(path, f"expected a mapping of kinds to {{name: class}}, found {type(plugins).__name__}")
    for key, classes in plugins.items():
        kind = kinds.get(key)
        if kind is None:
            raise ConfigError(f"{path}.{key}", f"unknown kind of plugin; {did_you_mean(str(key), kinds)}")
        if not isinstance(classes, Mapping):
            raise ConfigError(f"{path}.{key}", f"expected a mapping of names to classes, found "
                                               f"{type(classes).__name__}")
        for name, plugin in classes.items():
            where = f"{path}.{key}.{name}"
            if not isinstance(name, str) or not name:
                raise ConfigError(where, f"a plugin's name must be a non-empty string, found {name!r}")
            if not (isinstance(plugin, type) and issubclass(plugin, kind.base)):
                found = plugin.__name__ if isinstance(plugin, type) else f"a {type(plugin).__name__} instance"
                raise ConfigError(where, f"expected a subclass of {kind.base.__module__}.{kind.base.__name__} "
                                         f"(the class itself, not an instance), found {found}")
            checked.setdefault(kind, {})[name] = plugin
    return checked


class PluginRegistry:
    """Entry points of every kind, read once; classes loaded on first use (shared, one per run).

    `entry_points` replaces `importlib.metadata.entry_points` (tests pass their own). `given` adds classes
    handed over in code (a notebook's strategy, checked by `given_plugins`): used by name like any other, never
    in place of an installed plugin of the same name.
    """

    def __init__(self, entry_points: Callable[..., Iterable[Any]] | None = None,
                 given: Mapping[PluginKind, Mapping[str, type]] | None = None) -> None:
        self._entry_points = entry_points or importlib.metadata.entry_points
        self._found: dict[PluginKind, dict[str, list[Any]]] = {}
        self._loaded: dict[tuple[PluginKind, str], type] = {}
        self.given: dict[PluginKind, dict[str, type]] = {}
        for kind, classes in (given or {}).items():
            for name, plugin in classes.items():
                if name in self._entry_points_of(kind):
                    raise ConfigError(f"plugins.{kind.key}.{name}",
                                      f"{kind.label} {name!r} is already installed ({self.origin(kind, name)}); "
                                      "give yours another name")
                self._loaded[(kind, name)] = plugin
            self.given[kind] = dict(classes)

    def names(self, kind: PluginKind) -> list[str]:
        """Every registered name of `kind`, sorted (nothing is imported)."""
        return sorted([*self._entry_points_of(kind), *self.given.get(kind, {})])

    def load(self, kind: PluginKind, name: str, path: str = "") -> type:
        """The class registered as `name`; a ConfigError at `path` when unknown or ambiguous."""
        cached = self._loaded.get((kind, name))
        if cached is not None:
            return cached
        found = self._entry_points_of(kind).get(name) if isinstance(name, str) else None
        if not found:
            raise ConfigError(path, f"unknown {kind.label} {name!r}; {did_you_mean(str(name), self.names(kind))}")
        if len(found) > 1:
            owners = " and ".join(sorted(f"{_distribution(ep)} ({ep.value})" for ep in found))
            raise ConfigError(path, f"{kind.label} {name!r} is registered twice, by {owners}; uninstall one")
        try:
            plugin = found[0].load()
        except Exception as error:  # a broken plugin must name itself, not crash the run
            raise ConfigError(path, f"{kind.label} {name!r} ({found[0].value}) failed to import: "
                                    f"{type(error).__name__}: {error}") from error
        if not (isinstance(plugin, type) and issubclass(plugin, kind.base)):
            raise ConfigError(path, f"{kind.label} {name!r} ({found[0].value}) is not a subclass of "
                                    f"{kind.base.__module__}.{kind.base.__name__}")
        self._loaded[(kind, name)] = plugin
        return plugin

    def bind(self, kind: PluginKind, name: str, parameters: Mapping[str, Any], path: str = "") -> dict[str, Any]:
        """`parameters` checked against plugin `name`'s keywords and coerced to their annotated types."""
        plugin = self.load(kind, name, path + ".type" if path else "")
        return bind_parameters(plugin, parameters, f"{kind.label} {name!r}", path)

    def create(self, kind: PluginKind, name: str, parameters: Mapping[str, Any], path: str = "") -> Any:
        """An instance of plugin `name` built from `parameters` (checked against its signature)."""
        plugin = self.load(kind, name, path + ".type" if path else "")
        arguments = self.bind(kind, name, parameters, path)
        try:
            return plugin(**arguments)
        except ConfigError as error:
            raise error.under(path) from None
        except (TypeError, ValueError) as error:
            raise ConfigError(path, f"{kind.label} {name!r} refused its parameters: {error}") from None

    def build(self, kind: PluginKind, spec: Any) -> Any:
        """The plugin a checked spec names (`PluginSpec`, `IndicatorSpec`): what containers call."""
        return self.create(kind, spec.type, spec.params)

    def build_all(self, kind: PluginKind, specs: Iterable[Any]) -> list[Any]:
        """A plugin per spec, in order."""
        return [self.build(kind, spec) for spec in specs]

    def origin(self, kind: PluginKind, name: str) -> str:
        """Where plugin `name` comes from: `distribution version (module:Class)`."""
        plugin = self.given.get(kind, {}).get(name)
        if plugin is not None:
            return f"{GIVEN} ({plugin.__module__}:{plugin.__qualname__})"
        [entry_point] = self._entry_points_of(kind)[name]
        dist = getattr(entry_point, "dist", None)
        version = getattr(dist, "version", "") if dist is not None else ""
        return f"{_distribution(entry_point)} {version} ({entry_point.value})".replace("  ", " ")

    def parameters(self, kind: PluginKind, name: str) -> dict[str, Any]:
        """Parameter name → default (`inspect.Parameter.empty` when required) of plugin `name`."""
        return {p.name: p.default for p in _keyword_parameters(self.load(kind, name))}

    def _entry_points_of(self, kind: PluginKind) -> dict[str, list[Any]]:
        if kind not in self._found:
            by_name: dict[str, list[Any]] = {}
            for ep in self._entry_points(group=kind.group):
                same = [other for other in by_name.get(ep.name, []) if other.value == ep.value]
                if not same:  # one distribution seen twice on sys.path is still one
                    by_name.setdefault(ep.name, []).append(ep)
            self._found[kind] = by_name
        return self._found[kind]


def _distribution(entry_point: Any) -> str:
    dist = getattr(entry_point, "dist", None)
    return getattr(dist, "name", None) or "an unknown distribution"


def _keyword_parameters(plugin: type) -> list[inspect.Parameter]:
    return [p for p in inspect.signature(plugin).parameters.values()
            if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]


def bind_parameters(plugin: type, parameters: Mapping[str, Any], label: str, path: str) -> dict[str, Any]:
    """Check `parameters` against the plugin's keywords and annotated scalar types.

    Collects unknown, missing and mistyped parameters into one ConfigError at a time,
    naming the parameter's full key path.
    """
    accepted = {p.name: p for p in _keyword_parameters(plugin)}
    hints = typing.get_type_hints(plugin.__init__) if plugin.__init__ is not object.__init__ else {}
    where = f"{path}." if path else ""
    for key in parameters:
        if key not in accepted:
            raise ConfigError(f"{where}{key}", f"unknown parameter for {label}; {did_you_mean(str(key), accepted)}")
    for name, parameter in accepted.items():
        if parameter.default is inspect.Parameter.empty and name not in parameters:
            raise ConfigError(f"{where}{name}", f"missing required parameter of {label}")
    return {key: coerce_scalar(value, hints.get(key), f"{where}{key}") for key, value in parameters.items()}


def coerce_scalar(value: Any, annotation: Any, path: str) -> Any:
    """`value` as the annotated scalar type (int, float, bool, str), refusing lossy guesses."""
    if annotation is bool:
        if not isinstance(value, bool):
            raise ConfigError(path, f"expected true or false, found {value!r}")
        return value
    if annotation is int:
        number = _number(value)
        if number is None or not float(number).is_integer():
            raise ConfigError(path, f"expected a whole number, found {value!r}")
        return int(number)
    if annotation is float:
        number = _number(value)
        if number is None or not math.isfinite(number):
            raise ConfigError(path, f"expected a number, found {value!r}")
        return float(number)
    if annotation is str and not isinstance(value, str):
        raise ConfigError(path, f"expected a string, found {value!r}")
    return value


def _number(value: Any) -> float | None:
    """A YAML number, or a string YAML 1.1 left unparsed such as `1e6`; never a bool."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            return float(value.replace("_", ""))
        except ValueError:
            return None
    return None

"""A JSON Schema of the config, made from the attrs model (for editors and other tools)."""

from __future__ import annotations

import types
import typing
from collections.abc import Collection, Mapping
from typing import Any

import attrs

from multifolio.config.model import (
    EXECUTORS,
    TIMESTAMPS,
    AllocationConfig,
    BacktestConfig,
    DataConfig,
    EntryConfig,
    ExecutionConfig,
    ExecutionEngineConfig,
    ReportingConfig,
    RiskConfig,
    StrategyConfig,
    TradingSystemConfig,
    written_keys,
)
from multifolio.config.registry import PluginKind, PluginRegistry
from multifolio.config.search import DEFAULT_BATCH, DEFAULT_SEED, GRID, MAX_BATCH, MAX_SAMPLES, METHODS
from multifolio.config.spec import ENTRY_TYPES, IndicatorRequest, PluginSpec

# where a plugin is named: (class, field) → the kind whose registered names are allowed
_PLUGIN_FIELDS = {
    (DataConfig, "source"): PluginKind.DATA_SOURCE,
    (StrategyConfig, "type"): PluginKind.STRATEGY,
    (RiskConfig, "position_sizers"): PluginKind.SIZER,
    (RiskConfig, "limits"): PluginKind.RISK_LIMIT,
    (RiskConfig, "exits"): PluginKind.EXIT,
    (ExecutionConfig, "slippage"): PluginKind.SLIPPAGE,
    (ExecutionConfig, "commission"): PluginKind.COMMISSION,
    (AllocationConfig, "method"): PluginKind.ALLOCATOR,
    (BacktestConfig, "controller"): PluginKind.CONTROLLER,
}
_SCALARS = {str: "string", int: "integer", float: "number", bool: "boolean"}
_CHOICES = {(ExecutionEngineConfig, "type"): list(EXECUTORS), (EntryConfig, "type"): list(ENTRY_TYPES),
            (DataConfig, "timestamps"): list(TIMESTAMPS)}
# what a trading_systems entry may carry that multifolio.config.sweep expands before the model sees it
_SWEEP_KEYS = {
    "sweep": {"type": "object", "description": "dotted key path in this entry → values to try",
              "additionalProperties": {"anyOf": [
                  {"type": "array", "minItems": 1},
                  {"type": "object", "required": ["start", "stop", "step"], "additionalProperties": False,
                   "properties": {name: {"type": "number"} for name in ("start", "stop", "step")}}]}},
    "constraint": {"type": "string", "description": "keeps the combinations for which it holds, "
                                                    "e.g. fast_period < slow_period"},
    "walk_forward": {"type": "object", "description": "trains on each window, trades its best combination on "
                                                      "the test span after it", "required": ["train", "test"],
                     "additionalProperties": False,
                     "properties": {**{key: {"type": ["integer", "string"]} for key in ("train", "test", "step")},
                                    "anchored": {"type": "boolean"}, "select": {"type": "string"}}},
    "search": {"type": "object", "description": "which combinations run: all (grid), a random sample, or "
                                                "those optuna's TPE sampler picks",
               "additionalProperties": False,
               "properties": {"method": {"enum": list(METHODS), "default": GRID},
                              "samples": {"type": "integer", "minimum": 1, "maximum": MAX_SAMPLES},
                              "seed": {"type": "integer", "default": DEFAULT_SEED},
                              "batch": {"type": "integer", "minimum": 1, "maximum": MAX_BATCH,
                                        "default": DEFAULT_BATCH}}},
}


def config_schema(registry: PluginRegistry, figures: Collection[str]) -> dict[str, Any]:
    """The schema of a whole config file; plugin names are those installed now, `figures` those that
    may rank a sweep."""
    choices = {**_CHOICES, (ReportingConfig, "sweep_metric"): list(figures)}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "multifolio configuration",
            **_class_schema(BacktestConfig, registry, choices)}




def _class_schema(cls: type, registry: PluginRegistry, choices: Mapping[tuple[type, str], list]) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    properties, required = {}, []
    for field in attrs.fields(cls):
        if field.name not in written_keys(cls) or (cls, field.name) == (DataConfig, "params"):
            continue  # set by multifolio; or the source's own parameters, any further key of `data`
        kind = _PLUGIN_FIELDS.get((cls, field.name))
        schema = _type_schema(hints[field.name], registry, kind, choices)
        if (cls, field.name) in choices:
            schema["enum"] = choices[(cls, field.name)]
        if field.default is attrs.NOTHING:
            required.append(field.name)
        elif not isinstance(field.default, attrs.Factory):
            schema["default"] = field.default
        properties[field.name] = schema
    schema = {"type": "object", "description": (cls.__doc__ or "").strip().splitlines()[0],
              "properties": properties, "additionalProperties": cls is DataConfig}
    if required:
        schema["required"] = required
    if cls is TradingSystemConfig:
        properties.update(_SWEEP_KEYS)
    if cls is ExecutionConfig:  # `commission: 0.005` is shorthand for the per-share plugin
        schema["properties"]["commission"] = {"anyOf": [{"type": "number", "minimum": 0},
                                                        schema["properties"]["commission"]]}
    return schema


def _type_schema(annotation: Any, registry: PluginRegistry, kind: PluginKind | None,
                 choices: Mapping[tuple[type, str], list]) -> dict[str, Any]:
    origin, arguments = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation in _SCALARS:
        schema = {"type": _SCALARS[annotation]}
        if kind is not None:
            schema["enum"] = registry.names(kind)
        return schema
    if origin is list:
        return {"type": "array", "items": _type_schema(arguments[0], registry, kind, choices)}
    if origin is dict:
        return {"type": "object"}
    if arguments and origin in (typing.Union, types.UnionType):  # `X | None`, `str | int`
        return {"anyOf": [{"type": "null"} if argument is type(None) else
                          _type_schema(argument, registry, kind, choices) for argument in arguments]}
    if annotation is IndicatorRequest:
        names = "|".join(registry.names(PluginKind.INDICATOR))
        return {"anyOf": [{"type": "string", "pattern": f"^({names})(_[^_@]+)*(@[^_@.]+)?(\\.[A-Za-z_]\\w*)?$",
                           "description": "NAME or NAME_P1_P2..., parameters in order; @1D etc.: a higher timeframe"},
                          {"type": "object", "required": ["type"],
                           "properties": {"type": {"enum": registry.names(PluginKind.INDICATOR)},
                                          "timeframe": {"type": "string", "description": "15min, 1h, 4h, 1D, 1W, "
                                                                                        "1M: a higher timeframe"}}}]}
    if annotation is PluginSpec:
        names = {"enum": registry.names(kind)} if kind is not None else {"type": "string"}
        return {"anyOf": [names, {"type": "object", "required": ["type"], "properties": {"type": names},
                                  "description": "the plugin's `type` and its parameters"}]}
    if attrs.has(annotation):
        return _class_schema(annotation, registry, choices)
    raise TypeError(f"no JSON Schema for {annotation!r}")

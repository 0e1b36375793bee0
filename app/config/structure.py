"""From a parsed YAML document to the attrs model: strict (unknown keys are errors, with the closest
known key), every structural problem of a file reported at once with its key path."""

from __future__ import annotations

import datetime
import typing
from collections.abc import Mapping
from typing import Any

import attrs
import cattrs
from cattrs.errors import (
    AttributeValidationNote,
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
)

from multifolio.config.book import BookSpec
from multifolio.config.model import BacktestConfig, DataConfig, ExecutionConfig, written_keys
from multifolio.config.registry import coerce_scalar
from multifolio.config.spec import IndicatorRequest, PluginSpec, SweepPoint, SystemSpec, parse_indicator
from multifolio.config.sweep import expand_sweeps
from multifolio.config.sweep_points import errors_in_file
from multifolio.errors import ConfigError, ConfigErrors, did_you_mean


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
            type(None): "nothing (null)"}.get(type(value), f"{type(value).__name__} {value!r}")


def _build_converter() -> cattrs.Converter:
    converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)

    def scalar(annotation: type):
        return lambda value, _: coerce_scalar(value, annotation, "")

    for annotation in (str, int, float, bool):
        converter.register_structure_hook(annotation, scalar(annotation))

    def any_mapping(value: Any, _: Any) -> dict:
        if not isinstance(value, Mapping):
            raise TypeError(f"expected a mapping, found {_kind(value)}")
        return dict(value)

    converter.register_structure_hook_func(lambda annotation: annotation == dict[str, Any], any_mapping)

    def is_list(annotation: Any) -> bool:
        return typing.get_origin(annotation) is list

    def list_hook(annotation: Any, _: Any):
        (item_type,) = typing.get_args(annotation)

        def structure(value: Any, _: Any) -> list:
            if not isinstance(value, list):
                # YAML `symbols: MSFT` is a string: never split it into letters
                raise TypeError(f"expected a list, found {_kind(value)}")
            items, errors = [], []
            for index, item in enumerate(value):
                try:
                    items.append(converter.structure(item, item_type))
                except Exception as error:
                    error.add_note(IterableValidationNote(f"@ index {index}", index, item_type))
                    errors.append(error)
            if errors:
                raise IterableValidationError("While structuring a list", errors, annotation)
            return items

        return structure

    converter.register_structure_hook_factory(is_list, list_hook)

    def plugin_spec(value: Any, _: Any) -> PluginSpec:
        if isinstance(value, str):
            return PluginSpec(value)
        if not isinstance(value, Mapping) or "type" not in value:
            raise TypeError(f"expected a mapping with a `type` key, found {_kind(value)}")
        params = {k: v for k, v in value.items() if k != "type"}
        return PluginSpec(coerce_scalar(value["type"], str, ""), params)

    converter.register_structure_hook(PluginSpec, plugin_spec)

    def indicator_request(value: Any, _: Any) -> IndicatorRequest:
        if isinstance(value, str):
            return parse_indicator(value)
        spec = plugin_spec(value, None)
        params = {name: given for name, given in spec.params.items() if name != "timeframe"}
        return IndicatorRequest(spec.type, params, timeframe=str(spec.params.get("timeframe", "")))

    converter.register_structure_hook(IndicatorRequest, indicator_request)

    def optional_spec(value: Any, _: Any) -> PluginSpec | None:
        return None if value is None else plugin_spec(value, None)

    converter.register_structure_hook(PluginSpec | None, optional_spec)
    converter.register_structure_hook(float | None, lambda v, _: None if v is None else coerce_scalar(v, float, ""))
    converter.register_structure_hook(int | None, lambda v, _: None if v is None else coerce_scalar(v, int, ""))
    converter.register_structure_hook(str | None, lambda v, _: None if v is None else coerce_scalar(v, str, ""))

    def bars_or_period(value: Any, _: Any) -> str | int:  # `20` (bars) or `1M`: parsed by multifolio.config.book
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise TypeError(f"expected a number of bars or a period such as 1M, found {_kind(value)}")
        return value

    converter.register_structure_hook(str | int, bars_or_period)
    converter.register_structure_hook(str | int | None, lambda v, _: None if v is None else bars_or_period(v, _))

    def data_config(value: Any, _: Any) -> DataConfig:
        if not isinstance(value, Mapping):
            raise TypeError(f"expected a mapping, found {_kind(value)}")
        core = {k: value[k] for k in written_keys(DataConfig) if k in value and k != "params"}
        for key in ("start", "end"):  # YAML reads an unquoted 2024-01-02 as a date: the window takes it as written
            if isinstance(core.get(key), datetime.date):
                core[key] = core[key].isoformat()
        params = {k: v for k, v in value.items() if k not in core}
        return attrs.evolve(_DATA_CORE_STRUCTURE(core, DataConfig), params=params)

    _DATA_CORE_STRUCTURE = cattrs.gen.make_dict_structure_fn(DataConfig, converter, _cattrs_forbid_extra_keys=True)
    converter.register_structure_hook(DataConfig, data_config)

    def execution_config(value: Any, _: Any) -> ExecutionConfig:
        if isinstance(value, Mapping) and isinstance(value.get("commission"), (int, float, str)) \
                and not isinstance(value.get("commission"), bool):
            rate = coerce_scalar(value["commission"], float, "")
            value = {**value, "commission": {"type": "per_share", "rate": rate}}
        return _EXECUTION_STRUCTURE(value, ExecutionConfig)

    _EXECUTION_STRUCTURE = cattrs.gen.make_dict_structure_fn(ExecutionConfig, converter, _cattrs_forbid_extra_keys=True)
    converter.register_structure_hook(ExecutionConfig, execution_config)

    def set_by_multifolio(value: Any, _: Any) -> Any:
        raise TypeError("is not a key of a config file: multifolio sets it (trading systems are listed under "
                        "`trading_systems`, sweeps under their entry's `sweep`)")

    converter.register_structure_hook_func(lambda annotation: annotation == tuple[SystemSpec, ...],
                                          set_by_multifolio)
    converter.register_structure_hook(BookSpec | None, lambda v, _: v if v is None else set_by_multifolio(v, _))

    def sweep_point(value: Any, _: Any) -> SweepPoint | None:
        if value is None or isinstance(value, SweepPoint):  # made by expand_sweeps, never written
            return value
        return set_by_multifolio(value, None)

    converter.register_structure_hook(SweepPoint | None, sweep_point)
    return converter


_CONVERTER = _build_converter()


def _flatten(error: BaseException, path: str, out: list[ConfigError]) -> None:
    """Turn cattrs' nested validation errors into one ConfigError per problem, with paths."""
    if isinstance(error, ForbiddenExtraKeysError):
        known = written_keys(error.cl) if attrs.has(error.cl) else []
        for key in sorted(error.extra_fields, key=str):
            out.append(ConfigError(_join(path, str(key)), f"unknown key; {did_you_mean(str(key), known)}"))
        return
    if isinstance(error, (ClassValidationError, IterableValidationError)):
        for inner in error.exceptions:
            _flatten(inner, _join(path, _note_step(inner)), out)
        return
    if isinstance(error, KeyError):
        out.append(ConfigError(path, "missing required key"))
        return
    if isinstance(error, ConfigError):
        out.append(error.under(path) if error.path else ConfigError(path, error.message))
        return
    out.append(ConfigError(path, str(error)))


def _note_step(error: BaseException) -> str:
    for note in getattr(error, "__notes__", []):
        if isinstance(note, AttributeValidationNote):
            return note.name
        if isinstance(note, IterableValidationNote):
            return f"[{note.index}]"
    return ""


def _join(path: str, step: str) -> str:
    if not step:
        return path
    if step.startswith("["):
        return f"{path}{step}"
    return f"{path}.{step}" if path else step


def structure_config(document: Any, source: str = "") -> BacktestConfig:
    """The attrs model of a parsed YAML document; every structural problem at once."""
    if document is None:
        raise ConfigErrors([ConfigError("", "the file is empty; expected a mapping with `data` and "
                                            "`trading_systems`")], source)
    if not isinstance(document, Mapping):
        raise ConfigErrors([ConfigError("", f"the top level is {_kind(document)}; expected a mapping with "
                                            "`data` and `trading_systems`")], source)
    document = expand_sweeps(document, source)
    try:
        return _CONVERTER.structure(document, BacktestConfig)
    except Exception as error:
        errors: list[ConfigError] = []
        _flatten(error, "", errors)
        raise ConfigErrors(errors_in_file(errors, document.get("trading_systems")), source) from None

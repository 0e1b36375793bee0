"""The configuration model: the whole YAML as attrs classes, checked before any bar is read."""

from __future__ import annotations

import importlib.util
import re
import typing
import zoneinfo
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import cattrs
from attrs import Factory, define, field
from cattrs.errors import (
    AttributeValidationNote, ClassValidationError, ForbiddenExtraKeysError,
    IterableValidationError, IterableValidationNote,
)

from multifolio.errors import ConfigError, ConfigErrors, did_you_mean
from multifolio.data.market import ON_INVALID
from multifolio.config.registry import PluginKind, PluginRegistry, coerce_scalar
from multifolio.config.sweep import SWEEP_METRICS, errors_in_file, expand_sweeps
from multifolio.config.yamlio import read_yaml

_SCHEDULER_ADDRESS = re.compile(r"([a-z][a-z0-9+]*://)?[^\s/]+:\d+/?")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_FILL_AT = ("next_open", "close")
EXECUTORS = ("serial", "processes", "dask")


@define(frozen=True)
class PluginSpec:
    """A plugin named by `type` with its parameters (`{type: fixed, size: 1000}`)."""

    type: str
    params: dict[str, Any] = Factory(dict)


@define(frozen=True)
class IndicatorRequest(PluginSpec):
    """An entry of `indicators`: `SMA_20`, `RSI`, or `{type: BB, period: 20, nbdev: 2}`."""


def _spec_settings(spec: PluginSpec) -> dict[str, Any]:
    return {"type": spec.type, "params": dict(spec.params)}


@define(frozen=True)
class WorkflowConfig:
    """`workflow`: what kind of run and its name (the results folder is named after it)."""

    type: str = "multi_portfolio_backtest"
    name: str = "backtest"


@define(frozen=True)
class DataConfig:
    """`data`: one source shared by every system; keys besides `source` and `symbols`
    are the source's own parameters (`file_path`, `bars`, `seed`, ...)."""

    source: str
    symbols: list[str]
    params: dict[str, Any] = Factory(dict)
    on_invalid: str = "error"  # or "drop": leave out bad rows, counted in the run manifest
    timezone: str = ""  # the zone of timestamps written without one (e.g. America/New_York)


@define(frozen=True)
class PortfolioConfig:
    """`portfolio`: the system's own capital and the namespace its events and files carry."""

    initial_capital: float
    namespace: str = ""
    close_at_end: bool = False


@define(frozen=True)
class StrategyConfig:
    """`strategy`: a strategy plugin and its parameters."""

    type: str
    parameters: dict[str, Any] = Factory(dict)


@define(frozen=True)
class RiskConfig:
    """`risk`: how big positions are and what caps them."""

    position_sizers: list[PluginSpec]
    limits: list[PluginSpec] = Factory(list)
    lot_size: float = 1.0  # quantities are whole multiples of this; 0 allows any fraction


@define(frozen=True)
class ExecutionConfig:
    """`execution`: simulated fills and their costs."""

    slippage_bps: float | None = None  # shorthand for `slippage: {type: bps, bps: N}`
    slippage: PluginSpec | None = None
    commission: PluginSpec | None = None  # a number is shorthand for `{type: per_share, rate: N}`
    fill_at: str = "next_open"

    def slippage_spec(self) -> PluginSpec:
        if self.slippage is not None:
            return self.slippage
        return PluginSpec("bps", {"bps": self.slippage_bps or 0.0})

    def commission_spec(self) -> PluginSpec:
        return self.commission or PluginSpec("per_share", {"rate": 0.0})


@define(frozen=True)
class TradingSystemConfig:
    """One `trading_systems` entry: everything one isolated system needs."""

    name: str
    portfolio: PortfolioConfig
    strategy: StrategyConfig
    risk: RiskConfig
    indicators: list[IndicatorRequest] = Factory(list)
    execution: ExecutionConfig = Factory(ExecutionConfig)
    swept: dict[str, Any] | None = None  # set by multifolio.config.sweep: the entry and values this system came from

    @property
    def namespace(self) -> str:
        return self.portfolio.namespace or self.name

    def settings(self) -> dict[str, Any]:
        """The entry resolved to plain data: what the TradingSystem container reads."""
        return {
            "name": self.name,
            "portfolio": {"initial_capital": self.portfolio.initial_capital, "namespace": self.namespace,
                          "close_at_end": self.portfolio.close_at_end},
            "indicators": [_spec_settings(spec) for spec in self.indicators],
            "strategy": {"type": self.strategy.type, "params": dict(self.strategy.parameters)},
            "risk": {"position_sizers": [_spec_settings(s) for s in self.risk.position_sizers],
                     "limits": [_spec_settings(s) for s in self.risk.limits],
                     "lot_size": self.risk.lot_size},
            "execution": {"slippage": _spec_settings(self.execution.slippage_spec()),
                          "commission": _spec_settings(self.execution.commission_spec()),
                          "fill_at": self.execution.fill_at},
        } | ({"swept": self.swept} if self.swept else {})


@define(frozen=True)
class ReportingConfig:
    """`reporting`: which files are written and where."""

    separate_reports: bool = True
    combined_summary: bool = True
    output_dir: str = "results"
    sweep_metric: str = "sharpe"  # ranks each sweep's systems in combined_summary.json


@define(frozen=True)
class ExecutionEngineConfig:
    """`execution_engine`: where the systems run: in this process, on local processes, or on Dask."""

    type: str = "serial"
    workers: int | None = None  # processes or LocalCluster workers; one per CPU core when not given
    address: str = ""  # a Dask scheduler (tcp://host:8786); DASK_SCHEDULER_ADDRESS when empty


@define(frozen=True)
class BacktestConfig:
    """The whole configuration file."""

    data: DataConfig
    trading_systems: list[TradingSystemConfig] = field()
    workflow: WorkflowConfig = Factory(WorkflowConfig)
    reporting: ReportingConfig = Factory(ReportingConfig)
    execution_engine: ExecutionEngineConfig = Factory(ExecutionEngineConfig)

    def data_settings(self) -> dict[str, Any]:
        """The `data` section as plain data: what the DataContainer reads."""
        return {"source": self.data.source, "symbols": list(self.data.symbols), "params": dict(self.data.params),
                "on_invalid": self.data.on_invalid, "timezone": self.data.timezone}

    @property
    def run_name(self) -> str:
        """The results folder of this run: the workflow name made safe for a path."""
        return re.sub(r"[^a-z0-9]+", "_", self.workflow.name.lower()).strip("_") or "backtest"


# ---------------------------------------------------------------- structuring


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
        return IndicatorRequest(spec.type, spec.params)

    converter.register_structure_hook(IndicatorRequest, indicator_request)

    def optional_spec(value: Any, _: Any) -> PluginSpec | None:
        return None if value is None else plugin_spec(value, None)

    converter.register_structure_hook(PluginSpec | None, optional_spec)
    converter.register_structure_hook(float | None, lambda v, _: None if v is None else coerce_scalar(v, float, ""))

    def data_config(value: Any, _: Any) -> DataConfig:
        if not isinstance(value, Mapping):
            raise TypeError(f"expected a mapping, found {_kind(value)}")
        core = {k: value[k] for k in ("source", "symbols", "on_invalid", "timezone") if k in value}
        params = {k: v for k, v in value.items() if k not in core}
        base = _DATA_CORE_STRUCTURE(core, DataConfig)
        return DataConfig(base.source, base.symbols, params, base.on_invalid, base.timezone)

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
    return converter


_CONVERTER = _build_converter()


def _flatten(error: BaseException, path: str, out: list[ConfigError]) -> None:
    """Turn cattrs' nested validation errors into one ConfigError per problem, with paths."""
    if isinstance(error, ForbiddenExtraKeysError):
        known = [f.name for f in error.cl.__attrs_attrs__] if hasattr(error.cl, "__attrs_attrs__") else []
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


# ---------------------------------------------------------------- checks


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


def check_config(config: BacktestConfig, registry: PluginRegistry) -> list[ConfigError]:
    """Every semantic problem: values out of range, clashing names, unknown plugins or parameters."""
    errors: list[ConfigError] = []

    def attempt(check, *args) -> Any:
        try:
            return check(*args)
        except ConfigError as error:
            errors.append(error)
            return None

    if config.workflow.type != "multi_portfolio_backtest":
        errors.append(ConfigError("workflow.type", f"unknown workflow {config.workflow.type!r}; "
                                                   "known: multi_portfolio_backtest"))
    if not config.data.symbols:
        errors.append(ConfigError("data.symbols", "expected at least one symbol"))
    if config.data.on_invalid not in ON_INVALID:
        errors.append(ConfigError("data.on_invalid", f"unknown choice {config.data.on_invalid!r}; expected one of "
                                                     f"{', '.join(ON_INVALID)}"))
    if config.data.timezone:
        try:
            zoneinfo.ZoneInfo(config.data.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            errors.append(ConfigError("data.timezone", f"unknown time zone {config.data.timezone!r}; expected an "
                                                       "IANA name such as America/New_York or UTC"))
    if len(set(config.data.symbols)) != len(config.data.symbols):
        errors.append(ConfigError("data.symbols", f"a symbol is listed twice in {config.data.symbols}"))
    if attempt(registry.load, PluginKind.DATA_SOURCE, config.data.source, "data.source"):
        attempt(registry.create, PluginKind.DATA_SOURCE, config.data.source,
                {"symbols": list(config.data.symbols), **config.data.params}, "data")
    if not config.trading_systems:
        errors.append(ConfigError("trading_systems", "expected at least one trading system"))
    if config.reporting.sweep_metric not in SWEEP_METRICS:
        errors.append(ConfigError("reporting.sweep_metric", f"unknown figure {config.reporting.sweep_metric!r}; "
                                  f"{did_you_mean(config.reporting.sweep_metric, SWEEP_METRICS)}"))
    errors.extend(check_execution_engine(config.execution_engine))

    seen_names: dict[str, int] = {}
    seen_namespaces: dict[str, int] = {}
    for index, system in enumerate(config.trading_systems):
        where = f"trading_systems[{index}]"
        for value, key, seen in ((system.name, "name", seen_names),
                                 (system.namespace, "portfolio.namespace", seen_namespaces)):
            if not _SAFE_NAME.fullmatch(value) or value in (".", ".."):
                errors.append(ConfigError(f"{where}.{key}", f"{value!r} is not safe as a folder name; use "
                                          "letters, digits, '_', '-' and '.', starting with a letter or digit"))
            elif value.lower() in seen:
                errors.append(ConfigError(f"{where}.{key}", f"{value!r} is already used by "
                                          f"trading_systems[{seen[value.lower()]}] (names must differ "
                                          "ignoring case: they become folder names)"))
            else:
                seen[value.lower()] = index
        errors.extend(_check_system(system, where, registry))
    return errors


def check_execution_engine(engine: ExecutionEngineConfig) -> list[ConfigError]:
    """`execution_engine` as the file gives it or as the CLI's --executor/--workers/--address change it."""
    errors: list[ConfigError] = []
    if engine.type not in EXECUTORS:
        errors.append(ConfigError("execution_engine.type", f"unknown executor {engine.type!r}; "
                                                           f"{did_you_mean(engine.type, EXECUTORS)}"))
    elif engine.type == "dask" and importlib.util.find_spec("distributed") is None:
        errors.append(ConfigError("execution_engine.type", "the dask executor needs dask.distributed; install it "
                                                           "with pip install 'multifolio[dask]'"))
    if engine.workers is not None and engine.workers < 1:
        errors.append(ConfigError("execution_engine.workers", f"must be ≥ 1, was {engine.workers}"))
    if engine.address and engine.type != "dask":
        errors.append(ConfigError("execution_engine.address", f"a scheduler address is for type dask, not "
                                                              f"{engine.type!r}"))
    elif engine.address and not _SCHEDULER_ADDRESS.fullmatch(engine.address):
        errors.append(ConfigError("execution_engine.address", f"expected a scheduler address such as "
                                                              f"tcp://10.0.0.5:8786, found {engine.address!r}"))
    elif engine.address and engine.workers is not None:
        errors.append(ConfigError("execution_engine.workers", "sizes the cluster multifolio starts; with an "
                                                              "address the cluster's own workers run the systems"))
    return errors


def _check_system(system: TradingSystemConfig, where: str, registry: PluginRegistry) -> list[ConfigError]:
    errors: list[ConfigError] = []
    if not system.portfolio.initial_capital > 0:
        errors.append(ConfigError(f"{where}.portfolio.initial_capital",
                                  f"must be > 0, was {system.portfolio.initial_capital}"))
    if not system.risk.position_sizers:
        errors.append(ConfigError(f"{where}.risk.position_sizers", "expected at least one position sizer"))
    if system.risk.lot_size < 0:
        errors.append(ConfigError(f"{where}.risk.lot_size", f"must be ≥ 0, was {system.risk.lot_size}"))
    execution = system.execution
    if execution.fill_at not in _FILL_AT:
        errors.append(ConfigError(f"{where}.execution.fill_at", f"unknown fill rule {execution.fill_at!r}; "
                                  f"{did_you_mean(execution.fill_at, _FILL_AT)}"))
    if execution.slippage is not None and execution.slippage_bps is not None:
        errors.append(ConfigError(f"{where}.execution", "give either slippage_bps or slippage, not both"))

    plugins = [(PluginKind.STRATEGY, system.strategy.type, system.strategy.parameters, f"{where}.strategy",
                "parameters")]
    plugins += [(PluginKind.SIZER, s.type, s.params, f"{where}.risk.position_sizers[{i}]", "")
                for i, s in enumerate(system.risk.position_sizers)]
    plugins += [(PluginKind.RISK_LIMIT, s.type, s.params, f"{where}.risk.limits[{i}]", "")
                for i, s in enumerate(system.risk.limits)]
    plugins += [(PluginKind.SLIPPAGE, execution.slippage_spec().type, execution.slippage_spec().params,
                 f"{where}.execution.slippage", ""),
                (PluginKind.COMMISSION, execution.commission_spec().type, execution.commission_spec().params,
                 f"{where}.execution.commission", "")]
    strategy = None
    for kind, name, params, path, params_key in plugins:
        try:
            built = _create(registry, kind, name, params, path, params_key)
            if kind is PluginKind.STRATEGY:
                strategy = built
        except ConfigError as error:
            errors.append(error)
    for index, spec in enumerate(system.indicators):
        try:
            resolve_indicator(spec, registry, f"{where}.indicators[{index}]")
        except ConfigError as error:
            errors.append(error)
    if strategy is not None:
        for spec in strategy.indicators():
            try:
                resolve_indicator(parse_indicator(spec), registry, f"{where}.strategy")
            except ConfigError as error:
                errors.append(ConfigError(error.path, f"the strategy asks for indicator {spec!r}: {error.message}"))
    return errors


def _create(registry: PluginRegistry, kind: PluginKind, name: str, params: Mapping[str, Any], path: str,
            params_key: str) -> Any:
    """Build a plugin; its `type` error points at `path.type`, parameter errors below `params_key`."""
    registry.load(kind, name, f"{path}.type")
    return registry.create(kind, name, params, f"{path}.{params_key}" if params_key else path)


# ---------------------------------------------------------------- indicators


def parse_indicator(text: str) -> IndicatorRequest:
    """`SMA_20` → SMA with its first parameter 20; `BB_20_2` → BB(20, 2); `RSI` → RSI defaults."""
    name, *values = str(text).split("_")
    return IndicatorRequest(name, {"_positional": values} if values else {})


@define(frozen=True)
class IndicatorSpec:
    """A resolved indicator: plugin name, full keyword parameters, and its canonical key."""

    type: str
    params: dict[str, Any]
    key: str  # `SMA_20`, `BB_20_2`: how strategies and reports name it
    outputs: tuple[str, ...]

    def output_keys(self) -> list[str]:
        return [self.key] if len(self.outputs) == 1 else [f"{self.key}.{o}" for o in self.outputs]


def resolve_indicator(spec: PluginSpec, registry: PluginRegistry, path: str) -> IndicatorSpec:
    """Full parameters (defaults filled) and the canonical key of one indicator spec."""
    if isinstance(spec, str):
        spec = parse_indicator(spec)
    plugin = registry.load(PluginKind.INDICATOR, spec.type, path)
    defaults = registry.parameters(PluginKind.INDICATOR, spec.type)
    params = dict(spec.params)
    positional = params.pop("_positional", [])
    if len(positional) > len(defaults):
        raise ConfigError(path, f"indicator {spec.type} takes at most {len(defaults)} value(s) "
                                f"({', '.join(defaults)}), found {len(positional)}")
    for name, text in zip(defaults, positional):
        params[name] = text
    instance = registry.create(PluginKind.INDICATOR, spec.type, params, path)
    full = {name: getattr(instance, name, params.get(name, default)) for name, default in defaults.items()}
    key = "_".join([spec.type, *(_format_value(v) for v in full.values())])
    return IndicatorSpec(spec.type, full, key, tuple(plugin.outputs))


def _format_value(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def load_config(path: str | Path, registry: PluginRegistry) -> BacktestConfig:
    """Read, structure and check a config file; raises ConfigErrors listing every problem."""
    try:
        document = read_yaml(path)
    except ConfigError as error:
        raise ConfigErrors([error], str(path)) from None
    return validate_document(document, registry, str(path))


def validate_document(document: Any, registry: PluginRegistry, source: str = "") -> BacktestConfig:
    """Structure and check an already parsed document (a dict built in code, say)."""
    config = structure_config(document, source)
    errors = check_config(config, registry)
    if errors:
        raise ConfigErrors(errors_in_file(errors, config.trading_systems), source)
    return config

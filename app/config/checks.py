"""The checks a structured config must pass before any bar is read; each system resolved to its spec."""

from __future__ import annotations

import importlib.util
import re
import traceback
import zoneinfo
from collections.abc import Collection
from typing import Any

import attrs
import pandas as pd

from multifolio.config.book import MAX_CAPITAL, resolve_book
from multifolio.config.search import OPTUNA
from multifolio.config.model import (
    BENCHMARK_FIGURES,
    EXECUTORS,
    FILE_PATH,
    FILL_AT,
    ON_INVALID,
    TIMESTAMPS,
    ActiveConfig,
    BacktestConfig,
    DataConfig,
    EntryConfig,
    ExecutionEngineConfig,
    TradingSystemConfig,
)
from multifolio.config.registry import PluginKind, PluginRegistry
from multifolio.config.spec import (
    CONTROLLED,
    ENTRY_TYPES,
    EntrySpec,
    ExecutionSpec,
    IndicatorRequest,
    IndicatorSpec,
    PluginSpec,
    PortfolioSpec,
    RiskSpec,
    SystemSpec,
    resolve_indicator,
)
from multifolio.config.window import parse_window
from multifolio.errors import PLUGIN_FAULTS, ConfigError, did_you_mean

_SCHEDULER_ADDRESS = re.compile(r"([a-z][a-z0-9+]*://)?[^\s/]+:\d+/?")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
MAX_WORKERS = 256  # processes or Dask workers multifolio starts for one run
LOT_SIZES = (1e-9, 1e9)  # a lot below a billionth or above a billion units is a typo, not an instrument
MAX_VALID_BARS = 10_000_000  # as many bars as a run may have
MAX_NAME = 100  # characters of a system's name: folders nest inside output folders, paths have limits
# the files a run writes beside its systems' folders (multifolio.reports and multifolio.running name them)
RUN_FILES = ("manifest.json", "bars.parquet", "plotly.min.js", "combined_equity.csv", "combined_summary.json",
             "combined_summary.html", "crash.log", "transfers.csv", "allocation.csv", "book_events.csv")
# names Windows keeps for devices, with or without an extension: results folders travel
_DEVICE_NAMES = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


def _ranking_errors(path: str, figure: str, figures: Collection[str], config: BacktestConfig) -> list[ConfigError]:
    """What is wrong with `figure` as the figure that ranks systems (a sweep's, a walk-forward's)."""
    if figure not in figures:
        return [ConfigError(path, f"unknown figure {figure!r}; {did_you_mean(figure, figures)}")]
    if config.reporting.benchmark is None and figure in BENCHMARK_FIGURES:
        return [ConfigError(path, f"{figure!r} is a figure against a benchmark; set reporting.benchmark to a "
                                  "symbol of data.symbols to rank by it")]
    return []


def check_config(config: BacktestConfig, registry: PluginRegistry, figures: Collection[str]
                 ) -> tuple[list[ConfigError], BacktestConfig]:
    """Every semantic problem (values out of range, clashing names, unknown plugins or parameters), and
    the config with its systems (those without problems) and its book resolved. `figures`: the names
    `reporting.sweep_metric` may take."""
    errors: list[ConfigError] = []
    systems: list[SystemSpec] = []

    def attempt(check, *args) -> Any:
        try:
            return check(*args)
        except ConfigError as error:
            errors.append(error)
        except PLUGIN_FAULTS as error:  # every system needs the data: a source that cannot be built is bad input
            errors.append(ConfigError("data", f"data source {config.data.source!r} raised while it was checked: "
                                              f"{type(error).__name__}: {error}"))
        return None

    if config.workflow.type != "multi_portfolio_backtest":
        errors.append(ConfigError("workflow.type", f"unknown workflow {config.workflow.type!r}; "
                                                   "known: multi_portfolio_backtest"))
    if not config.data.symbols:
        errors.append(ConfigError("data.symbols", "expected at least one symbol"))
    if config.data.timestamps not in TIMESTAMPS:
        errors.append(ConfigError("data.timestamps", f"unknown choice {config.data.timestamps!r}; expected open (a "
                                                     "bar's stamp marks its start) or close (its end)"))
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
    errors.extend(check_data_reading(config.data))
    errors.extend(parse_window(config.data.start, config.data.end, config.data.warmup)[1])
    if attempt(registry.load, PluginKind.DATA_SOURCE, config.data.source, "data.source"):
        found_before = len(errors)
        attempt(registry.create, PluginKind.DATA_SOURCE, config.data.source, config.data.source_spec.params, "data")
        errors[found_before:] = [_with_path_note(error, config.data) for error in errors[found_before:]]
    if not config.trading_systems:
        errors.append(ConfigError("trading_systems", "expected at least one trading system"))
    errors.extend(_ranking_errors("reporting.sweep_metric", config.reporting.sweep_metric, figures, config))
    for index, system in enumerate(config.trading_systems):  # each system of a sweep: reported once, at its entry
        walk_forward = system.swept.walk_forward if system.swept is not None else None
        if walk_forward is not None and walk_forward.select is not None:
            errors.extend(_ranking_errors(f"trading_systems[{index}].walk_forward.select", walk_forward.select,
                                          figures, config))
    if config.reporting.benchmark is not None and config.reporting.benchmark not in config.data.symbols:
        errors.append(ConfigError("reporting.benchmark", f"unknown symbol {config.reporting.benchmark!r}; the "
                                  f"benchmark is a symbol of data.symbols: {', '.join(config.data.symbols)}"))
    errors.extend(check_execution_engine(config.execution_engine))

    names = [system.name for system in config.trading_systems]
    allocated = set(config.allocation.systems or names) if config.allocation is not None else set()
    seen_names: dict[str, int] = {}
    seen_namespaces: dict[str, int] = {}
    for index, system in enumerate(config.trading_systems):
        where = f"trading_systems[{index}]"
        for value, key, seen in ((system.name, "name", seen_names),
                                 (system.namespace, "portfolio.namespace", seen_namespaces)):
            if not _SAFE_NAME.fullmatch(value) or value in (".", ".."):
                errors.append(ConfigError(f"{where}.{key}", f"{value!r} is not safe as a folder name; use "
                                          "letters, digits, '_', '-' and '.', starting with a letter or digit"))
            elif len(value) > MAX_NAME:
                errors.append(ConfigError(f"{where}.{key}", f"{len(value)} characters; a name is at most {MAX_NAME} "
                                          "(it becomes a folder name)"))
            elif value.lower() in RUN_FILES or value.split(".")[0].upper() in _DEVICE_NAMES:
                errors.append(ConfigError(f"{where}.{key}", f"{value!r} is taken: the run folder's own files "
                                          f"({', '.join(RUN_FILES)}) and device names such as CON or NUL "
                                          "cannot be a system's folder"))
            elif value.lower() in seen:
                errors.append(ConfigError(f"{where}.{key}", f"{value!r} is already used by "
                                          f"trading_systems[{seen[value.lower()]}] (names must differ "
                                          "ignoring case: they become folder names)"))
            else:
                seen[value.lower()] = index
        spec, problems = resolve_system(system, where, registry, allocated=system.name in allocated)
        errors.extend(problems)
        systems.extend([spec] if spec is not None else [])
    fills_at_close = [system.name for system in config.trading_systems if system.execution.fill_at == "close"]
    book, problems = resolve_book(config.allocation, config.risk, config.controller, names, fills_at_close, registry)
    dormant = [f"trading_systems[{index}].portfolio.active.start" for index, system in enumerate(config.trading_systems)
               if system.portfolio.active is not None and system.portfolio.active.start == CONTROLLED]
    if dormant and config.controller is None:
        problems.extend(ConfigError(path, "`controller`: a controller starts this system, but the config has no "
                                          "top-level controller") for path in dormant)
    coupled = set(book.coupled) if book is not None else set()
    problems.extend(
        ConfigError(f"trading_systems[{index}].search.method", "an optuna search runs its systems batch by batch, "
                    "apart from the book; this system is coupled by the book (allocation, book limits or "
                    "controller): use the grid or a random search")
        for index, system in enumerate(config.trading_systems)
        if system.name in coupled and system.swept is not None and system.swept.search is not None
        and system.swept.search.method == OPTUNA)
    errors.extend(problems)
    return errors, attrs.evolve(config, systems=tuple(systems), book=book)


def check_data_reading(data: DataConfig) -> list[ConfigError]:
    """`data.date_format` (a strftime format that writes and reads back a date) and `data.max_dropped`
    (a share, 0 to 1)."""
    errors = []
    if data.date_format and ("%" not in data.date_format or not _round_trips(data.date_format)):
        errors.append(ConfigError("data.date_format", f"{data.date_format!r} is not a strftime format of a date "
                                  "that reads back; expected e.g. '%d/%m/%Y' (31/01/2024) or "
                                  "'%m/%d/%Y %H:%M' (01/31/2024 09:30)"))
    if not 0 <= data.max_dropped <= 1:
        errors.append(ConfigError("data.max_dropped", f"{data.max_dropped!r} is not a share of the rows; expected a "
                                  "number from 0 to 1 (0.01: at most 1 % of the rows dropped)"))
    return errors


def _round_trips(date_format: str) -> bool:
    """Whether a date written with `date_format` reads back with it (a format of only a time, or with
    directives strptime does not know, does not)."""
    sample = pd.Timestamp("2024-01-31 09:30:15")
    try:
        return pd.to_datetime(sample.strftime(date_format), format=date_format).date() == sample.date()
    except (ValueError, TypeError):
        return False


def _with_path_note(error: ConfigError, data: DataConfig) -> ConfigError:
    """A data source's error about its file, told where a relative `file_path` is read from."""
    note = data.relative_paths_note()
    if error.path != f"data.{FILE_PATH}" or not note:
        return error
    return ConfigError(error.path, f"{error.message} ({note})")


def check_execution_engine(engine: ExecutionEngineConfig) -> list[ConfigError]:
    """`execution_engine` as the file gives it or as the CLI's --executor/--workers/--address change it."""
    errors: list[ConfigError] = []
    if engine.type not in EXECUTORS:
        errors.append(ConfigError("execution_engine.type", f"unknown executor {engine.type!r}; "
                                                           f"{did_you_mean(engine.type, EXECUTORS)}"))
    elif engine.type == "dask" and importlib.util.find_spec("distributed") is None:
        errors.append(ConfigError("execution_engine.type", "the dask executor needs dask.distributed; install it "
                                                           "with pip install 'multifolio[dask]'"))
    if engine.workers is not None and not 1 <= engine.workers <= MAX_WORKERS:
        errors.append(ConfigError("execution_engine.workers", f"must be in [1, {MAX_WORKERS}], was {engine.workers}"))
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


def resolve_system(system: TradingSystemConfig, where: str, registry: PluginRegistry, allocated: bool = False
                   ) -> tuple[SystemSpec | None, list[ConfigError]]:
    """One entry checked and resolved: each plugin built once to run its own checks, each indicator
    (the strategy's too) resolved to its canonical key. No spec when anything is wrong. An `allocated`
    system starts with no capital: the allocation funds it."""
    errors: list[ConfigError] = []
    capital = system.portfolio.initial_capital
    if allocated and capital is not None:
        errors.append(ConfigError(f"{where}.portfolio.initial_capital", "the allocation funds this system: its "
                                  "capital is its weight of allocation.capital; leave initial_capital out"))
    elif not allocated and capital is None:
        errors.append(ConfigError(f"{where}.portfolio.initial_capital", "missing required key (or fund the system "
                                                                          "from a top-level allocation)"))
    elif capital is not None and not 0 < capital <= MAX_CAPITAL:
        errors.append(ConfigError(f"{where}.portfolio.initial_capital",
                                  f"must be > 0 and at most {MAX_CAPITAL:,.0f}, was {capital}"))
    elif capital is not None and not -MAX_CAPITAL <= system.portfolio.min_equity < capital:
        errors.append(ConfigError(f"{where}.portfolio.min_equity",
                                  f"must be below initial_capital ({capital:g}) and at least "
                                  f"{-MAX_CAPITAL:,.0f}, was {system.portfolio.min_equity} (the equity at or below "
                                  "which the system closes everything and stops trading; 0 by default)"))
    elif capital is None and not -MAX_CAPITAL <= system.portfolio.min_equity <= MAX_CAPITAL:
        errors.append(ConfigError(f"{where}.portfolio.min_equity", f"must be within ±{MAX_CAPITAL:,.0f}, was "
                                                                   f"{system.portfolio.min_equity}"))
    window = _window(system.portfolio.active, f"{where}.portfolio.active", errors)
    if not system.risk.position_sizers:
        errors.append(ConfigError(f"{where}.risk.position_sizers", "expected at least one position sizer"))
    if system.risk.lot_size != 0 and not LOT_SIZES[0] <= system.risk.lot_size <= LOT_SIZES[1]:
        errors.append(ConfigError(f"{where}.risk.lot_size", f"must be 0 (any fraction) or in [{LOT_SIZES[0]:g}, "
                                                            f"{LOT_SIZES[1]:g}], was {system.risk.lot_size}"))
    execution = system.execution
    if execution.fill_at not in FILL_AT:
        errors.append(ConfigError(f"{where}.execution.fill_at", f"unknown fill rule {execution.fill_at!r}; "
                                  f"{did_you_mean(execution.fill_at, FILL_AT)}"))
    if execution.slippage is not None and execution.slippage_bps is not None:
        errors.append(ConfigError(f"{where}.execution", "give either slippage_bps or slippage, not both"))
    errors += _entry_errors(execution.entry, f"{where}.execution.entry")
    if execution.max_volume_share is not None and not 0 < execution.max_volume_share <= 1:
        errors.append(ConfigError(f"{where}.execution.max_volume_share", f"must be a share of a bar's volume in "
                                                                         f"(0, 1], was {execution.max_volume_share}"))

    faults: list[str] = []  # plugin code that raised while being checked: this system fails, the others run

    def fault(what: str) -> None:
        faults.append(f"{what} raised while the system was checked:\n{traceback.format_exc()}")

    def checked(kind: PluginKind, spec: PluginSpec, path: str, params_key: str = "") -> tuple[PluginSpec, Any]:
        """The spec with its parameters as the plugin takes them, and the plugin built from them; a
        `type` error points at `path.type`, parameter errors below `path.params_key`."""
        params_path = f"{path}.{params_key}" if params_key else path
        try:
            registry.load(kind, spec.type, f"{path}.type")
            spec = PluginSpec(spec.type, registry.bind(kind, spec.type, spec.params, params_path))
            return spec, registry.create(kind, spec.type, spec.params, params_path)
        except ConfigError as error:
            errors.append(error)
        except PLUGIN_FAULTS:
            fault(f"{kind.label} {spec.type!r} ({path})")
        return spec, None

    strategy, built = checked(PluginKind.STRATEGY, PluginSpec(system.strategy.type, system.strategy.parameters),
                              f"{where}.strategy", "parameters")
    sizers = tuple(checked(PluginKind.SIZER, spec, f"{where}.risk.position_sizers[{i}]")
                   for i, spec in enumerate(system.risk.position_sizers))
    limits = tuple(checked(PluginKind.RISK_LIMIT, spec, f"{where}.risk.limits[{i}]")[0]
                   for i, spec in enumerate(system.risk.limits))
    exits = tuple(checked(PluginKind.EXIT, spec, f"{where}.risk.exits[{i}]")
                  for i, spec in enumerate(system.risk.exits))
    slippage = checked(PluginKind.SLIPPAGE, execution.slippage_spec(), f"{where}.execution.slippage")[0]
    commission = checked(PluginKind.COMMISSION, execution.commission_spec(), f"{where}.execution.commission")[0]

    indicators: dict[str, IndicatorSpec] = {}  # by canonical key: `RSI` and `RSI_14` are one series

    def resolved(request: IndicatorRequest | str, path: str, asked: str = "") -> None:
        try:
            spec = resolve_indicator(request, registry, path)
        except ConfigError as error:
            errors.append(ConfigError(error.path, f"asks for indicator {asked!r}: {error.message}")
                          if asked else error)
            return
        except PLUGIN_FAULTS:
            fault(f"indicator {str(asked or getattr(request, 'type', request))!r} ({path})")
            return
        indicators.setdefault(spec.key, spec)

    for index, request in enumerate(system.indicators):
        resolved(request, f"{where}.indicators[{index}]")
    if built is not None and not type(built).implemented():
        errors.append(ConfigError(f"{where}.strategy.type", f"strategy {strategy.type!r} ({type(built).__name__}) "
                                  "implements neither on_bar (the simple form) nor on_bars (the full form)"))
    readers = [(f"strategy {strategy.type!r}", built, f"{where}.strategy")]
    readers += [(f"sizer {spec.type!r}", sizer, f"{where}.risk.position_sizers[{i}]")
                for i, (spec, sizer) in enumerate(sizers)]
    readers += [(f"exit {spec.type!r}", exit_, f"{where}.risk.exits[{i}]") for i, (spec, exit_) in enumerate(exits)]
    for reader, plugin, path in readers:
        try:
            asked = [str(text) for text in plugin.indicators()] if plugin is not None else []
        except PLUGIN_FAULTS:
            fault(f"the indicators() of {reader}")
            asked = []
        for text in asked:
            resolved(text, path, asked=text)
    if errors:
        return None, errors
    return SystemSpec(
        name=system.name,
        portfolio=PortfolioSpec(capital or 0.0, system.namespace, system.portfolio.close_at_end,
                                system.portfolio.min_equity, *window),
        strategy=strategy, risk=RiskSpec(tuple(spec for spec, _ in sizers), limits, system.risk.lot_size,
                                         tuple(spec for spec, _ in exits)),
        execution=ExecutionSpec(slippage, commission, execution.fill_at,
                                EntrySpec(execution.entry.type, execution.entry.offset_bps, execution.entry.valid_bars),
                                execution.max_volume_share),
        indicators=tuple(indicators.values()), swept=system.swept, fault="\n".join(faults)), []


def _window(active: ActiveConfig | None, where: str, errors: list[ConfigError]) -> tuple[str | None, str | None]:
    """`portfolio.active` as ISO times (None: open on that side)."""
    if active is None:
        return None, None
    bounds = []
    for key in ("start", "end"):
        value = getattr(active, key)
        if key == "start" and value == CONTROLLED:
            bounds.append(None)
            continue
        try:
            bounds.append(None if value is None else pd.Timestamp(value))
        except (ValueError, TypeError):
            errors.append(ConfigError(f"{where}.{key}", f"expected a date or time such as 2020-06-30 or "
                                                        f"2020-06-30T14:30{' (or controller)' if key == 'start' else ''}"
                                                        f", found {value!r}"))
            return None, None
    start, end = bounds
    if start is not None and end is not None and (start.tz is None) == (end.tz is None) and end <= start:
        errors.append(ConfigError(f"{where}.end", f"{end} is not after start {start}"))
    start, end = (None if bound is None else bound.isoformat() for bound in bounds)
    return (CONTROLLED if active.start == CONTROLLED else start), end


def _entry_errors(entry: EntryConfig, where: str) -> list[ConfigError]:
    errors = []
    if entry.type not in ENTRY_TYPES:
        errors.append(ConfigError(f"{where}.type", f"unknown entry {entry.type!r}; {did_you_mean(entry.type, ENTRY_TYPES)}"))
    elif entry.type == "market" and (entry.offset_bps or entry.valid_bars is not None):
        errors.append(ConfigError(where, "offset_bps and valid_bars belong to limit and stop entries; a market entry "
                                         "fills at the next fill whatever the price"))
    if not 0 <= entry.offset_bps < 10_000:
        errors.append(ConfigError(f"{where}.offset_bps", f"must be in [0, 10000) (basis points from the signal's "
                                                         f"close), was {entry.offset_bps}"))
    if entry.valid_bars is not None and not 1 <= entry.valid_bars <= MAX_VALID_BARS:
        errors.append(ConfigError(f"{where}.valid_bars", f"must be in [1, {MAX_VALID_BARS:,}] bars, or left out "
                                                         f"(until cancelled), was {entry.valid_bars}"))
    return errors

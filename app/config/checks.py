"""The checks a structured config must pass before any bar is read; each system resolved to its spec."""

from __future__ import annotations

import importlib.util
import re
import zoneinfo
from collections.abc import Collection
from typing import Any

import attrs
import pandas as pd

from multifolio.config.book import resolve_book
from multifolio.config.model import (
    BENCHMARK_FIGURES,
    EXECUTORS,
    FILE_PATH,
    ON_INVALID,
    TIMESTAMPS,
    BacktestConfig,
    DataConfig,
    ExecutionEngineConfig,
)
from multifolio.config.registry import PluginKind, PluginRegistry
from multifolio.config.search import OPTUNA
from multifolio.config.spec import (
    CONTROLLED,
    SystemSpec,
)
from multifolio.config.systems import resolve_system
from multifolio.config.window import parse_window
from multifolio.errors import PLUGIN_FAULTS, ConfigError, did_you_mean

_SCHEDULER_ADDRESS = re.compile(r"([a-z][a-z0-9+]*://)?[^\s/]+:\d+/?")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
MAX_WORKERS = 256  # processes or Dask workers multifolio starts for one run
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

"""The Python API: `multifolio.run(config)` → a `Result` of DataFrames, files written only when asked.

The command line is a thin layer over it: `multifolio run FILE` is `load(FILE).run(output_dir=...)` with a
progress bar and a table. A config is a file's path, YAML text or a dict; its problems are raised as
`ConfigErrors` (each with its key path), never printed.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console

from multifolio.config.loading import config_folder
from multifolio.config.registry import PluginKind, PluginRegistry, given_plugins
from multifolio.config.sweep_points import describe_sweeps
from multifolio.config.yamlio import parse_yaml, read_yaml
from multifolio.data.given import frames_source, given_bars
from multifolio.errors import ConfigError, ConfigErrors
from multifolio.progress import run_progress
from multifolio.results import Result
from multifolio.running.engine import ProgressCallback, StopRequest
from multifolio.running.executors import with_executor
from multifolio.running.executors.processes import check_importable
from multifolio.running.plan import describe_plan
from multifolio.running.run import WriteProgress, run_backtest, validate_document
from multifolio.wording import counted

__all__ = ["Backtest", "load", "run"]

GIVEN_DATA = "dataframe"  # the data source of a run given `data=`: the frames handed over
_CONFIG_SUFFIXES = (".yaml", ".yml", ".json")

Progress = bool | ProgressCallback | None


class Backtest:
    """A config checked and ready to run (plugins found, data source built): `run()` it, or read its `plan()`.

    Each `run()` is a new run: fresh systems on the bars, as the command line's.
    """

    def __init__(self, config: Any, registry: PluginRegistry) -> None:
        self.config = config  # the checked multifolio.config.model.BacktestConfig
        self.registry = registry

    @property
    def name(self) -> str:
        """The workflow's name, as the progress bar and the table title show it."""
        return self.config.workflow.name

    @property
    def systems(self) -> list[str]:
        """The systems' names in config order (a sweep's points expanded)."""
        return [system.name for system in self.config.systems]

    def plan(self, output_dir: str | Path | None = None) -> list[str]:
        """What a run would do, line by line, as `multifolio validate` prints it: the sweeps expanded, the data
        (loaded and checked), the book and each system."""
        return [*describe_sweeps(self.config.systems), *describe_plan(self.config, self.registry, output_dir)]

    def run(self, *, output_dir: str | Path | None = None, progress: Progress = None,
            stop_requested: StopRequest | None = None, keep_tables: bool = True) -> Result:
        """Step every system over the data. With `output_dir`, the run's folder is written there, exactly as
        the command line writes it; without, nothing is written (`Result.write` writes it later).
        `keep_tables=False` (with `output_dir`; the command line's way): each system's trades and orders are let
        go once its folder is written, so that a sweep of many busy systems holds one system's tables at a time;
        the result then reads them from nowhere (its folder has them) but keeps every figure. On the serial
        executor such a run steps its systems in passes (8 systems at a million bars; not with a book, an optuna
        search or a walk-forward study), each pass's folders written before the next pass steps.

        `progress`: True for a progress display on stderr (in a notebook too): the bars stepped, then the
        results written; or a callable given (done, total) as the bars are stepped.
        `stop_requested`: asked at bar boundaries; True ends every system there, marked interrupted.
        """
        with _reporting(progress, self) as (report, writing):
            outcome = run_backtest(self.config, self.registry, output_dir=output_dir, write=output_dir is not None,
                                   progress=report, stop_requested=stop_requested, writing=writing,
                                   keep_tables=keep_tables or output_dir is None)
        return Result(outcome)

    def __repr__(self) -> str:
        return f"<multifolio.Backtest {self.name!r}: {counted(len(self.config.systems), 'system')}>"


def load(config: str | Path | Mapping[str, Any], *, data: Any = None,
         plugins: Mapping[str, Mapping[str, type]] | None = None, executor: str | None = None,
         workers: int | None = None, address: str | None = None) -> Backtest:
    """`config` (a path, YAML text or a dict) checked, as `multifolio validate` checks a file.

    `data`: a DataFrame of bars (long form with a symbol column, or one symbol's bars when the config lists one
    symbol) or a dict of symbol → DataFrame, used instead of the config's data source; the config's
    `data.symbols` then selects symbols (every symbol given, when it lists none) and `data.on_invalid`,
    `data.max_dropped`, `data.timezone` and `data.date_format` apply. `plugins`: kind → name → class, e.g. `{"strategies": {"mine": MyStrategy}}`, used
    by name in the config like installed plugins. `executor`, `workers`, `address` override the config's
    `execution_engine`, as the command line's options do.
    """
    document, source, folder = _document(config)
    given = _checked(lambda: given_plugins(plugins), source)
    if data is not None:
        document = dict(document)
        section = document.get("data") if isinstance(document.get("data"), Mapping) else {}
        listed = section.get("symbols") if isinstance(section.get("symbols"), list) else ()
        bars, symbols = _checked(lambda: given_bars(data, [str(symbol) for symbol in listed]), source)
        document["data"] = {"source": GIVEN_DATA, "symbols": symbols,
                            **{key: section[key] for key in _READING_KEYS if key in section}}
        given.setdefault(PluginKind.DATA_SOURCE, {})[GIVEN_DATA] = frames_source(bars)
    registry = _checked(lambda: PluginRegistry(given=given), source)
    checked = validate_document(document, registry, source, "" if data is not None else folder)
    if executor is not None or workers is not None or address is not None:
        checked = with_executor(checked, type=executor, workers=workers, address=address)
    if checked.execution_engine.type == "processes":  # said now, not once the workers have started
        _checked(lambda: check_importable(given), source)
    return Backtest(checked, registry)


def run(config: str | Path | Mapping[str, Any], *, data: Any = None,
        plugins: Mapping[str, Mapping[str, type]] | None = None, output_dir: str | Path | None = None,
        progress: Progress = None, executor: str | None = None, workers: int | None = None,
        address: str | None = None) -> Result:
    """Run the backtest `config` describes and return its `Result`; see `load` and `Backtest.run`.

    >>> result = multifolio.run("configs/dual_portfolio_backtest.yaml")
    >>> result.summary                       # the figures side by side
    >>> result.systems["momentum"].trades    # a DataFrame
    """
    backtest = load(config, data=data, plugins=plugins, executor=executor, workers=workers, address=address)
    return backtest.run(output_dir=output_dir, progress=progress)


# the `data` keys about how bars are read, which apply to bars given as DataFrames too
_READING_KEYS = ("on_invalid", "max_dropped", "timezone", "date_format", "start", "end", "warmup", "timestamps")


def _document(config: Any) -> tuple[Any, str, str]:
    """The parsed document, where it came from (for messages) and the folder its relative data paths are
    read from: a config file's own; empty (the working directory) for a dict or YAML text."""
    if isinstance(config, Mapping):
        return copy.deepcopy(dict(config)), "the config given as a dict", ""
    if isinstance(config, Path):
        return _checked(lambda: read_yaml(config), str(config)), str(config), config_folder(config)
    if isinstance(config, str):
        single_line = "\n" not in config
        if single_line and (config.strip().endswith(_CONFIG_SUFFIXES) or Path(config).is_file()):
            return _checked(lambda: read_yaml(config), config), config, config_folder(config)
        return _checked(lambda: parse_yaml(config, "<config text>"), "the config given as YAML text"), \
            "the config given as YAML text", ""
    raise ConfigErrors([ConfigError("", f"expected a config file's path, YAML text or a dict, found a "
                                        f"{type(config).__name__}")], "multifolio.run")


def _checked(make: Callable[[], Any], source: str) -> Any:
    """What `make` returns; its ConfigError raised as ConfigErrors, as every config problem is."""
    try:
        return make()
    except ConfigError as error:
        raise ConfigErrors([error], source) from None


@contextmanager
def _reporting(progress: Progress, backtest: Backtest
               ) -> Iterator[tuple[ProgressCallback | None, WriteProgress | None]]:
    """The callbacks `progress` asks for, of the bars stepped and of the results written: the display on
    stderr for True (the command line's own), the caller's callable for the bars, or none."""
    if progress is True:
        unit = "bars" if backtest.config.execution_engine.type == "serial" else "systems"  # workers report systems
        with run_progress(backtest.name, Console(stderr=True), unit) as display:
            yield display.advance, display.writing
    else:
        yield progress or None, None

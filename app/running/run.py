"""One backtest run from a config to its result files: the composition root.

This is where the layers meet: the config's checks with the reports' catalogue (which
figures can rank a sweep), the containers that build the run, the executor that steps
it, and the reports that write it. The CLI reaches containers and reports only through
here.
"""

from __future__ import annotations

import gc
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import attrs
import pandas as pd
from attrs import frozen
from dependency_injector import providers

from multifolio.config import loading
from multifolio.config.model import BacktestConfig
from multifolio.config.registry import PluginRegistry
from multifolio.config.spec import SystemSpec
from multifolio.config.window import DataWindow
from multifolio.containers.backtest import BacktestContainer
from multifolio.data.market import MarketData
from multifolio.data.timeframes import timeframe_errors
from multifolio.errors import ConfigErrors, MultifolioError
from multifolio.files import atomic_write_text
from multifolio.memory import freed_memory_handed_back, hand_back_freed_memory
from multifolio.reports.benchmark import benchmark_closes
from multifolio.reports.catalogue import FIGURES, LOWER, RANKING_FIGURES, TABLE_FIGURES, Figure
from multifolio.reports.combined import CombinedBook
from multifolio.reports.html import combined_page_parts, render_run, render_system
from multifolio.reports.book_fills import fills_read
from multifolio.reports.overfitting import describe_overfitting
from multifolio.reports.writers import (
    indicator_frame,
    performance,
    summarize,
    write_bars,
    write_failed_system,
    write_summary,
    write_system,
)
from multifolio.running.engine import ProgressCallback, StopRequest
from multifolio.running.executors import start_executor
from multifolio.running.executors.chunks import systems_per_pass
from multifolio.running.folder import RunFolder
from multifolio.running.manifest import COMPLETED, INTERRUPTED, RunManifest, run_status
from multifolio.running.search import optuna_entries, run_with_searches
from multifolio.running.walk_forward import run_walk_forwards, studied
from multifolio.trading.system import SystemResult, failed_before_start

# told as each part of the writing starts: (parts done, parts in all, the part now written: "" once all are).
# The first call, while the figures are computed, does not know the count yet: (0, None, "figures"); a run stepped
# in passes knows it, and tells each pass's figures as they are computed.
WriteProgress = Callable[[int, "int | None", str], None]
# during a run, the collector's passes over the youngest generation per pass over the middle one, and over the
# middle one per pass over the oldest (Python's defaults: 10 and 10)
_YOUNG_PER_MIDDLE, _MIDDLE_PER_FULL = 50, 100
FIGURES_PART, REPORTS_PART, SUMMARY_PART, BARS_PART = "figures", "reports", "combined_summary.json", "bars.parquet"
NOT_STEPPED = "the run was interrupted before this system's pass began: it was never stepped"
Part = tuple[str, Callable[[], object]]  # a part of the writing: its name as told, and what writes it


@frozen
class RunOutcome:
    """What a finished run produced, in memory: the results, their figures and summary, and what the files and
    the manifest say of the data. `folder` is where the files are, None until they are written."""

    config: BacktestConfig
    registry: PluginRegistry
    market: MarketData
    data: DataRecord
    results: list[SystemResult]
    metrics: dict[str, dict[str, Any]]  # system name → performance figures (systems that did not fail)
    summary: dict[str, Any] | None  # combined_summary.json's content (None without `combined_summary`)
    combined: CombinedBook | None  # combined_equity.csv's content, as `summary`
    status: str  # completed, interrupted or failed (some system failed), as in manifest.json
    folder: Path | None = None


@frozen
class DataRecord:
    """What the manifest says of the run's data: the source's one line and the files read."""

    description: str
    files: tuple[Path, ...]


__all__ = [
    "FIGURES",
    "RANKING_FIGURES",
    "TABLE_FIGURES",
    "Figure",
    "RunOutcome",
    "WriteProgress",
    "describe_overfitting",
    "load_config",
    "render_run",
    "run_backtest",
    "validate_document",
    "write_run",
]


def load_config(path: str | Path, registry: PluginRegistry) -> BacktestConfig:
    """A config file read and checked for a run (ConfigErrors lists every problem)."""
    return loading.load_config(path, registry, figures=RANKING_FIGURES)


def validate_document(document: Any, registry: PluginRegistry, source: str = "", folder: str = "") -> BacktestConfig:
    """A parsed document (a dict built in code, say) checked for a run; `folder`: where its relative data
    paths are read from (a config file's own folder; empty: the working directory)."""
    return loading.validate_document(document, registry, source, figures=RANKING_FIGURES, folder=folder)


def build_container(config: BacktestConfig, registry: PluginRegistry) -> BacktestContainer:
    """A new root container for `config` (never reuse one across runs); the config must be checked."""
    if len(config.systems) != len(config.trading_systems):  # a structured model has no specs yet
        raise MultifolioError("the config has not been checked: pass it through load_config or "
                              "validate_document, which resolve its systems")
    return BacktestContainer(data_spec=providers.Object(config.data), plugins=providers.Object(registry))


def run_folder(config: BacktestConfig, output_dir: str | Path | None) -> Path:
    """Where the run's folder goes: `<output_dir>/<run name>`. The run writes in a staging folder of its own
    beside it and swaps it in at the end (multifolio.running.folder); system names are checked safe as
    folder names, so nothing it writes can land outside."""
    return Path(output_dir if output_dir is not None else config.reporting.output_dir) / config.run_name


def run_backtest(config: BacktestConfig, registry: PluginRegistry, *, output_dir: str | Path | None = None,
                 write: bool = True, progress: ProgressCallback | None = None,
                 stop_requested: StopRequest | None = None, writing: WriteProgress | None = None,
                 keep_tables: bool = True) -> RunOutcome:
    """Run every system of `config` over its data; with `write`, write the results to the run's folder in
    `output_dir` (else `reporting.output_dir`). Without `keep_tables` (the command line's run, which reads
    nothing back), a system's trades and orders are let go as soon as its folder is written, and the summary is
    worked out after the last one (`write_results`): a sweep of a thousand busy systems never holds every
    system's tables at once.

    The data is loaded and checked first (a parallel executor's workers start
    meanwhile); then the run folder and its manifest are written, so an unwritable
    folder stops the run before its first bar. Every file is written atomically;
    the manifest says `completed` only once all of them are. `writing` is told each part written after
    the last bar (see `WriteProgress`).
    """
    root = build_container(config, registry)
    with ExitStack() as claim:  # the run folder, swapped in when the run ends however it ends
        claim.enter_context(fewer_full_collections())
        with start_executor(config.execution_engine, len(config.systems), registry) as execute:  # workers start
            market = checked_timeframes(config, root.data.market())
            source = root.data.source()
            data = DataRecord(source.describe(), tuple(Path(path) for path in source.files()))
            run = partial(_run_systems, execute, root, config, market, stop_requested)
            if not write:
                results, stopped, ranked = run(config.systems, progress)
            else:
                folder = run_folder(config, output_dir)
                staging, manifest = _claimed(claim, folder, config, registry, market, data)
                bars_written = _bars_written_meanwhile(claim, config, market, staging)
                batches = passes(config, len(market), keep_tables)
                if len(batches) > 1 or (written_as_stepped(config, keep_tables)
                                        and config.execution_engine.type != "serial"):
                    # written pass by pass (the serial executor), or chunk by chunk as the workers hand them back
                    outcome = _write_outcome(partial(_written_as_stepped, run, config, registry, market, data,
                                                     batches, staging, writing, progress, stop_requested,
                                                     bars_written), staging, folder, manifest)
                    return attrs.evolve(outcome, folder=folder)
                with _failing_the_manifest(manifest, staging, folder):
                    results, stopped, ranked = run(config.systems, progress)
        if not write:  # the workers are stopped: the figures need only this process
            return outcome_of(config, registry, market, data, results, stopped, ranked)
        with _failing_the_manifest(manifest, staging, folder), freed_memory_handed_back():
            if writing is not None:
                writing(0, None, FIGURES_PART)
            outcome = outcome_of(config, registry, market, data, results, stopped, ranked, summarized=keep_tables)
        del results  # the outcome holds them now: without `keep_tables` it lets their tables go as it writes them
        outcome = _write_outcome(partial(write_results, outcome, staging, writing, keep_tables, bars_written),
                                 staging, folder, manifest)
    return attrs.evolve(outcome, folder=folder)


def _bars_written_meanwhile(claim: ExitStack, config: BacktestConfig, market: MarketData, folder: Path
                            ) -> Callable[[], object] | None:
    """bars.parquet written to `folder` on a thread of its own from now on, while the systems step: pyarrow encodes
    it without the interpreter's lock, so on a second core it takes nothing from the run. Returned: what waits for it
    to be written (and raises what its writing raised); None for a run that writes no bars (no separate reports).
    However the run ends, the thread is waited for as `claim` closes, before the run folder is swapped in."""
    if not config.reporting.separate_reports:
        return None
    writer = claim.enter_context(ThreadPoolExecutor(max_workers=1, thread_name_prefix="multifolio-bars"))
    return writer.submit(write_bars, market.frame(), folder).result


@contextmanager
def fewer_full_collections() -> Iterator[None]:
    """While a run goes on, Python's cycle collector passes over its older generations less often, and never
    over what was alive before the run began (frozen, then thawed once the run ends); as it was once the run
    ends.

    A run keeps what it makes (orders, trades, the order log's rows: tens of thousands a busy system), so
    the collector's full passes, each over every object of the process (pandas, plotly, a notebook's whole
    session: some 70 ms), find nothing to free, and by default a busy system calls for several. Young
    objects are collected as often as before (0.34 s to 0.12 s of collecting in the 1M-bar benchmark), and
    a full pass over the run's own objects costs a few ms (`_run_systems` makes one).
    """
    thresholds = gc.get_threshold()
    gc.set_threshold(thresholds[0], max(thresholds[1], _YOUNG_PER_MIDDLE), max(thresholds[2], _MIDDLE_PER_FULL))
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def write_run(outcome: RunOutcome, output_dir: str | Path) -> Path:
    """Write a run kept in memory to its folder in `output_dir`: the files `run_backtest` writes, the manifest
    included (its times are those of the writing)."""
    let_go = [result.name for result in outcome.results if result.tables_let_go]
    if let_go:
        raise MultifolioError(f"the run let the tables of {', '.join(let_go)} go once it had written them: its "
                              "folder is the record of it (run with the tables kept to write it elsewhere)")
    folder = run_folder(outcome.config, output_dir)
    with ExitStack() as claim:
        staging, manifest = _claimed(claim, folder, outcome.config, outcome.registry, outcome.market, outcome.data)
        _write_outcome(partial(write_results, outcome, staging), staging, folder, manifest)
    return folder


def _run_systems(execute: Any, root: BacktestContainer, config: BacktestConfig, market: MarketData,
                 stop_requested: StopRequest | None, specs: Sequence[SystemSpec], progress: ProgressCallback | None,
                 **executing: Any) -> tuple[list[SystemResult], bool, dict[str, dict[str, Any]]]:
    """The systems of `specs` run by `execute`; an optuna search's, batch by batch, ranked by `reporting.sweep_metric`
    (multifolio.running.search). The flag: a stop request ended a search between batches. The figures: those a
    search computed to rank its systems, by system name, so that the run's figures are not computed twice.
    `executing`: passed on to `execute` (a parallel executor's `arrived`)."""
    metric, symbol = config.reporting.sweep_metric, config.reporting.benchmark
    closes = None if symbol is None else benchmark_closes(market, symbol)
    ranked: dict[str, dict[str, Any]] = {}

    def score(result: SystemResult) -> Any:
        ranked[result.name] = performance(result, closes)
        return ranked[result.name].get(metric)

    results, stopped = run_with_searches(execute, specs, score, FIGURES[metric].better != LOWER,
                                         stop_requested, book=config.book, root=root, progress=progress,
                                         **executing)
    # the ended systems' live parts (each bus with its receivers, the ledgers and order logs they fed: cycles that
    # only a full pass frees) let go now, not as the run ends, and handed back with what their stepping freed: about
    # 15 MB a system at a million bars, before the figures and files
    gc.collect()
    hand_back_freed_memory()
    return results, stopped, ranked


def outcome_of(config: BacktestConfig, registry: PluginRegistry, market: MarketData, data: DataRecord,
               results: list[SystemResult], stopped: bool = False,
               ranked: Mapping[str, dict[str, Any]] | None = None, summarized: bool = True) -> RunOutcome:
    """The run's figures and summary, computed once for the caller and for the files; first, the stitched
    system of each walk-forward study, traded on its test windows (it joins `results`). `stopped`: a stop
    request ended a search early, so the run is interrupted though each system it ran finished. `ranked`: the
    figures of the systems a search has computed already (by name). Without `summarized` the summary is left
    for `write_results` to work out once the systems' folders are written."""
    symbol = config.reporting.benchmark
    closes = None if symbol is None else benchmark_closes(market, symbol)
    if not stopped:
        results = [*results, *run_walk_forwards(config, registry, market, results, closes)]
    ranked = ranked or {}
    # each system's equity frame drawn once at most, let go once its figures are computed
    metrics = {result.name: performance(result, closes) if result.name not in ranked else ranked[result.name]
               for result in results if result.status != "failed"}
    outcome = RunOutcome(config=config, registry=registry, market=market, data=data, results=results,
                         metrics=metrics, summary=None, combined=None,
                         status=_status(results, stopped))
    return _summarized(outcome) if summarized and _summary_due(outcome) else outcome


def _status(results: list[SystemResult], stopped: bool) -> str:
    """The run's status from its systems' (`run_status`), `interrupted` when a stop request ended it though every
    system it ran finished."""
    status = run_status(results)
    return INTERRUPTED if stopped and status == COMPLETED else status


def _summary_due(outcome: RunOutcome) -> bool:
    """Whether the run has a summary still to work out (asked for, some system reported, none made yet)."""
    return (outcome.summary is None and outcome.config.reporting.combined_summary
            and any(result.status != "failed" for result in outcome.results))


def _summarized(outcome: RunOutcome) -> RunOutcome:
    """`outcome` with its summary and combined book, from the systems that did not fail."""
    config, symbol = outcome.config, outcome.config.reporting.benchmark
    benchmark = None if symbol is None else (symbol, benchmark_closes(outcome.market, symbol))
    summary, combined = summarize(config.run_name, [result for result in outcome.results if result.status != "failed"],
                                  outcome.metrics, config.reporting.sweep_metric, benchmark)
    return attrs.evolve(outcome, summary=summary, combined=combined)


def _claimed(claim: ExitStack, folder: Path, config: BacktestConfig, registry: PluginRegistry, market: MarketData,
             data: DataRecord) -> tuple[Path, RunManifest]:
    """The run folder claimed (its staging folder, swapped in when `claim` closes) and its manifest begun."""
    try:
        staging = claim.enter_context(RunFolder(folder))
        manifest = RunManifest(staging, config, registry)
        manifest.data_loaded(data.description, data.files, len(market), market.dropped, market.reversed_files,
                             _window_record(config.data.window, market), _zone(market))
    except OSError as error:
        raise MultifolioError(f"cannot write to the output folder {folder}: {error.strerror or error}; "
                              "choose another with --output-dir or reporting.output_dir") from None
    return staging, manifest


def _write_outcome(write: Callable[[], RunOutcome], staging: Path, folder: Path, manifest: RunManifest
                   ) -> RunOutcome:
    """The outcome `write` writes to `staging` (and returns), then the manifest's end."""
    try:
        with _failing_the_manifest(manifest, staging, folder):
            outcome = write()
            manifest.finished(outcome.results, outcome.status)
            return outcome
    except OSError as error:
        manifest.failed(f"writing results failed: {error}")
        raise MultifolioError(f"writing the results to {folder} failed: {error.strerror or error}; the files "
                              "written are complete, but manifest.json does not say completed") from None


@contextmanager
def _failing_the_manifest(manifest: RunManifest, staging: Path, folder: Path) -> Iterator[None]:
    """A bug of multifolio's own (not a plugin's: those fail their system) marks the run failed and leaves
    its traceback in the run folder's crash.log; the error goes on up, carrying where that file will be
    once the run folder is swapped in (`crash_log`)."""
    try:
        yield
    except (MultifolioError, OSError):
        raise
    except Exception as error:
        manifest.failed(f"multifolio failed: {type(error).__name__}: {error}")
        try:
            atomic_write_text(staging / "crash.log", traceback.format_exc())
            error.crash_log = folder / "crash.log"
        except OSError:
            pass
        raise


def write_results(outcome: RunOutcome, folder: Path, writing: WriteProgress | None = None,
                  keep_tables: bool = True, bars_written: Callable[[], object] | None = None) -> RunOutcome:
    """Each system's folder (a failed one's says where it failed), the combined summary, the reports;
    `writing` is told as each part starts (a system's folder is named `<system>/`) and once all are done.
    Without `keep_tables`, each system's trades and orders are let go once its folder is written (`tables_let_go`:
    `outcome.results` is changed in place), and a summary `outcome` left to work out is worked out then, from what
    is left. `bars_written`: what waits for bars.parquet, written meanwhile (`_bars_written_meanwhile`); None: it
    is written here. The outcome as the writing leaves it: with its summary."""
    parts: list[Part] = []
    if outcome.config.reporting.separate_reports:
        bars = outcome.market.frame()  # only the systems' pages show them
        parts.append((BARS_PART, bars_written or (lambda: write_bars(bars, folder))))
        parts += [(f"{result.name}/", partial(_write_system, outcome, number, folder, bars, keep_tables))
                  for number, result in enumerate(outcome.results)]
    closing = _Closing(outcome, folder)
    parts += closing.parts()
    told = _Told(writing, len(parts))
    for part, write in parts:
        told.write(part, write)
    told.end()
    return closing.outcome


def written_as_stepped(config: BacktestConfig, keep_tables: bool = False) -> bool:
    """Whether a run that writes its folder writes its systems' folders as they are stepped, a part of them at a
    time: a run that keeps no tables and whose systems nothing couples once stepped (no book, no optuna search: it
    runs its own batches, no walk-forward study: its stitched system is cut from its windows' tables)."""
    systems = list(config.systems)
    coupled = config.book is not None or optuna_entries(systems) or any(studied(spec) for spec in systems)
    return not keep_tables and not coupled


def passes(config: BacktestConfig, bars: int, keep_tables: bool = False) -> list[list[SystemSpec]]:
    """The run's systems in the passes a run that writes its folder steps them in: all in one pass, but for a run
    `written_as_stepped` on the serial executor, `SYSTEM_BARS_PER_PASS` bars × systems a pass (a parallel one hands
    its chunks back as they end, each of at most as many)."""
    systems = list(config.systems)
    if not written_as_stepped(config, keep_tables) or config.execution_engine.type != "serial":
        return [systems]
    size = systems_per_pass(bars)
    return [systems[first:first + size] for first in range(0, len(systems), size)]


def _written_as_stepped(run: Callable[..., tuple[list[SystemResult], bool, Any]], config: BacktestConfig,
                        registry: PluginRegistry, market: MarketData, data: DataRecord,
                        batches: list[list[SystemSpec]], folder: Path, writing: WriteProgress | None,
                        progress: ProgressCallback | None, stop_requested: StopRequest | None,
                        bars_written: Callable[[], object] | None) -> RunOutcome:
    """The run's systems stepped by `run` and written a part at a time, each part's figures computed and its systems'
    folders written, their tables let go, before the next; then the summary and the reports, as `write_results`
    writes them. On the serial executor the parts are `batches` (`passes`), stepped one after the other, and
    `progress` is told the bars every system has stepped, on average; a stop request ends the pass it comes in as it
    ends a run, and the systems of the passes after it are never stepped: they fail before their first bar (as a
    parallel executor's chunks that never ran). On a parallel executor the parts are its chunks, written as the
    workers hand them back while the others go on. `bars_written`: what waits for bars.parquet, written meanwhile
    (None without separate reports)."""
    writer = _PartWriter(config, registry, market, data, folder, writing, bars_written)
    if config.execution_engine.type != "serial":
        def arrived(ran: list[SystemResult]) -> list[SystemResult]:
            kept = writer.written(ran)
            # what the chunk brought and the writing let go (cycles among the frames unpickled), collected now, as
            # a serial pass's ended systems are, not when the run ends
            gc.collect()
            hand_back_freed_memory()
            return kept

        results, stopped, _ = run(config.systems, progress, arrived=arrived)
        return writer.closed(results, _status(results, stopped))
    results: list[SystemResult] = []
    stepped, count = 0, len(config.systems)
    for specs in batches:
        if writer.stopped:
            ran = [failed_before_start(spec, market, NOT_STEPPED, "the run was interrupted") for spec in specs]
        else:
            ran, _, _ = run(specs, _pass_progress(progress, stepped, len(specs), count))
            stepped += len(specs)
        results += writer.written(ran)
        writer.stopped = writer.stopped or (stop_requested is not None and stop_requested())
    stepped_ones = [result for result in results if result.error != NOT_STEPPED]
    return writer.closed(results, _status(stepped_ones, writer.stopped))


class _PartWriter:
    """A run's systems written a part at a time as they are stepped (`_written_as_stepped`)."""

    def __init__(self, config: BacktestConfig, registry: PluginRegistry, market: MarketData, data: DataRecord,
                 folder: Path, writing: WriteProgress | None, bars_written: Callable[[], object] | None) -> None:
        self.config, self.registry, self.market, self.data, self.folder = config, registry, market, data, folder
        self._bars_written = bars_written  # waited for with the first part, then None
        self.separate = config.reporting.separate_reports
        count = len(config.systems)
        self.told = _Told(writing, (1 + count if self.separate else 0) + bool(config.reporting.combined_summary) + 1)
        self.metrics: dict[str, dict[str, Any]] = {}
        self.stopped = False

    def written(self, ran: list[SystemResult]) -> list[SystemResult]:
        """`ran`'s figures computed and folders written; what the summary needs of them, their tables let go (`ran`
        is emptied: its caller holds none of the results let go)."""
        if any(result.error != NOT_STEPPED for result in ran):
            self.told.tell(FIGURES_PART)
        with freed_memory_handed_back():
            part = outcome_of(self.config, self.registry, self.market, self.data, list(ran), summarized=False)
        ran.clear()  # the part's outcome holds them: it lets their tables go as it writes them
        self.metrics.update(part.metrics)
        self.stopped = self.stopped or any(result.status == INTERRUPTED for result in part.results)
        if self.separate:
            bars = self.market.frame()  # only the systems' pages show them
            if self._bars_written is not None:
                self.told.write(BARS_PART, self._bars_written)
                self._bars_written = None
            for number, result in enumerate(part.results):
                self.told.write(f"{result.name}/", partial(_write_system, part, number, self.folder, bars, False))
            del bars
        return [tables_let_go(result) for result in part.results]

    def closed(self, results: list[SystemResult], status: str) -> RunOutcome:
        """The run's outcome once every part is written: its summary and reports written too."""
        outcome = RunOutcome(config=self.config, registry=self.registry, market=self.market, data=self.data,
                             results=results, metrics=self.metrics, summary=None, combined=None, status=status)
        closing = _Closing(outcome, self.folder)
        for part, write in closing.parts():
            self.told.write(part, write)
        self.told.end()
        return closing.outcome


def _pass_progress(progress: ProgressCallback | None, before: int, size: int, count: int
                   ) -> ProgressCallback | None:
    """A pass's progress (the bars its `size` systems have stepped, after `before` systems of `count` stepped every
    bar) told as the bars every system has stepped, on average."""
    if progress is None:
        return None
    return lambda done, total: progress((before * total + size * done) / count, total)


class _Told:
    """A run's writing part by part, each part told to `writing` as it starts (`WriteProgress`) and what it
    freed handed back before the next allocates its own."""

    def __init__(self, writing: WriteProgress | None, total: int) -> None:
        self._writing, self.total, self.done = writing, total, 0

    def tell(self, part: str) -> None:
        if self._writing is not None:
            self._writing(self.done, self.total, part)

    def write(self, part: str, write: Callable[[], object]) -> None:
        self.tell(part)
        with freed_memory_handed_back():
            write()
        self.done += 1

    def end(self) -> None:
        """Every part written (a summary counted on but not due, with every system failed, is not)."""
        self.total = self.done
        self.tell("")


class _Closing:
    """The last parts of a run's writing: the summary (worked out then, if `outcome` has it still to do) and the
    reports, from the files written but for the combined equity the page draws, drawn from memory."""

    def __init__(self, outcome: RunOutcome, folder: Path) -> None:
        self.outcome, self._folder = outcome, folder

    def parts(self) -> list[Part]:
        summary = [(SUMMARY_PART, self._summary)] if self.outcome.summary is not None or _summary_due(self.outcome) \
            else []
        return [*summary, (REPORTS_PART, self._reports)]

    def _summary(self) -> None:
        if _summary_due(self.outcome):
            self.outcome = _summarized(self.outcome)
        write_summary(self.outcome.summary, self.outcome.combined,
                      [result for result in self.outcome.results if result.status != "failed"], self._folder)

    def _reports(self) -> None:
        render_run(self._folder, _combined_page_frame(self.outcome), systems=False)


def tables_let_go(result: SystemResult) -> SystemResult:
    """`result` once its folder is written, with no more of its tables than the summary reads: no trades, and of
    its orders the filled ones' fills (opposing positions). A failed system's tables are empty already."""
    if result.status == "failed" or result.tables_let_go:
        return result
    # new arrays: a slice or a selection of columns would be a view of the table's blocks, which hold every column
    return attrs.evolve(result, trades=result.trades.iloc[:0].copy(), orders=fills_read(result.orders),
                        tables_let_go=True)


def _write_system(outcome: RunOutcome, number: int, folder: Path, bars: pd.DataFrame, keep_tables: bool) -> None:
    """The folder and the page of `outcome`'s system `number`, its page drawn from its files as `multifolio report`
    draws it but for its largest frames, the ones just written (the equity: 32 MB at a million bars; the
    indicators), let go before the next system's. Without `keep_tables` the system's tables are let go then
    (`outcome.results` changed in place: whoever holds the outcome holds no more than the lean result)."""
    result = outcome.results[number]
    if result.status == "failed":
        write_failed_system(result, folder / result.name)
        return
    equity, indicators = result.equity, indicator_frame(result, outcome.market)
    write_system(result, folder / result.name, outcome.metrics[result.name], outcome.market, equity, indicators)
    del equity["cash"], equity["position_value"]  # equity.csv's alone: 16 MB a million bars, let go before the page
    render_system(folder / result.name, bars, outcome.config.reporting.standalone, _zone(outcome.market), equity,
                  indicators)
    if not keep_tables:
        outcome.results[number] = tables_let_go(result)


def _combined_page_frame(outcome: RunOutcome) -> pd.DataFrame | None:
    """The columns of combined_equity.csv that the combined page draws (None without a summary)."""
    return None if outcome.combined is None else outcome.combined.frame(combined_page_parts(outcome.summary))


def _zone(market: MarketData) -> str | None:
    """The bars' time zone as the manifest names it (None: naive)."""
    zone = market.timestamps.tz
    return None if zone is None else str(zone)


def _window_record(window: DataWindow | None, market: MarketData) -> dict[str, Any] | None:
    """The manifest's `data.window`: the bounds written, the bars traded and the warm-up read before them."""
    if window is None:
        return None
    return {"start": _iso(window.start), "end": _iso(window.end), "end_whole_day": window.end_whole_day,
            "warmup": None if window.warmup is None else window.warmup.describe(),
            "first_traded": _iso(market.timestamps[0]), "last_traded": _iso(market.timestamps[-1]),
            "warmup_bars": market.warmup.bars, "warmup_first": _iso(market.warmup.first)}


def _iso(moment: pd.Timestamp | None) -> str | None:
    return None if moment is None else moment.isoformat()


def checked_timeframes(config: BacktestConfig, market: MarketData) -> MarketData:
    """The market, once every system's higher timeframes are above its symbols' bar spacing (ConfigErrors)."""
    errors = timeframe_errors(config.systems, market)
    if errors:
        raise ConfigErrors(errors)
    return market

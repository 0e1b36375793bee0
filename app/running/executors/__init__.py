"""Executors: a run's systems stepped in the calling process, on local worker processes or on Dask.

`serial` (`run_systems`) steps every system together in the calling process. The
parallel executors split the systems into chunks and send each chunk's specs
(never live containers) to a worker, and the caller's checked bars once to every
worker: a worker builds its own BacktestContainer on them and keeps it for the run, so
the bars are loaded and checked once, by the caller, and indicators shared by systems
on one worker are computed once there. A system's results depend on nothing but its
own spec and the bars, so every executor writes the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import attrs

from multifolio.config.book import BookSpec
from multifolio.config.checks import check_execution_engine
from multifolio.config.model import BacktestConfig, ExecutionEngineConfig
from multifolio.config.registry import PluginRegistry
from multifolio.config.spec import SystemSpec
from multifolio.containers.backtest import BacktestContainer
from multifolio.errors import ConfigErrors
from multifolio.running.engine import ProgressCallback, StopRequest
from multifolio.running.executors.chunks import Arrived, WorkerSetup, run_chunks
from multifolio.running.executors.dask import on_dask
from multifolio.running.executors.processes import on_processes
from multifolio.running.executors.serial import run_containers, run_systems
from multifolio.trading.system import SystemResult

__all__ = ["Executor", "run_containers", "run_systems", "start_executor", "with_executor"]


# (root, specs, progress, stop_requested, book) → results; a parallel one also takes `arrived` (`run_chunks`)
Executor = Callable[..., list[SystemResult]]


@contextmanager
def start_executor(engine: ExecutionEngineConfig, systems: int, registry: PluginRegistry | None = None
                   ) -> Iterator[Executor]:
    """The executor `engine` names, for a run of `systems` systems. A parallel one starts its worker
    processes (or its LocalCluster) on entering, so they get ready while the caller loads the bars;
    leaving stops them. The executor steps `specs` over `root`'s bars; the workers' plugins are those
    `registry` was given in code beside the installed ones."""
    if engine.type == "serial":
        yield run_systems
        return
    backend = {"processes": on_processes, "dask": on_dask}[engine.type]
    with backend(engine, systems) as (slots, execute):
        def run_on_workers(root: BacktestContainer, specs: Sequence[SystemSpec],
                           progress: ProgressCallback | None = None, stop_requested: StopRequest | None = None,
                           book: BookSpec | None = None, arrived: Arrived | None = None) -> list[SystemResult]:
            setup = WorkerSetup.of(root.data.market(), registry or PluginRegistry())
            return run_chunks(execute, list(specs), slots(), setup, progress,
                              stop_requested or (lambda: False), book, arrived)

        yield run_on_workers


def with_executor(config: BacktestConfig, *, type: str | None = None, workers: int | None = None,
                  address: str | None = None) -> BacktestConfig:
    """`config` with the command line's --executor/--workers/--address over its `execution_engine`.

    `--address` alone means dask; switching to another executor drops the file's address.
    """
    engine = config.execution_engine
    type = type or ("dask" if address else engine.type)
    engine = attrs.evolve(engine, type=type, workers=workers if workers is not None else engine.workers,
                          address=address if address is not None else engine.address if type == "dask" else "")
    errors = check_execution_engine(engine)
    if errors:
        raise ConfigErrors(errors, "the config with --executor/--workers/--address")
    return attrs.evolve(config, execution_engine=engine)

"""The `processes` executor: local worker processes, each running one chunk at a time."""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from multifolio.config.model import ExecutionEngineConfig
from multifolio.config.registry import PluginKind
from multifolio.errors import ConfigError
from multifolio.running.engine import ProgressCallback, StopRequest
from multifolio.running.executors.chunks import (
    POLL,
    WORKER_DIED,
    Chunk,
    Execute,
    Outcome,
    RunningProgress,
    WorkerSetup,
    names,
    reason,
    worker_container,
)
from multifolio.running.executors.serial import run_systems


class _WorkerProcess:
    """One local worker process, running one chunk at a time; killing it touches nothing else."""

    DIED = "died"  # what `outcome` says of a process that ended without answering

    def __init__(self, context: Any, stop: Any) -> None:
        self.connection, theirs = context.Pipe()
        self.done = context.Value("d", 0.0, lock=False)  # the share of its chunk's bars done, written by it
        self.process = context.Process(target=_serve, args=(theirs, stop, self.done), daemon=True)
        with _stop_signals_ignored():  # from its first instruction: a Ctrl-C while it imports must not print its traceback
            self.process.start()
        theirs.close()

    def send(self, message: WorkerSetup | Chunk) -> None:
        """The run's bars and plugins first, then one chunk at a time (a send waits until the process reads)."""
        self.done.value = 0.0
        self.connection.send(message)

    def outcome(self) -> Outcome | None:
        """The running chunk's outcome once the process answered, DIED if it ended first, else None."""
        if self.connection.poll():
            try:
                return self.connection.recv()
            except (EOFError, OSError):
                return self.DIED  # it died while answering
        return None if self.process.is_alive() else self.DIED

    def stop(self) -> None:
        self.process.kill()
        self.process.join()
        self.connection.close()


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)  # Ctrl-C, and what `kill` and service managers send


@contextmanager
def _stop_signals_ignored() -> Iterator[None]:
    """SIGINT and SIGTERM ignored meanwhile: a process started now is born ignoring them (an ignored
    signal stays ignored across exec, and Python leaves it so)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set a handler; `_serve` ignores them once the worker runs
        return
    previous = [signal.signal(number, signal.SIG_IGN) for number in STOP_SIGNALS]
    try:
        yield
    finally:
        for number, handler in zip(STOP_SIGNALS, previous):
            signal.signal(number, handler)


def leave_stop_signals_to_the_caller() -> None:
    # Ctrl-C reaches every process of the terminal's group, and a service manager may signal the whole
    # group: only the calling process decides what they mean; it ends its workers itself
    for number in STOP_SIGNALS:
        signal.signal(number, signal.SIG_IGN)


def _serve(connection: Any, stop: Any, done: Any) -> None:
    """A worker process: the run's checked bars and plugins, then chunks in and outcomes out until the calling
    process hangs up; `stop` is the run's shared stop event, `done` the share of its chunk's bars done."""
    leave_stop_signals_to_the_caller()
    try:
        root = worker_container(connection.recv())
    except EOFError:
        return
    while True:
        try:
            chunk = connection.recv()
        except EOFError:
            return
        if isinstance(chunk, WorkerSetup):  # the next pass of the same run (an optuna search's next batch)
            root = worker_container(chunk)
            continue
        try:
            outcome: Outcome = run_systems(root, chunk.specs, _share_of_bars(done), stop.is_set, chunk.book)
        except Exception as error:
            outcome = reason(error)
        connection.send(outcome)


def check_importable(plugins: Mapping[PluginKind, Mapping[str, type]]) -> None:
    """A spawned worker finds a class by its module and name: one defined in a notebook, a script's `__main__`
    or a function cannot reach it (Dask pickles such classes by value and can)."""
    for kind, classes in plugins.items():
        for name, plugin in classes.items():
            if plugin.__module__ == "__main__" or "<locals>" in plugin.__qualname__:
                where = "a notebook or a script" if plugin.__module__ == "__main__" else "a function"
                raise ConfigError(f"plugins.{kind.key}.{name}",
                                  f"{plugin.__qualname__} is defined in {where}, where worker processes cannot "
                                  "import it; run it on the serial or dask executor, or define it in a module")


def _share_of_bars(done: Any) -> ProgressCallback:
    def report(bars: int, total: int) -> None:
        done.value = bars / total

    return report


@contextmanager
def on_processes(engine: ExecutionEngineConfig, systems: int
                  ) -> Iterator[tuple[Callable[[], int], Execute]]:
    """Local worker processes, started at once, each taking the next chunk when free; one that dies fails
    only the chunk it was running, and a fresh process takes its place for the chunks still waiting."""
    # spawn, never fork: the caller may hold threads (a Dask client, a plugin's pool)
    context = multiprocessing.get_context("spawn")
    workers = engine.workers or os.cpu_count() or 1
    stop = context.Event()
    started = [_WorkerProcess(context, stop) for _ in range(min(workers, systems))]

    def execute(setup: WorkerSetup, chunks: Sequence[Chunk], stop_requested: StopRequest,
                running: RunningProgress) -> Iterator[tuple[Chunk, Outcome]]:
        check_importable(setup.plugins)
        waiting = deque(chunks)
        busy: dict[_WorkerProcess, Chunk] = {}  # worker → the chunk it runs

        def give(worker: _WorkerProcess) -> None:
            if waiting:
                busy[worker] = waiting.popleft()
                worker.send(busy[worker])

        for worker in list(started):
            worker.send(setup)  # each reads it once its imports are done
            give(worker)
        while busy:
            if stop_requested():
                stop.set()
            multiprocessing.connection.wait([w.connection for w in busy] + [w.process.sentinel for w in busy],
                                            timeout=POLL)
            for worker in list(busy):
                outcome = worker.outcome()
                if outcome is None:
                    continue
                chunk = busy.pop(worker)
                if outcome == _WorkerProcess.DIED:
                    outcome = WORKER_DIED.format(names=names(chunk))
                    worker.stop()
                    started.remove(worker)
                    if waiting:
                        worker = _WorkerProcess(context, stop)
                        started.append(worker)
                        worker.send(setup)
                give(worker)  # before handing this outcome over, so the worker is not left idle meanwhile
                yield chunk, outcome
            running(sum(len(chunk.specs) * worker.done.value for worker, chunk in busy.items()))

    try:
        yield lambda: workers, execute
    finally:
        for worker in started:
            worker.stop()

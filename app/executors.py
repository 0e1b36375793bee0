"""Parallel executors: a run's systems stepped on local worker processes or on a Dask cluster.

`serial` is `app.run.run_systems` in the calling process. The parallel executors
split the systems into chunks and send each chunk's plain settings (never live
containers) to a worker. A worker builds its own BacktestContainer and keeps it for
the run, so the bars are loaded once per worker and indicators shared by systems on
that worker are computed once there. A system's results depend on nothing but its
own settings and the bars, so every executor writes the same bytes.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import attrs
import pandas as pd
from attrs import frozen

from app.config import BacktestConfig, ExecutionEngineConfig, check_execution_engine
from app.engine import ProgressCallback, StopRequest
from app.errors import ConfigErrors, MultifolioError
from app.system import SystemResult
from containers.backtest import BacktestContainer

CHUNKS_PER_WORKER = 2  # finer progress and balance; each extra chunk costs one more pass over the bars
_WORKER_DIED = ("its worker process died (killed, out of memory, or the process exited) while running it; "
                "the systems it held with it: {names}")


@frozen
class Chunk:
    """Systems run together on one worker: the run's data settings and each system's settings."""

    run: str  # one token per run: a worker's cached bars never serve another run
    data: dict[str, Any]  # BacktestConfig.data_settings()
    entries: tuple[dict[str, Any], ...]  # TradingSystemConfig.settings() of each system


# ---------------------------------------------------------------- on a worker

_ROOT_LOCK = threading.Lock()  # a Dask worker may run several chunks at once in threads
_ROOT: tuple[tuple[str, str], BacktestContainer] | None = None


def _worker_root(chunk: Chunk) -> BacktestContainer:
    """This process's container for the chunk's run: the bars are loaded on the first chunk only."""
    global _ROOT
    key = (chunk.run, json.dumps(chunk.data, sort_keys=True, default=str))
    with _ROOT_LOCK:
        if _ROOT is None or _ROOT[0] != key:
            _ROOT = None  # let the previous run's bars go before loading these
            root = BacktestContainer()
            root.config.from_dict({"data": chunk.data})
            root.data.market()
            _ROOT = (key, root)
        return _ROOT[1]


def run_chunk(chunk: Chunk, stop_requested: StopRequest | None = None) -> list[SystemResult]:
    """On a worker: step the chunk's systems together over the bars, as the serial run does; a stop
    request (the caller's Ctrl-C) ends them at the next bar boundary, marked interrupted."""
    from app.run import run_systems  # app.run imports this module

    return run_systems(_worker_root(chunk), list(chunk.entries), stop_requested=stop_requested)


def _stop_event_name(run: str) -> str:
    return f"multifolio-stop-{run}"


def run_chunk_on_dask(chunk: Chunk) -> list[SystemResult]:
    """A Dask task: `run_chunk`, stopped by the run's Dask Event, asked at most twice a second
    (each question is a round trip to the scheduler)."""
    from distributed import Event

    stop = Event(_stop_event_name(chunk.run))
    asked, answer = 0.0, False

    def stop_requested() -> bool:
        nonlocal asked, answer
        now = time.monotonic()
        if not answer and now - asked >= 0.5:
            asked, answer = now, stop.is_set()
        return answer

    return run_chunk(chunk, stop_requested)


# ---------------------------------------------------------------- in the calling process


def run_in_parallel(engine: ExecutionEngineConfig, data: dict[str, Any], entries: Sequence[dict[str, Any]],
                    progress: ProgressCallback | None = None, stop_requested: StopRequest | None = None
                    ) -> list[SystemResult]:
    """Run `entries` on `engine` (processes or dask); results in the order of `entries`.

    A chunk that does not come back (its worker died, or it raised outside the engine's
    own fault isolation) fails its systems only; `progress` gets (systems done, systems).
    A stop request is passed on to the workers, whose systems end at their next bar
    boundary marked interrupted, as in a serial run.
    """
    entries = list(entries)
    backend = {"processes": _on_processes, "dask": _on_dask}[engine.type]
    outcomes: dict[int, list[SystemResult]] = {}
    if progress is not None:
        progress(0, len(entries))
    with backend(engine) as (workers, execute):
        chunks = split(entries, workers, data)
        for index, outcome in execute(chunks, stop_requested or (lambda: False)):
            held = chunks[index].entries
            outcomes[index] = outcome if isinstance(outcome, list) else [_lost(entry, outcome) for entry in held]
            if progress is not None:
                progress(sum(len(chunks[i].entries) for i in outcomes), len(entries))
    interrupted = "the run was interrupted before its worker finished it"
    return [result for index, chunk in enumerate(chunks)
            for result in outcomes.get(index) or [_lost(entry, interrupted) for entry in chunk.entries]]


def split(entries: Sequence[dict[str, Any]], workers: int, data: dict[str, Any]) -> list[Chunk]:
    """Contiguous chunks in YAML order, sizes differing by one at most, `CHUNKS_PER_WORKER` per worker."""
    count = max(1, min(len(entries), workers * CHUNKS_PER_WORKER))
    run = uuid.uuid4().hex
    size, extra = divmod(len(entries), count)
    chunks, start = [], 0
    for index in range(count):
        stop = start + size + (index < extra)
        chunks.append(Chunk(run, data, tuple(entries[start:stop])))
        start = stop
    return chunks


def _lost(entry: dict[str, Any], reason: str) -> SystemResult:
    """A system whose chunk did not come back: failed before any bar, no figures (as the engine fails one)."""
    empty = pd.DataFrame()
    return SystemResult(name=entry["name"], namespace=entry["portfolio"]["namespace"],
                        initial_capital=entry["portfolio"]["initial_capital"], settings=entry, equity=empty,
                        trades=empty, orders=empty, open_positions={}, open_lots=empty, indicators=(),
                        status="failed", last_bar=-1, error=reason,
                        failed_at="failed before its first bar: its worker did not come back")


Outcome = list[SystemResult] | str  # the chunk's results, or why it has none
Execute = Callable[[Sequence[Chunk], StopRequest], Iterator[tuple[int, Outcome]]]
_POLL = 0.25  # seconds between looks at a stop request while waiting for workers


class _WorkerProcess:
    """One local worker process, running one chunk at a time; killing it touches nothing else."""

    DIED = "died"  # what `outcome` says of a process that ended without answering

    def __init__(self, context: Any, stop: Any) -> None:
        self.connection, theirs = context.Pipe()
        self.process = context.Process(target=_serve, args=(theirs, stop), daemon=True)
        self.process.start()
        theirs.close()

    def run(self, chunk: Chunk) -> None:
        self.connection.send(chunk)

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


def _leave_ctrl_c_to_the_caller() -> None:
    # Ctrl-C reaches every process of the terminal's group: only the calling process decides what it means
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def dask_setup(worker: Any) -> None:
    """Dask's preload hook, for the workers of the LocalCluster multifolio starts."""
    _leave_ctrl_c_to_the_caller()


def _serve(connection: Any, stop: Any) -> None:
    """A worker process: chunks in, outcomes out, until the calling process hangs up; `stop` is the
    run's shared stop event."""
    _leave_ctrl_c_to_the_caller()
    while True:
        try:
            chunk = connection.recv()
        except EOFError:
            return
        try:
            outcome: Outcome = run_chunk(chunk, stop.is_set)
        except Exception as error:
            outcome = _reason(error)
        connection.send(outcome)


@contextmanager
def _on_processes(engine: ExecutionEngineConfig) -> Iterator[tuple[int, Execute]]:
    """Local worker processes, each taking the next chunk when free; one that dies fails only the chunk
    it was running, and a fresh process takes its place for the chunks still waiting."""
    # spawn, never fork: the caller may hold threads (a Dask client, a progress display)
    context = multiprocessing.get_context("spawn")
    workers = engine.workers or os.cpu_count() or 1
    started: list[_WorkerProcess] = []
    stop = context.Event()

    def execute(chunks: Sequence[Chunk], stop_requested: StopRequest) -> Iterator[tuple[int, Outcome]]:
        waiting = deque(range(len(chunks)))
        busy: dict[_WorkerProcess, int] = {}  # worker → the chunk it runs

        def give(worker: _WorkerProcess) -> None:
            if waiting:
                busy[worker] = waiting.popleft()
                worker.run(chunks[busy[worker]])

        for _ in range(min(len(chunks), workers)):
            started.append(_WorkerProcess(context, stop))
            give(started[-1])
        while busy:
            if stop_requested():
                stop.set()
            multiprocessing.connection.wait([w.connection for w in busy] + [w.process.sentinel for w in busy],
                                            timeout=_POLL)
            for worker in list(busy):
                outcome = worker.outcome()
                if outcome is None:
                    continue
                index = busy.pop(worker)
                if outcome == _WorkerProcess.DIED:
                    outcome = _WORKER_DIED.format(names=_names(chunks[index]))
                    worker.stop()
                    started.remove(worker)
                    if waiting:
                        worker = _WorkerProcess(context, stop)
                        started.append(worker)
                yield index, outcome
                give(worker)

    try:
        yield workers, execute
    finally:
        for worker in started:
            worker.stop()


@contextmanager
def _on_dask(engine: ExecutionEngineConfig) -> Iterator[tuple[int, Execute]]:
    """A Dask cluster: the one at `address` (or DASK_SCHEDULER_ADDRESS), else a LocalCluster for this run."""
    from distributed import Event, KilledWorker
    from distributed import wait as wait_for

    with _dask_client(engine.address or os.environ.get("DASK_SCHEDULER_ADDRESS", ""), engine.workers) as client:
        def execute(chunks: Sequence[Chunk], stop_requested: StopRequest) -> Iterator[tuple[int, Outcome]]:
            running = {client.submit(run_chunk_on_dask, chunk, key=f"multifolio-{chunk.run}-{index}"): index
                       for index, chunk in enumerate(chunks)}
            stop = Event(_stop_event_name(chunks[0].run), client=client) if chunks else None
            try:
                while running:
                    if stop is not None and stop_requested() and not stop.is_set():
                        stop.set()
                    try:
                        finished, _ = wait_for(list(running), timeout=_POLL, return_when="FIRST_COMPLETED")
                    except TimeoutError:
                        continue
                    for future in finished:
                        index = running.pop(future)
                        error = future.exception() if future.status == "error" else None
                        if isinstance(error, KilledWorker):
                            yield index, _WORKER_DIED.format(names=_names(chunks[index]))
                        else:
                            yield index, future.result() if error is None else _reason(error)
            finally:
                client.cancel(list(running))

        yield max(1, sum(client.nthreads().values())), execute


@contextmanager
def _dask_client(address: str, workers: int | None) -> Iterator[Any]:
    from distributed import Client, LocalCluster

    if address:
        try:
            client = Client(address)  # waits distributed.comm.timeouts.connect (dask's config, 30 s)
        except (OSError, TimeoutError) as error:
            raise MultifolioError(f"cannot reach the Dask scheduler at {address} (from execution_engine.address, "
                                  f"--address or DASK_SCHEDULER_ADDRESS): {error}") from None
        with client:
            yield client
        return
    import dask

    # one task per worker at a time, so a worker's death blames only the chunk it ran; a chunk that kills
    # two workers fails (a backtest is deterministic: it would kill a third)
    with dask.config.set({"distributed.scheduler.allowed-failures": 1,
                          "distributed.scheduler.worker-saturation": 1.0}):
        # one thread per worker: the engine is Python, threads of one process would only take turns
        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR, preload=[__name__])
    with cluster, Client(cluster) as client:
        yield client


def _reason(error: BaseException) -> str:
    return "its worker raised: " + "".join(traceback.format_exception(error)).strip()


def _names(chunk: Chunk) -> str:
    return ", ".join(entry["name"] for entry in chunk.entries)


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

"""Executors: a run's systems stepped in the calling process, on local worker processes or on Dask.

`serial` (`run_systems`) steps every system together in the calling process. The
parallel executors split the systems into chunks and send each chunk's plain settings
(never live containers) to a worker, and the caller's checked bars once to every
worker: a worker builds its own BacktestContainer on them and keeps it for the run, so
the bars are loaded and checked once, by the caller, and indicators shared by systems
on one worker are computed once there. A system's results depend on nothing but its
own settings and the bars, so every executor writes the same bytes.
"""

from __future__ import annotations

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
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import attrs
import pandas as pd
from attrs import frozen
from dependency_injector import providers

from multifolio.config.model import BacktestConfig, ExecutionEngineConfig, check_execution_engine
from multifolio.running.engine import Engine, ProgressCallback, StopRequest
from multifolio.errors import ConfigErrors, MultifolioError
from multifolio.data.market import MarketData
from multifolio.trading.system import SystemResult
from multifolio.containers.backtest import BacktestContainer

CHUNKS_PER_WORKER = 2  # finer progress and balance; each extra chunk costs one more pass over the bars
_WORKER_DIED = ("its worker process died (killed, out of memory, or the process exited) while running it; "
                "the systems it held with it: {names}")


def run_systems(root: BacktestContainer, entries: Sequence[dict[str, Any]],
                progress: ProgressCallback | None = None, stop_requested: StopRequest | None = None
                ) -> list[SystemResult]:
    """The serial executor: one TradingSystem per entry (`TradingSystemConfig.settings()`), run together."""
    return run_containers(root, [root.trading_system(config=entry) for entry in entries], progress, stop_requested)


def run_containers(root: BacktestContainer, systems: Sequence[Any], progress: ProgressCallback | None = None,
                   stop_requested: StopRequest | None = None) -> list[SystemResult]:
    """Run TradingSystem containers already made from `root` (a test may have overridden their
    providers), then end them: their resources shut down, their objects let go.

    The shared providers of `root` keep a link to every container they serve, so an
    ended system still linked would keep its whole ledger alive as long as the root (a
    worker's lives for the run); and its objects sit in reference cycles with their
    container that only a full garbage collection frees (1.0–1.35 s for the 600k objects a Dask
    worker held after 8 systems of 1M bars).
    """
    try:
        runners = [system.runner() for system in systems]
        return Engine(market=root.data.market(), systems=runners, progress=progress,
                      stop_requested=stop_requested).run()
    finally:
        for system in systems:
            system.shutdown_resources()
            system.reset_singletons()
            system.data.reset_override()


@frozen
class Chunk:
    """Systems run together on one worker: their positions in the run and their settings."""

    run: str  # one token per run: a worker's bars never serve another run
    indices: tuple[int, ...]  # where each system stands in the run's entries
    entries: tuple[dict[str, Any], ...]  # TradingSystemConfig.settings() of each system


# ---------------------------------------------------------------- on a worker

def worker_container(market: MarketData) -> BacktestContainer:
    """A worker's root container for the caller's checked bars (the data source is never asked again)."""
    root = BacktestContainer()
    root.data.market.override(providers.Object(market))
    return root


_ROOT_LOCK = threading.Lock()  # a Dask worker may run several chunks at once in threads
_ROOT: tuple[str, BacktestContainer] | None = None  # a Dask worker's container for the run it serves


def run_chunk_on_dask(chunk: Chunk, index: int, market: MarketData) -> list[SystemResult]:
    """A Dask task: the chunk (the run's `index`-th) stepped over the run's bars (held by every worker),
    stopped by the run's Dask Event, asked at most twice a second (each question is a round trip to the
    scheduler); the share of its bars done goes to the caller as an event of the run's topic."""
    from distributed import Event, get_worker

    global _ROOT
    with _ROOT_LOCK:
        if _ROOT is None or _ROOT[0] != chunk.run:
            _ROOT = (chunk.run, worker_container(market))
        root = _ROOT[1]
    stop = Event(_stop_event_name(chunk.run))
    asked, answer = 0.0, False

    def stop_requested() -> bool:
        nonlocal asked, answer
        now = time.monotonic()
        if not answer and now - asked >= 0.5:
            asked, answer = now, stop.is_set()
        return answer

    worker, topic = get_worker(), _progress_topic(chunk.run)

    def report(bars: int, total: int) -> None:
        worker.log_event(topic, (index, bars / total))

    return run_systems(root, chunk.entries, report, stop_requested)


def _stop_event_name(run: str) -> str:
    return f"multifolio-stop-{run}"


def _progress_topic(run: str) -> str:
    return f"multifolio-progress-{run}"


# ---------------------------------------------------------------- in the calling process


Executor = Callable[..., list[SystemResult]]  # (root, entries, progress, stop_requested) → results


@contextmanager
def start_executor(engine: ExecutionEngineConfig, systems: int) -> Iterator[Executor]:
    """The executor `engine` names, for a run of `systems` systems. A parallel one starts its worker
    processes (or its LocalCluster) on entering, so they get ready while the caller loads the bars;
    leaving stops them. The executor steps `entries` over `root`'s bars."""
    if engine.type == "serial":
        yield run_systems
        return
    backend = {"processes": _on_processes, "dask": _on_dask}[engine.type]
    with backend(engine, systems) as (slots, execute):
        def run_on_workers(root: BacktestContainer, entries: Sequence[dict[str, Any]],
                           progress: ProgressCallback | None = None, stop_requested: StopRequest | None = None
                           ) -> list[SystemResult]:
            return _run_chunks(execute, list(entries), slots(), root.data.market(), progress,
                               stop_requested or (lambda: False))

        yield run_on_workers


def _run_chunks(execute: Execute, entries: list[dict[str, Any]], workers: int, market: MarketData,
                progress: ProgressCallback | None, stop_requested: StopRequest) -> list[SystemResult]:
    """`entries` split into chunks for `workers` and run by `execute`; results in the order of `entries`.

    A chunk that does not come back (its worker died, or it raised outside the engine's
    own fault isolation) fails its systems only; `progress` gets (systems done, systems), the
    systems done counting the running chunks' share of their bars (a fraction).
    A stop request is passed on to the workers, whose systems end at their next bar
    boundary marked interrupted, as in a serial run.
    """
    results: dict[int, SystemResult] = {}
    if progress is not None:
        progress(0, len(entries))

    def running(part: float) -> None:  # `part` systems' worth of the running chunks' bars are done
        if progress is not None:
            progress(len(results) + part, len(entries))

    for chunk, outcome in execute(market, split(entries, workers), stop_requested, running):
        outcome = outcome if isinstance(outcome, list) else [_lost(entry, outcome) for entry in chunk.entries]
        results.update(zip(chunk.indices, outcome))
    interrupted = "the run was interrupted before its worker finished it"
    return [results.get(index) or _lost(entry, interrupted) for index, entry in enumerate(entries)]


def split(entries: Sequence[dict[str, Any]], workers: int) -> list[Chunk]:
    """`CHUNKS_PER_WORKER` chunks per worker, sizes differing by one at most, each taking every n-th entry.

    Neighbouring entries of a sweep differ in its outermost value, which often sets much
    of a system's cost (a shorter period trades more): a stride through the entries gives
    every chunk the same mix, so the workers finish together.
    """
    count = max(1, min(len(entries), workers * CHUNKS_PER_WORKER))
    run = uuid.uuid4().hex
    return [Chunk(run, tuple(range(first, len(entries), count)), tuple(entries[first::count]))
            for first in range(count)]


def _lost(entry: dict[str, Any], reason: str) -> SystemResult:
    """A system whose chunk did not come back: failed before any bar, no figures (as the engine fails one)."""
    empty = pd.DataFrame()
    return SystemResult(name=entry["name"], namespace=entry["portfolio"]["namespace"],
                        initial_capital=entry["portfolio"]["initial_capital"], settings=entry, equity_steps=None,
                        trades=empty, orders=empty, open_positions={}, open_lots=empty, indicators=(),
                        status="failed", last_bar=-1, error=reason,
                        failed_at="failed before its first bar: its worker did not come back")


Outcome = list[SystemResult] | str  # the chunk's results, or why it has none
# called after each look at the workers with the running chunks' bars done, in systems' worth
RunningProgress = Callable[[float], None]
Execute = Callable[[MarketData, Sequence[Chunk], StopRequest, RunningProgress], Iterator[tuple[Chunk, Outcome]]]
_POLL = 0.25  # seconds between looks at a stop request while waiting for workers


class _WorkerProcess:
    """One local worker process, running one chunk at a time; killing it touches nothing else."""

    DIED = "died"  # what `outcome` says of a process that ended without answering

    def __init__(self, context: Any, stop: Any) -> None:
        self.connection, theirs = context.Pipe()
        self.done = context.Value("d", 0.0, lock=False)  # the share of its chunk's bars done, written by it
        self.process = context.Process(target=_serve, args=(theirs, stop, self.done), daemon=True)
        with _ctrl_c_ignored():  # from its first instruction: a Ctrl-C while it imports must not print its traceback
            self.process.start()
        theirs.close()

    def send(self, message: MarketData | Chunk) -> None:
        """The run's bars first, then one chunk at a time (a send waits until the process reads)."""
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


@contextmanager
def _ctrl_c_ignored() -> Iterator[None]:
    """SIGINT ignored meanwhile: a process started now is born ignoring it (an ignored signal stays
    ignored across exec, and Python leaves it so)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set a handler; `_serve` ignores it once the worker runs
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _leave_ctrl_c_to_the_caller() -> None:
    # Ctrl-C reaches every process of the terminal's group: only the calling process decides what it means
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def dask_setup(worker: Any) -> None:
    """Dask's preload hook, for the workers of the LocalCluster multifolio starts."""
    _leave_ctrl_c_to_the_caller()


def _serve(connection: Any, stop: Any, done: Any) -> None:
    """A worker process: the run's checked bars, then chunks in and outcomes out until the calling
    process hangs up; `stop` is the run's shared stop event, `done` the share of its chunk's bars done."""
    _leave_ctrl_c_to_the_caller()
    try:
        root = worker_container(connection.recv())
    except EOFError:
        return
    while True:
        try:
            chunk = connection.recv()
        except EOFError:
            return
        try:
            outcome: Outcome = run_systems(root, chunk.entries, _share_of_bars(done), stop.is_set)
        except Exception as error:
            outcome = _reason(error)
        connection.send(outcome)


def _share_of_bars(done: Any) -> ProgressCallback:
    def report(bars: int, total: int) -> None:
        done.value = bars / total

    return report


@contextmanager
def _on_processes(engine: ExecutionEngineConfig, systems: int
                  ) -> Iterator[tuple[Callable[[], int], Execute]]:
    """Local worker processes, started at once, each taking the next chunk when free; one that dies fails
    only the chunk it was running, and a fresh process takes its place for the chunks still waiting."""
    # spawn, never fork: the caller may hold threads (a Dask client, a plugin's pool)
    context = multiprocessing.get_context("spawn")
    workers = engine.workers or os.cpu_count() or 1
    stop = context.Event()
    started = [_WorkerProcess(context, stop) for _ in range(min(workers, systems))]

    def execute(market: MarketData, chunks: Sequence[Chunk], stop_requested: StopRequest,
                running: RunningProgress) -> Iterator[tuple[Chunk, Outcome]]:
        waiting = deque(chunks)
        busy: dict[_WorkerProcess, Chunk] = {}  # worker → the chunk it runs

        def give(worker: _WorkerProcess) -> None:
            if waiting:
                busy[worker] = waiting.popleft()
                worker.send(busy[worker])

        for worker in list(started):
            worker.send(market)  # each reads it once its imports are done
            give(worker)
        while busy:
            if stop_requested():
                stop.set()
            multiprocessing.connection.wait([w.connection for w in busy] + [w.process.sentinel for w in busy],
                                            timeout=_POLL)
            for worker in list(busy):
                outcome = worker.outcome()
                if outcome is None:
                    continue
                chunk = busy.pop(worker)
                if outcome == _WorkerProcess.DIED:
                    outcome = _WORKER_DIED.format(names=_names(chunk))
                    worker.stop()
                    started.remove(worker)
                    if waiting:
                        worker = _WorkerProcess(context, stop)
                        started.append(worker)
                        worker.send(market)
                yield chunk, outcome
                give(worker)
            running(sum(len(chunk.entries) * worker.done.value for worker, chunk in busy.items()))

    try:
        yield lambda: workers, execute
    finally:
        for worker in started:
            worker.stop()


@contextmanager
def _on_dask(engine: ExecutionEngineConfig, systems: int) -> Iterator[tuple[Callable[[], int], Execute]]:
    """A Dask cluster: the one at `address` (or DASK_SCHEDULER_ADDRESS), else a LocalCluster for this run.
    The bars go to every worker once, from this process: the workers need not see its files."""
    import dask
    from distributed import Event, KilledWorker
    from distributed import wait as wait_for

    with _dask_client(engine.address or os.environ.get("DASK_SCHEDULER_ADDRESS", ""), engine.workers) as client:
        def slots() -> int:
            return max(1, sum(client().nthreads().values()))

        def execute(market: MarketData, chunks: Sequence[Chunk], stop_requested: StopRequest,
                    running_progress: RunningProgress) -> Iterator[tuple[Chunk, Outcome]]:
            dask_client, run = client(), chunks[0].run
            shares: dict[int, float] = {}  # chunk index → the share of its bars done, as its worker last said

            def heard(event: tuple[float, tuple[int, float]]) -> None:  # on the client's event-loop thread
                index, share = event[1]
                shares[index] = share

            dask_client.subscribe_topic(_progress_topic(run), heard)
            # the bars go in the graph once, as a task's argument, never scattered: a chunk that crashes its
            # worker twice can take every copy down with it, and scattered data would then be gone for the
            # other chunks, while a task's result is computed again
            with dask.config.set({"distributed.admin.large-graph-warning-threshold": "1 PiB"}):
                bars = dask_client.submit(_the_bars, market, key=f"multifolio-{run}-bars", pure=False)
            # on every worker before the first chunk: else the scheduler would queue the chunks where the bars
            # are rather than move them, and leave the other workers idle
            dask_client.replicate([bars])
            waiting = deque(enumerate(chunks))
            running: dict[Any, tuple[int, Chunk]] = {}

            def submit() -> None:
                # one chunk per worker thread at a time, whatever the cluster's own queueing: a worker that
                # dies then fails only the chunk it was running
                index, chunk = waiting.popleft()
                future = dask_client.submit(run_chunk_on_dask, chunk, index, bars, key=f"multifolio-{run}-{index}")
                running[future] = index, chunk

            for _ in range(min(slots(), len(waiting))):
                submit()
            stop = Event(_stop_event_name(run), client=dask_client)
            try:
                while running:
                    if stop_requested() and not stop.is_set():
                        stop.set()
                    try:
                        finished, _ = wait_for(list(running), timeout=_POLL, return_when="FIRST_COMPLETED")
                    except TimeoutError:
                        finished = set()
                    for future in finished:
                        _, chunk = running.pop(future)
                        if waiting:
                            submit()  # before fetching this result, so the worker is not left idle meanwhile
                        error = future.exception() if future.status == "error" else None
                        if isinstance(error, KilledWorker):
                            yield chunk, _WORKER_DIED.format(names=_names(chunk))
                        else:
                            yield chunk, future.result() if error is None else _reason(error)
                    running_progress(sum(len(chunk.entries) * shares.get(index, 0.0)
                                         for index, chunk in running.values()))
            finally:
                dask_client.unsubscribe_topic(_progress_topic(run))
                dask_client.cancel([*running, bars])
                dask_client.run(_forget_run, run)

        yield slots, execute


def _the_bars(market: MarketData) -> MarketData:
    """A Dask task whose result is the run's bars: the chunks' tasks depend on it, so each worker
    fetches them once."""
    return market


def _forget_run(run: str) -> None:
    """On each Dask worker after a run: let its bars and indicators go (the worker serves other work)."""
    global _ROOT
    with _ROOT_LOCK:
        if _ROOT is not None and _ROOT[0] == run:
            _ROOT = None


LOCAL_CLUSTER_CONFIG = {
    # a chunk that kills two workers fails (a backtest is deterministic: it would kill a third)
    "distributed.scheduler.allowed-failures": 1,
    # the profiler samples the running task's stack every 10 ms, taking the GIL from the engine's
    # pure-Python loop: about 15 % slower with it (bench/sweep.py)
    "distributed.worker.profile.enabled": False,
}


@contextmanager
def _dask_client(address: str, workers: int | None) -> Iterator[Callable[[], Any]]:
    """The run's Dask client, as a call that waits for it: a LocalCluster starts on a thread of its own
    meanwhile (about a second), a cluster at `address` is reached at once (a wrong address fails first)."""
    from distributed import Client

    if address:
        try:
            client = Client(address)  # waits distributed.comm.timeouts.connect (dask's config, 30 s)
        except (OSError, TimeoutError) as error:
            raise MultifolioError(f"cannot reach the Dask scheduler at {address} (from execution_engine.address, "
                                  f"--address or DASK_SCHEDULER_ADDRESS): {error}") from None
        with client:
            yield lambda: client
        return
    with ThreadPoolExecutor(1, thread_name_prefix="multifolio-local-cluster") as pool:
        starting = pool.submit(_local_cluster, workers or os.cpu_count() or 1)
        try:
            yield lambda: starting.result()[1]
        finally:
            cluster, client = starting.result()  # a run that failed meanwhile still waits for it, to close it
            client.close()
            cluster.close()


def _local_cluster(workers: int) -> tuple[Any, Any]:
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set(LOCAL_CLUSTER_CONFIG):
        # one thread per worker: the engine is Python, threads of one process would only take turns
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.ERROR, preload=[__name__])
    return cluster, Client(cluster)


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

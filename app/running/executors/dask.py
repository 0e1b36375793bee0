"""The `dask` executor: chunks as tasks on a Dask cluster, the one at an address or a LocalCluster
started for the run; the bars go to every worker once, from the calling process."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from multifolio.config.model import ExecutionEngineConfig
from multifolio.containers.backtest import BacktestContainer
from multifolio.errors import MultifolioError
from multifolio.running.engine import StopRequest
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
from multifolio.running.executors.processes import leave_stop_signals_to_the_caller
from multifolio.running.executors.serial import run_systems
from multifolio.trading.system import SystemResult

_ROOT_LOCK = threading.Lock()  # a Dask worker may run several chunks at once in threads
_ROOT: tuple[str, BacktestContainer] | None = None  # a Dask worker's container for the run it serves


def run_chunk_on_dask(chunk: Chunk, index: int, setup: WorkerSetup) -> list[SystemResult]:
    """A Dask task: the chunk (the run's `index`-th) stepped over the run's bars (held by every worker),
    stopped by the run's Dask Event, asked at most twice a second (each question is a round trip to the
    scheduler); the share of its bars done goes to the caller as an event of the run's topic."""
    from distributed import Event, get_worker

    global _ROOT
    with _ROOT_LOCK:
        if _ROOT is None or _ROOT[0] != chunk.run:
            _ROOT = (chunk.run, worker_container(setup))
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

    return run_systems(root, chunk.specs, report, stop_requested, chunk.book)


def _stop_event_name(run: str) -> str:
    return f"multifolio-stop-{run}"


def _progress_topic(run: str) -> str:
    return f"multifolio-progress-{run}"


def dask_setup(worker: Any) -> None:
    """Dask's preload hook, for the workers of the LocalCluster multifolio starts."""
    leave_stop_signals_to_the_caller()


@contextmanager
def on_dask(engine: ExecutionEngineConfig, systems: int) -> Iterator[tuple[Callable[[], int], Execute]]:
    """A Dask cluster: the one at `address` (or DASK_SCHEDULER_ADDRESS), else a LocalCluster for this run.
    The bars go to every worker once, from this process: the workers need not see its files."""
    import dask
    from distributed import Event, KilledWorker
    from distributed import wait as wait_for

    with _dask_client(engine.address or os.environ.get("DASK_SCHEDULER_ADDRESS", ""), engine.workers) as client:
        def slots() -> int:
            return max(1, sum(client().nthreads().values()))

        def execute(setup: WorkerSetup, chunks: Sequence[Chunk], stop_requested: StopRequest,
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
                bars = dask_client.submit(_the_bars, setup, key=f"multifolio-{run}-bars", pure=False)
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
                        finished, _ = wait_for(list(running), timeout=POLL, return_when="FIRST_COMPLETED")
                    except TimeoutError:
                        finished = set()
                    for future in finished:
                        _, chunk = running.pop(future)
                        if waiting:
                            submit()  # before fetching this result, so the worker is not left idle meanwhile
                        error = future.exception() if future.status == "error" else None
                        if isinstance(error, KilledWorker):
                            yield chunk, WORKER_DIED.format(names=names(chunk))
                        else:
                            yield chunk, future.result() if error is None else reason(error)
                    running_progress(sum(len(chunk.specs) * shares.get(index, 0.0)
                                         for index, chunk in running.values()))
            finally:
                dask_client.unsubscribe_topic(_progress_topic(run))
                dask_client.cancel([*running, bars])
                dask_client.run(_forget_run, run)

        yield slots, execute


def _the_bars(setup: WorkerSetup) -> WorkerSetup:
    """A Dask task whose result is the run's bars (and plugins): the chunks' tasks depend on it, so each worker
    fetches them once."""
    return setup


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

"""A 16-system sweep on 1M synthetic bars: serial vs local processes vs Dask, wall time and peak memory.

The SMA crossover over fast 5, 10, 15, 20 × slow 30, 40, 50, 60. Timed is what the
executor does in `run_backtest`: every system stepped over every bar and its results
back in the calling process (the data load in the calling process and the writing of
the result files are the same for every executor and left out); `dask` includes starting
its LocalCluster, `dask-running` uses one started before the clock. Peak memory is the
largest resident set each process reached, sampled every 200 ms.

    python bench/sweep.py                          # 1,000,000 bars, 2 workers
    python bench/sweep.py --bars 100000 --workers 2
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time

import psutil

from app.config import validate_document
from app.executors import LOCAL_CLUSTER_CONFIG, run_in_parallel, run_systems, with_executor
from app.registry import PluginRegistry
from app.run import build_container


def sweep_document(bars: int) -> dict:
    return {
        "workflow": {"name": "bench sweep"},
        "data": {"source": "synthetic", "symbols": ["SPY"], "bars": bars, "frequency": "1min", "seed": 7},
        "trading_systems": [{
            "name": "sma",
            "portfolio": {"initial_capital": 100_000},
            "strategy": {"type": "sma_crossover", "parameters": {"fast_period": 10, "slow_period": 30}},
            "risk": {"position_sizers": [{"type": "fixed", "size": 100}]},
            "execution": {"slippage_bps": 1, "commission": 0.005},
            "sweep": {"strategy.parameters.fast_period": [5, 10, 15, 20],
                      "strategy.parameters.slow_period": {"start": 30, "stop": 60, "step": 10}},
        }],
    }


class PeakMemory:
    """Peak RSS of this process and of every process below it, sampled on a thread."""

    def __init__(self, every: float = 0.2) -> None:
        self._every = every
        self._stop = threading.Event()
        self.peaks: dict[int, tuple[str, int]] = {}  # pid → (name, bytes)
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            for process in [me, *me.children(recursive=True)]:
                try:
                    rss = process.memory_info().rss
                    name = " ".join(process.cmdline()[-2:])[-40:]
                except psutil.Error:
                    continue
                if rss > self.peaks.get(process.pid, ("", 0))[1]:
                    self.peaks[process.pid] = (name, rss)
            self._stop.wait(self._every)

    def workers(self, count: int) -> list[int]:
        """The `count` largest peaks below this process: the workers (nannies and trackers are small)."""
        others = sorted((rss for pid, (_, rss) in self.peaks.items() if pid != os.getpid()), reverse=True)
        return others[:count]


def run_once(executor: str, config, registry: PluginRegistry, entries: list[dict], workers: int
             ) -> tuple[float, int, list[int]]:
    """One timed run: wall seconds, the caller's peak RSS, the workers' peak RSS."""
    root = build_container(config, registry)
    market = root.data.market()  # run_backtest loads the data in the calling process first, whatever the executor
    cluster = None
    if executor == "dask-running":
        import dask
        from distributed import LocalCluster

        with dask.config.set(LOCAL_CLUSTER_CONFIG):  # as the README advises for a cluster of one's own
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=None)
        engine = with_executor(config, address=cluster.scheduler_address).execution_engine
    else:
        engine = with_executor(config, type=executor, workers=workers).execution_engine
    with PeakMemory() as memory:
        started = time.perf_counter()
        if executor == "serial":
            results = run_systems(root, entries)
        else:
            results = run_in_parallel(engine, market, entries)
        seconds = time.perf_counter() - started
    assert [r.status for r in results] == ["completed"] * len(entries), [r.error for r in results]
    if cluster is not None:
        cluster.close()
    caller = memory.peaks.get(os.getpid(), ("", 0))[1]
    return seconds, caller, [] if executor == "serial" else memory.workers(workers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3,
                        help="each round runs every executor once, serial first; the table gives medians")
    parser.add_argument("--executors", default="serial,processes,dask,dask-running",
                        help="dask-running: on a LocalCluster started before the clock starts, as a user's cluster")
    options = parser.parse_args()
    executors = options.executors.split(",")

    registry = PluginRegistry()
    config = validate_document(sweep_document(options.bars), registry)
    entries = [entry.settings() for entry in config.trading_systems]
    print(f"{len(entries)} systems × {options.bars:,} bars, {options.workers} workers, {os.cpu_count()} cores, "
          f"{options.rounds} round(s)")

    runs: dict[str, list[tuple[float, int, list[int]]]] = {executor: [] for executor in executors}
    for round_ in range(options.rounds):
        for executor in executors:
            runs[executor].append(run_once(executor, config, registry, entries, options.workers))
            print(f"round {round_ + 1}: {executor} {runs[executor][-1][0]:.1f} s", flush=True)

    # the machine's speed drifts between minutes (other tenants): a speed-up is taken within each round
    serial = [seconds for seconds, _, _ in runs.get("serial", [])]
    print("\n| executor | wall time (s), median | speed-up over serial, median | each round's speed-up | "
          "peak RSS per worker (MB) | peak RSS caller (MB) |")
    print("|---|---:|---:|---|---|---:|")
    for executor, measured in runs.items():
        times = [seconds for seconds, _, _ in measured]
        ratios = [before / after for before, after in zip(serial, times)]
        workers = [max(peaks[i] for _, _, peaks in measured) for i in range(len(measured[0][2]))]
        shown = ", ".join(f"{rss / 2**20:,.0f}" for rss in workers) or "– (in the caller)"
        caller = max(peak for _, peak, _ in measured)
        print(f"| {executor} | {statistics.median(times):.1f} | "
              f"{f'{statistics.median(ratios):.2f}×' if ratios else '–'} | "
              f"{', '.join(f'{ratio:.2f}' for ratio in ratios) or '–'} | {shown} | {caller / 2**20:,.0f} |")


if __name__ == "__main__":
    main()

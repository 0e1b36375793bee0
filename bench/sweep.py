"""A 16-system sweep on 1M synthetic bars: serial vs local processes vs Dask, wall time and peak memory.

The SMA crossover over fast 5, 10, 15, 20 × slow 30, 40, 50, 60. Timed is what
`run_backtest` does before it writes the result files, which is the same for every
executor: start the executor (`processes` its worker processes, `dask` its
LocalCluster, both while the calling process loads the bars), load and check the
bars, step every system over every bar, get the results back in the calling
process, stop the executor. `dask-running` runs on a LocalCluster started before the
clock, as a user's own cluster. Each run is a process of its own; a round runs every
parallel executor once between two serial runs, and its speed-ups are taken over the
mean of those two, because this machine's speed drifts by 10-30 % from one minute to
the next. Peak memory is the largest resident set of the calling process (getrusage)
and of each worker (sampled every 200 ms).

    python bench/sweep.py                          # 1,000,000 bars, 2 workers, 3 rounds
    python bench/sweep.py --bars 100000 --rounds 1
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time

import psutil

from multifolio.config.registry import PluginRegistry
from multifolio.running.executors import start_executor, with_executor
from multifolio.running.executors.dask import LOCAL_CLUSTER_CONFIG
from multifolio.running.run import build_container, validate_document


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


def measure(executor: str, bars: int, workers: int) -> dict:
    """One timed run, in a process of its own (so each peak is this run's): wall seconds, the caller's peak
    RSS (its data load included), the workers' peak RSS."""
    registry = PluginRegistry()
    config = validate_document(sweep_document(bars), registry)
    specs = config.systems
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
        root = build_container(config, registry)
        with start_executor(engine, len(specs)) as execute:  # as run_backtest: workers start while the bars load
            root.data.market()
            results = execute(root, specs)
        seconds = time.perf_counter() - started
    assert [r.status for r in results] == ["completed"] * len(specs), [r.error for r in results]
    if cluster is not None:
        cluster.close()
    return {"seconds": seconds, "caller": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "workers": [] if executor == "serial" else memory.workers(workers)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3,
                        help="each round runs every executor once, between two serial runs; the table gives medians")
    parser.add_argument("--executors", default="processes,dask,dask-running",
                        help="dask-running: on a LocalCluster started before the clock starts, as a user's cluster")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # one run of this executor, its figures as JSON
    options = parser.parse_args()
    if options.measure:
        print(json.dumps(measure(options.measure, options.bars, options.workers)))
        return
    executors = options.executors.split(",")
    print(f"16 systems × {options.bars:,} bars, {options.workers} workers, {os.cpu_count()} cores, "
          f"{options.rounds} round(s), each run in a fresh process")

    def run(executor: str, label: str) -> dict:
        done = subprocess.run([sys.executable, __file__, "--measure", executor, "--bars", str(options.bars),
                               "--workers", str(options.workers)], capture_output=True, text=True, check=True)
        figures = json.loads(done.stdout.splitlines()[-1])
        print(f"{label}: {executor} {figures['seconds']:.1f} s", flush=True)
        return figures

    # the machine's speed drifts between minutes (other tenants): each round sits between two serial runs,
    # and its speed-ups are taken over their mean
    others = [executor for executor in executors if executor != "serial"]
    runs: dict[str, list[dict]] = {"serial": [run("serial", "before round 1")], **{name: [] for name in others}}
    for round_ in range(1, options.rounds + 1):
        for executor in others:
            runs[executor].append(run(executor, f"round {round_}"))
        runs["serial"].append(run("serial", f"after round {round_}"))
    serial = [(before["seconds"] + after["seconds"]) / 2 for before, after in itertools.pairwise(runs["serial"])]
    print("\n| executor | wall time (s), median | speed-up over serial, median | each round's speed-up | "
          "peak RSS per worker (MB) | peak RSS caller (MB) |")
    print("|---|---:|---:|---|---|---:|")
    for executor, measured in runs.items():
        times = [figures["seconds"] for figures in measured]
        ratios = [] if executor == "serial" else [before / after for before, after in zip(serial, times)]
        workers = [max(figures["workers"][i] for figures in measured) for i in range(len(measured[0]["workers"]))]
        shown = ", ".join(f"{rss / 2**20:,.0f}" for rss in workers) or "– (in the caller)"
        caller = max(figures["caller"] for figures in measured)
        print(f"| {executor} | {statistics.median(times):.1f} | "
              f"{f'{statistics.median(ratios):.2f}×' if ratios else '–'} | "
              f"{', '.join(f'{ratio:.2f}' for ratio in ratios) or '–'} | {shown} | {caller / 2**20:,.0f} |")


if __name__ == "__main__":
    main()

"""Executors: the same sweep serially, on local processes and on a real Dask LocalCluster gives the same
bytes; a worker process that dies fails only the systems it held."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import multifolio
from multifolio.config.model import ExecutionEngineConfig
from multifolio.config.registry import PluginRegistry
from multifolio.data.market import MarketData
from multifolio.protocols import Direction, Strategy
from multifolio.running.executors import run_systems, start_executor
from multifolio.running.executors import chunks
from multifolio.running.executors.chunks import WorkerSetup, split, worker_container
from multifolio.running.executors.dask import LOCAL_CLUSTER_CONFIG
from multifolio.running.run import run_backtest
from multifolio.testing import bars_from_closes
from tests.builders import backtest_config, checked, system_config

pytestmark = pytest.mark.slow  # process pools, a Dask LocalCluster and `multifolio` subprocesses

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")

REPO = Path(__file__).resolve().parents[2]
MULTIFOLIO = Path(sys.executable).parent / "multifolio"
EXIT_PLUGIN = '''
"""A third-party strategy that ends its own process at a bar: a crashed extension, an OOM kill."""
import itertools
import os

from multifolio.protocols import Strategy


class ExitAtBar(Strategy):
    def __init__(self, *, bar: int = 100) -> None:
        self.bar = bar

    def on_bar(self, bar, values):
        if bar.index >= self.bar:
            os._exit(3)
        return None
'''


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory) -> Path:
    """A distribution with the `exits_at_bar` strategy, on sys.path here and PYTHONPATH for the workers."""
    folder = tmp_path_factory.mktemp("plugins")
    (folder / "mf_exit_plugin.py").write_text(EXIT_PLUGIN)
    info = folder / "mf_exit_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mf-exit-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[multifolio.strategies]\nexits_at_bar = mf_exit_plugin:ExitAtBar\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(folder))  # spawned processes get the parent's sys.path
        patch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")])))
        yield folder


@pytest.fixture(scope="module")
def cluster(plugin_path):
    """One real LocalCluster for the module: two worker processes of one thread, as multifolio starts it."""
    with dask.config.set(LOCAL_CLUSTER_CONFIG):
        local = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    with local:
        yield local


def sweep(*extra_systems: dict, bars: int = 3000) -> dict:
    """Eight SMA crossover systems (fast 5, 10, 15, 20 × slow 30, 50), then `extra_systems`."""
    entry = system_config("sma", strategy={"type": "sma_crossover",
                                           "parameters": {"fast_period": 10, "slow_period": 30}})
    entry["sweep"] = {"strategy.parameters.fast_period": [5, 10, 15, 20],
                      "strategy.parameters.slow_period": {"start": 30, "stop": 50, "step": 20}}
    return backtest_config(entry, *extra_systems, data={"source": "synthetic", "symbols": ["SPY"], "bars": bars,
                                                        "seed": 7})


def run(document: dict, output: Path, progress: list | None = None, **engine) -> object:
    document = {**document, "execution_engine": engine or {"type": "serial"}}
    registry = PluginRegistry()
    return run_backtest(checked(document, registry), registry, output_dir=output,
                        progress=None if progress is None else lambda done, total: progress.append((done, total)))


def result_files(folder: Path) -> dict[str, bytes]:
    """Every file of a run but manifest.json, which holds wall-clock times."""
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*"))
            if path.is_file() and path.name != "manifest.json"}


@pytest.fixture(scope="module")
def serial_files(tmp_path_factory) -> dict[str, bytes]:
    outcome = run(sweep(), tmp_path_factory.mktemp("serial"))
    return result_files(outcome.folder)


def test_a_sweep_writes_byte_identical_files_serially_on_processes_and_on_dask(serial_files, cluster, tmp_path):
    progress = {"processes": [], "dask": []}
    processes = run(sweep(), tmp_path / "processes", progress["processes"], type="processes", workers=2)
    on_dask = run(sweep(), tmp_path / "dask", progress["dask"], type="dask", address=cluster.scheduler_address)
    assert [r.name for r in processes.results] == [f"sma.fast_period-{f}.slow_period-{s}"
                                                   for f in (5, 10, 15, 20) for s in (30, 50)]
    assert len(serial_files) > 8 * 4
    assert result_files(processes.folder) == serial_files
    assert result_files(on_dask.folder) == serial_files
    for reported in progress.values():
        assert_progress_counts_systems(reported, 8)


def assert_progress_counts_systems(reported: list[tuple[float, int]], systems: int) -> None:
    """Systems done, the running chunks' share of their bars included: from 0 to all, never back."""
    done = [value for value, _ in reported]
    assert reported[0] == (0, systems) and reported[-1] == (systems, systems)
    assert {total for _, total in reported} == {systems}
    assert all(later >= earlier - 1e-9 for earlier, later in itertools.pairwise(done))


@pytest.mark.parametrize("executor", ["processes", "dask"])
def test_a_run_keeping_no_tables_writes_each_chunk_as_it_comes_back_and_the_same_bytes(serial_files, cluster,
                                                                                       tmp_path, monkeypatch, executor):
    monkeypatch.setattr(chunks, "SYSTEM_BARS_PER_PASS", 3000)  # a system a chunk: eight chunks for two workers
    engine = {"type": "processes", "workers": 2} if executor == "processes" else {
        "type": "dask", "address": cluster.scheduler_address}
    registry, told = PluginRegistry(), []
    outcome = run_backtest(checked({**sweep(), "execution_engine": engine}, registry), registry, output_dir=tmp_path,
                           keep_tables=False, progress=lambda done, total: told.append(("stepped", done)),
                           writing=lambda done, total, part: told.append(("writing", part)))
    assert result_files(outcome.folder) == serial_files
    assert outcome.status == "completed" and all(result.tables_let_go for result in outcome.results)
    # the first chunk's folder is written while the other chunks are still stepping
    first = told.index(next(event for event in told if event[0] == "writing" and event[1].endswith("/")))
    assert any(kind == "stepped" and done < 8 for kind, done in told[first:])
    folders = [part for kind, part in told if kind == "writing" and part.endswith("/")]
    assert sorted(folders) == sorted(f"{result.name}/" for result in outcome.results)
    # what every system shares is one array again, whichever chunk brought it: the caller's timeline and closes,
    # each indicator's values once
    market = outcome.market
    for result in outcome.results:
        assert result.equity_steps.timeline is market.timestamps
        assert all(closes is market.closes_filled(symbol)
                   for symbol, (_, _, closes) in result.equity_steps.holdings.items())
    values: dict[str, set[int]] = {}
    for result in outcome.results:
        for key, array in result.indicator_values["SPY"].items():
            values.setdefault(key, set()).add(id(array))
    assert len(values) > 2 and all(len(ids) == 1 for ids in values.values())


@pytest.mark.parametrize("executor", ["processes", "dask"])
def test_progress_moves_while_the_chunks_run(cluster, tmp_path, executor):
    progress: list[tuple[float, int]] = []
    engine = {"type": "processes", "workers": 2} if executor == "processes" else {
        "type": "dask", "address": cluster.scheduler_address}
    outcome = run(sweep(bars=150_000), tmp_path, progress, **engine)
    assert outcome.status == "completed"
    assert_progress_counts_systems(progress, 8)
    assert any(0 < value < 8 and value % 1 for value, _ in progress)  # within a chunk, not only at its end


def test_the_workers_step_the_callers_bars_and_never_ask_the_data_source(cluster):
    """Bars that exist only in this process (no file, no source): every worker steps exactly these."""
    closes = 100 + np.cumsum(np.random.default_rng(3).normal(0, 0.5, 2500))
    market = MarketData.from_frame(bars_from_closes(closes.round(2)), ("SPY",))
    specs = checked(sweep()).systems
    expected = run_systems(worker_container(WorkerSetup(market)), specs)
    for engine in (ExecutionEngineConfig(type="processes", workers=2),
                   ExecutionEngineConfig(type="dask", address=cluster.scheduler_address)):
        with start_executor(engine, len(specs)) as execute:
            results = execute(worker_container(WorkerSetup(market)), specs)
        assert [r.name for r in results] == [r.name for r in expected]
        for got, want in zip(results, expected):
            assert got.status == "completed" and len(got.trades) > 0
            pd.testing.assert_frame_equal(got.trades, want.trades, check_exact=True)
            pd.testing.assert_frame_equal(got.orders, want.orders, check_exact=True)
            pd.testing.assert_frame_equal(got.equity, want.equity, check_exact=True)


def killer_sweep() -> dict:
    return sweep(system_config("doomed", strategy={"type": "exits_at_bar", "parameters": {"bar": 500}}),
                 system_config("after", strategy={"type": "buy_and_hold"}))


def assert_only_the_dead_workers_chunk_failed(outcome, serial_files: dict[str, bytes]) -> None:
    """Ten systems in four chunks, each taking every fourth: `doomed` (the ninth) shares the first with
    the first and the fifth, which fail with it; the other seven finish as they do serially."""
    held = ["sma.fast_period-5.slow_period-30", "sma.fast_period-15.slow_period-30", "doomed"]
    failed = {r.name: r.error for r in outcome.results if r.status == "failed"}
    assert sorted(failed) == sorted(held)
    assert all("worker process died" in error and ", ".join(held) in error for error in failed.values())
    assert [r.name for r in outcome.results if r.status == "completed"] == [
        r.name for r in outcome.results if r.name not in held]
    files = result_files(outcome.folder)
    survivors = {name: data for name, data in serial_files.items()
                 if name.startswith("sma.") and name.split("/")[0] not in held}
    assert len({name.split("/")[0] for name in survivors}) == 6
    assert {name: files[name] for name in survivors} == survivors
    assert "completed" == next(r.status for r in outcome.results if r.name == "after")


def test_a_killed_worker_process_fails_only_the_systems_it_held_on_processes(serial_files, plugin_path, tmp_path):
    outcome = run(killer_sweep(), tmp_path, type="processes", workers=2)
    assert_only_the_dead_workers_chunk_failed(outcome, serial_files)


def test_a_killed_dask_worker_fails_only_the_systems_it_held(serial_files, cluster, tmp_path):
    outcome = run(killer_sweep(), tmp_path, type="dask", address=cluster.scheduler_address)
    assert_only_the_dead_workers_chunk_failed(outcome, serial_files)


def test_the_cli_runs_on_the_cluster_named_by_dask_scheduler_address(cluster, tmp_path):
    env = {**os.environ, "DASK_SCHEDULER_ADDRESS": cluster.scheduler_address}
    done = subprocess.run([str(MULTIFOLIO), "run", str(REPO / "configs" / "sweep_example.yaml"), "--executor", "dask",
                           "--quiet", "--output-dir", "out"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    with distributed.Client(cluster) as client:
        keys = client.run_on_scheduler(lambda dask_scheduler: {str(entry[0]) for entry in
                                                               dask_scheduler.transition_log})
    assert sum(key.startswith("multifolio-") for key in keys) >= 4  # the example's 8 systems in 4 chunks
    unreachable = {**os.environ, "DASK_SCHEDULER_ADDRESS": "tcp://127.0.0.1:9",
                   "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"}
    refused = subprocess.run([str(MULTIFOLIO), "run", str(REPO / "configs" / "sweep_example.yaml"), "--executor",
                              "dask", "--quiet"], cwd=tmp_path, env=unreachable, capture_output=True, text=True,
                             timeout=300)
    assert refused.returncode == 2
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_validate_prints_how_many_systems_a_sweep_expands_to(tmp_path):
    done = subprocess.run([str(MULTIFOLIO), "validate", str(REPO / "configs" / "sweep_example.yaml")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert textwrap.dedent("""\
        sweep trading_systems[0] (sma) over strategy.parameters.fast_period × strategy.parameters.slow_period: \
9 combinations, expands to 8 systems""") in done.stdout


def portfolio(book_limits: bool) -> dict:
    """configs/portfolio_example.yaml and one system it does not fund (`solo`, its own capital). The
    example's book limits couple every system of the run, `solo` too; without them only the three funded
    systems are coupled."""
    document = yaml.safe_load((REPO / "configs" / "portfolio_example.yaml").read_text())
    document["allocation"]["systems"] = [entry["name"] for entry in document["trading_systems"]]
    document["trading_systems"].append(system_config("solo", capital=50_000, strategy={
        "type": "sma_crossover", "parameters": {"fast_period": 5, "slow_period": 20}},
        sizers=[{"type": "percentage", "size": 0.5}]))
    if not book_limits:
        del document["risk"]
    return document


@pytest.mark.parametrize("book_limits", [True, False], ids=["book limits", "allocation only"])
def test_a_coupled_run_writes_the_same_bytes_on_processes_and_on_dask_as_serially(cluster, tmp_path, book_limits):
    document = portfolio(book_limits)
    config = checked(document)
    coupled = ("trend", "momentum", "reversion", "solo") if book_limits else ("trend", "momentum", "reversion")
    assert config.book.coupled == coupled
    chunks = split(config.systems, 2, config.book)
    assert [spec.name for spec in chunks[0].specs] == list(coupled) and chunks[0].book == config.book
    assert all(chunk.book is None and not set(coupled) & {spec.name for spec in chunk.specs}
               for chunk in chunks[1:])
    assert [spec.name for chunk in chunks[1:] for spec in chunk.specs] == ([] if book_limits else ["solo"])
    serial = result_files(run(document, tmp_path / "serial").folder)
    written = {name.split("/")[-1] for name in serial}
    assert {"trades.csv", "equity.csv", "orders.csv", "performance.json", "transfers.csv", "allocation.csv",
            "book_events.csv", "combined_summary.json", "combined_equity.csv"} <= written
    processes = run(document, tmp_path / "processes", type="processes", workers=2)
    on_dask = run(document, tmp_path / "dask", type="dask", address=cluster.scheduler_address)
    assert all(result.status == "completed" for result in [*processes.results, *on_dask.results])
    assert result_files(processes.folder) == serial
    assert result_files(on_dask.folder) == serial


def test_a_class_defined_in_a_notebook_runs_on_dask_as_it_does_serially(cluster):
    """Dask pickles a class of `__main__` (a notebook's) by value: the workers need not import it."""
    def on_bar(self, bar, values):
        previous, self.last = getattr(self, "last", None), bar.close
        return None if previous is None else Direction.LONG if bar.close < previous else Direction.FLAT

    notebook_class = type("Contrarian", (Strategy,), {"__module__": "__main__", "on_bar": on_bar})
    document = backtest_config(*(system_config(name, strategy={"type": "contrarian"}) for name in ("a", "b", "c")))
    plugins = {"strategies": {"contrarian": notebook_class}}
    serial = multifolio.run(document, plugins=plugins)
    on_dask = multifolio.run(document, plugins=plugins, executor="dask", address=cluster.scheduler_address)
    assert on_dask.status == "completed"
    for name in ("a", "b", "c"):
        assert len(serial.systems[name].trades) > 20
        pd.testing.assert_frame_equal(on_dask.systems[name].trades, serial.systems[name].trades)
        pd.testing.assert_frame_equal(on_dask.systems[name].equity, serial.systems[name].equity)

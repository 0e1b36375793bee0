"""Faults while running: a raising plugin fails only its system, Ctrl-C stops at a bar boundary,
SIGKILL and a full disk never leave a result that looks whole. Driven through the CLI."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.builders import backtest_config, system_config
from tests.integration.cli import MULTIFOLIO, assert_every_file_is_whole, multifolio, write_config
from tests.integration.distributions import install_distribution, with_path

pytestmark = pytest.mark.slow  # each test runs `multifolio` in a subprocess, some for 600,000 bars

FAULTY = '''
"""Strategies that misbehave on purpose."""
from multifolio.protocols import Direction, Strategy


class Faulty(Strategy):
    """Trades every few bars, then raises at bar `fail_at`."""

    def __init__(self, *, fail_at: int = 100) -> None:
        self.fail_at = fail_at

    def on_bar(self, bar, values):
        if bar.index == self.fail_at:
            raise RuntimeError(f"the model diverged at bar {bar.index}")
        return Direction.LONG if bar.index % 10 == 0 else Direction.FLAT if bar.index % 10 == 5 else None
'''
BROKEN = '''
raise ImportError("this plugin needs a library that is not installed")
'''


@pytest.fixture(scope="module")
def plugins(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("faulty") / "site"
    return install_distribution(target, "multifolio-faulty", {"mf_faulty": FAULTY, "mf_broken": BROKEN},
                                {"multifolio.strategies": {"faulty": "mf_faulty:Faulty",
                                                           "broken": "mf_broken:Broken"}})


def three_systems(tmp_path: Path, bars: int = 2000, **faulty) -> Path:
    return write_config(tmp_path, backtest_config(
        system_config("steady", strategy={"type": "sma_crossover", "parameters": {"fast_period": 5,
                                                                                 "slow_period": 20}}),
        system_config("faulty", strategy={"type": "faulty", "parameters": faulty}),
        system_config("holder"),
        data={"source": "synthetic", "symbols": ["SPY"], "bars": bars, "seed": 3}, output_dir=tmp_path / "out"))


def test_a_raising_plugin_fails_only_its_own_system(tmp_path, plugins):
    done = multifolio("run", str(three_systems(tmp_path, fail_at=700)), "--quiet", cwd=tmp_path,
                      env=with_path(plugins))
    assert done.returncode == 3, done.stderr
    run = tmp_path / "out" / "test_run"
    failed = json.loads((run / "faulty" / "performance.json").read_text())
    assert failed["status"] == "failed"
    assert failed["failed_at"] == "failed at bar 700 (2024-01-03T14:40:00)"
    assert failed["error"] == "RuntimeError: the model diverged at bar 700"
    log = (run / "faulty" / "error.log").read_text()
    assert log.startswith("Traceback") and 'in on_bar' in log and log.rstrip().endswith(failed["error"])
    assert not (run / "faulty" / "trades.csv").exists()
    assert (f"error: faulty failed at bar 700 (2024-01-03T14:40:00) ({run / 'faulty' / 'error.log'}): "
            f"{failed['error']}") in done.stderr

    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert manifest["systems"] == {"steady": {"status": "completed", "last_bar": 1999},
                                   "faulty": {"status": "failed", "last_bar": 700, "error": failed["error"]},
                                   "holder": {"status": "completed", "last_bar": 1999}}
    # the others ran to the end, exactly as they do without the faulty system beside them
    alone = write_config(tmp_path, backtest_config(
        system_config("steady", strategy={"type": "sma_crossover", "parameters": {"fast_period": 5,
                                                                                 "slow_period": 20}}),
        data={"source": "synthetic", "symbols": ["SPY"], "bars": 2000, "seed": 3}, output_dir=tmp_path / "alone"),
        name="alone.yaml")
    assert multifolio("run", str(alone), "--quiet", cwd=tmp_path).returncode == 0
    for name in ("trades.csv", "equity.csv", "orders.csv"):
        assert (run / "steady" / name).read_bytes() == (tmp_path / "alone" / "test_run" / "steady" / name).read_bytes()
    summary = json.loads((run / "combined_summary.json").read_text())
    assert list(summary["systems"]) == ["steady", "holder"]


def test_an_installed_plugin_is_imported_only_when_a_config_names_it(tmp_path, plugins):
    # mf_broken raises on import: a run that does not name `broken` never imports it
    done = multifolio("run", str(three_systems(tmp_path, fail_at=10**9)), "--quiet", cwd=tmp_path,
                      env=with_path(plugins))
    assert done.returncode == 0, done.stderr
    config = write_config(tmp_path, backtest_config(system_config(strategy={"type": "broken"})), name="b.yaml")
    named = multifolio("validate", str(config), cwd=tmp_path, env=with_path(plugins))
    assert named.returncode == 2 and "Traceback" not in named.stderr
    assert ("trading_systems[0].strategy.type: strategy 'broken' (mf_broken:Broken) failed to import: "
            "ImportError: this plugin needs a library that is not installed") in named.stderr


def test_a_name_registered_by_two_distributions_names_both(tmp_path):
    clash = install_distribution(tmp_path / "clash", "multifolio-clash", {"mf_clash": "from multifolio.plugins.strategies."
                                                                                     "momentum import *\n"},
                                 {"multifolio.strategies": {"momentum": "mf_clash:MomentumStrategy"}})
    config = write_config(tmp_path, backtest_config(system_config(strategy={"type": "momentum"})))
    done = multifolio("validate", str(config), cwd=tmp_path, env=with_path(clash))
    assert done.returncode == 2
    assert ("trading_systems[0].strategy.type: strategy 'momentum' is registered twice, by multifolio "
            "(multifolio.plugins.strategies.momentum:MomentumStrategy) and multifolio-clash (mf_clash:MomentumStrategy); "
            "uninstall one") in done.stderr


def start_long_run(tmp_path: Path, bars: int = 600_000, *options: str, systems: int = 2
                   ) -> tuple[subprocess.Popen, Path]:
    config = write_config(tmp_path, backtest_config(
        system_config("a", strategy={"type": "sma_crossover", "parameters": {"fast_period": 5, "slow_period": 20}}),
        system_config("b", strategy={"type": "momentum", "parameters": {"lookback_period": 10}}),
        *(system_config(f"s{number}") for number in range(systems - 2)),
        data={"source": "synthetic", "symbols": ["SPY"], "bars": bars, "seed": 5}, output_dir=tmp_path / "out"))
    process = subprocess.Popen([str(MULTIFOLIO), "run", str(config), "--quiet", *options], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run = tmp_path / "out" / "test_run"
    deadline = time.monotonic() + 120
    # the manifest is written once the data is loaded, just before the first bar, in the run's staging folder
    while not any(staging_folders(run, "manifest.json")):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    return process, run


def staging_folders(run, holding: str = "") -> list:
    """The hidden folders a run writes in before its folder is swapped in (holding `holding`, if given)."""
    return [path for path in run.parent.glob(f".{run.name}.*.running") if not holding or (path / holding).exists()]


@pytest.mark.parametrize("stop, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_or_sigterm_stops_at_a_bar_boundary_and_writes_what_was_done_marked_interrupted(tmp_path, stop, code):
    process, run = start_long_run(tmp_path)
    time.sleep(0.3)
    process.send_signal(stop)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == code, stderr
    assert "stopping at the next bar boundary" in stderr and "Traceback" not in stderr
    assert_every_file_is_whole(run)
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    for name in ("a", "b"):
        performance = json.loads((run / name / "performance.json").read_text())
        assert performance["status"] == "interrupted"
        last = performance["last_bar"]
        assert 0 < last < 600_000 - 1 and manifest["systems"][name] == {"status": "interrupted", "last_bar": last}
        equity = pd.read_csv(run / name / "equity.csv")
        assert len(equity) == last + 1
    assert f"interrupted: results up to bar {last} are written and marked interrupted" in stderr


def test_ctrl_c_in_a_run_stepped_in_passes_ends_its_pass_and_steps_no_later_one(tmp_path):
    # 14 systems of 600,000 bars: passes of 13 (SYSTEM_BARS_PER_PASS), so the last system is in a pass of its own
    process, run = start_long_run(tmp_path, 600_000, systems=14)
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "error:" not in stderr
    assert_every_file_is_whole(run)
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    lasts = {manifest["systems"][name]["last_bar"] for name in ["a", "b", *(f"s{number}" for number in range(11))]}
    [last] = lasts  # one pass, stopped at one bar boundary
    assert 0 < last < 600_000 - 1
    assert manifest["systems"]["s11"]["status"] == "failed" and manifest["systems"]["s11"]["last_bar"] == -1
    assert "never stepped" in (run / "s11" / "error.log").read_text()
    assert (f"interrupted: results up to bar {last} are written and marked interrupted; 1 system of later passes "
            "never stepped (so their folders say)") in stderr


@pytest.mark.parametrize("executor, stop, code", [("processes", signal.SIGINT, 130), ("dask", signal.SIGINT, 130),
                                                 ("processes", signal.SIGTERM, 143)])
def test_ctrl_c_or_sigterm_reaches_the_workers_of_a_parallel_run_and_none_outlives_it(tmp_path, executor, stop,
                                                                                      code):
    pytest.importorskip("distributed")
    import psutil

    process, run = start_long_run(tmp_path, 600_000, "--executor", executor, "--workers", "2")
    time.sleep(3)  # the workers start, load the bars and begin stepping
    workers = psutil.Process(process.pid).children(recursive=True)
    assert workers
    process.send_signal(stop)
    _, stderr = process.communicate(timeout=180)
    assert process.returncode == code, stderr
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert alive == []
    assert_every_file_is_whole(run)
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    statuses = set()
    for name in ("a", "b"):  # each on its own worker: one may have finished before the Ctrl-C
        performance = json.loads((run / name / "performance.json").read_text())
        statuses.add(performance["status"])
        last = performance["last_bar"]
        assert (performance["status"], last == 600_000 - 1) in {("interrupted", False), ("completed", True)}
        assert manifest["systems"][name] == {"status": performance["status"], "last_bar": last}
        assert len(pd.read_csv(run / name / "equity.csv")) == last + 1
    assert "interrupted" in statuses


def test_a_second_ctrl_c_stops_at_once_and_leaves_no_half_written_file(tmp_path):
    process, run = start_long_run(tmp_path)
    process.send_signal(signal.SIGINT)
    # two SIGINTs that reach a process before it runs are one (a pending signal is not queued twice): the
    # second goes once the first was heard, while the run stops and writes its results
    heard = next((line for line in process.stderr if "stopping at the next bar boundary" in line), "")
    assert heard, "the first Ctrl-C was not answered"
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "Traceback" not in stderr
    assert_every_file_is_whole(run)
    assert json.loads((run / "manifest.json").read_text())["status"] != "completed"


def test_sigkill_while_writing_leaves_only_whole_files_in_its_staging_folder_and_the_run_folder_alone(tmp_path):
    process, run = start_long_run(tmp_path, bars=300_000)
    [staging] = staging_folders(run)
    deadline = time.monotonic() + 120
    while not any(staging.glob("*/equity.csv")) and not any(staging.glob("*/.equity.csv.*.tmp")):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.005)
    process.kill()
    process.communicate()
    files = assert_every_file_is_whole(staging)
    assert json.loads((staging / "manifest.json").read_text())["status"] == "running"
    assert all(not path.name.endswith(".tmp") or path.name.startswith(".") for path in files)
    assert not run.exists()  # a killed run never takes the run folder's name


def test_an_output_folder_that_cannot_be_made_stops_the_run_before_the_first_bar(tmp_path):
    (tmp_path / "taken").write_text("a file, not a folder")
    config = write_config(tmp_path, backtest_config(system_config()))
    done = multifolio("run", str(config), "--quiet", "--output-dir", str(tmp_path / "taken" / "out"), cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    folder = tmp_path / "taken" / "out" / "test_run"
    assert done.stderr.strip() == (f"error: cannot write to the output folder {folder}: Not a directory; choose "
                                   "another with --output-dir or reporting.output_dir")


def test_a_full_disk_while_writing_ends_with_a_clear_error_and_nothing_that_looks_whole(tmp_path):
    """RLIMIT_FSIZE makes any file larger than 64 KiB fail to write (EFBIG), as a full disk would."""
    config = write_config(tmp_path, backtest_config(system_config(), data={
        "source": "synthetic", "symbols": ["SPY"], "bars": 5000, "seed": 1}, output_dir=tmp_path / "out"))
    limit = 64 * 1024
    # not measured by coverage: its data file would hit the same limit
    env = {key: value for key, value in os.environ.items() if not key.startswith("COVERAGE_PROCESS")}
    done = subprocess.run([str(MULTIFOLIO), "run", str(config), "--quiet"], cwd=tmp_path, capture_output=True,
                          text=True, env=env,
                          preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)))
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    run = tmp_path / "out" / "test_run"
    assert done.stderr.strip() == (f"error: writing the results to {run} failed: File too large; the files written "
                                   "are complete, but manifest.json does not say completed")
    assert_every_file_is_whole(run)
    assert not list(run.rglob(".*.tmp"))
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["error"].startswith("writing results failed: [Errno 27]")

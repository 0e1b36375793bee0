"""bars.parquet is written on a thread of its own while the systems step: the same bytes as written after the last
bar, its errors those of the run's writing, and the run folder never swapped in before it is written."""

from __future__ import annotations

import json
import threading

import pytest

import multifolio.running.run as running
from multifolio.config.registry import PluginRegistry
from multifolio.errors import MultifolioError
from multifolio.reports.writers import write_bars
from multifolio.running.run import run_backtest, write_run
from tests.builders import backtest_config, checked, files_of, system_config

SYSTEMS = [system_config("a", strategy={"type": "sma_crossover", "parameters": {"fast_period": 5, "slow_period": 20}}),
           system_config("b", strategy={"type": "momentum", "parameters": {"lookback_period": 10}})]


@pytest.mark.parametrize("keep_tables", [True, False])
def test_the_bars_written_while_the_systems_step_are_those_written_after_them(tmp_path, monkeypatch, keep_tables):
    registry = PluginRegistry()
    config = checked(backtest_config(*SYSTEMS, output_dir=tmp_path), registry)
    threads = []

    def writing_bars(*arguments):
        threads.append(threading.current_thread())
        return write_bars(*arguments)

    monkeypatch.setattr(running, "write_bars", writing_bars)
    outcome = run_backtest(config, registry, output_dir=tmp_path / "stepping", keep_tables=keep_tables)
    assert threads and all(thread is not threading.main_thread() for thread in threads)
    threads.clear()
    # the same run written from memory once it has ended: every file written on the calling thread
    kept = run_backtest(config, registry, write=False)
    after = files_of(write_run(kept, tmp_path / "after"))
    assert threads == [threading.main_thread()]
    assert files_of(outcome.folder) == after


def test_bars_that_cannot_be_written_fail_the_run_writing_as_any_file_does(tmp_path, monkeypatch):
    registry = PluginRegistry()
    config = checked(backtest_config(*SYSTEMS, output_dir=tmp_path), registry)

    def full_disk(bars, folder):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(running, "write_bars", full_disk)
    with pytest.raises(MultifolioError) as raised:
        run_backtest(config, registry, output_dir=tmp_path, keep_tables=False)
    folder = tmp_path / "test_run"
    assert str(raised.value) == (f"writing the results to {folder} failed: No space left on device; the files written "
                                 "are complete, but manifest.json does not say completed")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["error"].startswith("writing results failed: [Errno 28]")
    assert not (folder / "bars.parquet").exists() and not list(folder.rglob(".*.tmp"))


def test_a_run_that_fails_while_the_bars_are_written_swaps_its_folder_in_once_they_are(tmp_path, monkeypatch):
    """A bug of multifolio's in the stepping ends the run at once; the bars' thread is waited for before the run
    folder is swapped in, so the folder holds the whole file and its crash log, nothing half written."""
    registry = PluginRegistry()
    config = checked(backtest_config(*SYSTEMS, output_dir=tmp_path), registry)
    writing = threading.Event()

    def slow_bars(bars, folder):
        writing.set()
        threading.Event().wait(0.3)  # still writing when the stepping fails
        return write_bars(bars, folder)

    def failing_run(*arguments, **keywords):
        assert writing.wait(10)
        raise RuntimeError("a bug in the stepping")

    monkeypatch.setattr(running, "write_bars", slow_bars)
    monkeypatch.setattr(running, "_run_systems", failing_run)
    with pytest.raises(RuntimeError, match="a bug in the stepping"):
        run_backtest(config, registry, output_dir=tmp_path)
    folder = tmp_path / "test_run"
    assert sorted(path.name for path in folder.iterdir()) == ["bars.parquet", "crash.log", "manifest.json"]
    assert json.loads((folder / "manifest.json").read_text())["status"] == "failed"
    monkeypatch.undo()
    assert files_of(folder)["bars.parquet"] == files_of(write_run(run_backtest(
        checked(backtest_config(system_config("alone"), output_dir=tmp_path), registry), registry, write=False),
        tmp_path / "whole"))["bars.parquet"]

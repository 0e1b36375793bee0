"""A serial run that writes its folder and keeps no tables (the command line's) steps its systems in passes, each
pass's folders written before the next steps: the same files to the byte as a run that steps them all at once."""

from __future__ import annotations

import json

import pytest

import multifolio
import multifolio.running.executors.chunks as chunks
from multifolio.config.registry import PluginRegistry
from multifolio.running.run import NOT_STEPPED, passes, run_backtest
from tests.builders import backtest_config, checked, files_of, system_config

BARS = 400
SYSTEMS = [system_config("a", strategy={"type": "sma_crossover", "parameters": {"fast_period": 5, "slow_period": 20}}),
           system_config("b", strategy={"type": "momentum", "parameters": {"lookback_period": 10}}),
           system_config("c", strategy={"type": "mean_reversion"}),
           system_config("d", capital=25_000),
           system_config("e", strategy={"type": "sma_crossover", "parameters": {"fast_period": 3, "slow_period": 9}})]


def document(**reporting) -> dict:
    config = backtest_config(*SYSTEMS, data={"source": "synthetic", "symbols": ["SPY", "QQQ"], "bars": BARS,
                                             "seed": 3})
    config["reporting"].update(reporting)
    return config


@pytest.fixture
def two_systems_a_pass(monkeypatch):
    """Passes of two systems over the run's 400 bars (three passes for five systems)."""
    monkeypatch.setattr(chunks, "SYSTEM_BARS_PER_PASS", 2 * BARS)


def test_only_a_serial_run_keeping_no_tables_and_coupling_nothing_goes_in_passes(two_systems_a_pass):
    config = checked(document())
    names = [[spec.name for spec in batch] for batch in passes(config, BARS)]
    assert names == [["a", "b"], ["c", "d"], ["e"]]
    assert [len(batch) for batch in passes(config, BARS, keep_tables=True)] == [5]  # tables kept: all at once
    assert [len(batch) for batch in passes(config, 2 * BARS)] == [1, 1, 1, 1, 1]  # more bars: fewer a pass
    assert [len(batch) for batch in passes(config, BARS // 3)] == [5]
    parallel = checked({**document(), "execution_engine": {"type": "processes", "workers": 2}})
    assert [len(batch) for batch in passes(parallel, BARS)] == [5]
    booked = checked({**document(), "risk": {"limits": {"max_drawdown": 0.25}}})  # a book over all the systems
    assert [len(batch) for batch in passes(booked, BARS)] == [5]


@pytest.mark.parametrize("reporting", [{}, {"separate_reports": False}])
def test_passes_write_the_same_files_as_one_pass(tmp_path, monkeypatch, reporting):
    whole = multifolio.load(document(**reporting)).run(output_dir=tmp_path / "whole", keep_tables=False)
    monkeypatch.setattr(chunks, "SYSTEM_BARS_PER_PASS", 2 * BARS)
    told = []
    by_pass = multifolio.load(document(**reporting)).run(output_dir=tmp_path / "passes", keep_tables=False,
                                                         progress=lambda done, total: told.append(done))
    assert files_of(by_pass.folder) == files_of(whole.folder)
    assert by_pass.status == whole.status == "completed"
    assert by_pass.summary_document == whole.summary_document
    for name, system in by_pass.systems.items():
        assert system.metrics.equals(whole.systems[name].metrics)
    # the bars every system stepped, on average: two fifths of them after the first pass, all after the last
    assert told[-1] == BARS and 2 * BARS / 5 in told and 4 * BARS / 5 in told and told == sorted(told)


def test_each_pass_tells_its_figures_then_writes_its_folders(tmp_path, two_systems_a_pass):
    registry = PluginRegistry()
    told = []
    run_backtest(checked(document(), registry), registry, output_dir=tmp_path, keep_tables=False,
                 writing=lambda done, total, part: told.append((done, total, part)))
    assert told == [(0, 8, "figures"), (0, 8, "bars.parquet"), (1, 8, "a/"), (2, 8, "b/"),
                    (3, 8, "figures"), (3, 8, "c/"), (4, 8, "d/"),
                    (5, 8, "figures"), (5, 8, "e/"),
                    (6, 8, "combined_summary.json"), (7, 8, "reports"), (8, 8, "")]


def test_a_stop_request_ends_its_pass_and_the_later_passes_are_never_stepped(tmp_path, two_systems_a_pass):
    asked = []

    def stop_requested() -> bool:  # asked once a pass of 400 bars (one chunk of the engine's) and after it
        asked.append(True)
        return True

    result = multifolio.load(document()).run(output_dir=tmp_path, keep_tables=False, stop_requested=stop_requested)
    assert result.status == "interrupted"
    assert {name: system.status for name, system in result.systems.items()} == {
        "a": "completed", "b": "completed", "c": "failed", "d": "failed", "e": "failed"}
    manifest = json.loads((result.folder / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    for name in "cde":
        assert result.systems[name].error == NOT_STEPPED
        assert (result.folder / name / "error.log").read_text().strip() == NOT_STEPPED
        assert manifest["systems"][name] == {"status": "failed", "last_bar": -1, "error": NOT_STEPPED}
    # the summary is the stepped systems'
    assert list(result.summary.index) == ["a", "b", "combined"]

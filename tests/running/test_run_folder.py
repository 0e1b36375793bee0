"""The run folder belongs to its run: a rerun replaces it whole, a concurrent run is refused, and nothing
reached through a symbolic link is read or written."""

from __future__ import annotations

import fcntl
import json
import re

import pytest

from multifolio.config.registry import PluginRegistry
from multifolio.errors import MultifolioError
from multifolio.reports.html import render_run
from multifolio.running.folder import RunFolder
from multifolio.running.run import run_backtest
from tests.builders import backtest_config, checked, system_config

SMA = {"type": "sma_crossover", "parameters": {"fast_period": 5, "slow_period": 20}}


def run(tmp_path, *names):
    registry = PluginRegistry()
    config = checked(backtest_config(*(system_config(name, strategy=SMA) for name in names),
                                     data={"source": "synthetic", "symbols": ["SPY"], "bars": 300, "seed": 2}),
                     registry)
    return run_backtest(config, registry, output_dir=tmp_path / "out")


def test_a_rerun_replaces_the_folder_whole_and_leaves_nothing_beside_it(tmp_path):
    first = run(tmp_path, "alpha", "beta")
    (first.folder / "beta" / "error.log").write_text("a stale file of an older run")
    second = run(tmp_path, "alpha")
    assert second.folder == first.folder
    assert sorted(path.name for path in second.folder.iterdir() if path.is_dir()) == ["alpha"]
    assert json.loads((second.folder / "manifest.json").read_text())["systems"].keys() == {"alpha"}
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["test_run"]


def test_a_second_run_into_the_same_folder_at_the_same_time_is_refused_and_says_why(tmp_path):
    (tmp_path / "out").mkdir()
    with open(tmp_path / "out" / ".test_run.lock", "a") as held:  # another run holds the folder
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(MultifolioError, match=r"another multifolio run is writing .*test_run right now"):
            run(tmp_path, "alpha")
    assert not (tmp_path / "out" / "test_run").exists()
    assert run(tmp_path, "alpha").status == "completed"  # once it is free


def test_a_run_folder_that_is_a_symbolic_link_is_replaced_never_written_through(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "test_run").symlink_to(elsewhere)
    outcome = run(tmp_path, "alpha")
    assert not outcome.folder.is_symlink() and list(elsewhere.iterdir()) == []


def test_report_renders_only_the_systems_the_manifest_lists_and_follows_no_link(tmp_path):
    outcome = run(tmp_path, "alpha")
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "performance.json").write_text((outcome.folder / "alpha" / "performance.json").read_text())
    (outcome.folder / "intruder").symlink_to(foreign)
    (outcome.folder / "copied").mkdir()
    (outcome.folder / "copied" / "performance.json").write_text(json.dumps({"status": "completed"}))
    written = render_run(outcome.folder)
    assert sorted(path.relative_to(outcome.folder).as_posix() for path in written) == [
        "alpha/report.html", "combined_summary.html", "plotly.min.js"]
    assert list(foreign.iterdir()) == [foreign / "performance.json"]


def test_a_run_that_raises_still_swaps_its_folder_in_and_lets_the_folder_go(tmp_path):
    target = tmp_path / "out" / "run"
    with pytest.raises(RuntimeError), RunFolder(target) as staging:
        assert staging.parent == target.parent and staging.name.startswith(".run.")
        raise RuntimeError("the run's own outcome, whatever it is, is what the folder shows")
    assert target.is_dir() and sorted(path.name for path in target.parent.iterdir()) == ["run"]


@pytest.mark.parametrize("make, says", [
    (lambda path: path.write_text("notes"), "is a file, not a run folder"),
    (lambda path: (path.mkdir(), (path / "thesis.tex").write_text("years of work")),
     "exists and is not a run folder (it has no manifest.json)")])
def test_what_is_not_a_run_folder_is_never_replaced(tmp_path, make, says):
    target = tmp_path / "out" / "test_run"
    target.parent.mkdir()
    make(target)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with pytest.raises(MultifolioError, match=re.escape(says)):
        run(tmp_path, "alpha")
    assert sorted(p.name for p in tmp_path.rglob("*")) == before

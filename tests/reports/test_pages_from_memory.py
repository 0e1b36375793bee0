"""A run draws its pages from the frames it still holds (bars, equity, indicators, combined equity);
`multifolio report` reads the same frames back from the files. Both give the same bytes, for every kind of
run; a run in a time zone whose UTC offset changes (daylight saving time) renders and re-renders too."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from multifolio.config.registry import PluginRegistry
from multifolio.reports.html import render_run
from multifolio.running.run import run_backtest, validate_document
from tests.integration.test_golden import REPO

# the examples on synthetic data, shortened: a book with an allocation, exits and limit entries, four symbols
# in the full form, a sweep, and a walk-forward study on GOOG with weekly bars
EXAMPLES = {"portfolio_example": 400, "exits_example": 3000, "full_form_example": 1500, "sweep_example": 1500,
            "walk_forward_goog": None}


def pages(folder):
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*.html"))}


def run_document(document, tmp_path):
    registry = PluginRegistry()
    return run_backtest(validate_document(document, registry), registry, output_dir=tmp_path).folder


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_the_pages_a_run_draws_from_memory_are_those_drawn_from_its_files(example, tmp_path):
    document = yaml.safe_load((REPO / "configs" / f"{example}.yaml").read_text())
    if EXAMPLES[example]:
        document["data"]["bars"] = EXAMPLES[example]
    folder = run_document(document, tmp_path)
    drawn = pages(folder)
    assert len(drawn) == 1 + sum(1 for path in folder.glob("*/performance.json"))  # every system and the book
    for path in folder.rglob("*.html"):
        path.unlink()
    render_run(folder)
    assert pages(folder) == drawn


def daylight_saving_bars(path):
    """Daily bars at 09:30 New York time from February to April 2024: the offset goes from −5 h to −4 h on
    10 March, so the CSVs the run writes carry both."""
    stamps = pd.date_range("2024-02-01 09:30", "2024-04-30 09:30", freq="B", tz="America/New_York")
    closes = 100 + np.random.default_rng(3).normal(0, 1, len(stamps)).cumsum()
    pd.DataFrame({"timestamp": stamps.strftime("%Y-%m-%dT%H:%M:%S%z"), "open": closes, "high": closes + 1,
                  "low": closes - 1, "close": closes, "volume": 1_000}).to_csv(path, index=False)


def test_a_run_in_a_zone_with_daylight_saving_time_renders_and_rerenders_to_the_same_bytes(tmp_path):
    daylight_saving_bars(tmp_path / "bars.csv")
    config = tmp_path / "zoned.yaml"
    config.write_text(yaml.safe_dump({
        "data": {"source": "csv", "file_path": "bars.csv", "symbols": ["SPY"], "timezone": "America/New_York"},
        "trading_systems": [{"name": "crossover", "portfolio": {"initial_capital": 100_000},
                             "strategy": {"type": "sma_crossover", "parameters": {"fast_period": 3,
                                                                                   "slow_period": 8}},
                             "risk": {"position_sizers": [{"type": "fixed", "size": 10}]}}]}))
    multifolio = [sys.executable, "-m", "multifolio"]
    done = subprocess.run([*multifolio, "run", "zoned.yaml", "--quiet", "--output-dir", "out"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    [folder] = (tmp_path / "out").iterdir()
    assert json.loads((folder / "manifest.json").read_text())["data"]["timezone"] == "America/New_York"
    equity = (folder / "crossover" / "equity.csv").read_text()
    assert "2024-03-08 09:30:00-05:00" in equity and "2024-03-11 09:30:00-04:00" in equity
    drawn = pages(folder)
    done = subprocess.run([*multifolio, "report", str(folder)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert pages(folder) == drawn
    # the page's period is the bars' own: from the first to the last New York session
    page = drawn["crossover/report.html"].decode()
    assert "2024-02-01 09:30:00-05:00" in page and "2024-04-30 09:30:00-04:00" in page

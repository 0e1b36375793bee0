"""Runs written once per session (two systems on two symbols; more systems than the combined summary's caps)
and a real headless Chromium to open them."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from multifolio.config.registry import PluginRegistry
from multifolio.reports.analysis import MATRIX_SYSTEMS_LIMIT
from multifolio.running.run import RunOutcome, run_backtest
from tests.builders import backtest_config, checked, system_config

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# more bars than a chart draws (multifolio.reports.downsample.DISPLAY_POINTS), so downsampling is part of every check
BARS = 6000


def report_config(output_dir: Path) -> dict:
    """The dual-portfolio example's two systems on two symbols: they trade, and they oppose each other."""
    momentum = system_config("momentum_system", capital=50_000, indicators=["SMA_20", "RSI"],
                             strategy={"type": "momentum",
                                       "parameters": {"lookback_period": 20, "momentum_threshold": 0.0002}},
                             sizers=[{"type": "fixed", "size": 1000}],
                             limits=[{"type": "max_position_value", "value": 5000}],
                             execution={"slippage_bps": 5, "commission": 0.005}, namespace="momentum")
    reversion = system_config("mean_reversion_system", capital=50_000, indicators=["BB_20", "RSI"],
                              strategy={"type": "mean_reversion", "parameters": {
                                  "lookback_period": 20, "entry_threshold": 2.0, "exit_threshold": 0.5}},
                              sizers=[{"type": "percentage", "size": 0.1}],
                              limits=[{"type": "max_total_exposure", "value": 1.0}],
                              execution={"slippage_bps": 5, "commission": 0.005}, namespace="mean_reversion")
    return backtest_config(momentum, reversion, output_dir=output_dir, name="report test",
                           data={"source": "synthetic", "symbols": ["SPY", "QQQ"], "bars": BARS, "seed": 7})


def run_report_config(output_dir: Path) -> RunOutcome:
    registry = PluginRegistry()
    return run_backtest(checked(report_config(output_dir), registry), registry)


@pytest.fixture(scope="session")
def report_run(tmp_path_factory) -> RunOutcome:
    return run_report_config(tmp_path_factory.mktemp("reports"))


def many_systems_config(output_dir: Path, count: int = MATRIX_SYSTEMS_LIMIT + 5) -> dict:
    """More systems than every cap of the combined summary (correlation matrix, systems shown, pairs
    listed), on few bars: momentum and mean reversion at many speeds, long and short, so most pairs oppose."""
    systems = []
    for number in range(count):
        if number % 2:
            strategy = {"type": "momentum", "parameters": {"lookback_period": 2 + number % 9,
                                                           "momentum_threshold": 0.0002 * (number % 3)}}
            indicators = ["SMA_20"]
        else:
            strategy = {"type": "mean_reversion", "parameters": {"lookback_period": 10 + number % 11,
                                                                 "entry_threshold": 1.0 + 0.1 * (number % 7),
                                                                 "exit_threshold": 0.3}}
            indicators = ["BB_20"]
        systems.append(system_config(f"system_{number:02d}", indicators=indicators, strategy=strategy,
                                     sizers=[{"type": "fixed", "size": 5 + number % 4}],
                                     execution={"slippage_bps": 5, "commission": 0.005}))
    document = backtest_config(*systems, output_dir=output_dir, name="many systems",
                               data={"source": "synthetic", "symbols": ["SPY"], "bars": 400, "seed": 3})
    document["reporting"]["separate_reports"] = False  # the combined summary is what is capped
    return document


@pytest.fixture(scope="session")
def many_systems_run(tmp_path_factory) -> RunOutcome:
    registry = PluginRegistry()
    return run_backtest(checked(many_systems_config(tmp_path_factory.mktemp("many")), registry), registry)


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium driven by playwright (`playwright install` is never needed)."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).exists():
        message = "the browser tests need Debian's chromium: apt-get install -y chromium (.ci/run does it)"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI installs it: missing there is a broken CI, never a skip
        pytest.skip(message)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def sweep_config(output_dir: Path, *, standalone: bool = False) -> dict:
    """A 3 × 2 sweep of an SMA crossover (one combination left out by the constraint: 5 systems) beside a
    mean-reversion system that is no part of it: long and short, so the strategies oppose each other."""
    swept = system_config("sma", capital=50_000, strategy={"type": "sma_crossover", "parameters": {
        "fast_period": 10, "slow_period": 30, "allow_short": True}}, sizers=[{"type": "fixed", "size": 100}],
        execution={"slippage_bps": 1, "commission": 0.005})
    swept["sweep"] = {"strategy.parameters.fast_period": [5, 10, 20], "strategy.parameters.slow_period": [20, 40]}
    swept["constraint"] = "fast_period < slow_period"
    other = system_config("reversion", capital=50_000, indicators=["BB_20"], strategy={
        "type": "mean_reversion", "parameters": {"lookback_period": 20, "entry_threshold": 1.5, "exit_threshold": 0.5}},
        sizers=[{"type": "fixed", "size": 100}], execution={"slippage_bps": 1, "commission": 0.005})
    document = backtest_config(swept, other, output_dir=output_dir, name="sweep test",
                               data={"source": "synthetic", "symbols": ["SPY"], "bars": 1500, "seed": 7})
    document["reporting"]["standalone"] = standalone
    return document


@pytest.fixture(scope="session")
def sweep_run(tmp_path_factory) -> RunOutcome:
    registry = PluginRegistry()
    return run_backtest(checked(sweep_config(tmp_path_factory.mktemp("sweep")), registry), registry)

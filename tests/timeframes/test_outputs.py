"""`@` keys in what a run writes: indicators.parquet columns and the HTML report, and one computation per series."""

from __future__ import annotations

import pandas as pd
from backtesting.test import GOOG

import multifolio
from multifolio.running.run import build_container
from tests.builders import backtest_config, checked, system_config


def test_at_keys_are_parquet_columns_and_appear_in_the_html_report(tmp_path):
    document = backtest_config(system_config(
        "weekly", indicators=["SMA_5@1W", {"type": "RSI", "period": 6, "timeframe": "1M"}],
        strategy={"type": "sma_crossover", "parameters": {"fast_period": 5, "slow_period": 20, "trend": "SMA_5@1W"}}),
        data={"symbols": ["GOOG"]})
    result = multifolio.run(document, data={"GOOG": GOOG.rename(columns=str.lower)}, output_dir=tmp_path)
    written = pd.read_parquet(result.folder / "weekly" / "indicators.parquet")
    assert {"SMA_5@1W", "RSI_6@1M", "SMA_5", "SMA_20"} <= set(written.columns)
    pd.testing.assert_series_equal(written["SMA_5@1W"], result.systems["weekly"].indicators["SMA_5@1W"])
    html = "\n".join(path.read_text() for path in result.folder.rglob("*.html"))
    assert "SMA_5@1W" in html and "RSI_6@1M" in html


def test_the_key_and_the_keyword_form_in_two_systems_are_one_computation(registry):
    document = backtest_config(system_config("alpha", indicators=["SMA_5@1W", "SMA_5"]),
                               system_config("beta", indicators=[{"type": "SMA", "period": 5, "timeframe": "7D"},
                                                                 {"type": "SMA", "period": 5, "timeframe": "1w"}]))
    config = checked(document, registry)
    root = build_container(config, registry)
    views = [root.trading_system(spec=spec).indicators() for spec in config.systems]
    assert root.data.features().computations == 3  # SMA_5@1W, SMA_5, SMA_5@7D: each once
    assert views[0].arrays("SPY")["SMA_5@1W"] is views[1].arrays("SPY")["SMA_5@1W"]
    assert [spec.key for spec in config.systems[1].indicators] == ["SMA_5@7D", "SMA_5@1W"]


def test_workers_read_the_stamps_as_the_caller_does():
    """EURUSD's hours read as close-stamped: each bar belongs to the 4-hour bucket it closes, on the worker
    processes as in the calling process (the setting travels with the bars), and differently from open stamps."""
    def run(executor: str, timestamps: str) -> pd.DataFrame:
        system = system_config("fx", indicators=["SMA_3@4h"], strategy={
            "type": "sma_crossover", "parameters": {"fast_period": 5, "slow_period": 20, "trend": "SMA_3@4h"}})
        document = backtest_config(system, data={"source": "backtesting_samples", "symbols": ["EURUSD"],
                                                 "timestamps": timestamps})
        document["execution_engine"] = {"type": executor, **({"workers": 2} if executor != "serial" else {})}
        return multifolio.run(document).systems["fx"]

    serial, processes = run("serial", "close"), run("processes", "close")
    pd.testing.assert_frame_equal(processes.indicators, serial.indicators)
    pd.testing.assert_frame_equal(processes.trades, serial.trades)
    assert not run("serial", "open").indicators["SMA_3@4h"].equals(serial.indicators["SMA_3@4h"])

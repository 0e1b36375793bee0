"""bench/time_to_result.py: its peer children trade as tests/parity/peers.py's strategies; the benchmark runs whole."""

from __future__ import annotations

import json
import sys

import pandas as pd
import pytest

import bench.peers
from bench import time_to_result
from tests.parity import peers as parity

BARS = 8_000  # holds the synthetic bars' first exact tie of SMA(10) and SMA(30), on 2024-01-26 13:33


@pytest.fixture
def bars(tmp_path, monkeypatch):
    """The benchmark's Parquet bars, made in the test's folder rather than in bench/.data."""
    monkeypatch.setattr(bench.peers, "DATA_DIR", tmp_path / "data")
    return bench.peers.data_file(BARS)


def rows(trades) -> list[list]:
    return bench.peers._trade_rows(trades["entry_time"], trades["exit_time"], trades["entry_price"],
                                   trades["exit_price"])


def test_the_peer_children_trade_as_the_parity_strategies_and_as_the_direct_computation(bars, tmp_path, capsys):
    data = bench.peers.peer_frame(bars)
    backtesting = rows(time_to_result.backtesting_child(bars, tmp_path))
    backtrader = rows(time_to_result.backtrader_child(bars, tmp_path))

    assert backtesting == rows(parity.run_backtesting(data, talib=True)[0])
    assert backtrader == rows(parity.run_backtrader(data, talib=True)[0])
    assert sorted(backtesting) == sorted(bench.peers.crossover_trades(bars, "strict"))
    assert backtrader == bench.peers.crossover_trades(bars, "keep") != backtesting  # the tie
    assert (tmp_path / "SmaCross.html").is_file() and "Final portfolio value" in capsys.readouterr().out


def test_the_vectorbt_child_leaves_its_trades_and_its_stepping_and_warm_up_apart(tmp_path, monkeypatch):
    trade = ["2024-01-02 10:17:00", "2024-01-02 10:51:00", 100.05, 100.03]
    monkeypatch.setattr(bench.peers, "run_vectorbt", lambda path: {"load_s": 0.0, "run_s": 0.0, "trades": [trade]})
    time_to_result.child("vectorbt", tmp_path / "bars.parquet", tmp_path)

    assert rows(pd.read_parquet(tmp_path / time_to_result.TRADE_FILE)) == [trade]
    timings = json.loads((tmp_path / "vectorbt.json").read_text())
    assert timings["stepping_s"] == 0.0 and 0 <= timings["warm_up_s"] < 1


def test_the_tables_give_medians_the_ratio_to_multifolio_and_the_cost_of_each_added_system():
    def runs(*seconds, peak_mb=100.0):
        return [{"seconds": value, "peak_mb": peak_mb, "trades": [[]] * 5} for value in seconds]

    found = time_to_result.tables({("multifolio", 1): runs(2.0, 1.0, 3.0), ("backtesting", 1): runs(5.0, 6.0, 4.0),
                                   ("multifolio", 8): runs(9.0, 9.0, 9.0, peak_mb=170.0)}, {}, ["vectorbt"],
                                  bars=1_000, repeats=3)

    assert [(row["median"], row["ratio"]) for row in found.engines] == [(2.0, 1.0), (5.0, 2.5)]
    assert found.slope() == (1.0, 10.0)
    assert found.headline == "backtesting.py ÷ multifolio, whole process: 2.50× (medians; per round 1.33–6.00; " \
                             "goal ≥ 2.5: met)"
    assert "vectorbt                 (not installed)" in found.text()
    assert "| backtesting.py " in found.markdown() and "Each added system: +1.000 s, +10.0 MB" in found.markdown()


@pytest.mark.slow
def test_the_benchmark_checks_the_trades_and_prints_and_writes_its_tables(bars, tmp_path, monkeypatch, capsys):
    markdown = tmp_path / "time_to_result.md"
    monkeypatch.setattr(sys, "argv", ["time_to_result.py", "--bars", str(BARS), "--repeats", "2", "--systems", "1",
                                      "2", "--peers", "backtesting", "--markdown", str(markdown)])
    time_to_result.main()

    printed = capsys.readouterr()
    assert "backtesting.py ÷ multifolio, whole process:" in printed.out and "per round" in printed.out
    assert "161 trades, not 162: at exact ties of the SMAs" in printed.out
    assert printed.err.count("round 2/2:") == 3  # multifolio, backtesting.py, multifolio with 2 systems
    table = markdown.read_text()
    assert "| multifolio " in table and "| 2 | " in table and "Each added system:" in table

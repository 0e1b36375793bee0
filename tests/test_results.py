"""`Result` in a notebook: each sweep's leaderboard as a DataFrame, ranked as the report ranks it."""

from __future__ import annotations

import math

import multifolio
from tests.builders import backtest_config, system_config


def sweep_config(metric: str) -> dict:
    swept = system_config("sma", strategy={"type": "sma_crossover", "parameters": {"fast_period": 5,
                                                                                   "slow_period": 20}})
    swept["sweep"] = {"strategy.parameters.fast_period": [5, 10],
                      "strategy.parameters.slow_period": {"start": 10, "stop": 30, "step": 10}}
    swept["constraint"] = "fast_period < slow_period"
    document = backtest_config(system_config("holder"), swept)
    document["reporting"]["sweep_metric"] = metric
    return document


def test_sweeps_gives_each_swept_entry_its_leaderboard_with_the_swept_values_best_first():
    result = multifolio.run(sweep_config("volatility"))  # lower is better: the order says the rule was used
    [(entry, board)] = result.sweeps.items()
    assert entry == "sma"
    assert list(board.columns) == ["system", "fast_period", "slow_period", "volatility"]
    assert list(board.index) == [1, 2, 3, 4, 5] and board.index.name == "rank"  # 2 × 3 less 10/10
    assert set(board["system"]) == set(result.systems) - {"holder"}
    assert list(board["volatility"]) == sorted(board["volatility"])
    for row in board.itertuples():
        assert row.system == f"sma.fast_period-{row.fast_period}.slow_period-{row.slow_period}"
        assert math.isclose(row.volatility, result.summary.loc[row.system, "volatility"])
    leaderboard = result.summary_document["sweeps"]["groups"][0]["leaderboard"]
    assert list(board["system"]) == [row["system"] for row in leaderboard]


def test_sweeps_is_empty_without_a_sweep():
    assert multifolio.run(backtest_config(system_config("holder"))).sweeps == {}


def test_overfitting_gives_each_sweep_its_deflated_sharpe_and_pbo_as_in_the_summary():
    result = multifolio.run(sweep_config("sharpe"))
    group = result.summary_document["sweeps"]["groups"][0]
    assert result.overfitting == {"sma": group["overfitting"]}
    dsr, pbo = result.overfitting["sma"]["deflated_sharpe"], result.overfitting["sma"]["pbo"]
    assert dsr["trials"] == 5 and 0 <= dsr["value"] <= 1
    # the best by Sharpe: per-bar Sharpe orders the systems as the annualised one does
    assert dsr["system"] == result.sweeps["sma"].loc[1, "system"]
    assert (pbo["systems"], pbo["splits"]) == (5, 12870) and 0 <= pbo["value"] <= 1

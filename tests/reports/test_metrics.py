"""Performance figures on curves small enough to work out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from multifolio.reports.metrics import drawdown_episodes, equity_metrics, periods_per_year, trade_metrics

DAYS = pd.date_range("2024-01-01", periods=5, freq="D")


def test_drawdown_depth_and_duration_from_peak_to_recovery():
    equity = pd.Series([100.0, 110.0, 99.0, 104.5, 111.0])
    episodes = drawdown_episodes(equity, DAYS)
    assert episodes["depth"].tolist() == pytest.approx([99 / 110 - 1])
    assert episodes["bars"].tolist() == [3] and episodes["days"].tolist() == [3.0]  # peak day 1 → back on day 4


def test_a_gain_over_minutes_annualises_to_infinity_not_an_overflow():
    """2 % in four minutes compounds past the largest float in a year: CAGR is +inf (null in JSON); 2 % in four
    days is still a number."""
    minutes = pd.date_range("2024-01-02 09:30", periods=5, freq="1min")
    equity = pd.Series([100.0, 101.0, 100.5, 101.5, 102.0])
    assert equity_metrics(equity, minutes, 100.0)["cagr"] == math.inf
    assert equity_metrics(equity, DAYS, 100.0)["cagr"] == pytest.approx(1.02 ** (365.25 / 4) - 1)


def test_equity_metrics_on_a_four_day_curve():
    """Returns 0.1, −0.1, 0.05, 0.0 (first against capital 100); 4 bars over 3 days."""
    equity = pd.Series([110.0, 99.0, 103.95, 103.95])
    stamps = DAYS[:4]
    metrics = equity_metrics(equity, stamps, 100.0, position_value=pd.Series([1.0, 1.0, 0.0, 0.0]))
    returns = np.array([0.1, -0.1, 0.05, 0.0])
    per_year = 3 / (3 / 365.25)
    assert metrics["periods_per_year"] == pytest.approx(per_year)
    assert metrics["total_return"] == pytest.approx(0.0395)
    assert metrics["cagr"] == pytest.approx(1.0395 ** (365.25 / 3) - 1)
    assert metrics["volatility"] == pytest.approx(np.std(returns, ddof=1) * math.sqrt(per_year))
    assert metrics["sharpe"] == pytest.approx(returns.mean() / np.std(returns, ddof=1) * math.sqrt(per_year))
    assert metrics["sortino"] == pytest.approx(returns.mean() / math.sqrt(0.01 / 4) * math.sqrt(per_year))
    assert metrics["max_drawdown"] == pytest.approx(-0.1)
    assert metrics["max_drawdown_duration_bars"] == 3  # never recovered: peak bar 0 to the last bar
    assert metrics["exposure"] == 0.5


def test_trade_metrics_count_wins_losses_and_the_profit_factor():
    trades = pd.DataFrame({"net_pnl": [10.0, -5.0, 20.0, -5.0], "return_pct": [0.1, -0.05, 0.2, -0.05],
                           "bars_held": [1, 2, 3, 4], "gross_pnl": [11.0, -4.0, 21.0, -4.0]})
    metrics = trade_metrics(trades)
    assert metrics["num_trades"] == 4 and metrics["win_rate"] == 0.5
    assert metrics["profit_factor"] == 3.0 and metrics["expectancy"] == 5.0
    assert metrics["best_trade"] == 20.0 and metrics["worst_trade"] == -5.0
    assert metrics["sqn"] == pytest.approx(2 * 5.0 / np.std([10, -5, 20, -5], ddof=1))
    assert metrics["average_bars_held"] == 2.5 and metrics["net_pnl"] == 20.0


def test_periods_per_year_of_daily_stock_data_is_about_252():
    from backtesting.test import GOOG
    assert periods_per_year(GOOG.index) == pytest.approx(251.7, abs=0.1)

"""No figure is computed on a negative equity: the curve is bounded once, in reports/metrics.py."""

from __future__ import annotations

import numpy as np
import pandas as pd

from multifolio.reports.metrics import bounded_equity, drawdowns, equity_metrics, returns_of


def test_a_solvent_curve_is_handed_back_as_it_is():
    values = np.array([100.0, 90.0, 120.0])
    assert bounded_equity(values) is values


def test_ruin_is_minus_100_percent_once_and_then_no_return():
    equity = pd.Series([100.0, 50.0, -10.0, -20.0, 5.0])
    np.testing.assert_array_equal(bounded_equity(equity), [100.0, 50.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(returns_of(equity, 100.0), [0.0, -0.5, -1.0])  # bars 3 and 4 carry none
    np.testing.assert_array_equal(drawdowns(equity), [0.0, -0.5, -1.0, -1.0, -1.0])
    figures = equity_metrics(equity, pd.date_range("2024-01-01", periods=5, freq="D"), 100.0)
    assert figures["total_return"] == -1.0 and figures["max_drawdown"] == -1.0 and figures["cagr"] == -1.0
    assert figures["final_equity"] == 5.0

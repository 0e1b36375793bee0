"""Our metrics against empyrical-reloaded on the same returns and the same annualisation factor.

Definitions differ in two places, both ours on purpose: CAGR counts years as the time the
data spans, (bars − 1) / bars per year, where empyrical counts bars / factor, so empyrical
gets factor × n / (n − 1); and our drawdown starts at the first bar's close, not at the
initial capital (the curves below open with a gain, where both agree).
"""

from __future__ import annotations

import empyrical
import numpy as np
import pandas as pd
import pytest

from multifolio.reports.metrics import equity_metrics, periods_per_year

TOLERANCE = {"rel": 1e-9, "abs": 1e-12}


@pytest.fixture(params=[("D", 7), ("1min", 11), ("B", 23)])
def curve(request):
    frequency, seed = request.param
    rng = np.random.default_rng(seed)
    returns = rng.normal(0.0003, 0.01, size=1500)
    returns[0] = 0.004
    stamps = pd.date_range("2021-01-04", periods=len(returns), freq=frequency)
    capital = 10_000.0
    return pd.Series(capital * np.cumprod(1 + returns)), stamps, capital, returns


def test_equity_metrics_match_empyrical(curve):
    equity, stamps, capital, returns = curve
    metrics = equity_metrics(equity, stamps, capital)
    factor = periods_per_year(stamps)
    span_factor = factor * len(returns) / (len(returns) - 1)
    assert metrics["total_return"] == pytest.approx(empyrical.cum_returns_final(returns), **TOLERANCE)
    assert metrics["volatility"] == pytest.approx(empyrical.annual_volatility(returns, annualization=factor),
                                                  **TOLERANCE)
    assert metrics["sharpe"] == pytest.approx(empyrical.sharpe_ratio(returns, annualization=factor), **TOLERANCE)
    assert metrics["sortino"] == pytest.approx(empyrical.sortino_ratio(returns, annualization=factor), **TOLERANCE)
    assert metrics["max_drawdown"] == pytest.approx(empyrical.max_drawdown(returns), **TOLERANCE)
    assert metrics["cagr"] == pytest.approx(empyrical.annual_return(returns, annualization=span_factor),
                                            **TOLERANCE)
    assert metrics["calmar"] == pytest.approx(empyrical.calmar_ratio(returns, annualization=span_factor),
                                              **TOLERANCE)

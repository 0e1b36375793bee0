"""`reporting.benchmark`: the figures against buying and holding a symbol, by hand on a tiny case and against
empyrical-reloaded on GOOG's daily bars, per system (alone and funded by an allocation) and for the book."""

from __future__ import annotations

import math

import empyrical
import numpy as np
import pandas as pd
import pytest
from backtesting.test import GOOG

import multifolio
from multifolio.errors import ConfigErrors
from multifolio.reports.benchmark import benchmark_metrics, relative_figures
from multifolio.reports.catalogue import FIGURES, HIGHER, LOWER
from multifolio.reports.html import metric_rows
from multifolio.reports.metrics import periods_per_year
from tests.builders import backtest_config, system_config

TOLERANCE = {"rel": 1e-12, "abs": 1e-12}
RELATIVE = ("alpha", "beta", "information_ratio", "tracking_error", "up_capture", "down_capture")


def test_a_tiny_case_by_hand():
    # the system returns 2 × the benchmark + 0.1 % every bar: beta 2, a residual of 0.1 % a bar;
    # bar 0 (no benchmark return yet) is left out
    factor = np.array([0.01, -0.02, 0.03, 0.005])
    returns = 2 * factor + 0.001
    stamps = pd.date_range("2024-01-01", periods=5, freq="D")  # 4 days in a year of 365.25: 365.25 bars a year
    equity = pd.Series(1000.0 * np.cumprod(np.concatenate(([1.0], 1 + returns))))
    closes = pd.Series(100.0 * np.cumprod(np.concatenate(([1.0], 1 + factor))), index=stamps)
    figures = benchmark_metrics(equity, stamps, 1000.0, closes)
    assert figures["beta"] == pytest.approx(2.0, rel=1e-12)
    assert figures["alpha"] == pytest.approx(1.001 ** 365.25 - 1, rel=1e-9)
    active = factor + 0.001  # returns − factor
    spread = math.sqrt(sum((a - active.mean()) ** 2 for a in active) / 3)
    assert figures["tracking_error"] == pytest.approx(spread * math.sqrt(365.25), rel=1e-12)
    assert figures["information_ratio"] == pytest.approx(active.mean() / spread * math.sqrt(365.25), rel=1e-12)
    # up bars: 1 %, 3 %, 0.5 % against 2.1 %, 6.1 %, 1.1 %, each growth annualised over 3 bars
    up = (1.021 * 1.061 * 1.011) ** (365.25 / 3) - 1, (1.01 * 1.03 * 1.005) ** (365.25 / 3) - 1
    assert figures["up_capture"] == pytest.approx(up[0] / up[1], rel=1e-9)
    down = 0.961 ** 365.25 - 1, 0.98 ** 365.25 - 1
    assert figures["down_capture"] == pytest.approx(down[0] / down[1], rel=1e-9)


def test_bars_before_the_benchmarks_first_and_its_gaps():
    stamps = pd.date_range("2024-01-01", periods=6, freq="D")
    equity = pd.Series([1000.0, 1010.0, 1030.0, 1000.0, 1020.0, 1050.0])
    # no close before bar 2 (those bars are left out); no bar at 4: carried forward, 0 % there, the move at 5
    closes = pd.Series([math.nan, math.nan, 50.0, 51.0, 51.0, 52.0], index=stamps)
    figures = benchmark_metrics(equity, stamps, 1000.0, closes)
    expected = relative_figures(np.array([1000 / 1030 - 1, 1020 / 1000 - 1, 1050 / 1020 - 1]),
                                np.array([0.02, 0.0, 52 / 51 - 1]), periods_per_year(stamps))
    assert figures == pytest.approx(expected, rel=1e-15, nan_ok=True)


def test_up_capture_is_empyricals_at_its_daily_factor():
    rng = np.random.default_rng(3)
    factor = rng.normal(0.0005, 0.01, 400)
    returns = 0.7 * factor + rng.normal(0.0002, 0.005, 400)
    figures = relative_figures(returns, factor, 252.0)
    assert figures["up_capture"] == pytest.approx(empyrical.up_capture(returns, factor), **TOLERANCE)
    assert figures["down_capture"] == pytest.approx(empyrical.down_capture(returns, factor), **TOLERANCE)


def _two_symbols() -> dict[str, pd.DataFrame]:
    """GOOG's daily bars and a second series: GOOG 30 bars later at half the price, every 9th bar missing."""
    lagged = GOOG.copy()
    lagged[["Open", "High", "Low", "Close"]] = GOOG[["Open", "High", "Low", "Close"]].shift(-30).to_numpy() * 0.5
    lagged = lagged.iloc[:-30]
    return {"GOOG": GOOG, "LAGGED": lagged.drop(lagged.index[5::9])}


def _reference(returns: pd.Series, closes: pd.Series) -> dict[str, float]:
    """empyrical's figures of `returns` (indexed by time) against buying and holding `closes` (the run's
    timeline, NaN where the symbol has no bar)."""
    per_year = periods_per_year(returns.index)
    factor = closes.ffill().reindex(returns.index).pct_change(fill_method=None)
    paired = factor.notna() & returns.notna()
    r, b = returns[paired].to_numpy(), factor[paired].to_numpy()
    alpha, beta = empyrical.alpha_beta_aligned(r, b, annualization=per_year)

    def capture(chosen):
        return (empyrical.annual_return(r[chosen], annualization=per_year)
                / empyrical.annual_return(b[chosen], annualization=per_year))

    return {"alpha": alpha, "beta": beta, "information_ratio": empyrical.excess_sharpe(r, b) * math.sqrt(per_year),
            "tracking_error": empyrical.annual_volatility(r - b, annualization=per_year),
            "up_capture": capture(b > 0), "down_capture": capture(b < 0)}


def _bar_returns(equity: pd.DataFrame, capital: float) -> pd.Series:
    """Each bar's return on the capital it started with (the previous close and what the book moved in), over
    the bars it had capital; the first against the initial capital."""
    moved = equity.get("transfers", 0.0)
    start = equity["equity"].shift(1, fill_value=capital) + moved
    returns = (equity["equity"] / start - 1).where(start > 0)
    funded = np.flatnonzero(start > 0)
    return pd.Series(returns.to_numpy(), index=pd.DatetimeIndex(equity["timestamp"])).iloc[funded[0]:funded[-1] + 1]


SYSTEMS = (system_config("trend", strategy={"type": "sma_crossover", "parameters": {"fast_period": 10,
                                                                                    "slow_period": 30}}),
           system_config("momentum", strategy={"type": "momentum", "parameters": {"lookback_period": 20,
                                                                                  "momentum_threshold": 0.002}}),
           system_config("held"))


@pytest.mark.parametrize("symbol", ["GOOG", "LAGGED"])
@pytest.mark.parametrize("allocated", [False, True], ids=["alone", "allocated"])
def test_every_system_and_the_book_match_empyrical_on_goog(symbol, allocated):
    config = backtest_config(*SYSTEMS, data={"symbols": ["GOOG", "LAGGED"]})
    config["reporting"] = {"benchmark": symbol}
    if allocated:
        for entry in config["trading_systems"]:
            del entry["portfolio"]["initial_capital"]
        config["allocation"] = {"capital": 30_000, "method": "equal", "rebalance": {"every": "3M"}}
    result = multifolio.run(config, data=_two_symbols())
    closes = result._outcome.market.frame().pivot(index="timestamp", columns="symbol", values="close")[symbol]
    closes = closes.reindex(result._outcome.market.timestamps)
    assert result.summary_document["benchmark"] == symbol
    for name, system in result.systems.items():
        equity = system.equity
        assert allocated == ("transfers" in equity)
        expected = _reference(_bar_returns(equity, system._result.initial_capital), closes)
        assert {key: system.metrics[key] for key in RELATIVE} == pytest.approx(expected, **TOLERANCE), name
        assert result.summary.loc[name, "alpha"] == system.metrics["alpha"]
    book = result.combined_equity
    capital = result.summary_document["combined"]["initial_capital"]
    combined = pd.Series(book["combined"].to_numpy(), index=book.index)
    combined = combined / pd.concat([pd.Series([capital]), combined.iloc[:-1]]).to_numpy() - 1
    assert {key: result.summary_document["combined"][key] for key in RELATIVE} == pytest.approx(
        _reference(combined, closes), **TOLERANCE)


def test_without_a_benchmark_there_are_no_relative_figures():
    result = multifolio.run(backtest_config(system_config()))
    assert not set(RELATIVE) & set(result.systems["alpha"].metrics)
    assert not set(RELATIVE) & set(result.summary.columns)
    assert "benchmark" not in result.summary_document


def test_the_catalogue_names_and_ranks_them():
    assert [FIGURES[key].better for key in RELATIVE] == [HIGHER, None, HIGHER, LOWER, HIGHER, LOWER]
    rows = metric_rows({"a": {"alpha": 0.1, "beta": 1.2}, "b": {"alpha": 0.2, "beta": 0.8}}, ranked=["a", "b"])
    assert [(row["label"], [cell["text"] for cell in row["cells"]], [cell["best"] for cell in row["cells"]])
            for row in rows] == [("Alpha vs benchmark (annualised)", ["10.00%", "20.00%"], [False, True]),
                                 ("Beta vs benchmark", ["1.200", "0.800"], [False, False])]


def test_an_unknown_symbol_is_refused_with_the_known_ones():
    config = backtest_config(system_config(), data={"source": "synthetic", "symbols": ["SPY", "QQQ"], "bars": 50})
    config["reporting"] = {"benchmark": "SPX"}
    with pytest.raises(ConfigErrors, match=r"reporting\.benchmark: unknown symbol 'SPX'; the benchmark is a "
                                           r"symbol of data\.symbols: SPY, QQQ"):
        multifolio.run(config)


def test_ranking_a_sweep_by_a_relative_figure_needs_a_benchmark():
    config = backtest_config(system_config())
    config["reporting"] = {"sweep_metric": "information_ratio"}
    with pytest.raises(ConfigErrors, match=r"reporting\.sweep_metric: 'information_ratio' is a figure against a "
                                           "benchmark; set reporting.benchmark"):
        multifolio.run(config)

"""Figures against a benchmark (`reporting.benchmark`): alpha, beta, information ratio, tracking error, up and
down capture of a system's (or the book's) returns against buying and holding one symbol of the run's data.

The definitions are empyrical's (`alpha_beta_aligned`, `excess_sharpe`, `up_capture`, `down_capture`), with the
run's own bars per year (`periods_per_year`) as the annualisation factor; two figures differ on purpose:
the information ratio is annualised (empyrical's `excess_sharpe` × √bars per year, as our Sharpe ratio is),
and the tracking error is the annualised spread of the active return (empyrical has no such function).

The pairs compared are the bars where both returns exist. The system's returns are those its other figures
read (`returns_of`: the first bar's against the initial capital; a book funded by an allocation: its
time-weighted returns over the bars it had capital, `funded_span`). The benchmark's return at a bar is its close
over its close at the system's bar before (close to close, the close carried forward over the benchmark's own
gaps: a bar where the symbol has no bar returns 0, the next one the whole move); it has none at the system's
first bar and before the symbol's first bar, so those bars are left out of every figure.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from multifolio.config.model import BENCHMARK_FIGURES
from multifolio.data.market import MarketData
from multifolio.reports.metrics import funded_span, periods_per_year, returns_of


def benchmark_closes(market: MarketData, symbol: str) -> pd.Series:
    """The symbol's close at every timestamp of the run, carried forward over its gaps (NaN before its first)."""
    return pd.Series(market.closes_filled(symbol), index=market.timestamps)


def benchmark_metrics(equity: pd.Series, timestamps: pd.Series | pd.DatetimeIndex, initial_capital: float,
                      closes: pd.Series, transfers: pd.Series | None = None) -> dict[str, float]:
    """The relative figures of one equity curve against the benchmark's `closes` (indexed by time), on the
    returns its own figures read (time-weighted with `transfers`)."""
    stamps = pd.DatetimeIndex(timestamps)
    if transfers is None:
        returns = returns_of(equity, initial_capital)
    else:
        span = funded_span(equity, initial_capital, transfers)
        if span is None:
            return dict.fromkeys(BENCHMARK_FIGURES, math.nan)
        first, last, curve = span
        returns, stamps = returns_of(curve, 1.0), stamps[first:last + 1]
    per_year = periods_per_year(stamps)
    stamps = stamps[:len(returns)]  # a ruined book has no returns after its ruin
    prices = closes.reindex(stamps).to_numpy(dtype=np.float64)
    factor = np.concatenate(([math.nan], prices[1:] / prices[:-1] - 1.0))
    return relative_figures(returns, factor, per_year)


def relative_figures(returns: np.ndarray, factor: np.ndarray, per_year: float) -> dict[str, float]:
    """The figures of `returns` against the benchmark's `factor` returns, bar for bar, over the bars where
    both are defined; annualised with `per_year` bars a year."""
    paired = np.isfinite(returns) & np.isfinite(factor)
    returns, factor = returns[paired], factor[paired]
    beta = _beta(returns, factor)
    active = returns - factor
    spread = float(np.std(active, ddof=1)) if len(active) > 1 else math.nan
    root = math.sqrt(per_year) if per_year > 0 else math.nan
    with np.errstate(over="ignore", invalid="ignore"):
        alpha = float(np.power(np.mean(returns - beta * factor) + 1.0, per_year) - 1.0) if len(returns) > 1 \
            else math.nan
    return {
        "alpha": alpha,
        "beta": beta,
        "information_ratio": float(np.mean(active)) / spread * root if spread > 0 else math.nan,
        "tracking_error": spread * root,
        "up_capture": _capture(returns, factor, factor > 0, per_year),
        "down_capture": _capture(returns, factor, factor < 0, per_year),
    }


def _beta(returns: np.ndarray, factor: np.ndarray) -> float:
    """Cov(r, b) / Var(b), both over n (empyrical's): NaN under two bars or with a flat benchmark."""
    if len(returns) < 2:
        return math.nan
    residual = factor - np.mean(factor)
    variance = float(np.mean(residual ** 2))
    return float(np.mean(residual * returns)) / variance if variance >= 1e-30 else math.nan


def _capture(returns: np.ndarray, factor: np.ndarray, chosen: np.ndarray, per_year: float) -> float:
    """The annualised growth of `returns` over the ratio of the benchmark's, on the `chosen` bars only."""
    count = int(chosen.sum())
    if not count:
        return math.nan
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        ours, theirs = (np.power(np.prod(1.0 + values[chosen]), per_year / count) - 1.0
                        for values in (returns, factor))
        return float(ours / theirs)

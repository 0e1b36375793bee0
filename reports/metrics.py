"""Performance figures of an equity curve and a trade list (our own code, no black box)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

_SECONDS_PER_YEAR = 365.25 * 24 * 3600


def periods_per_year(timestamps: pd.DatetimeIndex | pd.Series) -> float:
    """Bars per calendar year, as observed: (bars − 1) / years spanned.

    Daily stock data gives ≈ 252, regular-session minute bars ≈ 98,000, whatever the
    gaps (nights, weekends): the data says how often it samples.
    """
    timestamps = pd.DatetimeIndex(timestamps)
    if len(timestamps) < 2:
        return math.nan
    span = (timestamps[-1] - timestamps[0]).total_seconds() / _SECONDS_PER_YEAR
    return (len(timestamps) - 1) / span if span > 0 else math.nan


def bounded_equity(equity: pd.Series | np.ndarray) -> np.ndarray:
    """The curve every figure reads: the equity as recorded while it stays above 0; from the first bar at
    or below 0 on, 0. A ruined account has lost everything, −100 %, never more, and has no capital to
    make a return on afterwards, so no figure is computed on a negative equity. A curve that stays above
    0 is handed back as it is, so its figures are the same to the last bit."""
    values = np.asarray(equity, dtype=np.float64)
    ruined = np.flatnonzero(values <= 0.0)
    if not len(ruined):
        return values
    values = values.copy()
    values[ruined[0]:] = 0.0
    return values


def returns_of(equity: pd.Series, initial_capital: float) -> np.ndarray:
    """Simple returns bar to bar; the first bar's is against the initial capital. On the bounded curve:
    the bar of ruin returns −100 % and the bars after it carry no return (they are left out)."""
    values = bounded_equity(equity)
    previous = np.concatenate(([initial_capital], values[:-1]))
    solvent = int(np.argmax(previous <= 0.0)) if previous[-1] <= 0.0 else len(values)
    return values[:solvent] / previous[:solvent] - 1.0


def drawdowns(equity: pd.Series) -> np.ndarray:
    """Drawdown at each bar: equity / running peak − 1, in [−1, 0] (on the bounded curve)."""
    values = bounded_equity(equity)
    return values / np.maximum.accumulate(values) - 1.0


def drawdown_episodes(equity: pd.Series, timestamps: pd.DatetimeIndex) -> pd.DataFrame:
    """Each stretch below a previous peak: its depth, and bars and time from the peak
    before it to the bar that regains the peak (or to the last bar)."""
    depth = drawdowns(equity)
    edges = np.diff(np.concatenate(([0], (depth < 0).astype(np.int8), [0])))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)  # stops: first bar back at peak
    peaks = np.maximum(starts - 1, 0)
    ends = np.minimum(stops, len(depth) - 1)
    stamps = pd.DatetimeIndex(timestamps)
    return pd.DataFrame({
        "depth": np.minimum.reduceat(depth, starts) if len(starts) else np.empty(0),
        "bars": ends - peaks,
        "days": (stamps[ends] - stamps[peaks]).total_seconds().to_numpy() / 86400,
    })


def _annualised(growth: float, years: float) -> float:
    """The yearly rate that compounds to `growth` in `years`; infinite when that overflows a float (a gain
    over a few minutes, say), NaN with no time or a negative growth."""
    if not (years > 0 and growth >= 0):
        return math.nan
    try:
        return growth ** (1.0 / years) - 1.0
    except OverflowError:
        return math.inf


def equity_metrics(equity: pd.Series, timestamps: pd.DatetimeIndex, initial_capital: float,
                   position_value: pd.Series | None = None, transfers: pd.Series | None = None) -> dict[str, float]:
    """Return, risk and drawdown figures of one equity curve (risk-free rate 0). With `transfers` (the
    capital a bar received at its start, from the book), the figures are time-weighted: see
    `transfer_adjusted_metrics`."""
    if transfers is not None:
        return transfer_adjusted_metrics(equity, timestamps, initial_capital, position_value, transfers)
    timestamps = pd.DatetimeIndex(timestamps)
    final = float(equity.iloc[-1])  # as the ledger has it; the return figures read the bounded curve
    returns = returns_of(equity, initial_capital)
    per_year = periods_per_year(timestamps)
    years = (timestamps[-1] - timestamps[0]).total_seconds() / _SECONDS_PER_YEAR if len(timestamps) > 1 else 0.0
    growth = float(bounded_equity(equity)[-1]) / initial_capital  # once ruined: −100 %, whatever came after
    cagr = _annualised(growth, years)
    spread = float(np.std(returns, ddof=1)) if len(returns) > 1 else math.nan
    mean = float(np.mean(returns))
    downside = math.sqrt(float(np.mean(np.minimum(returns, 0.0) ** 2)))
    root = math.sqrt(per_year) if per_year == per_year else math.nan
    episodes = drawdown_episodes(equity, timestamps)
    deepest = float(episodes["depth"].min()) if len(episodes) else 0.0
    longest = episodes.loc[episodes["bars"].idxmax()] if len(episodes) else None
    metrics = {
        "initial_capital": float(initial_capital),
        "final_equity": final,
        "total_return": growth - 1.0,
        "cagr": cagr,
        "volatility": spread * root,
        "sharpe": mean / spread * root if spread > 0 else math.nan,
        "sortino": mean / downside * root if downside > 0 else math.nan,
        "calmar": cagr / -deepest if deepest < 0 else math.nan,
        "max_drawdown": deepest,
        "max_drawdown_duration_bars": int(longest["bars"]) if longest is not None else 0,
        "max_drawdown_duration_days": float(longest["days"]) if longest is not None else 0.0,
        "average_drawdown": float(episodes["depth"].mean()) if len(episodes) else 0.0,
        "periods_per_year": per_year,
    }
    if position_value is not None:
        metrics["exposure"] = float(np.mean(position_value.to_numpy() != 0.0))
    return metrics


def capital_at_start(values: np.ndarray, initial_capital: float, transfers: np.ndarray) -> np.ndarray:
    """The capital each bar started with: the equity at the close before it and what it received."""
    return np.concatenate(([initial_capital], values[:-1])) + transfers


def time_weighted_curve(values: np.ndarray, initial_capital: float, transfers: np.ndarray) -> np.ndarray:
    """The growth of one unit kept in the book at every bar (1 before it first has capital, flat while it
    has none): equity in currency with the capital moved in and out taken away."""
    capital = capital_at_start(values, initial_capital, transfers)
    with np.errstate(divide="ignore", invalid="ignore"):
        growth = np.where(capital > 0, values / capital, 1.0)
    return np.cumprod(growth)


def funded_span(equity: pd.Series, initial_capital: float, transfers: pd.Series
                ) -> tuple[int, int, pd.Series] | None:
    """The first and last bar a book the book funded had capital, and its time-weighted curve over them (one
    unit at the start): what its figures are computed on. None when it never had capital."""
    values = equity.to_numpy(dtype=np.float64)
    moved = transfers.to_numpy(dtype=np.float64)
    funded = np.flatnonzero(capital_at_start(values, initial_capital, moved) > 0)
    if not len(funded):
        return None
    first, last = int(funded[0]), int(funded[-1])
    return first, last, pd.Series(time_weighted_curve(values, initial_capital, moved)[first:last + 1])


def transfer_adjusted_metrics(equity: pd.Series, timestamps: pd.DatetimeIndex, initial_capital: float,
                              position_value: pd.Series | None, transfers: pd.Series) -> dict[str, float]:
    """The figures of a book whose capital the book moved in and out: each bar's return is taken on the
    capital it started with, transfers included (equity / (previous equity + transfer) − 1), so capital
    received is never counted as earned. Returns, drawdowns and ratios are those of the time-weighted
    curve (the product of 1 + return) over the bars the system had capital; `final_equity` is money."""
    values = equity.to_numpy(dtype=np.float64)
    capital = capital_at_start(values, initial_capital, transfers.to_numpy(dtype=np.float64))
    span = funded_span(equity, initial_capital, transfers)
    if span is None:
        return {"initial_capital": 0.0, "final_equity": float(values[-1]), "transfers_in": 0.0, "transfers_out": 0.0}
    first, last, curve = span
    held = None if position_value is None else position_value.iloc[first:last + 1]
    metrics = equity_metrics(curve, pd.DatetimeIndex(timestamps)[first:last + 1], 1.0, held)
    moved = transfers.to_numpy(dtype=np.float64)
    later = moved[first + 1:]  # what came in with the first capital is the initial capital
    metrics.update(initial_capital=float(capital[first]), final_equity=float(values[-1]),
                   transfers_in=float(later[later > 0].sum()), transfers_out=float(-moved[moved < 0].sum()))
    return metrics


def trade_metrics(trades: pd.DataFrame) -> dict[str, float]:
    """Figures of the closed trades (net of commission)."""
    net = trades["net_pnl"].to_numpy(dtype=np.float64)
    wins, losses = net[net > 0], net[net < 0]
    count = len(net)
    spread = float(np.std(net, ddof=1)) if count > 1 else math.nan
    return {
        "num_trades": count,
        "win_rate": len(wins) / count if count else math.nan,
        "profit_factor": float(wins.sum() / -losses.sum()) if len(losses) else math.nan,
        "expectancy": float(net.mean()) if count else math.nan,
        "best_trade": float(net.max()) if count else math.nan,
        "worst_trade": float(net.min()) if count else math.nan,
        "average_trade_return": float(trades["return_pct"].mean()) if count else math.nan,
        "sqn": math.sqrt(count) * float(net.mean()) / spread if count > 1 and spread > 0 else math.nan,
        "average_bars_held": float(trades["bars_held"].mean()) if count else math.nan,
        "gross_pnl": float(trades["gross_pnl"].sum()),
        "net_pnl": float(net.sum()),
    }

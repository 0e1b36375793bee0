"""The metric catalogue: every figure's key, labels, format and which value is better, in one place.

The HTML tables, the sweep leaderboard and the CLI table all read it, so "best" means the
same everywhere. `better` is `higher`, `lower`, or None where neither is better (exposure,
trade counts): such a figure is shown but never starred, and cannot rank a sweep.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from attrs import frozen

HIGHER, LOWER = "higher", "lower"
_FORMATS = {"money": "{:,.2f}", "percent": "{:.2%}", "ratio": "{:.3f}", "count": "{:,.0f}", "days": "{:,.1f}",
            "number": "{:,.2f}"}


@frozen
class Figure:
    """One figure of performance.json: how it is named, shown and compared."""

    key: str
    label: str  # in the HTML tables
    short: str  # as a column of the terminal's table
    format: str  # a key of _FORMATS
    better: str | None  # HIGHER, LOWER or None

    def text(self, value: Any) -> str:
        return format_metric(value, self.format)

    def best(self, values: Mapping[str, Any]) -> set[str]:
        """The names holding the best finite value (none when neither is better, or all are equal)."""
        finite = {name: value for name, value in values.items() if is_finite(value)}
        if self.better is None or len(finite) < 2 or len(set(finite.values())) < 2:
            return set()
        target = max(finite.values()) if self.better == HIGHER else min(finite.values())
        return {name for name, value in finite.items() if value == target}

    def ranking(self, value: Any) -> tuple[bool, float]:
        """A sort key, best first; a missing value (no trades, a failed system) always ranks last."""
        if not is_finite(value):
            return True, 0.0
        return False, -value if self.better == HIGHER else value


def is_finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def format_metric(value: Any, kind: str) -> str:
    """A figure as the tables show it; a missing or undefined one is '–'."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return _FORMATS[kind].format(value)


CATALOGUE: tuple[Figure, ...] = (
    Figure("initial_capital", "Initial capital", "Capital", "money", None),
    Figure("final_equity", "Final equity", "Equity", "money", HIGHER),
    # capital the book moved (systems funded by an allocation): not earned, so no figure of return counts it
    Figure("transfers_in", "Capital received after the start", "In", "money", None),
    Figure("transfers_out", "Capital given back", "Out", "money", None),
    Figure("total_return", "Total return", "Return", "percent", HIGHER),
    Figure("cagr", "CAGR", "CAGR", "percent", HIGHER),
    Figure("volatility", "Volatility (annualised)", "Vol", "percent", LOWER),
    Figure("sharpe", "Sharpe ratio", "Sharpe", "ratio", HIGHER),
    Figure("sortino", "Sortino ratio", "Sortino", "ratio", HIGHER),
    Figure("calmar", "Calmar ratio", "Calmar", "ratio", HIGHER),
    Figure("max_drawdown", "Max drawdown", "Max DD", "percent", HIGHER),  # drawdowns are ≤ 0: nearer 0 is better
    Figure("max_drawdown_duration_bars", "Max drawdown duration (bars)", "DD bars", "count", LOWER),
    Figure("max_drawdown_duration_days", "Max drawdown duration (days)", "DD days", "days", LOWER),
    Figure("average_drawdown", "Average drawdown", "Avg DD", "percent", HIGHER),
    Figure("exposure", "Exposure time", "Exposure", "percent", None),
    Figure("num_trades", "Number of trades", "Trades", "count", None),
    Figure("win_rate", "Win rate", "Win %", "percent", HIGHER),
    Figure("best_trade", "Best trade", "Best", "money", HIGHER),
    Figure("worst_trade", "Worst trade", "Worst", "money", HIGHER),
    Figure("average_trade_return", "Average trade return", "Avg trade", "percent", HIGHER),
    Figure("profit_factor", "Profit factor", "PF", "ratio", HIGHER),
    Figure("expectancy", "Expectancy (per trade)", "Expectancy", "money", HIGHER),
    Figure("sqn", "SQN", "SQN", "ratio", HIGHER),
    Figure("average_bars_held", "Average bars held", "Bars held", "number", None),
    Figure("gross_pnl", "Gross PnL", "Gross PnL", "money", HIGHER),
    Figure("net_pnl", "Net PnL", "Net PnL", "money", HIGHER),
    Figure("total_commission", "Total commission", "Commission", "money", LOWER),
    Figure("total_slippage", "Total slippage cost", "Slippage", "money", LOWER),
    Figure("orders_filled", "Orders filled", "Filled", "count", None),
    Figure("orders_rejected", "Orders rejected", "Rejected", "count", LOWER),
    Figure("orders_cancelled", "Orders cancelled", "Cancelled", "count", LOWER),
    # against `reporting.benchmark` (multifolio.reports.benchmark): present only when a benchmark is set
    Figure("alpha", "Alpha vs benchmark (annualised)", "Alpha", "percent", HIGHER),
    Figure("beta", "Beta vs benchmark", "Beta", "ratio", None),
    Figure("information_ratio", "Information ratio", "IR", "ratio", HIGHER),
    Figure("tracking_error", "Tracking error (annualised)", "TE", "percent", LOWER),
    Figure("up_capture", "Up capture", "Up cap", "ratio", HIGHER),
    Figure("down_capture", "Down capture", "Down cap", "ratio", LOWER),
    Figure("periods_per_year", "Bars per year (annualisation)", "Bars/yr", "number", None),
)
FIGURES: dict[str, Figure] = {figure.key: figure for figure in CATALOGUE}
# what `reporting.sweep_metric` may name: a figure with a better direction
RANKING_FIGURES: tuple[str, ...] = tuple(figure.key for figure in CATALOGUE if figure.better is not None)
# the terminal's end-of-run table
TABLE_FIGURES: tuple[Figure, ...] = tuple(FIGURES[key] for key in (
    "final_equity", "total_return", "cagr", "sharpe", "max_drawdown", "num_trades", "win_rate", "profit_factor",
    "total_commission"))

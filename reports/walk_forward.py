"""A walk-forward study's figures: a system's figures over part of the run, and the record of the study (each
window's choice, its figure in and out of sample, and whether the in-sample winner held up).

How the verdict is read (the README says the same): in each test window the chosen combination is ranked
among all the sweep's combinations by the same figure over the same bars; a choice with no skill lands in the
top half about half of the time. The study **held up** when the choice ranked in the top half out of sample in
at least half of the windows and, for a figure where higher is better, the stitched out-of-sample figure kept at
least half of the in-sample mean (and its sign); it **did not hold up** when neither is true, or when the
out-of-sample figure turned to the other side of zero; anything else it **held up in part**.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from multifolio.config.spec import SweepPoint
from multifolio.config.walk_forward import WalkForwardSpec
from multifolio.reports.catalogue import HIGHER, Figure, format_metric, is_finite
from multifolio.reports.writers import figures_of
from multifolio.trading.system import SystemResult
from multifolio.wording import counted

HELD_UP, MIXED, DID_NOT_HOLD_UP, NOT_TRADED = "held up", "held up in part", "did not hold up", "was not traded"
SPAN_FIGURES = ("total_return", "cagr", "sharpe", "max_drawdown", "num_trades")  # the study's out-of-sample span


def performance_between(result: SystemResult, first: int, stop: int, benchmark: pd.Series | None = None
                        ) -> dict[str, Any]:
    """The system's figures over timeline bars [first, stop): its curve there, growing from the equity it had
    at the close before (its capital at bar 0), the trades it closed and the orders it filled in those bars.
    Empty when it has no bar there."""
    steps = result.equity_steps
    equity = pd.DataFrame() if steps is None else steps.frame(first, stop)  # only those bars drawn
    if equity.empty:
        return {}
    before = result.initial_capital if first == 0 else float(steps.window(first - 1, first)["equity"][0])
    start, end = equity["timestamp"].iat[0], equity["timestamp"].iat[-1]
    trades = result.trades[(result.trades["exit_time"] >= start) & (result.trades["exit_time"] <= end)]
    filled = result.orders["fill_time"]
    orders = result.orders[(filled >= start) & (filled <= end) | filled.isna()
                           & result.orders["submitted_time"].between(start, end)]
    return figures_of(equity, trades, orders, before, benchmark)


def study_record(spec: WalkForwardSpec, figure: Figure, swept: SweepPoint, name: str,
                 timestamps: pd.DatetimeIndex, rows: Sequence[dict[str, Any]], result: SystemResult,
                 benchmark: pd.Series | None) -> dict[str, Any]:
    """The `walk_forward` entry of combined_summary.json for one study (`rows`: one per window, as
    multifolio.running.walk_forward made them)."""
    windows = [_window_row(row, timestamps) for row in rows]
    traded = [row for row in rows if row["system"] is not None]
    record: dict[str, Any] = {
        "entry": swept.group, "index": swept.entry, "system": name, "figure": figure.key, "better": figure.better,
        "train": spec.train.describe(), "test": spec.test.describe(), "step": spec.step.describe(),
        "anchored": spec.anchored, "combinations": swept.combinations, "windows": windows,
    }
    if not traded or result.equity_steps is None:
        return {**record, "verdict": NOT_TRADED, "summary": _not_traded(result), "in_sample": None,
                "out_of_sample": None, "retained": None, "top_half": None, "out_of_sample_figures": {}}
    first, stop = traded[0]["window"].test_first, traded[-1]["window"].test_stop
    span = performance_between(result, first, stop, benchmark)
    in_sample = _mean([row["in_sample"] for row in traded])
    out_of_sample = span.get(figure.key)
    retained = out_of_sample / in_sample if figure.better == HIGHER and is_finite(in_sample) and in_sample > 0 \
        and is_finite(out_of_sample) else None
    ranked = [row for row in traded if row["rank"] is not None]
    top_half = sum(row["rank"] <= row["candidates"] / 2 for row in ranked) / len(ranked) if ranked else None
    verdict = _verdict(top_half, retained)
    return {**record, "in_sample": in_sample, "out_of_sample": out_of_sample, "retained": retained,
            "top_half": top_half, "verdict": verdict,
            "out_of_sample_span": {"start": timestamps[first], "end": timestamps[stop - 1]},
            "out_of_sample_figures": {key: span.get(key) for key in SPAN_FIGURES},
            "summary": _summary(figure, traded, ranked, top_half, in_sample, out_of_sample, retained, verdict)}


def _window_row(row: dict[str, Any], timestamps: pd.DatetimeIndex) -> dict[str, Any]:
    window = row["window"]
    return {"window": window.number, "train_start": timestamps[window.train_first],
            "train_end": timestamps[window.test_first - 1], "test_start": timestamps[window.test_first],
            "test_end": timestamps[window.test_stop - 1], "train_bars": window.test_first - window.train_first,
            "test_bars": window.test_stop - window.test_first, "system": row["system"], "values": row["values"],
            "in_sample": row["in_sample"], "out_of_sample": row["out_of_sample"], "rank": row["rank"],
            "candidates": row["candidates"]}


def _mean(values: Sequence[Any]) -> float | None:
    finite = [value for value in values if is_finite(value)]
    return sum(finite) / len(finite) if finite else None


def _verdict(top_half: float | None, retained: float | None) -> str:
    ranks_held = top_half is not None and top_half >= 0.5
    figure_held = retained is None or retained >= 0.5
    if retained is not None and retained < 0:
        return DID_NOT_HOLD_UP
    if ranks_held and figure_held:
        return HELD_UP
    if not ranks_held and not figure_held:
        return DID_NOT_HOLD_UP
    return MIXED


def _summary(figure: Figure, traded: Sequence[dict], ranked: Sequence[dict], top_half: float | None,
             in_sample: float | None, out_of_sample: float | None, retained: float | None, verdict: str) -> str:
    """One sentence a researcher reads first."""
    shown = {key: format_metric(value, figure.format) for key, value in
             (("in", in_sample), ("out", out_of_sample))}
    text = f"The in-sample winner {verdict}: "
    if ranked:
        tops = round(top_half * len(ranked))
        text += (f"out of sample it ranked in the top half of the combinations in {tops} of "
                 f"{counted(len(ranked), 'window')}; ")
    text += f"{figure.label} {shown['in']} in sample (mean over {counted(len(traded), 'window')}), {shown['out']} " \
            "out of sample (the stitched test windows)"
    if retained is not None:
        text += f", {retained:.0%} of it kept"
    return text + "."


def _not_traded(result: SystemResult) -> str:
    if result.status == "failed":
        return f"The walk-forward failed: {result.failed_at}."
    return "No combination had the figure in any training window: nothing was traded."

"""What the combined page shows of each sweep, from combined_summary.json's `sweeps` section: a leaderboard of
every system, a heatmap of the ranking figure when exactly two keys are swept, and that figure against each
swept key (one point per system)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import plotly.graph_objects as go

from multifolio.reports import charts
from multifolio.reports.overfitting import describe_overfitting
from multifolio.reports.catalogue import FIGURES, HIGHER, Figure, is_finite

# figures the leaderboard shows beside the one that ranks it (that one first, never twice)
LEADERBOARD_FIGURES = ("total_return", "sharpe", "max_drawdown", "num_trades", "win_rate")
# the catalogue's formats as d3's, for the heatmap's cells and the hover texts
_D3_FORMATS = {"money": ",.2f", "percent": ".2%", "ratio": ".3f", "count": ",.0f", "days": ",.1f", "number": ",.2f"}


def sweep_figures(sweeps: Mapping[str, Any] | None) -> dict[str, go.Figure]:
    """Per swept entry (numbered as in `sweeps.groups`): its heatmap (`fig-sweep-N-heatmap`, two keys only) and
    a plot of the ranking figure against each swept key (`fig-sweep-N-parameter-K`, K in the sweep's order)."""
    if not sweeps:
        return {}
    figure = FIGURES[sweeps["metric"]]
    figures = {}
    for number, group in enumerate(sweeps["groups"]):
        if group["heatmap"] is not None:
            figures[f"fig-sweep-{number}-heatmap"] = heatmap_figure(group, figure)
        for key_number, key in enumerate(group["parameters"]):
            figures[f"fig-sweep-{number}-parameter-{key_number}"] = parameter_figure(group, key, figure)
    return figures


def _labels(values: list[Any]) -> list[str]:
    return [str(value) for value in values]


def heatmap_figure(group: Mapping[str, Any], figure: Figure) -> go.Figure:
    """The ranking figure over the grid of two swept keys; an empty cell where the constraint left a
    combination out or the figure has no value. Green is better, whichever way the figure ranks."""
    heatmap = group["heatmap"]
    cells = np.array([[np.nan if value is None else value for value in row] for row in heatmap["cells"]],
                     dtype=np.float64)
    shown = charts.new_figure(title=f"{group['entry']}: {figure.label} by {heatmap['x']} and {heatmap['y']}",
                              height=max(300, 160 + 44 * len(heatmap["y_values"])))
    number = _D3_FORMATS[figure.format]
    shown.add_trace(go.Heatmap(
        z=cells, x=_labels(heatmap["x_values"]), y=_labels(heatmap["y_values"]), xgap=2, ygap=2,
        colorscale="RdYlGn" if figure.better == HIGHER else "RdYlGn_r", texttemplate=f"%{{z:{number}}}",
        hovertemplate=f"{heatmap['x']} %{{x}}, {heatmap['y']} %{{y}}: %{{z:{number}}}<extra></extra>",
        colorbar={"title": {"text": figure.short}}))
    shown.update_xaxes(type="category", title_text=heatmap["x"], showgrid=False)
    shown.update_yaxes(type="category", title_text=heatmap["y"], showgrid=False)
    shown.update_layout(hovermode="closest")
    return shown


def parameter_figure(group: Mapping[str, Any], key: str, figure: Figure) -> go.Figure:
    """The ranking figure against one swept key's values: one point per system of the sweep (none drawn
    where the figure has no value); a key with other than numbers is an axis of categories, in the sweep's order."""
    rows = group["leaderboard"]
    values = [row["values"][key] for row in rows]
    numeric = all(is_finite(value) for value in values)
    shown = charts.new_figure(title=f"{group['entry']}: {figure.label} against {key}", height=360)
    shown.add_trace(go.Scatter(
        x=values if numeric else _labels(values),
        y=np.array([np.nan if row["value"] is None else row["value"] for row in rows], dtype=np.float64),
        mode="markers", name=figure.label, marker={"size": 9, "color": charts.COLORS[0], "opacity": 0.8},
        customdata=[[row["system"], row["rank"]] for row in rows],
        hovertemplate=f"%{{customdata[0]}} (rank %{{customdata[1]}}): %{{y:{_D3_FORMATS[figure.format]}}}"
                      "<extra></extra>"))
    axis = {"title_text": key}
    if not numeric:
        axis.update(type="category", categoryorder="array", categoryarray=_labels(group["axes"][key]))
    shown.update_xaxes(**axis)
    shown.update_yaxes(title_text=figure.label, tickformat=".1%" if figure.format == "percent" else None)
    shown.update_layout(hovermode="closest", showlegend=False)
    return shown


def leaderboards(sweeps: Mapping[str, Any] | None, systems: Mapping[str, Mapping[str, Any]]
                 ) -> list[dict[str, Any]]:
    """Each swept entry's leaderboard as the page's table: every system in rank order, its swept values,
    the ranking figure, then `LEADERBOARD_FIGURES`; each cell with the value its column sorts by."""
    if not sweeps:
        return []
    metric = sweeps["metric"]
    shown = [FIGURES[metric], *(FIGURES[key] for key in LEADERBOARD_FIGURES if key != metric)]
    tables = []
    for number, group in enumerate(sweeps["groups"]):
        columns = [{"label": "rank", "numeric": True}, {"label": "system", "numeric": False}]
        columns += [{"label": key, "numeric": all(is_finite(row["values"][key]) for row in group["leaderboard"])}
                    for key in group["parameters"]]
        columns += [{"label": figure.label, "numeric": True} for figure in shown]
        rows = []
        for row in group["leaderboard"]:
            figures = systems.get(row["system"], {})
            cells = [{"value": row["rank"], "text": str(row["rank"])}, {"value": row["system"], "text": row["system"]}]
            cells += [{"value": row["values"][key], "text": str(row["values"][key])} for key in group["parameters"]]
            # the ranking figure as the sweep ranked it (None where it was not finite), the others as computed
            cells += [_cell(row["value"] if figure.key == metric else figures.get(figure.key), figure)
                      for figure in shown]
            rows.append({"system": row["system"], "cells": cells})
        tables.append({"number": number, "entry": group["entry"], "parameters": group["parameters"],
                       "combinations": group["combinations"], "columns": columns, "rows": rows,
                       "heatmap": group["heatmap"] is not None,
                       "overfitting": describe_overfitting(group.get("overfitting"))})
    return tables


def _cell(value: Any, figure: Figure) -> dict[str, Any]:
    return {"value": value if is_finite(value) else None, "text": figure.text(value)}


def walk_forward_figures(studies: list[Mapping[str, Any]] | None) -> dict[str, go.Figure]:
    """Per walk-forward study (numbered as in the summary's `walk_forward` list), its figure in and out of sample
    window by window (`fig-walk-forward-N`)."""
    figures = {}
    for number, study in enumerate(studies or []):
        figure = FIGURES[study["figure"]]
        windows = [f"{row['window']}: {str(row['test_start'])[:10]}" for row in study["windows"]]
        shown = charts.new_figure(title=f"{study['entry']}: {figure.label} of each window's choice, in and out of "
                                        "sample", height=380)
        for name, key, color in (("in sample (training)", "in_sample", charts.COLORS[0]),
                                 ("out of sample (test)", "out_of_sample", charts.COLORS[1])):
            shown.add_trace(go.Bar(
                x=windows, y=np.array([np.nan if row[key] is None else row[key] for row in study["windows"]],
                                      dtype=np.float64),
                name=name, marker={"color": color},
                customdata=[[row["system"] or "nothing chosen"] for row in study["windows"]],
                hovertemplate=f"%{{customdata[0]}}: %{{y:{_D3_FORMATS[figure.format]}}}<extra>{name}</extra>"))
        shown.update_xaxes(type="category", title_text="window: first test day")
        shown.update_yaxes(title_text=figure.label, tickformat=".1%" if figure.format == "percent" else None)
        shown.update_layout(barmode="group", hovermode="closest")
        figures[f"fig-walk-forward-{number}"] = shown
    return figures


def walk_forward_tables(studies: list[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """Each study as the page shows it: its windows (spans, the values chosen, the figure in and out of
    sample, the choice's rank out of sample), its verdict and summary line."""
    tables = []
    for number, study in enumerate(studies or []):
        figure = FIGURES[study["figure"]]
        keys = list(study["windows"][0]["values"]) if study["windows"] and study["windows"][0]["values"] else []
        rows = [{"window": row["window"], "train": f"{str(row['train_start'])[:10]} → {str(row['train_end'])[:10]}",
                 "test": f"{str(row['test_start'])[:10]} → {str(row['test_end'])[:10]}", "system": row["system"],
                 "values": [str(row["values"].get(key, "–")) for key in keys],
                 "in_sample": figure.text(row["in_sample"]), "out_of_sample": figure.text(row["out_of_sample"]),
                 "rank": "–" if row["rank"] is None else f"{row['rank']} of {row['candidates']}"}
                for row in study["windows"]]
        tables.append({"number": number, "entry": study["entry"], "system": study["system"], "keys": keys,
                       "figure": figure.label, "rows": rows, "verdict": study["verdict"], "summary": study["summary"],
                       "spans": f"train {study['train']}, test {study['test']}, step {study['step']}"
                                + (", anchored at the first bar" if study["anchored"] else "")})
    return tables

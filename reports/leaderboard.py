"""Each sweep's leaderboard and, for two swept keys, its heatmap: the `sweeps` section of combined_summary.json."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from multifolio.config.spec import SweepPoint
from multifolio.reports.catalogue import FIGURES, is_finite


def sweep_summary(systems: Sequence[tuple[str, SweepPoint | None]], metrics: Mapping[str, Mapping[str, Any]],
                  metric: str) -> dict[str, Any] | None:
    """The `sweeps` section of combined_summary.json: per swept entry a leaderboard by `metric`
    and, for exactly two swept keys, a heatmap of it; None when the run has no sweep.

    `systems`: (name, swept record or None) in YAML order; `metrics`: name → figures.
    """
    groups: dict[int, dict[str, Any]] = {}
    for name, record in systems:
        if record is None:
            continue
        group = groups.setdefault(record.entry, {
            "entry": record.group, "index": record.entry, "parameters": list(record.paths),
            "paths": dict(record.paths), "axes": dict(record.axes), "combinations": record.combinations,
            "systems": 0, "leaderboard": []})
        group["systems"] += 1
        value = metrics.get(name, {}).get(metric)
        row = {"system": name, "values": dict(record.values), "value": value if is_finite(value) else None}
        if record.trial is not None:  # chosen by an optuna search: when
            row.update(trial=record.trial, batch=record.batch)
        group["leaderboard"].append(row)
        if record.search is not None:
            group["search"] = {"method": record.search.method, "samples": record.search.samples,
                               "seed": record.search.seed,
                               **({"batch": record.search.batch} if record.search.method == "optuna" else {})}
    if not groups:
        return None
    figure = FIGURES[metric]
    for group in groups.values():
        # a stable sort: equal values keep the sweep's order
        ranked = sorted(group["leaderboard"], key=lambda row: figure.ranking(row["value"]))
        group["leaderboard"] = [{"rank": rank, **row} for rank, row in enumerate(ranked, start=1)]
        group["heatmap"] = _heatmap(group) if len(group["parameters"]) == 2 else None
    return {"metric": metric, "better": figure.better, "groups": list(groups.values())}


def _heatmap(group: Mapping[str, Any]) -> dict[str, Any]:
    """Rows: the second key's values, columns: the first key's, both in the sweep's order; null where a
    combination was left out by the constraint or has no value."""
    x, y = group["parameters"]
    cell = {(row["values"][x], row["values"][y]): row["value"] for row in group["leaderboard"]}
    x_values, y_values = group["axes"][x], group["axes"][y]
    return {"x": x, "y": y, "x_values": list(x_values), "y_values": list(y_values),
            "cells": [[cell.get((xv, yv)) for xv in x_values] for yv in y_values]}

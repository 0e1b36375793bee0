"""Each sweep's leaderboard ranks by the catalogue's rule for its figure; the heatmap shows two swept keys."""

from __future__ import annotations

from multifolio.config.spec import SweepPoint
from multifolio.reports.leaderboard import sweep_summary


def record(values: dict, entry: int = 0, axes: dict | None = None) -> SweepPoint:
    return SweepPoint(entry=entry, group="sma", values=values, paths={k: f"p.{k}" for k in values},
                      axes=axes or {k: [v] for k, v in values.items()}, combinations=4)


def test_the_leaderboard_ranks_by_the_metric_and_the_heatmap_leaves_dropped_combinations_empty():
    axes = {"fast": [5, 10], "slow": [20, 30]}
    systems = [("a", record({"fast": 5, "slow": 20}, axes=axes)), ("b", record({"fast": 5, "slow": 30}, axes=axes)),
               ("c", record({"fast": 10, "slow": 30}, axes=axes)), ("plain", None)]
    metrics = {"a": {"sharpe": 0.5, "volatility": 0.2}, "b": {"sharpe": None, "volatility": 0.1},
               "c": {"sharpe": 1.5, "volatility": 0.3}, "plain": {"sharpe": 9.0}}
    summary = sweep_summary(systems, metrics, "sharpe")
    [group] = summary["groups"]
    assert (summary["metric"], summary["better"]) == ("sharpe", "higher")
    assert [(row["rank"], row["system"], row["value"]) for row in group["leaderboard"]] == [
        (1, "c", 1.5), (2, "a", 0.5), (3, "b", None)]
    assert group["heatmap"] == {"x": "fast", "y": "slow", "x_values": [5, 10], "y_values": [20, 30],
                                "cells": [[0.5, None], [None, 1.5]]}
    by_volatility = sweep_summary(systems, metrics, "volatility")
    assert by_volatility["better"] == "lower"
    assert [row["system"] for row in by_volatility["groups"][0]["leaderboard"]] == ["b", "a", "c"]
    assert sweep_summary([("plain", None)], metrics, "sharpe") is None


def test_a_heatmap_is_drawn_only_for_exactly_two_swept_keys():
    one = sweep_summary([("a", record({"fast": 5}))], {"a": {"sharpe": 1.0}}, "sharpe")
    three = sweep_summary([("a", record({"fast": 5, "slow": 20, "size": 1}))], {"a": {"sharpe": 1.0}}, "sharpe")
    assert one["groups"][0]["heatmap"] is None and three["groups"][0]["heatmap"] is None

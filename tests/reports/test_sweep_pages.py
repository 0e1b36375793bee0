"""A sweep's combined page: its leaderboard of every system, heatmap and parameter plots, from the summary;
opposing positions only between different strategies."""

from __future__ import annotations

import json
import math
import re

import pytest

from multifolio.config.spec import SweepPoint
from multifolio.reports.catalogue import FIGURES
from multifolio.reports.leaderboard import sweep_summary
from multifolio.reports.overfitting import describe_overfitting
from multifolio.reports.sweep_report import LEADERBOARD_FIGURES, leaderboards, parameter_figure, sweep_figures
from multifolio.results import Result
from tests.reports.test_html import page_figures, page_text

SWEPT = ["sma.fast_period-5.slow_period-20", "sma.fast_period-5.slow_period-40", "sma.fast_period-10.slow_period-20",
         "sma.fast_period-10.slow_period-40", "sma.fast_period-20.slow_period-40"]


def test_the_summary_leaves_out_pairs_of_one_sweep_entry_and_says_how_many(sweep_run):
    opposing = sweep_run.summary["opposing_positions"]
    # six systems: 15 pairs, 10 of them two variants of `sma`; the 5 left pair each variant with `reversion`
    assert (opposing["pairs_total"], opposing["pairs_of_one_sweep_entry"]) == (5, 10)
    assert sorted(pair["systems"][0] for pair in opposing["pairs"]) == sorted(SWEPT)
    assert {pair["systems"][1] for pair in opposing["pairs"]} == {"reversion"}
    assert {period["systems"][1] for period in opposing["periods"]} == {"reversion"}
    text = page_text(sweep_run.folder / "combined_summary.html")
    assert ("Pairs of systems from one sweep entry are left out (10 pairs): they are one strategy at other "
            "settings, so that they oppose says nothing about the book. 5 pairs of different strategies remain.") in text


def test_a_run_without_a_sweep_keeps_the_first_versions_opposing_section(report_run):
    assert "pairs_of_one_sweep_entry" not in report_run.summary["opposing_positions"]
    assert 'id="pairs-of-one-entry"' not in page_text(report_run.folder / "combined_summary.html")


def test_the_leaderboard_lists_every_system_of_the_sweep_in_rank_order_with_its_values(sweep_run):
    text = page_text(sweep_run.folder / "combined_summary.html")
    table = re.search(r'<table id="leaderboard-0" class="sortable leaderboard">(.*?)</table>', text).group(1)
    headers = re.findall(r"<th [^>]*>(.*?)</th>", table)
    assert headers == ["rank", "system", "fast_period", "slow_period", "Sharpe ratio", "Total return",
                       "Max drawdown", "Number of trades", "Win rate"]
    assert re.findall(r'<th data-type="(\w+)"', table) == ["number", "text", "number", "number", *["number"] * 5]
    board = sweep_run.summary["sweeps"]["groups"][0]["leaderboard"]
    rows = re.findall(r'<tr data-system="([^"]+)">(.*?)</tr>', table)
    assert [name for name, _ in rows] == [row["system"] for row in board]  # every system, as ranked in the JSON
    systems = sweep_run.summary["systems"]
    for (name, cells), row in zip(rows, board, strict=True):
        values = re.findall(r'data-value="([^"]*)"', cells)
        figures = systems[name]
        assert values == [str(row["rank"]), name, str(row["values"]["fast_period"]),
                          str(row["values"]["slow_period"]), repr(row["value"]),
                          *(repr(figures[key]) for key in LEADERBOARD_FIGURES if key != "sharpe")]
        assert f'<a href="{name}/report.html">{name}</a>' in cells
    best = board[0]["value"]  # figures in the catalogue's format: a ratio to three places, not money's two
    assert f">{best:.3f}<" in table and f">{best:,.2f}<" not in table


def test_the_page_and_the_api_hold_the_heatmap_and_one_plot_per_swept_key(sweep_run):
    group = sweep_run.summary["sweeps"]["groups"][0]
    figures = sweep_figures(sweep_run.summary["sweeps"])
    assert list(figures) == ["fig-sweep-0-heatmap", "fig-sweep-0-parameter-0", "fig-sweep-0-parameter-1"]
    (heatmap,) = figures["fig-sweep-0-heatmap"].data
    assert (list(heatmap.x), list(heatmap.y)) == (["5", "10", "20"], ["20", "40"])
    assert [[None if math.isnan(value) else value for value in row] for row in heatmap.z] == group["heatmap"]["cells"]
    for number, key in enumerate(["fast_period", "slow_period"]):
        (points,) = figures[f"fig-sweep-0-parameter-{number}"].data
        assert points.mode == "markers" and list(points.x) == [row["values"][key] for row in group["leaderboard"]]
        assert list(points.y) == [row["value"] for row in group["leaderboard"]]
        assert [entry[0] for entry in points.customdata] == [row["system"] for row in group["leaderboard"]]
    # the page draws them, and the API returns them, from the same function
    page = page_figures(sweep_run.folder / "combined_summary.html")
    api = Result(sweep_run).figures()
    for div, figure in figures.items():
        assert page[div] == json.loads(figure.to_json()) == json.loads(api[div.removeprefix("fig-")].to_json())
        assert f'<div id="{div}" class="chart">' in page_text(sweep_run.folder / "combined_summary.html")


def _group(values: list[dict], ranked: list[float | None]) -> dict:
    systems = [(f"s{number}", SweepPoint(entry=0, group="grid", values=value, paths={k: f"x.{k}" for k in value},
                                         axes={k: list(dict.fromkeys(v[k] for v in values)) for k in value},
                                         combinations=len(values)))
               for number, value in enumerate(values)]
    metrics = {f"s{number}": {"sharpe": value, "num_trades": 3} for number, value in enumerate(ranked)}
    return sweep_summary(systems, metrics, "sharpe"), metrics


def test_one_swept_key_gets_a_plot_and_no_heatmap_and_words_are_categories():
    sweeps, metrics = _group([{"mode": "fast"}, {"mode": "slow"}, {"mode": "off"}], [0.5, None, 1.5])
    assert list(sweep_figures(sweeps)) == ["fig-sweep-0-parameter-0"]
    figure = parameter_figure(sweeps["groups"][0], "mode", FIGURES["sharpe"])
    (points,) = figure.data
    assert list(points.x) == ["off", "fast", "slow"]  # rank order; the system without a value ranks last
    assert [None if math.isnan(y) else y for y in points.y] == [1.5, 0.5, None]
    assert (figure.layout.xaxis.type, list(figure.layout.xaxis.categoryarray)) == ("category", ["fast", "slow", "off"])
    [board] = leaderboards(sweeps, metrics)
    assert [column["numeric"] for column in board["columns"][:3]] == [True, False, False]
    assert [row["cells"][3] for row in board["rows"]] == [{"value": 1.5, "text": "1.500"},
                                                          {"value": 0.5, "text": "0.500"}, {"value": None, "text": "–"}]
    assert sweep_figures(None) == {} and leaderboards(None, {}) == []


def test_a_lower_is_better_heatmap_turns_its_colours_round():
    sweeps, _ = _group([{"a": 1, "b": 2}, {"a": 2, "b": 2}], [0.1, 0.2])
    sweeps["metric"] = "volatility"
    assert sweep_figures(sweeps)["fig-sweep-0-heatmap"].data[0].colorscale[0][1] == \
        sweep_figures({**sweeps, "metric": "sharpe"})["fig-sweep-0-heatmap"].data[0].colorscale[-1][1]


@pytest.mark.parametrize("name", ["fig-sweep-0-heatmap", "fig-sweep-0-parameter-0"])
def test_sweep_figures_are_titled_with_the_entry_and_the_figure(sweep_run, name):
    title = sweep_figures(sweep_run.summary["sweeps"])[name].layout.title.text
    assert title == {"fig-sweep-0-heatmap": "sma: Sharpe ratio by fast_period and slow_period",
                     "fig-sweep-0-parameter-0": "sma: Sharpe ratio against fast_period"}[name]


def test_the_page_says_how_overfit_the_sweeps_winner_may_be(sweep_run):
    text = page_text(sweep_run.folder / "combined_summary.html")
    line = re.search(r'<p class="note" id="overfitting-0">(.*?)</p>', text).group(1)
    overfitting = sweep_run.summary["sweeps"]["groups"][0]["overfitting"]
    assert line == describe_overfitting(overfitting)
    assert f"deflated Sharpe ratio {overfitting['deflated_sharpe']['value']:.3f}" in line
    assert f"probability of backtest overfitting {overfitting['pbo']['value']:.3f}" in line

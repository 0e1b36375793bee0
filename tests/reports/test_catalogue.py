"""One metric catalogue: the HTML tables, the sweep leaderboard and the terminal's table agree on "best"."""

from __future__ import annotations

import pandas as pd
import pytest
from rich.console import Console

from multifolio.config.model import BENCHMARK_FIGURES
from multifolio.tables import figures_table
from multifolio.reports.catalogue import CATALOGUE, FIGURES, HIGHER, LOWER, RANKING_FIGURES, TABLE_FIGURES
from multifolio.reports.html import metric_rows
from multifolio.reports.leaderboard import sweep_summary
from multifolio.reports.writers import performance
from tests.builders import backtest_config, run_in_memory, system_config
from tests.reports.test_leaderboard import record

COLUMNS = {"a": {"sharpe": 1.0, "max_drawdown": -0.2, "volatility": 0.3, "total_commission": 5.0, "num_trades": 3,
                 "final_equity": 1.0, "total_return": 0.1, "cagr": 0.1, "win_rate": 0.5, "profit_factor": 1.1},
           "b": {"sharpe": 2.0, "max_drawdown": -0.1, "volatility": 0.2, "total_commission": 7.0, "num_trades": 9,
                 "final_equity": 2.0, "total_return": 0.2, "cagr": 0.2, "win_rate": 0.4, "profit_factor": None}}


def test_every_figure_of_performance_json_is_in_the_catalogue_once():
    [result] = run_in_memory(backtest_config(system_config()))
    assert len(FIGURES) == len(CATALOGUE)
    # only a system funded by an allocation has capital moved in and out (tests/book checks those two)
    assert set(performance(result)) == set(FIGURES) - {"transfers_in", "transfers_out", *BENCHMARK_FIGURES}
    closes = pd.Series(result.equity["equity"].to_numpy(), index=pd.DatetimeIndex(result.equity["timestamp"]))
    assert set(performance(result, closes)) == set(FIGURES) - {"transfers_in", "transfers_out"}
    assert {figure.better for figure in CATALOGUE} == {HIGHER, LOWER, None}
    assert set(RANKING_FIGURES) == {figure.key for figure in CATALOGUE if figure.better is not None}


@pytest.mark.parametrize("key", sorted(COLUMNS["a"]))
def test_the_html_table_the_terminal_table_and_the_leaderboard_pick_the_same_best(key):
    figure = FIGURES[key]
    html = {row["key"]: {cell["column"] for cell in row["cells"] if cell["best"]}
            for row in metric_rows(COLUMNS, ranked=["a", "b"])}[key]
    assert html == figure.best({name: COLUMNS[name][key] for name in COLUMNS})
    if figure in TABLE_FIGURES:
        console = Console(width=200, record=True)
        console.print(figures_table("t", COLUMNS, ["a", "b"], 200))
        rows = {line.split("│")[1].strip(): line for line in console.export_text().splitlines() if "│" in line}
        column = [f.key for f in TABLE_FIGURES].index(key) + 2
        starred = {name for name, line in rows.items() if "★" in line.split("│")[column]}
        assert starred == html
    if figure.better is not None:
        summary = sweep_summary([(name, record({"x": i})) for i, name in enumerate(COLUMNS)], COLUMNS, key)
        leader = summary["groups"][0]["leaderboard"][0]
        assert summary["better"] == figure.better
        assert leader["system"] in html or not html


def test_figures_where_neither_is_better_are_never_starred_and_cannot_rank_a_sweep(registry):
    from multifolio.errors import ConfigErrors
    from tests.builders import checked

    assert "num_trades" not in RANKING_FIGURES and FIGURES["num_trades"].best({"a": 1, "b": 9}) == set()
    document = backtest_config(system_config())
    document["reporting"]["sweep_metric"] = "num_trades"
    with pytest.raises(ConfigErrors) as caught:
        checked(document, registry)
    [error] = caught.value.errors
    assert error.path == "reporting.sweep_metric"

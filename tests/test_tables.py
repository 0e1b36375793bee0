"""The end-of-run tables: every number whole at any width from 60 columns, sweeps as their leaderboard."""

from __future__ import annotations

import re

import pytest
from rich.console import Console

import multifolio
from multifolio.reports.catalogue import FIGURES, TABLE_FIGURES
from multifolio.reports.overfitting import describe_overfitting
from multifolio.tables import BEST, LEADERS, end_of_run, figures_table, folded
from tests.builders import backtest_config, system_config

WIDTHS = (60, 80, 100, 120, 160)
# figures as a long run prints them: seven-digit equities, three-digit percentages, five-digit counts
FIGURES_OF = {
    "momentum_system": {"final_equity": 1_245_289.52, "total_return": 23.9058, "cagr": -0.3986, "sharpe": -22.414,
                        "max_drawdown": -0.9974, "num_trades": 11_066, "win_rate": 0.1426, "profit_factor": 0.567,
                        "total_commission": 7_198.73},
    "mean_reversion_system": {"final_equity": 44_177.66, "total_return": -0.1164, "cagr": -0.4707, "sharpe": -45.796,
                              "max_drawdown": -0.1167, "num_trades": 37_968, "win_rate": 0.3176,
                              "profit_factor": None, "total_commission": 8_322.02},
}


def printed(renderables, width: int) -> str:
    console = Console(width=width, record=True)
    for renderable in renderables:
        console.print(renderable)
    return console.export_text()


def cells(text: str) -> set[str]:
    """Every cell of the tables in `text` but the first column's (names, or the figures' labels), star removed."""
    return {cell.strip().removesuffix(BEST) for line in text.splitlines() if "│" in line
            for cell in line.split("│")[2:-1]}


def numbers_in(text: str) -> set[str]:
    return {cell for cell in cells(text) if re.fullmatch(r"-?[\d,.]+%?|–", cell)}


def expected(rows, figures=TABLE_FIGURES) -> set[str]:
    return {figure.text(metrics.get(figure.key)) for metrics in rows.values() for figure in figures}


def many_systems(count: int) -> dict[str, dict]:
    return {f"{name}_{i}": figures for i in range(count // 2) for name, figures in FIGURES_OF.items()}


@pytest.mark.parametrize("width", WIDTHS)
def test_two_systems_show_every_figure_whole_at_every_width(width):
    text = printed([figures_table("Dual", FIGURES_OF, list(FIGURES_OF), width)], width)
    assert max(len(line) for line in text.splitlines()) <= width
    assert "…" not in text
    assert numbers_in(text) == expected(FIGURES_OF)  # every figure, each value whole
    turned = width < 136  # a row per system needs 136 columns with these figures; turned, 69 (names folded, 60)
    assert ("System" in text) is not turned
    if turned:
        labels = [line.split("│")[1].strip() for line in text.splitlines() if line.startswith("│")]
        assert labels == [figure.short for figure in TABLE_FIGURES]


@pytest.mark.parametrize("width, shown", [(60, 3), (80, 4), (100, 6), (120, 8), (160, 9)])
def test_many_systems_leave_out_the_last_figures_with_a_note(width, shown):
    rows = many_systems(8)
    text = printed([figures_table("Eight", rows, list(rows), width, "performance.json")], width)
    assert max(len(line) for line in text.splitlines()) <= width and "…" not in text
    assert numbers_in(text) == expected(rows, TABLE_FIGURES[:shown])
    left_out = ", ".join(figure.short for figure in TABLE_FIGURES[shown:])
    note = " ".join(text.split("┘\n")[-1].split())
    assert note == (f"not shown at {width} columns: {left_out}; every figure is in performance.json" if left_out
                    else "")
    # names fold at `_`, whole: every name's pieces joined in order give the name back
    names = ["".join(line.split("│")[1].strip() for line in block) for block in _name_blocks(text)]
    assert names == list(rows)


def _name_blocks(text: str) -> list[list[str]]:
    """The table's body lines grouped by row (a folded name spans lines until the next row starts)."""
    body = text.split("┡")[1].split("└")[0].splitlines()[1:]
    blocks: list[list[str]] = []
    for line in body:
        if line.split("│")[2].strip():  # a row's first line carries its figures
            blocks.append([])
        blocks[-1].append(line)
    return blocks


def test_names_fold_after_underscores_dots_and_dashes():
    assert folded("mean_reversion_system", 14) == "mean_\nreversion_\nsystem"
    assert folded("sma.fast_period-10.slow_period-40", 12) == "sma.fast_\nperiod-10.\nslow_period-\n40"
    assert folded("abcdefghijklmnopq", 5) == "abcde\nfghij\nklmno\npq"
    assert folded("short", 12) == "short"


SWEEP = backtest_config(
    {**system_config("sma", strategy={"type": "sma_crossover", "parameters": {"fast_period": 2, "slow_period": 10}}),
     "sweep": {"strategy.parameters.fast_period": [2, 3, 4],
               "strategy.parameters.slow_period": [10, 20, 30, 40]}},
    name="Sweep")
SWEEP["reporting"]["sweep_metric"] = "total_return"


@pytest.fixture(scope="module")
def swept():
    return multifolio.run(SWEEP)


@pytest.fixture(scope="module")
def mixed():
    document = {**SWEEP, "trading_systems": [system_config("hold"), *SWEEP["trading_systems"]]}
    return multifolio.run(document)


@pytest.mark.parametrize("width", (80, 160))
def test_a_sweep_prints_its_best_ten_ranked_as_combined_summary_json_ranks_them(swept, width):
    text = printed(end_of_run(swept, width), width)
    board = swept.sweeps["sma"]
    assert len(board) == 12 and "│ combined" not in text
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in text.splitlines()
            if re.match(r"│ +\d+ │", line)]
    figure = FIGURES["total_return"]
    assert rows == [[str(rank), str(board.loc[rank, "fast_period"]), str(board.loc[rank, "slow_period"]),
                     figure.text(board.loc[rank, "total_return"]),
                     *(f.text(swept.metrics[board.loc[rank, "system"]][f.key])
                       for f in TABLE_FIGURES if f.key != "total_return")][:len(rows[0])]
                    for rank in range(1, LEADERS + 1)]
    lines = " ".join(text.split())
    assert "Sweep — sweep sma: the best 10 by Total return (higher is better)" in lines
    overfitting = swept.summary_document["sweeps"]["groups"][0]["overfitting"]
    assert lines.endswith("12 systems of the sweep sma finished; every one is ranked in the sweeps section of "
                          "combined_summary.json " + describe_overfitting(overfitting))
    assert describe_overfitting(overfitting).startswith(
        f"Overfitting: deflated Sharpe ratio {overfitting['deflated_sharpe']['value']:.3f} (of "
        f"{overfitting['deflated_sharpe']['system']}, the best Sharpe of 12 tried; near 1: it survives the number of "
        f"trials); probability of backtest overfitting {overfitting['pbo']['value']:.3f} (CSCV, 16 blocks, 12,870 "
        "splits;")
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= width


def test_a_run_mixing_a_sweep_and_other_systems_prints_both_without_a_combined_row(mixed):
    text = printed(end_of_run(mixed, 160), 160)
    plain, board = text.split("Sweep — sweep sma")
    assert "Sweep — 1 system not swept" in plain
    assert [line.split("│")[1].strip() for line in plain.splitlines() if line.startswith("│")] == ["hold"]
    assert "│ combined" not in text
    assert "the best 10 by Total return" in board


def test_a_run_without_a_sweep_keeps_the_table_with_the_combined_book():
    result = multifolio.run(backtest_config(system_config("a"), system_config("b", capital=20_000)))
    text = printed(end_of_run(result, 160), 160)
    names = [line.split("│")[1].strip() for line in text.splitlines() if line.startswith("│")]
    assert names == ["a", "b", "combined"]
    assert "test run — 2 systems" in text
    assert numbers_in(text) == expected({**result.metrics, "combined": result.summary_document["combined"]})

"""The notebooks of docs/examples run top to bottom in a fresh kernel of this python, from an empty folder, show
what their text says, and write nothing; the README shows the ten lines the ten-lines notebook runs."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest

import multifolio
from tests.docs.notebooks import (
    EXAMPLES,
    PLOTLY,
    TEN_LINES_CHECK,
    WHERE,
    assert_ten_lines_showed_the_table_and_the_chart,
    cell_showing,
    code_cell,
    displayed,
    errors,
    execute,
    printed,
    ten_lines,
)

README = Path(__file__).resolve().parents[2] / "README.md"
NOTEBOOKS = sorted(path.name for path in EXAMPLES.glob("*.ipynb"))

# appended to compare_and_sweep.ipynb: the objects behind what it showed
COMPARE_AND_SWEEP_CHECK = code_cell("""\
import json
print(json.dumps({"systems": list(result.systems), "statuses": [result.status, sweep.status],
                  "traces": [trace.name for trace in result.plot().data],
                  "board": leaderboard[["system", "fast_period", "slow_period", "sharpe"]].values.tolist(),
                  "swept": sorted(sweep.systems)}))""")


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """name → (the notebook as run, with WHERE and its own check appended; the folder it ran in): each runs once."""
    done: dict[str, tuple[nbformat.NotebookNode, Path]] = {}

    def run(name: str) -> tuple[nbformat.NotebookNode, Path]:
        if name not in done:
            if name == "ten_lines.ipynb":
                notebook = ten_lines(TEN_LINES_CHECK)
            else:
                notebook = nbformat.read(EXAMPLES / name, as_version=4)
                if name == "compare_and_sweep.ipynb":
                    notebook.cells.append(COMPARE_AND_SWEEP_CHECK)
            notebook.cells.append(WHERE)
            folder = tmp_path_factory.mktemp(name.removesuffix(".ipynb"))
            done[name] = execute(notebook, folder), folder
        return done[name]

    return run


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_notebook_runs_clean_in_this_python_and_writes_nothing(ran, name):
    notebook, folder = ran(name)
    assert not errors(notebook)
    where = printed(notebook, len(notebook.cells) - 1)
    assert Path(where["python"]) == Path(sys.executable)  # the kernel is this test run's interpreter...
    assert Path(where["multifolio"]) == Path(multifolio.__file__)  # ...importing this checkout's multifolio
    assert where["files"] == [] and list(folder.iterdir()) == []  # nothing written, while running or after
    for index, cell in enumerate(notebook.cells):  # every figure shown has data
        if cell.cell_type == "code" and any(PLOTLY in output.get("data", {}) for output in cell.outputs):
            assert all(trace["y"] for trace in displayed(notebook, index, PLOTLY)["data"])


@pytest.mark.slow
def test_compare_and_sweep_shows_both_systems_their_equity_and_the_best_three_sweep_points(ran):
    notebook, _ = ran("compare_and_sweep.ipynb")
    facts = printed(notebook, len(notebook.cells) - 2)
    assert facts["systems"] == ["donchian", "sma"] and facts["statuses"] == ["completed", "completed"]
    table = displayed(notebook, cell_showing(notebook, "result  #"), "text/html")
    assert all(f"<th>{name}</th>" in table for name in ("donchian", "sma", "combined")), table
    chart = displayed(notebook, cell_showing(notebook, "result.plot()"), PLOTLY)
    assert [trace["name"] for trace in chart["data"]] == facts["traces"] == ["donchian", "sma", "combined"]
    # the sweep: 3 × 3 less 30/30, ranked best first by Sharpe, each point once
    board = facts["board"]
    assert len(board) == 8 and sorted(row[0] for row in board) == facts["swept"]
    assert all(fast < slow for _, fast, slow, _ in board)
    assert [row[3] for row in board] == sorted((row[3] for row in board), reverse=True)
    shown = displayed(notebook, cell_showing(notebook, "leaderboard.head(3)"), "text/plain")
    assert [line.split()[:2] for line in shown.splitlines()[2:]] == [[str(rank), row[0]]
                                                                    for rank, row in enumerate(board[:3], start=1)]


@pytest.mark.slow
def test_ten_lines_shows_the_table_and_the_chart(ran):
    assert_ten_lines_showed_the_table_and_the_chart(ran("ten_lines.ipynb")[0])


def test_the_readme_shows_the_ten_lines_notebook_as_it_runs():
    block = re.search(r"## From a notebook\n.*?```python\n(.*?)```", README.read_text(), re.DOTALL)
    assert block, "README.md has no '## From a notebook' section with a python block"
    notebook = nbformat.read(EXAMPLES / "ten_lines.ipynb", as_version=4)
    sources = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    assert block[1].strip() == "\n\n".join(sources)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_committed_notebook_has_no_outputs(name):
    notebook = nbformat.read(EXAMPLES / name, as_version=4)
    nbformat.validate(notebook)
    assert all(not cell.outputs and cell.execution_count is None for cell in notebook.cells
               if cell.cell_type == "code")

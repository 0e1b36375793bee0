"""Running a notebook as a user does: every cell in a fresh kernel, started from a given folder, with a given python."""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from traitlets import default

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
KERNEL = "multifolio-tests"  # the kernelspec written for each run
PLOTLY = "application/vnd.plotly.v1+json"  # how a plotly figure is displayed in a notebook


def execute(notebook: nbformat.NotebookNode, folder: Path, *, python: str | Path = sys.executable,
            env: Mapping[str, str] | None = None, timeout: int = 120) -> nbformat.NotebookNode:
    """`notebook` with its cells run in order, outputs filled in, by an ipykernel of `python` whose working
    directory is `folder`; `CellExecutionError` at the first cell that raises.

    The kernel comes from a kernelspec written for the run that names `python` itself: "python3" would be
    whatever a user's or the system's kernelspec of that name starts (jupyter_client swaps in the running
    interpreter only for a spec whose command is a bare `python`).
    """
    with tempfile.TemporaryDirectory(prefix="multifolio-kernelspec-") as specs:
        (Path(specs) / KERNEL).mkdir()
        (Path(specs) / KERNEL / "kernel.json").write_text(json.dumps({
            "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": f"multifolio tests ({python})", "language": "python"}))

        class ThisKernel(AsyncKernelManager):
            @default("kernel_spec_manager")
            def _only_this_spec(self) -> KernelSpecManager:
                return KernelSpecManager(kernel_dirs=[specs])

        client = NotebookClient(notebook, kernel_name=KERNEL, kernel_manager_class=ThisKernel, timeout=timeout,
                                resources={"metadata": {"path": str(folder)}})
        client.execute(**({} if env is None else {"env": dict(env)}))
    return notebook


def code_cell(source: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(source)


def outputs(notebook: nbformat.NotebookNode) -> Iterator[tuple[int, dict[str, Any]]]:
    """Every output of every code cell, with the cell's index."""
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            for output in cell.outputs:
                yield index, output


def displayed(notebook: nbformat.NotebookNode, index: int, mime: str) -> Any:
    """What cell `index` displayed as `mime` (its result or a display call); AssertionError if nothing."""
    shown = [output["data"][mime] for at, output in outputs(notebook)
             if at == index and mime in output.get("data", {})]
    assert shown, f"cell {index} displayed no {mime}: {notebook.cells[index].outputs}"
    return shown[-1]


def errors(notebook: nbformat.NotebookNode) -> list[str]:
    """Error outputs, and tracebacks written to stderr (a warning is not one)."""
    return [f"cell {index}: {output.get('ename') or output.get('text')}" for index, output in outputs(notebook)
            if output["output_type"] == "error"
            or (output.get("name") == "stderr" and "Traceback" in output.get("text", ""))]


def cell_showing(notebook: nbformat.NotebookNode, line: str) -> int:
    """The index of the one code cell whose last line starts with `line` (the expression it shows)."""
    [index] = [index for index, cell in enumerate(notebook.cells)
               if cell.cell_type == "code" and cell.source.strip().splitlines()[-1].startswith(line)]
    return index


def printed(notebook: nbformat.NotebookNode, index: int) -> Any:
    """The JSON cell `index` printed."""
    return json.loads("".join(output["text"] for at, output in outputs(notebook)
                              if at == index and output.get("name") == "stdout"))


# appended to a notebook run: which python its kernel ran, which multifolio it imported from which path, and
# what its working folder holds
WHERE = code_cell("import json, os, sys, multifolio\n"
                  "print(json.dumps({'python': sys.executable, 'multifolio': multifolio.__file__, "
                  "'path': [os.path.realpath(entry) for entry in sys.path], 'files': os.listdir()}))")

# appended to ten_lines.ipynb: what the README says of it, asserted on the objects in its kernel
TEN_LINES_CHECK = code_cell("""\
import plotly.graph_objects as go
figure = result.plot()
assert list(result.summary.index) == ["rsi_dip", "sma_crossover", "combined"], result.summary.index
assert isinstance(figure, go.Figure), type(figure)
assert [trace.name for trace in figure.data] == ["rsi_dip", "sma_crossover", "combined"], figure.data
assert all(len(trace.y) == len(GOOG) for trace in figure.data)
assert result.systems["rsi_dip"].metrics["num_trades"] > 0  # the notebook's own strategy traded""")


def ten_lines(*checks: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """docs/examples/ten_lines.ipynb with `checks` appended."""
    notebook = nbformat.read(EXAMPLES / "ten_lines.ipynb", as_version=4)
    notebook.cells += checks
    return notebook


def assert_ten_lines_showed_the_table_and_the_chart(notebook: nbformat.NotebookNode) -> None:
    """ten_lines.ipynb's `result` cell showed the table of both systems, its `result.plot()` cell a plotly chart
    with a curve each and one of them together."""
    table = displayed(notebook, cell_showing(notebook, "result  #"), "text/html")
    assert all(f"<th>{name}</th>" in table for name in ("rsi_dip", "sma_crossover", "combined")), table
    chart = displayed(notebook, cell_showing(notebook, "result.plot()"), PLOTLY)
    assert [trace["name"] for trace in chart["data"]] == ["rsi_dip", "sma_crossover", "combined"]

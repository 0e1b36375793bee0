"""The tables `multifolio run` prints when a run ends, fitted to the terminal without ever cutting a number.

A table is laid out in the first way that fits the width, in this order:
1. one row per system, every figure (as wide as the figures need);
2. turned: one row per figure, one column per system (a few systems in a narrow terminal);
3. one row per system with the last figures left out, and a note naming them and the files that hold them.
Names (of systems, of swept keys) may fold onto more lines, down to `NAME_FLOOR` columns; a number never
folds and is never cut. A sweep prints its leaderboard instead: the best `LEADERS` systems by
`reporting.sweep_metric`, ranked as combined_summary.json ranks them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from attrs import frozen
from rich.cells import cell_len
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from multifolio.running.run import FIGURES, TABLE_FIGURES, Figure, describe_overfitting
from multifolio.wording import counted

NAME_FLOOR = 12  # the narrowest a name folds to: "momentum_sys" / "tem"
LEADERS = 10  # the rows of a sweep's leaderboard the terminal shows
BEST = " ★"
_BREAKS = "_.-"  # where a name folds best
_PADDING, _BORDER = 2, 1  # rich's default table: one space each side of a cell, a rule between columns


@frozen
class Column:
    """One column of a table as text; `folds` says which of its texts may wrap: "header", "cells" or None."""

    header: str
    cells: tuple[str, ...]
    folds: str | None = None
    justify: str = "right"

    @property
    def natural(self) -> int:
        return max(cell_len(text) for text in (self.header, *self.cells))

    @property
    def narrowest(self) -> int:
        fixed = [self.header] if self.folds != "header" else []
        fixed += self.cells if self.folds != "cells" else []
        folding = [self.header] if self.folds == "header" else list(self.cells) if self.folds == "cells" else []
        return max([cell_len(text) for text in fixed] + [min(cell_len(text), NAME_FLOOR) for text in folding])


def fitted_widths(columns: Sequence[Column], width: int) -> list[int] | None:
    """Each column's width so that the table takes at most `width` terminal columns, the widest folding
    column narrowed first; None when even every name folded does not fit."""
    widths = [column.natural for column in columns]
    floors = [column.narrowest for column in columns]
    excess = sum(widths) + (_PADDING + _BORDER) * len(columns) + _BORDER - width
    while excess > 0:
        narrowable = [index for index, column_width in enumerate(widths) if column_width > floors[index]]
        if not narrowable:
            return None
        widths[max(narrowable, key=lambda index: widths[index])] -= 1
        excess -= 1
    return widths


def table_of(title: str, columns: Sequence[Column], widths: Sequence[int]) -> Table:
    """The rich table of `columns` at exactly `widths` (the numbers' columns at their natural width)."""
    table = Table(title=title)
    for index, (column, column_width) in enumerate(zip(columns, widths)):
        header = folded(column.header, column_width) if column.folds == "header" else column.header
        table.add_column(header, justify=column.justify, width=column_width, overflow="fold",
                         no_wrap=column.folds is None, style="bold" if index == 0 else None)
    for row in zip(*(column.cells if column.folds != "cells" else [folded(text, column_width) for text in column.cells]
                     for column, column_width in zip(columns, widths))):
        table.add_row(*row)
    return table


def folded(name: str, width: int) -> str:
    """`name` on lines of at most `width` characters, each broken after a `_`, `.` or `-` where one falls
    within the line (system names are `momentum_system`, `sma.fast_period-10...`)."""
    lines = []
    while cell_len(name) > width:
        cut = max(name.rfind(mark, 0, width) for mark in _BREAKS) + 1 or width
        lines.append(name[:cut])
        name = name[cut:]
    return "\n".join([*lines, name])


def figures_table(title: str, rows: Mapping[str, Mapping[str, Any]], ranked: Sequence[str], width: int,
                  where: str = "each system's performance.json and combined_summary.json") -> RenderableType:
    """The figures of `rows` (name → figures) side by side, fitted to `width`; the best of the `ranked` rows
    in each figure is marked ★, by the same rule as the HTML pages (the metric catalogue). `where` says
    which files hold a figure left out."""
    best = {figure.key: figure.best({name: rows[name].get(figure.key) for name in ranked})
            for figure in TABLE_FIGURES}

    def texts(figure: Figure) -> tuple[str, ...]:
        return tuple(figure.text(metrics.get(figure.key)) + (BEST if name in best[figure.key] else "")
                     for name, metrics in rows.items())

    names = Column("System", tuple(rows), folds="cells", justify="left")
    by_system = [names, *(Column(figure.short, texts(figure)) for figure in TABLE_FIGURES)]
    widths = fitted_widths(by_system, width)
    if widths is not None:
        return table_of(title, by_system, widths)
    cells = [texts(figure) for figure in TABLE_FIGURES]
    turned = [Column("", tuple(figure.short for figure in TABLE_FIGURES), justify="left"),
              *(Column(name, tuple(column[row] for column in cells), folds="header")
                for row, name in enumerate(rows))]
    widths = fitted_widths(turned, width)
    if widths is not None:
        return table_of(title, turned, widths)
    return _with_fewer_figures(title, [names], by_system[1:], width, where)


def leaderboard_table(title: str, board: Any, metrics: Mapping[str, Mapping[str, Any]], metric: str, width: int,
                      where: str) -> RenderableType:
    """A sweep's leaderboard (`Result.sweeps`' frame: rank, system, swept values, the metric), its first
    `LEADERS` rows: the rank, the swept values, the ranking figure, then the table's other figures."""
    top = board.head(LEADERS)
    values = [key for key in board.columns if key not in ("system", metric)]
    systems = list(top["system"])
    figures = [FIGURES[metric], *(figure for figure in TABLE_FIGURES if figure.key != metric)]
    kept = [Column("#", tuple(str(rank) for rank in top.index)),
            *(Column(key, tuple(str(value) for value in top[key]), folds="header") for key in values),
            _figure_column(figures[0], systems, metrics)]
    return _with_fewer_figures(title, kept, [_figure_column(figure, systems, metrics) for figure in figures[1:]],
                               width, where)


def _figure_column(figure: Figure, systems: Sequence[str], metrics: Mapping[str, Mapping[str, Any]]) -> Column:
    return Column(figure.short, tuple(figure.text(metrics.get(name, {}).get(figure.key)) for name in systems))


def _with_fewer_figures(title: str, kept: list[Column], droppable: list[Column], width: int,
                        where: str) -> RenderableType:
    """`kept` and as many of `droppable` as fit, from the left; a note names those left out."""
    for shown in range(len(droppable), -1, -1):
        widths = fitted_widths(kept + droppable[:shown], width)
        if widths is not None or shown == 0:
            break
    columns = kept + droppable[:shown]
    # nothing fits (a terminal narrower than a name and a figure): rich cuts what it must
    table = table_of(title, columns, widths or [column.natural for column in columns])
    if shown == len(droppable):
        return table
    left_out = ", ".join(column.header for column in droppable[shown:])
    return Group(table, Text(f"not shown at {width} columns: {left_out}; every figure is in {where}",
                             style="dim"))


def end_of_run(result: Any, width: int) -> list[RenderableType]:
    """What `multifolio run` prints of a finished `Result`: the figures of the systems not swept (and the
    combined book when nothing is swept), then each sweep's leaderboard with a line on where the rest is."""
    folder = Path(result.folder) if result.folder is not None else None
    summary_file = "combined_summary.json" if folder is None else str(folder / "combined_summary.json")
    sweeps = result.sweeps
    swept = {name for board in sweeps.values() for name in board["system"]}
    rows = {name: figures for name, figures in result.metrics.items() if name not in swept}
    # a bankrupt system lost everything: whatever its ratios read, it is never marked best (as in the pages)
    ranked = [name for name in rows if (result.systems[name].stopped or {}).get("reason") != "bankruptcy"]
    shown: list[RenderableType] = []
    if rows:
        title = f"{result.name} — {counted(len(rows), 'system')}" + (" not swept" if sweeps else "")
        # the combined book of a sweep's variants is money nobody would hold: shown only without a sweep
        if not sweeps and result.summary_document is not None and len(rows) > 1:
            rows["combined"] = result.summary_document["combined"]
        where = ("each system's performance.json and combined_summary.json" if folder is None
                 else f"{folder}/<system>/performance.json and {summary_file}")
        shown.append(figures_table(title, rows, ranked, width, where))
    section = (result.summary_document or {}).get("sweeps") or {}
    for group in section.get("groups", []):
        board = sweeps[group["entry"]]
        figure = FIGURES[section["metric"]]
        title = (f"{result.name} — sweep {group['entry']}: the best {min(LEADERS, len(board))} by {figure.label} "
                 f"({figure.better} is better)")
        shown.append(leaderboard_table(title, board, result.metrics, section["metric"], width,
                                       f"{folder}/<system>/performance.json" if folder else "performance.json"))
        shown.append(Text(f"{counted(group['systems'], 'system')} of the sweep {group['entry']} finished; every one "
                          f"is ranked in the sweeps section of {summary_file}"))
        if group.get("overfitting"):
            shown.append(Text(describe_overfitting(group["overfitting"])))
    for entry, study in result.walk_forward.items():
        shown.append(walk_forward_table(f"{result.name} — walk-forward {entry}", study, width,
                                        f"the walk_forward section of {summary_file}"))
        shown.append(Text(study.attrs["summary"]))
    return shown


def walk_forward_table(title: str, study: Any, width: int, where: str) -> RenderableType:
    """A walk-forward study (`Result.walk_forward`'s frame): per window its test span, the values chosen on its
    training bars, the figure in and out of sample and the choice's rank out of sample."""
    figure = FIGURES[study.attrs["figure"]]
    values = [key for key in study.columns if key not in WINDOW_COLUMNS]
    ranks = tuple("–" if rank != rank or rank is None else f"{int(rank)} of {count}"
                  for rank, count in zip(study["rank"], study["candidates"]))
    kept = [Column("#", tuple(str(number) for number in study.index)),
            Column("test", tuple(f"{start:%Y-%m-%d} → {end:%Y-%m-%d}" for start, end in
                                 zip(study["test_start"], study["test_end"])), justify="left"),
            *(Column(key, tuple(str(value) for value in study[key]), folds="header") for key in values),
            Column(f"{figure.short} in", tuple(figure.text(value) for value in study["in_sample"])),
            Column(f"{figure.short} out", tuple(figure.text(value) for value in study["out_of_sample"])),
            Column("rank out", ranks)]
    return _with_fewer_figures(title, kept, [], width, where)


# the columns of a walk-forward frame that are not the values chosen
WINDOW_COLUMNS = ("train_start", "train_end", "test_start", "test_end", "train_bars", "test_bars", "system",
                  "in_sample", "out_of_sample", "rank", "candidates")

"""The progress display of a run, shared by the command line and `multifolio.run(..., progress=True)`: the bars
(or systems) stepped, then the results being written."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Column

WRITING = "writing results"
_NAME_WIDTH = 30  # a longer run name is shortened in the display


class RunProgress:
    """Two bars on one display (one per run): `advance` is the engine's callback, `writing` the composition
    root's (`multifolio.running.run.WriteProgress`), which starts the second bar."""

    def __init__(self, progress: Progress, description: str, unit: str) -> None:
        self._progress = progress
        self._stepping = progress.add_task(description, total=None, unit=unit)
        self._writing: TaskID | None = None
        self._drawn = 0.0

    def advance(self, done: float, total: int) -> None:
        """Drawn at most four times a second: rich's own refresh thread would redraw ten times a second and
        contend with the run for the interpreter; drawing only from here keeps the cost under 1%."""
        self._progress.update(self._stepping, completed=done, total=total)
        now = time.monotonic()
        if now - self._drawn >= 0.25 or done == total:
            self._progress.refresh()
            self._drawn = now

    def writing(self, done: int, total: int | None, part: str) -> None:
        """Each part told as it starts (a few dozen at most): drawn every time."""
        if self._writing is None:
            self._writing = self._progress.add_task(WRITING, total=total, unit=part)
        self._progress.update(self._writing, completed=done, total=total, unit=part or "done")
        self._progress.refresh()


@contextmanager
def run_progress(description: str, console: Console, unit: str = "bars") -> Iterator[RunProgress]:
    """The display, live while the `with` block runs; `unit` is what the first bar counts.

    It takes the terminal's width: the bar and the part being written share what the numbers leave, so a
    narrow terminal shortens a long name ("sma.fast_period-1…"), never a count or a time.
    """
    names = Column(no_wrap=True, overflow="ellipsis", max_width=_NAME_WIDTH)
    columns = (TextColumn("[bold]{task.description}", table_column=names),
               BarColumn(bar_width=None, table_column=Column(ratio=1)),
               MofNCompleteColumn(table_column=Column(no_wrap=True)),
               TextColumn("{task.fields[unit]}", table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1)),
               TimeRemainingColumn(table_column=Column(no_wrap=True)))
    with Progress(*columns, console=console, auto_refresh=False, expand=True) as progress:
        yield RunProgress(progress, description, unit)

"""The progress bar of a run, shared by the command line and `multifolio.run(..., progress=True)`."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


@contextmanager
def bar_progress(description: str, console: Console, unit: str = "bars") -> Iterator[Callable[[float, int], None]]:
    """A progress bar for the engine's callback, drawn at most four times a second.

    rich's own refresh thread would redraw ten times a second and contend with the
    run for the interpreter; drawing only from the callback keeps the cost under 1%.
    """
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn(unit),
               TimeRemainingColumn())
    with Progress(*columns, console=console, auto_refresh=False) as progress:
        task = progress.add_task(description, total=None)
        drawn = 0.0

        def advance(done: float, total: int) -> None:
            nonlocal drawn
            progress.update(task, completed=done, total=total)
            now = time.monotonic()
            if now - drawn >= 0.25 or done == total:
                progress.refresh()
                drawn = now

        yield advance

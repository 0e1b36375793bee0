"""The combined book: every reported system's equity side by side and their sum, over the bars every system
reached. A run of a thousand systems at a million bars would hold 8 GB of curves side by side, so the book keeps
only the sum; a system's curve is drawn from its steps when a figure, the CSV or a page asks for it, a window of
bars at a time for combined_equity.csv."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from multifolio.book.book import BookResult
from multifolio.files import atomic_write
from multifolio.memory import freed_memory_handed_back
from multifolio.reports.csv_text import write_csv_windows
from multifolio.reports.metrics import time_weighted_curve
from multifolio.trading.system import SystemResult

RESERVE, COMBINED = "reserve", "combined"
# the values of combined_equity.csv drawn at a time (8 MB): a million bars of one system in three windows, a
# thousand systems' columns a thousand bars at a time (a larger window adds its size to the peak, not speed)
_WINDOW_VALUES = 1 << 20


class CombinedBook:
    """The systems' equity, each curve drawn on demand from its steps, and their sum, `combined` (with an
    allocation, the book's own cash, `reserve`, is a part of it): combined_equity.csv's columns."""

    def __init__(self, results: Sequence[SystemResult], book: BookResult | None = None) -> None:
        steps = {result.name: result.equity_steps for result in results}
        self._steps = steps
        self.bars = min(step.bars for step in steps.values())  # systems interrupted on workers stop apart
        self.timestamps = next(iter(steps.values())).timeline[:self.bars]
        self._reserve = (book.reserve_series(self.bars) if book is not None and book.spec.allocation is not None
                         else None)
        self.parts = [*steps, *([RESERVE] if self._reserve is not None else [])]
        self.combined = sum_of_columns([partial(self.curve, part) for part in self.parts], self.bars)

    @property
    def columns(self) -> list[str]:
        return ["timestamp", *self.parts, COMBINED]

    def curve(self, part: str, first: int = 0, stop: int | None = None) -> np.ndarray:
        """The equity of `part` (a system, or the reserve) at bars `first` to `stop` − 1 (default: all)."""
        stop = self.bars if stop is None else min(stop, self.bars)
        if part == RESERVE:
            return self._reserve[first:stop]
        return self._steps[part].window(first, stop)["equity"]

    def at(self, bar: int) -> np.ndarray:
        """Each part's equity at `bar`, in `parts` order."""
        return np.array([self.curve(part, bar, bar + 1)[0] for part in self.parts])

    def frame(self, parts: Sequence[str] | None = None, first: int = 0, stop: int | None = None) -> pd.DataFrame:
        """combined_equity.csv's rows `first` to `stop` − 1 (default: all), with only the columns of `parts` and
        the sum (default: every part's)."""
        stop = self.bars if stop is None else min(stop, self.bars)
        chosen = self.parts if parts is None else [part for part in self.parts if part in parts]
        return pd.DataFrame({"timestamp": self.timestamps[first:stop],
                             **{part: self.curve(part, first, stop) for part in chosen},
                             COMBINED: self.combined[first:stop]}, copy=False)

    def windows(self) -> Iterator[pd.DataFrame]:
        """Every row of `frame()`, a window of bars at a time."""
        rows = max(1, _WINDOW_VALUES // len(self.columns))
        for first in range(0, max(self.bars, 1), rows):
            yield self.frame(first=first, stop=first + rows)

    def write_csv(self, path: Path) -> Path:
        """combined_equity.csv: `frame()` as `write_csv` writes a frame, drawn a window at a time."""
        with freed_memory_handed_back():
            return atomic_write(path, lambda stream: write_csv_windows(stream.buffer, self.windows(),
                                                                      {"timestamp": self.timestamps}))


class GrowthCurves(Mapping):
    """`timestamp` and each system's own growth over the combined book's bars, drawn when asked for: its equity,
    or, for a system the book moved capital in and out of, its time-weighted curve (one unit of its first capital
    kept in). `capital`: what each curve's first return is taken against."""

    def __init__(self, book: CombinedBook, results: Sequence[SystemResult]) -> None:
        self._book = book
        self._results = {result.name: result for result in results}
        self.capital = {result.name: 1.0 if result.equity_steps.transfers is not None else result.initial_capital
                        for result in results}

    def __getitem__(self, key: str) -> np.ndarray | pd.DatetimeIndex:
        if key == "timestamp":
            return self._book.timestamps
        steps = self._results[key].equity_steps
        if steps.transfers is None:
            return self._book.curve(key)
        window = steps.window(0, self._book.bars)
        return time_weighted_curve(window["equity"], self._results[key].initial_capital, window["transfers"])

    def window(self) -> Callable[[str, int, int], np.ndarray] | None:
        """Each system's curve at bars `first` to `stop` − 1, drawn alone; None when the book moved some system's
        capital (a time-weighted curve is worked out over all its bars)."""
        if any(result.equity_steps.transfers is not None for result in self._results.values()):
            return None
        return lambda key, first, stop: self._book.curve(key, first, stop)

    def __contains__(self, key: object) -> bool:  # without drawing the curve
        return key == "timestamp" or key in self._results

    def __iter__(self) -> Iterator[str]:
        return iter(["timestamp", *self._results])

    def __len__(self) -> int:
        return 1 + len(self._results)


def sum_of_columns(columns: Sequence[Callable[[int, int], np.ndarray]], rows: int) -> np.ndarray:
    """The row-by-row sum of the `columns` (each gives its values at rows `first` to `stop` − 1), a missing value
    adding nothing: pandas' `sum(axis=1)` of the frame they make, to the last bit, without the frame. pandas adds
    a row's values from 0, one column after the other, unless a value is missing anywhere: then it fills the
    gaps with 0 in a row-major copy, whose rows numpy adds pairwise; so does this, a window of rows at a time."""
    total, missing = np.zeros(rows), False
    for column in columns:
        values = column(0, rows)
        gaps = np.isnan(values)
        if gaps.any():
            missing = True
            break
        total += values
    if not missing:
        return total
    step = max(1, _WINDOW_VALUES // max(len(columns), 1))
    for first in range(0, rows, step):
        stop = min(first + step, rows)
        window = np.empty((stop - first, len(columns)))
        for position, column in enumerate(columns):
            window[:, position] = column(first, stop)
        np.nan_to_num(window, copy=False, nan=0.0, posinf=np.inf, neginf=-np.inf)
        total[first:stop] = window.sum(axis=1)
    return total

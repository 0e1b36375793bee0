"""The loop: one pass over the shared timeline, every system stepped at every bar (one per run)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from app.market import MarketData
from app.system import SystemResult, SystemRunner

ProgressCallback = Callable[[int, int], None]  # (bars done, bars in all)


class Engine:
    """Steps every system through each timestamp in turn, then ends the data for each.

    Systems never see each other, so the order in which they are stepped cannot
    change any result; it is the YAML order.
    """

    def __init__(self, *, market: MarketData, systems: Sequence[SystemRunner],
                 progress: ProgressCallback | None = None, progress_every: int = 0) -> None:
        self._market = market
        self._systems = tuple(systems)
        self._progress = progress
        total = len(market)
        # a few hundred updates at most: a progress display must cost nothing per bar
        self._progress_every = progress_every or max(1000, total // 200)

    def run(self) -> list[SystemResult]:
        total = len(self._market)
        for system in self._systems:
            system.start()
        steps = [system.step for system in self._systems]
        # bars in chunks between progress updates: no per-bar bookkeeping for the display
        for start in range(0, total, self._progress_every):
            for index in range(start, min(start + self._progress_every, total)):
                for step in steps:
                    step(index)
            if self._progress is not None:
                self._progress(min(start + self._progress_every, total), total)
        return [system.finish() for system in self._systems]

"""The loop: one pass over the shared timeline, every system stepped where something can happen (one per run)."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Sequence

from multifolio.book.book import Book
from multifolio.data.market import MarketData
from multifolio.errors import PLUGIN_FAULTS
from multifolio.memory import hand_back_freed_memory
from multifolio.trading.system import SystemResult, SystemRunner

ProgressCallback = Callable[[float, int], None]  # (done, in all): bars; from a parallel executor, systems
StopRequest = Callable[[], bool]  # asked between chunks of bars: True stops the run at that bar boundary
FEWEST_BARS_PER_CHUNK = 1000  # bars between progress updates and stop checks, at the least


class Engine:
    """Steps every system through each timestamp in turn, then ends the data for each.

    Systems never see each other, so the order in which they are stepped cannot
    change any result: without a book each system goes through a chunk of bars on its own
    (`SystemRunner.advance`, from event to event where it can), in YAML order. A system whose
    plugin raises is failed at that bar and stepped no more; the others go on. A stop request
    (Ctrl-C) ends every system at the last bar of the chunk completed. With a `book`, which acts
    at bar boundaries and after bars (multifolio.book.book) on the systems it couples, every system
    is stepped at one bar before any is stepped at the next, each where something can happen to it
    (`SystemRunner.step_at`), and the loop visits the bars where a system or the book may act: each
    system's next event, the book's next due boundary (`Book.next_due`: every one while it watches
    every close), and the boundary after any bar a system stepped at.
    """

    def __init__(self, *, market: MarketData, systems: Sequence[SystemRunner],
                 progress: ProgressCallback | None = None, progress_every: int = 0,
                 stop_requested: StopRequest | None = None, book: Book | None = None) -> None:
        self._market = market
        self._systems = tuple(systems)
        self._book = book
        self._progress = progress
        self._stop_requested = stop_requested
        total = len(market)
        # a few hundred updates at most: a progress display must cost nothing per bar
        self._progress_every = progress_every or max(FEWEST_BARS_PER_CHUNK, total // 200)

    def run(self) -> list[SystemResult]:
        total = len(self._market)
        failed: dict[str, SystemResult] = {}
        book = self._book
        if book is not None:
            book.start()
        for system in self._systems:
            system.start()
        running = list(self._systems)
        last, status = total - 1, "completed"
        index = 0  # the next bar a book visits (carried over chunks: it goes from event to event too)
        # bars in chunks between progress updates and stop checks: no per-bar bookkeeping
        for start in range(0, total, self._progress_every):
            stop = min(start + self._progress_every, total)
            every_boundary = book is not None and book.watches_every_boundary
            while book is not None and index < stop:  # all systems at one bar before the next, while a book acts
                book.before_bar(index)
                stepped = False
                for system in running:
                    if system.name in failed:  # failed at this bar with its book: stepped no more
                        continue
                    try:
                        stepped = system.step_at(index) or stepped
                    except PLUGIN_FAULTS:  # a plugin's fault fails its own system only (and those sharing its book)
                        error = traceback.format_exc()
                        failed[system.name] = system.failed(index, error)
                        if book is not None and system.name in book.spec.coupled:
                            failed.update(self._fail_book(book, system.name, index, error, failed))
                            book = None
                        running = [other for other in running if other.name not in failed]
                if book is None:  # the rest of the chunk without it, from the next bar
                    index += 1
                    break
                book.after_bar(index)
                # the next bar where the book or a system may act: the boundary after a bar a system stepped (the
                # book hears what it did there: it stopped, it placed an entry), each system's next event
                if every_boundary or stepped:
                    index += 1
                else:
                    index = min(book.next_due(index), *(system.due for system in running))
            for system in running if book is None else ():
                try:
                    system.advance(max(index, start), stop)
                except PLUGIN_FAULTS:  # a plugin's fault fails its own system only
                    failed[system.name] = system.failed(system.stepping, traceback.format_exc())
            running = [system for system in running if system.name not in failed]
            if self._progress is not None:
                self._progress(stop, total)
            if self._stop_requested is not None and self._stop_requested() and stop < total:
                last, status = stop - 1, "interrupted"
                break
        results = []
        for system in self._systems:
            results.append(failed.get(system.name) or self._finish(system, last, status))
            # what the system's live records took, given back before the next system's result is made: freed in
            # the heap's middle it would stay the process's, and results of other sizes would not all reuse it
            hand_back_freed_memory()
        return results

    def _fail_book(self, book: Book, name: str, index: int, error: str, failed: dict[str, SystemResult]
                   ) -> dict[str, SystemResult]:
        """The other systems of the book `name` was coupled in, failed with it at bar `index`: they shared
        its capital and its limits, and what it held when its plugin raised cannot be trusted."""
        why = (f"system {name!r}, coupled with this one by the book (allocation, book limits or controller), "
               f"failed at bar {index}; the systems of a book fail together: they share its capital\n\n{error}")
        return {system.name: system.failed(index, why) for system in self._systems
                if system.name in book.spec.coupled and system.name not in failed}

    @staticmethod
    def _finish(system: SystemRunner, last: int, status: str) -> SystemResult:
        try:
            return system.finish(last, status)
        except PLUGIN_FAULTS:  # raised while ending the data: as failed as any other bar
            return system.failed(last, traceback.format_exc())

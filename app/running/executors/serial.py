"""The serial executor: every system stepped together in the calling process, over one pass of the bars."""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from typing import Any

import attrs

from multifolio.config.book import BookSpec
from multifolio.config.spec import SystemSpec
from multifolio.containers.backtest import BacktestContainer
from multifolio.errors import PLUGIN_FAULTS
from multifolio.running.engine import Engine, ProgressCallback, StopRequest
from multifolio.trading.system import SystemResult, failed_before_start


def run_systems(root: BacktestContainer, specs: Sequence[SystemSpec],
                progress: ProgressCallback | None = None, stop_requested: StopRequest | None = None,
                book: BookSpec | None = None) -> list[SystemResult]:
    """The serial executor: one TradingSystem per spec, run together (with the book that couples some)."""
    return run_containers(root, [root.trading_system(spec=spec) for spec in specs], progress, stop_requested, book)


def run_containers(root: BacktestContainer, systems: Sequence[Any], progress: ProgressCallback | None = None,
                   stop_requested: StopRequest | None = None, book: BookSpec | None = None) -> list[SystemResult]:
    """Run TradingSystem containers already made from `root` (a test may have overridden their
    providers), then end them: their resources shut down, their objects let go. With `book`, the
    systems it couples are stepped with it (all of them must be among `systems`), and their results
    carry its record.

    The shared providers of `root` keep a link to every container they serve, so an
    ended system still linked would keep its whole ledger alive as long as the root (a
    worker's lives for the run); and its objects sit in reference cycles with their
    container that only a full garbage collection frees (1.0–1.35 s for the 600k objects a Dask
    worker held after 8 systems of 1M bars).
    """
    try:
        market = root.data.market()
        runners, unbuilt, positions = [], {}, []
        for position, system in enumerate(systems):
            spec = system.spec()
            if spec.fault:
                unbuilt[position] = failed_before_start(spec, market, spec.fault,
                                                        "a plugin raised while the system was checked")
                continue
            try:  # building runs plugin code (constructors, compute): its fault fails this system only
                runners.append(system.runner())
                positions.append(position)
            except PLUGIN_FAULTS:
                unbuilt[position] = failed_before_start(spec, market, traceback.format_exc(),
                                                        "a plugin raised while the system was built")
        coupling = None
        if book is not None:
            try:  # the allocator is plugin code: its fault fails the systems it was to fund
                allocator = root.allocator(book.allocation.allocator) if book.allocation is not None else None
                controller = root.controller(book.controller) if book.controller is not None else None
                coupling = root.book(spec=book, runners=runners, allocator=allocator, controller=controller)
            except PLUGIN_FAULTS:
                error = traceback.format_exc()
                for position, runner in enumerate(runners):
                    if runner.name in book.coupled:
                        unbuilt[positions[position]] = failed_before_start(
                            runner.spec, market, error, "its allocator or controller raised while it was built")
                runners = [runner for runner in runners if runner.name not in book.coupled]
        results = Engine(market=market, systems=runners, progress=progress, stop_requested=stop_requested,
                         book=coupling).run()
        if coupling is not None:
            record = coupling.result()
            results = [attrs.evolve(result, book=record) if result.name in book.coupled else result
                       for result in results]
        results = iter(results)
        return [unbuilt.get(position) or next(results) for position in range(len(systems))]
    finally:
        for system in systems:
            system.shutdown_resources()
            # unlinked from the shared data first: resetting would otherwise reach through the link and
            # reset the root's singletons too, and a worker would compute every indicator again per chunk
            system.data.reset_override()
            system.reset_singletons()

"""The serial executor: every system stepped together in the calling process, over one pass of the bars."""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from typing import Any

from multifolio.config.spec import SystemSpec
from multifolio.containers.backtest import BacktestContainer
from multifolio.errors import PLUGIN_FAULTS
from multifolio.running.engine import Engine, ProgressCallback, StopRequest
from multifolio.trading.system import SystemResult, failed_before_start


def run_systems(root: BacktestContainer, specs: Sequence[SystemSpec],
                progress: ProgressCallback | None = None, stop_requested: StopRequest | None = None
                ) -> list[SystemResult]:
    """The serial executor: one TradingSystem per spec, run together."""
    return run_containers(root, [root.trading_system(spec=spec) for spec in specs], progress, stop_requested)


def run_containers(root: BacktestContainer, systems: Sequence[Any], progress: ProgressCallback | None = None,
                   stop_requested: StopRequest | None = None) -> list[SystemResult]:
    """Run TradingSystem containers already made from `root` (a test may have overridden their
    providers), then end them: their resources shut down, their objects let go.

    The shared providers of `root` keep a link to every container they serve, so an
    ended system still linked would keep its whole ledger alive as long as the root (a
    worker's lives for the run); and its objects sit in reference cycles with their
    container that only a full garbage collection frees (1.0–1.35 s for the 600k objects a Dask
    worker held after 8 systems of 1M bars).
    """
    try:
        market = root.data.market()
        runners, unbuilt = [], {}
        for position, system in enumerate(systems):
            spec = system.spec()
            if spec.fault:
                unbuilt[position] = failed_before_start(spec, market, spec.fault,
                                                        "a plugin raised while the system was checked")
                continue
            try:  # building runs plugin code (constructors, compute): its fault fails this system only
                runners.append(system.runner())
            except PLUGIN_FAULTS:
                unbuilt[position] = failed_before_start(spec, market, traceback.format_exc(),
                                                        "a plugin raised while the system was built")
        results = iter(Engine(market=market, systems=runners, progress=progress,
                              stop_requested=stop_requested).run())
        return [unbuilt.get(position) or next(results) for position in range(len(systems))]
    finally:
        for system in systems:
            system.shutdown_resources()
            # unlinked from the shared data first: resetting would otherwise reach through the link and
            # reset the root's singletons too, and a worker would compute every indicator again per chunk
            system.data.reset_override()
            system.reset_singletons()

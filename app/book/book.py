"""The portfolio of systems at run time: allocation, limits across books, and its record (one per run whose
config couples systems).

The engine calls `before_bar(t)` at the boundary before bar t (after every system finished bar t − 1)
and `after_bar(t)` once every system has stepped bar t. At the boundary, in this order: the kill switch
(the combined book's drawdown at the closes of t − 1), the controller (systems started and retired), then
the allocation (capital back from stopped systems, then a rebalance when due). After the bar: the
exposure limits cut that bar's new entries.
"""

from __future__ import annotations

import traceback
from collections.abc import Sequence

import numpy as np
import pandas as pd
from attrs import frozen

from multifolio.book.allocation import Allocation
from multifolio.book.control import ControlledBook
from multifolio.book.limits import BookLimits
from multifolio.config.book import BookSpec
from multifolio.data.market import MarketData
from multifolio.errors import PLUGIN_FAULTS
from multifolio.protocols import Allocator, Controller
from multifolio.trading.system import SystemRunner

KILL_SWITCH = "book_max_drawdown"  # the cause of the orders that flatten every system when it trips


@frozen
class BookResult:
    """What the book did over the run, for combined_summary.json and the combined page."""

    spec: BookSpec
    timeline: pd.DatetimeIndex
    capital: float  # the allocation's pool (0 without one)
    transfers: pd.DataFrame  # bar, timestamp, system, amount (in: > 0), cause
    rebalances: pd.DataFrame  # bar, timestamp, cause, one target weight column per allocated system
    reserve: tuple[np.ndarray, np.ndarray]  # (bars, the reserve from each on): the book's own cash
    events: pd.DataFrame  # bar, timestamp, event (a limit hit, started, retired), system, detail
    error: str = ""  # why the allocation stopped moving capital, or the controller stopped, if either did

    def reserve_series(self, bars: int) -> np.ndarray:
        """The reserve at each of the first `bars` bars."""
        indices, values = self.reserve  # one step per bar at most, ascending
        in_force = np.searchsorted(indices, np.arange(bars), side="right")  # 0: no step yet, the capital
        return np.concatenate(([self.capital], values))[in_force]


class Book:
    """Couples the systems its spec names: funds and rebalances them, watches limits across them."""

    def __init__(self, *, spec: BookSpec, market: MarketData, runners: Sequence[SystemRunner],
                 allocator: Allocator | None, controller: Controller | None = None) -> None:
        self.spec = spec
        self._market = market
        self.runners = [runner for runner in runners if runner.name in spec.coupled]
        self._events: list[tuple[int, str, str, str]] = []
        self._controller = controller
        self._controller_error = ""
        self._view = ControlledBook(market=market, runners=self.runners,
                                    record=lambda *event: self._events.append(event))
        self.allocation = (Allocation(spec=spec.allocation, market=market, runners=self.runners, allocator=allocator)
                           if spec.allocation is not None else None)
        self.limits = (BookLimits(spec=spec.limits, market=market, runners=self.runners, reserve=self._reserve)
                       if spec.limits.any() else None)

    def _reserve(self) -> float:
        return self.allocation.reserve if self.allocation is not None else 0.0

    def start(self) -> None:
        """Before the systems start (their buses are sealed then): hear what the limits need."""
        if self.limits is not None:
            self.limits.connect()

    @property
    def watches_every_boundary(self) -> bool:
        """Whether the book may act at any boundary, whatever its systems did: with a controller, a rebalance on
        drift or the kill switch, which values the book at every close."""
        return (self._controller is not None or (self.limits is not None and self.limits.spec.max_drawdown is not None)
                or (self.allocation is not None and self.allocation.watches_every_boundary))

    def next_due(self, index: int) -> int:
        """The first boundary after `index` at which the book may act though no system it couples has stepped
        since: the next one while it `watches_every_boundary`, else the next scheduled rebalance (the timeline's
        length: none). What a system does makes the boundary after it due as well (capital back from a stopped
        system, a rebalance when one left, the exposure limits): the engine visits it."""
        if self.watches_every_boundary:
            return index + 1
        return self.allocation.next_scheduled(index) if self.allocation is not None else len(self._market)

    def before_bar(self, index: int) -> None:
        if self.limits is not None and self.limits.drawdown_tripped(index):
            for runner in self.runners:
                if not runner.stopped:
                    runner.halt(index - 1, KILL_SWITCH, "flatten", at_boundary=True)
        if self._controller is not None:
            self._control(index)
        if self.allocation is not None:
            self.allocation.before_bar(index)

    def _control(self, index: int) -> None:
        """The controller's look at the book; if it raises, it is asked no more and the systems go on."""
        self._view.index = index
        try:
            self._controller.on_bar(self._view)
        except PLUGIN_FAULTS:
            self._controller_error = (f"the controller raised at bar {index} ({self._market.timestamps[index]}); "
                                      f"it started and retired nothing from then on:\n{traceback.format_exc()}")
            self._controller = None

    def after_bar(self, index: int) -> None:
        if self.limits is not None:
            self.limits.after_bar(index)

    def result(self) -> BookResult:
        stamps = self._market.timestamps
        allocation = self.allocation
        transfers = pd.DataFrame(allocation.transfers if allocation else [],
                                 columns=["bar", "system", "amount", "cause"]).astype({"bar": "int64",
                                                                                       "amount": "float64"})
        transfers.insert(1, "timestamp", stamps[transfers["bar"].to_numpy()])
        names = [runner.name for runner in allocation.runners] if allocation else []
        rebalances = pd.DataFrame([[bar, why, *(weights.get(name, 0.0) for name in names)]
                                   for bar, why, weights in (allocation.rebalances if allocation else [])],
                                  columns=["bar", "cause", *names]).astype({"bar": "int64"})
        rebalances.insert(1, "timestamp", stamps[rebalances["bar"].to_numpy()])
        happened = sorted([*(self.limits.hits if self.limits else []), *self._events], key=lambda event: event[0])
        events = pd.DataFrame(happened, columns=["bar", "event", "system", "detail"]).astype({"bar": "int64"})
        events.insert(1, "timestamp", stamps[events["bar"].to_numpy()])
        steps = allocation.reserve_steps if allocation else []
        reserve = (np.array([bar for bar, _ in steps], dtype=np.int64),
                   np.array([value for _, value in steps], dtype=np.float64))
        return BookResult(spec=self.spec, timeline=stamps, capital=allocation.spec.capital if allocation else 0.0,
                          transfers=transfers, rebalances=rebalances, reserve=reserve, events=events,
                          error="\n".join(filter(None, (allocation.frozen if allocation else "",
                                                        self._controller_error))))

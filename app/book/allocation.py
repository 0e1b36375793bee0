"""One pool of capital shared out between systems by an allocator, rebalanced at bar boundaries (one per run
with an `allocation:`).

At the boundary before bar t everything is valued at the closes of bar t − 1. Capital moves as cash
transfers recorded in each system's ledger, never as positions: a system asked to give back more than its
free cash (equity beyond its gross position value) gives it, and orders tagged `rebalance`, placed as of
t − 1, sell the same share of each of its positions at t's open (its cash may stand below zero until then).
Takers give first, into the book's reserve; the reserve then pays the givers, so cash is conserved exactly
in the order of the systems in the config.

A system given a weight of 0 is *parked*: all its capital goes back, what it holds is sold at the next
open, new entries are blocked (and the bankruptcy floor does not apply: it has no capital at stake), and
what the sale left over, a gain or a loss against the last close, is swept into the reserve once it is
flat. A later weight above 0 lifts the block and funds it again.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from multifolio.config.book import AllocationSpec
from multifolio.data.market import MarketData
from multifolio.errors import PLUGIN_FAULTS, PluginOutputError
from multifolio.protocols import AllocationContext, Allocator, OrderType
from multifolio.trading.events import OrderSubmitted
from multifolio.trading.halts import PARKED
from multifolio.trading.system import SystemRunner

WEIGHT_TOLERANCE = 1e-9  # weights may sum to 1 + this (float sums of shares of 1)


class Allocation:
    """Funds the allocated systems when they start, rebalances them to the allocator's weights on its
    schedule or when a weight drifts, and takes back the capital of systems that stopped once they are flat.

    Every transfer is recorded in `transfers`: (bar, system, amount in, cause).
    """

    def __init__(self, *, spec: AllocationSpec, market: MarketData, runners: Sequence[SystemRunner],
                 allocator: Allocator) -> None:
        self.spec = spec
        self._market = market
        self._allocator = allocator
        self.runners = [runner for runner in runners if runner.name in spec.systems]
        self.reserve = spec.capital  # the book's cash: not yet given to a system, or taken back
        self._scheduled = spec.every.starts(market.timestamps) if spec.every is not None else None
        # the bars a rebalance is scheduled at, for `next_scheduled`
        self._schedule = np.flatnonzero(self._scheduled) if self._scheduled is not None else np.zeros(0, np.int64)
        self._look_back_from = spec.lookback.window_starts(market.timestamps)
        self.targets: dict[str, float] = {}  # the weights of the last rebalance, by system
        self.members: tuple[str, ...] = ()  # the systems funded at the last rebalance
        self.returned: set[str] = set()  # systems that stopped and gave their capital back
        self.parked: set[str] = set()  # systems given a weight of 0: blocked until funded again
        self.rebalances: list[tuple[int, str, dict[str, float]]] = []  # (bar, why, target weights)
        self.frozen = ""  # why the allocation stopped moving capital (its allocator raised), if it did
        self.transfers: list[tuple[int, str, float, str]] = []
        self.reserve_steps: list[tuple[int, float]] = []  # (bar, the reserve from that bar's start on)

    # ------------------------------------------------------------------ at each boundary

    def before_bar(self, index: int) -> None:
        """The boundary before bar `index`: capital back from stopped systems, then a rebalance when one is
        due (the first bar, a system joining or leaving, the schedule, or drift)."""
        if self.frozen:
            return
        left = self._take_back(index)
        self._sweep_parked(index)
        members = [runner for runner in self.runners if runner.active_at(index) and runner.name not in self.returned]
        why = ("funding" if index == 0 else "joined" if any(runner.first_bar == index for runner in members)
               else "left" if left else "")
        if not why and self._scheduled is not None and self._scheduled[index]:
            why = "schedule"
        if not why and self.spec.drift is not None and self.targets:
            why = "drift" if self._drifted(members, index) else ""
        if why and members:
            self._rebalance(index, members, why)

    def next_scheduled(self, index: int) -> int:
        """The first bar after `index` a rebalance is scheduled at (the timeline's length: none)."""
        found = int(np.searchsorted(self._schedule, index, side="right"))
        return int(self._schedule[found]) if found < len(self._schedule) else len(self._market)

    @property
    def watches_every_boundary(self) -> bool:
        """Whether a rebalance may be due at any boundary, whatever the systems did: on drift, which moves with
        every close."""
        return self.spec.drift is not None and not self.frozen

    def _take_back(self, index: int) -> bool:
        """The cash of systems that stopped (their window ended, a halt, retired) and hold nothing."""
        left = False
        for runner in self.runners:
            if runner.name in self.returned or not runner.stopped:
                continue
            if runner.portfolio.positions() or runner.execution.pending:
                continue  # still closing: the capital comes back once it is flat
            self.returned.add(runner.name)
            left = True
            if runner.portfolio.cash > 0:  # a bankrupt book's debt stays its own
                self._move(runner, index, -runner.portfolio.cash, "returned")
        return left

    def _sweep_parked(self, index: int) -> None:
        """What a parked system's sale left over, once it holds nothing: the book takes a gain, covers a loss."""
        for runner in self.runners:
            if runner.name in self.parked and runner.portfolio.cash and not runner.portfolio.positions() \
                    and not runner.execution.pending:
                self._move(runner, index, -runner.portfolio.cash, PARKED)

    def _move(self, runner: SystemRunner, index: int, amount: float, cause: str) -> None:
        """`amount` from the reserve into the system's book at the boundary before bar `index` (< 0: back)."""
        if not amount:
            return
        runner.transfer(index, amount)
        self.reserve -= amount
        if abs(self.reserve) < 1e-9 * self.spec.capital:  # float dust of shares that add up to the whole
            self.reserve = 0.0
        self.transfers.append((index, runner.name, amount, cause))
        if self.reserve_steps and self.reserve_steps[-1][0] == index:
            self.reserve_steps[-1] = (index, self.reserve)
        else:
            self.reserve_steps.append((index, self.reserve))

    def _drifted(self, members: Sequence[SystemRunner], index: int) -> bool:
        equities = {runner.name: runner.portfolio.equity_at(index - 1) for runner in members}
        total = math.fsum(equities.values()) + self.reserve
        if total <= 0:
            return False
        return any(abs(equities[name] / total - self.targets.get(name, 0.0)) > self.spec.drift
                   for name in equities)

    # ------------------------------------------------------------------ rebalancing

    def _rebalance(self, index: int, members: list[SystemRunner], why: str) -> None:
        names = tuple(runner.name for runner in members)
        equities = {runner.name: runner.portfolio.equity_at(index - 1) for runner in members}
        total = math.fsum(equities.values()) + self.reserve
        try:
            weights = self._weights(index, members, equities, total)
        except PLUGIN_FAULTS as error:  # the allocator's fault: the allocation holds, the systems go on
            self.frozen = (f"allocator {self.spec.allocator.type!r} raised at bar {index} "
                           f"({self._market.timeline[index].isoformat()}): {type(error).__name__}: {error}; "
                           "the capital stays where it is from then on")
            return
        targets = {name: weights.get(name, 0.0) * total for name in names}
        takers = [runner for runner in members if targets[runner.name] < equities[runner.name]]
        givers = [runner for runner in members if targets[runner.name] > equities[runner.name]]
        for runner in members:  # first: a block cancels the standing entries, not the sales placed below
            self._park(runner, index, parked=targets[runner.name] <= 0)
        for runner in takers:
            self._take(runner, index, equities[runner.name], targets[runner.name], why)
        for runner in givers:
            self._move(runner, index, min(targets[runner.name] - equities[runner.name], self.reserve), why)
        self.targets = {name: weights.get(name, 0.0) for name in names}
        self.members = names
        self.rebalances.append((index, why, dict(self.targets)))

    def _weights(self, index: int, members: Sequence[SystemRunner], equities: Mapping[str, float],
                 total: float) -> dict[str, float]:
        names = tuple(runner.name for runner in members)
        first = int(self._look_back_from[index - 1]) if index > 0 else 0
        returns = pd.DataFrame({runner.name: _returns(runner, first, index) for runner in members},
                               index=self._market.timestamps[first:index], columns=list(names))
        current = pd.Series({name: (equities[name] / total if total > 0 else 0.0) for name in names}, dtype=float)
        context = AllocationContext(timestamp=self._market.timeline[index], systems=names, returns=returns,
                                    weights=current)
        return checked_weights(self._allocator.weights(context), names, self._allocator)

    def _park(self, runner: SystemRunner, index: int, *, parked: bool) -> None:
        """Block a system given no capital (as of the last close, so it holds no entry), or lift the block."""
        if parked and runner.name not in self.parked:
            self.parked.add(runner.name)
            runner.halt(max(index - 1, 0), PARKED, "block", "the allocation gave it a weight of 0", at_boundary=True)
        elif not parked and runner.name in self.parked:
            self.parked.discard(runner.name)
            runner.lift_block(max(index - 1, 0), PARKED)

    def _take(self, runner: SystemRunner, index: int, equity: float, target: float, why: str) -> None:
        """Take `equity − target` back; beyond the free cash, sell the same share of every position."""
        amount = equity - target
        free = runner.portfolio.free_cash_at(index - 1) if index > 0 else runner.portfolio.cash
        self._move(runner, index, -amount, why)
        if amount > free * (1 + 1e-12) and equity > 0:
            self._scale_down(runner, index - 1, 1.0 - target / equity)

    def _scale_down(self, runner: SystemRunner, placed: int, share: float) -> None:
        """Orders tagged `rebalance`, placed as of bar `placed`, that sell `share` of each position (whole lots,
        rounded up so the cash taken is covered; never more than is held)."""
        lot = runner.spec.risk.lot_size
        for symbol, held in sorted(runner.portfolio.positions().items()):
            units = abs(held) * share
            if lot > 0:
                units = min(math.ceil(units / lot - 1e-9) * lot, abs(held))
            if units <= 0:
                continue
            quantity = -math.copysign(units, held)
            runner.signals.emit(OrderSubmitted(
                runner.namespace, self._market.timeline, placed, runner.execution.new_id(), symbol,
                quantity, quantity, f"the book took back {share:.2%} of the system's capital",
                OrderType.MARKET, cause="rebalance", at_open=True))


def checked_weights(weights: Mapping[str, float], names: Sequence[str], allocator: Allocator) -> dict[str, float]:
    """An allocator's answer: a finite weight ≥ 0 per known system, summing to at most 1."""
    where = f"{type(allocator).__name__}.weights()"
    if not isinstance(weights, Mapping):
        raise PluginOutputError(f"{where} returned {type(weights).__name__}; expected a mapping of system → weight")
    unknown = [name for name in weights if name not in names]
    if unknown:
        raise PluginOutputError(f"{where} gave weights to {unknown}, which it was not asked to allocate "
                                f"({', '.join(names)})")
    checked = {}
    for name in names:
        value = weights.get(name, 0.0)
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not math.isfinite(value) \
                or value < 0:
            raise PluginOutputError(f"{where} returned {value!r} for {name!r}; expected a finite weight ≥ 0")
        checked[name] = float(value)
    if math.fsum(checked.values()) > 1 + WEIGHT_TOLERANCE:
        raise PluginOutputError(f"{where} returned weights summing to {math.fsum(checked.values())}; at most 1")
    return checked


def _returns(runner: SystemRunner, first: int, stop: int) -> np.ndarray:
    """The system's time-weighted returns at bars `first` to `stop` − 1: equity / (equity before + transfer)
    − 1; NaN where it had no capital."""
    if stop <= first:
        return np.empty(0)
    equity, transfers = runner.portfolio.equity_between(max(first - 1, 0), stop)
    if first == 0:
        before = np.concatenate(([runner.portfolio.initial_capital], equity[:-1]))
    else:
        before, equity, transfers = equity[:-1], equity[1:], transfers[1:]
    capital = before + transfers
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(capital > 0, equity / capital - 1.0, np.nan)

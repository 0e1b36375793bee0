"""Protection per system: the bankruptcy floor and the halting limits watched at bar closes, and the
record of each halt (one `Guard` and one `Halts` per system)."""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType

import numpy as np
import pandas as pd
from attrs import evolve, frozen

from multifolio.config.cadence import calendar_days
from multifolio.data.market import MarketData
from multifolio.protocols import BLOCK, FLATTEN, AccountSpan, AccountState, RiskLimit
from multifolio.trading.events import BlockLifted, OrderFilled, SystemHalted
from multifolio.trading.outputs import checked_halt_reason
from multifolio.trading.portfolio import Portfolio

BANKRUPTCY = "bankruptcy"
PARKED = "parked"  # the block of a system its book gave no capital: no entries, and no floor to fall through


@frozen
class Halt:
    """One halt of a system, for its results: when, why, what it did, and (a block) when it ended."""

    timestamp: pd.Timestamp
    index: int
    reason: str  # the cause: "bankruptcy", a limit's type ("max_drawdown"), or what the caller named
    action: str  # "flatten" or "block"
    detail: str = ""
    entries_suppressed: int = 0  # entries refused while a block stood
    lifted_timestamp: pd.Timestamp | None = None  # a block lifted: when
    lifted_index: int = -1

    def as_dict(self) -> dict:
        return {"time": self.timestamp, "bar": self.index, "reason": self.reason, "action": self.action,
                "detail": self.detail, "entries_suppressed": self.entries_suppressed,
                "lifted_time": self.lifted_timestamp, "lifted_bar": self.lifted_index}


class Halts:
    """Whether one system may trade, and each halt it had (one per system).

    Receives `system_halted` and `block_lifted`. The risk manager asks `blocked` before an order
    that takes a position further from zero, and counts what it refuses with `suppressed_entry`.
    """

    def __init__(self) -> None:
        self.stopped = False  # flattened: stopped for good
        self.blocked = ""  # the cause of the block in force, "" when none
        self._records: list[Halt] = []

    def on_system_halted(self, halted: SystemHalted) -> None:
        self._records.append(Halt(halted.timestamp, halted.index, halted.reason, halted.action, halted.detail))
        if halted.action == FLATTEN:
            self.stopped, self.blocked = True, ""
        else:
            self.blocked = halted.reason

    def on_block_lifted(self, lifted: BlockLifted) -> None:
        self.blocked = ""
        self._records[-1] = evolve(self._records[-1], lifted_timestamp=lifted.timestamp, lifted_index=lifted.index)

    def suppressed_entry(self) -> None:
        """An entry was refused under the block in force."""
        self._records[-1] = evolve(self._records[-1], entries_suppressed=self._records[-1].entries_suppressed + 1)

    @property
    def suppressed(self) -> int:
        """The entries refused under the block in force (0 when none stands)."""
        return self._records[-1].entries_suppressed if self.blocked else 0

    def records(self) -> tuple[Halt, ...]:
        return tuple(self._records)


# up to this many bars `first_floor` adds them up in a loop: numpy's slices cost more than a few dozen bars
_LOOPED_SPAN = 64


class Guard:
    """Watches one system's account at bar closes (one per system): the bankruptcy floor, always, and the
    halting limits among `risk.limits`.

    The runner asks only while the account can change or a block may lift (`due`): equity is cash +
    Σ quantity × close of what is held, read from the shared closes, so bars with nothing held cost a
    test of two attributes. A runner that goes from event to event asks where the guard must look next
    (`first_look`); the closes it then goes over while something is held are shown to the limits that look ahead
    before the next bar it steps (`show_gone_over`, `RiskLimit.seen`), as they would have been one by one.
    """

    def __init__(self, *, market: MarketData, portfolio: Portfolio, halts: Halts, limits: Sequence[RiskLimit],
                 limit_types: Sequence[str] = (), min_equity: float = 0.0) -> None:
        self._timestamps = market.timestamps
        self._portfolio = portfolio
        self._halts = halts
        self._min_equity = float(min_equity)
        # a halting limit's YAML type names its halts and its closing orders' cause ("max_drawdown")
        named = list(zip(limits, [*limit_types, *[type(limit).__name__ for limit in limits[len(limit_types):]]]))
        self._limits = tuple(limit for limit, _ in named if type(limit).halts())
        self._names = {id(limit): name for limit, name in named}
        self._close_arrays = {symbol: market.closes_filled(symbol) for symbol in market.symbols}
        self._closes = {symbol: memoryview(array) for symbol, array in self._close_arrays.items()}
        # each bar's calendar day (days since 1970-01-01, wall clock of the data's zone), for the limits' periods
        self._day_numbers = calendar_days(market.timestamps) if self._limits else None
        self._days = None if self._day_numbers is None else memoryview(self._day_numbers)  # read a close at a time
        # every halting limit can look ahead: a span of closes is judged at once, not close by close
        self._looking_ahead = all(type(limit).looks_ahead() for limit in self._limits)
        self._ahead: AccountSpan | None = None  # the closes judged at the last look ahead, to show the limits
        self._blocking: RiskLimit | None = None
        self.held = portfolio.held  # live and read-only: truthy while a position is open
        self.due = bool(self._limits)  # the limits see the initial capital before the first bar
        self._moved = 0.0  # capital the book moved in since the limits last saw the account
        # what the limits see of the positions: a read-only view of the ledger's own, made once (read it in
        # `breached`; it changes with the next fill)
        self._positions = MappingProxyType(self.held)

    def transferred(self, amount: float) -> None:
        """The book moved `amount` in (out: < 0) at a bar boundary: look at the account at that bar's close."""
        self._moved += amount
        self.due = True

    def on_order_filled(self, fill: OrderFilled) -> None:
        self.due = True  # the account changed: look at it at this bar's close

    def check(self, index: int) -> SystemHalted | BlockLifted | None:
        """The halt (or the block's end) the account calls for at the close of bar `index`, if any."""
        halts = self._halts
        if halts.stopped:
            self.due = False
            return None
        cash, closes = self._portfolio.cash, self._closes
        equity = exposure = 0.0
        for symbol, quantity in self.held.items():  # a loop, not sum(generator): this runs at most bars
            value = quantity * closes[symbol][index]
            equity += value
            exposure += abs(value)
        equity += cash
        self.due = bool(halts.blocked)
        if equity <= self._min_equity and halts.blocked != PARKED:  # a parked system has no capital at stake
            return self._halted(index, BANKRUPTCY, FLATTEN, f"equity {equity:,.2f} at or below the floor "
                                                            f"{self._min_equity:,.2f}")
        if not self._limits:
            return None
        moved, self._moved = self._moved, 0.0
        return self._judged(AccountState(index, equity, cash, exposure, self._positions, self._days[index],
                                         self._timestamps, moved))

    def first_look(self, start: int, stop: int) -> int:
        """The first bar of [start, stop) at whose close the guard must look at the account as it stands
        (nothing filled, cash unchanged): the bankruptcy floor's, or the first a halting limit would answer at;
        `stop` when none is. `start` while a limit that cannot look ahead watches the account."""
        self._ahead = None
        if not self._looking_ahead:
            return start
        if not self._limits or stop <= start:
            return self.first_floor(start, stop)
        span = self._span(start, stop)
        # the limits judge the closes before the floor's (the account is looked at there in any case)
        self._ahead = span = span.part(0, self._floor_in(span.equity))
        return start + (min(limit.first_breach(span) for limit in self._limits) if len(span) else 0)

    def show_gone_over(self, index: int) -> None:
        """Before bar `index` is stepped (before its fills, and after any capital the book moved at its start),
        the limits are shown the closes gone over since the last look ahead, as the account stood at them."""
        span, self._ahead = self._ahead, None
        if span is not None and span.first < index:
            shown = span.part(0, index - span.first)
            for limit in self._limits:
                limit.seen(shown)

    def _span(self, start: int, stop: int) -> AccountSpan:
        """The account at the closes of bars [start, stop) as it stands, summed as `check` sums it."""
        exposure = np.zeros(stop - start)
        for symbol, quantity in self.held.items():
            exposure += np.abs(quantity * self._close_arrays[symbol][start:stop])
        return AccountSpan(start, self._equity(start, stop), self._portfolio.cash, exposure, self._positions,
                           self._day_numbers[start:stop], self._timestamps)

    def _equity(self, start: int, stop: int) -> np.ndarray:
        """The equity at the closes of bars [start, stop) as the account stands, summed as `check` sums it."""
        equity = np.zeros(stop - start)
        for symbol, quantity in self.held.items():
            equity += quantity * self._close_arrays[symbol][start:stop]
        return equity + self._portfolio.cash

    def first_floor(self, start: int, stop: int) -> int:
        """The first bar of [start, stop) at whose close the account as it stands (nothing filled, cash
        unchanged) is at or below the bankruptcy floor; `stop` when none is. Equity is summed as `check`
        sums it, so the two agree to the last bit."""
        if start >= stop:
            return stop
        if stop - start <= _LOOPED_SPAN:
            held = [(quantity, self._closes[symbol]) for symbol, quantity in self.held.items()]
            cash, floor = self._portfolio.cash, self._min_equity
            if len(held) == 1:
                # one position: its equity only falls as its close does (or rises, for a short), and rounding
                # keeps that order, so the span's worst close tells whether any bar of it reaches the floor
                [(quantity, closes)] = held
                worst = min(closes[start:stop]) if quantity > 0 else max(closes[start:stop])
                if 0.0 + quantity * worst + cash > floor:
                    return stop
            for index in range(start, stop):
                equity = 0.0
                for quantity, closes in held:
                    equity += quantity * closes[index]
                if equity + cash <= floor:
                    return index
            return stop
        return start + self._floor_in(self._equity(start, stop))

    def _floor_in(self, equity: np.ndarray) -> int:
        """The position of the first of `equity` at or below the bankruptcy floor; their number when none is."""
        below = np.flatnonzero(equity <= self._min_equity)
        return int(below[0]) if len(below) else len(equity)

    def start(self, initial_capital: float) -> None:
        """Before the first bar: the limits see the initial capital (their first peak and day's reference)."""
        if self._limits:
            self._judged(AccountState(-1, initial_capital, initial_capital, 0.0, MappingProxyType({}), -1,
                                      self._timestamps))
            self.due = False

    def _judged(self, account: AccountState) -> SystemHalted | BlockLifted | None:
        """Every limit sees every account it is shown (each keeps its own peak or reference): the first
        that asks to flatten wins, then the first to block; a block in force lifts when its limit is whole."""
        broken = []
        for limit in self._limits:  # a loop, not a comprehension: it runs at every close while anything is held
            why = limit.breached(account)
            if why is not None:
                broken.append((limit, checked_halt_reason(why, limit)))
        if not broken and self._blocking is None:
            return None
        for limit, why in sorted(broken, key=lambda pair: pair[0].action != FLATTEN):
            if limit.action == FLATTEN or not self._halts.blocked:
                if limit.action == BLOCK:
                    self._blocking = limit
                    self.due = True
                return self._halted(account.index, self._names[id(limit)], limit.action, why)
        if self._blocking is not None and all(limit is not self._blocking for limit, _ in broken):
            lifted, self._blocking = self._blocking, None
            self.due = False
            return BlockLifted(self._portfolio.namespace, self._timestamps, account.index,
                               self._names[id(lifted)], self._halts.suppressed)
        return None

    def _halted(self, index: int, reason: str, action: str, detail: str) -> SystemHalted:
        return SystemHalted(self._portfolio.namespace, self._timestamps, index, reason, action, detail)


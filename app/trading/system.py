"""One trading system at run time: its bus wiring, its per-bar step and its results (one per system)."""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterator

import numpy as np
import pandas as pd
from attrs import Factory, frozen

from multifolio.config.spec import SystemSpec
from multifolio.data.indicators import SystemIndicators
from multifolio.data.market import MarketData
from multifolio.protocols import BLOCK, FLATTEN, HALT_ACTIONS
from multifolio.trading.active import ActiveBars
from multifolio.trading.events import (
    BarClosed,
    BlockLifted,
    DataEnded,
    OrderCancelled,
    OrderFilled,
    OrderModified,
    OrderRejected,
    OrderSubmitted,
    OrderTriggered,
    SystemHalted,
)
from multifolio.trading.execution import ExecutionSimulator
from multifolio.trading.frames import ORDER_COLUMNS, TIME, empty_frames, typed
from multifolio.trading.halts import Guard, Halt, Halts
from multifolio.trading.portfolio import EquitySteps, Portfolio
from multifolio.trading.risk import RiskManager
from multifolio.trading.signals import SystemSignals, dispatcher
from multifolio.trading.strategy import StrategyRunner


# where each of orders.csv's columns sits in a row of the order log
_AT = {name: position for position, name in enumerate(ORDER_COLUMNS)}
_SUBMITTED, _SYMBOL, _TYPE, _REQUESTED, _QUANTITY, _FILLED, _LIMIT, _STOP, _TIF, _PARENT, _CAUSE, _STATUS, _REASON = (
    _AT[name] for name in ("submitted_time", "symbol", "type", "requested", "quantity", "filled", "limit_price",
                           "stop_price", "time_in_force", "parent_id", "cause", "status", "reason"))
_TRIGGERED, _FILL_TIME, _FILL_PRICE, _COMMISSION, _SLIPPAGE, _CANCELLED = (
    _AT[name] for name in ("triggered_time", "fill_time", "fill_price", "commission", "slippage", "cancelled_time"))


# the order log's rows are added this many at a time, each column's as a block: indices and ids in int64 arrays
# (-1: no time, 0: no parent), figures in float64 arrays (NaN: none), text in lists (None)
_GROWTH = 1024
_EMPTY_BLOCKS = [array("q", [-1 if dtype is TIME else 0]) * _GROWTH if dtype in (TIME, "int64", "Int64")
                 else array("d", [math.nan]) * _GROWTH if dtype == "float64" else [None] * _GROWTH
                 for dtype in ORDER_COLUMNS.values()]


class OrderLog:
    """Every order's life, including the rejected and cancelled ones: orders.csv (one per system).

    Kept a column at a time, in `ORDER_COLUMNS` order: a busy system logs tens of thousands of orders, and
    its numbers sit in typed arrays, 8 bytes each, where a row of Python objects took about 500 bytes an order.
    Times are bar indices (-1: none), a figure nobody said is NaN, no parent is 0 and no text None; `frame()`
    turns indices into times once.
    """

    def __init__(self, *, timeline: pd.DatetimeIndex) -> None:
        self._timeline = timeline
        self.release_rows()

    def release_rows(self) -> None:
        """Forget every row, as the log began (its system has ended and `frame()` has taken them): 6 MB a busy
        system at a million bars, freed as each system ends, not when the run does."""
        self._columns = [block[:0] for block in _EMPTY_BLOCKS]
        self._rows = 0  # rows in use (the columns are longer: they grow `_GROWTH` rows at a time)
        self._row_of = array("q")  # an order's row by its id (-1: none yet): ids count up from 1
        self._closing_rows: dict[int, int] = {}  # the end of data's closing orders (ids −1, −2, …)

    def _row(self, order_id: int) -> int:
        """The row of `order_id`, made at its first event."""
        if order_id > 0:
            rows = self._row_of
            if order_id >= len(rows):
                rows.extend(array("q", [-1]) * (order_id + _GROWTH - len(rows)))
            row = rows[order_id]
            if row < 0:
                row = rows[order_id] = self._new_row(order_id)
            return row
        row = self._closing_rows.get(order_id)
        if row is None:
            row = self._closing_rows[order_id] = self._new_row(order_id)
        return row

    def _new_row(self, order_id: int) -> int:
        row, columns = self._rows, self._columns
        if row == len(columns[0]):
            for column, block in zip(columns, _EMPTY_BLOCKS):
                column.extend(block)
        columns[0][row] = order_id
        self._rows += 1
        return row

    def _placed(self, row: int, index: int, symbol: str, type_: str, requested: float, quantity: float, cause: str,
                reason: str) -> None:
        """What every order says of itself when it is placed (submitted, rejected, or closed at the end)."""
        columns = self._columns
        columns[_SUBMITTED][row] = index
        columns[_SYMBOL][row] = symbol
        columns[_TYPE][row] = type_
        columns[_REQUESTED][row] = requested
        columns[_QUANTITY][row] = quantity
        columns[_CAUSE][row] = cause
        columns[_REASON][row] = reason

    def on_order_submitted(self, order: OrderSubmitted) -> None:
        row, columns = self._row(order.order_id), self._columns
        self._placed(row, order.index, order.symbol, order.type.value, order.requested, order.quantity, order.cause,
                     order.reason)
        tif = order.time_in_force
        columns[_LIMIT][row] = order.limit
        columns[_STOP][row] = order.stop
        columns[_TIF][row] = f"{tif} bars" if isinstance(tif, int) else tif
        columns[_PARENT][row] = order.parent
        if columns[_STATUS][row] is None:  # with `fill_at: close` the fill may be logged first: keep it
            columns[_STATUS][row] = "submitted"

    def on_order_rejected(self, order: OrderRejected) -> None:
        row = self._row(order.order_id)
        self._placed(row, order.index, order.symbol, order.type.value, order.requested, 0.0, order.cause,
                     order.reason)
        self._columns[_STATUS][row] = "rejected"

    def on_order_triggered(self, order: OrderTriggered) -> None:
        self._columns[_TRIGGERED][self._row(order.order_id)] = order.index

    def on_order_modified(self, order: OrderModified) -> None:
        row, columns = self._row(order.order_id), self._columns
        if math.isnan(order.quantity):
            columns[_STOP][row] = order.stop  # the last level a trailing stop reached
        else:  # cut by a limit of the book
            columns[_QUANTITY][row] = order.quantity
            columns[_REASON][row] = "; ".join(filter(None, (columns[_REASON][row], order.reason)))

    def on_order_filled(self, fill: OrderFilled) -> None:
        row, columns = self._row(fill.order_id), self._columns
        if fill.order_id < 0:  # closing at the end of data: no order was submitted
            self._placed(row, fill.index, fill.symbol, "market", fill.quantity, fill.quantity, fill.cause,
                         "closed at the end of data")
        before = _or_zero(columns[_FILLED][row])  # a volume-capped order fills over several bars
        filled = before + fill.quantity
        prices = columns[_FILL_PRICE]
        prices[row] = (prices[row] * before + fill.price * fill.quantity) / filled if before else fill.price
        columns[_FILLED][row], columns[_STATUS][row], columns[_FILL_TIME][row] = (
            filled, "filled" if not fill.remaining else "partially filled", fill.index)
        columns[_COMMISSION][row] = _or_zero(columns[_COMMISSION][row]) + fill.commission
        columns[_SLIPPAGE][row] = _or_zero(columns[_SLIPPAGE][row]) + fill.slippage

    def on_order_cancelled(self, order: OrderCancelled) -> None:
        row, columns = self._row(order.order_id), self._columns
        columns[_STATUS][row], columns[_REASON][row], columns[_CANCELLED][row] = (
            order.status, order.reason, order.index)

    def frame(self) -> pd.DataFrame:
        """orders.csv's rows: by order id, the end of data's closing orders (−1 first) after the others."""
        rows = np.array(self._row_of, dtype=np.int64)
        order = np.concatenate((rows[rows >= 0], np.array([self._closing_rows[k] for k in sorted(
            self._closing_rows, reverse=True)], dtype=np.int64)))
        frame = {}
        for (name, dtype), column in zip(ORDER_COLUMNS.items(), self._columns):
            if isinstance(column, list):
                frame[name] = [column[row] for row in order.tolist()]
                continue
            values = np.array(column[:self._rows], dtype=np.float64 if column.typecode == "d" else np.int64)[order]
            if dtype is TIME:
                times = self._timeline[np.maximum(values, 0)]
                frame[name] = pd.Series(times, dtype=times.dtype).where(values >= 0)
            elif dtype == "Int64":
                frame[name] = pd.arrays.IntegerArray(values, values == 0)  # 0: no parent
            else:
                frame[name] = values
        return typed(pd.DataFrame(frame, columns=list(ORDER_COLUMNS)), ORDER_COLUMNS, self._timeline.dtype)


def _or_zero(figure: float) -> float:
    """A figure of the order log, 0 where none was said yet (NaN)."""
    return 0.0 if figure != figure else figure


def connect_bus(*, signals: SystemSignals, strategy: StrategyRunner, risk: RiskManager,
                execution: ExecutionSimulator, portfolio: Portfolio, order_log: OrderLog,
                halts: Halts | None = None, guard: Guard | None = None) -> Iterator[SystemSignals]:
    """Connect one system's components to its own signals; disconnect them on shutdown.

    Strong references (`weak=False`): blinker would silently drop bound methods of
    objects nobody else holds. Where order matters there is one receiver; the order
    log only records, and hears `order_submitted` before the book, which may fill or
    cancel the order before it returns.
    """
    wiring = [
        (signals.bar_closed, strategy.on_bar_closed),
        (signals.signal_generated, risk.on_signal_generated),
        (signals.order_requested, risk.on_order_requested),
        (signals.order_submitted, order_log.on_order_submitted),  # first: the book may fill it at once
        (signals.order_submitted, execution.on_order_submitted),
        (signals.order_rejected, order_log.on_order_rejected),
        (signals.order_triggered, order_log.on_order_triggered),
        (signals.order_modified, order_log.on_order_modified),
        (signals.order_filled, portfolio.on_order_filled),
        (signals.order_filled, order_log.on_order_filled),
        (signals.order_cancelled, order_log.on_order_cancelled),
        (signals.data_ended, execution.on_data_ended),
    ]
    if halts is not None:  # the halt's state first: the book's closing orders read it as they go out
        wiring += [(signals.system_halted, halts.on_system_halted), (signals.block_lifted, halts.on_block_lifted)]
    wiring.append((signals.system_halted, execution.on_system_halted))
    if guard is not None:
        wiring.append((signals.order_filled, guard.on_order_filled))
    for signal, receiver in wiring:
        signal.connect(receiver, weak=False)
    try:
        yield signals
    finally:
        for signal, receiver in wiring:
            signal.disconnect(receiver)
        # sealed again with nothing connected: the routes held the components' methods, a reference cycle
        # with them that only the garbage collector could free
        signals.seal()


@frozen
class SystemResult:
    """What one system produced: the inputs reports need, nothing live."""

    spec: SystemSpec  # what the system was built from
    equity_steps: EquitySteps | None  # None for a failed system: no figures
    # the tables of multifolio.trading.frames, typed however many rows they have (none if failed)
    trades: pd.DataFrame
    orders: pd.DataFrame
    open_positions: dict[str, float]
    open_lots: pd.DataFrame  # what is still held, lot by lot (OPEN_LOT_COLUMNS)
    # the indicator values this system used, for its report: symbol → key → values by the symbol's bar
    # (the shared cache's read-only arrays, not copies)
    indicator_values: dict[str, dict[str, np.ndarray]] = Factory(dict)
    status: str = "completed"  # or "interrupted" (stopped at `last_bar`), "failed" (at `last_bar`)
    last_bar: int = -1  # the timeline index of the last bar this system finished
    error: str = ""  # the traceback of a failed system
    failed_at: str = ""  # where a failed system stopped, e.g. "failed at bar 700 (2024-01-03T14:40:00)"
    halts: tuple[Halt, ...] = ()  # each halt, in order: the bankruptcy floor, halting limits, the caller's
    # the bars the run stepped this system at: all of them bar by bar, fewer from event to event (not a result:
    # in memory only, for whoever wants to know which path ran)
    stepped: int = 0
    # the record of the book this system was coupled in (a multifolio.book.book.BookResult, shared by every
    # system of the book; None when nothing coupled it): the trading layer carries it, never reads it
    book: object | None = None
    # a walk-forward's stitched system: the study's record (multifolio.reports.walk_forward), carried, never read
    walk_forward: dict | None = None
    # the run has written the system's folder and let its tables go: `trades` is empty and `orders` holds only
    # what the summary reads of the filled ones (multifolio.running.run.tables_let_go)
    tables_let_go: bool = False

    @property
    def stopped(self) -> Halt | None:
        """The halt that stopped the system for good (a flatten), or None if it traded to the end."""
        return next((halt for halt in self.halts if halt.action == FLATTEN), None)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def namespace(self) -> str:
        return self.spec.namespace

    @property
    def initial_capital(self) -> float:
        return self.spec.initial_capital

    @property
    def indicators(self) -> tuple[str, ...]:
        return tuple(self.spec.indicator_keys())

    @property
    def equity(self) -> pd.DataFrame:
        """Cash, position value and equity at every bar's close up to `last_bar` (empty if failed), drawn anew
        at each read from `equity_steps`: 32 MB a system at a million bars, so a run keeps none of them; whoever
        reads it reads it once and lets it go."""
        return pd.DataFrame() if self.equity_steps is None else self.equity_steps.frame()


class SystemRunner:
    """Steps one system through the shared timeline (one per system).

    Per bar: fill what the bar fills of the orders standing before it, then let the guard look at the
    account (only while something is held, a fill happened or a block stands), then publish the bar
    of every symbol that has one (the strategy, risk and execution react on the bus), then let the
    closes move trailing exits.

    `advance` steps a span of bars. A system whose strategy states its signals for every bar at once
    goes from event to event (`_next_event`): a bar where nothing stands, nothing is due and no signal
    is stated changes nothing a result holds (equity is marked after the run), so it is not stepped.
    """

    def __init__(self, *, spec: SystemSpec, bus: SystemSignals, market: MarketData, strategy: StrategyRunner,
                 execution: ExecutionSimulator, portfolio: Portfolio, order_log: OrderLog,
                 indicators: SystemIndicators, active: ActiveBars, halts: Halts | None = None,
                 guard: Guard | None = None) -> None:
        self.spec = spec
        self.name = spec.name
        self.namespace = bus.namespace
        self.signals = bus
        self._strategy = strategy
        self.execution = execution
        self.portfolio = portfolio
        self._order_log = order_log
        self._indicators = indicators
        self._market = market
        self._symbols = [(symbol, market.bar_numbers[symbol],
                          *(market.series[symbol].views[field] for field in ("open", "high", "low", "close",
                                                                            "volume")))
                         for symbol in market.symbols]
        self._deliver_bar = self.signals.bar_closed.send
        self._publish = self._publish_bars  # the bars to the strategy (its stated signals, from event to event)
        self._halts = halts or Halts()
        self._guard = guard or Guard(market=market, portfolio=portfolio, halts=self._halts, limits=())
        self._held = portfolio.held  # live: truthy while anything is held
        # `portfolio.active`: the first bar it trades at, and the first bar after its window (len: none)
        self.first_bar, self.end_bar = active.first, active.end
        self.stepping = -1  # the bar `advance` is at: where the system failed when a plugin raises
        self.due = 0  # the next bar `step_at` steps, as things stand (what the book does to the system moves it up)
        self.jumps = False  # set by `start`: whether `advance` goes from event to event
        self.stepped = 0  # bars stepped by `advance`

    @property
    def stopped(self) -> bool:
        """Flattened for good (a halt, the end of its window): it only fills what closes its positions."""
        return self._halts.stopped

    def lift_block(self, index: int, reason: str) -> None:
        """Lift a block that `halt` set from outside for `reason` (the book parked the system), at the
        boundary after bar `index`; nothing when no such block stands."""
        if self._halts.blocked == reason:
            self._apply(BlockLifted(self.namespace, self._market.timeline, index, reason,
                                    self._halts.suppressed))

    def transfer(self, index: int, amount: float) -> None:
        """Capital in (out: < 0) from the book at the boundary before bar `index`: the ledger records it and
        the guard's limits measure from references moved with it."""
        self.portfolio.transfer(index, amount)
        self._guard.transferred(amount)
        self.due = min(self.due, index)  # the guard looks at the account at that bar's close

    def start_at(self, index: int) -> None:
        """Begin trading at bar `index` (a dormant system, started by the run's controller)."""
        self.first_bar = min(self.first_bar, index)
        self.due = min(self.due, index)

    def started_by(self, index: int) -> bool:
        """Whether the system trades at bar `index` (its window has begun; it may have ended)."""
        return index >= self.first_bar

    def active_at(self, index: int) -> bool:
        """Whether bar `index` lies in the system's window and it has not stopped."""
        return self.first_bar <= index < self.end_bar and not self.stopped

    def start(self) -> None:
        """Called once before the first bar: seal the bus, so events go straight to their receivers; a
        full-form strategy is stepped once per timestamp as well; a system with a window only inside it."""
        self._guard.start(self.portfolio.initial_capital)
        self.signals.seal()
        self._deliver_bar = dispatcher(self.signals.bar_closed)
        if self._strategy.full_form:
            self.step = self._step_full
        if self.first_bar > 0 or self.end_bar < len(self._market):  # (a dormant system's first bar is beyond)
            self._step_in_window = self.step
            self.step = self._step_windowed
        # from event to event when the strategy states its signals and nothing else hears each bar (a test's
        # fake may): the bars go to the stated signals, not to `on_bar`. In a window they are stated from its first
        # bar, where `on_bar` first sees one and a strategy's state begins (a strategy that cannot, or a dormant
        # system's, states none: StrategyRunner)
        self.jumps = (self._strategy.signal_bars is not None  # (a full-form strategy states none)
                      and len(self.signals.bar_closed.receivers) == 1)
        if self.jumps and not self.stopped:
            self._publish = self._strategy.publish_stated
            self.due = self.first_bar

    def advance(self, start: int, stop: int) -> None:
        """Step bars `start` … `stop` − 1 of the timeline (from event to event where the system can);
        `stepping` holds the bar a plugin raised at."""
        if self.jumps:
            while self.due < stop:
                self.step_at(max(start, self.due))
            return
        step = self.step
        index = start
        try:
            for index in range(start, stop):
                step(index)
        finally:
            self.stepping = index
        self.stepped += stop - start

    def step_at(self, index: int) -> bool:
        """Step bar `index` if something can happen at it (`advance`'s rule, for a loop that visits bars one at a
        time: a book's, which also steps a system it touched, by a transfer or a halt); whether it stepped."""
        if index < self.due:
            return False
        self.stepping = index
        self.stepped += 1
        self._guard.show_gone_over(index)
        self.step(index)
        self.due = self._next_event(index) if self.jumps else index + 1
        return True

    def _next_event(self, index: int) -> int:
        """The next bar after `index` where something can happen, as things stand after it: the next bar
        while a trailing exit moves, the guard is due or a halting limit that cannot look ahead watches a position;
        else the first of the next stated signal, the end of the window, the first bar whose range reaches a
        standing order (the next bar when one may fill at any price: a market order, a time in force) and, while
        something is held, the first close that would take it to the bankruptcy floor or that a halting limit would
        answer at (`Guard.first_look`). Stopped for good with nothing standing: no bar."""
        after = index + 1
        execution = self.execution
        if execution.trailing or self._guard.due:
            return after
        if self.stopped and not execution.pending:
            return len(self._market)
        bands = execution.standing_bands() if execution.pending else []
        if bands is None:  # an order may fill at the next bar whatever its price
            return after
        stop = self.end_bar if index < self.end_bar else len(self._market)
        event = min(self._strategy.next_signal(index, stop), stop)
        if bands:
            event = execution.first_reach(bands, after, event)
        if self._held and not self.stopped:
            return self._guard.first_look(after, event)
        return event

    def _step_windowed(self, index: int) -> None:
        if index < self.first_bar:
            return
        if index == self.end_bar:  # closed at this bar's open, as if decided at the last close of the window
            self.halt(index - 1, "window_ended", "flatten", at_boundary=True)
        self._step_in_window(index)

    def _step_full(self, index: int) -> None:
        SystemRunner.step(self, index)
        self._strategy.on_timestamp(index)

    def step(self, index: int) -> None:
        if self.execution.pending:
            self.execution.fill_due(index)
        if self._held or self._guard.due:  # with nothing held the account cannot change: no look needed
            self._watch(index)
        self._publish(index)
        if self.execution.trailing:
            self.execution.after_close(index)

    def _publish_bars(self, index: int) -> None:
        """A `bar_closed` for each symbol with a bar at `index`."""
        timeline, namespace, deliver = self._market.timeline, self.namespace, self._deliver_bar
        for symbol, positions, open_, high, low, close, volume in self._symbols:
            k = positions[index]
            if k >= 0:
                deliver(BarClosed(namespace, index, symbol, open_[k], high[k], low[k], close[k], volume[k], timeline))

    def _publish_nothing(self, index: int) -> None:
        """Stopped for good: no bar reaches the strategy any more."""

    def halt(self, index: int, reason: str, action: str, detail: str = "", at_boundary: bool = False) -> None:
        """Stop this system's trading at the close of bar `index` (the bar being stepped, or the last one
        stepped), because of `reason` (a short cause such as "max_drawdown", "book_kill_switch",
        "window_ended": it becomes the `cause` of the closing orders, so trades.csv's exit_reason).
        `at_boundary`: decided after bar `index` was stepped (the book, a window's end): the closing orders
        fill at the next open even with `fill_at: close`.

        `action` "flatten": every standing order is cancelled, each position is closed by a market order
        at the next fill, and the strategy is stepped no more (fills go on until flat); for good.
        `action` "block": the standing entries are cancelled and new entries (orders that take a
        position further from zero) are refused and counted until the block is lifted; exits and closing
        orders go through. A block the guard set lifts when its limit is whole again; one set here stands
        to the end. One `SystemHalted` per halt: a system already flattened, or blocked when blocking
        again, is left as it is. `detail` says what broke, for the results.
        """
        if action not in HALT_ACTIONS:
            raise ValueError(f"action must be one of {', '.join(HALT_ACTIONS)}, was {action!r}")
        self._apply(SystemHalted(self.namespace, self._market.timeline, index, reason, action, detail,
                                 at_boundary))

    def _watch(self, index: int) -> None:
        """The guard's look at the account at bar `index`'s close: a halt, a block lifted, or nothing."""
        verdict = self._guard.check(index)
        if verdict is not None:
            self._apply(verdict)

    def _apply(self, event: SystemHalted | BlockLifted) -> None:
        halts = self._halts
        if halts.stopped or (isinstance(event, SystemHalted) and event.action == BLOCK and halts.blocked):
            return
        self.signals.emit(event)
        self.due = min(self.due, event.index + 1)  # the halt's orders fill, a lifted block is watched, from then
        if halts.stopped:
            self._publish = self._publish_nothing  # the strategy is stepped no more

    def finish(self, last: int | None = None, status: str = "completed") -> SystemResult:
        """End the data after bar `last` (the final bar unless the run was stopped): `data_ended`
        cancels pending orders; then collect the results up to that bar."""
        last = len(self._market) - 1 if last is None else last
        self.signals.emit(DataEnded(self.namespace, self._market.timeline, last))
        result = SystemResult(
            spec=self.spec, equity_steps=self.portfolio.equity_steps(last + 1),
            trades=self.portfolio.trades_frame(), orders=self._order_log.frame(),
            open_positions=self.portfolio.positions(), open_lots=self.portfolio.open_lots_frame(),
            indicator_values=self._indicator_arrays(),
            status=status, last_bar=last, halts=self._halts.records(), stepped=self.stepped)
        # the records are the result's now: let go at once, so that a run's peak holds each system's once (its
        # live records and its result side by side, 20 MB a busy system at a million bars, for every system)
        self._order_log.release_rows()
        self.portfolio.release_records()
        return result

    def failed(self, index: int, error: str) -> SystemResult:
        """The result of a system whose plugin raised at bar `index`: its traceback, no figures
        (what it held at that moment may be half-updated, so nothing of it is reported as a result)."""
        return SystemResult(
            spec=self.spec, equity_steps=None, **empty_frames(self._market.timestamps.dtype),
            open_positions={}, status="failed", last_bar=index,
            error=error, failed_at=f"failed at bar {index} ({self._market.timeline[index].isoformat()})")

    def _indicator_arrays(self) -> dict[str, dict[str, np.ndarray]]:
        keys = self.spec.indicator_keys()
        return {symbol: {key: self._indicators.arrays(symbol)[key] for key in keys} for symbol in self._market.symbols}


def failed_before_start(spec: SystemSpec, market: MarketData, error: str, why: str) -> SystemResult:
    """The result of a system that never reached its first bar (a plugin raised while it was built, or
    its worker did not come back): `error` for its error.log, `why` for its performance.json."""
    return SystemResult(spec=spec, equity_steps=None, **empty_frames(market.timestamps.dtype), open_positions={},
                        status="failed", last_bar=-1, error=error, failed_at=f"failed before its first bar: {why}")

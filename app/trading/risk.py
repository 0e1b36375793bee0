"""Turns a system's signals into sized orders within its limits (one per system)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from multifolio.config.spec import EntrySpec
from multifolio.data.indicators import SystemIndicators
from multifolio.data.market import MarketData
from multifolio.protocols import Exit, HeldPosition, OrderType, PositionSizer, RiskContext, RiskLimit
from multifolio.trading.events import Direction, OrderRejected, OrderRequested, OrderSubmitted, SignalGenerated
from multifolio.trading.execution import ExecutionSimulator
from multifolio.trading.halts import Halts
from multifolio.trading.outputs import checked_exit_order, checked_number, whole_lots
from multifolio.trading.portfolio import Portfolio
from multifolio.trading.signals import SystemSignals
from multifolio.trading.strategy import BarValues


class RiskManager:
    """Receives `signal_generated`; sends `order_submitted` or `order_rejected`.

    A signal names a side. Already on that side, or an entry to it standing: nothing to
    do (no pyramiding). A signal for another side first cancels the entries still
    standing for the symbol. FLAT closes the position. LONG/SHORT opens (or flips to) a
    position sized by the smallest answer of the sizers, then capped by every limit; the
    quantity is rounded down to whole lots. Closing is never limited. Limits see the
    orders standing as if filled: two entries signalled on one bar share one cap.

    The opening part is a market order or, with `execution.entry`, a limit or stop order
    at an offset from the signal's close; it carries the system's exits (`risk.exits`).
    Sizers see the symbol's indicator values at the signal's bar and the distance to the
    nearest stop the exits would place there.

    A full-form strategy's orders (`order_requested`) are sized by the strategy; the limits
    cap what would take a position further from zero, as they cap a signal's.

    While a halt blocks entries (`halts.blocked`), what would take a position further from zero
    is refused and counted, not logged (a row per bar would bury orders.csv): a flip only closes.
    """

    def __init__(self, *, signals: SystemSignals, portfolio: Portfolio, book: ExecutionSimulator,
                 market: MarketData, indicators: SystemIndicators, sizers: Sequence[PositionSizer],
                 limits: Sequence[RiskLimit], lot_size: float, exits: Sequence[Exit] = (),
                 entry: EntrySpec | None = None, system_name: str = "", halts: Halts | None = None) -> None:
        self._signals = signals
        self._halts = halts or Halts()
        self._portfolio = portfolio
        self._book = book
        self._market = market
        self._sizers = tuple(sizers)
        self._limits = tuple(limits)
        self._lot_size = lot_size
        self._exits = tuple(exits)
        self._entry = entry or EntrySpec()
        self._market_entry = self._entry.type == OrderType.MARKET.value
        self._values = {symbol: BarValues(indicators.arrays(symbol), f"a sizer of system {system_name!r}")
                        for symbol in market.symbols}

    def on_signal_generated(self, signal: SignalGenerated) -> None:
        current = self._portfolio.position(signal.symbol)
        standing = self._book.pending_entries(signal.symbol) if self._book.pending else 0.0
        heading = current + standing
        if ((heading > 0) - (heading < 0)) == signal.direction:
            return
        if standing:
            self._book.cancel_entries(signal.symbol, signal.index, "replaced by a newer signal")
        if signal.direction == Direction.FLAT:
            if current:  # with nothing held, cancelling the standing entries was all there was to do
                self._submit(signal, -current, -current, "")
            return
        if self._halts.blocked:  # no entry: only what is held may be closed
            self._halts.suppressed_entry()
            if current:
                self._submit(signal, -current, -current, f"halted: {self._halts.blocked}; closing only")
            return
        values = self._values[signal.symbol]
        values.bar = self._market.bar_numbers[signal.symbol][signal.index]
        context = RiskContext(
            symbol=signal.symbol, price=signal.price,
            equity=self._portfolio.equity_at(signal.index), position=current,
            gross_exposure_other=self._exposure_other(signal.symbol, signal.index), values=values,
            stop_distance=self._stop_distance(signal, values), positions_other=self._positions_other(signal.symbol))
        wanted = math.inf
        for sizer in self._sizers:  # a loop, not min(generator): this runs at every entry
            wanted = min(wanted, checked_number(sizer.size(context), sizer, "size()"))
        wanted = whole_lots(wanted, self._lot_size)
        size, reasons = self._capped(wanted, context) if self._limits else (wanted, ())
        side = int(signal.direction)
        requested = side * wanted - current
        if size <= 0:
            reason = "; ".join(reasons) or "the position sizer gave 0"
            if current == 0:
                self._reject(signal, requested, reason)
            else:  # flipping, but the new side does not fit: only close
                self._submit(signal, -current, requested, f"{reason}; closing only")
            return
        opening = side * size
        if self._market_entry:
            self._submit(signal, opening - current, requested, "; ".join(reasons), exits=self._exits)
            return
        if current:  # the entry waits for its price; what is held is closed now
            self._submit(signal, -current, -current, "")
        self._submit(signal, opening, requested + current, "; ".join(reasons), exits=self._exits,
                     **self._entry.order_prices(signal.price, opening > 0))

    def on_order_requested(self, request: OrderRequested) -> None:
        """A full-form strategy's order: submitted as asked, or cut to what the limits allow."""
        held = self._portfolio.position(request.symbol) + self._book.pending_entries(request.symbol)
        after = held + request.quantity
        same_side = (after > 0) == (held > 0) and held != 0
        quantity, reason = request.quantity, ""
        further = after and (abs(after) > abs(held) or not same_side)
        if further and self._halts.blocked:
            self._halts.suppressed_entry()
            quantity = -held if held and not same_side else 0.0  # a flip only closes; an entry nothing
            if not quantity:
                return
            reason = f"halted: {self._halts.blocked}; closing only"
        elif self._limits and further:
            context = RiskContext(
                symbol=request.symbol, price=self._market.last_close(request.symbol, request.index),
                equity=self._portfolio.equity_at(request.index), position=held,
                gross_exposure_other=self._exposure_other(request.symbol, request.index),
                positions_other=self._positions_other(request.symbol))
            allowed, reasons = self._capped(abs(after), context)
            if allowed < abs(after):
                reason = "; ".join(reasons)
                # adding: up to the cap, never below what is held; flipping: the new side up to the cap
                kept = math.copysign(max(allowed, abs(held)), held) if same_side else math.copysign(allowed, after)
                quantity = kept - held
        if not quantity:
            self._signals.emit(OrderRejected(request.namespace, request.timeline, request.index, request.order_id,
                                             request.symbol, request.quantity, reason or "nothing to order",
                                             request.type, "strategy"))
            return
        self._signals.emit(OrderSubmitted(
            request.namespace, request.timeline, request.index, request.order_id, request.symbol, quantity,
            request.quantity, reason, request.type, request.limit, request.stop, request.time_in_force,
            "strategy", 0, request.exits))

    def _capped(self, size: float, context: RiskContext) -> tuple[float, list[str]]:
        """`size` cut to the smallest cap of the limits, and why."""
        reasons = []
        for limit in self._limits:
            cap = whole_lots(checked_number(limit.max_position(context), limit, "max_position()", infinite=True),
                             self._lot_size)
            if cap < size:
                size = cap
                reasons.append(f"{limit.describe()} caps the position at {cap:g}")
        return size, reasons

    def _stop_distance(self, signal: SignalGenerated, values: BarValues) -> float:
        """How far under the close (over it, for a short) the nearest stop of the exits would stand."""
        if not self._exits:
            return math.nan
        entry = HeldPosition(signal.symbol, float(signal.direction), signal.price, signal.price, signal.price,
                             signal.price, 0)
        wanted = [checked_exit_order(exit_.order(entry, values), exit_) for exit_ in self._exits]
        stops = [abs(signal.price - order.price) for order in wanted
                 if order is not None and order.type is OrderType.STOP and math.isfinite(order.price)]
        return min(stops, default=math.nan)

    def _exposure_other(self, symbol: str, index: int) -> float:
        """Σ |quantity| × last close over the other symbols, each position counted with the entries standing."""
        if not self._book.pending:
            return self._portfolio.gross_exposure_at(index, excluding=symbol)
        return sum(abs(self._portfolio.position(other) + self._book.pending_entries(other))
                   * self._market.last_close(other, index)
                   for other in self._market.symbols if other != symbol)

    def _positions_other(self, symbol: str) -> dict[str, float]:
        """Each other symbol's signed position with its standing entries counted as filled (non-zero only)."""
        held = self._portfolio.held
        if self._book.pending:
            held = dict(held)
            for other in self._market.symbols:
                held[other] = held.get(other, 0.0) + self._book.pending_entries(other)
        return {other: quantity for other, quantity in held.items() if quantity and other != symbol}

    def _submit(self, signal: SignalGenerated, quantity: float, requested: float, reason: str,
                exits: tuple[Exit, ...] = (), **prices) -> None:
        self._signals.emit(OrderSubmitted(
            signal.namespace, signal.timeline, signal.index, self._book.new_id(), signal.symbol,
            quantity, requested, reason, exits=exits, **prices))

    def _reject(self, signal: SignalGenerated, requested: float, reason: str) -> None:
        self._signals.emit(OrderRejected(
            signal.namespace, signal.timeline, signal.index, self._book.new_id(), signal.symbol, requested, reason))

"""Turns a system's signals into sized orders within its limits (one per system)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from multifolio.config.spec import EntrySpec
from multifolio.data.market import MarketData
from multifolio.protocols import Exit, OrderType, PositionSizer, RiskContext, RiskLimit
from multifolio.trading.events import Direction, OrderRejected, OrderSubmitted, SignalGenerated
from multifolio.trading.execution import ExecutionSimulator
from multifolio.trading.outputs import checked_number
from multifolio.trading.portfolio import Portfolio
from multifolio.trading.signals import SystemSignals


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
    """

    def __init__(self, *, signals: SystemSignals, portfolio: Portfolio, book: ExecutionSimulator,
                 market: MarketData, sizers: Sequence[PositionSizer], limits: Sequence[RiskLimit],
                 lot_size: float, exits: Sequence[Exit] = (), entry: EntrySpec | None = None) -> None:
        self._signals = signals
        self._portfolio = portfolio
        self._book = book
        self._market = market
        self._sizers = tuple(sizers)
        self._limits = tuple(limits)
        self._lot_size = lot_size
        self._exits = tuple(exits)
        self._entry = entry or EntrySpec()

    def on_signal_generated(self, signal: SignalGenerated) -> None:
        current = self._portfolio.position(signal.symbol)
        standing = self._book.pending_entries(signal.symbol) if self._book.pending else 0.0
        heading = current + standing
        if ((heading > 0) - (heading < 0)) == signal.direction:
            return
        if standing:
            self._book.cancel_entries(signal.symbol, signal.index, "replaced by a newer signal")
        if signal.direction == Direction.FLAT:
            self._submit(signal, -current, -current, "")
            return
        context = RiskContext(
            symbol=signal.symbol, price=signal.price,
            equity=self._portfolio.equity_at(signal.index), position=current,
            gross_exposure_other=self._exposure_other(signal))
        wanted = self._round_down(min(checked_number(sizer.size(context), sizer, "size()")
                                      for sizer in self._sizers))
        size, reasons = wanted, []
        for limit in self._limits:
            cap = self._round_down(checked_number(limit.max_position(context), limit, "max_position()",
                                                  infinite=True))
            if cap < size:
                size = cap
                reasons.append(f"{limit.describe()} caps the position at {cap:g}")
        requested = signal.direction * wanted - current
        if size <= 0:
            reason = "; ".join(reasons) or "the position sizer gave 0"
            if current == 0:
                self._reject(signal, requested, reason)
            else:  # flipping, but the new side does not fit: only close
                self._submit(signal, -current, requested, f"{reason}; closing only")
            return
        opening = signal.direction * size
        if self._entry.type == OrderType.MARKET.value:
            self._submit(signal, opening - current, requested, "; ".join(reasons), exits=self._exits)
            return
        if current:  # the entry waits for its price; what is held is closed now
            self._submit(signal, -current, -current, "")
        self._submit(signal, opening, requested + current, "; ".join(reasons), exits=self._exits,
                     **self._entry.order_prices(signal.price, opening > 0))

    def _exposure_other(self, signal: SignalGenerated) -> float:
        """Σ |quantity| × last close over the other symbols, each position counted with the entries standing."""
        if not self._book.pending:
            return self._portfolio.gross_exposure_at(signal.index, excluding=signal.symbol)
        return sum(abs(self._portfolio.position(symbol) + self._book.pending_entries(symbol))
                   * self._market.last_close(symbol, signal.index)
                   for symbol in self._market.symbols if symbol != signal.symbol)

    def _round_down(self, quantity: float) -> float:
        if not math.isfinite(quantity):
            return quantity
        if self._lot_size <= 0:
            return quantity
        # a tiny epsilon keeps 0.3/0.1 from rounding down to 2 lots
        return math.floor(quantity / self._lot_size + 1e-9) * self._lot_size

    def _submit(self, signal: SignalGenerated, quantity: float, requested: float, reason: str,
                exits: tuple[Exit, ...] = (), **prices) -> None:
        self._signals.emit(OrderSubmitted(
            signal.namespace, signal.timestamp, signal.index, self._book.new_id(), signal.symbol,
            quantity, requested, reason, exits=exits, **prices))

    def _reject(self, signal: SignalGenerated, requested: float, reason: str) -> None:
        self._signals.emit(OrderRejected(
            signal.namespace, signal.timestamp, signal.index, self._book.new_id(), signal.symbol, requested, reason))

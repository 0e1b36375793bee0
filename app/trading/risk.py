"""Turns a system's signals into sized orders within its limits (one per system)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from multifolio.protocols import PositionSizer, RiskContext, RiskLimit
from multifolio.trading.events import Direction, OrderRejected, OrderSubmitted, SignalGenerated
from multifolio.trading.outputs import checked_number
from multifolio.trading.portfolio import Portfolio
from multifolio.trading.signals import SystemSignals


class RiskManager:
    """Receives `signal_generated`; sends `order_submitted` or `order_rejected`.

    A signal names a side. Already on that side: nothing to do (no pyramiding).
    FLAT closes the position. LONG/SHORT opens (or flips to) a position sized by
    the smallest answer of the sizers, then capped by every limit; the quantity is
    rounded down to whole lots. Closing is never limited.
    """

    def __init__(self, *, signals: SystemSignals, portfolio: Portfolio, sizers: Sequence[PositionSizer],
                 limits: Sequence[RiskLimit], lot_size: float) -> None:
        self._signals = signals
        self._portfolio = portfolio
        self._sizers = tuple(sizers)
        self._limits = tuple(limits)
        self._lot_size = lot_size
        self._next_order_id = 1

    def on_signal_generated(self, signal: SignalGenerated) -> None:
        current = self._portfolio.position(signal.symbol)
        side = (current > 0) - (current < 0)
        if side == signal.direction:
            return
        if signal.direction == Direction.FLAT:
            self._submit(signal, -current, -current, "")
            return
        context = RiskContext(
            symbol=signal.symbol, price=signal.price,
            equity=self._portfolio.equity_at(signal.index), position=current,
            gross_exposure_other=self._portfolio.gross_exposure_at(signal.index, excluding=signal.symbol))
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
        self._submit(signal, signal.direction * size - current, requested, "; ".join(reasons))

    def _round_down(self, quantity: float) -> float:
        if not math.isfinite(quantity):
            return quantity
        if self._lot_size <= 0:
            return quantity
        # a tiny epsilon keeps 0.3/0.1 from rounding down to 2 lots
        return math.floor(quantity / self._lot_size + 1e-9) * self._lot_size

    def _order_id(self) -> int:
        order_id, self._next_order_id = self._next_order_id, self._next_order_id + 1
        return order_id

    def _submit(self, signal: SignalGenerated, quantity: float, requested: float, reason: str) -> None:
        self._signals.emit(OrderSubmitted(
            signal.namespace, signal.timestamp, signal.index, self._order_id(), signal.symbol,
            quantity, requested, reason))

    def _reject(self, signal: SignalGenerated, requested: float, reason: str) -> None:
        self._signals.emit(OrderRejected(
            signal.namespace, signal.timestamp, signal.index, self._order_id(), signal.symbol, requested, reason))

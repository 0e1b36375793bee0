"""The simulated broker of one system: market orders filled on real bars only (one per system)."""

from __future__ import annotations

import pandas as pd

from multifolio.data.market import MarketData
from multifolio.protocols import CommissionModel, SlippageModel
from multifolio.trading.events import DataEnded, OrderCancelled, OrderFilled, OrderSubmitted
from multifolio.trading.outputs import checked_number
from multifolio.trading.portfolio import Portfolio
from multifolio.trading.signals import SystemSignals

NEXT_OPEN, CLOSE = "next_open", "close"


class ExecutionSimulator:
    """Receives `order_submitted` and `data_ended`; sends `order_filled` and `order_cancelled`.

    An order submitted at bar t's close fills at the open of its symbol's next bar
    (`fill_at: next_open`), or at bar t's own close (`fill_at: close`, opt-in).
    """

    def __init__(self, *, signals: SystemSignals, market: MarketData, portfolio: Portfolio,
                 slippage: SlippageModel, commission: CommissionModel, fill_at: str = NEXT_OPEN,
                 close_at_end: bool = False) -> None:
        self._signals = signals
        self._market = market
        self._portfolio = portfolio
        self._slippage = slippage
        self._commission = commission
        self._fill_at = fill_at
        self._close_at_end = close_at_end
        self.pending: list[OrderSubmitted] = []
        self._next_liquidation_id = -1  # end-of-data closing orders get negative ids

    def on_order_submitted(self, order: OrderSubmitted) -> None:
        if self._fill_at == CLOSE:
            k = self._market.position_of[order.symbol][order.index]
            self._fill(order.order_id, order.symbol, order.quantity, order.index, order.timestamp,
                       float(self._market.series[order.symbol].arrays["close"][k]))
        else:
            self.pending.append(order)

    def fill_due(self, index: int) -> None:
        """Fill every pending order whose symbol has a bar at `index`, at that bar's open."""
        waiting = []
        for order in self.pending:
            k = self._market.position_of[order.symbol][index]
            if k < 0 or order.index >= index:
                waiting.append(order)
                continue
            self._fill(order.order_id, order.symbol, order.quantity, index, self._market.timestamps[index],
                       float(self._market.series[order.symbol].arrays["open"][k]))
        self.pending = waiting

    def on_data_ended(self, event: DataEnded) -> None:
        """Cancel what never filled; with `close_at_end`, close every position at its last close."""
        for order in self.pending:
            self._signals.emit(OrderCancelled(
                event.namespace, event.timestamp, order.order_id, order.symbol, order.quantity,
                "the data ended before the next bar"))
        self.pending = []
        if self._close_at_end:
            for symbol, quantity in sorted(self._portfolio.positions().items()):
                self._fill(self._next_liquidation_id, symbol, -quantity, event.index, event.timestamp,
                           self._market.last_close(symbol, event.index))
                self._next_liquidation_id -= 1

    def _fill(self, order_id: int, symbol: str, quantity: float, index: int, timestamp: pd.Timestamp,
              reference: float) -> None:
        price = checked_number(self._slippage.fill_price(reference, quantity), self._slippage, "fill_price()",
                               strictly=True)
        commission = checked_number(self._commission.commission(quantity, price), self._commission, "commission()")
        self._signals.emit(OrderFilled(
            self._portfolio.namespace, timestamp, index, order_id, symbol, quantity, price, commission,
            abs(quantity) * abs(price - reference)))

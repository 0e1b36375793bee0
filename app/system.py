"""One trading system at run time: its bus wiring, its per-bar step and its results (one per system)."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
from attrs import frozen

from app.events import (
    BarClosed, DataEnded, OrderCancelled, OrderFilled, OrderRejected, OrderSubmitted,
)
from app.execution import ExecutionSimulator
from app.features import SystemIndicators
from app.market import MarketData
from app.portfolio import Portfolio
from app.risk import RiskManager
from app.signals import SystemSignals, dispatcher
from app.strategy import StrategyRunner

ORDER_COLUMNS = ("order_id", "submitted_time", "symbol", "requested", "quantity", "status", "reason",
                 "fill_time", "fill_price", "commission", "slippage")


class OrderLog:
    """Every order's life, including the rejected and cancelled ones: orders.csv (one per system)."""

    def __init__(self) -> None:
        self._rows: dict[int, dict] = {}

    def _row(self, order_id: int) -> dict:
        return self._rows.setdefault(order_id, dict.fromkeys(ORDER_COLUMNS, None))

    def on_order_submitted(self, order: OrderSubmitted) -> None:
        row = self._row(order.order_id)
        row.update(order_id=order.order_id, submitted_time=order.timestamp, symbol=order.symbol,
                   requested=order.requested, quantity=order.quantity, reason=order.reason)
        row["status"] = row["status"] or "submitted"

    def on_order_rejected(self, order: OrderRejected) -> None:
        self._row(order.order_id).update(
            order_id=order.order_id, submitted_time=order.timestamp, symbol=order.symbol,
            requested=order.requested, quantity=0.0, status="rejected", reason=order.reason)

    def on_order_filled(self, fill: OrderFilled) -> None:
        row = self._row(fill.order_id)
        if row["order_id"] is None:  # closing at the end of data: no order was submitted
            row.update(order_id=fill.order_id, submitted_time=fill.timestamp, symbol=fill.symbol,
                       requested=fill.quantity, quantity=fill.quantity, reason="closed at the end of data")
        row.update(status="filled", fill_time=fill.timestamp, fill_price=fill.price,
                   commission=fill.commission, slippage=fill.slippage)

    def on_order_cancelled(self, order: OrderCancelled) -> None:
        self._row(order.order_id).update(status="cancelled", reason=order.reason)

    def frame(self) -> pd.DataFrame:
        rows = [self._rows[k] for k in sorted(self._rows, key=lambda k: (k < 0, abs(k)))]
        return pd.DataFrame(rows, columns=list(ORDER_COLUMNS))


def connect_bus(*, signals: SystemSignals, strategy: StrategyRunner, risk: RiskManager,
                execution: ExecutionSimulator, portfolio: Portfolio, order_log: OrderLog) -> Iterator[SystemSignals]:
    """Connect one system's components to its own signals; disconnect them on shutdown.

    Strong references (`weak=False`): blinker would silently drop bound methods of
    objects nobody else holds. Where order matters there is one receiver; the order
    log only records, so it may hear an event before or after the component.
    """
    wiring = [
        (signals.bar_closed, strategy.on_bar_closed),
        (signals.signal_generated, risk.on_signal_generated),
        (signals.order_submitted, execution.on_order_submitted),
        (signals.order_submitted, order_log.on_order_submitted),
        (signals.order_rejected, order_log.on_order_rejected),
        (signals.order_filled, portfolio.on_order_filled),
        (signals.order_filled, order_log.on_order_filled),
        (signals.order_cancelled, order_log.on_order_cancelled),
        (signals.data_ended, execution.on_data_ended),
    ]
    for signal, receiver in wiring:
        signal.connect(receiver, weak=False)
    try:
        yield signals
    finally:
        for signal, receiver in wiring:
            signal.disconnect(receiver)


@frozen
class SystemResult:
    """What one system produced: the inputs reports need, nothing live."""

    name: str
    namespace: str
    initial_capital: float
    settings: dict  # the system's resolved configuration
    equity: pd.DataFrame
    trades: pd.DataFrame
    orders: pd.DataFrame
    open_positions: dict[str, float]
    open_lots: pd.DataFrame  # what is still held, lot by lot (OPEN_LOT_COLUMNS)
    indicators: tuple[str, ...]


class SystemRunner:
    """Steps one system through the shared timeline (one per system).

    Per bar: fill the orders queued before it at its open, then publish the bar of
    every symbol that has one; the strategy, risk and execution react on the bus.
    """

    def __init__(self, *, name: str, settings: dict, bus: SystemSignals, market: MarketData,
                 execution: ExecutionSimulator, portfolio: Portfolio, order_log: OrderLog,
                 indicators: SystemIndicators) -> None:
        self.name = name
        self.namespace = bus.namespace
        self.settings = settings
        self.signals = bus
        self.execution = execution
        self.portfolio = portfolio
        self._order_log = order_log
        self._indicators = indicators
        self._market = market
        self._symbols = [(symbol, memoryview(market.position_of[symbol]),
                          *(market.series[symbol].views[field] for field in ("open", "high", "low", "close",
                                                                            "volume")))
                         for symbol in market.symbols]
        self._deliver_bar = self.signals.bar_closed.send

    def start(self) -> None:
        """Called once before the first bar: seal the bus, so events go straight to their receivers."""
        self.signals.seal()
        self._deliver_bar = dispatcher(self.signals.bar_closed)

    def step(self, index: int) -> None:
        if self.execution.pending:
            self.execution.fill_due(index)
        timeline, namespace, deliver = self._market.timestamps, self.namespace, self._deliver_bar
        for symbol, positions, open_, high, low, close, volume in self._symbols:
            k = positions[index]
            if k >= 0:
                deliver(BarClosed(namespace, index, symbol, open_[k], high[k], low[k], close[k], volume[k], timeline))

    def finish(self) -> SystemResult:
        """Send `data_ended` (cancels pending orders) and collect the results."""
        last = len(self._market) - 1
        self.signals.emit(DataEnded(self.namespace, self._market.timestamps[last], last))
        return SystemResult(
            name=self.name, namespace=self.namespace, initial_capital=self.portfolio.initial_capital,
            settings=self.settings, equity=self.portfolio.equity_curve(),
            trades=self.portfolio.trades_frame(), orders=self._order_log.frame(),
            open_positions=self.portfolio.positions(), open_lots=self.portfolio.open_lots_frame(),
            indicators=tuple(self._indicators.keys()))

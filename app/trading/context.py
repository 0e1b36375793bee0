"""What a full-form strategy sees and does at one timestamp: a read-only view of its own account and
book, indicator values of any symbol up to now, and orders (one per system)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from multifolio.data.indicators import SystemIndicators
from multifolio.data.market import MarketData
from multifolio.errors import PluginOutputError
from multifolio.protocols import (
    BarClosed,
    Exit,
    ExitOrder,
    HeldPosition,
    IndicatorValues,
    OrderType,
    OrderView,
    TradingContext,
)
from multifolio.trading.events import DAY, GTC, OrderRequested
from multifolio.trading.execution import ExecutionSimulator
from multifolio.trading.outputs import whole_lots
from multifolio.trading.portfolio import Portfolio
from multifolio.trading.signals import SystemSignals
from multifolio.trading.strategy import BarValues

_NEEDS_LIMIT = (OrderType.LIMIT, OrderType.STOP_LIMIT)
_NEEDS_STOP = (OrderType.STOP, OrderType.STOP_LIMIT)


class PriceStop(Exit):
    """A stop-loss at the price a strategy gave with its order (`stop_loss=`)."""

    reason = "stop_loss"

    def __init__(self, price: float) -> None:
        self.price = price

    def order(self, position: HeldPosition, values: IndicatorValues) -> ExitOrder | None:
        return ExitOrder.stop(self.price)


class PriceTarget(Exit):
    """A take-profit at the price a strategy gave with its order (`take_profit=`)."""

    reason = "take_profit"

    def __init__(self, price: float) -> None:
        self.price = price

    def order(self, position: HeldPosition, values: IndicatorValues) -> ExitOrder | None:
        return ExitOrder.limit(self.price)


class StrategyContext(TradingContext):
    """The `TradingContext` a full-form strategy is handed at every timestamp (one per system).

    Orders go out as `OrderRequested`: the risk manager caps them by the system's limits and
    submits them (or rejects them) before `order` returns, so the book reflects them at once.
    """

    def __init__(self, *, signals: SystemSignals, market: MarketData, portfolio: Portfolio,
                 book: ExecutionSimulator, indicators: SystemIndicators, exits: Sequence[Exit], lot_size: float,
                 strategy_name: str, system_name: str) -> None:
        self._signals = signals
        self._market = market
        self._portfolio = portfolio
        self._book = book
        self._exits = tuple(exits)
        self._lot_size = lot_size
        self._who = f"strategy {strategy_name!r} of system {system_name!r}"
        self._values = {symbol: BarValues(indicators.arrays(symbol), self._who) for symbol in market.symbols}
        self.index = -1
        self.bars: dict[str, BarClosed] = {}

    # ------------------------------------------------------------------ the view

    @property
    def timestamp(self) -> pd.Timestamp:
        return self._market.timestamps[self.index]

    @property
    def symbols(self) -> tuple[str, ...]:
        return self._market.symbols

    def values(self, symbol: str) -> IndicatorValues:
        values = self._values[self._known(symbol)]
        values.bar = self._market.last_bar(symbol, self.index)  # its last bar up to now, never a later one
        return values

    def price(self, symbol: str) -> float:
        return self._market.last_close(self._known(symbol), self.index)

    def position(self, symbol: str) -> float:
        return self._portfolio.position(symbol)

    def positions(self) -> dict[str, float]:
        return self._portfolio.positions()

    @property
    def cash(self) -> float:
        return self._portfolio.cash

    @property
    def equity(self) -> float:
        return self._portfolio.equity_at(self.index)

    def open_orders(self, symbol: str | None = None) -> list[OrderView]:
        return [OrderView(order.order_id, order.symbol, order.quantity, order.type, order.limit, order.stop,
                          order.cause, order.parent) for order in self._book.live_orders(symbol)]

    # ------------------------------------------------------------------ orders

    def order(self, symbol: str, quantity: float, *, type: OrderType = OrderType.MARKET,
              limit: float | None = None, stop: float | None = None, time_in_force: str | int = GTC,
              stop_loss: float | None = None, take_profit: float | None = None,
              exits: Sequence[Exit] | None = None) -> int | None:
        self._known(symbol)
        quantity = self._whole_lots(self._number(quantity, "quantity", positive=False))
        if not isinstance(type, OrderType):
            raise PluginOutputError(f"{self._who} placed an order of type {type!r}; expected an OrderType")
        limit = self._price(limit, "limit") if type in _NEEDS_LIMIT else math.nan
        stop = self._price(stop, "stop") if type in _NEEDS_STOP else math.nan
        if not (time_in_force in (GTC, DAY) or (isinstance(time_in_force, int) and not isinstance(time_in_force, bool)
                                                and time_in_force >= 1)):
            raise PluginOutputError(f"{self._who} placed an order with time_in_force {time_in_force!r}; expected "
                                    f"'{GTC}', '{DAY}' or a number of bars ≥ 1")
        attached = self._exits if exits is None else tuple(exits)
        if stop_loss is not None or take_profit is not None:
            attached = tuple(exit_ for exit_ in attached if exit_.reason not in ("stop_loss", "take_profit"))
            attached += (PriceStop(self._price(stop_loss, "stop_loss")),) if stop_loss is not None else ()
            attached += (PriceTarget(self._price(take_profit, "take_profit")),) if take_profit is not None else ()
        if not quantity:
            return None
        order_id = self._book.new_id()
        self._signals.emit(OrderRequested(self._portfolio.namespace, self._market.timeline, self.index, order_id,
                                          symbol, quantity, type, limit, stop, time_in_force, attached))
        return order_id

    def cancel(self, order_id: int) -> bool:
        return self._book.cancel(order_id, self.index, "cancelled by the strategy") is not None

    def replace(self, order_id: int, *, quantity: float | None = None, limit: float | None = None,
                stop: float | None = None) -> int | None:
        standing = self._book.cancel(order_id, self.index, "replaced by the strategy")
        if standing is None:
            return None
        return self.order(standing.symbol, standing.quantity if quantity is None else quantity, type=standing.type,
                          limit=standing.limit if limit is None else limit,
                          stop=standing.stop if stop is None else stop, exits=standing.exits,
                          time_in_force=standing.time_in_force)

    def target(self, symbol: str, *, quantity: float | None = None, value: float | None = None,
               percent: float | None = None, **options) -> int | None:
        given = {name: amount for name, amount in (("quantity", quantity), ("value", value), ("percent", percent))
                 if amount is not None}
        if len(given) != 1:
            raise PluginOutputError(f"{self._who} called target() with {', '.join(given) or 'none'} of quantity, "
                                    "value, percent; expected exactly one")
        (name, amount), = given.items()
        amount = self._number(amount, name, positive=False)
        price = self.price(symbol)
        if name != "quantity" and not price > 0:
            return None  # no close yet to turn a value into units
        wanted = {"quantity": amount, "value": amount / price, "percent": amount * self.equity / price}[name]
        for standing in self._book.live_orders(symbol):
            if not standing.parent:
                self._book.cancel(standing.order_id, self.index, "replaced by a new target")
        return self.order(symbol, self._whole_lots(wanted) - self._portfolio.position(symbol), **options)

    # ------------------------------------------------------------------ checks

    def _known(self, symbol: str) -> str:
        if symbol not in self._values:
            raise PluginOutputError(f"{self._who} named symbol {symbol!r}, which is not in data.symbols "
                                    f"{list(self._market.symbols)}")
        return symbol

    def _number(self, value: object, what: str, *, positive: bool) -> float:
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) \
                or (positive and not value > 0):
            raise PluginOutputError(f"{self._who} gave {what} {value!r}; expected a finite number"
                                    f"{' > 0' if positive else ''}")
        return float(value)

    def _price(self, value: object, what: str) -> float:
        return self._number(value, what, positive=True)

    def _whole_lots(self, quantity: float) -> float:
        return whole_lots(quantity, self._lot_size)

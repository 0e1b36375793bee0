"""The simulated broker of one system: an order book filled on real bars only (one per system).

Fill rules on an OHLC bar (the README's fill table; tests/trading/test_fills.py checks each):
- market: at the open of the symbol's next bar (`fill_at: close`: at the close it was placed at);
- limit: at the open if the open is at the limit or better, else at the limit if the bar reaches it;
- stop: at the open if the bar gaps through the stop, else at the stop if the bar reaches it;
- stop-limit: the stop is reached as for a stop; then it is a limit order. In the bar that reached the
  stop during the session it fills as backtrader fills it: at the stop when the limit is at the stop or
  beyond, else at the limit when the close is beyond the limit and the bar fell (a buy) or rose (a sell)
  after its extreme; from the next bar on, as a limit order;
- with `max_volume_share`, no bar fills more of a symbol than that share of its volume: the rest of an
  order stands (a market order's rest fills from the next open);
- within one bar the open comes first (market orders before the resting orders it reached), then stops,
  then limits: a bar whose range holds both a stop and a target fills the stop (the cautious assumption),
  and the target is cancelled with it;
- an entry's exits are live from the fill on: within the rest of that bar they fill from the entry's
  price (a stop already passed at the entry fills there at once).
A limit fill's slippage never takes it past its limit.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from attrs import define

from multifolio.data.indicators import SystemIndicators
from multifolio.data.market import MarketData
from multifolio.protocols import FLATTEN, CommissionModel, Exit, ExitOrder, HeldPosition, OrderType, SlippageModel
from multifolio.trading.events import (
    DAY,
    GTC,
    DataEnded,
    OrderCancelled,
    OrderFilled,
    OrderModified,
    OrderSubmitted,
    OrderTriggered,
    SystemHalted,
)
from multifolio.trading.outputs import checked_exit_order, checked_number, whole_lots
from multifolio.trading.portfolio import Portfolio
from multifolio.trading.signals import SystemSignals
from multifolio.trading.strategy import BarValues

NEXT_OPEN, CLOSE = "next_open", "close"
_UNKNOWN = object()  # a band not worked out since the symbol's orders last changed
_LOOPED_SPAN = 64  # bars `first_reach` looks at one by one before it turns to numpy
MARKET, LIMIT, STOP, STOP_LIMIT = OrderType.MARKET, OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT


@define(slots=True, eq=False)
class Order:
    """A live order in the book."""

    order_id: int
    symbol: str
    quantity: float  # signed: + buy, - sell
    type: OrderType
    limit: float
    stop: float
    placed: int  # the timeline index it was placed at: it fills from the next bar (exits: from `live_from`)
    last_bar: int  # the last bar of its symbol (the symbol's own bar number) it may fill on; -1: no limit
    day: object  # the calendar day a DAY order lives on (None otherwise)
    cause: str
    parent: int
    exits: tuple[Exit, ...]
    time_in_force: str | int = GTC
    triggered: bool = False  # a stop-limit whose stop was reached
    live_from: float = math.nan  # an exit placed inside a bar: the price the bar had reached (the entry's)

    @property
    def buys(self) -> bool:
        return self.quantity > 0

    @property
    def is_stop(self) -> bool:
        """Waits for a stop (so it goes before limits within a bar)."""
        return self.type is STOP or (self.type is STOP_LIMIT and not self.triggered)


@define(slots=True, eq=False)
class Bracket:
    """An entry's exits: what they protect and the order each one has standing."""

    symbol: str
    entry_id: int
    quantity: float  # signed: the units the entry opened
    entry_price: float
    entry_bar: int  # the symbol's own bar number of the entry fill
    highest_close: float
    lowest_close: float
    legs: list[tuple[Exit, Order | None]]


class ExecutionSimulator:
    """Receives `order_submitted` and `data_ended`; sends `order_filled`, `order_triggered` and
    `order_cancelled`. Its live orders are the system's book. The runner calls `fill_due` before a
    bar's close while orders are live, and `after_close` after it while exits trail."""

    def __init__(self, *, signals: SystemSignals, market: MarketData, portfolio: Portfolio,
                 slippage: SlippageModel, commission: CommissionModel, indicators: SystemIndicators,
                 system_name: str = "", fill_at: str = NEXT_OPEN, close_at_end: bool = False,
                 max_volume_share: float | None = None, lot_size: float = 1.0) -> None:
        self._signals = signals
        self._market = market
        self._portfolio = portfolio
        self._slippage = slippage
        self._commission = commission
        self._fill_at = fill_at
        self._close_at_end = close_at_end
        self._volume_share = max_volume_share
        self._lot_size = lot_size
        self._volume_used: dict[str, tuple[int, float]] = {}  # symbol → (bar index, units filled in that bar)
        self._ids = itertools.count(1)
        self._live: dict[str, list[Order]] = {}  # symbol → its live orders, oldest first
        self._brackets: dict[str, list[Bracket]] = {}  # symbol → the entries with exits standing
        self.trailing: set[str] = set()  # symbols whose brackets have an exit asked at every close
        self._bands: dict[str, tuple[float, float] | None] = {}  # symbol → its `_band`, dropped on any change
        self._ranges = {symbol: (market.bar_numbers[symbol], market.series[symbol].views["low"],
                                 market.series[symbol].views["high"]) for symbol in market.symbols}
        # each symbol's open, high, low and close by its own bar number: Python floats, no numpy scalars
        self._prices = {symbol: tuple(market.series[symbol].views[field] for field in ("open", "high", "low", "close"))
                        for symbol in market.symbols}
        self._values = {symbol: BarValues(indicators.arrays(symbol), f"an exit of system {system_name!r}")
                        for symbol in market.symbols}
        self._next_liquidation_id = -1  # end-of-data closing orders get negative ids
        self.pending = False  # any live order: the runner asks `fill_due` only then

    # ------------------------------------------------------------------ the book

    def new_id(self) -> int:
        return next(self._ids)

    def live_orders(self, symbol: str | None = None) -> list[Order]:
        """The live orders, of `symbol` or of every symbol, oldest first."""
        if symbol is not None:
            return list(self._live.get(symbol, ()))
        return sorted((order for orders in self._live.values() for order in orders), key=lambda o: o.order_id)

    def pending_entries(self, symbol: str) -> float:
        """The signed quantity of `symbol` that live orders other than exits would add."""
        return sum(order.quantity for order in self._live.get(symbol, ()) if not order.parent)

    def cancel(self, order_id: int, index: int, reason: str) -> Order | None:
        """Cancel the standing order `order_id`; the order, or None when it is not standing."""
        for order in self.live_orders():
            if order.order_id == order_id:
                self._end(order, index, reason)
                return order
        return None

    def resize(self, order_id: int, quantity: float, index: int, reason: str) -> None:
        """Give the standing order `order_id` a smaller quantity of the same side (0 cancels it), and say why."""
        order = next(order for order in self.live_orders() if order.order_id == order_id)
        if not quantity:
            self._end(order, index, reason)
            return
        order.quantity = quantity
        self._bands.pop(order.symbol, None)
        self._signals.emit(OrderModified(self._portfolio.namespace, self._market.timeline, index, order_id,
                                         order.stop, quantity, reason))

    def cancel_entries(self, symbol: str, index: int, reason: str) -> None:
        """Cancel the live orders of `symbol` that are not exits (a newer signal replaces them)."""
        for order in [order for order in self._live.get(symbol, ()) if not order.parent]:
            self._end(order, index, reason)

    def on_order_submitted(self, submitted: OrderSubmitted) -> None:
        k = self._market.bar_numbers[submitted.symbol][submitted.index]
        tif = submitted.time_in_force
        order = Order(submitted.order_id, submitted.symbol, submitted.quantity, submitted.type, submitted.limit,
                      submitted.stop, submitted.index, k + tif if isinstance(tif, int) else -1,
                      self._market.timeline[submitted.index].date() if tif == DAY else None,
                      submitted.cause, submitted.parent, submitted.exits, tif)
        self._live.setdefault(order.symbol, []).append(order)
        self._bands.pop(order.symbol, None)
        if order.type is MARKET and self._fill_at == CLOSE and k >= 0 and not submitted.at_open:  # else next open
            self._fill(order, submitted.index, float(self._market.series[order.symbol].arrays["close"][k]),
                       at_close=True)
        self.pending = self.pending or self._is_live(order)  # what is left of it stands for the next bar

    def fill_due(self, index: int) -> None:
        """Fill what bar `index` fills, symbol by symbol (only symbols with a bar then, and only when the
        bar's range reaches one of the symbol's resting orders: waiting costs nothing else)."""
        filled = False
        for symbol in [symbol for symbol, orders in self._live.items() if orders]:
            positions, lows, highs = self._ranges[symbol]
            k = positions[index]
            if k < 0:
                continue
            band = self._bands.get(symbol, _UNKNOWN)
            if band is _UNKNOWN:
                band = self._bands[symbol] = self._band(symbol)
            if band is not None and lows[k] > band[0] and highs[k] < band[1]:
                continue
            self._fill_bar(symbol, index, k)
            filled = True
        if filled:
            self.pending = any(self._live.values())

    def standing_bands(self) -> list[tuple[str, tuple[float, float]]] | None:
        """Each symbol with orders standing and its band (`_band`), or None when some order may fill whatever the
        price (a market order, a time in force, one placed inside the last bar): what `first_reach` looks for."""
        found = []
        for symbol, orders in self._live.items():
            if not orders:
                continue
            band = self._bands.get(symbol, _UNKNOWN)
            if band is _UNKNOWN:
                band = self._bands[symbol] = self._band(symbol)
            if band is None:
                return None
            found.append((symbol, band))
        return found

    def first_reach(self, bands: list[tuple[str, tuple[float, float]]], start: int, stop: int) -> int:
        """The first bar of [start, stop) at which `fill_due` would look at a symbol's orders, as the book stands
        (nothing placed, moved or filled meanwhile): a bar of a symbol of `bands` (`standing_bands`) whose range
        is not strictly inside its band; `stop` when no bar of the span reaches one. A short span is looked at
        bar by bar as `fill_due` looks at it, a longer one with numpy, a stretch at a time that grows fourfold:
        the cost is that of the bars up to the first reach, not of the span."""
        for symbol, band in bands:
            stop = self._reached_at(symbol, band, start, stop)
        return stop

    def _reached_at(self, symbol: str, band: tuple[float, float], start: int, stop: int) -> int:
        """The first bar of [start, stop) where `symbol` has a bar whose range reaches `band`; `stop` if none."""
        falls_to, rises_to = band
        positions, lows, highs = self._ranges[symbol]
        looped = min(stop, start + _LOOPED_SPAN)
        for index in range(start, looped):
            k = positions[index]
            if k >= 0 and not (lows[k] > falls_to and highs[k] < rises_to):
                return index
        if looped == stop:
            return stop
        series = self._market.series[symbol]
        timeline_index, low, high = series.timeline_index, series.arrays["low"], series.arrays["high"]
        k, end = (int(k) for k in np.searchsorted(timeline_index, (looped, stop)))
        span = _LOOPED_SPAN
        while k < end:
            span *= 4
            part = slice(k, min(k + span, end))
            reached = np.flatnonzero(~((low[part] > falls_to) & (high[part] < rises_to)))  # NaN reaches, as above
            if len(reached):
                return int(timeline_index[k + reached[0]])
            k = part.stop
        return stop

    def _band(self, symbol: str) -> tuple[float, float] | None:
        """(the highest price a fall to which fills a resting order, the lowest a rise to which does), or
        None when some order may fill whatever the price (a market order, one with a time in force, one
        placed inside the last bar)."""
        falls_to, rises_to = -math.inf, math.inf
        for order in self._live[symbol]:
            if order.type is MARKET or order.last_bar >= 0 or order.day is not None or not math.isnan(order.live_from):
                return None
            level = order.stop if order.is_stop else order.limit
            # a buy limit and a sell stop wait for a fall; a buy stop and a sell limit for a rise
            if order.buys != order.is_stop:
                falls_to = max(falls_to, level)
            else:
                rises_to = min(rises_to, level)
        return falls_to, rises_to

    def _fill_bar(self, symbol: str, index: int, k: int) -> None:
        opens, highs, lows, closes = self._prices[symbol]
        open_, high, low, close = opens[k], highs[k], lows[k], closes[k]
        timed = [order for order in self._live[symbol] if order.last_bar >= 0 or order.day is not None]
        if timed:
            day = self._market.timeline[index].date() if any(order.day is not None for order in timed) else None
            for order in timed:
                if (0 <= order.last_bar < k) or (order.day is not None and order.day != day):
                    self._end(order, index, "its time in force ran out", status="expired")
        # the open: market orders first, then resting orders the bar opened beyond. A market order was placed
        # at the last close knowing what was held then: after an exit the open filled it would close (or flip)
        # a position that is no longer there and open the other side instead
        due = [order for order in self._live[symbol] if order.placed < index]
        if len(due) > 1:
            due.sort(key=lambda order: order.type is not MARKET)  # stable: oldest first in each
        for order in due:
            if self._is_live(order):
                price = self._at_open(order, open_, index)
                if price is not None:
                    self._fill(order, index, price)
        # the session: stops before limits; exits attached on the way join in, from their entry's price
        while self._live[symbol] and self._fill_first_reached(symbol, index, open_, high, low, close):
            pass  # a fill may cancel some orders and attach others: look again
        for order in self._live[symbol]:
            order.live_from = math.nan  # from the next bar on, an ordinary resting order
        self._bands.pop(symbol, None)

    def _fill_first_reached(self, symbol: str, index: int, open_: float, high: float, low: float,
                            close: float) -> bool:
        """Fill the first order the bar's range reaches, stops first; False if there is none."""
        waiting = [order for order in self._live[symbol] if order.type is not MARKET
                   and (order.placed < index or not math.isnan(order.live_from))]
        for order in sorted(waiting, key=lambda order: (not order.is_stop, order.order_id)):
            price = self._in_session(order, open_, high, low, close, index)
            if price is not None and self._fill(order, index, price):
                return True
        return False

    def _is_live(self, order: Order) -> bool:
        return order in self._live.get(order.symbol, ())

    def _at_open(self, order: Order, open_: float, index: int) -> float | None:
        """The fill price at the bar's open, if the open fills the order."""
        if order.type is MARKET:
            return open_
        if order.type is LIMIT or (order.type is STOP_LIMIT and order.triggered):
            return open_ if _at_or_better(open_, order.limit, order.buys) else None
        if _reached(open_, order.stop, order.buys):  # the bar gapped through the stop
            if order.type is STOP:
                return open_
            self._trigger(order, index)
            return open_ if _at_or_better(open_, order.limit, order.buys) else None
        return None

    def _in_session(self, order: Order, open_: float, high: float, low: float, close: float,
                    index: int) -> float | None:
        """The fill price during the bar, if the bar's range reaches the order."""
        if not math.isnan(order.live_from):  # placed inside this bar: the price was at `live_from` then
            opening = self._at_open(order, order.live_from, index)
            if opening is not None:
                return opening
        best, worst = (low, high) if order.buys else (high, low)  # the bar's extremes for this side
        if order.type is MARKET:
            return None
        if order.type is LIMIT or (order.type is STOP_LIMIT and order.triggered):
            return order.limit if _at_or_better(best, order.limit, order.buys) else None
        if not _reached(worst, order.stop, order.buys):
            return None
        if order.type is STOP:
            return order.stop
        self._trigger(order, index)
        if _at_or_better(order.stop, order.limit, order.buys):
            return order.stop
        # the limit is better than the stop: only a bar that turned back after its extreme reaches it
        turned_back = open_ > close if order.buys else open_ <= close
        return order.limit if turned_back and _at_or_better(close, order.limit, order.buys) else None

    def _trigger(self, order: Order, index: int) -> None:
        order.triggered = True
        self._bands.pop(order.symbol, None)
        self._signals.emit(OrderTriggered(self._portfolio.namespace, self._market.timeline, index,
                                          order.order_id))

    # ------------------------------------------------------------------ fills and exits

    def _fill(self, order: Order, index: int, reference: float, *, at_close: bool = False,
              volume_capped: bool = True) -> bool:
        """Fill `order` at `reference` (before slippage), all of it or, under `max_volume_share`, what the
        bar's volume leaves room for (the rest stands); False when nothing filled."""
        if order.parent:  # an exit closes what is left of its position, never more
            order.quantity = math.copysign(min(abs(order.quantity), abs(self._portfolio.position(order.symbol))),
                                           order.quantity)
            if not order.quantity:
                self._end(order, index, "the position it protected was closed")
                return False
        quantity = self._within_volume(order, index) if volume_capped and self._volume_share is not None \
            else order.quantity
        if not quantity:
            return False  # the bar's volume is used up: it waits for the next bar
        remaining = order.quantity - quantity
        if remaining:
            order.quantity = remaining
        else:
            self._remove(order)
        price = checked_number(self._slippage.fill_price(reference, quantity), self._slippage, "fill_price()",
                               strictly=True)
        if order.type is LIMIT or order.type is STOP_LIMIT:  # slippage never takes a fill past its limit
            price = min(price, order.limit) if order.buys else max(price, order.limit)
        commission = checked_number(self._commission.commission(quantity, price), self._commission, "commission()")
        before = self._portfolio.position(order.symbol)
        self._signals.emit(OrderFilled(
            self._portfolio.namespace, self._market.timeline, index, order.order_id, order.symbol,
            quantity, price, commission, abs(quantity) * abs(price - reference), order.cause, remaining))
        self._after_fill(order, index, before, reference, at_close)
        return True

    def _within_volume(self, order: Order, index: int) -> float:
        """What of `order` the bar's volume leaves room for: `max_volume_share` of it, less what this bar
        already filled of the symbol, in whole lots (asked only under `max_volume_share`)."""
        symbol = order.symbol
        volume = float(self._market.series[symbol].arrays["volume"][self._market.bar_numbers[symbol][index]])
        used_at, used = self._volume_used.get(symbol, (-1, 0.0))
        used = used if used_at == index else 0.0
        room = max(0.0, whole_lots(self._volume_share * volume - used, self._lot_size))
        quantity = math.copysign(min(abs(order.quantity), room), order.quantity)
        self._volume_used[symbol] = (index, used + abs(quantity))
        return quantity

    def _after_fill(self, order: Order, index: int, before: float, reference: float, at_close: bool) -> None:
        """Cancel the legs of brackets the fill closed or whose other leg filled; attach the entry's exits."""
        symbol = order.symbol
        brackets = self._brackets.get(symbol)
        if not brackets and not order.exits:
            return  # no exit stands for the symbol, none comes with the order
        position = self._portfolio.position(symbol)
        for bracket in list(brackets or ()):
            own_leg = any(leg is order for _, leg in bracket.legs) and not self._is_live(order)  # all of it filled
            if own_leg or position == 0 or (position > 0) != (bracket.quantity > 0):
                reason = ("its bracket's other exit filled" if own_leg
                          else "the position it protected was closed")
                self._close_bracket(bracket, index, reason)
        opened = position - before if (position > 0) == (before > 0) and before else position
        if order.exits and opened and (opened > 0) == (position > 0):
            k = self._market.last_bar(symbol, index)
            bracket = Bracket(symbol, order.order_id, opened, reference, k, reference, reference,
                              [(exit_, None) for exit_ in order.exits])
            self._brackets.setdefault(symbol, []).append(bracket)
            if any(exit_.trails for exit_ in order.exits):
                self.trailing.add(symbol)
            self._ask_exits(bracket, index, reference, at_fill=True, at_close=at_close)

    def _close_bracket(self, bracket: Bracket, index: int, reason: str) -> None:
        self._brackets[bracket.symbol].remove(bracket)
        for _, leg in bracket.legs:
            if leg is not None and self._is_live(leg):
                self._end(leg, index, reason)
        if not any(exit_.trails for b in self._brackets[bracket.symbol] for exit_, _ in b.legs):
            self.trailing.discard(bracket.symbol)

    def after_close(self, index: int) -> None:
        """After the strategy saw bar `index`: its closes move trailing exits and may call time exits."""
        for symbol in list(self.trailing):
            k = self._market.bar_numbers[symbol][index]
            if k < 0:
                continue
            close = self._prices[symbol][3][k]
            for bracket in list(self._brackets[symbol]):
                bracket.highest_close = max(bracket.highest_close, close)
                bracket.lowest_close = min(bracket.lowest_close, close)
                self._ask_exits(bracket, index, close, at_fill=False, at_close=True)

    def _ask_exits(self, bracket: Bracket, index: int, close: float, *, at_fill: bool, at_close: bool) -> None:
        k = self._market.last_bar(bracket.symbol, index)
        values = self._values[bracket.symbol]
        values.bar = k if at_close else k - 1  # the last closed bar: never the one being filled
        held = self._bars_held(bracket, index, at_fill)
        position = HeldPosition(bracket.symbol, bracket.quantity, bracket.entry_price, close,
                                bracket.highest_close, bracket.lowest_close, held)
        for number, (exit_, leg) in enumerate(bracket.legs):
            if bracket not in self._brackets[bracket.symbol]:
                return  # an exit asked before this one closed the position
            if not at_fill and not exit_.trails:
                continue
            wanted = checked_exit_order(exit_.order(position, values), exit_)
            if wanted is not None:
                bracket.legs[number] = (exit_, self._place_exit(bracket, exit_, leg, wanted, index,
                                                                 in_bar=not at_close))

    def _bars_held(self, bracket: Bracket, index: int, at_fill: bool) -> int:
        """The trade's bars_held if an order placed now filled at the next fill."""
        k = self._market.last_bar(bracket.symbol, index)
        if at_fill:
            return k - bracket.entry_bar
        return k - bracket.entry_bar + (self._fill_at != CLOSE)

    def _place_exit(self, bracket: Bracket, exit_: Exit, leg: Order | None, wanted: ExitOrder, index: int,
                    in_bar: bool) -> Order | None:
        """The exit's order, placed (or its standing one moved, or replaced). `in_bar`: placed at an entry
        filled inside bar `index`, live for the rest of it; else placed at that bar's close."""
        if leg is not None and self._is_live(leg):
            if leg.type is wanted.type is STOP:  # a stop never loosens
                tighter = (max if bracket.quantity > 0 else min)(leg.stop, wanted.price)
                if tighter != leg.stop:
                    leg.stop = tighter
                    self._bands.pop(leg.symbol, None)
                    self._signals.emit(OrderModified(self._portfolio.namespace, self._market.timeline,
                                                     index, leg.order_id, tighter))
                return leg
            if leg.type is wanted.type and (wanted.type is MARKET or leg.limit == wanted.price):
                return leg
            self._end(leg, index, "replaced by its exit's new order")
        price, order_id = wanted.price, self.new_id()
        self._signals.emit(OrderSubmitted(
            self._portfolio.namespace, self._market.timeline, index, order_id, bracket.symbol,
            -bracket.quantity, -bracket.quantity, "", wanted.type, price if wanted.type is LIMIT else math.nan,
            price if wanted.type is STOP else math.nan, GTC, exit_.reason, bracket.entry_id))
        # what on_order_submitted made of it: the newest order of the symbol, unless it filled at once
        # (a market exit at a close with `fill_at: close`)
        standing = self._live[bracket.symbol]
        if not standing or standing[-1].order_id != order_id:
            return None
        order = standing[-1]
        if in_bar and wanted.type is not MARKET:
            order.live_from = bracket.entry_price  # live for the rest of the entry's bar
            self._bands.pop(order.symbol, None)
        return order

    # ------------------------------------------------------------------ ending orders

    def _remove(self, order: Order) -> None:
        self._live[order.symbol].remove(order)
        self._bands.pop(order.symbol, None)

    def _end(self, order: Order, index: int, reason: str, status: str = "cancelled", removed: bool = False) -> None:
        if not removed:
            self._remove(order)
        self._signals.emit(OrderCancelled(
            self._portfolio.namespace, self._market.timeline, index, order.order_id, order.symbol,
            order.quantity, reason, status))

    def on_system_halted(self, halted: SystemHalted) -> None:
        """A flatten: cancel every order (exits too: the market orders below close what they protect) and
        close each position at the next fill, the halt's reason as the orders' cause (the trades'
        exit_reason). A block: cancel the entries standing, which would take positions further from zero."""
        why = f"the system halted: {halted.reason}"
        for order in self.live_orders():
            if halted.action == FLATTEN or not order.parent:
                self._end(order, halted.index, why)
        if halted.action != FLATTEN:
            return
        self._brackets.clear()
        self.trailing.clear()
        for symbol, quantity in sorted(self._portfolio.positions().items()):
            self._signals.emit(OrderSubmitted(
                halted.namespace, halted.timeline, halted.index, self.new_id(), symbol, -quantity, -quantity,
                halted.detail or why, cause=halted.reason, at_open=halted.at_boundary))
        self.pending = any(self._live.values())

    def on_data_ended(self, event: DataEnded) -> None:
        """Cancel what never filled; with `close_at_end`, close every position at its last close."""
        for order in self.live_orders():
            self._end(order, event.index, "the data ended before it filled")
        self._brackets.clear()
        self.trailing.clear()
        self.pending = False
        if self._close_at_end:
            for symbol, quantity in sorted(self._portfolio.positions().items()):
                close = Order(self._next_liquidation_id, symbol, -quantity, MARKET, math.nan, math.nan,
                              event.index, -1, None, "end_of_data", 0, ())
                self._next_liquidation_id -= 1
                self._fill_unlisted(close, event.index, self._market.last_close(symbol, event.index))

    def _fill_unlisted(self, order: Order, index: int, reference: float) -> None:
        """Fill an order that never stood in the book (closing at the end of data, whatever the volume)."""
        self._live.setdefault(order.symbol, []).append(order)
        self._fill(order, index, reference, volume_capped=False)


def _at_or_better(price: float, limit: float, buys: bool) -> bool:
    """`price` is at `limit` or better for the side: no higher for a buy, no lower for a sell."""
    return price <= limit if buys else price >= limit


def _reached(price: float, stop: float, buys: bool) -> bool:
    """`price` has reached `stop`: at or above it for a buy stop, at or below for a sell stop."""
    return price >= stop if buys else price <= stop


"""The events that flow along one trading system's bus; each names its system and time.

`BarClosed` and `Direction` are part of the plugin surface, so they live in
`multifolio.protocols` (the bottom layer) and are used here from there.
"""

from __future__ import annotations

import math

import pandas as pd
from attrs import field, frozen

from multifolio.protocols import BarClosed, Direction, Exit, OrderType, Timeline

__all__ = ["AtBar", "BarClosed", "BlockLifted", "DataEnded", "Direction", "OrderCancelled", "OrderFilled",
           "OrderModified", "OrderRejected", "OrderRequested", "OrderSubmitted", "OrderTriggered", "SignalGenerated",
           "SystemHalted"]

GTC = "gtc"  # time in force: good till cancelled
DAY = "day"  # until the last bar of the day it was placed on


@frozen(slots=True)
class AtBar:
    """What every event says first: its system, the run's shared timeline and the bar it happened at (`index`),
    its time made from those when read. An order's cascade would otherwise make a Timestamp at its signal and at
    its fill (about 1 µs each) that nothing reads but a halt's record."""

    namespace: str
    timeline: Timeline | pd.DatetimeIndex = field(repr=False, eq=False)  # a DatetimeIndex serves as well (tests)
    index: int

    @property
    def timestamp(self) -> pd.Timestamp:
        return self.timeline[self.index]


@frozen(slots=True)
class SignalGenerated(AtBar):
    """A strategy asked to be `direction` in `symbol`, seen at the close of bar `index`."""

    symbol: str
    direction: Direction
    price: float  # the close the signal was computed on; sizing uses it


@frozen(slots=True)
class OrderRequested(AtBar):
    """A full-form strategy placed an order; risk checks it against the limits before it is submitted."""

    order_id: int
    symbol: str
    quantity: float  # signed, whole lots
    type: OrderType
    limit: float
    stop: float
    time_in_force: str | int
    exits: tuple[Exit, ...]


@frozen(slots=True)
class OrderSubmitted(AtBar):
    """An order goes to the simulated broker: approved by risk (from a signal), or placed by an exit."""

    # index: the bar at whose close (or, for an exit, in which) it was placed
    order_id: int
    symbol: str
    quantity: float  # signed: + buy, - sell
    requested: float  # what the sizer asked for before the limits, signed
    reason: str  # why it differs from `requested` ("" when it does not)
    type: OrderType = OrderType.MARKET
    limit: float = math.nan
    stop: float = math.nan
    time_in_force: str | int = GTC  # GTC, DAY, or a number of the symbol's bars
    cause: str = "signal"  # what placed it: "signal", "strategy" (a full-form order), or an exit's reason
    parent: int = 0  # the entry order an exit belongs to (0: none)
    exits: tuple[Exit, ...] = ()  # the bracket attached when it fills
    # placed at a bar boundary, as of `index`'s close (the book's orders, closing a halted system): a market
    # order fills at the next open even with `fill_at: close` (that close is past)
    at_open: bool = False


@frozen(slots=True)
class OrderRejected(AtBar):
    """Risk refused a signal, or a full-form strategy's order, because no quantity fits the limits."""

    order_id: int
    symbol: str
    requested: float
    reason: str
    type: OrderType = OrderType.MARKET
    cause: str = "signal"


@frozen(slots=True)
class OrderFilled(AtBar):
    """The simulated broker filled an order for one trading system."""

    # index: the bar the fill happened on
    order_id: int
    symbol: str
    quantity: float  # signed: + buy, - sell
    price: float  # after slippage
    commission: float  # currency, ≥ 0
    slippage: float  # currency paid to slippage on this fill, ≥ 0
    cause: str = "signal"  # the order's cause: a closing fill's is the trade's exit_reason
    remaining: float = 0.0  # what of the order still stands after this fill (volume-capped fills), signed


@frozen(slots=True)
class OrderTriggered(AtBar):
    """A stop-limit order's stop was reached: from now on it is a limit order."""

    order_id: int


@frozen(slots=True)
class OrderModified(AtBar):
    """A standing order changed: its stop moved (a trailing stop following the price), or its quantity was
    cut (a limit on all the books together), and why."""

    order_id: int
    stop: float
    quantity: float = math.nan  # the new quantity, signed (NaN: unchanged)
    reason: str = ""


@frozen(slots=True)
class OrderCancelled(AtBar):
    """An order that will never fill: cancelled (a newer signal, its bracket's other leg filled, the
    position it protected closed, the data ended) or expired (its time in force ran out)."""

    order_id: int
    symbol: str
    quantity: float
    reason: str
    status: str = "cancelled"  # or "expired"


@frozen(slots=True)
class SystemHalted(AtBar):
    """The system stopped trading at the close of bar `index`: for good with `action` "flatten" (its
    orders cancelled, every position closed at the next fill, the strategy stepped no more), or for new
    entries with "block" (its standing entries cancelled; exits and closing orders still go through)."""

    reason: str  # the cause, also the closing orders' cause: "bankruptcy", "max_drawdown", "daily_loss", ...
    action: str  # "flatten" or "block"
    detail: str = ""  # what broke, in words
    at_boundary: bool = False  # decided at the boundary after bar `index` (the book): closes at the next open


@frozen(slots=True)
class BlockLifted(AtBar):
    """A block on new entries ended at the close of bar `index`: the limit that set it is whole again."""

    reason: str  # the cause of the block lifted
    entries_suppressed: int  # the entries refused while it stood


@frozen(slots=True)
class DataEnded(AtBar):
    """The shared stream has no more bars; `index` is the last bar's."""


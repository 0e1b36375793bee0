"""The events that flow along one trading system's bus; each names its system and time.

`BarClosed` and `Direction` are part of the plugin surface, so they live in
`multifolio.protocols` (the bottom layer) and are used here from there.
"""

from __future__ import annotations

import pandas as pd
from attrs import frozen

from multifolio.protocols import BarClosed, Direction

__all__ = ["BarClosed", "DataEnded", "Direction", "OrderCancelled", "OrderFilled", "OrderRejected",
           "OrderSubmitted", "SignalGenerated"]


@frozen(slots=True)
class SignalGenerated:
    """A strategy asked to be `direction` in `symbol`, seen at the close of bar `index`."""

    namespace: str
    timestamp: pd.Timestamp
    index: int
    symbol: str
    direction: Direction
    price: float  # the close the signal was computed on; sizing uses it


@frozen(slots=True)
class OrderSubmitted:
    """Risk approved a market order; it fills at the next bar's open (or this close)."""

    namespace: str
    timestamp: pd.Timestamp
    index: int
    order_id: int
    symbol: str
    quantity: float  # signed: + buy, - sell
    requested: float  # what the sizer asked for before the limits, signed
    reason: str  # why it differs from `requested` ("" when it does not)


@frozen(slots=True)
class OrderRejected:
    """Risk refused a signal because no quantity fits the limits."""

    namespace: str
    timestamp: pd.Timestamp
    index: int
    order_id: int
    symbol: str
    requested: float
    reason: str


@frozen(slots=True)
class OrderFilled:
    """The simulated broker filled an order for one trading system."""

    namespace: str
    timestamp: pd.Timestamp
    index: int  # the bar the fill happened on
    order_id: int
    symbol: str
    quantity: float  # signed: + buy, - sell
    price: float  # after slippage
    commission: float  # currency, ≥ 0
    slippage: float  # currency paid to slippage on this fill, ≥ 0


@frozen(slots=True)
class OrderCancelled:
    """An order that never filled: the data ended (or its symbol never traded again)."""

    namespace: str
    timestamp: pd.Timestamp
    order_id: int
    symbol: str
    quantity: float
    reason: str


@frozen(slots=True)
class DataEnded:
    """The shared stream has no more bars; `index` is the last bar's."""

    namespace: str
    timestamp: pd.Timestamp
    index: int

"""The public plugin surface: what strategies, indicators, sizers, limits, cost models,
data sources, allocators and controllers implement, and the values they are handed. Plugins import only this."""

from __future__ import annotations

import abc
import enum
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
from attrs import field, frozen

from multifolio.errors import ConfigError, DataError, UndeclaredIndicatorError

__all__ = [
    "BAR_COLUMNS",
    "BLOCK",
    "FLATTEN",
    "HALT_ACTIONS",
    "PRICE_FIELDS",
    "AccountSpan",
    "AccountState",
    "AllocationContext",
    "Allocator",
    "BarClosed",
    "BookView",
    "CommissionModel",
    "ConfigError",
    "Controller",
    "DataError",
    "DataSource",
    "Direction",
    "Exit",
    "ExitOrder",
    "HeldPosition",
    "Indicator",
    "IndicatorValues",
    "OrderType",
    "OrderView",
    "PositionSizer",
    "RiskContext",
    "RiskLimit",
    "SlippageModel",
    "Strategy",
    "SystemView",
    "TradingContext",
    "UndeclaredIndicatorError",
]

#: What a halting limit does when broken: close everything and stop trading for good, or refuse new
#: entries (orders that take a position further from zero) until the limit says it is whole again.
FLATTEN, BLOCK = "flatten", "block"
HALT_ACTIONS = (FLATTEN, BLOCK)

#: Columns every data source returns, one row per symbol × timestamp.
BAR_COLUMNS = ("timestamp", "symbol", "open", "high", "low", "close", "volume")
PRICE_FIELDS = ("open", "high", "low", "close", "volume")


class Direction(enum.IntEnum):
    """The side a strategy wants to be on; its value is the sign of the position."""

    SHORT = -1
    FLAT = 0
    LONG = 1


class Timeline:
    """The run's shared timestamps by bar position: `timeline[index]` is bar `index`'s Timestamp, made when
    asked (most bars' never are). Naive stamps are made from the raw datetime64 values, about three times
    faster than indexing the DatetimeIndex, which each event of an order's cascade would otherwise pay."""

    __slots__ = ("timestamps", "_values")

    def __init__(self, timestamps: pd.DatetimeIndex) -> None:
        self.timestamps = timestamps
        # zone-aware stamps go through the index, which knows the zone's offset at each moment
        self._values = timestamps.to_numpy() if timestamps.tz is None else None

    def __getitem__(self, index: int) -> pd.Timestamp:
        if self._values is None:
            return self.timestamps[index]
        return pd.Timestamp(self._values[index])

    def __len__(self) -> int:
        return len(self.timestamps)


# One BarClosed is made per bar per system: a dict-based frozen class builds in about
# 0.46 µs against 0.76 µs for a slotted one (measured), so this event is not slotted.
@frozen(slots=False)
class BarClosed:
    """Bar `index` of `symbol` closed; what a strategy sees (never a later bar)."""

    namespace: str
    index: int  # position of the bar in the run's shared timeline
    symbol: str
    open: float
    high: float
    low: float
    close: float
    volume: float
    # the shared timeline, read by `timestamp` (a DatetimeIndex serves as well, as in tests)
    timeline: Timeline | pd.DatetimeIndex = field(repr=False, eq=False)

    @property
    def timestamp(self) -> pd.Timestamp:
        """When the bar closed; made on first use (most bars are never asked)."""
        return self.timeline[self.index]


class IndicatorValues(abc.ABC):
    """What a strategy may read at one bar of one symbol: that bar and earlier ones only."""

    @abc.abstractmethod
    def __getitem__(self, key: str) -> float:
        """The value of `key` (an indicator key such as `SMA_20`, `BB_20_2.upper`, or a
        price field such as `close`) at the current bar; `UndeclaredIndicatorError` (a
        KeyError) for a key the strategy did not declare."""

    @abc.abstractmethod
    def ago(self, key: str, bars: int) -> float:
        """The value of `key` `bars` bars of this symbol earlier (NaN before the first bar)."""


class Strategy(abc.ABC):
    """A trading rule, in one of two forms (implement one):

    - simple, per symbol: `on_bar(bar, values)` sees each closed bar and says which side it
      wants to be on; sizers, limits, exits and `execution.entry` turn that into orders;
    - full: `on_bars(context)` is called once per timestamp with every symbol that has a bar
      then; it reads its positions, cash, equity, standing orders and any symbol's indicator
      values through `context`, and places, cancels, replaces and targets orders itself.

    One instance per trading system, so instance attributes are private state.
    Constructor keywords are the YAML `strategy.parameters`; validate them there
    and raise `ConfigError(parameter, message)` on a bad value.
    """

    def indicators(self) -> Sequence[str]:
        """Indicator specs the strategy reads (`"SMA_10"`, `"BB_20_2"`): computed for it
        in the shared cache even when the YAML `indicators` list does not name them."""
        return ()

    def on_bar(self, bar: BarClosed, values: IndicatorValues) -> Direction | None:
        """The simple form: the side wanted after this bar's close, or None to leave things as they are."""
        raise NotImplementedError

    def on_bars(self, context: TradingContext) -> None:
        """The full form: act on the bars that closed at `context.timestamp` (`context.bars`)."""
        raise NotImplementedError

    def signals(self, values: Mapping[str, np.ndarray], start: int = 0) -> np.ndarray | None:
        """The simple form, all bars at once (optional): what `on_bar` would return at each of one symbol's
        bars, as an array as long as `values["close"]`, NaN where it returns None. `values` holds the
        symbol's whole arrays: the price fields and the indicators declared, by key.

        Implementing it lets the run go straight from one bar where something can happen to the next
        (a signal, a fill, an exit's trigger, a halt) instead of calling `on_bar` at every bar; results
        are the same, byte for byte, as long as element k equals what `on_bar` returns at bar k, which
        must depend on bars 0..k only (`multifolio.testing.assert_signals_match` and `assert_causal` check
        them). None (the default): `on_bar` is called at every bar.

        `start`: the symbol's bar at which `on_bar` is first called. It is 0 but for a system trading in a
        window (`portfolio.active`), whose `on_bar` first sees the window's first bar, so that a strategy's
        state (the last sign of a crossover) begins there; from `start` on, element k is what `on_bar` returns
        at bar k when its first call was at bar `start` (elements before it are not read; `values` still hold
        every bar, which `on_bar` may look back on with `ago`). Such a system goes from event to event only
        when the method takes the parameter: a `signals(values)` without it is left aside there."""
        return None

    @classmethod
    def full_form(cls) -> bool:
        """True when the class implements `on_bars`."""
        return cls.on_bars is not Strategy.on_bars

    @classmethod
    def implemented(cls) -> bool:
        """True when the class implements one of the two forms."""
        return cls.full_form() or cls.on_bar is not Strategy.on_bar


class Indicator(abc.ABC):
    """A series computed once per (symbol, spec) over the whole data in the shared cache.

    `compute` must be causal: its value at bar t may depend on bars ≤ t only.
    Constructor keywords are the spec's parameters, in the order `NAME_a_b` gives them.
    The canonical key (`NAME_a_b` with every parameter) takes each value as the plugin
    keeps it in an attribute of the parameter's name, if it keeps one: store a value
    under its parameter's name only as the parameter itself, normalised if need be.
    """

    #: Names of the outputs; one output is read as the bare key, several as `KEY.output`.
    outputs: ClassVar[tuple[str, ...]] = ("value",)

    @abc.abstractmethod
    def compute(self, bars: Mapping[str, np.ndarray]) -> Mapping[str, np.ndarray]:
        """Arrays (float64, same length as the bars, NaN during warm-up) by output name.
        `bars` maps `open`, `high`, `low`, `close`, `volume` to float64 arrays."""


class OrderType(enum.Enum):
    """How an order fills on a bar (the README's fill table gives each rule)."""

    MARKET = "market"  # at the next open (or this close, with `fill_at: close`)
    LIMIT = "limit"  # at its limit or better
    STOP = "stop"  # once the price reaches its stop: at the stop, or at the open if the bar gaps through it
    STOP_LIMIT = "stop_limit"  # once the price reaches its stop: a limit order at its limit


@frozen
class ExitOrder:
    """The order an exit wants standing for the position it protects."""

    type: OrderType  # STOP or LIMIT at `price`, or MARKET: close at the next fill
    price: float = math.nan

    @classmethod
    def stop(cls, price: float) -> ExitOrder:
        return cls(OrderType.STOP, float(price))

    @classmethod
    def limit(cls, price: float) -> ExitOrder:
        return cls(OrderType.LIMIT, float(price))

    @classmethod
    def market(cls) -> ExitOrder:
        return cls(OrderType.MARKET)


@frozen
class HeldPosition:
    """What an exit knows of the position it protects: at the entry's fill, then at each close of its symbol."""

    symbol: str
    quantity: float  # signed: > 0 long, < 0 short; what the exit closes
    entry_price: float  # the fill price
    close: float  # the last close (the entry price at the fill)
    highest_close: float  # since the entry, the entry price counted as a close
    lowest_close: float
    bars_held: int  # the trade's bars_held if an order placed now filled at the next fill

    @property
    def side(self) -> int:
        return 1 if self.quantity > 0 else -1


class Exit(abc.ABC):
    """Closes a position: a leg of the bracket attached to each entry (`risk.exits`).

    The legs of one entry cancel each other: the first to fill closes the position. A
    stop never loosens: a long's stop only rises, a short's only falls. Constructor
    keywords are the YAML keys beside `type`.
    """

    #: `exit_reason` in trades.csv, and the `cause` of the orders this exit places.
    reason: ClassVar[str] = "exit"
    #: True: asked again after every close of the symbol while the position is open (trailing
    #: stops, time exits); False: asked once, when the entry fills.
    trails: ClassVar[bool] = False

    def indicators(self) -> Sequence[str]:
        """Indicator specs this exit reads (`"ATR_14"`), computed in the shared cache."""
        return ()

    @abc.abstractmethod
    def order(self, position: HeldPosition, values: IndicatorValues) -> ExitOrder | None:
        """The exit order wanted now, or None for none. `values` reads the symbol's last closed bar
        (at the entry's fill: the bar before it, never the bar being filled)."""


@frozen
class OrderView:
    """A standing order as a strategy sees it (a snapshot)."""

    order_id: int
    symbol: str
    quantity: float  # signed: + buy, - sell
    type: OrderType
    limit: float  # NaN when it has none
    stop: float
    cause: str  # "strategy", "signal", or the exit that placed it ("stop_loss", ...)
    parent: int  # the entry an exit belongs to; 0 for an entry


class TradingContext(abc.ABC):
    """What a full-form strategy sees and does at one timestamp. Reads never reach a later bar;
    orders placed here are checked by the system's limits and fill by the README's fill table."""

    bars: Mapping[str, BarClosed]  # the symbols with a bar at this timestamp, and their bars

    @property
    @abc.abstractmethod
    def timestamp(self) -> pd.Timestamp:
        """The timestamp whose bars just closed."""

    @property
    @abc.abstractmethod
    def symbols(self) -> tuple[str, ...]:
        """Every symbol of the run, in `data.symbols` order."""

    @abc.abstractmethod
    def values(self, symbol: str) -> IndicatorValues:
        """Prices and declared indicators of `symbol` at its last bar up to now."""

    @abc.abstractmethod
    def price(self, symbol: str) -> float:
        """The last close of `symbol` up to now (NaN before its first bar)."""

    @abc.abstractmethod
    def position(self, symbol: str) -> float:
        """The signed quantity held."""

    @abc.abstractmethod
    def positions(self) -> dict[str, float]:
        """Every non-zero position, by symbol."""

    @property
    @abc.abstractmethod
    def cash(self) -> float:
        """Cash now."""

    @property
    @abc.abstractmethod
    def equity(self) -> float:
        """Cash plus positions marked at their last closes."""

    @abc.abstractmethod
    def open_orders(self, symbol: str | None = None) -> list[OrderView]:
        """The standing orders (of `symbol`), oldest first."""

    @abc.abstractmethod
    def order(self, symbol: str, quantity: float, *, type: OrderType = OrderType.MARKET,
              limit: float | None = None, stop: float | None = None, time_in_force: str | int = "gtc",
              stop_loss: float | None = None, take_profit: float | None = None,
              exits: Sequence[Exit] | None = None) -> int | None:
        """Place an order (signed quantity, rounded toward zero to whole lots); its id, or None when
        nothing is left to order. `stop_loss`/`take_profit`: a bracket at those prices; `exits`: exit
        plugins instead of the system's `risk.exits` (which opening orders get by default)."""

    def buy(self, symbol: str, quantity: float, **options) -> int | None:
        return self.order(symbol, abs(quantity), **options)

    def sell(self, symbol: str, quantity: float, **options) -> int | None:
        return self.order(symbol, -abs(quantity), **options)

    @abc.abstractmethod
    def cancel(self, order_id: int) -> bool:
        """Cancel a standing order; False when it is not standing (filled, cancelled, unknown)."""

    @abc.abstractmethod
    def replace(self, order_id: int, *, quantity: float | None = None, limit: float | None = None,
                stop: float | None = None) -> int | None:
        """Cancel a standing entry and place it again with what is given changed; the new id."""

    @abc.abstractmethod
    def target(self, symbol: str, *, quantity: float | None = None, value: float | None = None,
               percent: float | None = None, **options) -> int | None:
        """Order the difference to hold `quantity` units, or `value` (currency), or `percent` of equity
        (one of them, signed), at the last close; entries standing for the symbol are cancelled first."""


@frozen
class RiskContext:
    """What sizers and limits know when a signal (or a full-form strategy's order) arrives, at that
    bar's close."""

    symbol: str
    price: float  # the close the signal was computed on
    equity: float  # cash + positions marked at this bar's closes
    position: float  # current signed quantity of `symbol`
    gross_exposure_other: float  # Σ |quantity| × price of every other symbol, entries standing counted as filled
    values: IndicatorValues | None = field(default=None, eq=False)  # the symbol's, at this bar (sizers' keys)
    stop_distance: float = math.nan  # price distance to the nearest stop the system's exits would place
    # every other symbol held or with an entry standing: its signed quantity, entries counted as filled
    # (what `gross_exposure_other` sums), so a limit can count the positions open besides this one
    positions_other: Mapping[str, float] = field(factory=dict, eq=False)


class PositionSizer(abc.ABC):
    """How many units a new position should have."""

    def indicators(self) -> Sequence[str]:
        """Indicator specs the sizer reads from `context.values` (`"ATR_14"`)."""
        return ()

    @abc.abstractmethod
    def size(self, context: RiskContext) -> float:
        """The wanted absolute quantity (≥ 0) of a new position in `context.symbol`."""


# Made at every close a halting limit looks at while a position is open: the timestamp is looked up only
# when read (a pandas Timestamp costs microseconds), and `day` gives the calendar day without one.
@frozen(slots=False)
class AccountState:
    """One system's account at a bar's close, after that bar's fills: what a halting limit judges."""

    index: int  # the bar's position in the run's timeline; -1: before the first bar (the initial capital)
    equity: float  # cash + Σ quantity × last close
    cash: float
    gross_exposure: float  # Σ |quantity| × last close
    positions: Mapping[str, float]  # every non-zero position, signed: a read-only view to read during the call
    day: int  # the bar's calendar day in the data's own time zone, as days since 1970-01-01 (-1 before the first bar)
    timeline: pd.DatetimeIndex = field(repr=False, eq=False)  # the shared timeline, read by `timestamp`
    # capital the book moved in (out: < 0) since the account was last shown: neither a gain nor a loss, so a
    # limit measuring from a reference equity moves its reference with it (multifolio's own limits scale it)
    transfers: float = 0.0

    @property
    def timestamp(self) -> pd.Timestamp:
        """The bar's close time (the first bar's before the first bar)."""
        return self.timeline[max(self.index, 0)]


@frozen
class AccountSpan:
    """One system's account at the closes of a span of bars over which nothing fills and no capital moves (cash and
    positions stand still): the `AccountState`s a halting limit would be shown one after the other, as arrays."""

    first: int  # the first bar's position in the run's timeline
    equity: np.ndarray  # at each bar's close, summed as AccountState's is
    cash: float
    gross_exposure: np.ndarray
    positions: Mapping[str, float]  # every non-zero position, signed (read-only)
    days: np.ndarray  # each bar's calendar day, as AccountState's `day`
    timeline: pd.DatetimeIndex = field(repr=False, eq=False)  # the shared timeline

    def __len__(self) -> int:
        return len(self.equity)

    def account(self, position: int) -> AccountState:
        """The account at the close of the span's bar `position` (from 0), as `breached` is shown it."""
        return AccountState(self.first + position, float(self.equity[position]), self.cash,
                            float(self.gross_exposure[position]), self.positions, int(self.days[position]),
                            self.timeline)

    def part(self, start: int, stop: int) -> AccountSpan:
        """The accounts at positions `start` to `stop` − 1 of the span, as a span of their own."""
        return AccountSpan(self.first + start, self.equity[start:stop], self.cash, self.gross_exposure[start:stop],
                           self.positions, self.days[start:stop], self.timeline)


class RiskLimit(abc.ABC):
    """A cap on positions; orders that break it are reduced to fit, or rejected.

    A limit may also watch the whole account (a *halting* limit): it overrides `breached`
    and sets `action` (`FLATTEN` or `BLOCK`). `breached` is asked once before the first
    bar (index −1, the initial capital), then at the close of every bar at which the account
    may have changed (a position held, a fill, a block in force): bars it is not asked about
    left the equity as it was. While the limit blocks entries, the block is lifted at the
    first close at which `breached` answers None.

    A halting limit that also implements `first_breach` and `seen` looks ahead: while a position is held and nothing
    fills, a system whose strategy states its signals goes from event to event over the closes it would answer None
    at, instead of showing it every close (`looks_ahead`).
    """

    #: FLATTEN or BLOCK for a halting limit; None for a limit that only caps positions.
    action: str | None = None

    @abc.abstractmethod
    def max_position(self, context: RiskContext) -> float:
        """The largest absolute quantity of `context.symbol` this limit allows (≥ 0,
        `math.inf` for none)."""

    def breached(self, account: AccountState) -> str | None:
        """Why the account breaks this limit now (a sentence for the halt's record), or None."""
        return None

    @classmethod
    def halts(cls) -> bool:
        """True when the class watches the account (it implements `breached`)."""
        return cls.breached is not RiskLimit.breached

    def first_breach(self, accounts: AccountSpan) -> int:
        """Where in `accounts` (from 0) `breached`, shown each account in turn from where this limit stands, would
        first answer something other than None; `len(accounts)` when it would answer None at every one. This
        limit is left as it is: it only looks."""
        raise NotImplementedError

    def seen(self, accounts: AccountSpan) -> None:
        """This limit as it would be after `breached` was shown each of `accounts` in turn, answering None at every
        one (the accounts come before the first breach that `first_breach` found)."""
        raise NotImplementedError

    @classmethod
    def looks_ahead(cls) -> bool:
        """True when the class implements `first_breach` and `seen`."""
        return cls.first_breach is not RiskLimit.first_breach and cls.seen is not RiskLimit.seen

    def describe(self) -> str:
        """How a reduction by this limit is explained in `orders.csv`."""
        return type(self).__name__


class SlippageModel(abc.ABC):
    """Moves fill prices against the trader."""

    @abc.abstractmethod
    def fill_price(self, price: float, quantity: float) -> float:
        """The price paid (`quantity` > 0) or received (< 0) for a market order at `price`."""


class CommissionModel(abc.ABC):
    """What the broker charges per fill."""

    @abc.abstractmethod
    def commission(self, quantity: float, price: float) -> float:
        """Currency charged for filling `quantity` (signed) at `price`; ≥ 0."""


class DataSource(abc.ABC):
    """Loads bars for the whole run (shared by every system).

    Constructor keywords are the YAML `data` keys other than `source`.
    """

    @abc.abstractmethod
    def load(self) -> pd.DataFrame:
        """A frame with `BAR_COLUMNS` (timestamp tz-naive or all one zone); it may add a
        `line` column (the row's line in its file) and a `file` column (the file, when rows come
        from several) so errors can point at them. Text timestamps are parsed file by file."""

    def describe(self) -> str:
        """One line for plans and manifests, e.g. the file read."""
        return type(self).__name__

    def files(self) -> list[Path]:
        """The files the bars come from, fingerprinted in the run manifest (none for generated data)."""
        return []



@frozen
class AllocationContext:
    """What an allocator knows at one rebalance of the book's capital between its systems."""

    timestamp: pd.Timestamp  # the bar boundary of the rebalance: the new weights apply from this bar on
    systems: tuple[str, ...]  # the systems to allocate between, in config order
    # Each system's time-weighted per-bar returns over the lookback (transfers in and out of the
    # system excluded): one column per system in `systems` order, one row per bar, oldest first.
    # It may have 0 rows (the first allocation) and holds NaN where a system was not yet active.
    returns: pd.DataFrame = field(eq=False)
    # The current weights: each system's share of the book's equity, indexed by `systems`.
    weights: pd.Series = field(eq=False)


class Allocator(abc.ABC):
    """Splits the book's capital between its trading systems at each rebalance (one per book).

    Constructor keywords are the YAML keys of the allocation method beside `type`; validate
    them there and raise `ConfigError(parameter, message)` on a bad value. `weights` is called
    with the bars up to the rebalance only, and must give the same weights for the same context.
    """

    @abc.abstractmethod
    def weights(self, context: AllocationContext) -> Mapping[str, float]:
        """Target weight of each system (≥ 0, summing to ≤ 1; what is left stays as the book's cash).

        Keys are names from `context.systems`; a system left out gets 0. Weights are finite, and
        their sum may exceed 1 by rounding only (at most 1e-9).
        """


@frozen
class SystemView:
    """One system as a controller sees it at a bar boundary (the closes of the bar before)."""

    name: str
    state: str  # "dormant" (waits to be started), "active", or "stopped" (retired, halted or failed)
    equity: float  # cash + positions at the last closes (0 for a dormant system the book funds)
    positions: Mapping[str, float]


class BookView(abc.ABC):
    """What a controller sees and does at one bar boundary: every system of the run, and two actions."""

    @property
    @abc.abstractmethod
    def timestamp(self) -> pd.Timestamp:
        """The bar about to be stepped; what the controller sees is as of the bar before it."""

    @property
    @abc.abstractmethod
    def systems(self) -> Mapping[str, SystemView]:
        """Every system of the run by name, in config order."""

    @abc.abstractmethod
    def start(self, name: str) -> None:
        """Start a dormant system (`portfolio.active: {start: controller}`) at this bar: the allocation, if
        any, funds it now; it trades from this bar on."""

    @abc.abstractmethod
    def retire(self, name: str) -> None:
        """Retire an active system: everything it holds is closed at this bar's open and it trades no more;
        the allocation, if any, takes its capital back once it is flat."""


class Controller(abc.ABC):
    """Adds and retires a run's systems at bar boundaries, as a fund manager would (one per run).

    Constructor keywords are the YAML keys of the top-level `controller:` beside `type`. `on_bar` is
    called at every bar boundary before any system steps that bar; it sees the closes of the bar
    before, never a later one. Every start and retirement is recorded in the book's events.
    """

    @abc.abstractmethod
    def on_bar(self, book: BookView) -> None:
        """Look at the systems and start or retire some of them, or do nothing."""

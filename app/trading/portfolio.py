"""One system's own account: cash, positions, open lots and closed trades (one per system)."""

from __future__ import annotations

import bisect
from array import array
from collections import deque
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from attrs import define, frozen

from multifolio.data.market import MarketData
from multifolio.trading.events import OrderFilled
from multifolio.trading.frames import OPEN_LOT_COLUMNS, TRADE_COLUMNS, typed, typed_frame


@define(slots=True)
class Lot:
    """Units bought (or sold short) in one fill and not yet closed; closed first in, first out."""

    quantity: float  # signed, shrinks toward 0 as it is closed
    price: float
    index: int  # the timeline index of the entry fill (its time is looked up once, for the results)
    bar: int  # the symbol's own bar number of the entry fill
    commission: float  # the entry commission not yet assigned to a closed trade
    slippage: float


class Trade(NamedTuple):
    """A closed (part of a) lot: one row of trades.csv, its times as timeline indices (`Portfolio.trades`; the
    portfolio keeps its trades a field at a time, `Portfolio.trades_frame` turns indices into times once)."""

    symbol: str
    side: str  # "long" or "short"
    quantity: float  # > 0
    entry_index: int  # the timeline index of the entry fill: trades.csv's entry_time
    entry_price: float
    exit_index: int  # and of the exit fill: exit_time
    exit_price: float
    bars_held: int
    gross_pnl: float
    commission: float  # entry and exit commission of these units
    slippage: float  # entry and exit slippage cost of these units (already inside the prices)
    net_pnl: float  # gross_pnl - commission
    return_pct: float  # price return on the side held, before costs
    exit_reason: str  # the closing order's cause: signal, stop_loss, take_profit, trailing_stop, max_bars, ...
    entry_bar: int  # the symbol's own bar numbers of the fills, for the excursions (mae, mfe)
    exit_bar: int


# how the portfolio keeps its closed trades (a busy system closes tens of thousands): the text fields in one list,
# the numbers, whole ones too (exact below 2**53), in one float64 array, each trade's in `_TRADE_NUMBERS` order:
# 128 bytes a trade, where a tuple of boxed numbers took about 450
_TRADE_TEXTS = ("symbol", "side", "exit_reason")
_TRADE_NUMBERS = tuple(field for field in Trade._fields if field not in _TRADE_TEXTS)
_TRADE_COUNTS = ("entry_index", "exit_index", "bars_held", "entry_bar", "exit_bar")


class Portfolio:
    """Receives `order_filled`; keeps the ledger exact.

    Marking to market is lazy: the ledger records each change (bar, cash, position)
    and `equity_steps().frame()` marks every bar at its close afterwards, which gives
    the same numbers as marking each bar but costs nothing on bars without fills.
    """

    def __init__(self, *, market: MarketData, namespace: str, initial_capital: float) -> None:
        self._market = market
        self.namespace = namespace
        self.initial_capital = float(initial_capital)
        self.cash = self.initial_capital
        self._positions: dict[str, float] = {}
        self.held = MappingProxyType(self._positions)  # the positions, live and read-only: no copy per bar
        self._lots: dict[str, deque[Lot]] = {symbol: deque() for symbol in market.symbols}
        self._trade_texts: list[str] = []
        self._trade_numbers = array("d")
        # each change of the ledger (a fill, a transfer): its bar and the cash after it, and per symbol the
        # bars of its fills and the position after each; bisected for a look at a few bars (`equity_between`)
        # (typed arrays: 8 bytes a number, where a list holds a pointer and a boxed number, 32 to 36)
        self._change_bars = array("q")
        self._cash_after = array("d")
        self._symbol_changes = {symbol: (array("q"), array("d")) for symbol in market.symbols}
        self._transfers: list[tuple[int, float]] = []  # (bar index, amount in): capital moved by the book
        # each symbol's last close at every timeline index (the shared arrays): marking reads one value
        self._closes = {symbol: memoryview(market.closes_filled(symbol)) for symbol in market.symbols}

    # ------------------------------------------------------------------ queries

    def position(self, symbol: str) -> float:
        return self._positions.get(symbol, 0.0)

    def positions(self) -> dict[str, float]:
        """Every non-zero position, by symbol."""
        return dict(self._positions)

    def open_lots(self, symbol: str) -> tuple[Lot, ...]:
        return tuple(self._lots[symbol])

    def equity_at(self, index: int) -> float:
        """Cash plus every position at its last close at timeline index `index` (before the first bar,
        index −1: the cash; nothing can be held yet)."""
        if index < 0:
            return self.cash
        closes = self._closes
        return self.cash + sum(q * closes[s][index] for s, q in self._positions.items())

    def gross_exposure_at(self, index: int, excluding: str = "") -> float:
        """Σ |quantity| × last close over the positions, leaving out `excluding`."""
        closes, exposure = self._closes, 0
        for symbol, quantity in self._positions.items():  # a loop, not sum(generator): it runs at every entry
            if symbol != excluding:
                exposure += abs(quantity) * closes[symbol][index]
        return exposure

    def free_cash_at(self, index: int) -> float:
        """What the book can take without touching a position: equity beyond the gross position value (for
        a long-only book, its cash; short proceeds back their shorts)."""
        return max(0.0, self.equity_at(index) - self.gross_exposure_at(index))

    def release_records(self) -> None:
        """Let the closed trades and the ledger's changes go once the system has ended and its result holds them
        (`trades_frame`, `equity_steps`): 4 MB a busy system at a million bars, freed as each system ends, not
        when the run does. Its trades and curve read empty after it; cash and positions stay as they are."""
        self._trade_texts, self._trade_numbers = [], array("d")
        self._change_bars, self._cash_after = array("q"), array("d")
        self._symbol_changes = {symbol: (array("q"), array("d")) for symbol in self._symbol_changes}

    # ------------------------------------------------------------------ transfers

    def transfer(self, index: int, amount: float) -> None:
        """Capital in (`amount` > 0) or out (< 0) at the boundary before bar `index`, by the book: cash
        moves, no position does, and it is neither a gain nor a loss (time-weighted returns leave it out)."""
        self.cash += amount
        self._transfers.append((index, amount))
        self._change_bars.append(index)
        self._cash_after.append(self.cash)

    # ------------------------------------------------------------------ fills

    def on_order_filled(self, fill: OrderFilled) -> None:
        self.cash -= fill.quantity * fill.price + fill.commission
        bar = self._market.last_bar(fill.symbol, fill.index)
        self._match_lots(fill, bar)
        position = self.position(fill.symbol) + fill.quantity
        if abs(position) < 1e-12 * max(1.0, abs(fill.quantity)):  # float residue of a full close
            position = 0.0
        if position:
            self._positions[fill.symbol] = position
        else:
            self._positions.pop(fill.symbol, None)
        self._change_bars.append(fill.index)
        self._cash_after.append(self.cash)
        bars, positions = self._symbol_changes[fill.symbol]
        bars.append(fill.index)
        positions.append(position)

    def _match_lots(self, fill: OrderFilled, bar: int) -> None:
        """Close open lots first in, first out; what is left of the fill opens a new lot."""
        lots = self._lots[fill.symbol]
        remaining = fill.quantity
        per_unit_commission = fill.commission / abs(fill.quantity)
        per_unit_slippage = fill.slippage / abs(fill.quantity)
        while lots and remaining and (lots[0].quantity > 0) != (remaining > 0):
            lot = lots[0]
            units = min(abs(remaining), abs(lot.quantity))
            share = units / abs(lot.quantity)
            entry_commission, entry_slippage = lot.commission * share, lot.slippage * share
            sign = 1.0 if lot.quantity > 0 else -1.0
            gross = (fill.price - lot.price) * units * sign
            commission = entry_commission + per_unit_commission * units
            self._trade_texts.extend((fill.symbol, "long" if sign > 0 else "short", fill.cause))
            self._trade_numbers.extend((  # in _TRADE_NUMBERS order
                units, lot.index, lot.price, fill.index, fill.price, bar - lot.bar, gross, commission,
                entry_slippage + per_unit_slippage * units, gross - commission, (fill.price / lot.price - 1.0) * sign,
                lot.bar, bar))
            if units == abs(lot.quantity):
                lots.popleft()
            else:
                lot.quantity -= units * sign
                lot.commission -= entry_commission
                lot.slippage -= entry_slippage
            remaining += units * sign
        if remaining:
            lots.append(Lot(remaining, fill.price, fill.index, bar,
                            per_unit_commission * abs(remaining), per_unit_slippage * abs(remaining)))

    # ------------------------------------------------------------------ results

    def equity_between(self, first: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """The equity at the closes of bars `first` to `stop` − 1 (the numbers of `equity_steps().frame()`)
        and the capital the book moved in at each, read from the changes of those bars only (and what was in
        force before them): a look-back costs its own bars, not the whole run's."""
        cash = self._steps_between(first, stop, self._change_bars, self._cash_after, self.initial_capital)
        position_value = np.zeros(stop - first)
        for symbol, (bars, positions) in self._symbol_changes.items():
            if bars and bars[0] < stop:
                quantities = self._steps_between(first, stop, bars, positions, 0.0)
                held = quantities != 0.0  # 0 × NaN (no close yet) must stay 0
                position_value[held] += quantities[held] * self._market.closes_filled(symbol)[first:stop][held]
        transfers = np.zeros(stop - first)
        for bar, amount in self._transfers[bisect.bisect_left(self._transfers, (first, -np.inf)):]:
            if bar >= stop:
                break
            transfers[bar - first] += amount
        return cash + position_value, transfers

    @staticmethod
    def _steps_between(first: int, stop: int, bars: array, values: array, start: float) -> np.ndarray:
        lo, hi = bisect.bisect_left(bars, first), bisect.bisect_left(bars, stop)
        return _step_values(first, stop, np.asarray(bars[max(lo - 1, 0):hi], dtype=np.int64),
                            np.asarray(values[max(lo - 1, 0):hi], dtype=np.float64), start)

    def equity_steps(self, bars: int | None = None) -> EquitySteps:
        """The ledger's changes over the first `bars` bars (all of them by default), from which
        `EquitySteps.frame()` draws the curve."""
        n = len(self._market) if bars is None else bars
        holdings = {symbol: (np.array(fill_bars, dtype=np.int64), np.array(positions, dtype=np.float64),
                             self._market.closes_filled(symbol))
                    for symbol, (fill_bars, positions) in self._symbol_changes.items() if fill_bars}
        transfers = None
        if self._transfers:
            transfers = (np.array([index for index, _ in self._transfers], dtype=np.int64),
                         np.array([amount for _, amount in self._transfers], dtype=np.float64))
        return EquitySteps(timeline=self._market.timestamps, bars=n, initial_capital=self.initial_capital,
                           indices=np.array(self._change_bars, dtype=np.int64),
                           cash=np.array(self._cash_after, dtype=np.float64), holdings=holdings, transfers=transfers)

    def open_lots_frame(self) -> pd.DataFrame:
        """The lots still open, oldest first per symbol, with the entry costs not yet in a trade."""
        timeline = self._market.timeline
        rows = [[symbol, lot.quantity, timeline[lot.index], lot.price, lot.commission, lot.slippage]
                for symbol, lots in self._lots.items() for lot in lots]
        return typed_frame(rows, OPEN_LOT_COLUMNS, self._market.timestamps.dtype)

    @property
    def trades(self) -> list[Trade]:
        """The closed trades, in the order they closed (made anew at each read)."""
        columns = self._trade_columns()
        return [Trade(*row) for row in zip(*(columns[field].tolist() if field not in _TRADE_TEXTS else columns[field]
                                             for field in Trade._fields))]

    def _trade_columns(self) -> dict[str, Any]:
        """Each field of the closed trades: text as lists, numbers as arrays (whole ones as int64)."""
        numbers = np.array(self._trade_numbers, dtype=np.float64).reshape(-1, len(_TRADE_NUMBERS))
        texts = self._trade_texts
        columns: dict[str, Any] = {field: texts[k::len(_TRADE_TEXTS)] for k, field in enumerate(_TRADE_TEXTS)}
        for k, field in enumerate(_TRADE_NUMBERS):
            columns[field] = numbers[:, k].astype(np.int64) if field in _TRADE_COUNTS else numbers[:, k]
        return columns

    def trades_frame(self) -> pd.DataFrame:
        """The closed trades, in the order they closed: trades.csv."""
        columns = self._trade_columns()
        for time, index in (("entry_time", "entry_index"), ("exit_time", "exit_index")):
            columns[time] = self._market.timestamps[columns[index]]
        columns["mae"], columns["mfe"] = self._excursions(columns)
        return typed(pd.DataFrame({column: columns[column] for column in TRADE_COLUMNS}, columns=list(TRADE_COLUMNS)),
                     TRADE_COLUMNS, self._market.timestamps.dtype)

    def _excursions(self, columns: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """Each trade's worst and best price return on the side held: over its entry and exit prices and the
        highs and lows of the bars strictly between its entry's bar and its exit's (a bar of the fills
        themselves was held only in part, in an order within it that the bar does not tell). All trades of a
        symbol at once: a segment minimum per trade (`reduceat`), not a slice per trade in the fill loop."""
        symbols = np.array(columns["symbol"], dtype=object)
        worst, best = np.zeros(len(symbols)), np.zeros(len(symbols))
        for symbol in dict.fromkeys(columns["symbol"]):
            rows = np.flatnonzero(symbols == symbol)
            entry, exit_ = columns["entry_price"][rows], columns["exit_price"][rows]
            starts, ends = columns["entry_bar"][rows] + 1, columns["exit_bar"][rows]
            held = starts < ends  # some bar lies strictly between the fills
            low, high = np.minimum(entry, exit_), np.maximum(entry, exit_)
            if held.any():
                arrays = self._market.series[symbol].arrays
                bounds = np.column_stack((starts[held], ends[held])).ravel()
                low[held] = np.minimum(low[held], np.minimum.reduceat(arrays["low"], bounds)[::2])
                high[held] = np.maximum(high[held], np.maximum.reduceat(arrays["high"], bounds)[::2])
            sign = np.where(np.array(columns["side"], dtype=object)[rows] == "long", 1.0, -1.0)
            down, up = low / entry - 1.0, high / entry - 1.0
            worst[rows] = np.where(sign > 0, down, -up)
            best[rows] = np.where(sign > 0, up, -down)
        return worst, best


@frozen
class EquitySteps:
    """A portfolio's cash and holdings as steps, one per fill; the curve is drawn from them on demand.

    The curve is a row per bar (32 MB a system at a million bars), the steps a row per
    fill: a parallel run's workers send these back, with the run's timeline and closes
    (the same arrays for every system, so sent once per chunk), and the caller draws.
    """

    timeline: pd.DatetimeIndex  # the run's, whole
    bars: int  # the curve covers the first `bars` bars of the timeline
    initial_capital: float
    indices: np.ndarray  # the bar of each change, ascending
    cash: np.ndarray  # the cash after each change
    holdings: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]  # symbol → (its changes' bars, the position
    # after each, its close at every bar carried forward), for each symbol ever held
    transfers: tuple[np.ndarray, np.ndarray] | None = None  # (bars, amounts in) of the book's transfers, if any

    def frame(self, first: int = 0, stop: int | None = None) -> pd.DataFrame:
        """Cash, position value and equity at the close of each bar, after that bar's fills; with transfers,
        the capital each bar received (out: negative) at its start. Bars `first` to `stop` − 1 (default: all),
        in rows numbered from 0."""
        stop = self.bars if stop is None else min(stop, self.bars)
        first = min(first, stop)
        frame = pd.DataFrame({"timestamp": self.timeline[first:stop], **self.window(first, stop)}, copy=False)
        if self.transfers is None:
            del frame["transfers"]
        return frame

    def positions(self) -> pd.DataFrame:
        """The quantity held of each symbol ever held at the close of each bar, after that bar's fills: a column
        per symbol (in the order first held), a row per bar indexed by time."""
        return pd.DataFrame({symbol: _step_values(0, self.bars, indices, positions, 0.0)
                             for symbol, (indices, positions, _) in self.holdings.items()},
                            index=self.timeline[:self.bars].rename("timestamp"), columns=list(self.holdings))

    def window(self, first: int, stop: int) -> dict[str, np.ndarray]:
        """`cash`, `position_value`, `equity` and `transfers` at bars `first` to `stop` − 1."""
        cash = _step_values(first, stop, self.indices, self.cash, self.initial_capital)
        position_value = np.zeros(stop - first)
        for indices, positions, closes in self.holdings.values():
            quantities = _step_values(first, stop, indices, positions, 0.0)
            held = quantities != 0.0  # 0 × NaN (no close yet) must stay 0
            position_value[held] += quantities[held] * closes[first:stop][held]
        transfers = np.zeros(stop - first)
        if self.transfers is not None:
            bars, amounts = self.transfers
            inside = (bars >= first) & (bars < stop)
            np.add.at(transfers, bars[inside] - first, amounts[inside])
        return {"cash": cash, "position_value": position_value, "equity": cash + position_value,
                "transfers": transfers}


def _step_values(first: int, stop: int, indices: np.ndarray, values: np.ndarray, start: float) -> np.ndarray:
    """The series at bars `first` to `stop` − 1 that is `start` until the first index, then each value from
    its index on (indices ascending; of several at one index the last wins)."""
    before = np.searchsorted(indices, first, side="left")  # changes before `first`: the last is in force there
    start = values[before - 1] if before else start
    inside = slice(before, np.searchsorted(indices, stop, side="left"))
    indices, values = indices[inside] - first, values[inside]
    series = np.full(stop - first, start)
    if len(indices):
        changes = np.zeros(stop - first, dtype=np.int64)  # 1 + the position in `values` of the change in force
        changes[indices] = np.arange(1, len(indices) + 1)
        np.maximum.accumulate(changes, out=changes)
        known = np.concatenate(([start], values))
        series = known[changes]
    return series

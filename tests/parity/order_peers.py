"""The SMA(10, 30) crossover with orders beyond market ones, written the way each peer's users write it.

- backtesting.py: entries carrying a stop-loss and a take-profit, either given at the order
  (`self.buy(size=, sl=, tp=)`, levels from the signal's close) or set on the trade once it is open
  (`trade.sl = ...` in `next()`, levels from its entry price).
- backtrader: Limit, Stop or StopLimit entries at an offset from the signal's close with a validity,
  or market entries; a StopTrail placed in `notify_order` when an entry fills; a cross below cancels
  what stands and closes the position.

Each returns a frame of round trips (entry/exit time and price, quantity; backtrader also the exit's
reason, told by which order filled) for row-by-row comparison with multifolio. Both peers compute their
SMAs with TA-Lib, as multifolio does (tests/parity/peers.py says why: no exact ties on these data).
"""

from __future__ import annotations

import warnings

import backtrader as bt
import pandas as pd
import talib as ta
from backtesting import Backtest, Strategy
from backtesting.lib import crossover

from tests.parity.peers import CASH, FAST, SLOW, TRADE_COLUMNS

REASON_COLUMNS = [*TRADE_COLUMNS, "exit_reason"]


# ---------------------------------------------------------------- backtesting.py

class BacktestingSmaBracket(Strategy):
    """Buys `size` on a cross above with a stop `sl` and a target `tp` (fractions) under and over a price;
    closes on a cross below. `from_fill`: the levels come from the trade's entry price, set in the first
    `next()` that sees the trade; otherwise from the signal's close, given with the order."""

    size = 100
    sl = 0.02
    tp = 0.04
    from_fill = False

    def init(self):
        self.fast = self.I(ta.SMA, self.data.Close, FAST)
        self.slow = self.I(ta.SMA, self.data.Close, SLOW)

    def next(self):
        for trade in self.trades:
            if trade.sl is None and self.from_fill:
                trade.sl = trade.entry_price * (1 - self.sl)
                trade.tp = trade.entry_price * (1 + self.tp)
        if crossover(self.fast, self.slow):
            close = self.data.Close[-1]
            if self.from_fill:
                self.buy(size=self.size)
            else:
                self.buy(size=self.size, sl=close * (1 - self.sl), tp=close * (1 + self.tp))
        elif crossover(self.slow, self.fast):
            self.position.close()


def run_backtesting_bracket(data: pd.DataFrame, *, size: int, sl: float, tp: float, from_fill: bool,
                            trade_on_close: bool, strategy: type[Strategy] = BacktestingSmaBracket) -> pd.DataFrame:
    """The round trips, with the stop and target levels each trade had (columns `sl`, `tp`)."""
    backtest = Backtest(data, strategy, cash=CASH, trade_on_close=trade_on_close, exclusive_orders=False,
                        finalize_trades=False)
    with warnings.catch_warnings():  # "a contingent SL/TP order would execute in the same bar": what we test
        warnings.simplefilter("ignore", UserWarning)
        stats = backtest.run(size=size, sl=sl, tp=tp, from_fill=from_fill)
    trades = stats["_trades"]
    return pd.DataFrame({"entry_time": trades["EntryTime"], "exit_time": trades["ExitTime"],
                         "entry_price": trades["EntryPrice"], "exit_price": trades["ExitPrice"],
                         "quantity": trades["Size"].abs().astype(float), "sl": trades["SL"],
                         "tp": trades["TP"]}).reset_index(drop=True)


# ---------------------------------------------------------------- backtrader

class BacktraderSmaOrders(bt.Strategy):
    """Buys `size` on a cross above with an `entry` order: market, limit (`offset_bps` under the close),
    stop (over it) or stop_limit (stop `offset_bps`, limit `limit_bps` over the close), valid `valid_bars`
    bars; trails a filled entry with a StopTrail (`trail_percent` or `trail_amount`); on a cross below
    cancels what stands and closes."""

    params = (("entry", "market"), ("offset_bps", 0.0), ("limit_bps", 0.0), ("valid_bars", None),
              ("timeline", None), ("size", 100), ("trail_percent", None), ("trail_amount", None),
              ("trail_from", "close"))

    def __init__(self):
        fast = bt.talib.SMA(self.data.close, timeperiod=FAST)
        slow = bt.talib.SMA(self.data.close, timeperiod=SLOW)
        self.crossover = bt.ind.CrossOver(fast, slow)
        self.entry = self.trail = None
        self.fills: list[tuple[pd.Timestamp, float, float, str]] = []  # time, price, signed size, cause
        self.expired: list[tuple[pd.Timestamp, pd.Timestamp]] = []  # entries: placed at, expired at

    def _time(self, num: float) -> pd.Timestamp:
        return pd.Timestamp(bt.num2date(num))

    def notify_order(self, order):
        # the broker notifies copies: orders are told apart by `==` (their ref), never `is`
        if order.status == order.Completed:
            cause = "trailing_stop" if order == self.trail else "signal"
            self.fills.append((self._time(order.executed.dt), order.executed.price, order.executed.size, cause))
            if order == self.entry and (self.p.trail_percent or self.p.trail_amount):
                self.trail = self.sell(size=order.executed.size, exectype=bt.Order.StopTrail,
                                       trailpercent=self.p.trail_percent, trailamount=self.p.trail_amount,
                                       **self._trail_reference(order))
        elif order.status == order.Expired:
            self.expired.append((self._time(order.created.dt), self._time(self.data.datetime[0])))
        if not order.alive():
            if order == self.entry:
                self.entry = None
            if order == self.trail:
                self.trail = None

    def _trail_reference(self, entry) -> dict:
        """backtrader trails from the close of the bar the StopTrail is created in (here the entry's bar)
        unless given `price`; `trail_from="fill"` gives it the best of the fill and that close."""
        if self.p.trail_from == "fill":
            return {"price": max(entry.executed.price, self.data.close[0])}
        return {}

    def next(self):
        if self.crossover > 0 and not self.position and self.entry is None:
            self.entry = self._buy(self.data.close[0])
        elif self.crossover < 0:
            for order in (self.entry, self.trail):
                if order is not None:
                    self.cancel(order)
            if self.position:
                self.close()

    def _buy(self, close: float):
        offset = self.p.offset_bps / 10_000
        valid = {}
        if self.p.valid_bars is not None:
            # `valid` is a time: good through the bar at that time. N bars of the symbol are good through
            # the time of the N-th bar after this one (none beyond the data: good to its end)
            last = len(self) - 1 + self.p.valid_bars
            if last < len(self.p.timeline):
                valid = {"valid": self.p.timeline[last].to_pydatetime()}
        if self.p.entry == "market":
            return self.buy(size=self.p.size)
        if self.p.entry == "limit":
            return self.buy(size=self.p.size, exectype=bt.Order.Limit, price=close * (1 - offset), **valid)
        if self.p.entry == "stop":
            return self.buy(size=self.p.size, exectype=bt.Order.Stop, price=close * (1 + offset), **valid)
        return self.buy(size=self.p.size, exectype=bt.Order.StopLimit, price=close * (1 + offset),
                        plimit=close * (1 + self.p.limit_bps / 10_000), **valid)


def run_backtrader_orders(data: pd.DataFrame, **params) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The round trips with their exit reasons, and the entries that expired (placed, expired)."""
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=data))
    cerebro.addstrategy(BacktraderSmaOrders, timeline=data.index, **params)
    cerebro.broker.setcash(CASH)
    # backtrader's `cancel` reaches only orders already in its pending queue; with the default checksubmit an
    # order made in this bar (a StopTrail placed in notify_order) waits in another queue until the next bar,
    # so a cross below in the entry's own bar could not cancel it: it would fill after the close, going short
    cerebro.broker.set_checksubmit(False)
    [strategy] = cerebro.run()
    rows, entry = [], None
    for time, price, size, cause in strategy.fills:
        if entry is None:
            assert size > 0, f"a sell at {time} with no position: the peer went short"
            entry = (time, price, size)
        else:
            assert size == -entry[2], f"the exit at {time} is not the entry's size"
            rows.append([entry[0], time, entry[1], price, float(entry[2]), cause])
            entry = None
    expired = pd.DataFrame(strategy.expired, columns=["submitted_time", "cancelled_time"])
    return pd.DataFrame(rows, columns=REASON_COLUMNS), expired

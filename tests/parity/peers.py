"""The common SMA(10, 30) crossover written the way each peer's users write it.

Each returns a frame of round trips (entry/exit time and price, quantity) and the
final equity, so the three engines can be compared row for row.

By default each peer computes its SMAs its own way (pandas rolling means, backtrader's
SMA). With `talib=True` both use TA-Lib, as their documentation also shows: on prices
on a cent grid the fast and slow averages can be exactly equal, and then the engines'
last-bit rounding and their rules for ties (backtesting.py's `crossover` needs a strict
change, backtrader and multifolio keep the last non-equal sign) decide whether a cross
happened. Sharing TA-Lib's numbers leaves no exact ties (the benchmark uses this).
"""

from __future__ import annotations

import backtrader as bt
import pandas as pd
import talib as ta
from backtesting import Backtest, Strategy
from backtesting.lib import crossover

FAST, SLOW, SIZE, CASH = 10, 30, 100, 1_000_000
TRADE_COLUMNS = ["entry_time", "exit_time", "entry_price", "exit_price", "quantity"]


# ---------------------------------------------------------------- backtesting.py

def _sma(values, n):
    return pd.Series(values).rolling(n).mean()


class BacktestingSmaCross(Strategy):
    """backtesting.py's own idiom: `self.I` indicators and `crossover`."""

    talib = False

    def init(self):
        sma = (lambda values, n: ta.SMA(values, n)) if self.talib else _sma
        self.fast = self.I(sma, self.data.Close, FAST)
        self.slow = self.I(sma, self.data.Close, SLOW)

    def next(self):
        if crossover(self.fast, self.slow):
            self.buy(size=SIZE)
        elif crossover(self.slow, self.fast):
            self.position.close()


def run_backtesting(data: pd.DataFrame, *, commission_per_share: float = 0.0, slippage_bps: float = 0.0,
                    trade_on_close: bool = False, talib: bool = False) -> tuple[pd.DataFrame, float]:
    commission = (lambda size, price: abs(size) * commission_per_share) if commission_per_share else 0.0
    backtest = Backtest(data, BacktestingSmaCross, cash=CASH, commission=commission, spread=slippage_bps / 10_000,
                        trade_on_close=trade_on_close, exclusive_orders=False, finalize_trades=False)
    stats = backtest.run(talib=talib)
    trades = stats["_trades"]
    frame = pd.DataFrame({"entry_time": trades["EntryTime"], "exit_time": trades["ExitTime"],
                          "entry_price": trades["EntryPrice"], "exit_price": trades["ExitPrice"],
                          "quantity": trades["Size"].abs().astype(float)})
    return frame.reset_index(drop=True), float(stats["Equity Final [$]"])


# ---------------------------------------------------------------- backtrader

class BacktraderSmaCross(bt.Strategy):
    """backtrader's own idiom: a CrossOver indicator, `buy` and `close`; fills recorded."""

    params = (("talib", False),)

    def __init__(self):
        if self.p.talib:
            fast, slow = bt.talib.SMA(self.data.close, timeperiod=FAST), bt.talib.SMA(self.data.close, timeperiod=SLOW)
        else:
            fast, slow = bt.ind.SMA(period=FAST), bt.ind.SMA(period=SLOW)
        self.crossover = bt.ind.CrossOver(fast, slow)
        self.fills: list[tuple[pd.Timestamp, float, float]] = []

    def notify_order(self, order):
        if order.status == order.Completed:
            self.fills.append((pd.Timestamp(bt.num2date(order.executed.dt)), order.executed.price,
                               order.executed.size))

    def next(self):
        if self.crossover > 0:
            self.buy(size=SIZE)
        elif self.crossover < 0 and self.position:
            self.close()


def run_backtrader(data: pd.DataFrame, *, commission_per_share: float = 0.0, slippage_bps: float = 0.0,
                   cheat_on_close: bool = False, talib: bool = False) -> tuple[pd.DataFrame, float]:
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=data))
    cerebro.addstrategy(BacktraderSmaCross, talib=talib)
    cerebro.broker.setcash(CASH)
    if commission_per_share:
        cerebro.broker.setcommission(commission=commission_per_share, commtype=bt.CommInfoBase.COMM_FIXED,
                                     stocklike=True)
    if slippage_bps:
        # slip_out=True: like multifolio, the slipped price may leave the bar's range
        cerebro.broker.set_slippage_perc(slippage_bps / 10_000, slip_open=True, slip_match=True, slip_out=True)
    cerebro.broker.set_coc(cheat_on_close)
    [strategy] = cerebro.run()
    rows, entry = [], None
    for time, price, size in strategy.fills:
        if size > 0:
            entry = (time, price, size)
        else:
            rows.append([entry[0], time, entry[1], price, float(entry[2])])
    return pd.DataFrame(rows, columns=TRADE_COLUMNS), float(cerebro.broker.getvalue())

"""The SMA(10, 30) crossover as backtrader's users write it (tests/parity/peers.py says how the peers
compare). A module of its own so that a process timing backtrader imports backtrader alone."""

from __future__ import annotations

import backtrader as bt
import pandas as pd

from tests.parity.workload import CASH, FAST, SIZE, SLOW, TRADE_COLUMNS


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

"""The SMA(10, 30) crossover as backtesting.py's users write it (tests/parity/peers.py says how the peers
compare). A module of its own so that a process timing backtesting.py imports backtesting.py alone."""

from __future__ import annotations

import pandas as pd
import talib as ta
from backtesting import Backtest, Strategy
from backtesting.lib import crossover

from tests.parity.workload import CASH, FAST, SIZE, SLOW


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


def backtesting_backtest(data: pd.DataFrame, *, commission_per_share: float = 0.0, slippage_bps: float = 0.0,
                         trade_on_close: bool = False) -> Backtest:
    commission = (lambda size, price: abs(size) * commission_per_share) if commission_per_share else 0.0
    return Backtest(data, BacktestingSmaCross, cash=CASH, commission=commission, spread=slippage_bps / 10_000,
                    trade_on_close=trade_on_close, exclusive_orders=False, finalize_trades=False)


def run_backtesting(data: pd.DataFrame, *, commission_per_share: float = 0.0, slippage_bps: float = 0.0,
                    trade_on_close: bool = False, talib: bool = False) -> tuple[pd.DataFrame, float]:
    stats = backtesting_backtest(data, commission_per_share=commission_per_share, slippage_bps=slippage_bps,
                                 trade_on_close=trade_on_close).run(talib=talib)
    return backtesting_trades(stats), float(stats["Equity Final [$]"])


def backtesting_trades(stats: pd.Series) -> pd.DataFrame:
    """The round trips of a backtesting.py run's statistics, as the other engines' are compared."""
    trades = stats["_trades"]
    frame = pd.DataFrame({"entry_time": trades["EntryTime"], "exit_time": trades["ExitTime"],
                          "entry_price": trades["EntryPrice"], "exit_price": trades["ExitPrice"],
                          "quantity": trades["Size"].abs().astype(float)})
    return frame.reset_index(drop=True)

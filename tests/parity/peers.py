"""The common SMA(10, 30) crossover written the way each peer's users write it.

Each returns a frame of round trips (entry/exit time and price, quantity) and the
final equity, so the three engines can be compared row for row.

By default each peer computes its SMAs its own way (pandas rolling means, backtrader's
SMA). With `talib=True` both use TA-Lib, as their documentation also shows: on prices
on a cent grid the fast and slow averages can be exactly equal, and then the engines'
last-bit rounding and their rules for ties (backtesting.py's `crossover` needs a strict
change, backtrader and multifolio keep the last non-equal sign) decide whether a cross
happened. Sharing TA-Lib's numbers leaves only true ties, where the two rules differ (the
synthetic 1-minute bars have their first on 2024-01-26 13:33; bench/time_to_result.py accounts for
them by computing either rule's trades directly).

Each peer's strategy is in a module of its own (backtesting_peer, backtrader_peer), so that a
process timing one peer imports that peer alone; this module puts them side by side.
"""

from __future__ import annotations

from tests.parity.backtesting_peer import (  # noqa: F401 (re-exported: the peers side by side)
    BacktestingSmaCross,
    backtesting_backtest,
    backtesting_trades,
    run_backtesting,
)
from tests.parity.backtrader_peer import BacktraderSmaCross, run_backtrader  # noqa: F401
from tests.parity.workload import CASH, FAST, SIZE, SLOW, TRADE_COLUMNS  # noqa: F401

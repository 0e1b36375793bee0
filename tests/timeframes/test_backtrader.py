"""Against backtrader's `resampledata` (daily GOOG to weeks): its weekly SMA equals ours one daily bar later.

backtrader cannot know a week is over until a bar of the next week arrives, so it shows a week's value from
the next week's first bar; multifolio reads the next bar's timestamp and shows it from the week's last bar
(the visibility rule). On daily bars without weekend bars that is exactly one bar apart, every bar but the last:
when the data ends, backtrader delivers the week still open (its bars so far) at the data's last bar, which
multifolio never shows (the last bar completes its bucket only by time, and a Friday's day ends before the
week does)."""

from __future__ import annotations

import backtrader as bt
import numpy as np
import pandas as pd
import pytest
from backtesting.test import GOOG

import multifolio
from tests.builders import backtest_config, system_config


def backtrader_weekly_sma(period: int) -> pd.Series:
    seen = {}

    class Watch(bt.Strategy):
        def __init__(self):
            self.weekly = bt.ind.SMA(self.datas[1].close, period=period)

        def next(self):
            seen[pd.Timestamp(self.datas[0].datetime.date(0))] = self.weekly[0]

    cerebro = bt.Cerebro(stdstats=False)
    daily = bt.feeds.PandasData(dataname=GOOG)
    cerebro.adddata(daily)
    cerebro.resampledata(daily, timeframe=bt.TimeFrame.Weeks, compression=1)
    cerebro.addstrategy(Watch)
    cerebro.run()
    return pd.Series(seen)


def test_backtraders_weekly_sma_is_ours_one_bar_later():
    document = backtest_config(system_config("watch", indicators=["SMA_10@1W"]), data={"symbols": ["GOOG"]})
    ours = multifolio.run(document, data={"GOOG": GOOG.rename(columns=str.lower)}).systems["watch"].indicators
    ours = ours.set_index("timestamp")["SMA_10@1W"]
    theirs = backtrader_weekly_sma(10)
    assert len(theirs) > 2000
    one_bar_later = ours.shift(1).loc[theirs.index]
    np.testing.assert_allclose(theirs.to_numpy()[:-1], one_bar_later.to_numpy()[:-1], rtol=1e-12)
    weeks_so_far = GOOG["Close"].resample("W-SUN").last()  # the last week, Feb 25 – Mar 1 2013, included
    assert theirs.iloc[-1] == pytest.approx(weeks_so_far.iloc[-10:].mean(), rel=1e-12)
    assert ours.iloc[-1] == pytest.approx(weeks_so_far.iloc[-11:-1].mean(), rel=1e-12)
    assert (ours.loc[theirs.index].to_numpy() != theirs.to_numpy()).sum() > 400  # the bar apart is real

"""`sma_crossover` with a `trend` key on a higher timeframe: the trades on real GOOG daily data equal a hand
computation (pandas, TA-Lib) row for row: SMA(10)/SMA(30) crosses of the close, entries only while the close is
above (long) or below (short) SMA(10) of the weekly closes, each weekly value shown from the last trading day of
its week (the day whose next bar opens a later week), fills at the next open."""

from __future__ import annotations

from pathlib import Path

import backtesting
import numpy as np
import pandas as pd
import pytest
import talib
from backtesting.test import GOOG

from tests.builders import backtest_config, run_in_memory, system_config
from tests.parity import peers
from tests.timeframes.reference import calendar_labels, visible

GOOG_CSV = Path(backtesting.__file__).parent / "test" / "GOOG.csv"


def run_with_trend(allow_short: bool) -> pd.DataFrame:
    document = backtest_config(system_config(
        "trend", capital=1_000_000, sizers=[{"type": "fixed", "size": 100}],
        strategy={"type": "sma_crossover", "parameters": {"fast_period": 10, "slow_period": 30,
                                                           "allow_short": allow_short, "trend": "SMA_10@1W"}}),
        data={"source": "csv", "symbols": ["GOOG"], "file_path": str(GOOG_CSV)})
    [result] = run_in_memory(document)
    return result.trades[[*peers.TRADE_COLUMNS, "side"]].reset_index(drop=True)


def hand_trades(allow_short: bool) -> pd.DataFrame:
    bars = GOOG.rename(columns=str.lower)
    close, opens, times = bars["close"].to_numpy(), bars["open"].to_numpy(), bars.index
    difference = talib.SMA(close, 10) - talib.SMA(close, 30)
    trend = visible(bars, calendar_labels(bars.index, "W-SUN"), lambda weeks: talib.SMA(weeks["close"], 10), False)
    position, entry, rows, last_sign = 0, None, [], 0
    for k in range(len(close) - 1):  # a signal at k fills at the open of k + 1
        if np.isnan(difference[k]) or difference[k] == 0:
            continue
        sign = 1 if difference[k] > 0 else -1
        crossed, last_sign = last_sign not in (0, sign), sign
        if not crossed:
            continue
        wanted = sign if sign > 0 or allow_short else 0
        if wanted and not (close[k] > trend[k] if wanted > 0 else close[k] < trend[k]):
            wanted = 0  # against the trend (or the trend not yet known): flat
        if wanted == position:
            continue
        if position:
            rows.append((entry[0], times[k + 1], entry[1], opens[k + 1], 100.0, "long" if position > 0 else "short"))
        position, entry = wanted, (times[k + 1], opens[k + 1])
    frame = pd.DataFrame(rows, columns=[*peers.TRADE_COLUMNS, "side"])
    if position:  # still open at the end: the run reports it valued at the last close
        frame.loc[len(frame)] = [entry[0], pd.NaT, entry[1], np.nan, 100.0, "long" if position > 0 else "short"]
    return frame


@pytest.mark.parametrize("allow_short", [False, True])
def test_trades_filtered_by_a_weekly_trend_equal_the_hand_computation(allow_short):
    ours, hand = run_with_trend(allow_short), hand_trades(allow_short)
    closed = ours["exit_time"].notna()
    assert len(hand) > 10
    pd.testing.assert_frame_equal(ours[closed].reset_index(drop=True), hand[hand["exit_time"].notna()]
                                  .reset_index(drop=True), check_dtype=False, check_index_type=False)
    assert ours[~closed]["entry_time"].tolist() == hand[hand["exit_time"].isna()]["entry_time"].tolist()


def test_the_trend_filter_changes_the_trades():
    unfiltered = run_in_memory(backtest_config(system_config(
        "plain", capital=1_000_000, sizers=[{"type": "fixed", "size": 100}],
        strategy={"type": "sma_crossover", "parameters": {"fast_period": 10, "slow_period": 30}}),
        data={"source": "csv", "symbols": ["GOOG"], "file_path": str(GOOG_CSV)}))[0].trades
    assert len(run_with_trend(False)) < len(unfiltered)

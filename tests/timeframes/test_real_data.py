"""Higher timeframes on real bars, through a whole run: EURUSD hourly at `@1D` and `@4h`, GOOG daily at `@1W` and
`@1M`, each equal to TA-Lib on a pandas-resampled frame shown from each group's last bar (tests.timeframes.reference)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import talib
from backtesting.test import EURUSD, GOOG

import multifolio
from tests.builders import backtest_config, system_config
from tests.timeframes.reference import calendar_labels, session_labels, visible


def bars_of(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.rename(columns=str.lower)[["open", "high", "low", "close", "volume"]]


def indicator_values(frame: pd.DataFrame, symbol: str, keys: list, **data) -> pd.DataFrame:
    document = backtest_config(system_config("watch", indicators=keys), data={"symbols": [symbol], **data})
    return multifolio.run(document, data={symbol: frame}).systems["watch"].indicators


REFERENCES = {  # key → the TA-Lib computation on the resampled frame
    "SMA_5": lambda bars: talib.SMA(bars["close"], 5),
    "RSI_14": lambda bars: talib.RSI(bars["close"], 14),
    "ATR_3": lambda bars: talib.ATR(bars["high"], bars["low"], bars["close"], 3),
    "BOP": lambda bars: talib.BOP(bars["open"], bars["high"], bars["low"], bars["close"]),
    "OBV": lambda bars: talib.OBV(bars["close"], bars["volume"]),
}


@pytest.mark.parametrize(("timeframe", "labels", "last_complete"), [
    ("1D", lambda stamps: calendar_labels(stamps, "D"), False),  # the last bar, 15:00, ends no day
    ("4h", lambda stamps: session_labels(stamps, 4), True),  # its day opened at 00:00: 15:00 ends the 12-16 bucket
])
def test_eurusd_hourly_at_higher_timeframes_equals_talib_on_the_pandas_resampled_frame(timeframe, labels,
                                                                                     last_complete):
    bars = bars_of(EURUSD)
    got = indicator_values(bars, "EURUSD", [f"{key}@{timeframe}" for key in REFERENCES])
    for key, reference in REFERENCES.items():
        expected = visible(bars, labels(bars.index), reference, last_complete)
        np.testing.assert_allclose(got[f"{key}@{timeframe}"].to_numpy(), expected, rtol=1e-12, equal_nan=True,
                                   err_msg=f"{key}@{timeframe}")
    assert got[f"SMA_5@{timeframe}"].notna().sum() > 4000  # the comparison is not between two NaN columns


@pytest.mark.parametrize(("timeframe", "rule"), [("1W", "W-SUN"), ("1M", "M")])
def test_goog_daily_weekly_and_monthly_equal_talib_on_the_pandas_resampled_frame(timeframe, rule):
    bars = bars_of(GOOG)
    got = indicator_values(bars, "GOOG", [f"{key}@{timeframe}" for key in REFERENCES])
    for key, reference in REFERENCES.items():  # the last bar, Friday 2013-03-01, ends neither its week nor month
        expected = visible(bars, calendar_labels(bars.index, rule), reference, False)
        np.testing.assert_allclose(got[f"{key}@{timeframe}"].to_numpy(), expected, rtol=1e-12, equal_nan=True,
                                   err_msg=f"{key}@{timeframe}")


def test_a_weekly_value_changes_on_the_last_trading_day_of_its_week():
    got = indicator_values(bars_of(GOOG), "GOOG", ["SMA_2@1W"]).set_index("timestamp")["SMA_2@1W"]
    changes = got.index[got.ne(got.shift()) & got.notna()]
    closes = GOOG["Close"]
    week = closes.resample("W-SUN").last()
    assert got[pd.Timestamp("2004-08-27")] == pytest.approx((week.iloc[0] + week.iloc[1]) / 2)  # Friday: week 2 done
    assert np.isnan(got[pd.Timestamp("2004-08-26")])  # Thursday: only week 1 done
    assert set(changes.day_of_week) <= {0, 1, 2, 3, 4} and (changes.day_of_week == 4).mean() > 0.9  # holiday Fridays
    assert pd.Timestamp("2013-03-01") not in changes  # the data's last bar completes nothing


def test_an_at_1d_indicator_is_warm_at_the_first_traded_bar_with_the_values_of_the_whole_data():
    bars = bars_of(EURUSD)
    whole = indicator_values(bars, "EURUSD", ["SMA_5@1D"]).set_index("timestamp")["SMA_5@1D"]
    windowed = indicator_values(bars, "EURUSD", ["SMA_5@1D"], start="2017-06-01",
                                warmup="1M").set_index("timestamp")["SMA_5@1D"]
    assert windowed.index[0] == pd.Timestamp("2017-06-01 00:00")
    assert not np.isnan(windowed.iloc[0])
    pd.testing.assert_series_equal(windowed, whole[windowed.index[0]:])

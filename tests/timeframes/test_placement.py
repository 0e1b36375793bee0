"""Symbols of different bar spacing on one timeline: with open stamps a coarser symbol's bar is placed at its
close (stamp + its spacing − the finest spacing); symbols of one spacing, and close stamps, stay as written."""

from __future__ import annotations

import pandas as pd
import pytest

import multifolio
from multifolio.data.market import MarketData, check_bars
from multifolio.errors import ConfigErrors
from tests.builders import backtest_config, system_config


def bars(**symbols: list[str]) -> pd.DataFrame:
    frames = [pd.DataFrame({"timestamp": pd.to_datetime(stamps), "symbol": symbol}) for symbol, stamps in symbols.items()]
    return pd.concat(frames).assign(open=1.0, high=1.0, low=1.0, close=1.0, volume=1.0)


MINUTES = [f"2020-01-02 09:3{minute}" for minute in range(4)]
DAYS = ["2020-01-02", "2020-01-03", "2020-01-06"]


def test_a_daily_bar_stamped_at_midnight_is_placed_after_the_days_minutes():
    market = MarketData.from_checked(check_bars(bars(M=MINUTES, D=DAYS), "x", ("M", "D")))
    placed_at = market.timestamps[market.series["D"].timeline_index]
    assert placed_at.tolist() == [pd.Timestamp(f"{day} 23:59") for day in DAYS]
    assert market.placed == {"D": pd.Timedelta("23h59min")}
    assert market.warm_stamps("D").tolist() == [pd.Timestamp(day) for day in DAYS]  # buckets read the stamps
    assert market.reading_notes() == [("placed at their close (open stamps, coarser bars than the finest "
                                      "symbol's): D +23:59:00")]


def test_close_stamps_and_one_spacing_leave_every_bar_where_it_was_written():
    closed = MarketData.from_checked(check_bars(bars(M=MINUTES, D=DAYS), "x", ("M", "D")), "close")
    assert closed.placed == {} and closed.timestamps[closed.series["D"].timeline_index].tolist() == \
        [pd.Timestamp(day) for day in DAYS]
    same = MarketData.from_checked(check_bars(bars(A=DAYS, B=DAYS[1:]), "x", ("A", "B")))
    assert same.placed == {} and same.reading_notes() == []


def minutes_and_days() -> pd.DataFrame:
    minutes = pd.date_range("2020-01-02 09:30", periods=390, freq="1min").append(
        pd.date_range("2020-01-03 09:30", periods=390, freq="1min"))
    frame = pd.concat([bars(M=list(minutes)), bars(D=DAYS)]).reset_index(drop=True)
    frame["close"] = frame["high"] = frame["open"] = frame["low"] = range(1, len(frame) + 1)
    return frame


def test_a_run_of_minute_and_daily_bars_shows_each_day_after_its_minutes():
    document = backtest_config(system_config("watch", indicators=["SMA_3"]), data={"symbols": ["M", "D"]})
    values = multifolio.run(document, data=minutes_and_days()).systems["watch"].indicators
    daily = values[values["symbol"] == "D"]
    assert daily["timestamp"].tolist() == [pd.Timestamp(f"{day} 23:59") for day in DAYS]


def test_every_symbol_must_be_finer_than_the_timeframe():
    document = backtest_config(system_config("watch", indicators=["SMA_3@1h"]), data={"symbols": ["M", "D"]})
    with pytest.raises(ConfigErrors) as raised:
        multifolio.run(document, data=minutes_and_days())
    assert raised.value.errors[0].message == ("SMA_3@1h: timeframe 1h is not above the bar spacing of D (1 day); a "
                                              "higher timeframe groups several bars of a symbol")


def test_a_gap_is_not_a_spacing():
    gappy = ["2024-01-02 09:30", "2024-01-02 09:31", "2024-01-02 09:35", "2024-01-02 09:36", "2024-01-02 09:37"]
    market = MarketData.from_checked(check_bars(bars(A=MINUTES, B=gappy, C=MINUTES[::3]), "x", ("A", "B", "C")))
    assert market.placed == {}  # B steps by a minute mostly; C's one step (3 minutes) tells no spacing

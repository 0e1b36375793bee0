"""Symbols of different bar spacing on one timeline: with open stamps a coarser symbol's bar is placed at its
close (stamp + its spacing − the finest spacing); symbols of one spacing, and close stamps, stay as written."""

from __future__ import annotations

import pandas as pd

from multifolio.data.market import MarketData, check_bars


def bars(**symbols: list[str]) -> pd.DataFrame:
    frames = [pd.DataFrame({"timestamp": pd.to_datetime(stamps), "symbol": symbol}) for symbol, stamps in symbols.items()]
    return pd.concat(frames).assign(open=1.0, high=1.0, low=1.0, close=1.0, volume=1.0)


MINUTES = [f"2020-01-02 09:3{minute}" for minute in range(4)]
DAYS = ["2020-01-02", "2020-01-03"]


def test_a_daily_bar_stamped_at_midnight_is_placed_after_the_days_minutes():
    market = MarketData.from_checked(check_bars(bars(M=MINUTES, D=DAYS), "x", ("M", "D")))
    placed_at = market.timestamps[market.series["D"].timeline_index]
    assert placed_at.tolist() == [pd.Timestamp("2020-01-02 23:59"), pd.Timestamp("2020-01-03 23:59")]
    assert market.placed == {"D": pd.Timedelta("23h59min")}
    assert market.warm_stamps("D").tolist() == [pd.Timestamp(day) for day in DAYS]  # buckets read the stamps
    assert market.reading_notes() == [("placed at their close (open stamps, coarser bars than the finest "
                                      "symbol's): D +0 days 23:59:00")]


def test_close_stamps_and_one_spacing_leave_every_bar_where_it_was_written():
    closed = MarketData.from_checked(check_bars(bars(M=MINUTES, D=DAYS), "x", ("M", "D")), "close")
    assert closed.placed == {} and closed.timestamps[closed.series["D"].timeline_index].tolist() == \
        [pd.Timestamp(day) for day in DAYS]
    same = MarketData.from_checked(check_bars(bars(A=DAYS, B=DAYS[1:]), "x", ("A", "B")))
    assert same.placed == {} and same.reading_notes() == []

"""The visibility rule, checked on random bars with random gaps: a higher timeframe's value at bar k depends on
the prices of bars ≤ k only, and equals a direct computation from the buckets complete at k."""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd
import talib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from multifolio.config.timeframe import parse_timeframe
from multifolio.data.timeframes import bar_spacing, buckets, higher_timeframe
from multifolio.plugins.strategies.sma_crossover import SmaCrossoverStrategy
from multifolio.testing import assert_causal, bars_from_closes
from tests.property.strategies import bar_frames

TIMEFRAMES = ["15min", "1h", "90min", "4h", "1D", "2D", "1W", "1M"]
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def gapped_bars(draw) -> tuple[pd.DatetimeIndex, dict[str, np.ndarray], pd.Timedelta]:
    """5-minute (or daily) bars with random gaps (skipped bars, nights, weekends) and random prices."""
    daily = draw(st.booleans())
    step = pd.Timedelta(days=1) if daily else pd.Timedelta(minutes=5)
    skips = draw(st.lists(st.sampled_from([1, 1, 1, 2, 3, 12, 100, 300]), min_size=3, max_size=80))
    start = pd.Timestamp("2024-01-01 09:30") + step * draw(st.integers(0, 500))
    stamps = pd.DatetimeIndex(start + step * np.cumsum(skips)).as_unit("ns")
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, len(stamps))))
    prices = {"open": close * np.exp(rng.normal(0, 0.01, len(stamps))), "close": close,
              "volume": rng.integers(1, 1000, len(stamps)).astype(np.float64)}
    prices["high"] = np.maximum(prices["open"], close) * 1.01
    prices["low"] = np.minimum(prices["open"], close) * 0.99
    return stamps, prices, bar_spacing(stamps)


def averages(arrays):  # an indicator reading every field
    return {"sma": talib.SMA(arrays["close"], 2), "range": arrays["high"] - arrays["low"] + arrays["open"] * 0,
            "volume": arrays["volume"]}


def reference_key(stamp: datetime.datetime, first_of_day: datetime.datetime, timeframe: str) -> tuple:
    """The bucket of a bar starting at `stamp`, by the documented rule, in plain datetime arithmetic."""
    frame = parse_timeframe(timeframe, "")
    if frame.intraday:
        return stamp.date(), (stamp - first_of_day) // frame.span()
    if frame.unit == "D":
        return ((stamp.date() - datetime.date(1970, 1, 1)).days // frame.count,)
    if frame.unit == "W":
        return ((stamp.date() - datetime.date(1969, 12, 29)).days // 7 // frame.count,)
    return ((stamp.year * 12 + stamp.month - 1) // frame.count,)


def reference_end(stamp: datetime.datetime, first_of_day: datetime.datetime, timeframe: str) -> datetime.datetime:
    frame = parse_timeframe(timeframe, "")
    midnight = datetime.datetime.combine(stamp.date(), datetime.time()) + datetime.timedelta(days=1)
    if frame.intraday:
        return min(first_of_day + ((stamp - first_of_day) // frame.span() + 1) * frame.span(), midnight)
    if frame.unit == "D":
        return datetime.datetime(1970, 1, 1) + datetime.timedelta(days=(reference_key(stamp, stamp, timeframe)[0]
                                                                           + 1) * frame.count)
    if frame.unit == "W":
        return datetime.datetime(1969, 12, 29) + datetime.timedelta(weeks=(reference_key(stamp, stamp, timeframe)[0]
                                                                          + 1) * frame.count)
    month = (reference_key(stamp, stamp, timeframe)[0] + 1) * frame.count
    return datetime.datetime(month // 12, month % 12 + 1, 1)


def direct(stamps, prices, spacing, timeframe: str, k: int) -> dict[str, float]:
    """The values at bar k from the buckets complete at k only: those whose last bar is before k, and k's own
    when the next bar opens another bucket or k's end reaches the bucket's end."""
    times = [stamp.to_pydatetime() for stamp in stamps]
    firsts = {}
    for time in times:
        firsts.setdefault(time.date(), time)
    keys = [reference_key(time, firsts[time.date()], timeframe) for time in times]
    complete_upto = k if (k + 1 < len(times) and keys[k + 1] != keys[k]) or \
        times[k] + spacing >= reference_end(times[k], firsts[times[k].date()], timeframe) else \
        next((j for j in range(k, -1, -1) if keys[j] != keys[k]), -1)
    if complete_upto < 0:
        return {name: np.nan for name in ("sma", "range", "volume")}
    rows = range(complete_upto + 1)
    groups = list(dict.fromkeys(keys[j] for j in rows))
    members = [[j for j in rows if keys[j] == group] for group in groups]
    resampled = {"open": np.array([prices["open"][m[0]] for m in members]),
                 "high": np.array([max(prices["high"][m]) for m in members]),
                 "low": np.array([min(prices["low"][m]) for m in members]),
                 "close": np.array([prices["close"][m[-1]] for m in members]),
                 "volume": np.array([sum(prices["volume"][m]) for m in members])}
    return {name: float(values[-1]) for name, values in averages(resampled).items()}


@PROPERTY
@given(bars=gapped_bars(), timeframe=st.sampled_from(TIMEFRAMES), cut=st.floats(0, 1))
def test_values_equal_a_direct_computation_from_complete_buckets_and_ignore_later_prices(bars, timeframe, cut):
    stamps, prices, spacing = bars
    if parse_timeframe(timeframe, "").shortest() <= spacing:
        return  # refused before a run (tests.timeframes.test_keys)
    got = higher_timeframe(averages, prices, stamps, parse_timeframe(timeframe, ""), spacing)
    k = min(int(cut * len(stamps)), len(stamps) - 1)
    for at in (k, len(stamps) - 1):  # the data's last bar completes its bucket only by time
        expected = direct(stamps, prices, spacing, timeframe, at)
        for name, value in expected.items():
            np.testing.assert_allclose(got[name][at], value, rtol=1e-12, equal_nan=True, err_msg=f"{name} at {at}")
    rewritten = {name: np.concatenate((values[:k + 1], values[k + 1:] * 1.7)) for name, values in prices.items()}
    again = higher_timeframe(averages, rewritten, stamps, parse_timeframe(timeframe, ""), spacing)
    for name in expected:
        np.testing.assert_array_equal(again[name][:k + 1], got[name][:k + 1], err_msg=name)


def test_buckets_of_a_session_hand_checked():
    stamps = pd.DatetimeIndex(["2020-01-02 09:30", "2020-01-02 10:30", "2020-01-02 11:30", "2020-01-02 15:30",
                               "2020-01-03 09:30", "2020-01-03 10:30", "2020-01-06 09:30", "2020-02-03 09:30"])
    expected = {  # timeframe → (bucket per bar, completing bars)
        "2h": ([0, 0, 1, 2, 3, 3, 4, 5], [1, 2, 3, 5, 6]),  # 09:30-11:30, 11:30-13:30, 15:30-17:30 (cut: gap)
        "1D": ([0, 0, 0, 0, 1, 1, 2, 3], [3, 5, 6]),  # the last bar, 09:30-10:30, ends no day
        "1W": ([0, 0, 0, 0, 0, 0, 1, 2], [5, 6]),  # Friday Jan 3 completes the week by the next bar's week
        "1M": ([0, 0, 0, 0, 0, 0, 0, 1], [6]),
    }
    for timeframe, (index, completing) in expected.items():
        found = buckets(stamps, parse_timeframe(timeframe, ""), pd.Timedelta("1h"))
        assert (found.index.tolist(), np.flatnonzero(found.complete).tolist()) == (index, completing), timeframe


def test_a_close_stamped_bar_belongs_to_the_bucket_it_closes():
    stamps = pd.date_range("2024-01-02 22:00", "2024-01-03 02:00", freq="1h")
    opened = buckets(stamps, parse_timeframe("1D", ""), pd.Timedelta("1h"))
    closed = buckets(stamps, parse_timeframe("1D", ""), pd.Timedelta("1h"), close_stamped=True)
    assert opened.index.tolist() == [0, 0, 1, 1, 1]
    assert closed.index.tolist() == [0, 0, 0, 1, 1]  # stamped 00:00, it covers 23:00-24:00 of Jan 2
    assert np.flatnonzero(closed.complete).tolist() == [2]  # and completes Jan 2 by its end


def test_a_crossover_filtered_by_a_weekly_trend_is_causal():
    frame = bars_from_closes(100 + 10 * np.sin(np.arange(120) / 6) + np.arange(120) / 5, freq="1D")
    assert_causal(SmaCrossoverStrategy, frame, cuts=8,
                  parameters={"fast_period": 3, "slow_period": 8, "allow_short": True, "trend": "SMA_3@1W"})


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=bar_frames(min_bars=30, max_bars=80), seed=st.integers(0, 1000))
def test_random_daily_bars_through_a_run_are_causal(frame, seed):
    assert_causal(SmaCrossoverStrategy, frame, cuts=4, seed=seed,
                  parameters={"fast_period": 2, "slow_period": 5, "allow_short": True, "trend": "SMA_2@1W"})

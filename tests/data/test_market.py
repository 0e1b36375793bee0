"""Market data as the workers of a parallel run receive it: pickled in the caller, whole on arrival."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd

from multifolio.data.market import MarketData
from multifolio.testing import bars_from_closes


def test_bars_pickled_for_a_worker_arrive_whole_read_only_and_aligned():
    spy = bars_from_closes([100, 101, 102, 103, 104])
    qqq = bars_from_closes([50, 51, 52], "QQQ", start="2024-01-02 09:32")
    market = MarketData.from_frame(pd.concat([spy, qqq], ignore_index=True), ("SPY", "QQQ"))
    copy = pickle.loads(pickle.dumps(market))
    assert copy.symbols == ("SPY", "QQQ")
    assert copy.timestamps.equals(market.timestamps)
    for symbol in market.symbols:
        ours, theirs = market.series[symbol], copy.series[symbol]
        np.testing.assert_array_equal(theirs.timeline_index, ours.timeline_index)
        for field, values in ours.arrays.items():
            np.testing.assert_array_equal(theirs.arrays[field], values)
            assert not theirs.arrays[field].flags.writeable
            assert theirs.views[field][-1] == values[-1]  # the memoryviews are rebuilt
        np.testing.assert_array_equal(copy.position_of[symbol], market.position_of[symbol])
    assert copy.position_of["QQQ"].tolist() == [-1, -1, 0, 1, 2]
    assert copy.last_close("QQQ", 1) != copy.last_close("QQQ", 1)  # NaN: no bar yet
    assert copy.closes_filled("QQQ")[2:].tolist() == [50, 51, 52]


def test_a_symbol_with_a_bar_at_every_timestamp_shares_its_bar_numbers_with_its_timeline_index():
    """Its bar number at timeline index t is t: the index it already holds, read-only, not a second array."""
    spy = bars_from_closes([100, 101, 102, 103, 104])
    qqq = bars_from_closes([50, 51, 52], "QQQ", start="2024-01-02 09:32")
    market = MarketData.from_frame(pd.concat([spy, qqq], ignore_index=True), ("SPY", "QQQ"))
    assert market.position_of["SPY"].tolist() == [0, 1, 2, 3, 4]
    assert np.shares_memory(market.position_of["SPY"], market.series["SPY"].timeline_index)
    assert not np.shares_memory(market.position_of["QQQ"], market.series["QQQ"].timeline_index)
    assert not market.position_of["SPY"].flags.writeable and not market.position_of["QQQ"].flags.writeable
    assert market.bar_numbers["SPY"][3] == 3 and market.bar_numbers["QQQ"][1] == -1

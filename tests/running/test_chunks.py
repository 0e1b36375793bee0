"""How a parallel run splits its systems into chunks."""

from __future__ import annotations

import numpy as np
import pandas as pd

from multifolio.running.executors.chunks import SharedArrays, split


def test_chunks_take_a_stride_through_the_entries_so_neighbours_of_a_sweep_spread_over_workers():
    entries = [{"name": f"s{i}"} for i in range(10)]
    chunks = split(entries, workers=2)
    assert [chunk.indices for chunk in chunks] == [(0, 4, 8), (1, 5, 9), (2, 6), (3, 7)]
    assert all([entries[i] for i in chunk.indices] == list(chunk.specs) for chunk in chunks)
    assert len({chunk.run for chunk in chunks}) == 1
    assert split(entries, workers=2)[0].run != chunks[0].run  # a token per run
    assert [chunk.indices for chunk in split(entries[:3], workers=4)] == [(0,), (1,), (2,)]


def test_a_run_written_as_its_chunks_come_back_holds_at_most_a_pass_of_systems_a_chunk():
    entries = [{"name": f"s{i}"} for i in range(10)]
    assert [chunk.indices for chunk in split(entries, workers=2, most=3)] == [(0, 4, 8), (1, 5, 9), (2, 6), (3, 7)]
    assert [chunk.indices for chunk in split(entries, workers=2, most=2)] == [(0, 5), (1, 6), (2, 7), (3, 8), (4, 9)]
    assert [chunk.indices for chunk in split(entries, workers=1, most=1)] == [(i,) for i in range(10)]
    assert [chunk.indices for chunk in split(entries, workers=2, most=100)] == \
        [chunk.indices for chunk in split(entries, workers=2)]  # never fewer chunks than the workers' share


def test_equal_arrays_brought_back_by_chunks_become_the_first_one_and_others_stay_as_they_came():
    shared = SharedArrays()
    first = np.array([np.nan, 1.0, 2.0])
    assert shared(("SPY", "SMA_2"), first) is first
    shared.chunk_done()
    again, other = np.array([np.nan, 1.0, 2.0]), np.array([np.nan, 1.0, 2.5])
    assert shared(("SPY", "SMA_2"), again) is first  # equal, NaN included
    assert shared(("SPY", "SMA_2"), again) is first  # asked again within the chunk: compared once
    assert shared(("SPY", "SMA_2"), other) is other  # other values (another window's bars) stay as they came
    shorter_values = first[:2]
    assert shared(("SPY", "SMA_2"), shorter_values) is shorter_values
    timeline, own = pd.date_range("2024-01-02", periods=3, freq="min"), pd.date_range("2024-01-02", periods=3,
                                                                                    freq="min")
    assert shared(("timeline",), timeline, own) is own
    shorter = timeline[:2]
    assert shared(("timeline",), shorter, own) is shorter

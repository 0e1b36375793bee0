"""How a parallel run splits its systems into chunks."""

from __future__ import annotations

from multifolio.running.executors.chunks import split


def test_chunks_take_a_stride_through_the_entries_so_neighbours_of_a_sweep_spread_over_workers():
    entries = [{"name": f"s{i}"} for i in range(10)]
    chunks = split(entries, workers=2)
    assert [chunk.indices for chunk in chunks] == [(0, 4, 8), (1, 5, 9), (2, 6), (3, 7)]
    assert all([entries[i] for i in chunk.indices] == list(chunk.specs) for chunk in chunks)
    assert len({chunk.run for chunk in chunks}) == 1
    assert split(entries, workers=2)[0].run != chunks[0].run  # a token per run
    assert [chunk.indices for chunk in split(entries[:3], workers=4)] == [(0,), (1,), (2,)]

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


def test_a_run_written_as_its_chunks_come_back_holds_at_most_a_pass_of_systems_a_chunk():
    entries = [{"name": f"s{i}"} for i in range(10)]
    assert [chunk.indices for chunk in split(entries, workers=2, most=3)] == [(0, 4, 8), (1, 5, 9), (2, 6), (3, 7)]
    assert [chunk.indices for chunk in split(entries, workers=2, most=2)] == [(0, 5), (1, 6), (2, 7), (3, 8), (4, 9)]
    assert [chunk.indices for chunk in split(entries, workers=1, most=1)] == [(i,) for i in range(10)]
    assert [chunk.indices for chunk in split(entries, workers=2, most=100)] == \
        [chunk.indices for chunk in split(entries, workers=2)]  # never fewer chunks than the workers' share

"""What a run has freed goes back to the system between the parts of its work (multifolio.memory)."""

from __future__ import annotations

import ctypes
from pathlib import Path

import pytest

from multifolio import memory

STATUS = Path("/proc/self/status")
GLIBC = STATUS.exists() and hasattr(ctypes.CDLL(None), "malloc_trim")


def resident_mb() -> float:
    """This process's resident set, from the kernel."""
    line = next(line for line in STATUS.read_text().splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


@pytest.mark.skipif(not GLIBC, reason="glibc's heap, read from Linux's /proc")
def test_freed_heap_pages_below_a_live_block_go_back_to_the_system():
    """100 MB in blocks of 4 KB (below glibc's mmap threshold: they live in its heap), all freed but the last,
    which pins the heap's top: free() alone keeps the pages, the hand-back returns them."""
    blocks = [ctypes.create_string_buffer(4096) for _ in range(25_600)]
    for block in blocks:  # touched: resident
        block[0] = b"x"
    pin = blocks.pop()
    del blocks
    kept = resident_mb()
    memory.hand_back_freed_memory()
    assert resident_mb() < kept - 50
    del pin


def test_without_glibcs_malloc_trim_only_arrows_pool_is_released(monkeypatch):
    """macOS, musl, Windows: no malloc_trim to call, and the hand-back does not fail for it."""
    def no_such_library(name, *args, **kwargs):
        raise OSError(f"{name}: cannot open shared object file")

    monkeypatch.setattr(ctypes, "CDLL", no_such_library)
    trim = memory._malloc_trim()
    assert trim(0) == 0
    monkeypatch.setattr(memory, "_TRIM", trim)
    memory.hand_back_freed_memory()

"""Memory a run has freed handed back to the system between the parts of its work.

A run frees much between its parts (a system's files and page: frames of a million rows, arrow's strings), but
the allocators keep it for their own reuse: arrow's pool holds what its writers freed, and glibc's malloc keeps
freed pages inside its heap wherever a live block sits above them. The next part allocates mostly through the
other allocator, so a process's peak would count both parts. Handed back at a part's end, it does not (one
system at a million bars: about 45 MB off the peak, a few ms a call).
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pyarrow as pa


def _malloc_trim() -> Callable[[int], int]:
    """glibc's malloc_trim (frees the heap's unused pages, wherever they lie); a no-op where the C library has
    none (macOS, musl, Windows)."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim
    except (OSError, AttributeError, TypeError):
        return lambda pad: 0


_TRIM = _malloc_trim()


def hand_back_freed_memory() -> None:
    """What arrow's pool and the C heap keep of the memory freed so far, given back to the system."""
    pa.default_memory_pool().release_unused()
    _TRIM(0)


@contextmanager
def freed_memory_handed_back() -> Iterator[None]:
    """`hand_back_freed_memory` once the block ends, however it ends."""
    try:
        yield
    finally:
        hand_back_freed_memory()

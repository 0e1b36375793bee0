"""Which points of a long series a chart shows: all of them, or a MinMaxLTTB selection that keeps the extremes."""

from __future__ import annotations

import numpy as np
from tsdownsample import MinMaxLTTBDownsampler

DISPLAY_POINTS = 4000  # per trace: enough for a full-width chart, small enough for a 1M-bar report


def display_indices(values: np.ndarray, limit: int = DISPLAY_POINTS) -> np.ndarray:
    """Positions of the points to draw, in order: every point when there are at most `limit`.

    MinMaxLTTB preselects each bucket's minimum and maximum, then chooses by triangle area:
    the shape survives, and so do first and last points. Its choice may still drop the one
    global extreme, so the highest and lowest points replace their nearest chosen neighbour:
    the deepest drawdown is always drawn. NaN (an indicator's warm-up) counts as 0 for the
    choice only.
    """
    values = np.asarray(values, dtype=np.float64)
    if len(values) <= limit:
        return np.arange(len(values))
    finite = np.where(np.isfinite(values), values, 0.0)
    kept = MinMaxLTTBDownsampler().downsample(finite, n_out=limit).astype(np.int64)
    for extreme in (int(np.argmax(finite)), int(np.argmin(finite))):
        at = int(np.searchsorted(kept, extreme))
        if at < len(kept) and kept[at] == extreme:
            continue
        # the nearer chosen neighbour gives way, never the first or the last point
        before, after = max(at - 1, 1), min(at, len(kept) - 2)
        kept[before if extreme - kept[before] <= kept[after] - extreme else after] = extreme
        kept.sort()
    return kept

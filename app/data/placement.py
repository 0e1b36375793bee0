"""Symbols of different bar spacing on one timeline: with open stamps (`data.timestamps: open`) a coarser symbol's
bar is placed at its close, so a daily bar stamped at midnight is delivered after the day's last minute bar,
never before the minutes it summarises (one decision per run, at loading)."""

from __future__ import annotations

import numpy as np
import pandas as pd

MIN_STEPS = 2  # a symbol of fewer steps between bars tells no spacing (one step may be a gap): never placed


def spacings(stamps: np.ndarray, codes: np.ndarray, count: int) -> list[int]:
    """Each symbol's bar spacing in ns, as its most common step between bars (gaps, nights and weekends are
    rarer than the spacing); 0 when it has fewer than MIN_STEPS steps."""
    found = []
    for code in range(count):
        steps, counts = np.unique(np.diff(stamps[codes == code]), return_counts=True)
        found.append(int(steps[counts.argmax()]) if counts.sum() >= MIN_STEPS else 0)
    return found


def placements(stamps: pd.DatetimeIndex, codes: np.ndarray, symbols: tuple[str, ...], *, close_stamped: bool
               ) -> dict[str, pd.Timedelta]:
    """Symbol → how far after its stamp each of its bars is placed: its spacing less the finest spacing of the
    run's symbols, for open-stamped bars of a coarser symbol; none when every symbol has the same spacing (every
    symbol stays where it was), for a symbol whose spacing cannot be told, or when the stamps mark the bars'
    close already."""
    if close_stamped or len(symbols) < 2:
        return {}
    found = spacings(stamps.as_unit("ns").asi8, codes, len(symbols))
    finest = min((spacing for spacing in found if spacing), default=0)
    return {symbol: pd.Timedelta(spacing - finest) for symbol, spacing in zip(symbols, found)
            if finest and spacing > finest}


def placed_stamps(stamps: pd.DatetimeIndex, codes: np.ndarray, symbols: tuple[str, ...],
                  placed: dict[str, pd.Timedelta]) -> pd.DatetimeIndex:
    """Each row's stamp moved by its symbol's placement."""
    shifts = np.zeros(len(symbols), dtype=np.int64)
    for symbol, shift in placed.items():
        shifts[symbols.index(symbol)] = shift.value
    return stamps.as_unit("ns") + pd.to_timedelta(shifts[codes], unit="ns")


def placement_note(placed: dict[str, pd.Timedelta]) -> str:
    """The reading note for symbols placed at their close ("" for none)."""
    if not placed:
        return ""
    return "placed at their close (open stamps, coarser bars than the finest symbol's): " + \
        ", ".join(f"{symbol} +{str(shift).removeprefix('0 days ')}" for symbol, shift in placed.items())

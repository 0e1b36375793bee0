"""Figures across systems: return correlations and drawdown contributions (opposing positions: opposing.py).

Each is computed for every system at once with numpy; the correlation matrices hold at most
`MATRIX_SYSTEMS_LIMIT` systems, and combined_summary.json says which.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from multifolio.reports.metrics import drawdowns

MATRIX_SYSTEMS_LIMIT = 50  # systems in each correlation matrix (the first in config order); 50 × 50 still reads


# the bar returns correlated at once, at most (64 MB): above, the same sums are added up a window of bars at a time
_RETURNS_VALUES = 1 << 23
# the systems' returns drawn at a time in the windowed sums (8 MB), and the products of pairs added at a time (2 MB)
_WINDOW_VALUES, _PRODUCT_VALUES = 1 << 20, 1 << 18

Window = Callable[[str, int, int], np.ndarray]  # a system's curve at bars first to stop − 1


def correlations(equity: Mapping[str, Any], capital: Mapping[str, float], window: Window | None = None
                 ) -> dict[str, Any]:
    """Pearson correlation of the systems' returns at the data's frequency and per calendar day.

    `equity` holds `timestamp` and each system's equity (a frame's columns, or curves drawn when asked for, one
    system at a time); the first return of each is taken against its initial capital, as in the metrics. The
    matrices (`bar`, `daily`) hold the first `MATRIX_SYSTEMS_LIMIT` systems (`matrix_systems`); `mean` gives
    every system's mean correlation with all the others. `window`, when the curves can be drawn a window of bars
    at a time: more bar returns than `_RETURNS_VALUES` are then never held at once, and the figures are the same
    to the last bit (`_sums_in_windows`).
    """
    names = list(capital)
    days = pd.DatetimeIndex(equity["timestamp"]).normalize()
    ends = np.append(np.flatnonzero(days[1:] != days[:-1]), len(days) - 1) if len(days) else np.empty(0, int)
    in_windows = window is not None and len(names) > 1 and len(days) > 1 and len(days) * len(names) > _RETURNS_VALUES
    # each system's curve drawn once: its returns per bar, and per day from its last value of each day
    bar_returns = None if in_windows else np.empty((len(days), len(names)))
    daily_returns = np.empty((len(ends), len(names)))
    column = np.empty(len(days))
    sums, constant, finite = np.empty(len(names)), np.empty(len(names), bool), True
    for position, name in enumerate(names):
        curve = np.asarray(equity[name], dtype=np.float64)
        if in_windows:
            _fill_returns(column[:, None], 0, curve, capital[name])
            column -= 1.0
            finite = finite and bool(np.isfinite(column).all())
            # what numpy's mean over the rows of the returns adds: the rows one after the other, as cumsum does
            sums[position] = np.cumsum(column)[-1] if len(column) else 0.0
            constant[position] = len(column) > 0 and column.max() == column.min()
        else:
            _fill_returns(bar_returns, position, curve, capital[name])
        _fill_returns(daily_returns, position, _last_of_each_day(curve, days, ends), capital[name])
    del column
    if in_windows and not finite:  # a return across zero equity: pandas' pairwise rule, over every return at once
        return correlations(equity, capital)
    if in_windows:
        gram = _sums_in_windows(names, sums / len(days), len(days), window, capital)
        matrices = {"bar": _correlation(gram, constant)}
    else:
        bar_returns -= 1.0
        matrices = {"bar": _pearson(bar_returns)}
        del bar_returns  # a million bars by a thousand systems: 8 GB, let go before the daily returns are correlated
    daily_returns -= 1.0
    matrices["daily"] = _pearson(daily_returns)
    shown = names[:MATRIX_SYSTEMS_LIMIT]
    section: dict[str, Any] = {frequency: _named(matrix[:len(shown), :len(shown)], shown)
                               for frequency, matrix in matrices.items()}
    section.update({"matrix_systems": shown, "matrix_limit": MATRIX_SYSTEMS_LIMIT,
                    "mean": {frequency: dict(zip(names, _mean_with_the_others(matrix).tolist()))
                             for frequency, matrix in matrices.items()}})
    return section


def _last_of_each_day(curve: np.ndarray, days: pd.DatetimeIndex, ends: np.ndarray) -> np.ndarray:
    """The curve's last value of each calendar day (`days`: each bar's, ascending; `ends`: each day's last bar),
    a missing value left out: pandas' `groupby(days).last()`."""
    if np.isnan(curve).any():
        return pd.Series(curve).groupby(days).last().to_numpy()
    return curve[ends]


def _fill_returns(returns: np.ndarray, position: int, curve: np.ndarray, capital: float) -> None:
    """Column `position` of `returns` (row-major: a million bars by a thousand systems is 8 GB and must not be
    copied over and over): the curve's growth bar to bar, the first against `capital` (its initial capital, or
    the value before a window); 1 is taken off later."""
    with np.errstate(divide="ignore", invalid="ignore"):  # a return across zero equity is ±inf or NaN
        np.divide(curve[1:], curve[:-1], out=returns[1:, position])
        returns[:1, position] = curve[:1] / capital


def _pearson(returns: np.ndarray) -> np.ndarray:
    """The correlation of every pair of columns at once, as pandas' `DataFrame.corr` gives it: 1 on the
    diagonal, NaN for a constant column. Equal to it within 1e-14: pandas sums in another order. `returns`
    (row-major, as `correlations` fills them) is centred in place."""
    bars, count = returns.shape
    if bars < 2:
        return np.full((count, count), np.nan)
    if not np.isfinite(returns).all():
        # a return across zero equity is ±inf or NaN: pandas correlates such a pair over the bars both have
        return pd.DataFrame(returns).corr().to_numpy()
    # one summing order whatever the machine and wherever the frame came from: numpy's own loops, not BLAS
    # (BLAS picks its kernel by CPU, AVX-512 or AVX2, and the kernels add the products in different orders:
    # `centred.T @ centred` differed in the last bits from one machine to another), over row-major returns
    # (numpy's mean and einsum add in another order over columns laid out contiguously, as a frame read
    # from a CSV gives them): each sum runs over the rows one after the other. About 0.8 s at a million bars by
    # 50 systems; BLAS took 0.3 s
    constant = np.ptp(returns, axis=0) == 0  # its centred values may be rounding noise, not zeros
    returns -= returns.mean(axis=0)
    return _correlation(np.einsum("ij,ik->jk", returns, returns, optimize=False), constant)


def _sums_in_windows(names: list[str], means: np.ndarray, bars: int, window: Window,
                     capital: Mapping[str, float]) -> np.ndarray:
    """The sums of products of the centred bar returns of every pair of systems, `_pearson`'s `gram`, to the
    last bit, a window of bars at a time: the returns of `_WINDOW_VALUES` at once, their products
    `_PRODUCT_VALUES` at once. `_pearson` adds each sum over the rows one after the other; so does this, each
    window's products stacked under the sums so far and added up the rows."""
    count = len(names)
    gram = np.zeros((count, count))
    rows = max(1, _WINDOW_VALUES // count)
    products = max(1, _PRODUCT_VALUES // (count * count))
    stacked = np.empty((products + 1, count, count))
    returns = np.empty((rows, count))
    for first in range(0, bars, rows):
        stop = min(first + rows, bars)
        block = returns[:stop - first]
        for position, name in enumerate(names):
            curve = window(name, max(first - 1, 0), stop)
            # the first return against the capital, a later window's against the bar before it
            before, curve = (capital[name], curve) if first == 0 else (curve[0], curve[1:])
            _fill_returns(block, position, curve, before)
        block -= 1.0
        block -= means
        for start in range(0, len(block), products):
            part = block[start:start + products]
            stacked[0] = gram
            np.einsum("tj,tk->tjk", part, part, out=stacked[1:len(part) + 1], optimize=False)
            np.add.reduce(stacked[:len(part) + 1], axis=0, out=gram)
    return gram


def _correlation(gram: np.ndarray, constant: np.ndarray) -> np.ndarray:
    """The correlation matrix from the sums of products of centred returns: 1 on the diagonal, NaN for a
    constant column (its centred values may be rounding noise, not zeros)."""
    scale = np.sqrt(np.diag(gram))
    scale[constant] = 1.0
    matrix = np.clip(gram / np.outer(scale, scale), -1.0, 1.0)
    np.fill_diagonal(matrix, 1.0)
    matrix[constant, :] = np.nan
    matrix[:, constant] = np.nan
    return matrix


def _named(matrix: np.ndarray, names: list[str]) -> dict[str, dict[str, float]]:
    return {row: dict(zip(names, values)) for row, values in zip(names, matrix.tolist())}


def _mean_with_the_others(matrix: np.ndarray) -> np.ndarray:
    """Each row's mean over the other columns, NaN left out (NaN when nothing is left)."""
    others = matrix.copy()
    np.fill_diagonal(others, np.nan)
    known = np.isfinite(others)
    counts = known.sum(axis=1)
    totals = np.where(known, others, 0.0).sum(axis=1)
    return np.where(counts > 0, totals / np.maximum(counts, 1), np.nan)


def drawdown_contributions(combined: np.ndarray, timestamps: pd.DatetimeIndex, names: list[str],
                           values_at: Callable[[int], np.ndarray]) -> dict[str, Any]:
    """Each system's equity change from the combined book's peak to its deepest trough.

    `combined` is the sum of the `names` curves, `values_at(bar)` their values at a bar, in `names` order. The
    changes add up to the combined drawdown in currency; `share` is each one's part of it (positive: the system
    deepened the drawdown).
    """
    depth = drawdowns(pd.Series(combined))
    trough = int(np.argmin(depth))
    peak = int(np.argmax(combined[:trough + 1]))
    loss = float(combined[trough] - combined[peak])
    stamps = pd.DatetimeIndex(timestamps)
    changes = (values_at(trough) - values_at(peak)).tolist()
    by_system = {name: {"change": change, "share": change / loss if loss < 0 else 0.0}
                 for name, change in zip(names, changes)}
    return {"peak_time": stamps[peak].isoformat(), "trough_time": stamps[trough].isoformat(),
            "combined_change": loss, "depth": float(depth[trough]), "by_system": by_system}

"""Figures across systems: return correlations and drawdown contributions (opposing positions: opposing.py).

Each is computed for every system at once with numpy; the correlation matrices hold at most
`MATRIX_SYSTEMS_LIMIT` systems, and combined_summary.json says which.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from multifolio.reports.metrics import drawdowns

MATRIX_SYSTEMS_LIMIT = 50  # systems in each correlation matrix (the first in config order); 50 × 50 still reads


def correlations(equity: pd.DataFrame, capital: Mapping[str, float]) -> dict[str, Any]:
    """Pearson correlation of the systems' returns at the data's frequency and per calendar day.

    `equity` holds `timestamp` and one equity column per system; the first return of
    each is taken against its initial capital, as in the metrics. The matrices (`bar`,
    `daily`) hold the first `MATRIX_SYSTEMS_LIMIT` systems (`matrix_systems`); `mean`
    gives every system's mean correlation with all the others.
    """
    names = list(capital)
    daily = equity.groupby(pd.DatetimeIndex(equity["timestamp"]).normalize())[names].last()
    matrices = {"bar": _pearson(_returns(equity, capital)), "daily": _pearson(_returns(daily, capital))}
    shown = names[:MATRIX_SYSTEMS_LIMIT]
    section: dict[str, Any] = {frequency: _named(matrix[:len(shown), :len(shown)], shown)
                               for frequency, matrix in matrices.items()}
    section.update({"matrix_systems": shown, "matrix_limit": MATRIX_SYSTEMS_LIMIT,
                    "mean": {frequency: dict(zip(names, _mean_with_the_others(matrix).tolist()))
                             for frequency, matrix in matrices.items()}})
    return section


def _returns(values: pd.DataFrame, capital: Mapping[str, float]) -> np.ndarray:
    """Each system's returns in `values` (a column per system in `capital`, the first return taken against its
    capital): a row-major array, filled a column at a time, since a million bars by a thousand systems is 8 GB
    and must not be copied over and over."""
    returns = np.empty((len(values), len(capital)))
    with np.errstate(divide="ignore", invalid="ignore"):  # a return across zero equity is ±inf or NaN
        for position, name in enumerate(capital):
            column = values[name].to_numpy(dtype=np.float64)
            np.divide(column[1:], column[:-1], out=returns[1:, position])
            returns[:1, position] = column[:1] / capital[name]
    returns -= 1.0
    return returns


def _pearson(returns: np.ndarray) -> np.ndarray:
    """The correlation of every pair of columns at once, as pandas' `DataFrame.corr` gives it: 1 on the
    diagonal, NaN for a constant column. Equal to it within 1e-14: pandas sums in another order. `returns`
    (row-major, as `_returns` makes them) is centred in place."""
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
    # from a CSV gives them). About 0.8 s at a million bars by 50 systems; BLAS took 0.3 s
    constant = np.ptp(returns, axis=0) == 0  # its centred values may be rounding noise, not zeros
    returns -= returns.mean(axis=0)
    gram = np.einsum("ij,ik->jk", returns, returns, optimize=False)
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


def drawdown_contributions(equity: pd.DataFrame, names: list[str]) -> dict[str, Any]:
    """Each system's equity change from the combined book's peak to its deepest trough.

    The changes add up to the combined drawdown in currency; `share` is each one's part of it
    (positive: the system deepened the drawdown).
    """
    combined = equity[names].sum(axis=1)
    depth = drawdowns(combined)
    trough = int(np.argmin(depth))
    peak = int(np.argmax(combined.to_numpy()[:trough + 1]))
    loss = float(combined.iloc[trough] - combined.iloc[peak])
    stamps = pd.DatetimeIndex(equity["timestamp"])
    changes = (equity[names].iloc[trough].to_numpy() - equity[names].iloc[peak].to_numpy()).tolist()
    by_system = {name: {"change": change, "share": change / loss if loss < 0 else 0.0}
                 for name, change in zip(names, changes)}
    return {"peak_time": stamps[peak].isoformat(), "trough_time": stamps[trough].isoformat(),
            "combined_change": loss, "depth": float(depth[trough]), "by_system": by_system}

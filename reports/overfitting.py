"""How much a sweep's winner is owed to luck: the deflated Sharpe ratio and the probability of backtest
overfitting, computed once per sweep from its systems' per-bar returns (the `overfitting` of each group of
combined_summary.json's `sweeps`).

- Deflated Sharpe ratio (Bailey & López de Prado, "The Deflated Sharpe Ratio", 2014): the probability that
  the best system's true Sharpe ratio is above the maximum a set of N unskilled trials would be expected to
  reach by chance, given the trials' spread, the track record's length and its non-normal returns.
- Probability of backtest overfitting (Bailey, Borwein, López de Prado & Zhu, 2017), by combinatorially
  symmetric cross-validation (CSCV): how often the system best in one half of the bars ranks below the
  median in the other half.

Sharpe ratios here are per bar and not annualised (mean / sample standard deviation); skewness and kurtosis
are the population moments (kurtosis not in excess: 3 for a normal distribution), as in the paper.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from statistics import NormalDist
from typing import Any

import numpy as np

EULER_GAMMA = 0.5772156649015329  # the Euler–Mascheroni constant, in the expected maximum of N normal draws
BLOCKS = 16  # CSCV's S: the bars are cut in S blocks, every S/2 of them one in-sample half (C(16, 8) = 12,870)
_MIN_BLOCK_BARS = 2  # a block's Sharpe ratio needs a standard deviation
_SPLITS_PER_CHUNK = 512  # splits scored at once: 512 × 10,000 systems × 8 bytes = 41 MB per array
_SYSTEMS_PER_CHUNK = 256  # columns turned into returns at once when summing the blocks
_NORMAL = NormalDist()


def sharpe_ratios(returns: np.ndarray) -> np.ndarray:
    """Each column's per-bar Sharpe ratio (mean / standard deviation with ddof 1; 0 when the column is flat)."""
    mean = returns.mean(axis=0)
    deviation = returns.std(axis=0, ddof=1)
    return np.divide(mean, deviation, out=np.zeros_like(mean), where=deviation > 0)


def expected_maximum_sharpe(trials: int, variance: float) -> float:
    """SR0: the Sharpe ratio the best of `trials` unskilled trials would be expected to reach, their Sharpe ratios
    spread with `variance` (0 for one trial: nothing was selected)."""
    if trials < 2:
        return 0.0
    return math.sqrt(variance) * ((1 - EULER_GAMMA) * _NORMAL.inv_cdf(1 - 1 / trials)
                                  + EULER_GAMMA * _NORMAL.inv_cdf(1 - 1 / (trials * math.e)))


def deflated_sharpe(sharpe: float, bars: int, skewness: float, kurtosis: float, trials: int,
                    variance: float) -> float:
    """DSR = Φ((SR − SR0)·√(T−1) / √(1 − γ3·SR + (γ4−1)/4·SR²)), SR0 from `expected_maximum_sharpe`."""
    threshold = expected_maximum_sharpe(trials, variance)
    spread = 1 - skewness * sharpe + (kurtosis - 1) / 4 * sharpe ** 2
    return _NORMAL.cdf((sharpe - threshold) * math.sqrt(bars - 1) / math.sqrt(spread))


def deflated_sharpe_of(returns: np.ndarray, names: Sequence[str]) -> dict[str, Any]:
    """The DSR of the column with the best Sharpe ratio among `returns`' (T bars × N systems), with its inputs."""
    bars, trials = returns.shape
    if bars < 3:
        return {"value": None, "reason": f"needs at least 3 returns (4 bars), the sweep has {bars}"}
    ratios = sharpe_ratios(returns)
    best = int(np.argmax(ratios))
    column = returns[:, best]
    centred = column - column.mean()
    second = float(np.mean(centred ** 2))
    if second == 0:
        return {"value": None, "reason": f"{names[best]} has flat equity: no Sharpe ratio to deflate"}
    skewness = float(np.mean(centred ** 3)) / second ** 1.5
    kurtosis = float(np.mean(centred ** 4)) / second ** 2
    variance = float(np.var(ratios, ddof=1)) if trials > 1 else 0.0
    value = deflated_sharpe(float(ratios[best]), bars, skewness, kurtosis, trials, variance)
    return {"value": value, "system": names[best], "sharpe": float(ratios[best]),
            "expected_maximum_sharpe": expected_maximum_sharpe(trials, variance), "trials": trials,
            "sharpe_variance": variance, "returns": bars, "skewness": skewness, "kurtosis": kurtosis}


def block_count(bars: int) -> int:
    """S for `bars` returns: 16, fewer (even) when the blocks would hold fewer than 2 bars; < 4 means none."""
    return min(BLOCKS, 2 * (bars // (2 * _MIN_BLOCK_BARS)))


def block_sums(returns: Any, blocks: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per block (rows) and system (columns): the bars, the sum of returns and the sum of squared returns.

    `returns` is anything indexable as `returns[:, columns]` giving a float array (T × N); it is read a few
    columns at a time, so nothing T × N is copied whole."""
    bars, systems = returns.shape
    edges = np.array([len(part) for part in np.array_split(np.arange(bars), blocks)]).cumsum()[:-1]
    starts = np.concatenate([[0], edges])
    sums, squares = np.empty((blocks, systems)), np.empty((blocks, systems))
    for first in range(0, systems, _SYSTEMS_PER_CHUNK):
        columns = np.asarray(returns[:, first:first + _SYSTEMS_PER_CHUNK], dtype=float)
        sums[:, first:first + columns.shape[1]] = np.add.reduceat(columns, starts, axis=0)
        squares[:, first:first + columns.shape[1]] = np.add.reduceat(columns ** 2, starts, axis=0)
    counts = np.diff(np.concatenate([starts, [bars]])).astype(float)
    return counts, sums, squares


def _halves_sharpe(chosen: np.ndarray, counts: np.ndarray, sums: np.ndarray, squares: np.ndarray) -> np.ndarray:
    """The Sharpe ratio of each system over the blocks `chosen` marks (splits × blocks, 0/1): splits × systems."""
    n = (chosen @ counts)[:, None]
    total, square = chosen @ sums, chosen @ squares
    variance = (square - total ** 2 / n) / (n - 1)
    deviation = np.sqrt(np.maximum(variance, 0.0))
    return np.divide(total / n, deviation, out=np.zeros_like(total), where=deviation > 1e-300)


def _average_rank(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """The rank (1 = lowest, ties averaged) of `values[i, index[i]]` within each row of `values`."""
    picked = values[np.arange(len(values)), index][:, None]
    below, equal = (values < picked).sum(axis=1), (values == picked).sum(axis=1)
    return below + (equal + 1) / 2


def probability_of_overfitting(returns: Any) -> dict[str, Any]:
    """PBO by CSCV over `returns` (T bars × N systems): the share of the C(S, S/2) splits whose in-sample best
    has an out-of-sample relative rank ω with logit ln(ω/(1−ω)) ≤ 0, i.e. at or below the median."""
    bars, systems = returns.shape
    if systems < 2:
        return {"value": None, "reason": "one system: nothing was selected"}
    blocks = block_count(bars)
    if blocks < 4:
        return {"value": None, "reason": f"needs at least {4 * _MIN_BLOCK_BARS} returns (4 blocks of "
                                         f"{_MIN_BLOCK_BARS}), the sweep has {bars}"}
    counts, sums, squares = block_sums(returns, blocks)
    overfit = splits = 0
    logits = []
    halves = itertools.combinations(range(blocks), blocks // 2)
    while chunk := list(itertools.islice(halves, _SPLITS_PER_CHUNK)):
        inside = np.zeros((len(chunk), blocks))
        inside[np.repeat(np.arange(len(chunk)), blocks // 2), np.concatenate(chunk)] = 1.0
        best = np.argmax(_halves_sharpe(inside, counts, sums, squares), axis=1)
        rank = _average_rank(_halves_sharpe(1.0 - inside, counts, sums, squares), best)
        relative = rank / (systems + 1)
        logit = np.log(relative / (1 - relative))
        overfit += int((logit <= 0).sum())
        splits += len(chunk)
        logits.append(logit)
    every = np.concatenate(logits)
    return {"value": overfit / splits, "blocks": blocks, "splits": splits, "systems": systems,
            "median_logit": float(np.median(every))}


def overfitting(returns: Any, names: Sequence[str]) -> dict[str, Any]:
    """Both figures of one sweep: `deflated_sharpe` and `pbo`, each a dict whose `value` is null with a
    `reason` when it cannot be computed."""
    return {"deflated_sharpe": deflated_sharpe_of(np.asarray(returns, dtype=float), names),
            "pbo": probability_of_overfitting(returns)}


def per_bar_returns(equity: np.ndarray) -> np.ndarray:
    """Simple returns bar to bar of equity columns (T+1 × N → T × N); 0 where undefined (a zero equity)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        returns = equity[1:] / equity[:-1] - 1.0
    return np.where(np.isfinite(returns), returns, 0.0)


def add_overfitting(sweeps: dict[str, Any], equities: Mapping[str, Any]) -> None:
    """Each group of the `sweeps` section gains `overfitting`, from its systems' curves in `equities` (`timestamp`
    and the equity of each system, their own growth, transfers taken out: a frame's columns, or curves drawn when
    asked for, one system at a time)."""
    for group in sweeps["groups"]:
        names = [row["system"] for row in group["leaderboard"] if row["system"] in equities]
        group["overfitting"] = overfitting(_returns_by_column(equities, names), names)


def _returns_by_column(equities: Mapping[str, Any], names: list[str]) -> np.ndarray:
    """`per_bar_returns` of the `names` curves side by side, filled a column at a time and laid out column by
    column, as a frame's `to_numpy()` lays them out (the figures' sums over bars add in that order)."""
    returns = np.empty((max(len(equities["timestamp"]) - 1, 0), len(names)), order="F")
    for position, name in enumerate(names):
        returns[:, position] = per_bar_returns(np.asarray(equities[name], dtype=float))
    return returns


def describe_overfitting(figures: dict[str, Any] | None) -> str:
    """One line on a sweep's `overfitting`, for the terminal and the sweep page."""
    if not figures:
        return ""
    dsr, pbo = figures["deflated_sharpe"], figures["pbo"]
    first = (f"deflated Sharpe ratio {dsr['value']:.3f} (of {dsr['system']}, the best Sharpe of "
             f"{dsr['trials']:,} tried; near 1: it survives the number of trials)" if dsr["value"] is not None
             else f"deflated Sharpe ratio: none ({dsr['reason']})")
    second = (f"probability of backtest overfitting {pbo['value']:.3f} (CSCV, {pbo['blocks']} blocks, "
              f"{pbo['splits']:,} splits; above 0.5: the in-sample best tends to fall below the median out of "
              f"sample)" if pbo["value"] is not None else f"probability of backtest overfitting: none ({pbo['reason']})")
    return f"Overfitting: {first}; {second}."

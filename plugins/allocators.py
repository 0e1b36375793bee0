"""Built-in allocators: how the book splits its capital between its systems at each rebalance.

Every rule but `fixed` gives weights ≥ 0 that sum to 1, one per system in `context.systems`
order. They read `context.returns` with ±inf counted as missing, like NaN. The rules that need
a statistic of each system share one fallback (`_shares`): a system whose statistic is
undefined (too few returns in the lookback, or no variation) gets the equal weight 1/N, and the
others share what is left in proportion to their scores, equally when every score is 0.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from multifolio.protocols import AllocationContext, Allocator, ConfigError

#: Largest sum of `fixed` weights accepted: 1 plus a rounding error of the YAML's decimals.
SUM_TOLERANCE = 1e-9
#: `risk_parity` solves until every system's share of the risk is within this of 1/N (relative).
RISK_PARITY_TOLERANCE = 1e-10
#: A correlation matrix whose smallest eigenvalue is below this is singular for `risk_parity`: beyond a
#: condition number of about 1e6, rounding in Σw alone moves the risk shares by more than the tolerance.
SINGULAR_EIGENVALUE = 1e-6
_NEWTON_STEPS = 100
_STALLED_STEPS = 3


class FixedAllocator(Allocator):
    """The weights given, by system name: `weights` ≥ 0 summing to at most 1 (the rest stays cash).

    A system without a weight gets 0. A name that is not one of the book's systems is an error
    at the first rebalance (the book checks the names against its systems before that).
    """

    def __init__(self, *, weights: dict[str, float]) -> None:
        if not isinstance(weights, Mapping):
            raise ConfigError("weights", f"must map system names to weights, was {weights!r}")
        self.targets: dict[str, float] = {}
        for name, weight in weights.items():
            if not isinstance(name, str) or not name:
                raise ConfigError("weights", f"keys are system names, found {name!r}")
            number = isinstance(weight, (int, float)) and not isinstance(weight, bool)
            if not (number and math.isfinite(weight) and weight >= 0):
                raise ConfigError(f"weights.{name}", f"must be a number ≥ 0, was {weight!r}")
            self.targets[name] = float(weight)
        total = math.fsum(self.targets.values())
        if total > 1 + SUM_TOLERANCE:
            raise ConfigError("weights", f"sum to {total:g}; they must sum to at most 1 (what is left stays cash)")

    def weights(self, context: AllocationContext) -> dict[str, float]:
        unknown = [name for name in self.targets if name not in context.systems]
        if unknown:
            close = difflib.get_close_matches(unknown[0], context.systems, n=1, cutoff=0.5)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigError("weights", f"{unknown[0]!r} is not a system of the book; systems: "
                                         f"{', '.join(context.systems)}{hint}")
        return {name: self.targets.get(name, 0.0) for name in context.systems}


class EqualAllocator(Allocator):
    """1/N to each of the N systems."""

    def weights(self, context: AllocationContext) -> dict[str, float]:
        return _by_system(context, np.full(len(context.systems), 1.0 / max(len(context.systems), 1)))


class InverseVolatilityAllocator(Allocator):
    """w ∝ 1/σ, σ the sample standard deviation (ddof = 1) of each system's returns over the lookback,
    its missing returns left out. A system with fewer than 2 returns, or whose returns are all equal
    (σ = 0), gets 1/N and the others share the rest ∝ 1/σ; 1/N each when no σ is defined."""

    def weights(self, context: AllocationContext) -> dict[str, float]:
        return _by_system(context, _inverse_volatility(_returns(context)))


class RiskParityAllocator(Allocator):
    """Equal risk contributions: w_i·(Σw)_i the same for every system, w ≥ 0 summing to 1, Σ the sample
    covariance (ddof = 1) of the returns over the lookback on the bars where every system has a return.

    Solved by damped Newton steps on Spinu's convex problem (minimise ½·yᵀCy − Σ ln(y_i)/N over y > 0,
    C the correlation matrix; w ∝ y/σ), until each share of the risk w_i·(Σw)_i / wᵀΣw is within
    1e-10 × 1/N of 1/N. Uncorrelated systems get inverse_volatility's weights, as do two systems
    whatever their correlation. When Σ cannot be used — fewer complete bars than systems + 1, a
    system without variation on them, a (numerically) singular correlation matrix, its smallest
    eigenvalue below 1e-6 — or the solver does not reach the tolerance, the weights are
    inverse_volatility's over all the returns.
    """

    def weights(self, context: AllocationContext) -> dict[str, float]:
        returns = _returns(context)
        complete = returns[~np.isnan(returns).any(axis=1)]
        n = returns.shape[1]
        sigma = _volatility(complete)
        # a sample covariance of m bars has rank m − 1 at most: n systems need n + 1 complete bars
        if n == 0 or len(complete) < n + 1 or np.isnan(sigma).any():
            return _by_system(context, _inverse_volatility(returns))
        centred = complete - complete.mean(axis=0)
        covariance = centred.T @ centred / (len(complete) - 1)
        # Solving on the correlation matrix makes the problem scale-free: y for C is w·σ for Σ.
        correlation = covariance / np.outer(sigma, sigma)
        solution = None
        if np.linalg.eigvalsh(correlation)[0] >= SINGULAR_EIGENVALUE:
            solution = _equal_risk(correlation)
        if solution is None:
            return _by_system(context, _inverse_volatility(returns))
        weights = solution / sigma
        return _by_system(context, weights / weights.sum())


class PerformanceAllocator(Allocator):
    """w ∝ max(R − hurdle, 0), R each system's compounded return over the lookback, ∏(1 + r) − 1 over
    its returns there (missing ones left out). A system with no return in the lookback (or an
    infinite R) gets 1/N and the others share the rest; 1/N each when no system beats the hurdle.

    `hurdle` (default 0): the return over the lookback a system must beat to get a weight.
    """

    def __init__(self, *, hurdle: float = 0.0) -> None:
        if not (math.isfinite(hurdle) and hurdle > -1):
            raise ConfigError("hurdle", f"must be a return over the lookback > -1, was {hurdle}")
        self.hurdle = hurdle

    def weights(self, context: AllocationContext) -> dict[str, float]:
        returns = _returns(context)
        present = ~np.isnan(returns)
        with np.errstate(over="ignore", invalid="ignore"):  # an overflowing product is infinite: undefined
            compounded = np.prod(np.where(present, 1.0 + returns, 1.0), axis=0) - 1.0
        compounded[~present.any(axis=0) | ~np.isfinite(compounded)] = np.nan
        return _by_system(context, _shares(np.maximum(compounded - self.hurdle, 0.0)))


def _returns(context: AllocationContext) -> np.ndarray:
    """The returns as floats (bars × systems, `context.systems` order), ±inf made NaN."""
    frame = context.returns.loc[:, list(context.systems)]
    returns = frame.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    returns[np.isinf(returns)] = np.nan
    return returns


def _volatility(returns: np.ndarray) -> np.ndarray:
    """Each column's sample standard deviation (ddof = 1) over its non-NaN values; NaN for fewer than
    2 values or values all equal (whose computed σ would be rounding noise, not 0)."""
    frame = pd.DataFrame(returns)
    sigma = frame.std(ddof=1).to_numpy(dtype=np.float64, copy=True)
    sigma[(frame.max() == frame.min()).to_numpy() | ~(sigma > 0)] = np.nan
    return sigma


def _inverse_volatility(returns: np.ndarray) -> np.ndarray:
    sigma = _volatility(returns)
    defined = ~np.isnan(sigma)
    scores = np.full(len(sigma), np.nan)
    if defined.any():
        scores[defined] = sigma[defined].min() / sigma[defined]  # ∝ 1/σ, at most 1: no overflow for a tiny σ
    return _shares(scores)


def _shares(scores: np.ndarray) -> np.ndarray:
    """Weights summing to 1 from scores ≥ 0 (NaN: undefined): 1/N to each undefined one, the rest
    shared by the others ∝ their scores, equally when those are all 0."""
    n = len(scores)
    weights = np.full(n, 1.0 / max(n, 1))
    defined = ~np.isnan(scores)
    if defined.any() and scores[defined].max() > 0:
        scaled = scores[defined] / scores[defined].max()
        weights[defined] = defined.sum() / n * scaled / scaled.sum()
    return weights


def _equal_risk(correlation: np.ndarray) -> np.ndarray | None:
    """y > 0 with y_i·(Cy)_i equal for every i, or None when Newton does not reach the tolerance.

    Minimises f(y) = ½·yᵀCy − b·Σ ln y_i (b = 1/N), strictly convex for C positive definite, whose
    gradient Cy − b/y vanishes exactly where every y_i·(Cy)_i = b. N·f is self-concordant, so Newton
    steps damped by 1/(1 + λ), λ its Newton decrement, stay in y > 0 and converge from any start,
    quadratically once λ < 1/4. No line search: near the solution f changes by less than its own
    rounding, so comparing values of f would stall there.
    """
    n = len(correlation)
    budget = 1.0 / n
    y = np.full(n, 1.0 / math.sqrt(correlation.sum()))  # yᵀCy = 1, the solution's own risk
    best, best_spread, stalled = y, _risk_spread(correlation, y), 0
    # Once the steps are full (quadratic convergence), rounding sets a floor on the spread; stop
    # when it no longer falls, keeping the best point seen.
    for _ in range(_NEWTON_STEPS):
        if best_spread <= RISK_PARITY_TOLERANCE * 1e-3 or stalled == _STALLED_STEPS:
            break
        gradient = correlation @ y - budget / y
        step = np.linalg.solve(correlation + np.diag(budget / y**2), -gradient)
        decrement = math.sqrt(max(-n * float(gradient @ step), 0.0))
        y = y + (step if decrement < 0.25 else step / (1.0 + decrement))
        if not (y > 0).all():  # cannot happen in exact arithmetic; rounding must not make it a crash
            break
        spread = _risk_spread(correlation, y)
        stalled = stalled + 1 if decrement < 0.25 and spread >= best_spread else 0
        if spread < best_spread:
            best, best_spread = y, spread
    return best if best_spread <= RISK_PARITY_TOLERANCE else None


def _risk_spread(covariance: np.ndarray, weights: np.ndarray) -> float:
    """max_i |N·RC_i − 1|, RC_i = w_i·(Σw)_i / wᵀΣw each system's share of the risk (0 when all equal)."""
    contributions = weights * (covariance @ weights)
    return float(np.abs(len(weights) * contributions / contributions.sum() - 1.0).max())


def _by_system(context: AllocationContext, weights: np.ndarray) -> dict[str, float]:
    return {name: float(weight) for name, weight in zip(context.systems, weights, strict=True)}


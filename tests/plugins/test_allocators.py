"""Built-in allocators: hand-computed weights, risk parity by its defining property, invariants of every rule."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from multifolio import AllocationContext, Allocator, ConfigError
from multifolio.config.registry import PluginKind, PluginRegistry
from multifolio.plugins.allocators import PerformanceAllocator

REGISTRY = PluginRegistry()
NAN = math.nan
BUILT_INS = ["equal", "fixed", "inverse_volatility", "performance", "risk_parity"]


def allocator(name: str, **parameters) -> Allocator:
    """A built-in built as a config would build it: by entry-point name, parameters checked."""
    return REGISTRY.create(PluginKind.ALLOCATOR, name, parameters, "allocation")


def context(returns: Mapping[str, Sequence[float]] | pd.DataFrame) -> AllocationContext:
    """A rebalance over `returns` (a column per system, oldest bar first), from equal current weights."""
    frame = pd.DataFrame(returns, dtype=np.float64)
    systems = tuple(frame.columns)
    return AllocationContext(timestamp=pd.Timestamp("2024-03-01"), systems=systems, returns=frame,
                             weights=pd.Series(1.0 / max(len(systems), 1), index=list(systems)))


def weights_of(name: str, returns, **parameters) -> list[float]:
    return list(allocator(name, **parameters).weights(context(returns)).values())


def risk_spread(weights: Sequence[float], covariance: np.ndarray) -> float:
    """max |N·RC_i − 1|, RC_i = w_i(Σw)_i / wᵀΣw: 0 when every system carries the same share of the risk."""
    w = np.asarray(weights)
    contributions = w * (covariance @ w)
    return float(np.abs(len(w) * contributions / contributions.sum() - 1).max())


# σ (ddof = 1) of [x, −x, 0]: mean 0, Σ squares 2x², / (3 − 1) → σ = x
SIGMA_1PCT = [0.01, -0.01, 0.0]
SIGMA_2PCT = [0.02, -0.02, 0.0]


@pytest.mark.parametrize("name", BUILT_INS)
def test_each_built_in_loads_by_name_through_its_entry_point(registry, name):
    assert issubclass(registry.load(PluginKind.ALLOCATOR, name), Allocator)


def test_the_built_ins_are_exactly_the_documented_five(registry):
    assert registry.names(PluginKind.ALLOCATOR) == BUILT_INS


# fixed


def test_fixed_gives_its_weights_and_0_to_a_system_it_does_not_name():
    returns = {"alpha": [0.01], "beta": [0.02], "gamma": [0.0]}
    assert allocator("fixed", weights={"gamma": 0.3, "alpha": 0.6}).weights(context(returns)) == {
        "alpha": 0.6, "beta": 0.0, "gamma": 0.3}


def test_fixed_refuses_at_first_use_a_name_that_is_not_a_system_of_the_book():
    fixed = allocator("fixed", weights={"alpah": 0.5})
    with pytest.raises(ConfigError, match=r"^weights: 'alpah' is not a system of the book; systems: alpha, beta "
                                          r"\(did you mean alpha\?\)$"):
        fixed.weights(context({"alpha": [0.01], "beta": [0.02]}))


def test_fixed_accepts_a_sum_over_1_by_rounding_only():
    allocator("fixed", weights={"a": 0.7, "b": 0.3 + 1e-10})
    with pytest.raises(ConfigError, match=r"^allocation.weights: sum to 1.001; they must sum to at most 1"):
        allocator("fixed", weights={"a": 0.7, "b": 0.301})


@pytest.mark.parametrize(("weights", "message"), [
    ({"a": -0.1}, "allocation.weights.a: must be a number ≥ 0, was -0.1"),
    ({"a": NAN}, "allocation.weights.a: must be a number ≥ 0, was nan"),
    ({"a": math.inf}, "allocation.weights.a: must be a number ≥ 0, was inf"),
    ({"a": True}, "allocation.weights.a: must be a number ≥ 0, was True"),
    ({"a": "half"}, "allocation.weights.a: must be a number ≥ 0, was 'half'"),
    ({1: 0.5}, "allocation.weights: keys are system names, found 1"),
    ([0.5, 0.5], "allocation.weights: must map system names to weights, was [0.5, 0.5]"),
])
def test_fixed_refuses_weights_that_are_not_a_map_of_names_to_numbers_at_least_0(weights, message):
    with pytest.raises(ConfigError) as caught:
        allocator("fixed", weights=weights)
    assert str(caught.value) == message


# equal


def test_equal_gives_each_system_1_over_n():
    assert weights_of("equal", {"a": SIGMA_1PCT, "b": SIGMA_2PCT, "c": [NAN] * 3}) == [1 / 3] * 3


# inverse_volatility


def test_inverse_volatility_weights_are_proportional_to_1_over_sigma():
    # σ 0.01 and 0.02 → 1/σ 100 and 50 → 100/150 and 50/150
    assert weights_of("inverse_volatility", {"a": SIGMA_1PCT, "b": SIGMA_2PCT}) == pytest.approx([2 / 3, 1 / 3],
                                                                                                 rel=1e-12)


def test_inverse_volatility_leaves_out_each_systems_missing_returns():
    returns = {"a": [NAN, *SIGMA_1PCT], "b": [*SIGMA_2PCT, NAN]}
    assert weights_of("inverse_volatility", returns) == pytest.approx([2 / 3, 1 / 3], rel=1e-12)


def test_inverse_volatility_gives_1_over_n_where_sigma_is_0_or_undefined_and_shares_the_rest():
    # c never moves (σ 0), d has one return: 1/4 each; a and b share the other 1/2 as 2 : 1 → 1/3 and 1/6
    returns = {"a": SIGMA_1PCT, "b": SIGMA_2PCT, "c": [0.001] * 3, "d": [NAN, NAN, 0.03]}
    assert weights_of("inverse_volatility", returns) == pytest.approx([1 / 3, 1 / 6, 1 / 4, 1 / 4], rel=1e-12)


def test_inverse_volatility_is_equal_when_no_sigma_is_defined():
    assert weights_of("inverse_volatility", {"a": [], "b": [], "c": []}) == [1 / 3] * 3
    assert weights_of("inverse_volatility", {"a": [0.01, 0.01], "b": [NAN, 0.02]}) == [0.5, 0.5]


# risk_parity

# Centred columns that are mutually orthogonal (rows of a Hadamard matrix): the sample covariance is diagonal,
# σ_b = 2σ_a and σ_c = 3σ_a, so the weights are ∝ 1, 1/2, 1/3 = 6/11, 3/11, 2/11.
UNCORRELATED = {"a": [0.01, -0.01, 0.01, -0.01], "b": [0.02, 0.02, -0.02, -0.02], "c": [0.03, -0.03, -0.03, 0.03]}


def test_risk_parity_of_uncorrelated_systems_is_inverse_volatility():
    assert weights_of("risk_parity", UNCORRELATED) == pytest.approx([6 / 11, 3 / 11, 2 / 11], rel=1e-12)
    assert weights_of("risk_parity", UNCORRELATED) == pytest.approx(weights_of("inverse_volatility", UNCORRELATED),
                                                                   rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), correlation=st.floats(-0.9, 0.95), ratio=st.floats(0.05, 20))
def test_risk_parity_of_two_systems_is_proportional_to_1_over_sigma_whatever_their_correlation(seed, correlation,
                                                                                             ratio):
    # w1·(σ1²w1 + ρσ1σ2w2) = w2·(σ2²w2 + ρσ1σ2w1) holds when w1σ1 = w2σ2, for every ρ
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((30, 2))
    first = noise[:, 0]
    second = ratio * (correlation * first + math.sqrt(1 - correlation**2) * noise[:, 1])
    returns = {"a": 0.01 * first, "b": 0.01 * second}
    sigma = pd.DataFrame(returns).std(ddof=1).to_numpy()
    assert weights_of("risk_parity", returns) == pytest.approx(list((1 / sigma) / (1 / sigma).sum()), rel=1e-9)


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), systems=st.integers(2, 8), extra_bars=st.integers(2, 60),
       common=st.floats(-0.4, 0.9))
def test_risk_parity_equalises_the_risk_contributions_of_random_covariances(seed, systems, extra_bars, common):
    rng = np.random.default_rng(seed)
    bars = systems + extra_bars
    # a common factor (negative: systems that hedge each other) plus each system's own noise, at its own scale
    factor = rng.standard_normal((bars, 1)) * math.sqrt(abs(common))
    mixed = np.sign(common) * factor * rng.choice([-1.0, 1.0], systems) + rng.standard_normal((bars, systems))
    frame = pd.DataFrame(mixed * rng.uniform(0.001, 0.05, systems), columns=[f"s{i}" for i in range(systems)])
    covariance = frame.cov(ddof=1).to_numpy()
    sigma = np.sqrt(np.diag(covariance))
    assume(np.linalg.eigvalsh(covariance / np.outer(sigma, sigma))[0] > 1e-6)
    weights = weights_of("risk_parity", frame)
    assert all(w > 0 for w in weights) and sum(weights) == pytest.approx(1, abs=1e-12)
    assert risk_spread(weights, covariance) <= 1e-9


def test_risk_parity_matches_an_independent_solver():
    optimize = pytest.importorskip("scipy.optimize")
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(rng.standard_normal((40, 4)) @ rng.uniform(-1, 1, (4, 4)) * 0.01, columns=list("abcd"))
    covariance = frame.cov().to_numpy()

    # The defining equations themselves, w_i·(Σw)_i = w_{i+1}·(Σw)_{i+1} and Σ w = 1, solved by MINPACK's
    # hybrid method from equal weights: another formulation and another solver than the plugin's.
    def unequal(w: np.ndarray) -> np.ndarray:
        contributions = w * (covariance @ w)
        return np.append(np.diff(contributions), w.sum() - 1)

    found = optimize.root(unequal, np.full(4, 0.25), method="hybr", options={"xtol": 1e-14})
    assert found.success and (found.x > 0).all()
    assert weights_of("risk_parity", frame) == pytest.approx(list(found.x), rel=1e-9)


def test_risk_parity_leaves_out_the_bars_where_a_system_has_no_return():
    with_gaps = {name: [NAN if name == "b" else 0.05, *column] for name, column in UNCORRELATED.items()}
    assert weights_of("risk_parity", with_gaps) == weights_of("risk_parity", UNCORRELATED)


@pytest.mark.parametrize("returns", [
    # c = a + b: a singular covariance
    {"a": [0.01, -0.02, 0.03, 0.0, 0.01], "b": [0.02, 0.01, -0.01, 0.02, -0.03],
     "c": [0.03, -0.01, 0.02, 0.02, -0.02]},
    # 3 complete bars for 3 systems: a sample covariance of rank 2 at most
    {"a": [NAN, *SIGMA_1PCT], "b": [0.05, *SIGMA_2PCT], "c": [0.01, 0.02, -0.01, 0.03]},
    # c never moves
    {"a": [*SIGMA_1PCT, 0.0], "b": [*SIGMA_2PCT, 0.01], "c": [0.001] * 4},
    # no bars at all (the first allocation)
    {"a": [], "b": [], "c": []},
], ids=["singular", "too-few-complete-bars", "no-variation", "no-bars"])
def test_risk_parity_falls_back_to_inverse_volatility_when_the_covariance_cannot_be_used(returns):
    assert weights_of("risk_parity", returns) == weights_of("inverse_volatility", returns)


# performance


def test_performance_weights_are_proportional_to_the_compounded_return_clipped_at_0():
    # a: 1.1 × 1.1 − 1 = 0.21; b: 0.05 (its missing bar left out); c: 0.9 × 1.05 − 1 = −0.055 → 0
    returns = {"a": [0.10, 0.10], "b": [NAN, 0.05], "c": [-0.10, 0.05]}
    assert weights_of("performance", returns) == pytest.approx([0.21 / 0.26, 0.05 / 0.26, 0.0], rel=1e-12)


def test_performance_counts_only_what_beats_the_hurdle():
    # above a hurdle of 0.1 over the lookback: a 0.21 − 0.1 = 0.11, b 0.05 − 0.1 → 0, c → 0
    returns = {"a": [0.10, 0.10], "b": [NAN, 0.05], "c": [-0.10, 0.05]}
    assert weights_of("performance", returns, hurdle=0.1) == pytest.approx([1.0, 0.0, 0.0], rel=1e-12)


def test_performance_is_equal_when_no_system_gained():
    assert weights_of("performance", {"a": [-0.01, 0.0], "b": [0.0, 0.0], "c": [0.02, -0.03]}) == [1 / 3] * 3


def test_performance_gives_1_over_n_to_a_system_without_returns_and_shares_the_rest():
    # b has no return yet: 1/3; a (0.21) takes the other 2/3, c (−0.055) nothing
    returns = {"a": [0.10, 0.10], "b": [NAN, NAN], "c": [-0.10, 0.05]}
    assert weights_of("performance", returns) == pytest.approx([2 / 3, 1 / 3, 0.0], rel=1e-12)


@pytest.mark.parametrize("hurdle", [-1.0, -2.0, NAN, math.inf])
def test_performance_refuses_a_hurdle_that_is_not_a_return_above_minus_1(hurdle):
    # built directly: the registry itself refuses a NaN or infinite float parameter before the class sees it
    with pytest.raises(ConfigError, match=r"^hurdle: must be a return over the lookback > -1"):
        PerformanceAllocator(hurdle=hurdle)


# every allocator

EVERY = [("equal", {}), ("fixed", {"weights": {"s0": 0.4, "s1": 0.35}}), ("inverse_volatility", {}),
         ("risk_parity", {}), ("performance", {}), ("performance", {"hurdle": 0.05})]
RETURN_VALUES = st.floats(-0.9, 1.5) | st.just(NAN) | st.just(math.inf) | st.just(0.0)


@settings(max_examples=150, deadline=None)
@given(returns=st.integers(2, 6).flatmap(
           lambda n: arrays(np.float64, st.tuples(st.integers(0, 25), st.just(n)), elements=RETURN_VALUES)),
       which=st.sampled_from(EVERY))
def test_every_allocator_gives_finite_weights_at_least_0_summing_to_at_most_1_the_same_each_time(returns, which):
    name, parameters = which
    frame = pd.DataFrame(returns, columns=[f"s{i}" for i in range(returns.shape[1])])
    given_frame = frame.copy()
    rebalance = context(frame)
    first = allocator(name, **parameters).weights(rebalance)
    again = allocator(name, **parameters).weights(context(frame.copy()))
    assert list(first) == list(rebalance.systems)
    assert all(math.isfinite(w) and w >= 0 for w in first.values())
    assert math.fsum(first.values()) <= 1 + 1e-9
    if name != "fixed":
        assert math.fsum(first.values()) == pytest.approx(1, abs=1e-12)
    assert first == again
    pd.testing.assert_frame_equal(rebalance.returns, given_frame)  # the book's frame is left as it was


@pytest.mark.parametrize(("name", "parameters"), [(name, {"weights": {"s0": 0.4}} if name == "fixed" else parameters)
                                                  for name, parameters in EVERY])
@pytest.mark.parametrize("returns", [[], [0.01], [-0.02, NAN, 0.01, 0.03]], ids=["no-bars", "one-bar", "four-bars"])
def test_every_allocator_handles_a_single_system(name, parameters, returns):
    weights = allocator(name, **parameters).weights(context({"s0": returns}))
    assert weights == {"s0": 0.4 if name == "fixed" else 1.0}

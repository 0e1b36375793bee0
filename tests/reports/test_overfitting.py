"""The deflated Sharpe ratio against the paper's example and a hand computation; PBO against a plain loop."""

from __future__ import annotations

import itertools
import math
from statistics import NormalDist

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from multifolio.reports.overfitting import (
    block_count,
    deflated_sharpe,
    deflated_sharpe_of,
    expected_maximum_sharpe,
    per_bar_returns,
    probability_of_overfitting,
)


def test_the_papers_numerical_example_gives_its_threshold_and_deflated_sharpe():
    # Bailey & López de Prado 2014, section 4: annual SR 2.5 over 1,250 days (250 a year), skew -3, kurtosis 10,
    # N = 100 trials whose annualised Sharpe ratios have variance 1/2: SR0 ≈ 0.1132, DSR ≈ 0.9004
    sharpe, variance = 2.5 / math.sqrt(250), 0.5 / 250
    assert expected_maximum_sharpe(100, variance) == pytest.approx(0.1132, abs=5e-5)
    assert deflated_sharpe(sharpe, 1250, -3, 10, 100, variance) == pytest.approx(0.9004, abs=5e-4)


def test_the_deflated_sharpe_of_a_small_sweep_equals_a_hand_computation():
    returns = np.array([[0.01, 0.00, -0.01], [0.02, 0.01, 0.00], [-0.01, 0.00, 0.01], [0.03, -0.01, 0.00],
                        [0.00, 0.02, -0.02]])
    # by hand: column 0 has mean 0.01 and sample std √(0.001/4) = 0.015811, SR = 0.632456 (the best);
    # column 1: mean 0.004, std √(0.00052/4) → 0.350823; column 2: mean -0.004, std √(0.00052/4) → -0.350823
    ratios = [0.01 / math.sqrt(0.00025), 0.004 / math.sqrt(0.00013), -0.004 / math.sqrt(0.00013)]
    mean = sum(ratios) / 3
    variance = sum((r - mean) ** 2 for r in ratios) / 2
    centred = [0.0, 0.01, -0.02, 0.02, -0.01]  # column 0 minus its mean
    m2 = sum(c ** 2 for c in centred) / 5
    skew, kurt = sum(c ** 3 for c in centred) / 5 / m2 ** 1.5, sum(c ** 4 for c in centred) / 5 / m2 ** 2
    gamma = 0.5772156649015329
    threshold = math.sqrt(variance) * ((1 - gamma) * NormalDist().inv_cdf(1 - 1 / 3)
                                       + gamma * NormalDist().inv_cdf(1 - 1 / (3 * math.e)))
    expected = NormalDist().cdf((ratios[0] - threshold) * math.sqrt(4)
                                / math.sqrt(1 - skew * ratios[0] + (kurt - 1) / 4 * ratios[0] ** 2))
    figure = deflated_sharpe_of(returns, ["a", "b", "c"])
    assert figure["system"] == "a" and figure["trials"] == 3 and figure["returns"] == 5
    assert (skew, kurt) == (pytest.approx(0.0, abs=1e-12), pytest.approx(1.7))
    assert figure["sharpe"] == pytest.approx(ratios[0], rel=1e-12)
    assert figure["expected_maximum_sharpe"] == pytest.approx(threshold, rel=1e-12)
    assert figure["value"] == pytest.approx(expected, rel=1e-12)
    assert figure["value"] == pytest.approx(0.6510, abs=1e-4)  # SR0 0.4319, Φ(0.3877) on a calculator


def test_a_single_system_is_deflated_against_zero_and_a_flat_one_has_no_figure():
    returns = np.array([[0.01], [0.02], [-0.01], [0.03]])
    figure = deflated_sharpe_of(returns, ["only"])
    assert figure["expected_maximum_sharpe"] == 0.0 and figure["sharpe_variance"] == 0.0
    assert deflated_sharpe_of(np.zeros((5, 2)), ["a", "b"]) == {
        "value": None, "reason": "a has flat equity: no Sharpe ratio to deflate"}


def naive_pbo(returns: np.ndarray, blocks: int) -> float:
    """CSCV as the paper states it, one split and one system at a time."""
    bars, systems = returns.shape
    parts = np.array_split(np.arange(bars), blocks)

    def sharpe(rows: list[int], column: int) -> float:
        values = returns[rows, column]
        deviation = np.std(values, ddof=1)
        return float(np.mean(values) / deviation) if deviation > 0 else 0.0

    overfit = total = 0
    for inside in itertools.combinations(range(blocks), blocks // 2):
        rows_in = [row for block in inside for row in parts[block]]
        rows_out = [row for block in range(blocks) if block not in inside for row in parts[block]]
        in_sample = [sharpe(rows_in, column) for column in range(systems)]
        best = in_sample.index(max(in_sample))
        out_sample = [sharpe(rows_out, column) for column in range(systems)]
        below = sum(value < out_sample[best] for value in out_sample)
        equal = sum(value == out_sample[best] for value in out_sample)
        relative = (below + (equal + 1) / 2) / (systems + 1)
        overfit += math.log(relative / (1 - relative)) <= 0
        total += 1
    return overfit / total


def test_pbo_equals_a_plain_loop_on_a_small_random_matrix():
    returns = np.random.default_rng(7).normal(0, 0.01, size=(24, 5))
    figure = probability_of_overfitting(returns)
    assert (figure["blocks"], figure["splits"], figure["systems"]) == (12, 924, 5)  # 24 bars: 12 blocks of 2
    assert figure["value"] == naive_pbo(returns, 12)


def test_pbo_of_pure_noise_is_near_one_half_and_equals_the_loop():
    # PBO of noise is itself noisy from one matrix to another (0.26 to 0.88 over seeds 1-5 at this size)
    returns = np.random.default_rng(3).normal(0, 0.01, size=(320, 10))
    figure = probability_of_overfitting(returns)
    assert figure["splits"] == 12870
    assert figure["value"] == naive_pbo(returns, 16)
    assert figure["value"] == 6432 / 12870  # what this seed gives
    assert 0.4 < figure["value"] < 0.6


def test_pbo_of_one_clearly_dominant_strategy_among_noise_is_zero():
    rng = np.random.default_rng(3)
    returns = rng.normal(0, 0.01, size=(320, 6))
    returns[:, 2] += 0.01  # a Sharpe ratio of about 1 per bar: best in every half
    figure = probability_of_overfitting(returns)
    assert figure["value"] == naive_pbo(returns, 16) == 0.0


def test_pbo_needs_two_systems_and_enough_bars_and_uses_fewer_blocks_on_short_series():
    assert probability_of_overfitting(np.zeros((100, 1))) == {"value": None,
                                                              "reason": "one system: nothing was selected"}
    assert probability_of_overfitting(np.zeros((7, 3)))["reason"] == (
        "needs at least 8 returns (4 blocks of 2), the sweep has 7")
    assert [block_count(bars) for bars in (7, 8, 12, 20, 31, 32, 1000)] == [2, 4, 6, 10, 14, 16, 16]


def test_pbo_over_a_thousand_systems_is_computed_in_chunks_and_equals_a_small_slice_sum():
    returns = np.random.default_rng(5).normal(0, 0.01, size=(64, 1000))
    figure = probability_of_overfitting(returns)
    assert figure["systems"] == 1000 and 0.0 <= figure["value"] <= 1.0


def test_per_bar_returns_are_simple_returns_with_zero_where_equity_was_zero():
    equity = np.array([[100.0, 10.0], [110.0, 0.0], [99.0, 0.0]])
    assert per_bar_returns(equity).tolist() == [[pytest.approx(0.1), -1.0], [pytest.approx(-0.1), 0.0]]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), bars=st.integers(8, 40), systems=st.integers(2, 6))
def test_pbo_always_equals_the_plain_loop_and_is_a_share(seed, bars, systems):
    returns = np.random.default_rng(seed).normal(0, 0.01, size=(bars, systems))
    returns[:, 0] = np.round(returns[:, 0], 3)  # some ties of values do not change the agreement
    figure = probability_of_overfitting(returns)
    assert figure["value"] == naive_pbo(returns, figure["blocks"])
    assert 0.0 <= figure["value"] <= 1.0

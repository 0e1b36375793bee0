"""No look-ahead: changing bars after t changes nothing a strategy or indicator did at or before t, checked with
the plugin authors' kit (`multifolio.testing.assert_causal`) on random bars."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from multifolio.config.registry import PluginKind, PluginRegistry
from multifolio.config.spec import parse_indicator, resolve_indicator
from multifolio.testing import SYSTEM, assert_causal, bars_from_closes, rewrite_after, run_strategy
from tests.property.strategies import bar_frames

REGISTRY = PluginRegistry()
INDICATORS = ["SMA_5", "EMA_7", "RSI_6", "BB_8_2", "ATR_5", "MACD_3_8_4"]
STRATEGIES = [
    {"type": "sma_crossover", "parameters": {"fast_period": 3, "slow_period": 8, "allow_short": True}},
    {"type": "momentum", "parameters": {"lookback_period": 3, "momentum_threshold": 0.01}},
    {"type": "mean_reversion", "parameters": {"lookback_period": 6, "entry_threshold": 1.0,
                                             "exit_threshold": 0.2}},
    {"type": "buy_and_hold"},
]
HALF = [{"type": "percentage", "size": 0.5}]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=bar_frames(min_bars=30, max_bars=60), cut=st.floats(0.3, 0.9), seed=st.integers(0, 10_000),
       indicator=st.sampled_from(INDICATORS))
def test_indicator_values_up_to_t_ignore_later_bars(frame, cut, seed, indicator):
    spec = resolve_indicator(parse_indicator(indicator), REGISTRY, "indicators[0]")
    assert_causal(REGISTRY.create(PluginKind.INDICATOR, spec.type, spec.params), frame,
                  cuts=[int(len(frame) * cut)], seed=seed)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=bar_frames(min_bars=30, max_bars=60), cut=st.floats(0.3, 0.9), seed=st.integers(0, 10_000),
       strategy=st.sampled_from(STRATEGIES))
def test_orders_and_equity_up_to_t_ignore_later_bars(frame, cut, seed, strategy):
    assert_causal(REGISTRY.load(PluginKind.STRATEGY, strategy["type"]), frame, cuts=[int(len(frame) * cut)],
                  seed=seed, parameters=strategy.get("parameters"), sizers=HALF)


def test_a_run_without_orders_compares_equal_to_one_whose_orders_all_come_after_t():
    """What hypothesis found now and then: flat bars place no order, so the run's orders frame
    had no rows and object columns, unlike the other run's (typed) rows up to t."""
    momentum = REGISTRY.load(PluginKind.STRATEGY, "momentum")
    parameters = {"lookback_period": 3, "momentum_threshold": 0.01}
    flat = bars_from_closes([50.0] * 30, freq="1D")
    risen = run_strategy(momentum, rewrite_after(flat, 19, seed=0, level=1.5), parameters=parameters,
                         sizers=HALF).systems[SYSTEM]
    assert run_strategy(momentum, flat, parameters=parameters, sizers=HALF).systems[SYSTEM].orders.empty
    assert len(risen.orders) > 0 and risen.orders["submitted_time"].min() > flat["timestamp"].iloc[19]
    assert_causal(momentum, flat, cuts=[19], parameters=parameters, sizers=HALF)


@pytest.mark.parametrize("indicator", INDICATORS)
def test_indicators_equal_talib_on_synthetic_data(indicator):
    import talib
    source = REGISTRY.create(PluginKind.DATA_SOURCE, "synthetic", {"symbols": ["SPY"], "bars": 3000})
    bars = {c: source.load()[c].to_numpy(dtype=np.float64) for c in ("open", "high", "low", "close", "volume")}
    spec = resolve_indicator(parse_indicator(indicator), REGISTRY, "indicators[0]")
    ours = REGISTRY.create(PluginKind.INDICATOR, spec.type, spec.params).compute(bars)
    p = spec.params
    expected = {
        "SMA": lambda: {"value": talib.SMA(bars["close"], p["period"])},
        "EMA": lambda: {"value": talib.EMA(bars["close"], p["period"])},
        "RSI": lambda: {"value": talib.RSI(bars["close"], p["period"])},
        "ATR": lambda: {"value": talib.ATR(bars["high"], bars["low"], bars["close"], p["period"])},
        "BB": lambda: dict(zip(("upper", "middle", "lower"),
                               talib.BBANDS(bars["close"], p["period"], p["nbdev"], p["nbdev"], 0))),
        "MACD": lambda: dict(zip(("macd", "signal", "hist"),
                                 talib.MACD(bars["close"], p["fast"], p["slow"], p["signal"]))),
    }[spec.type]()
    for output in spec.outputs:
        np.testing.assert_allclose(ours[output], expected[output], rtol=1e-9, atol=0, equal_nan=True)
        assert np.isnan(ours[output]).sum() == np.isnan(expected[output]).sum()

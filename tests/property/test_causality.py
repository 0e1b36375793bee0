"""No look-ahead: changing bars after t changes nothing a strategy or indicator did at or before t."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from dependency_injector import providers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from multifolio.config.registry import PluginKind, PluginRegistry
from multifolio.config.spec import parse_indicator, resolve_indicator
from multifolio.trading.system import SystemResult
from tests.builders import backtest_config, bars_from_closes, run_in_memory, system_config
from tests.fakes import FrameSource
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


def rewrite_after(frame: pd.DataFrame, t: int, seed: int) -> pd.DataFrame:
    """The same bars up to t; different (still valid) bars after it."""
    changed = frame.copy()
    rng = np.random.default_rng(seed)
    later = slice(t + 1, None)
    scale = np.exp(rng.normal(0, 0.2, len(frame) - t - 1))
    for column in ("open", "high", "low", "close"):
        changed.loc[changed.index[later], column] = np.round(frame[column].to_numpy()[later] * scale, 2)
    return changed


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=bar_frames(min_bars=30, max_bars=60), cut=st.floats(0.3, 0.9), seed=st.integers(0, 10_000),
       indicator=st.sampled_from(INDICATORS))
def test_indicator_values_up_to_t_ignore_later_bars(frame, cut, seed, indicator):
    t = int(len(frame) * cut)
    spec = resolve_indicator(parse_indicator(indicator), REGISTRY, "indicators[0]")
    plugin = REGISTRY.create(PluginKind.INDICATOR, spec.type, spec.params)

    def compute(bars: pd.DataFrame):
        return plugin.compute({c: bars[c].to_numpy(dtype=np.float64) for c in ("open", "high", "low", "close",
                                                                                "volume")})

    before, after = compute(frame), compute(rewrite_after(frame, t, seed))
    for output in spec.outputs:
        np.testing.assert_array_equal(before[output][: t + 1], after[output][: t + 1])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=bar_frames(min_bars=30, max_bars=60), cut=st.floats(0.3, 0.9), seed=st.integers(0, 10_000),
       strategy=st.sampled_from(STRATEGIES))
def test_orders_and_equity_up_to_t_ignore_later_bars(frame, cut, seed, strategy):
    t = int(len(frame) * cut)
    document = backtest_config(system_config("alpha", strategy=strategy, sizers=[{"type": "percentage",
                                                                                  "size": 0.5}]))

    def run(bars):
        [result] = run_in_memory(document, source=providers.Object(FrameSource(bars)))
        return result

    assert_same_up_to(t, run(frame), run(rewrite_after(frame, t, seed)), frame["timestamp"].iloc[t])


def assert_same_up_to(t: int, before: SystemResult, after: SystemResult, cutoff: pd.Timestamp) -> None:
    """The orders submitted up to bar t (at `cutoff`) and the equity up to it are equal, dtypes included."""
    submitted = ["order_id", "submitted_time", "symbol", "requested", "quantity", "reason"]
    orders_before = before.orders[before.orders["submitted_time"] <= cutoff][submitted]
    orders_after = after.orders[after.orders["submitted_time"] <= cutoff][submitted]
    pd.testing.assert_frame_equal(orders_before.reset_index(drop=True), orders_after.reset_index(drop=True))
    pd.testing.assert_frame_equal(before.equity.iloc[: t + 1], after.equity.iloc[: t + 1])


def test_a_run_without_orders_compares_equal_to_one_whose_orders_all_come_after_t():
    """What hypothesis found now and then: flat bars place no order, so the run's orders frame
    had no rows and object columns, unlike the other run's (typed) rows up to t."""
    strategy = {"type": "momentum", "parameters": {"lookback_period": 3, "momentum_threshold": 0.01}}
    document = backtest_config(system_config("alpha", strategy=strategy, sizers=[{"type": "percentage",
                                                                                  "size": 0.5}]))
    flat = bars_from_closes([50.0] * 30, freq="1D")
    rising_after = bars_from_closes([50.0] * 20 + [50.0 * 1.05 ** k for k in range(1, 11)], freq="1D")
    [before] = run_in_memory(document, source=providers.Object(FrameSource(flat)))
    [after] = run_in_memory(document, source=providers.Object(FrameSource(rising_after)))
    assert before.orders.empty and len(after.orders) > 0
    assert after.orders["submitted_time"].min() > flat["timestamp"].iloc[19]
    assert_same_up_to(19, before, after, flat["timestamp"].iloc[19])


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

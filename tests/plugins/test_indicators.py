"""Built-in indicators: TA-Lib's own functions on real GOOG data, and causal."""

from __future__ import annotations

import numpy as np
import pytest
import talib
from backtesting.test import GOOG

from multifolio.config.registry import PluginKind
from multifolio.config.spec import parse_indicator, resolve_indicator

BARS = {name.lower(): GOOG[name].to_numpy(dtype=np.float64) for name in ("Open", "High", "Low", "Close", "Volume")}
CLOSE, HIGH, LOW = BARS["close"], BARS["high"], BARS["low"]

EXPECTED = {
    "SMA_20": {"SMA_20": talib.SMA(CLOSE, 20)},
    "EMA_12": {"EMA_12": talib.EMA(CLOSE, 12)},
    "RSI": {"RSI_14": talib.RSI(CLOSE, 14)},
    "ATR_10": {"ATR_10": talib.ATR(HIGH, LOW, CLOSE, 10)},
    "BB_20_2.5": dict(zip(("BB_20_2.5.upper", "BB_20_2.5.middle", "BB_20_2.5.lower"),
                          talib.BBANDS(CLOSE, 20, 2.5, 2.5, 0))),
    "MACD": dict(zip(("MACD_12_26_9.macd", "MACD_12_26_9.signal", "MACD_12_26_9.hist"), talib.MACD(CLOSE, 12, 26, 9))),
}


@pytest.mark.parametrize("text", list(EXPECTED))
def test_each_indicator_equals_talib_with_the_same_warm_up(registry, text):
    spec = resolve_indicator(parse_indicator(text), registry, "indicators[0]")
    assert spec.output_keys() == list(EXPECTED[text])
    indicator = registry.create(PluginKind.INDICATOR, spec.type, spec.params)
    outputs = indicator.compute(BARS)
    for key, output in zip(spec.output_keys(), spec.outputs):
        expected = EXPECTED[text][key]
        np.testing.assert_allclose(outputs[output], expected, rtol=1e-12, equal_nan=True)
        assert np.isnan(outputs[output]).sum() == np.isnan(expected).sum() > 0


@pytest.mark.parametrize("text", list(EXPECTED))
def test_values_up_to_t_do_not_change_when_later_bars_are_removed(registry, text):
    spec = resolve_indicator(parse_indicator(text), registry, "indicators[0]")
    indicator = registry.create(PluginKind.INDICATOR, spec.type, spec.params)
    full = indicator.compute(BARS)
    cut = 400
    truncated = indicator.compute({name: values[:cut] for name, values in BARS.items()})
    for output in spec.outputs:
        np.testing.assert_allclose(truncated[output], full[output][:cut], rtol=1e-9, equal_nan=True)

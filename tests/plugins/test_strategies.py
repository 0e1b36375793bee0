"""Built-in strategies on small series whose signals can be worked out independently."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from multifolio.errors import ConfigError
from multifolio.plugins.strategies.mean_reversion import MeanReversionStrategy
from multifolio.plugins.strategies.sma_crossover import SmaCrossoverStrategy
from multifolio.testing import FrameSource, bars_from_closes
from tests.builders import backtest_config, run_in_memory, system_config


def run_strategy(strategy, closes, **system):
    document = backtest_config(system_config("alpha", strategy=strategy, **system))
    [result] = run_in_memory(document, source=FrameSource(bars_from_closes(closes)))
    return result


def submitted_bars(result, closes) -> list[int]:
    times = bars_from_closes(closes)["timestamp"].tolist()
    return [times.index(t) for t in result.orders["submitted_time"]]


def test_sma_crossover_orders_on_the_bars_where_pandas_sees_the_cross():
    closes = list(np.round(100 + 5 * np.sin(np.arange(80) / 6) + np.arange(80) * 0.05, 2))
    result = run_strategy({"type": "sma_crossover", "parameters": {"fast_period": 3, "slow_period": 7}}, closes)
    series = pd.Series(closes)
    above = series.rolling(3).mean() > series.rolling(7).mean()
    below = series.rolling(3).mean() < series.rolling(7).mean()
    ups = [i for i in range(7, 80) if above[i] and not above[i - 1]]
    downs = [i for i in range(7, 80) if below[i] and not below[i - 1]]
    expected = sorted(ups + [d for d in downs if any(u < d for u in ups)])  # long-only: a down-cross needs a long
    assert ups and downs
    assert submitted_bars(result, closes) == expected
    assert set(result.orders["quantity"]) == {10.0, -10.0}


def test_momentum_goes_long_in_a_rise_and_short_in_a_fall():
    closes = [100 + i for i in range(10)] + [109 - 2 * i for i in range(1, 10)]
    result = run_strategy({"type": "momentum", "parameters": {"lookback_period": 3, "momentum_threshold": 0.01}},
                          closes)
    assert submitted_bars(result, closes) == [3, 11]  # 103/100 − 1 > 1%; 105/109 − 1 < −1% at bar 11
    assert result.orders["quantity"].tolist() == [10, -20]


def test_momentum_without_short_goes_flat_instead():
    closes = [100 + i for i in range(10)] + [109 - 2 * i for i in range(1, 10)]
    result = run_strategy({"type": "momentum", "parameters": {"lookback_period": 3, "momentum_threshold": 0.01,
                                                             "allow_short": False}}, closes)
    assert result.orders["quantity"].tolist() == [10, -10]


def test_mean_reversion_buys_a_drop_below_the_band_and_exits_near_the_mean():
    closes = [100, 101] * 10 + [95, 96, 99, 100.5, 100, 101]
    result = run_strategy({"type": "mean_reversion", "parameters": {"lookback_period": 10, "entry_threshold": 2.0,
                                                                   "exit_threshold": 0.5}}, closes)
    assert submitted_bars(result, closes) == [20, 22]
    assert result.orders["quantity"].tolist() == [10, -10]


def test_buy_and_hold_buys_once_and_holds():
    result = run_strategy({"type": "buy_and_hold"}, [10, 11, 12, 11, 13])
    assert result.orders["quantity"].tolist() == [10]
    assert result.open_positions == {"SPY": 10.0}


@pytest.mark.parametrize("build, message", [
    (lambda: SmaCrossoverStrategy(fast_period=20, slow_period=20), "slow_period: must be greater than fast_period"),
    (lambda: SmaCrossoverStrategy(fast_period=1, slow_period=20), "fast_period: must be ≥ 2"),
    (lambda: MeanReversionStrategy(entry_threshold=1.0, exit_threshold=1.0), "exit_threshold: must be ≥ 0 and below"),
])
def test_bad_parameters_name_the_parameter(build, message):
    with pytest.raises(ConfigError, match=message):
        build()


class ScriptedValues:
    """IndicatorValues whose SMA_2 and SMA_4 follow a script, one pair per bar."""

    def __init__(self, pairs):
        self.pairs, self.bar = pairs, 0

    def __getitem__(self, key):
        return self.pairs[self.bar][0 if key == "SMA_2" else 1]


@pytest.mark.parametrize("pairs, expected", [
    ([(1, 2), (2, 2), (3, 2)], [None, None, "LONG"]),            # through a tie: one cross, after it
    ([(3, 2), (2, 2), (3, 2)], [None, None, None]),              # touching from above is no cross
    ([(3, 2), (2, 2), (2, 2), (1, 2)], [None, None, None, "FLAT"]),
    ([(float("nan"), 2), (1, 2), (3, 2)], [None, None, "LONG"]),  # warm-up, first sign, cross
])
def test_sma_crossover_counts_a_change_of_sign_and_ignores_ties(pairs, expected):
    from multifolio.trading.events import BarClosed
    strategy = SmaCrossoverStrategy(fast_period=2, slow_period=4)
    values = ScriptedValues(pairs)
    seen = []
    for number in range(len(pairs)):
        values.bar = number
        bar = BarClosed("ns", number, "SPY", 1.0, 1.0, 1.0, 1.0, 1.0, None)
        direction = strategy.on_bar(bar, values)
        seen.append(direction.name if direction is not None else None)
    assert seen == expected

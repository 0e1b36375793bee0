"""The strategy runner: what a strategy may read, and the error when it reads what it did not declare."""

from __future__ import annotations

import numpy as np
import pytest

from multifolio.errors import UndeclaredIndicatorError
from multifolio.protocols import BarClosed, Direction, IndicatorValues, Strategy
from multifolio.trading.strategy import BarValues
from tests.builders import backtest_config, run_in_memory, system_config


def values(reader: str = "strategy 'mine' of system 'alpha'") -> BarValues:
    arrays = {"close": np.array([1.0, 2.0, 3.0]), "SMA_2": np.array([np.nan, 1.5, 2.5])}
    bar_values = BarValues(arrays, reader)
    bar_values.bar = 2
    return bar_values


def test_a_strategy_reads_declared_keys_now_and_before_never_after():
    bar_values = values()
    assert bar_values["close"] == 3.0 and bar_values.ago("SMA_2", 1) == 1.5
    assert np.isnan(bar_values.ago("close", 3))
    with pytest.raises(ValueError, match="no look-ahead"):
        bar_values.ago("close", -1)


@pytest.mark.parametrize("read", [lambda v: v["SMA_50"], lambda v: v.ago("SMA_50", 1)])
def test_reading_an_undeclared_key_names_the_strategy_the_key_and_the_keys_declared(read):
    with pytest.raises(UndeclaredIndicatorError) as caught:
        read(values())
    assert str(caught.value) == (
        "strategy 'mine' of system 'alpha' read 'SMA_50', which it did not declare; declared: SMA_2 (besides the "
        "price fields open, high, low, close, volume); name it in the system's `indicators` or return it from the "
        "strategy's indicators()")


class ReadsWhatItDidNotDeclare(Strategy):
    def on_bar(self, bar: BarClosed, values: IndicatorValues) -> Direction | None:
        return Direction.LONG if values["SMA_50"] > values["SMA_10"] else None


def test_an_undeclared_read_fails_its_own_system_with_that_message_and_the_other_runs_on():
    document = backtest_config(system_config("alpha", indicators=["SMA_10", "RSI"], namespace="desk_a"),
                               system_config("beta"))
    alpha, beta = run_in_memory(document, strategies={"alpha": ReadsWhatItDidNotDeclare()})
    assert alpha.status == "failed" and alpha.last_bar == 0
    assert alpha.error.strip().splitlines()[-1] == (
        "multifolio.errors.UndeclaredIndicatorError: strategy 'buy_and_hold' of system 'alpha' read 'SMA_50', "
        "which it did not declare; declared: SMA_10, RSI_14 (besides the price fields open, high, low, close, "
        "volume); name it in the system's `indicators` or return it from the strategy's indicators()")
    assert beta.status == "completed"

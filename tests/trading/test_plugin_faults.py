"""One boundary for every plugin call: whatever a plugin raises or returns, its own system fails (with the
traceback in its error) and every other system's results are exactly those of a run without it."""

from __future__ import annotations

import importlib.metadata
import math
import sys
from importlib.metadata import EntryPoint

import numpy as np
import pytest

from multifolio.config.registry import PluginRegistry
from multifolio.protocols import Direction, Exit, Indicator, PositionSizer, SlippageModel, Strategy
from tests.builders import backtest_config, run_in_memory, system_config


class RaisesInInit(Strategy):
    def __init__(self) -> None:
        raise RuntimeError("broken constructor")

    def on_bar(self, bar, values):
        return None


class ExitsInInit(RaisesInInit):
    def __init__(self) -> None:
        sys.exit(0)


class RaisesInIndicators(Strategy):
    def indicators(self):
        raise LookupError("no list today")

    def on_bar(self, bar, values):
        return None


class ExitsOnBar(Strategy):
    def on_bar(self, bar, values):
        if bar.index == 5:
            sys.exit(0)
        return Direction.LONG


class RaisingIndicator(Indicator):
    def compute(self, bars):
        raise ZeroDivisionError("in compute")


class ShortIndicator(Indicator):
    def compute(self, bars):
        return {"value": bars["close"][:-1]}


class InfiniteIndicator(Indicator):
    def compute(self, bars):
        return {"value": np.full(len(bars["close"]), np.inf)}


class WritesTheSharedPrices(Indicator):
    """Tries to change the bars every system sees, through the array's flags or its base."""

    def compute(self, bars):
        close = bars["close"]
        try:
            close.flags.writeable = True
        except ValueError:
            close.base.flags.writeable = True  # bytes have no flags: AttributeError
        close[:] = 0.0
        return {"value": close}


class NanSizer(PositionSizer):
    def size(self, context):
        return math.nan


class InfiniteSizer(PositionSizer):
    def size(self, context):
        return math.inf


class NegativePriceSlippage(SlippageModel):
    def fill_price(self, price, quantity):
        return -price


class RaisingExit(Exit):
    def order(self, position, values):
        raise KeyError("no level")


class GarbageExit(Exit):
    def order(self, position, values):
        return position.entry_price * 0.9  # a number, not an ExitOrder


FAULTS = {  # name: (kind, class, where it lands in the entry, the error's last line)
    "raises_in_init": ("strategies", RaisesInInit, "strategy", "RuntimeError: broken constructor"),
    "exits_in_init": ("strategies", ExitsInInit, "strategy", "SystemExit: 0"),
    "raises_in_indicators": ("strategies", RaisesInIndicators, "strategy", "LookupError: no list today"),
    "exits_on_bar": ("strategies", ExitsOnBar, "strategy", "SystemExit: 0"),
    "RAISING": ("indicators", RaisingIndicator, "indicator", "ZeroDivisionError: in compute"),
    "SHORT": ("indicators", ShortIndicator, "indicator",
              "multifolio.errors.PluginOutputError: ShortIndicator.compute() output 'value' has shape (499,); "
              "expected (500,), one value per bar"),
    "INFINITE": ("indicators", InfiniteIndicator, "indicator",
                 "multifolio.errors.PluginOutputError: InfiniteIndicator.compute() output 'value' holds ±inf at "
                 "bar 0"),
    "WRITER": ("indicators", WritesTheSharedPrices, "indicator",
               "AttributeError: 'bytes' object has no attribute 'flags'"),
    "nan_sizer": ("sizers", NanSizer, "sizer",
                  "multifolio.errors.PluginOutputError: NanSizer.size() returned nan; expected a finite number ≥ 0"),
    "infinite_sizer": ("sizers", InfiniteSizer, "sizer",
                       "multifolio.errors.PluginOutputError: InfiniteSizer.size() returned inf; expected a finite "
                       "number ≥ 0"),
    "raising_exit": ("exits", RaisingExit, "exit", "KeyError: 'no level'"),
    "garbage_exit": ("exits", GarbageExit, "exit", "multifolio.errors.PluginOutputError: GarbageExit.order() returned "),
    "negative_price": ("slippage", NegativePriceSlippage, "slippage",
                       "multifolio.errors.PluginOutputError: NegativePriceSlippage.fill_price() returned "),
}


def registry() -> PluginRegistry:
    """The installed plugins and the faulty ones above, found through entry points like any other."""
    faulty = [EntryPoint(name, f"{__name__}:{cls.__name__}", f"multifolio.{kind}")
              for name, (kind, cls, _, _) in FAULTS.items()]
    return PluginRegistry(lambda group: [*importlib.metadata.entry_points(group=group),
                                         *(point for point in faulty if point.group == group)])


def faulty_system(name: str) -> dict:
    _, _, where, _ = FAULTS[name]
    sma = {"type": "sma_crossover", "parameters": {"fast_period": 3, "slow_period": 8}}
    if where == "strategy":
        return system_config("faulty", strategy={"type": name})
    if where == "indicator":
        return system_config("faulty", strategy=sma, indicators=[name])
    if where == "sizer":
        return system_config("faulty", strategy=sma, sizers=[{"type": name}])
    if where == "exit":
        return system_config("faulty", strategy=sma, exits=[{"type": name}])
    return system_config("faulty", strategy=sma, execution={"slippage": {"type": name}})


HEALTHY = system_config("healthy", strategy={"type": "sma_crossover", "parameters": {"fast_period": 3,
                                                                                     "slow_period": 8}})


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_a_faulty_plugin_fails_its_own_system_and_the_others_are_untouched(name):
    alone = run_in_memory(backtest_config(HEALTHY), registry=registry())[0]
    faulty, healthy = run_in_memory(backtest_config(faulty_system(name), HEALTHY), registry=registry())
    assert faulty.status == "failed"
    assert faulty.error.strip().splitlines()[-1].startswith(FAULTS[name][3])
    assert faulty.trades.empty and faulty.equity.empty
    assert healthy.status == "completed"
    for table in ("trades", "orders", "equity", "open_lots"):
        assert getattr(healthy, table).equals(getattr(alone, table)), table

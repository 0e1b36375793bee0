"""Plugins come only through entry points, are imported only when named, and clash loudly."""

from __future__ import annotations

import sys
from importlib.metadata import EntryPoint

import pytest
import talib

from multifolio.config.registry import PluginKind, PluginRegistry
from multifolio.errors import ConfigError


class FakeDistribution:
    def __init__(self, name: str) -> None:
        self.name = name


def entry_point(name: str, value: str, group: str, dist: str) -> EntryPoint:
    ep = EntryPoint(name, value, group)
    return ep._for(FakeDistribution(dist)) if hasattr(ep, "_for") else ep


def registry_with(*points: EntryPoint) -> PluginRegistry:
    return PluginRegistry(lambda group: [p for p in points if p.group == group])


def test_a_plugin_nobody_names_is_never_imported():
    registry = registry_with(
        entry_point("broken", "tests_no_such_module.strategy:Broken", "multifolio.strategies", "broken-dist"),
        entry_point("hold", "multifolio.plugins.strategies.buy_and_hold:BuyAndHoldStrategy", "multifolio.strategies", "mf"))
    assert registry.names(PluginKind.STRATEGY) == ["broken", "hold"]
    registry.create(PluginKind.STRATEGY, "hold", {})
    assert "tests_no_such_module" not in sys.modules
    with pytest.raises(ConfigError, match=r"strategy 'broken' \(tests_no_such_module.strategy:Broken\) failed to "
                                          r"import: ModuleNotFoundError"):
        registry.load(PluginKind.STRATEGY, "broken", "trading_systems[0].strategy.type")


def test_a_name_registered_by_two_distributions_is_an_error_naming_both():
    registry = registry_with(
        entry_point("hold", "multifolio.plugins.strategies.buy_and_hold:BuyAndHoldStrategy", "multifolio.strategies", "one"),
        entry_point("hold", "other.hold:Hold", "multifolio.strategies", "two"))
    with pytest.raises(ConfigError) as caught:
        registry.load(PluginKind.STRATEGY, "hold", "x.type")
    assert str(caught.value) == ("x.type: strategy 'hold' is registered twice, by one "
                                 "(multifolio.plugins.strategies.buy_and_hold:BuyAndHoldStrategy) and two (other.hold:Hold); "
                                 "uninstall one")


def test_a_class_that_is_not_the_kinds_protocol_is_refused():
    registry = registry_with(entry_point("sizer", "multifolio.plugins.sizers:FixedSizer", "multifolio.strategies", "mf"))
    with pytest.raises(ConfigError, match="is not a subclass of multifolio.protocols.Strategy"):
        registry.load(PluginKind.STRATEGY, "sizer")


def test_the_installed_built_ins_are_all_registered(registry):
    assert registry.names(PluginKind.STRATEGY) == ["buy_and_hold", "mean_reversion", "momentum", "pairs",
                                                   "rotation", "sma_crossover"]
    # the hand-written six, and every other TA-Lib function but MAVP under its own name
    assert registry.names(PluginKind.INDICATOR) == sorted({"BB", *talib.get_functions()} - {"MAVP"})
    assert registry.origin(PluginKind.INDICATOR, "SMA").endswith("(multifolio.plugins.indicators.talib:SMA)")
    assert registry.names(PluginKind.SIZER) == ["atr_risk", "fixed", "percentage", "target_percent",
                                                "volatility_target"]
    assert registry.names(PluginKind.RISK_LIMIT) == ["daily_loss", "max_drawdown", "max_position_value",
                                                     "max_total_exposure"]
    assert registry.names(PluginKind.EXIT) == ["max_bars", "stop_loss", "take_profit", "trailing_stop"]
    assert registry.names(PluginKind.SLIPPAGE) == ["bps"]
    assert registry.names(PluginKind.COMMISSION) == ["per_share"]
    assert registry.names(PluginKind.DATA_SOURCE) == ["backtesting_samples", "csv", "parquet", "synthetic"]
    assert registry.names(PluginKind.ALLOCATOR) == ["equal", "fixed", "inverse_volatility", "performance",
                                                    "risk_parity"]
    for kind in PluginKind:
        for name in registry.names(kind):
            assert issubclass(registry.load(kind, name), kind.base)

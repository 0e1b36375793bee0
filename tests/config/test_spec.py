"""The typed system spec: shorthands and indicator names resolved once, to one canonical meaning."""

from __future__ import annotations

import pytest

from multifolio.config.spec import IndicatorRequest, IndicatorSpec, PluginSpec, parse_indicator, resolve_indicator
from multifolio.errors import ConfigErrors
from multifolio.protocols import Indicator
from multifolio.running.manifest import config_hash
from tests.builders import backtest_config, checked, system_config

MEAN_REVERSION = {"type": "mean_reversion", "parameters": {"lookback_period": 20, "entry_threshold": 2.0,
                                                          "exit_threshold": 0.5}}


@pytest.mark.parametrize("written, key", [
    ("RSI", "RSI_14"), ("RSI_14", "RSI_14"), ({"type": "RSI", "period": 14}, "RSI_14"),
    ("BB_20_2.0", "BB_20_2"), ("BB_20_2", "BB_20_2"), ({"type": "BB", "period": 20, "nbdev": 2}, "BB_20_2"),
    ("BB_20", "BB_20_2"), ("MACD", "MACD_12_26_9"), ("SMA_20", "SMA_20")])
def test_every_way_of_writing_an_indicator_resolves_to_one_canonical_key(written, key, registry):
    config = checked(backtest_config(system_config(indicators=[written])), registry)
    [spec] = config.systems[0].indicators
    assert spec.key == key
    assert spec == resolve_indicator(parse_indicator(key), registry, "indicators[0]")


def test_configs_that_mean_the_same_give_the_same_spec_and_the_same_config_hash():
    short = system_config("alpha", indicators=["RSI", "BB_20_2.0"], strategy=MEAN_REVERSION,
                          execution={"slippage_bps": 5, "commission": 0.005})
    long = system_config("alpha", indicators=["RSI_14", {"type": "BB", "period": 20, "nbdev": 2}],
                         strategy=MEAN_REVERSION,
                         execution={"slippage": {"type": "bps", "bps": 5.0},
                                    "commission": {"type": "per_share", "rate": 0.005}})
    one, other = checked(backtest_config(short)), checked(backtest_config(long))
    assert one.systems == other.systems
    assert one.systems[0].as_dict() == other.systems[0].as_dict()
    assert config_hash(one) == config_hash(other)
    assert config_hash(one) != config_hash(checked(backtest_config(system_config("alpha", indicators=["RSI_15"]))))


def test_the_spec_holds_the_strategys_own_indicators_after_the_yaml_list_each_key_once():
    sma = {"type": "sma_crossover", "parameters": {"fast_period": 10, "slow_period": 30}}
    [system] = checked(backtest_config(system_config(indicators=["SMA_30", "RSI"], strategy=sma))).systems
    assert system.indicator_keys() == ["SMA_30", "RSI_14", "SMA_10"]
    assert system.indicators[0] == IndicatorSpec("SMA", {"period": 30}, "SMA_30", ("value",))


def test_shorthands_are_resolved_and_parameters_take_their_annotated_types():
    entry = system_config("alpha", namespace=None, execution={"commission": "0.01"},
                          sizers=[{"type": "percentage", "size": "0.5"}])
    entry["portfolio"].pop("namespace")
    [system] = checked(backtest_config(entry)).systems
    assert system.namespace == "alpha"
    assert system.execution.slippage == PluginSpec("bps", {"bps": 0.0})
    assert system.execution.commission == PluginSpec("per_share", {"rate": 0.01})
    assert system.risk.position_sizers == (PluginSpec("percentage", {"size": 0.5}),)


@pytest.mark.parametrize("key", ["systems", "swept"])
def test_what_multifolio_sets_itself_cannot_be_written_in_a_file(key):
    document = backtest_config(system_config())
    target = document if key == "systems" else document["trading_systems"][0]
    target[key] = [] if key == "systems" else {"entry": 0}
    with pytest.raises(ConfigErrors) as caught:
        checked(document)
    [error] = caught.value.errors
    assert error.path == (key if key == "systems" else "trading_systems[0].swept")


class Opaque(Indicator):
    """A third-party indicator that keeps its parameters to itself."""

    def __init__(self, *, period: int = 5, scale: float = 1.0) -> None:
        self._window = (period, scale)

    def compute(self, bars):
        return {"value": bars["close"] * self._window[1]}


def test_an_indicator_that_keeps_its_parameters_private_still_resolves_to_typed_values():
    from tests.config.test_registry import entry_point, registry_with

    registry = registry_with(entry_point("OPQ", "tests.config.test_spec:Opaque", "multifolio.indicators", "third"))
    written = [resolve_indicator(text, registry, "indicators[0]") for text in ("OPQ_20", "OPQ_20_1.0")]
    by_keyword = resolve_indicator(IndicatorRequest("OPQ", {"period": "20", "scale": 1}), registry, "x")
    assert written == [by_keyword, by_keyword]
    assert by_keyword == IndicatorSpec("OPQ", {"period": 20, "scale": 1.0}, "OPQ_20_1", ("value",))


def test_where_a_run_writes_its_name_and_its_executor_leave_the_config_hash_as_it_is():
    plain = backtest_config(system_config("alpha"))
    elsewhere = backtest_config(system_config("alpha"), output_dir="elsewhere", name="another name")
    elsewhere["execution_engine"] = {"type": "processes", "workers": 2}
    assert config_hash(checked(plain)) == config_hash(checked(elsewhere))
    plain["data"]["seed"] = 8
    assert config_hash(checked(plain)) != config_hash(checked(elsewhere))


def test_a_config_that_was_only_structured_is_refused_before_anything_runs(registry):
    from multifolio.config.structure import structure_config
    from multifolio.errors import MultifolioError
    from multifolio.running.run import build_container

    with pytest.raises(MultifolioError, match="has not been checked"):
        build_container(structure_config(backtest_config(system_config())), registry)

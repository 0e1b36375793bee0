"""Config errors: every problem of a file at once, each with its key path and what is expected."""

from __future__ import annotations

import pytest

from multifolio.config.spec import ExecutionSpec, PluginSpec
from multifolio.errors import ConfigErrors
from multifolio.running.run import load_config
from tests.builders import backtest_config, checked, system_config


def errors_of(document, registry) -> list[str]:
    with pytest.raises(ConfigErrors) as caught:
        checked(document, registry)
    return [str(error) for error in caught.value.errors]


def test_the_seed_config_and_the_default_config_are_valid(registry):
    config = load_config("configs/dual_portfolio_backtest.yaml", registry)
    assert [s.name for s in config.trading_systems] == ["momentum_system", "mean_reversion_system"]
    assert [s.namespace for s in config.trading_systems] == ["momentum", "mean_reversion"]
    assert config.run_name == "dual_portfolio_test"
    momentum = config.systems[0]
    assert momentum.execution == ExecutionSpec(slippage=PluginSpec("bps", {"bps": 5.0}),
                                               commission=PluginSpec("per_share", {"rate": 0.005}),
                                               fill_at="next_open")
    assert momentum.risk.limits == (PluginSpec("max_position_value", {"value": 5000.0}),)
    assert momentum.indicator_keys() == ["SMA_20", "RSI_14"]


def test_an_unknown_key_names_its_path_and_the_close_match(registry):
    document = backtest_config(system_config())
    document["trading_systems"][0]["portfolio"]["initial_captial"] = 5
    assert errors_of(document, registry) == [
        "trading_systems[0].portfolio.initial_captial: unknown key; known: active, close_at_end, initial_capital, "
        "min_equity, namespace (did you mean initial_capital?)"]


def test_a_wrong_type_names_its_path_and_what_was_found(registry):
    document = backtest_config(system_config())
    document["trading_systems"][0]["portfolio"]["initial_capital"] = "lots"
    assert errors_of(document, registry) == [
        "trading_systems[0].portfolio.initial_capital: expected a number, found 'lots'"]


def test_an_unknown_plugin_lists_the_known_ones_and_the_closest(registry):
    document = backtest_config(system_config(), system_config(
        "beta", limits=[{"type": "max_exposure", "value": 1}]))
    assert errors_of(document, registry) == [
        "trading_systems[1].risk.limits[0].type: unknown risk limit 'max_exposure'; known: daily_loss, max_drawdown, max_position_value, "
        "max_total_exposure (did you mean max_total_exposure?)"]


def test_all_errors_of_a_file_are_reported_together(registry):
    document = backtest_config(
        system_config("alpha", capital=0, strategy={"type": "sma_crossover",
                                                    "parameters": {"fast_period": 30, "slow_period": 10}}),
        system_config("Alpha", sizers=[{"type": "percentage", "size": 1.5}]))
    document["data"]["symbols"] = "SPY"
    assert errors_of(document, registry) == ["data.symbols: expected a list, found a string"]
    document["data"]["symbols"] = ["SPY"]
    assert errors_of(document, registry) == [
        "trading_systems[0].portfolio.initial_capital: must be > 0 and at most 10,000,000,000,000, was 0.0",
        "trading_systems[0].strategy.parameters.slow_period: must be greater than fast_period (30), was 10",
        "trading_systems[1].name: 'Alpha' is already used by trading_systems[0] (names must differ ignoring "
        "case: they become folder names)",
        "trading_systems[1].portfolio.namespace: 'Alpha' is already used by trading_systems[0] (names must "
        "differ ignoring case: they become folder names)",
        "trading_systems[1].risk.position_sizers[0].size: must be a fraction of equity in (0, 1], was 1.5",
    ]


def test_unknown_plugin_parameters_and_missing_keys_are_named(registry):
    document = backtest_config(system_config(strategy={"type": "momentum", "parameters": {"lookback": 5}}))
    del document["trading_systems"][0]["risk"]["position_sizers"]
    assert errors_of(document, registry) == [
        "trading_systems[0].risk.position_sizers: missing required key"]
    document["trading_systems"][0]["risk"]["position_sizers"] = [{"type": "fixed"}]
    assert errors_of(document, registry) == [
        "trading_systems[0].strategy.parameters.lookback: unknown parameter for strategy 'momentum'; known: "
        "allow_short, lookback_period, momentum_threshold (did you mean lookback_period?)",
        "trading_systems[0].risk.position_sizers[0].size: missing required parameter of position sizer 'fixed'"]


@pytest.mark.parametrize("name", ["../x", "a/b", "", ".hidden"])
def test_names_that_are_not_safe_folder_names_are_refused(registry, name):
    document = backtest_config(system_config("ok", namespace=name or None))
    document["trading_systems"][0]["portfolio"]["namespace"] = name
    document["trading_systems"][0]["name"] = name
    messages = errors_of(document, registry)
    assert messages[0].startswith(f"trading_systems[0].name: {name!r} is not safe as a folder name")


def test_bad_indicator_specs_name_the_entry(registry):
    document = backtest_config(system_config(indicators=["SMA_x", "RSI", "FOO_3", "BB_20_2_9"]))
    assert errors_of(document, registry) == [
        "trading_systems[0].indicators[0].period: expected a whole number, found 'x'",
        "trading_systems[0].indicators[2]: unknown indicator 'FOO'; 201 known (AC, ACCBANDS, ACOS, AD, ADD, …, "
        "ZLEMA) (did you mean FLOOR?)",
        "trading_systems[0].indicators[3]: indicator BB takes at most 2 values (period, nbdev), found 3",
    ]


def test_a_number_yaml_leaves_as_a_string_is_converted_explicitly(registry, tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("""
data: {source: synthetic, symbols: [SPY], bars: 1e3}
trading_systems:
  - name: a
    portfolio: {initial_capital: 1e6}
    strategy: {type: buy_and_hold}
    risk: {position_sizers: [{type: fixed, size: 1}]}
""")
    config = load_config(path, registry)
    assert config.trading_systems[0].portfolio.initial_capital == 1_000_000.0
    assert config.data.params["bars"] == "1e3"  # the source's own parameter, converted when it is built
    assert config.trading_systems[0].namespace == "a"


def test_duplicate_keys_and_python_tags_are_refused_with_line_and_column(registry, tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("data: {source: synthetic, symbols: [SPY]}\ndata: {source: csv}\n")
    with pytest.raises(ConfigErrors, match=r"config.yaml:2:1: invalid YAML: duplicate key 'data' \(first given "
                                           r"at line 1\)"):
        load_config(path, registry)
    path.write_text("data: !!python/object/apply:os.system ['echo hacked']\n")
    with pytest.raises(ConfigErrors, match="tags are not allowed"):
        load_config(path, registry)


@pytest.mark.parametrize("text, message", [
    ("", "the file is empty"),
    ("- a\n- b\n", "the top level is a list; expected a mapping"),
    ("data: [1,\n", "invalid YAML"),
])
def test_empty_list_and_broken_files_say_so(registry, tmp_path, text, message):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigErrors, match=message):
        load_config(path, registry)


def test_unknown_keys_are_matched_against_what_a_file_may_say_never_what_multifolio_sets(registry):
    document = backtest_config(system_config())
    document["system"] = []
    document["trading_systems"][0]["swep"] = {}
    assert sorted(errors_of(document, registry)) == [
        "system: unknown key; known: allocation, controller, data, execution_engine, reporting, risk, trading_systems, workflow "
        "(did you mean trading_systems?)",
        "trading_systems[0].swep: unknown key; known: constraint, execution, indicators, name, portfolio, risk, search, "
        "strategy, sweep, walk_forward (did you mean sweep?)"]

"""Every TA-Lib function by name: through multifolio's indicator path on GOOG, equal to TA-Lib called directly,
and causal; setup.cfg registers exactly TA-Lib's functions; key errors name the key and what is known."""

from __future__ import annotations

import configparser
from pathlib import Path

import numpy as np
import pytest
import talib
import talib.abstract
from backtesting.test import GOOG
from click.testing import CliRunner

import multifolio
from multifolio import cli
from multifolio.config.spec import IndicatorRequest, resolve_indicator
from multifolio.plugins.indicators.talib_functions import EXCLUDED, indicator
from multifolio.testing import assert_causal
from tests.builders import backtest_config, system_config

HAND_WRITTEN = ("SMA", "EMA", "RSI", "ATR", "MACD")  # talib.py's own classes keep these names and keys
FUNCTIONS = sorted(set(talib.get_functions()) - set(EXCLUDED) - set(HAND_WRITTEN))
# GOOG's first 800 days: its close stays below 709, where EXP, COSH and SINH overflow to inf (which multifolio refuses)
DAYS = GOOG.iloc[:800]
SHORT = GOOG.iloc[:300].astype(np.float64)  # the causality check's bars (float volumes: the rewrite scales them)
BARS = {name.lower(): DAYS[name].to_numpy(dtype=np.float64) for name in ("Open", "High", "Low", "Close", "Volume")}
# the bars TA-Lib's abstract interface maps each input name to by default
INPUTS = {"price": ["close"], "prices": ["high", "low", "close"], "price0": ["high"], "price1": ["low"]}


def direct(name: str) -> list[np.ndarray]:
    """TA-Lib's function `name` called with its inputs by position and its default parameters."""
    described = talib.abstract.Function(name)
    inputs = [BARS[field] for fields in described.input_names.values()
              for field in (fields if isinstance(fields, list) else [fields])]
    result = getattr(talib, name)(*inputs, **described.parameters)
    return list(result) if isinstance(result, tuple) else [result]


@pytest.fixture(scope="module")
def through_a_run(tmp_path_factory):
    """One run on GOOG asking for every function at its defaults: the indicators frame it records."""
    system = system_config("every", indicators=FUNCTIONS)
    result = multifolio.run(backtest_config(system, data={"symbols": ["GOOG"]},
                                            output_dir=tmp_path_factory.mktemp("every")), data=DAYS)
    return result.systems["every"].indicators


def test_setup_cfg_registers_every_talib_function_but_the_excluded_and_hand_written():
    parser = configparser.ConfigParser()
    parser.optionxform = str  # keep the names' case
    parser.read(Path(__file__).parents[2] / "setup.cfg")
    registered = {name for name, _ in (line.split(" = ") for line in
                                       parser["options.entry_points"]["multifolio.indicators"].split("\n")[1:])
                  if name not in HAND_WRITTEN + ("BB",)}
    assert sorted(registered) == FUNCTIONS
    assert len(FUNCTIONS) == 195  # TA-Lib 0.8.2: 201 functions less MAVP and the five hand-written


def test_the_default_key_lists_every_parameter_in_talib_order_moving_average_types_last(registry):
    spec = resolve_indicator("STOCH", registry, "indicators[0]")
    assert spec.key == "STOCH_5_3_3_0_0"
    assert list(spec.params.items()) == [("fastk_period", 5), ("slowk_period", 3), ("slowd_period", 3),
                                         ("slowk_matype", 0), ("slowd_matype", 0)]
    assert spec.output_keys() == ["STOCH_5_3_3_0_0.slowk", "STOCH_5_3_3_0_0.slowd"]
    # as traders write it: fast-K 5, slow-K 3, slow-D 3 (in TA-Lib's own order the third is slow-K's MA type)
    assert resolve_indicator("STOCH_5_3_3.slowk", registry, "i").key == "STOCH_5_3_3_0_0"
    assert resolve_indicator("STOCH_14_3_5", registry, "i").params["slowd_period"] == 5
    by_keyword = resolve_indicator(IndicatorRequest("STOCH", {"fastk_period": 14, "slowk_matype": 1}),
                                   registry, "indicators[0]")
    assert by_keyword.key == "STOCH_14_3_3_1_0"
    macd = resolve_indicator("MACDEXT_8_21_5", registry, "i").params
    assert (macd["fastperiod"], macd["slowperiod"], macd["signalperiod"]) == (8, 21, 5)
    assert resolve_indicator("HT_DCPERIOD", registry, "i").key == "HT_DCPERIOD"
    assert resolve_indicator("LINEARREG_SLOPE_20", registry, "i").key == "LINEARREG_SLOPE_20"
    assert resolve_indicator("BBANDS_20_2.5.upperband", registry, "i").key == "BBANDS_20_2.5_2_0"


@pytest.mark.parametrize("name", FUNCTIONS)
def test_each_function_through_a_run_equals_talib_called_directly(through_a_run, registry, name):
    spec = resolve_indicator(name, registry, "indicators[0]")
    expected = direct(name)
    assert len(spec.output_keys()) == len(expected)
    for key, values in zip(spec.output_keys(), expected):
        np.testing.assert_array_equal(through_a_run[key].to_numpy(), values.astype(np.float64), err_msg=key)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_each_function_is_causal(name):
    assert_causal(indicator(name)(), {"GOOG": SHORT}, cuts=[120, 240])


@pytest.mark.parametrize(("text", "path", "message"), [
    ("STOCH_5_3_0.slow", "trading_systems[0].indicators[0]",
     "indicator STOCH has no output 'slow'; known: slowd, slowk (did you mean slowk?)"),
    ("ADX_fourteen", "trading_systems[0].indicators[0].timeperiod", "expected a whole number, found 'fourteen'"),
    ("ADX_14_2", "trading_systems[0].indicators[0]", "indicator ADX takes at most 1 value (timeperiod), found 2"),
    ("ADX_1", "trading_systems[0].indicators[0].timeperiod",
     "TA-Lib's ADX refused 1: TA_ADX function failed with error code 2: Bad Parameter (TA_BAD_PARAM)"),
])
def test_a_bad_key_names_its_path_what_was_found_and_what_is_expected(text, path, message):
    system = system_config("bad", indicators=[text])
    with pytest.raises(multifolio.ConfigErrors) as raised:
        multifolio.run(backtest_config(system, data={"symbols": ["GOOG"]}), data=GOOG)
    [error] = raised.value.errors
    assert (error.path, error.message) == (path, message)


def test_a_wrong_parameter_type_by_keyword_names_the_parameter():
    system = system_config("bad", indicators=[{"type": "STOCH", "fastk_period": 5.5}])
    with pytest.raises(multifolio.ConfigErrors) as raised:
        multifolio.run(backtest_config(system, data={"symbols": ["GOOG"]}), data=GOOG)
    [error] = raised.value.errors
    assert (error.path, error.message) == ("trading_systems[0].indicators[0].fastk_period",
                                           "expected a whole number, found 5.5")


def test_multifolio_plugins_lists_each_function_with_its_parameters_and_defaults():
    done = CliRunner().invoke(cli.cli, ["plugins"], env={"COLUMNS": "250"})  # one line per plugin
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip() for line in done.output.splitlines()
            if line.count("│") >= 3}
    assert rows["STOCH"] == "fastk_period=5, slowk_period=3, slowd_period=3, slowk_matype=0, slowd_matype=0"
    assert rows["ADX"] == "timeperiod=14"
    assert rows["BB"] == "period=20, nbdev=2.0"  # the hand-written six keep their own parameters
    assert "MAVP" not in rows
    assert set(FUNCTIONS) <= set(rows)


def test_a_function_built_from_python_refuses_a_parameter_it_does_not_take():
    with pytest.raises(TypeError, match=r"^ADX takes timeperiod, not period$"):
        indicator("ADX")(period=14)

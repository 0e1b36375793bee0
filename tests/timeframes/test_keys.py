"""The timeframe grammar and indicator keys with `@`: one canonical key per series, clear refusals."""

from __future__ import annotations

import jsonschema
import pandas as pd
import pytest
from click.testing import CliRunner

import multifolio
from multifolio import cli
from multifolio.config.schema import config_schema
from multifolio.config.spec import parse_indicator, resolve_indicator
from multifolio.config.timeframe import parse_timeframe
from multifolio.errors import ConfigError, ConfigErrors
from tests.builders import backtest_config, checked, system_config


@pytest.mark.parametrize(("written", "key"), [
    ("15min", "15min"), ("60min", "1h"), ("90min", "90min"), ("120min", "2h"), ("1h", "1h"), ("4H", "4h"),
    ("1D", "1D"), ("1d", "1D"), ("1W", "1W"), ("2w", "2W"), ("1M", "1M"), ("1000D", "1000D"),
])
def test_each_timeframe_has_one_canonical_spelling(written, key):
    assert parse_timeframe(written, "here").key == key


@pytest.mark.parametrize(("written", "message"), [
    ("5m", ("here: unknown timeframe '5m' (a lone m is ambiguous: write min for minutes or M for months); "
           "expected a count and a unit such as 15min, 1h, 4h, 1D, 1W or 1M (min: minutes, h: hours, D: days, "
           "W: weeks, M: months)")),
    ("0h", "here: timeframe '0h': the count must be in [1, 1000], was 0"),
    ("1001M", "here: timeframe '1001M': the count must be in [1, 1000], was 1001"),
    ("24h", ("here: timeframe '24h': intraday timeframes are shorter than a day (their buckets never span two "
            "sessions); write 1D for a day")),
    ("1Y", ("here: unknown timeframe '1Y'; expected a count and a unit such as 15min, 1h, 4h, 1D, 1W or 1M "
           "(min: minutes, h: hours, D: days, W: weeks, M: months)")),
])
def test_a_bad_timeframe_is_refused_naming_what_was_found_and_what_is_expected(written, message):
    with pytest.raises(ConfigError) as raised:
        parse_timeframe(written, "here")
    assert str(raised.value) == message


@pytest.mark.parametrize("text", ["STOCH_5_3_3@1D.slowk", "STOCH_5_3_3.slowk@1D"])
def test_the_output_may_follow_or_precede_the_timeframe(text):
    request = parse_indicator(text)
    assert (request.type, request.values, request.output, request.timeframe) == \
        ("STOCH", ("5", "3", "3"), "slowk", "1D")


def test_decimals_are_not_an_output_next_to_a_timeframe():
    assert parse_indicator("BB_20_2.5@4h").values == ("20", "2.5")


def test_written_forms_of_one_series_resolve_to_one_canonical_key(registry):
    keys = {resolve_indicator(text, registry, "here").key for text in ("SMA_20@1D", "SMA_20@1d", "SMA_20.0@1D")}
    assert keys == {"SMA_20@1D"}
    assert resolve_indicator("SMA_20@60min", registry, "here").key == "SMA_20@1h"
    assert resolve_indicator("STOCH_5_3_3@1W", registry, "here").output_keys() == \
        ["STOCH_5_3_3_0_0@1W.slowk", "STOCH_5_3_3_0_0@1W.slowd"]


def test_the_keyword_form_and_the_key_are_one_series_computed_once():
    entry = system_config("alpha", indicators=["SMA_20@1D", {"type": "SMA", "period": 20, "timeframe": "1D"},
                                               "SMA_20@1d"])
    config = checked(backtest_config(entry))
    assert [spec.key for spec in config.systems[0].indicators] == ["SMA_20@1D"]
    assert config.systems[0].indicators[0].timeframe == "1D"


def test_a_bad_timeframe_in_a_system_is_a_config_error_at_its_key_path():
    entry = system_config("alpha", indicators=["SMA_5", {"type": "SMA", "timeframe": "5m"}])
    with pytest.raises(ConfigErrors) as raised:
        checked(backtest_config(entry))
    assert [error.path for error in raised.value.errors] == ["trading_systems[0].indicators[1]"]
    assert "unknown timeframe '5m' (a lone m is ambiguous" in raised.value.errors[0].message


HOURLY = pd.DataFrame({"open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0, "volume": 1.0},
                      index=pd.date_range("2024-01-02", periods=48, freq="1h"))


def test_a_timeframe_not_above_the_bar_spacing_is_refused_before_the_first_bar():
    entry = system_config("alpha", indicators=["SMA_5@4h"],
                          strategy={"type": "sma_crossover", "parameters": {"fast_period": 2, "slow_period": 3,
                                                                             "trend": "SMA_3@1h"}})
    with pytest.raises(ConfigErrors) as raised:
        multifolio.run(backtest_config(entry, data={"symbols": ["X"]}), data={"X": HOURLY})
    assert [(error.path, error.message) for error in raised.value.errors] == [
        ("trading_systems[0].strategy", ("SMA_3@1h: timeframe 1h is not above the bar spacing of X (1 hour); a "
                                        "higher timeframe groups several bars of a symbol"))]


def validate_hourly(folder, indicators: str, data: str = "") -> tuple[int, str]:
    """`multifolio validate` of a file of hourly bars of X and one system asking for `indicators`."""
    HOURLY.rename_axis("timestamp").reset_index().assign(symbol="X").to_csv(folder / "x.csv", index=False)
    (folder / "run.yaml").write_text(
        f"data: {{source: csv, file_path: x.csv, symbols: [X]{data}}}\n"
        "trading_systems:\n"
        f"  - {{name: a, portfolio: {{initial_capital: 1000}}, indicators: [{indicators}],\n"
        "     strategy: {type: buy_and_hold}, risk: {position_sizers: [{type: fixed, size: 1}]}}\n")
    outcome = CliRunner().invoke(cli.cli, ["validate", str(folder / "run.yaml")])
    return outcome.exit_code, outcome.output


def test_validate_refuses_it_too_and_exits_2(tmp_path):
    code, output = validate_hourly(tmp_path, "SMA_5@30min")
    assert code == 2
    assert ("trading_systems[0].indicators[0]: SMA_5@30min: timeframe 30min is not above the bar spacing of X "
            "(1 hour)") in output
    assert "Traceback" not in output


def test_validate_lists_the_keys_with_their_timeframes(tmp_path):
    code, output = validate_hourly(tmp_path, "SMA_5@240min, RSI_3", data=", timestamps: close")
    assert code == 0, output
    assert "    indicators  SMA_5@4h, RSI_3\n" in output


def test_data_timestamps_takes_open_or_close():
    with pytest.raises(ConfigErrors) as raised:
        checked(backtest_config(system_config(), data={"source": "synthetic", "symbols": ["SPY"], "bars": 50,
                                                       "timestamps": "start"}))
    assert [(error.path, error.message) for error in raised.value.errors] == [
        ("data.timestamps", "unknown choice 'start'; expected open (a bar's stamp marks its start) or close (its end)")]


def test_the_schema_accepts_timeframes_and_data_timestamps(registry):
    schema = config_schema(registry, ["sharpe"])
    entry = system_config("alpha", indicators=["SMA_20@1D", "STOCH_5_3_3@1D.slowk", "STOCH_5_3_3.slowk@1D",
                                               {"type": "SMA", "period": 20, "timeframe": "1h"}])
    document = backtest_config(entry, data={"source": "synthetic", "symbols": ["SPY"], "timestamps": "close"})
    jsonschema.validate(document, schema)
    document["data"]["timestamps"] = "start"
    with pytest.raises(jsonschema.ValidationError, match="'start' is not one of"):
        jsonschema.validate(document, schema)

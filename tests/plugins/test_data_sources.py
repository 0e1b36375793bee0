"""Data sources: the real GOOG/EURUSD layouts, lowercase tables, Parquet, several symbols, bad rows."""

from __future__ import annotations

from pathlib import Path

import backtesting
import numpy as np
import pandas as pd
import pytest
import yaml
from backtesting.test import GOOG

import multifolio
from multifolio.config.registry import PluginKind
from multifolio.data.market import load_market_data
from multifolio.errors import ConfigErrors, DataError
from multifolio.testing import ScriptedStrategy, make_bars
from multifolio.trading.events import Direction
from tests.builders import backtest_config, checked, run_in_memory, system_config

GOOG_CSV = Path(backtesting.__file__).parent / "test" / "GOOG.csv"
EURUSD_CSV = Path(backtesting.__file__).parent / "test" / "EURUSD.csv"


def market(registry, source, symbols, **params):
    plugin = registry.create(PluginKind.DATA_SOURCE, source, {"symbols": symbols, **params})
    return load_market_data(plugin, symbols)


def test_csv_reads_the_goog_file_as_shipped_unnamed_index_and_capitalised_columns(registry):
    data = market(registry, "csv", ["GOOG"], file_path=str(GOOG_CSV))
    assert len(data) == len(GOOG) == 2148
    assert data.timestamps[0] == pd.Timestamp("2004-08-19") and data.timestamps[-1] == pd.Timestamp("2013-03-01")
    np.testing.assert_array_equal(data.series["GOOG"].arrays["close"], GOOG["Close"].to_numpy())
    np.testing.assert_array_equal(data.series["GOOG"].arrays["volume"], GOOG["Volume"].to_numpy())


def test_csv_reads_hourly_eurusd_with_its_weekend_gaps(registry):
    data = market(registry, "csv", ["EURUSD"], file_path=str(EURUSD_CSV))
    assert len(data) == 5000
    assert data.timestamps[0] == pd.Timestamp("2017-04-19 09:00:00")
    assert (np.diff(data.timestamps.to_numpy()) > np.timedelta64(1, "h")).any()


def test_backtesting_samples_are_the_packages_own_files_by_symbol(registry):
    """`source: backtesting_samples` reads GOOG and EURUSD from the installed backtesting.py, exactly as the
    csv source reads those files; their two timelines are joined as any two symbols'."""
    both = market(registry, "backtesting_samples", ["GOOG", "EURUSD"])
    for symbol, path in (("GOOG", GOOG_CSV), ("EURUSD", EURUSD_CSV)):
        alone = market(registry, "csv", [symbol], file_path=str(path))
        for field, values in alone.series[symbol].arrays.items():
            np.testing.assert_array_equal(both.series[symbol].arrays[field], values)
    assert len(both) == 2148 + 5000  # a daily stamp at midnight is never one of EURUSD's hours
    plugin = registry.create(PluginKind.DATA_SOURCE, "backtesting_samples", {"symbols": ["GOOG"]})
    assert plugin.describe() == str(GOOG_CSV)


def test_backtesting_samples_name_the_samples_there_are_and_how_to_get_the_package(registry, monkeypatch):
    with pytest.raises(ConfigErrors) as caught:
        checked(backtest_config(data={"source": "backtesting_samples", "symbols": ["GOOG", "AAPL"]}), registry)
    assert [str(error) for error in caught.value.errors] == [
        "data.symbols: backtesting.py ships samples of GOOG, EURUSD, BTCUSD; found 'AAPL'"]
    # an environment without backtesting.py: find_spec is what the source asks, and it answers None there
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(ConfigErrors) as caught:
        checked(backtest_config(data={"source": "backtesting_samples", "symbols": ["GOOG"]}), registry)
    assert [str(error) for error in caught.value.errors] == [
        "data.source: reads backtesting.py's sample files, and backtesting.py is not installed: pip install "
        "backtesting (or install multifolio with its test extra)"]


def test_lowercase_columns_with_a_timestamp_column_and_parquet_give_the_same_bars(registry, tmp_path):
    frame = GOOG.head(50).rename(columns=str.lower).rename_axis("timestamp").reset_index()
    frame.to_csv(tmp_path / "goog.csv", index=False)
    GOOG.head(50).to_parquet(tmp_path / "goog.parquet")
    from_csv = market(registry, "csv", ["GOOG"], file_path=str(tmp_path / "goog.csv"))
    from_parquet = market(registry, "parquet", ["GOOG"], file_path=str(tmp_path / "goog.parquet"))
    assert from_csv.timestamps.equals(from_parquet.timestamps)
    for field in ("open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(from_csv.series["GOOG"].arrays[field], from_parquet.series["GOOG"].arrays[field])


def test_a_file_per_symbol_is_aligned_and_no_order_fills_on_a_bar_that_does_not_exist(tmp_path):
    """AAA trades every minute; BBB misses minutes 2 and 3. BBB's LONG after its bar 1 (minute 1)
    cannot fill at minutes 2-3 and fills at minute 4's open, its next real bar."""
    aaa = make_bars([(10, 11, 9, 10)] * 6, "AAA")
    bbb = make_bars([(20, 21, 19, 20), (21, 22, 20, 21), (24, 25, 23, 24), (25, 26, 24, 25)], "BBB")
    bbb["timestamp"] = aaa["timestamp"].iloc[[0, 1, 4, 5]].to_numpy()
    for symbol, frame in (("AAA", aaa), ("BBB", bbb)):
        frame.drop(columns="symbol").to_csv(tmp_path / f"{symbol}.csv", index=False)
    document = backtest_config(system_config("alpha"), data={
        "source": "csv", "symbols": ["AAA", "BBB"], "file_path": str(tmp_path / "{symbol}.csv")})
    script = ScriptedStrategy({1: Direction.LONG})
    [result] = run_in_memory(document, strategies={"alpha": script})
    fills = result.orders.set_index("symbol")
    assert fills.loc["AAA", "fill_time"] == aaa["timestamp"].iloc[2] and fills.loc["AAA", "fill_price"] == 10
    assert fills.loc["BBB", "fill_time"] == aaa["timestamp"].iloc[4] and fills.loc["BBB", "fill_price"] == 24
    assert [(bar.symbol, bar.index) for bar in script.seen if bar.symbol == "BBB"] == [
        ("BBB", 0), ("BBB", 1), ("BBB", 4), ("BBB", 5)]
    # equity carries BBB's last close over its gap
    assert result.equity["position_value"].tolist() == [0, 0, 100, 100, 340, 350]


@pytest.mark.parametrize("edit, message", [
    (lambda f: f.assign(High=f["High"].where(f.index != f.index[3], 1.0)),
     "line 5: high is below max(open, close)"),
    (lambda f: f.assign(Low=f["Low"].where(f.index != f.index[2], 1e6)), "line 4: low is above min(open, close)"),
    (lambda f: f.assign(Close=f["Close"].where(f.index != f.index[7], np.nan)), "line 9: close is missing (NaN)"),
    (lambda f: f.assign(Open=f["Open"].where(f.index != f.index[1], -5.0)),
     "line 3: open must be a positive finite price"),
    (lambda f: f.assign(Volume=f["Volume"].where(f.index != f.index[4], -1)), "line 6: volume is negative"),
    (lambda f: pd.concat([f.iloc[:3], f.iloc[2:3], f.iloc[3:]]), "line 5: duplicate timestamp for GOOG"),
    (lambda f: f.iloc[[0, 2, 1, 3]],
     "line 4: timestamp earlier than the previous row's for GOOG (sort the file by time)"),
])
def test_bad_rows_are_refused_with_the_file_line_and_the_rule(registry, tmp_path, edit, message):
    path = tmp_path / "goog.csv"
    edit(GOOG.head(10)).to_csv(path)
    with pytest.raises(DataError) as caught:
        market(registry, "csv", ["GOOG"], file_path=str(path))
    assert str(caught.value) == f"{path} {message}; fix the file, or set data.on_invalid: drop to skip such rows"


def test_a_missing_csv_given_in_a_dict_says_relative_paths_are_read_from_the_working_directory(registry, in_tmp):
    document = backtest_config(system_config(), data={"source": "csv", "symbols": ["SPY"],
                                                      "file_path": "data/SPY_1m.csv"})
    with pytest.raises(ConfigErrors) as caught:
        checked(document, registry)
    [error] = caught.value.errors
    assert str(error) == (f"data.file_path: file not found: data/SPY_1m.csv ({in_tmp / 'data/SPY_1m.csv'}); check "
                          f"data.file_path (a relative data.file_path is read from the working directory, {in_tmp})")


def test_a_missing_csv_of_a_config_file_says_it_is_read_from_the_config_files_folder(registry, in_tmp):
    (in_tmp / "configs").mkdir()
    config = in_tmp / "configs" / "mine.yaml"
    config.write_text(yaml.safe_dump(backtest_config(system_config(), data={
        "source": "csv", "symbols": ["SPY"], "file_path": "data/SPY_1m.csv"})))
    with pytest.raises(ConfigErrors) as caught:
        multifolio.load(config)
    [error] = caught.value.errors
    assert str(error) == (f"data.file_path: file not found: {in_tmp / 'configs/data/SPY_1m.csv'}; check "
                          f"data.file_path (a relative data.file_path is read from the config file's folder, "
                          f"{in_tmp / 'configs'})")  # never a suggestion to write synthetic bars there


def test_an_absolute_missing_path_gets_no_note_about_folders(registry, in_tmp):
    document = backtest_config(system_config(), data={"source": "parquet", "symbols": ["SPY"],
                                                      "file_path": str(in_tmp / "none.parquet")})
    with pytest.raises(ConfigErrors) as caught:
        checked(document, registry)
    assert [str(error) for error in caught.value.errors] == [
        f"data.file_path: file not found: {in_tmp / 'none.parquet'}; check data.file_path"]


def test_synthetic_bars_are_deterministic_valid_and_in_the_regular_session(registry):
    one = market(registry, "synthetic", ["SPY", "QQQ"], bars=5000, seed=7)
    two = market(registry, "synthetic", ["SPY"], bars=5000, seed=7)
    np.testing.assert_array_equal(one.series["SPY"].arrays["close"], two.series["SPY"].arrays["close"])
    assert not np.array_equal(one.series["SPY"].arrays["close"], one.series["QQQ"].arrays["close"])
    times = one.timestamps
    assert len(times) == 5000 and times[0] == pd.Timestamp("2024-01-02 09:30")
    assert times.time.min().isoformat() == "09:30:00" and times.time.max().isoformat() == "15:59:00"
    assert set(times.day_of_week) <= {0, 1, 2, 3, 4}
    arrays = one.series["SPY"].arrays
    assert (arrays["high"] >= np.maximum(arrays["open"], arrays["close"])).all()
    assert (arrays["low"] <= np.minimum(arrays["open"], arrays["close"])).all()
    different = market(registry, "synthetic", ["SPY"], bars=5000, seed=8)
    assert not np.array_equal(different.series["SPY"].arrays["close"], arrays["close"])

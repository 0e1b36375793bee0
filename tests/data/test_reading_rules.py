"""How real files are read: newest-first files reversed, dates by an explicit rule, a cap on dropped rows.

Every file is a real CSV read by the csv source: GOOG.csv as backtesting.py ships it (byte for byte
the file in the project's shared data folder) rewritten the ways vendors write.
"""

from __future__ import annotations

import json
from pathlib import Path

import backtesting
import numpy as np
import pandas as pd
import pytest

import multifolio
from multifolio.config.registry import PluginKind
from multifolio.data.market import load_market_data
from multifolio.errors import ConfigErrors, DataError
from tests.builders import backtest_config, checked, system_config

GOOG_CSV = Path(backtesting.__file__).parent / "test" / "GOOG.csv"
HINT = "; fix the file, or set data.on_invalid: drop to skip such rows"

pytestmark = pytest.mark.filterwarnings("error")  # a raw pandas warning is a failure, never a message


def goog() -> pd.DataFrame:
    return pd.read_csv(GOOG_CSV, index_col=0)  # dates kept as the text the file holds


def load(registry, path: Path, symbols=("GOOG",), file_path: str | None = None, **reading):
    source = registry.create(PluginKind.DATA_SOURCE, "csv", {"symbols": list(symbols),
                                                             "file_path": file_path or str(path)})
    return load_market_data(source, list(symbols), **reading)


def written(tmp_path: Path, frame: pd.DataFrame, name: str = "GOOG.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path)
    return path


def day_first(frame: pd.DataFrame) -> pd.DataFrame:
    """The dates written 19/08/2004, as European vendors write them."""
    return frame.set_axis(pd.to_datetime(frame.index).strftime("%d/%m/%Y"))


# newest first


def test_a_newest_first_file_reads_as_the_same_file_oldest_first_and_names_the_file(registry, tmp_path):
    oldest_first = load(registry, GOOG_CSV)
    path = written(tmp_path, goog().iloc[::-1])
    newest_first = load(registry, path)
    assert newest_first.timestamps.equals(oldest_first.timestamps) and len(newest_first) == 2148
    for field in ("open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(newest_first.series["GOOG"].arrays[field],
                                      oldest_first.series["GOOG"].arrays[field])
    assert newest_first.reversed_files == (str(path),) and oldest_first.reversed_files == ()
    assert newest_first.reading_notes() == [f"read newest-first, put in time order: {path}"]
    assert oldest_first.reading_notes() == []


def test_only_the_newest_first_one_of_per_symbol_files_is_reversed(registry, tmp_path):
    frame = goog().head(30)
    written(tmp_path, frame, "AAA.csv")
    written(tmp_path, frame.iloc[::-1], "BBB.csv")
    bars = load(registry, tmp_path, ("AAA", "BBB"), file_path=str(tmp_path / "{symbol}.csv"))
    assert bars.reversed_files == (str(tmp_path / "BBB.csv"),) and len(bars) == 30
    np.testing.assert_array_equal(bars.series["BBB"].arrays["close"], frame["Close"].to_numpy())


def test_a_newest_first_file_with_a_row_out_of_place_is_refused_with_that_line(registry, tmp_path):
    frame = goog().head(10).iloc[::-1]
    path = written(tmp_path, frame.iloc[[0, 1, 2, 4, 3, 5, 6, 7, 8, 9]])  # lines 5 and 6 swapped
    with pytest.raises(DataError) as caught:
        load(registry, path)
    assert str(caught.value) == (f"{path} line 5: timestamp earlier than the next row's for GOOG in a file read "
                                 f"newest first (sort the file by time){HINT}")


def test_a_file_in_neither_time_order_is_refused_with_its_line(registry, tmp_path):
    frame = goog().head(10)
    path = written(tmp_path, frame.iloc[[5, 6, 7, 8, 9, 0, 1, 2, 3, 4]])  # two runs, each oldest first
    with pytest.raises(DataError) as caught:
        load(registry, path)
    assert str(caught.value) == (f"{path} lines 7, 8, 9, 10, 11: timestamp earlier than the previous row's for GOOG "
                                 f"(sort the file by time){HINT}")


def test_the_plan_and_the_manifest_say_the_file_was_reversed_and_what_was_dropped(registry, tmp_path):
    frame = goog().head(200).iloc[::-1].copy()
    frame.iloc[10, frame.columns.get_loc("High")] = 1.0  # line 12 of the file: dropped
    path = written(tmp_path, frame)
    backtest = multifolio.load(backtest_config(system_config(), data={
        "source": "csv", "symbols": ["GOOG"], "file_path": str(path), "on_invalid": "drop"}))
    assert backtest.plan()[0] == (f"data: {path}: 199 bars of GOOG, 2004-08-19 00:00:00 → 2005-06-03 00:00:00; "
                                  f"read newest-first, put in time order: {path}; 1 row dropped: 1 (high is below "
                                  "max(open, close))")
    folder = backtest.run(output_dir=tmp_path / "out").folder
    data = json.loads((folder / "manifest.json").read_text())["data"]
    assert (data["reversed"], data["dropped"], data["bars"]) == ([str(path)], {"high is below max(open, close)": 1},
                                                                 199)


# dates


def test_ambiguous_day_month_dates_are_refused_naming_the_line_and_both_formats(registry, tmp_path):
    frame = goog().head(60).iloc[2:]  # from 2004-08-23: the first 10 days of September read either way
    frame = frame[pd.to_datetime(frame.index).day <= 12]
    path = written(tmp_path, day_first(frame))
    assert frame.index[0] == "2004-09-01"
    with pytest.raises(DataError) as caught:
        load(registry, path)
    assert str(caught.value) == (f"{path} line 2: '01/09/2004' is not ISO 8601, and its date may be day first or "
                                 "month first; set data.date_format: '%d/%m/%Y' (day first) or '%m/%d/%Y' "
                                 "(month first)")


def test_day_first_dates_are_refused_naming_the_line_that_proves_it_and_the_format(registry, tmp_path):
    path = written(tmp_path, day_first(goog()))
    with pytest.raises(DataError) as caught:
        load(registry, path)
    assert str(caught.value) == (f"{path} line 2: '19/08/2004' is not ISO 8601 and can only be day first; "
                                 "set data.date_format: '%d/%m/%Y'")


def test_month_first_dates_with_a_time_name_the_format_with_the_time(registry, tmp_path):
    frame = goog().head(20)
    frame = frame.set_axis(pd.to_datetime(frame.index).strftime("%m-%d-%Y 16:00"))
    path = written(tmp_path, frame)
    with pytest.raises(DataError) as caught:
        load(registry, path)
    assert str(caught.value) == (f"{path} line 2: '08-19-2004 16:00' is not ISO 8601 and can only be month first; "
                                 "set data.date_format: '%m-%d-%Y %H:%M'")


def test_day_first_dates_read_with_their_date_format_equal_the_iso_file(registry, tmp_path):
    path = written(tmp_path, day_first(goog()))
    assert load(registry, path, date_format="%d/%m/%Y").timestamps.equals(load(registry, GOOG_CSV).timestamps)


def test_the_example_of_the_issue_09_01_2004_is_never_read_as_september(registry, tmp_path):
    frame = goog()
    frame = frame[(frame.index >= "2004-09-01") & (frame.index < "2004-09-13")]
    path = written(tmp_path, day_first(frame).iloc[::-1])  # newest first, as that vendor wrote it
    with pytest.raises(DataError) as caught:
        load(registry, path)
    assert str(caught.value).startswith(f"{path} line 2: '10/09/2004' is not ISO 8601, and its date may be day first")
    bars = load(registry, path, date_format="%d/%m/%Y")
    assert bars.timestamps[0] == pd.Timestamp("2004-09-01") and bars.timestamps[-1] == pd.Timestamp("2004-09-10")


def test_a_row_that_does_not_match_the_date_format_is_a_broken_rule_with_its_line(registry, tmp_path):
    frame = day_first(goog().head(10))
    path = written(tmp_path, frame.set_axis([*frame.index[:4], "2004-08-25", *frame.index[5:]]))
    with pytest.raises(DataError) as caught:
        load(registry, path, date_format="%d/%m/%Y")
    assert str(caught.value) == f"{path} line 6: timestamp does not match data.date_format '%d/%m/%Y'{HINT}"


@pytest.mark.parametrize("date_format, message", [
    ("%H:%M", "'%H:%M' is not a strftime format of a date that reads back"),
    ("dd/mm/yyyy", "'dd/mm/yyyy' is not a strftime format of a date that reads back"),
])
def test_a_date_format_that_cannot_read_a_date_is_a_config_error(registry, date_format, message):
    document = backtest_config(system_config(), data={"source": "synthetic", "symbols": ["SPY"], "bars": 10,
                                                      "date_format": date_format})
    with pytest.raises(ConfigErrors) as caught:
        checked(document, registry)
    assert [str(error) for error in caught.value.errors] == [
        f"data.date_format: {message}; expected e.g. '%d/%m/%Y' (31/01/2024) or '%m/%d/%Y %H:%M' (01/31/2024 09:30)"]


# at most max_dropped of the rows dropped


def test_one_row_moved_to_the_end_of_an_oldest_first_file_is_that_row_not_a_newest_first_file(registry, tmp_path):
    path = written(tmp_path, goog().iloc[[*range(1, 2148), 0]])  # the first day moved to the end
    with pytest.raises(DataError) as caught:
        load(registry, path)
    assert str(caught.value) == (f"{path} line 2149: timestamp earlier than the previous row's for GOOG "
                                 f"(sort the file by time){HINT}")
    bars = load(registry, path, on_invalid="drop")  # 1 row of 2,148: within the 1 % data.max_dropped allows
    assert len(bars) == 2147 and bars.reversed_files == ()
    assert bars.reading_notes() == ["1 row dropped: 1 (timestamp earlier than the previous row's for GOOG (sort the "
                                    "file by time))"]


def test_drop_on_a_file_read_the_wrong_way_is_refused_not_run_on_one_bar(registry, tmp_path):
    frame = goog()
    path = written(tmp_path, frame.iloc[[*range(1074, 2148), *range(1074)]])  # two halves swapped
    with pytest.raises(DataError) as caught:
        load(registry, path, on_invalid="drop")
    assert str(caught.value) == (
        f"{path}: data.on_invalid: drop would drop 1,074 of the 2,148 rows (50.00%), more than data.max_dropped "
        "0.01 (1.00%) allows; rules broken most: timestamp earlier than the previous row's for GOOG (sort the file "
        "by time) (1,074); fix the data, or raise data.max_dropped")
    assert len(load(registry, path, on_invalid="drop", max_dropped=0.5)) == 1074


def test_the_share_names_the_rules_broken_most_first(registry, tmp_path):
    frame = goog().head(100).copy()
    frame.iloc[[3, 5, 7], frame.columns.get_loc("High")] = 1.0
    frame.iloc[[11], frame.columns.get_loc("Volume")] = -1
    path = written(tmp_path, frame)
    with pytest.raises(DataError) as caught:
        load(registry, path, on_invalid="drop", max_dropped=0.03)
    assert str(caught.value) == (
        f"{path}: data.on_invalid: drop would drop 4 of the 100 rows (4.00%), more than data.max_dropped 0.03 "
        "(3.00%) allows; rules broken most: high is below max(open, close) (3); volume is negative (1); fix the "
        "data, or raise data.max_dropped")
    assert len(load(registry, path, on_invalid="drop", max_dropped=0.04)) == 96


@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_max_dropped_outside_0_to_1_is_a_config_error(registry, value):
    document = backtest_config(system_config(), data={"source": "synthetic", "symbols": ["SPY"], "bars": 10,
                                                      "max_dropped": value})
    with pytest.raises(ConfigErrors) as caught:
        checked(document, registry)
    assert [str(error) for error in caught.value.errors] == [
        f"data.max_dropped: {value!r} is not a share of the rows; expected a number from 0 to 1 (0.01: at most 1 % "
        "of the rows dropped)"]

"""Bad data files: refused with the file, the line(s) and the rule broken (exit 2), or with
`data.on_invalid: drop` left out and counted in the manifest. Driven through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from backtesting.test import GOOG

from tests.builders import backtest_config, system_config
from tests.integration.cli import multifolio, write_config

pytestmark = pytest.mark.slow  # each test runs `multifolio` in a subprocess (some on processes or Dask)

HINT = "; fix the file, or set data.on_invalid: drop to skip such rows"


def run_on(tmp_path: Path, csv_text: str | None, *options: str, **data) -> tuple:
    path = tmp_path / "bars.csv"
    if csv_text is not None:
        path.write_text(csv_text)
    config = write_config(tmp_path, backtest_config(
        system_config("alpha", strategy={"type": "sma_crossover", "parameters": {"fast_period": 3, "slow_period": 5}}),
        data={"source": "csv", "symbols": ["GOOG"], "file_path": str(path), **data}, output_dir=tmp_path / "out"))
    done = multifolio("run", str(config), "--quiet", *options, cwd=tmp_path)
    return done, path


def goog_csv(edit=lambda frame: frame) -> str:
    return edit(GOOG.head(40).copy()).to_csv()


def set_cell(row: int, column: str, value):
    def edit(frame):
        frame = frame.astype({column: object})
        frame.iloc[row, frame.columns.get_loc(column)] = value
        return frame
    return edit


@pytest.mark.parametrize("edit, message", [
    (set_cell(3, "High", 1.0), "line 5: high is below max(open, close)"),
    (set_cell(2, "Low", 1e6), "line 4: low is above min(open, close)"),
    (set_cell(7, "Close", np.nan), "line 9: close is missing (NaN)"),
    (set_cell(1, "Open", 0.0), "line 3: open must be a positive finite price"),
    (set_cell(5, "Close", -3.5), "line 7: close must be a positive finite price"),
    (set_cell(4, "Volume", -1), "line 6: volume is negative"),
    (set_cell(6, "Close", "12,5x"), "line 8: close is not a number"),
    (lambda f: pd.concat([f.iloc[:3], f.iloc[2:3], f.iloc[3:]]), "line 5: duplicate timestamp for GOOG"),
    (lambda f: f.iloc[[0, 1, 3, 2, 4, 5]], "line 5: timestamp earlier than the previous row's for GOOG "
                                            "(sort the file by time)"),
])
def test_a_bad_row_is_refused_with_its_line_and_rule(tmp_path, edit, message):
    done, path = run_on(tmp_path, goog_csv(edit))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == f"error: {path} {message}{HINT}"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("executor", ["processes", "dask"])
def test_a_bad_row_stops_a_parallel_run_whose_workers_were_starting_with_the_same_one_line(tmp_path, executor):
    """The workers (or the LocalCluster) start while the bars load: they are stopped, and say nothing."""
    if executor == "dask":
        pytest.importorskip("distributed")
    done, path = run_on(tmp_path, goog_csv(set_cell(3, "High", 1.0)), "--executor", executor, "--workers", "2")
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {path} line 5: high is below max(open, close){HINT}"
    assert not (tmp_path / "out").exists()


def test_an_unparseable_timestamp_names_its_line(tmp_path):
    text = goog_csv().replace("2004-08-25", "2004-08-2x")
    done, path = run_on(tmp_path, text)
    assert done.returncode == 2
    assert done.stderr.strip() == (f"error: {path} line 6: timestamp is not an ISO 8601 date/time such as "
                                   f"2024-01-02 09:30:00; set data.date_format to read another form{HINT}")


def test_mixed_naive_and_zone_aware_timestamps_are_refused(tmp_path):
    text = goog_csv().replace("2004-08-25,", "2004-08-25T00:00:00+02:00,")
    done, path = run_on(tmp_path, text)
    assert done.returncode == 2
    assert "line 6: timestamps mix times with and without a UTC offset" in done.stderr


@pytest.mark.parametrize("text, message", [
    ("", "the file is empty; expected a header row (timestamp, open, high, low, close, volume) and one row per bar"),
    (",Open,High,Low,Close,Volume\n", "no bars; expected at least one row of timestamp, symbol, open, high, low, "
                                     "close, volume"),
    ("date,Open,High,Close\n2024-01-02,1,2,1.5\n", "missing column(s) low, volume (found: date, Open, High, Close)"),
])
def test_empty_files_and_missing_columns_are_refused(tmp_path, text, message):
    done, path = run_on(tmp_path, text)
    assert done.returncode == 2
    assert done.stderr.strip().startswith(f"error: {path}: {message}")


def test_a_missing_file_is_refused_before_anything_runs(tmp_path):
    done, path = run_on(tmp_path, None)
    assert done.returncode == 2
    assert f"data.file_path: file not found: {path}" in done.stderr


def test_on_invalid_drop_skips_bad_rows_and_counts_them_in_the_manifest(tmp_path):
    edits = [set_cell(3, "High", 1.0), set_cell(7, "Close", np.nan), set_cell(9, "Volume", -1)]

    def broken(frame):
        for edit in edits:
            frame = edit(frame)
        return pd.concat([frame.iloc[:12], frame.iloc[11:12], frame.iloc[12:]])  # and a duplicate

    done, _ = run_on(tmp_path, goog_csv(broken), on_invalid="drop", max_dropped=0.1)  # 4 of 41 rows
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "out" / "test_run" / "manifest.json").read_text())
    assert manifest["status"] == "completed"
    assert manifest["data"]["dropped"] == {"close is missing (NaN)": 1, "high is below max(open, close)": 1,
                                           "volume is negative": 1, "duplicate timestamp for GOOG": 1}
    assert manifest["data"]["bars"] == 37
    equity = pd.read_csv(tmp_path / "out" / "test_run" / "alpha" / "equity.csv")
    dropped_days = {str(GOOG.index[i].date()) for i in (3, 7, 9)}
    assert len(equity) == 37 and not dropped_days & {t[:10] for t in equity["timestamp"]}


def test_data_timezone_places_naive_timestamps_in_that_zone(tmp_path):
    done, _ = run_on(tmp_path, goog_csv(), timezone="America/New_York")
    assert done.returncode == 0, done.stderr
    equity = pd.read_csv(tmp_path / "out" / "test_run" / "alpha" / "equity.csv")
    assert equity["timestamp"].iloc[0] == "2004-08-19 00:00:00-04:00"


def test_a_newest_first_file_runs_as_the_same_file_oldest_first_and_says_so(tmp_path):
    done, path = run_on(tmp_path, goog_csv(lambda frame: frame.iloc[::-1]))
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "out" / "test_run" / "manifest.json").read_text())
    assert manifest["data"]["reversed"] == [str(path)] and manifest["data"]["dropped"] == {}
    assert done.stdout.splitlines()[1:] == [f"data: read newest-first, put in time order: {path}"]  # said once
    newest_first = (tmp_path / "out" / "test_run" / "alpha" / "trades.csv").read_bytes()
    assert run_on(tmp_path, goog_csv())[0].returncode == 0
    assert (tmp_path / "out" / "test_run" / "alpha" / "trades.csv").read_bytes() == newest_first


def test_day_first_dates_are_refused_naming_the_format_then_read_with_it(tmp_path):
    text = goog_csv(lambda frame: frame.set_axis(frame.index.strftime("%d/%m/%Y")))  # 19/08/2004: day first
    done, path = run_on(tmp_path, text)
    assert done.returncode == 2 and "Traceback" not in done.stderr and "Warning" not in done.stderr
    assert done.stderr.strip() == (f"error: {path} line 2: '19/08/2004' is not ISO 8601 and can only be day first; "
                                   "set data.date_format: '%d/%m/%Y'")
    done, _ = run_on(tmp_path, text, date_format="%d/%m/%Y")
    assert done.returncode == 0, done.stderr
    equity = pd.read_csv(tmp_path / "out" / "test_run" / "alpha" / "equity.csv")
    assert equity["timestamp"].iloc[[0, -1]].tolist() == ["2004-08-19", "2004-10-14"]

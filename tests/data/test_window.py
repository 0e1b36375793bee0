"""`data.start`, `data.end`, `data.warmup`: the bars traded, and the bars before them that only warm indicators up."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pandas as pd
import pytest

import multifolio
from multifolio.config.registry import PluginRegistry
from multifolio.config.window import parse_window
from multifolio.data.market import MarketData
from multifolio.data.window import windowed
from multifolio.errors import ConfigErrors, DataError
from multifolio.running.substituted import step_substituted
from multifolio.testing import bars_from_closes
from tests.builders import checked, run_in_memory

START, END = "2024-09-02", "2024-12-31"  # a Monday; the synthetic daily bars run 2024-01-02 → 2025-07-14


def document(data: dict | None = None, active: dict | None = None) -> dict:
    """SMA crossover (5/20) on 400 synthetic daily bars; `data` adds keys to the data section."""
    system = {"name": "x", "portfolio": {"initial_capital": 10_000, **({"active": active} if active else {})},
              "indicators": ["SMA_20"],
              "strategy": {"type": "sma_crossover", "parameters": {"fast_period": 5, "slow_period": 20}},
              "risk": {"position_sizers": [{"type": "fixed", "size": 10}]}}
    return {"workflow": {"name": "window"},
            "data": {"source": "synthetic", "symbols": ["AAA"], "bars": 400, "frequency": "1D", "seed": 3,
                     **(data or {})},
            "trading_systems": [system]}


def test_a_window_with_warmup_trades_bar_for_bar_as_the_whole_data_with_the_system_started_at_start():
    """The crossover keeps state (the first sign it sees is no cross), so it is compared with the whole
    data's run in which the system, through `portfolio.active.start`, first sees the bar at `start`: the
    same bars reach the strategy with the same warm indicator values, so every order, trade and equity
    value is the same; that run's equity has flat rows before `start`, the window's none."""
    [windowed] = run_in_memory(document({"start": START, "end": END, "warmup": 30}))
    [whole] = run_in_memory(document({"end": END}, active={"start": START}))
    assert windowed.equity["timestamp"].iloc[0] == pd.Timestamp(START)
    assert windowed.equity["timestamp"].iloc[-1] == pd.Timestamp(END)
    after = whole.equity[whole.equity["timestamp"] >= pd.Timestamp(START)].reset_index(drop=True)
    pd.testing.assert_frame_equal(windowed.equity, after)
    assert len(windowed.trades) >= 2  # something to compare
    pd.testing.assert_frame_equal(windowed.trades, whole.trades)
    pd.testing.assert_frame_equal(windowed.orders, whole.orders)
    assert (windowed.orders["submitted_time"] >= pd.Timestamp(START)).all()


def test_the_sma_at_start_is_the_whole_data_value_with_a_warmup_and_unwarmed_without():
    [windowed] = run_in_memory(document({"start": START, "warmup": 19}))
    [cold] = run_in_memory(document({"start": START}))
    registry = PluginRegistry()
    market, _, [whole] = step_substituted(checked(document(), registry), registry)
    at_start = int(np.searchsorted(whole.equity["timestamp"], pd.Timestamp(START)))
    full = whole.indicator_values["AAA"]["SMA_20"]
    assert not np.isnan(full[at_start])
    warm = windowed.indicator_values["AAA"]
    # 19 bars before start and start itself: exactly the 20 the SMA needs, so it is the mean of those closes;
    # TA-Lib keeps a running sum, begun at another bar in the whole data: equal up to float rounding only
    assert warm["SMA_20"][0] == pytest.approx(market.series["AAA"].arrays["close"][at_start - 19:at_start + 1]
                                              .mean(), rel=1e-14)
    np.testing.assert_allclose(warm["SMA_20"], full[at_start:], rtol=1e-13, atol=0)
    assert np.isnan(cold.indicator_values["AAA"]["SMA_20"][:19]).all()  # without a warm-up: 19 bars cold
    assert cold.indicator_values["AAA"]["SMA_20"][19] == pytest.approx(full[at_start + 19], rel=1e-13)


def test_a_date_alone_as_end_keeps_that_whole_day_and_a_time_keeps_bars_up_to_it():
    intraday = {"bars": 2000, "frequency": "1min"}
    [day] = run_in_memory(document({**intraday, "end": "2024-01-03"}))
    [minute] = run_in_memory(document({**intraday, "start": "2024-01-03 10:00", "end": "2024-01-03T10:30"}))
    [whole] = run_in_memory(document(intraday))
    stamps = whole.equity["timestamp"]
    assert day.equity["timestamp"].iloc[-1] == stamps[stamps < pd.Timestamp("2024-01-04")].iloc[-1]
    assert day.equity["timestamp"].iloc[-1].date() == pd.Timestamp("2024-01-03").date()
    assert minute.equity["timestamp"].tolist() == pd.date_range("2024-01-03 10:00", "2024-01-03 10:30",
                                                                freq="1min").tolist()


def test_validate_plan_shows_the_window_and_the_warmup():
    # the synthetic bars fall on weekdays: 2024-08-02 (a Friday) → 2024-08-30 is 21 of them, and
    # 2024-09-02 → 2024-12-31 is 21 + 23 + 21 + 22 = 87
    plan = multifolio.load(document({"start": START, "end": END, "warmup": "1M"})).plan()
    assert ("window: 2024-09-02 → 2024-12-31 (the whole day); warm-up: 1 month before data.start, 21 bars from "
            "2024-08-02 00:00:00, for the indicators only (not traded, in no result)") in plan
    assert any(line.startswith("data: ") and "87 bars of AAA, 2024-09-02 00:00:00 → 2024-12-31 00:00:00" in line
               for line in plan)


@pytest.mark.parametrize(("data", "message"), [
    ({"start": "2024-12-31", "end": "2024-09-02"}, "data.end: 2024-09-02 is before data.start 2024-12-31"),
    ({"start": "yesterday"}, ("data.start: expected a date or time such as 2020-06-30 or 2020-06-30T14:30 (in the "
                             "data's zone unless written with one), found 'yesterday'")),
    ({"end": 20240101}, "data.end: expected a string, found 20240101"),
    ({"start": START, "warmup": "6 weeks"}, ("data.warmup: expected a warm-up: a number of bars (20) or of calendar "
                                            "periods: 1D, 1W, 1M, 3M, 1Q, 1Y (at most 1000), found '6 weeks'")),
])
def test_a_bad_window_is_refused_at_its_key(data, message):
    with pytest.raises(ConfigErrors) as raised:
        multifolio.load(document(data))
    assert message in str(raised.value)


@pytest.mark.parametrize(("data", "message"), [
    ({"start": "2030-01-01"}, ("data.start/data.end: no bars from 2030-01-01 00:00:00 → the last bar; the data runs "
                              "from 2024-01-02 00:00:00 to 2025-07-14 00:00:00")),
    ({"start": "2024-01-10", "warmup": 10}, ("data.warmup: 10 bars asked for, but the data holds 6 bars before "
                                            "data.start 2024-01-10 00:00:00 (from 2024-01-02 00:00:00)")),
    ({"start": "2024-01-10", "warmup": "1M"}, ("data.warmup: 1 month before data.start reaches back to 2023-12-10 "
                                              "00:00:00, but the data holds 6 bars before data.start 2024-01-10")),
    ({"warmup": 400}, ("data.warmup: 400 bars from the first bar leave no bar to trade; the data holds 400 bars, "
                       "2024-01-02 00:00:00 → 2025-07-14 00:00:00")),
])
def test_a_window_the_data_cannot_fill_is_refused(data, message):
    with pytest.raises(DataError) as raised:
        run_in_memory(document(data))
    assert message in str(raised.value)


def test_the_warmup_travels_with_the_bars_to_a_worker():
    market = MarketData.from_frame(bars_from_closes([float(v) for v in range(100, 110)]),
                                                          ("SPY",))
    window, _ = parse_window(str(market.timestamps[4]), None, 3)
    cut = pickle.loads(pickle.dumps(windowed(market, window)))
    assert cut.series["SPY"].arrays["close"].tolist() == [104.0, 105.0, 106.0, 107.0, 108.0, 109.0]
    arrays, warm = cut.warm_arrays("SPY")
    assert (warm, arrays["close"].tolist()) == (3, [float(v) for v in range(101, 110)])
    assert cut.warmup.first == market.timestamps[1]


def test_unquoted_yaml_dates_are_read_as_written():
    text = """
workflow: {name: w}
data: {source: synthetic, symbols: [AAA], bars: 400, frequency: 1D, seed: 3, start: 2024-09-02, end: 2024-12-31,
       warmup: 6M}
trading_systems:
  - name: x
    portfolio: {initial_capital: 10000}
    strategy: {type: sma_crossover, parameters: {fast_period: 5, slow_period: 20}}
    risk: {position_sizers: [{type: fixed, size: 10}]}
"""
    data = multifolio.load(text).config.data
    assert (data.start, data.end, data.warmup) == ("2024-09-02", "2024-12-31", "6M")
    assert data.window.end_whole_day


def written_run(tmp_path, executor: str):
    result = multifolio.run(document({"start": START, "end": END, "warmup": "3M"}), output_dir=tmp_path / executor,
                            executor=executor, workers=2 if executor != "serial" else None)
    return result, tmp_path / executor / "window"


def test_every_result_file_begins_at_start(tmp_path):
    _, folder = written_run(tmp_path, "serial")
    for frame in (pd.read_csv(folder / "x" / "equity.csv"), pd.read_csv(folder / "combined_equity.csv"),
                  pd.read_parquet(folder / "bars.parquet")):
        stamps = pd.to_datetime(frame.iloc[:, 0])
        assert (stamps.iloc[0], stamps.iloc[-1]) == (pd.Timestamp(START), pd.Timestamp(END))
    assert len(pd.read_csv(folder / "x" / "equity.csv")) == 87  # the weekdays of the window (see the plan test)


def test_the_manifest_records_the_window_and_the_warmup_read(tmp_path):
    """The config hash covers the window; the manifest says what it kept: 3 months before 2024-09-02 reach
    back to 2024-06-02, a Sunday, so the warm-up's first bar is Monday 2024-06-03, 65 weekdays before start (20 in June, 23 in July, 22 in August)."""
    _, folder = written_run(tmp_path, "serial")
    data = json.loads((folder / "manifest.json").read_text())["data"]
    assert data["window"] == {"start": "2024-09-02T00:00:00", "end": "2024-12-31T00:00:00", "end_whole_day": True,
                              "warmup": "3 months", "first_traded": "2024-09-02T00:00:00",
                              "last_traded": "2024-12-31T00:00:00", "warmup_bars": 65,
                              "warmup_first": "2024-06-03T00:00:00"}
    assert data["bars"] == 87


def test_without_a_window_the_manifest_says_nothing_of_one(tmp_path):
    multifolio.run(document(), output_dir=tmp_path)
    assert "window" not in json.loads((tmp_path / "window" / "manifest.json").read_text())["data"]


@pytest.mark.slow
def test_workers_receive_the_warmup_and_trade_as_the_serial_run(tmp_path):
    serial, _ = written_run(tmp_path, "serial")
    parallel, _ = written_run(tmp_path, "processes")
    assert len(serial.systems["x"].trades) >= 2
    pd.testing.assert_frame_equal(parallel.systems["x"].trades, serial.systems["x"].trades)
    pd.testing.assert_frame_equal(parallel.systems["x"].equity, serial.systems["x"].equity)


def test_a_yaml_date_that_is_no_date_is_named_at_its_key():
    with pytest.raises(ConfigErrors) as raised:
        multifolio.load("workflow: {name: w}\ndata: {source: synthetic, symbols: [AAA], start: 2024-13-10}\n"
                        "trading_systems: []\n")
    assert "data.start: expected a date or time such as 2020-06-30 or 2020-06-30T14:30 (in the data's zone " \
           "unless written with one), found '2024-13-10'" in str(raised.value)


def test_a_naive_start_is_in_the_data_zone_and_a_symbol_without_bars_in_the_window_is_refused():
    spy = bars_from_closes([float(v) for v in range(100, 110)], start="2024-01-02 09:30")  # one a minute
    spy["timestamp"] = pd.to_datetime(spy["timestamp"]).dt.tz_localize("America/New_York")
    market = MarketData.from_frame(spy, ("SPY",))
    window, _ = parse_window("2024-01-02 09:35", "2024-01-02T14:36:00Z", None)  # 09:36 in New York
    cut = windowed(market, window)
    assert [str(t) for t in cut.timestamps] == ["2024-01-02 09:35:00-05:00", "2024-01-02 09:36:00-05:00"]
    late = bars_from_closes([50.0, 51.0], "QQQ", start="2024-01-02 09:38")
    late["timestamp"] = pd.to_datetime(late["timestamp"]).dt.tz_localize("America/New_York")
    both = MarketData.from_frame(pd.concat([spy, late], ignore_index=True), ("SPY", "QQQ"))
    with pytest.raises(DataError, match=r"data.start/data.end: no bars of symbol 'QQQ' from 2024-01-02 09:35:00 → "):
        windowed(both, window)


@pytest.mark.parametrize(("warmup", "first"), [(20, "2024-01-30"), ("1M", "2024-02-02")])
def test_a_warmup_without_start_is_the_datas_first_bars(warmup, first):
    """Without data.start the warm-up is read from the first bar: 20 bars (2024-01-02 to 01-29: 20 weekdays), or
    the bars of the first month; trading starts after it, exactly as with data.start at that bar."""
    alone = multifolio.run(document({"warmup": warmup}))
    started = multifolio.run(document({"start": first, "warmup": warmup}))
    equity = alone.systems["x"].equity
    assert equity["timestamp"].iloc[0] == pd.Timestamp(first)
    pd.testing.assert_frame_equal(equity, started.systems["x"].equity)
    pd.testing.assert_frame_equal(alone.systems["x"].trades, started.systems["x"].trades)
    plan = multifolio.load(document({"warmup": 20})).plan()
    assert ("window: the first bar after the warm-up → the last bar; warm-up: 20 bars from the first bar, 20 bars "
            "from 2024-01-02 00:00:00, for the indicators only (not traded, in no result)") in plan

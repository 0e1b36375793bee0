"""The combined book drawn from the systems' steps, never held whole: the same columns, sums, CSV bytes and
cross-system figures as the frame of every curve side by side that the first version built."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from multifolio.reports import analysis
from multifolio.reports import combined as combined_module
from multifolio.reports.analysis import correlations, drawdown_contributions
from multifolio.reports.combined import CombinedBook, GrowthCurves, sum_of_columns
from multifolio.reports.metrics import time_weighted_curve
from multifolio.reports.overfitting import add_overfitting
from multifolio.reports.writers import write_csv
from tests.book.test_allocation import allocated, run
from tests.builders import backtest_config, run_in_memory, system_config


def crossovers(*periods: tuple[int, int]) -> list:
    """Crossover systems on 1,500 hourly synthetic bars (62 days): trades, flat stretches and daily closes."""
    systems = [system_config(f"sma_{fast}_{slow}", capital=10_000 * (number + 1),
                             strategy={"type": "sma_crossover", "parameters": {"fast_period": fast, "slow_period": slow}},
                             sizers=[{"type": "fixed", "size": 10}])
               for number, (fast, slow) in enumerate(periods)]
    document = backtest_config(*systems, data={"source": "synthetic", "symbols": ["SPY"], "bars": 1500, "seed": 3,
                                               "frequency": "1h"})
    return run_in_memory(document)


@pytest.fixture(scope="module")
def three() -> list:
    return crossovers((5, 20), (10, 40), (3, 9))


def side_by_side(results: list, book=None) -> pd.DataFrame:
    """The first version's combined equity: every curve drawn whole, then pandas' row sum."""
    bars = min(result.equity_steps.bars for result in results)
    frame = pd.DataFrame({"timestamp": results[0].equity_steps.timeline[:bars],
                          **{result.name: result.equity["equity"].to_numpy()[:bars] for result in results}})
    parts = [result.name for result in results]
    if book is not None:
        frame["reserve"] = book.reserve_series(bars)
        parts.append("reserve")
    frame["combined"] = frame[parts].sum(axis=1)
    return frame


def test_the_book_is_the_curves_side_by_side_and_their_pandas_sum_to_the_last_bit(three):
    pd.testing.assert_frame_equal(CombinedBook(three).frame(), side_by_side(three), check_exact=True)


def test_with_an_allocation_the_reserve_is_a_part_and_the_moved_systems_grow_time_weighted():
    holder, idle = run(allocated(rebalance={"every": 2}))
    book = CombinedBook([holder, idle], holder.book)
    pd.testing.assert_frame_equal(book.frame(), side_by_side([holder, idle], holder.book), check_exact=True)
    assert book.parts == ["holder", "idle", "reserve"]
    growth = GrowthCurves(book, [holder, idle])
    assert growth.capital == {"holder": 1.0, "idle": 1.0}  # the book moved capital into both
    equity = holder.equity
    np.testing.assert_array_equal(growth["holder"], time_weighted_curve(
        equity["equity"].to_numpy(), holder.initial_capital, equity["transfers"].to_numpy()))
    np.testing.assert_array_equal(book.at(2), [row for row in book.frame().iloc[2, 1:4]])


def test_a_part_of_the_page_draws_only_its_columns(three):
    frame = CombinedBook(three).frame(["sma_3_9", "sma_5_20", "nobody"])
    assert list(frame.columns) == ["timestamp", "sma_5_20", "sma_3_9", "combined"]  # the book's order
    pd.testing.assert_frame_equal(frame, side_by_side(three)[list(frame.columns)], check_exact=True)


@pytest.mark.parametrize("values", [3, 7, 64, 1 << 20])
def test_the_csv_drawn_a_window_at_a_time_has_the_bytes_of_the_whole_frame(three, tmp_path, monkeypatch, values):
    """Windows down to a row (3 values: fewer than the columns) and the default, one window."""
    monkeypatch.setattr(combined_module, "_WINDOW_VALUES", values)
    book = CombinedBook(three)
    written = book.write_csv(tmp_path / "combined_equity.csv").read_bytes()
    assert written == write_csv(tmp_path / "whole.csv", side_by_side(three)).read_bytes()
    assert written.count(b"\n") == book.bars + 1


def test_a_zoned_timeline_is_put_together_and_written_by_pandas(three, tmp_path, monkeypatch):
    monkeypatch.setattr(combined_module, "_WINDOW_VALUES", 64)
    book = CombinedBook(three)
    book.timestamps = book.timestamps.tz_localize("America/New_York")
    frame = side_by_side(three).assign(timestamp=book.timestamps)
    assert (book.write_csv(tmp_path / "zoned.csv").read_bytes()
            == frame.to_csv(index=False, lineterminator="\n").encode())


def test_figures_from_curves_drawn_one_at_a_time_equal_those_of_the_whole_frame(three):
    book = CombinedBook(three)
    growth = GrowthCurves(book, three)
    frame = side_by_side(three)
    capital = {result.name: result.initial_capital for result in three}
    assert growth.capital == capital
    assert correlations(growth, growth.capital) == correlations(frame, capital)
    names = list(capital)
    assert (drawdown_contributions(book.combined, book.timestamps, book.parts, book.at)
            == drawdown_contributions(frame["combined"].to_numpy(), frame["timestamp"], names,
                                      lambda bar: frame[names].iloc[bar].to_numpy()))
    leaderboard = {"groups": [{"leaderboard": [{"system": name} for name in [*names, "failed"]]}]}
    from_curves, from_frame = leaderboard, {"groups": [{"leaderboard": list(leaderboard["groups"][0]["leaderboard"])}]}
    add_overfitting(from_curves, growth)
    add_overfitting(from_frame, frame)
    assert from_curves == from_frame
    assert from_curves["groups"][0]["overfitting"]["deflated_sharpe"]["trials"] == 3  # the failed one left out


def test_asking_whether_a_system_is_there_draws_nothing(three, monkeypatch):
    growth = GrowthCurves(CombinedBook(three), three)
    monkeypatch.setattr(CombinedBook, "curve", lambda *args: pytest.fail("drew a curve"))
    assert "sma_5_20" in growth and "timestamp" in growth and "combined" not in growth
    assert list(growth) == ["timestamp", "sma_5_20", "sma_10_40", "sma_3_9"] and len(growth) == 4


def test_daily_correlations_leave_a_missing_close_out_as_pandas_does():
    stamps = pd.date_range("2024-01-02 10:00", periods=6, freq="8h")  # 10:00, 18:00, 02:00 (next day) …
    a = np.array([100.0, 104.0, 99.0, 103.0, np.nan, 108.0])
    b = np.array([100.0, 98.0, 101.0, np.nan, 97.0, 99.0])
    frame = pd.DataFrame({"timestamp": stamps, "A": a, "B": b})
    daily = frame.groupby(stamps.normalize())[["A", "B"]].last()
    found = correlations(frame, {"A": 100.0, "B": 100.0})["daily"]["A"]["B"]
    returns = daily / daily.shift(1).fillna(100.0) - 1
    assert found == pytest.approx(returns["A"].corr(returns["B"]), abs=1e-12)


COLUMN = st.lists(st.one_of(st.floats(allow_infinity=False), st.sampled_from([0.0, -0.0, np.nan])),
                  min_size=5, max_size=5)


@settings(max_examples=300, deadline=None)
@given(columns=st.lists(COLUMN, min_size=1, max_size=20), window=st.integers(1, 40))
def test_the_sum_of_columns_is_pandas_row_sum_to_the_last_bit(columns, window):
    """Down to a row a window, and over 8 columns (numpy adds 8 at a time pairwise along a row)."""
    arrays = [np.array(column) for column in columns]
    with pytest.MonkeyPatch.context() as patch, np.errstate(over="ignore", invalid="ignore"):  # huge draws
        expected = pd.DataFrame(dict(enumerate(arrays))).sum(axis=1).to_numpy()
        patch.setattr(combined_module, "_WINDOW_VALUES", window)
        found = sum_of_columns([lambda first, stop, values=values: values[first:stop] for values in arrays], 5)
    assert found.tobytes() == expected.tobytes()


def test_an_empty_window_still_writes_the_header(three, tmp_path):
    book = CombinedBook(three)
    stream = io.BytesIO()
    book.bars, book.timestamps, book.combined = 0, book.timestamps[:0], book.combined[:0]
    combined_module.write_csv_windows(stream, book.windows(), {"timestamp": book.timestamps})
    assert stream.getvalue() == b"timestamp,sma_5_20,sma_10_40,sma_3_9,combined\n"


def same(first: dict, second: dict) -> bool:
    """Equal to the last bit, NaN equal to NaN (as combined_summary.json writes them)."""
    return json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


def curve_of(seed: int, bars: int, flat: float) -> np.ndarray:
    """A trading system's curve: returns of a few basis points, a share `flat` of its bars flat between trades."""
    rng = np.random.default_rng(seed)
    moves = rng.normal(0.0, 0.002, bars) * (rng.random(bars) >= flat)
    return 1000.0 * np.cumprod(1 + moves)


CURVES = st.integers(2, 6).flatmap(lambda count: st.lists(
    st.one_of(st.builds(curve_of, st.integers(0, 2**32 - 1), st.integers(2, 400), st.sampled_from([0.0, 0.5, 0.9])),
              st.just(None)),  # a flat curve: its correlations are NaN
    min_size=count, max_size=count))


@settings(max_examples=60, deadline=None)
@given(CURVES, st.integers(1, 400), st.integers(1, 3000))
def test_correlations_summed_a_window_at_a_time_are_those_of_all_the_returns_to_the_last_bit(
        curves, window_values, product_values):
    bars = max((len(curve) for curve in curves if curve is not None), default=2)
    columns = {f"s{number}": (np.full(bars, 1000.0) if curve is None else np.resize(curve, bars))
               for number, curve in enumerate(curves)}
    frame = pd.DataFrame({"timestamp": pd.date_range("2024-01-02", periods=bars, freq="5h"), **columns})
    capital = {name: 1000.0 for name in columns}
    whole = correlations(frame, capital)
    drawn = []

    def window(name: str, first: int, stop: int) -> np.ndarray:
        drawn.append((name, first, stop))
        return frame[name].to_numpy()[first:stop]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(analysis, "_RETURNS_VALUES", 0)  # every run summed in windows
        patch.setattr(analysis, "_WINDOW_VALUES", window_values)
        patch.setattr(analysis, "_PRODUCT_VALUES", product_values)
        assert same(correlations(frame, capital, window), whole)
    rows = max(1, window_values // len(columns))
    assert len(drawn) == len(columns) * -(-bars // rows)  # every system's curve a window at a time


def test_a_return_across_zero_equity_sums_every_return_at_once_as_pandas_does(monkeypatch):
    frame = pd.DataFrame({"timestamp": pd.date_range("2024-01-02", periods=6, freq="5h"),
                          "a": [100.0, 50.0, 0.0, 0.0, 10.0, 12.0], "b": [100.0, 101.0, 99.0, 102.0, 103.0, 101.0]})
    capital = {"a": 100.0, "b": 100.0}
    monkeypatch.setattr(analysis, "_RETURNS_VALUES", 0)
    assert same(correlations(frame, capital, lambda name, first, stop: pytest.fail("summed in windows")),
                correlations(frame, capital))


def test_a_sweeps_growth_curves_are_drawn_in_windows_and_a_books_whole(three):
    growth = GrowthCurves(CombinedBook(three), three)
    assert np.array_equal(growth.window()("sma_5_20", 100, 250), growth["sma_5_20"][100:250])
    results = run(allocated())
    assert GrowthCurves(CombinedBook(results), results).window() is None  # its capital moved: time-weighted


@pytest.mark.parametrize("window_values", [1 << 20, 1000, 7])
def test_crossover_systems_correlations_summed_in_windows_are_those_of_all_the_returns(three, monkeypatch,
                                                                                       window_values):
    growth = GrowthCurves(CombinedBook(three), three)
    whole = correlations(growth, growth.capital)
    monkeypatch.setattr(analysis, "_RETURNS_VALUES", 0)
    monkeypatch.setattr(analysis, "_WINDOW_VALUES", window_values)
    monkeypatch.setattr(analysis, "_PRODUCT_VALUES", 40)
    assert same(correlations(growth, growth.capital, growth.window()), whole)

"""Cross-system figures on cases small enough to work out by hand."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from multifolio.reports.analysis import MATRIX_SYSTEMS_LIMIT, correlations, drawdown_contributions

BARS = pd.date_range("2024-01-02 09:30", periods=6, freq="1min")


def test_drawdown_contributions_add_up_to_the_combined_drawdown():
    equity = pd.DataFrame({"timestamp": BARS[:4], "A": [100.0, 110.0, 90.0, 95.0], "B": [100.0, 100.0, 105.0, 95.0]})
    parts = equity[["A", "B"]]
    found = drawdown_contributions(parts.sum(axis=1).to_numpy(), equity["timestamp"], ["A", "B"],
                                   lambda bar: parts.iloc[bar].to_numpy())
    assert found == {"peak_time": BARS[1].isoformat(), "trough_time": BARS[3].isoformat(),
                     "combined_change": -20.0, "depth": 190 / 210 - 1,
                     "by_system": {"A": {"change": -15.0, "share": 0.75}, "B": {"change": -5.0, "share": 0.25}}}


def test_correlations_per_bar_and_per_day():
    stamps = pd.DatetimeIndex(["2024-01-02 10:00", "2024-01-02 15:00", "2024-01-03 10:00", "2024-01-03 15:00",
                               "2024-01-04 10:00", "2024-01-04 15:00"])
    # daily closes: A 110, 99, 108.9 (+10%, −10%, +10% from capital 100); B 95, 99.75, 94.7625 (−5%, +5%, −5%)
    a = [105.0, 110.0, 100.0, 99.0, 100.0, 108.9]
    b = [101.0, 95.0, 98.0, 99.75, 99.0, 94.7625]
    found = correlations(pd.DataFrame({"timestamp": stamps, "A": a, "B": b}), {"A": 100.0, "B": 100.0})
    assert found["daily"]["A"]["B"] == pytest.approx(-1.0, abs=1e-12)
    bar_a = np.array(a) / np.array([100.0, *a[:-1]]) - 1
    bar_b = np.array(b) / np.array([100.0, *b[:-1]]) - 1
    assert found["bar"]["A"]["B"] == pytest.approx(np.corrcoef(bar_a, bar_b)[0, 1], abs=1e-12)
    assert found["bar"]["A"]["A"] == pytest.approx(1.0) and found["bar"]["B"]["A"] == found["bar"]["A"]["B"]


def pandas_correlations(equity: pd.DataFrame, capital: dict[str, float], daily: bool = False) -> pd.DataFrame:
    """The reference: pandas' DataFrame.corr of the returns, the first against the initial capital."""
    values = equity[list(capital)].set_axis(pd.DatetimeIndex(equity["timestamp"]))
    if daily:
        values = values.groupby(values.index.normalize()).last()
    before = values.shift(1)
    before.iloc[0] = list(capital.values())
    return (values / before - 1.0).corr()


def random_equities(systems: int, bars: int = 300, seed: int = 5) -> tuple[pd.DataFrame, dict[str, float]]:
    """Random walks of equity, intraday bars over several days; the last system never trades (flat)."""
    rng = np.random.default_rng(seed)
    capital = {f"s{number}": float(rng.choice([1e4, 5e4, 1e5])) for number in range(systems)}
    stamps = pd.date_range("2024-01-02 09:30", periods=bars, freq="30min")
    common = rng.standard_normal(bars)  # a shared factor, so the correlations spread over (−1, 1)
    columns = {name: start * np.cumprod(1 + 0.002 * (rng.uniform(-1, 1) * common + rng.standard_normal(bars)))
               for name, start in capital.items()}
    columns[f"s{systems - 1}"] = np.full(bars, capital[f"s{systems - 1}"])
    return pd.DataFrame({"timestamp": stamps, **columns}), capital


@pytest.mark.parametrize("daily", [False, True], ids=["bar", "daily"])
def test_correlations_of_every_pair_at_once_equal_pandas_and_the_matrix_is_capped(daily):
    equity, capital = random_equities(MATRIX_SYSTEMS_LIMIT + 7)
    found = correlations(equity, capital)
    expected = pandas_correlations(equity, capital, daily)
    names = list(capital)
    shown = names[:MATRIX_SYSTEMS_LIMIT]
    assert found["matrix_systems"] == shown and found["matrix_limit"] == MATRIX_SYSTEMS_LIMIT
    matrix = found["daily" if daily else "bar"]
    assert list(matrix) == shown and all(list(row) == shown for row in matrix.values())
    grid = np.array([[matrix[r][c] for c in shown] for r in shown])
    # pandas sums with Welford's updates, numpy in blocks: the same figures within 1e-14
    np.testing.assert_allclose(grid, expected.loc[shown, shown].to_numpy(), rtol=0, atol=1e-14)
    # the flat system (beyond the matrix) has no correlation; the others' mean leaves it out
    others = expected.to_numpy().copy()
    np.fill_diagonal(others, np.nan)
    mean = found["mean"]["daily" if daily else "bar"]
    assert list(mean) == names
    np.testing.assert_allclose([mean[name] for name in names[:-1]], np.nanmean(others[:-1], axis=1), atol=1e-14)
    assert np.isnan(mean[names[-1]])


def test_a_constant_series_correlates_with_nothing_and_equity_through_zero_falls_back_to_pandas():
    equity, capital = random_equities(4, bars=40)
    flat = correlations(equity, capital)["bar"]
    assert all(np.isnan(flat["s3"][name]) and np.isnan(flat[name]["s3"]) for name in capital)
    assert [flat[name][name] for name in ("s0", "s1", "s2")] == [1.0, 1.0, 1.0]
    equity.loc[10, "s1"] = 0.0  # a return of −100 %, then one from zero: infinite, left out pairwise by pandas
    found = correlations(equity, capital)["bar"]
    grid = np.array([[found[r][c] for c in capital] for r in capital])
    np.testing.assert_array_equal(grid, pandas_correlations(equity, capital).to_numpy())  # NaN where pandas has NaN


def test_correlations_do_not_depend_on_how_the_frame_lays_out_its_columns():
    """The run's frame (built column by column, the book's sum added) and the same numbers read back from its
    CSV (one block, laid out otherwise) give the same matrix to the last bit: combined_summary.json is
    compared by its bytes, and `multifolio report` reads the CSV."""
    rng = np.random.default_rng(3)
    names = [f"s{i}" for i in range(7)]
    values = 1000.0 * np.cumprod(1 + rng.normal(0, 0.01, (5000, len(names))), axis=0)
    built = pd.DataFrame({"timestamp": pd.date_range("2024-01-02", periods=5000, freq="1min"),
                          **{name: values[:, i].copy() for i, name in enumerate(names)}})
    built["combined"] = built[names].sum(axis=1)
    read = pd.read_csv(io.StringIO(built.to_csv(index=False)), parse_dates=["timestamp"])
    assert (read[names].to_numpy() == built[names].to_numpy()).all()
    capital = dict.fromkeys(names, 1000.0)
    assert correlations(built, capital) == correlations(read, capital)

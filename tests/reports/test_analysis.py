"""Cross-system figures on cases small enough to work out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from multifolio.reports.analysis import correlations, drawdown_contributions, opposing_positions

BARS = pd.date_range("2024-01-02 09:30", periods=6, freq="1min")


def orders(*fills: tuple[int, str, float, float], rejected: int = 0) -> pd.DataFrame:
    """orders.csv rows: (bar, symbol, signed quantity, commission + slippage split evenly) filled; some rejected."""
    rows = [{"order_id": n, "submitted_time": BARS[bar - 1], "symbol": symbol, "requested": quantity,
             "quantity": quantity, "status": "filled", "reason": None, "fill_time": BARS[bar], "fill_price": 100.0,
             "commission": cost / 2, "slippage": cost / 2} for n, (bar, symbol, quantity, cost) in enumerate(fills, 1)]
    rows += [{"order_id": 100 + n, "submitted_time": BARS[0], "symbol": "SPY", "requested": 50.0, "quantity": 0.0,
              "status": "rejected", "reason": "limit", "fill_time": None, "fill_price": None, "commission": None,
              "slippage": None} for n in range(rejected)]
    return pd.DataFrame(rows)


def test_opposite_holdings_make_one_period_and_same_bar_offsets_are_the_netting_saving():
    # A: long 10 from bar 1, sells at bar 4. B: short 5 from bar 2, buys back at bar 4, the same bar:
    # netted, 5 of A's sale cross B's purchase: half of A's cost (2) and all of B's (1) are saved.
    book = {"A": orders((1, "SPY", 10.0, 2.0), (4, "SPY", -10.0, 2.0), rejected=1),
            "B": orders((2, "SPY", -5.0, 1.0), (4, "SPY", 5.0, 1.0))}
    found = opposing_positions(book, BARS)
    assert found["periods"] == [{"systems": ["A", "B"], "symbol": "SPY", "start": BARS[2].isoformat(),
                                 "end": BARS[3].isoformat(), "bars": 2, "max_hedged_quantity": 5.0,
                                 "netting_saving": 2.0}]
    assert found["pairs"] == [{"systems": ["A", "B"], "opposed_bars": 2, "netting_saving": 2.0}]
    assert found["netting_saving"] == 2.0


def test_a_hedge_opened_and_closed_at_different_bars_saves_nothing_by_netting():
    book = {"A": orders((1, "SPY", 10.0, 2.0), (5, "SPY", -10.0, 2.0)),
            "B": orders((2, "SPY", -10.0, 2.0), (3, "SPY", 10.0, 2.0)),
            "C": orders((2, "QQQ", -10.0, 2.0))}  # another symbol never opposes SPY
    found = opposing_positions(book, BARS)
    assert [(p["systems"], p["bars"], p["netting_saving"]) for p in found["periods"]] == [(["A", "B"], 1, 0.0)]
    assert [pair["opposed_bars"] for pair in found["pairs"]] == [1, 0, 0]
    assert found["netting_saving"] == 0.0


def test_book_netting_counts_each_crossed_unit_once_with_three_systems():
    # bar 1: A buys 10 (cost 4), B sells 6 (cost 3), C sells 6 (cost 3): 10 of the 12 sold cross A's 10
    book = {"A": orders((1, "SPY", 10.0, 4.0)), "B": orders((1, "SPY", -6.0, 3.0)),
            "C": orders((1, "SPY", -6.0, 3.0))}
    assert opposing_positions(book, BARS)["netting_saving"] == pytest.approx(4.0 + 6.0 * 10 / 12)


def test_drawdown_contributions_add_up_to_the_combined_drawdown():
    equity = pd.DataFrame({"timestamp": BARS[:4], "A": [100.0, 110.0, 90.0, 95.0], "B": [100.0, 100.0, 105.0, 95.0]})
    found = drawdown_contributions(equity, ["A", "B"])
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

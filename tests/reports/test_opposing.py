"""Opposing positions and netting savings: hand-worked cases, and every pair against a plain per-pair reference."""

from __future__ import annotations

from itertools import combinations, pairwise
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from multifolio.reports import book_fills, opposing
from multifolio.reports.opposing import opposing_positions

BARS = pd.date_range("2024-01-02 09:30", periods=6, freq="1min")
TIMELINE = pd.date_range("2024-01-02 09:30", periods=30, freq="1min")  # for the generated books
SYMBOLS = ("IWM", "QQQ", "SPY")


def orders(*fills: tuple[int, str, float, float], rejected: int = 0, timeline: pd.DatetimeIndex = BARS
           ) -> pd.DataFrame:
    """orders.csv rows: (bar, symbol, signed quantity, commission + slippage split evenly) filled; some rejected."""
    rows = [{"order_id": n, "submitted_time": timeline[bar - 1], "symbol": symbol, "requested": quantity,
             "quantity": quantity, "filled": quantity, "status": "filled", "reason": None, "fill_time": timeline[bar],
             "fill_price": 100.0, "commission": cost / 2, "slippage": cost / 2}
            for n, (bar, symbol, quantity, cost) in enumerate(fills, 1)]
    rows += [{"order_id": 100 + n, "submitted_time": timeline[0], "symbol": "SPY", "requested": 50.0,
              "quantity": 0.0, "filled": None, "status": "rejected", "reason": "limit", "fill_time": None,
              "fill_price": None,
              "commission": None, "slippage": None} for n in range(rejected)]
    return pd.DataFrame(rows, columns=["order_id", "submitted_time", "symbol", "requested", "quantity", "filled",
                                       "status", "reason", "fill_time", "fill_price", "commission", "slippage"])


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
    # only pairs with a bar opposed or a saving are listed; the counts say how many there were
    assert [(pair["systems"], pair["opposed_bars"]) for pair in found["pairs"]] == [(["A", "B"], 1)]
    assert (found["pairs_total"], found["pairs_with_any"], found["pairs_listed"]) == (3, 1, 1)
    assert found["netting_saving"] == 0.0


def test_book_netting_counts_each_crossed_unit_once_with_three_systems():
    # bar 1: A buys 10 (cost 4), B sells 6 (cost 3), C sells 6 (cost 3): 10 of the 12 sold cross A's 10
    book = {"A": orders((1, "SPY", 10.0, 4.0)), "B": orders((1, "SPY", -6.0, 3.0)),
            "C": orders((1, "SPY", -6.0, 3.0))}
    assert opposing_positions(book, BARS)["netting_saving"] == pytest.approx(4.0 + 6.0 * 10 / 12)


def reference(book: dict[str, pd.DataFrame], timeline: pd.DatetimeIndex) -> dict:
    """The figures the plain way: each pair, each symbol, each bar of `timeline` (which may end before
    the last fills, as a book of systems interrupted at different bars does: those fills hold no bar)."""
    traded: dict[tuple[str, int, str], tuple[float, float]] = {}  # (system, bar, symbol) → (quantity, cost)
    for name, frame in book.items():
        for row in frame[frame["status"] == "filled"].itertuples():
            key = (name, TIMELINE.get_loc(row.fill_time), row.symbol)
            quantity, cost = traded.get(key, (0.0, 0.0))
            traded[key] = (quantity + row.quantity, cost + row.commission + row.slippage)
    symbols = sorted({symbol for _, _, symbol in traded})
    held = {}
    for name in book:
        for symbol in symbols:
            level, held[name, symbol] = 0.0, []
            for bar in range(len(timeline)):
                level += traded.get((name, bar, symbol), (0.0, 0.0))[0]
                held[name, symbol].append(level)
    pairs, periods = {}, {}
    for a, b in combinations(book, 2):
        opposed_bars, saving, stretches = 0, 0.0, []
        for symbol in symbols:
            crossing = {}
            for bar in range(len(TIMELINE)):
                (qa, ca), (qb, cb) = traded.get((a, bar, symbol), (0.0, 0.0)), traded.get((b, bar, symbol), (0.0, 0.0))
                if qa * qb < 0:
                    crossed = min(abs(qa), abs(qb))
                    crossing[bar] = ca * crossed / abs(qa) + cb * crossed / abs(qb)
            saving += sum(crossing.values())
            bar = 0
            while bar < len(timeline):
                if held[a, symbol][bar] * held[b, symbol][bar] >= 0:
                    bar += 1
                    continue
                start = bar
                while bar < len(timeline) and held[a, symbol][bar] * held[b, symbol][bar] < 0:
                    bar += 1
                stretches.append({"symbol": symbol, "start": timeline[start].isoformat(),
                                  "end": timeline[bar - 1].isoformat(), "bars": bar - start,
                                  "max_hedged_quantity": max(min(abs(held[a, symbol][k]), abs(held[b, symbol][k]))
                                                             for k in range(start, bar)),
                                  # the fill that ends a stretch is in the bar after it
                                  "netting_saving": sum(v for k, v in crossing.items()
                                                        if start <= k <= bar and k < len(timeline))})
                opposed_bars += bar - start
        pairs[a, b] = {"opposed_bars": opposed_bars, "netting_saving": saving}
        periods[a, b] = stretches
    book_saving = 0.0
    for bar, symbol in {(bar, symbol) for _, bar, symbol in traded}:
        sides = [traded[name, bar, symbol] for name in book if (name, bar, symbol) in traded]
        bought, buy_cost = sum(q for q, _ in sides if q > 0), sum(c for q, c in sides if q > 0)
        sold, sell_cost = -sum(q for q, _ in sides if q < 0), sum(c for q, c in sides if q < 0)
        if bought and sold:
            crossed = min(bought, sold)
            book_saving += buy_cost * crossed / bought + sell_cost * crossed / sold
    return {"pairs": pairs, "periods": periods, "netting_saving": book_saving}


def ranked(expected: dict) -> list[tuple[str, str]]:
    """The pairs with any bar opposed or any saving: most bars opposed, then largest saving, then config order."""
    pairs = expected["pairs"]
    having = [pair for pair in pairs if pairs[pair]["opposed_bars"] > 0 or pairs[pair]["netting_saving"] > 0]
    return sorted(having, key=lambda pair: (-pairs[pair]["opposed_bars"], -pairs[pair]["netting_saving"]))


def assert_same_periods(found: list[dict], expected: list[dict]) -> None:
    """Equal, but for the savings, summed in another order (within 1e-12)."""
    assert [{**period, "netting_saving": None} for period in found] == \
        [{**period, "netting_saving": None} for period in expected]
    assert [period["netting_saving"] for period in found] == \
        pytest.approx([period["netting_saving"] for period in expected], rel=1e-12, abs=1e-12)


fill = st.tuples(st.integers(1, len(TIMELINE) - 1), st.sampled_from(SYMBOLS),
                 st.sampled_from([-5.0, -3.0, -2.0, -1.0, 1.0, 2.0, 3.0, 5.0]), st.sampled_from([0.0, 0.5, 1.0, 2.5]))
books = st.lists(st.lists(fill, max_size=14), min_size=1, max_size=7)  # one system: nothing to pair or net


@settings(max_examples=120, deadline=None)
@given(books=books, cut=st.integers(0, 4), block_cells=st.sampled_from([1, 3, opposing.BLOCK_CELLS]),
       fills_per_block=st.sampled_from([1, 3, 8, book_fills.FILLS_PER_BLOCK]),
       crossings_per_part=st.sampled_from([1, 2, opposing.CROSSINGS_PER_PART]))
def test_every_pair_matches_the_plain_per_pair_computation(books, cut, block_cells, fills_per_block,
                                                           crossings_per_part):
    book = {f"s{number}": orders(*fills, timeline=TIMELINE) for number, fills in enumerate(books)}
    timeline = TIMELINE[:len(TIMELINE) - cut]  # a shorter book: fills after its end hold no bar
    # a step or three at a time, or all at once; a fill or a few at a time, or all; a crossing or two at a time
    with mock.patch.object(opposing, "BLOCK_CELLS", block_cells), \
            mock.patch.object(book_fills, "FILLS_PER_BLOCK", fills_per_block), \
            mock.patch.object(opposing, "CROSSINGS_PER_PART", crossings_per_part):
        found = opposing_positions(book, timeline)
    expected = reference(book, timeline)
    listed = ranked(expected)
    assert (found["pairs_total"], found["pairs_with_any"], found["pairs_listed"]) == \
        (len(expected["pairs"]), len(listed), len(listed))
    assert {tuple(pair["systems"]) for pair in found["pairs"]} == set(listed)
    for pair in found["pairs"]:
        wanted = expected["pairs"][tuple(pair["systems"])]
        assert pair["opposed_bars"] == wanted["opposed_bars"]
        assert pair["netting_saving"] == pytest.approx(wanted["netting_saving"], rel=1e-12, abs=1e-12)
    # ranked by bars opposed, then saving (ties within rounding may fall either way)
    shown = [(pair["opposed_bars"], pair["netting_saving"]) for pair in found["pairs"]]
    assert all(a[0] > b[0] or (a[0] == b[0] and a[1] >= b[1] - 1e-9) for a, b in pairwise(shown))
    assert_same_periods(found["periods"], [{"systems": pair["systems"], **period} for pair in found["pairs"]
                                           for period in expected["periods"][tuple(pair["systems"])]])
    assert found["periods_of_listed_pairs"] == found["periods_listed"] == len(found["periods"])
    assert found["netting_saving"] == pytest.approx(expected["netting_saving"], rel=1e-12, abs=1e-12)


def test_beyond_the_caps_the_most_opposed_pairs_and_their_first_periods_are_listed_and_counted():
    # six systems flip between long and short at different paces: every pair opposes, each differently
    book = {}
    for number in range(6):
        pace = number + 2
        flips = [(bar, "SPY", (1.0 if (bar // pace) % 2 == 0 else -1.0) * (2.0 if bar > 1 else 1.0), 1.0)
                 for bar in range(1, len(TIMELINE), pace)]
        book[f"s{number}"] = orders(*flips, timeline=TIMELINE)
    expected = reference(book, TIMELINE)
    listed = ranked(expected)
    every_period = [{"systems": list(pair), **period} for pair in listed[:4] for period in expected["periods"][pair]]
    assert len(listed) == 15 and len(every_period) > 5  # the caps below bite
    with mock.patch.object(opposing, "PAIRS_LISTED_LIMIT", 4), mock.patch.object(opposing, "PERIODS_LISTED_LIMIT", 5):
        found = opposing_positions(book, TIMELINE)
    assert [tuple(pair["systems"]) for pair in found["pairs"]] == listed[:4]
    assert (found["pairs_total"], found["pairs_with_any"], found["pairs_listed"], found["pairs_limit"]) == (15, 15, 4, 4)
    assert_same_periods(found["periods"], every_period[:5])
    assert (found["periods_of_listed_pairs"], found["periods_listed"], found["periods_limit"]) == \
        (len(every_period), 5, 5)


def test_a_book_without_fills_has_no_pairs_periods_or_saving():
    found = opposing_positions({"A": orders(rejected=2), "B": orders()}, BARS)
    assert (found["pairs"], found["periods"], found["netting_saving"]) == ([], [], 0.0)
    assert (found["pairs_total"], found["pairs_with_any"]) == (1, 0)


def test_one_system_nets_nothing_even_when_it_buys_and_sells_in_one_bar():
    """Its fills of a bar and symbol are one net order: nothing crosses, as with the book of two systems where
    the other never trades."""
    book = {"A": orders((1, "SPY", 10.0, 2.0), (3, "SPY", -10.0, 2.0), (3, "SPY", 5.0, 1.0))}
    alone = opposing_positions(book, BARS)
    beside = opposing_positions({**book, "B": orders()}, BARS)
    assert (alone["pairs"], alone["periods"], alone["netting_saving"], alone["pairs_total"]) == ([], [], 0.0, 0)
    assert beside["netting_saving"] == 0.0 and beside["pairs_with_any"] == 0


def test_variants_of_one_sweep_entry_are_never_paired_and_the_book_still_nets_them():
    # A and B are two variants of the entry `grid`, D of `other`, C no sweep's: A opposes B, C and D at bar 2
    book = {"A": orders((1, "SPY", 10.0, 2.0), (3, "SPY", -10.0, 2.0)),
            "B": orders((2, "SPY", -10.0, 2.0), (3, "SPY", 10.0, 2.0)),
            "C": orders((2, "SPY", -5.0, 1.0)),
            "D": orders((2, "SPY", -4.0, 1.0))}
    entries = {"A": "grid", "B": "grid", "D": "other"}
    found = opposing_positions(book, BARS, entries)
    # 6 pairs, one of them (A × B) of one entry; the rest are listed, most bars opposed first
    assert (found["pairs_total"], found["pairs_of_one_sweep_entry"], found["pairs_with_any"]) == (5, 1, 2)
    assert [(pair["systems"], pair["opposed_bars"]) for pair in found["pairs"]] == [(["A", "C"], 1), (["A", "D"], 1)]
    assert {tuple(period["systems"]) for period in found["periods"]} == {("A", "C"), ("A", "D")}
    # A's sale at bar 3 crosses B's purchase: the book sends neither, whatever entry they come from
    assert found["netting_saving"] == opposing_positions(book, BARS)["netting_saving"] == 4.0
    assert "pairs_of_one_sweep_entry" not in opposing_positions(book, BARS)


def own_grouping(frame: pd.DataFrame) -> pd.DataFrame:
    """One system's fills grouped the plain way: pandas' groupby of its filled orders alone, per (time, symbol)."""
    filled = frame[(frame["filled"].fillna(0.0) != 0).to_numpy()]
    return pd.DataFrame({
        "time": pd.DatetimeIndex(filled["fill_time"]).as_unit("ns").asi8, "symbol": filled["symbol"].to_numpy(),
        "quantity": filled["filled"].astype(float).to_numpy(),
        "cost": (filled["commission"] + filled["slippage"]).astype(float).to_numpy(),
    }).groupby(["time", "symbol"], as_index=False, sort=True).sum()


def compensated(values: list[float]) -> float:
    """Kahan's sum, one value after the other."""
    total = compensation = 0.0
    for value in values:
        adjusted = value - compensation
        total, compensation = total + adjusted, ((total + adjusted) - total) - adjusted
    return total


def book_netting(grouped: list[pd.DataFrame]) -> float:
    """The book's netting saving the plain way, from each system's grouped fills in config order: at each (time,
    symbol) in order, each side's quantities and costs added up in config order with Kahan's compensation."""
    every = pd.concat(grouped, ignore_index=True)
    savings = []
    for _, place in every.groupby(["time", "symbol"], sort=True):  # the place's rows keep config order
        buys, sells = place[place["quantity"] > 0], place[place["quantity"] < 0]
        if len(buys) and len(sells):
            bought, sold = compensated(buys["quantity"].tolist()), -compensated(sells["quantity"].tolist())
            crossed = min(bought, sold)
            savings.append(compensated(buys["cost"].tolist()) * crossed / bought
                           + compensated(sells["cost"].tolist()) * crossed / sold)
    return float(pd.Series(savings, dtype=float).sum()) if len(grouped) > 1 else 0.0


# costs that do not add up exactly, three or more fills of a system in one bar and symbol: the sums' last bits
odd_fill = st.tuples(st.integers(1, 4), st.sampled_from(SYMBOLS), st.sampled_from([-7.0, -3.0, -1.0, 1.0, 2.0, 9.0]),
                     st.sampled_from([0.1, 0.3, 0.7, 1.1e-3, 2.9]))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.lists(odd_fill, max_size=12), min_size=1, max_size=6), st.booleans(), st.booleans(),
       st.sampled_from([1, 3, book_fills.FILLS_PER_BLOCK]))
# one system's fills out of symbol order (grouped by pandas on their own), the other's five fills of a bar in order
# (numpy's reduceat, as pandas adds them: 0.7000000000000001, not 0.7)
@example([[(1, "QQQ", -7.0, 0.1), (1, "IWM", -7.0, 0.1)], [(1, "IWM", -7.0, 0.1)] * 4 + [(1, "IWM", -7.0, 0.3)]],
         False, False, 1)
def test_each_systems_fills_are_its_own_grouping_and_the_book_nets_them_to_the_last_bit_whatever_the_blocks(
        books, in_time_order, zoned, fills_per_block):
    if in_time_order:  # as market orders fill
        books = [sorted(fills, key=lambda fill: (fill[0], fill[1])) for fills in books]
    timeline = TIMELINE.tz_localize("America/New_York") if zoned else TIMELINE
    book = {f"s{number}": orders(*fills, timeline=timeline) for number, fills in enumerate(books)}
    with mock.patch.object(book_fills, "FILLS_PER_BLOCK", fills_per_block):  # a fill or three at a time, or all
        fills = book_fills.BookFills(book, timeline)
        blocks = list(fills.blocks())
        netting = opposing_positions(book, timeline)["netting_saving"]
    every = pd.DataFrame({column: np.concatenate([getattr(block, column) for block in blocks])
                          for column in ("system", "time", "symbol", "quantity", "cost")})
    spans = [(block.time.min(), block.time.max()) for block in blocks if len(block)]
    assert all(earlier[1] < later[0] for earlier, later in pairwise(spans))  # blocks of times, in time order
    grouped = [own_grouping(frame) for frame in book.values()]
    for number, expected in enumerate(grouped):
        mine = every[every["system"] == number].drop(columns="system").reset_index(drop=True)
        mine["symbol"] = [fills.symbols[code] for code in mine["symbol"]]
        pd.testing.assert_frame_equal(mine, expected, check_exact=True, check_dtype=False)
    assert netting == book_netting(grouped)  # exactly

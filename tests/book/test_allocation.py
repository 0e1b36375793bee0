"""The allocation between systems, against numbers worked out by hand: funding, transfers at bar boundaries,
positions sold when a system gives back more than its free cash, time-weighted figures."""

from __future__ import annotations

import math

import pytest

from multifolio.config.registry import PluginKind
from multifolio.protocols import Direction
from multifolio.reports.combined import CombinedBook
from multifolio.reports.writers import performance
from multifolio.testing import FrameSource, ScriptedStrategy, bars_from_closes
from tests.book.test_faults import registry_with
from tests.builders import backtest_config, run_in_memory, system_config

CLOSES = [100.0, 110.0, 121.0, 110.0, 99.0, 99.0]  # each bar opens at the close before it


def allocated(**allocation) -> dict:
    """Two systems funded half and half from 100,000: `holder` buys 480 units at its first signal, `idle`
    never trades."""
    document = backtest_config(
        system_config("holder", sizers=[{"type": "fixed", "size": 480}]),
        system_config("idle"))
    for entry in document["trading_systems"]:
        del entry["portfolio"]["initial_capital"]
    document["allocation"] = {"capital": 100_000, "method": "fixed", "weights": {"holder": 0.5, "idle": 0.5},
                              **allocation}
    return document


def run(document: dict, closes=CLOSES):
    source = FrameSource(bars_from_closes(closes, freq="1D"))
    scripts = {"holder": ScriptedStrategy({0: Direction.LONG}), "idle": ScriptedStrategy({})}
    return run_in_memory(document, source=source,
                         strategies=scripts)


def test_funding_then_a_rebalance_that_sells_what_free_cash_cannot_cover():
    holder, idle = run(allocated(rebalance={"every": 2}))
    book = holder.book
    assert book is idle.book  # one record of the book, carried by both
    # bar 0: each funded with 50,000. holder buys 480 at bar 1's open (100): cash 2,000.
    # bar 1 closes at 110: holder 2,000 + 52,800 = 54,800, idle 50,000, total 104,800, targets 52,400 each.
    # At the boundary before bar 2 holder gives 2,400 but has 2,000 free (equity − position value): the
    # transfer is made, and an order tagged rebalance sells 2,400 / 54,800 of the 480 units, 21.02 → 22,
    # at bar 2's open (110): cash 2,000 − 2,400 + 2,420 = 2,020, 458 units.
    assert book.transfers[["bar", "system", "amount", "cause"]].values.tolist() == [
        [0, "holder", 50_000.0, "funding"], [0, "idle", 50_000.0, "funding"],
        [2, "holder", -2_400.0, "schedule"], [2, "idle", 2_400.0, "schedule"]]
    sells = holder.orders[holder.orders["cause"] == "rebalance"]
    assert sells[["quantity", "fill_price", "status"]].values.tolist() == [[-22.0, 110.0, "filled"]]
    assert sells["submitted_time"].iloc[0] == holder.equity["timestamp"].iloc[1]  # placed as of bar 1's close
    equity = holder.equity
    assert equity["cash"].tolist()[:3] == [50_000.0, 2_000.0, 2_020.0]
    assert equity["transfers"].tolist() == [50_000.0, 0.0, -2_400.0, 0.0, 0.0, 0.0]
    assert idle.equity["equity"].tolist() == [50_000.0, 50_000.0, 52_400.0, 52_400.0, 52_400.0, 52_400.0]
    # bar 4's boundary (closes of bar 3, 110): holder 2,020 + 458 × 110 = 52,400, idle 52,400: on target
    assert book.rebalances["bar"].tolist() == [0, 2, 4]
    assert book.rebalances[["holder", "idle"]].values.tolist() == [[0.5, 0.5]] * 3
    # the book conserves cash: every system's equity and the reserve add up to the capital and the PnL
    book_frame = CombinedBook([holder, idle], book).frame()
    assert book_frame["reserve"].tolist() == [0.0] * 6
    # 22 units sold at 110 and 458 held at 99, all bought at 100
    assert book_frame["combined"].iloc[-1] == 100_000 + 22 * (110 - 100) + 458 * (99 - 100)


def test_time_weighted_figures_leave_the_transfers_out():
    holder, _ = run(allocated(rebalance={"every": 2}))
    figures = performance(holder)
    # returns on the capital each bar started with: 54,800 / 50,000; 57,438 / 52,400 (2,020 + 458 × 121 on
    # 54,800 − 2,400); 52,400 / 57,438; 47,362 / 52,400; then flat
    growth = [50_000 / 50_000, 54_800 / 50_000, 57_438 / 52_400, 52_400 / 57_438, 47_362 / 52_400, 1.0]
    assert figures["total_return"] == pytest.approx(math.prod(growth) - 1, rel=1e-12)
    assert figures["initial_capital"] == 50_000.0
    assert figures["final_equity"] == pytest.approx(47_362.0)
    assert figures["transfers_in"] == 0.0 and figures["transfers_out"] == 2_400.0
    assert figures["max_drawdown"] == pytest.approx(47_362 / 52_400 * 52_400 / 57_438 - 1, rel=1e-12)


def test_drift_rebalances_only_when_a_weight_moves_that_far_from_its_target():
    holder, _ = run(allocated(rebalance={"drift": 0.04}))
    # holder's weight at the closes: bar 1 54,800 / 104,800 = 0.523 (0.023 off); bar 2 2,000 + 480 × 121 =
    # 60,080 of 110,080 = 0.546: rebalanced at bar 3's boundary, to 55,040 each: holder gives 5,040 with 2,000
    # free and sells 5,040 / 60,080 of 480 = 40.3 → 41 units at 121: cash 1,921, 439 units. Bar 3: 50,211 of
    # 105,251 = 0.477 (0.023 off); bar 4: 1,921 + 439 × 99 = 45,382 of 100,422 = 0.452: again at bar 5,
    # to 50,211 each: idle gives 4,829, holder takes it
    assert holder.book.rebalances[["bar", "cause"]].values.tolist() == [[0, "funding"], [3, "drift"], [5, "drift"]]
    assert holder.book.transfers["amount"].tolist()[2:] == pytest.approx([-5_040.0, 5_040.0, -4_829.0, 4_829.0])
    sells = holder.orders[holder.orders["cause"] == "rebalance"]
    assert sells[["quantity", "fill_price"]].values.tolist() == [[-41.0, 121.0]]


def test_without_an_allocation_every_system_keeps_its_own_capital_and_nothing_is_transferred():
    document = backtest_config(system_config("holder", sizers=[{"type": "fixed", "size": 480}]), system_config("idle"))
    source = FrameSource(bars_from_closes(CLOSES, freq="1D"))
    results = run_in_memory(document, source=source,
                            strategies={"holder": ScriptedStrategy({0: Direction.LONG})})
    assert all(result.book is None and "transfers" not in result.equity for result in results)


def test_a_fill_at_close_systems_rebalance_sale_fills_at_the_next_open_after_the_transfer():
    document = allocated(rebalance={"every": 2})
    for entry in document["trading_systems"]:
        entry["execution"]["fill_at"] = "close"
    holder, _ = run(document)
    # holder buys 480 at bar 0's close (100); bar 1 closes at 110: 2,000 + 52,800 = 54,800, nothing moved yet
    assert holder.equity["equity"].iloc[1] == 54_800.0
    sells = holder.orders[holder.orders["cause"] == "rebalance"]
    assert sells["fill_time"].tolist() == [holder.equity["timestamp"].iloc[2]]  # at t's open, as the rule says


def test_a_system_given_a_weight_of_0_is_parked_its_leftover_swept_and_funded_again_later():
    document = allocated(rebalance={"every": 2})
    document["trading_systems"][0]["execution"] = {"slippage_bps": 10}
    document["allocation"] = {"capital": 100_000, "method": "scheduled", "rebalance": {"every": 2},
                              "parameters": {"schedule": {0: {"holder": 0.5, "idle": 0.5}, 1: {"idle": 1.0},
                                                          2: {"holder": 0.5, "idle": 0.5}}}}
    source = FrameSource(bars_from_closes(CLOSES, freq="1D"))
    scripts = {"holder": ScriptedStrategy({0: Direction.LONG}), "idle": ScriptedStrategy({})}
    registry = registry_with(PluginKind.ALLOCATOR, "scheduled", "tests.fakes:ScheduledWeights")
    holder, _ = run_in_memory(document, source=source, registry=registry, strategies=scripts)
    # bar 1: holder buys 480 at 100.10 (10 bps): cash 1,952; bar 1 closes at 110: 54,752. Bar 2 (weight 0):
    # all 54,752 goes back (cash −52,800) and the 480 are sold at 110 − 10 bps = 109.89 (52,747.20): −52.80,
    # the sale's slippage, which the book covers at bar 3. Bar 4 (0.5): the block lifted; 104,752 − 52.80
    # in all, 52,349.60 each: idle gives 52,402.40, holder gets 52,349.60
    transfers = holder.book.transfers
    assert transfers[["bar", "system", "cause"]].values.tolist() == [
        [0, "holder", "funding"], [0, "idle", "funding"], [2, "holder", "schedule"], [2, "idle", "schedule"],
        [3, "holder", "parked"], [4, "idle", "schedule"], [4, "holder", "schedule"]]
    assert transfers["amount"].tolist() == pytest.approx([50_000, 50_000, -54_752, 54_752, 52.8, -52_402.4, 52_349.6])
    assert holder.trades["exit_price"].tolist() == pytest.approx([109.89])
    assert holder.trades["exit_reason"].tolist() == ["rebalance"]
    assert [(halt.reason, halt.action, halt.index, halt.lifted_index) for halt in holder.halts] == [
        ("parked", "block", 1, 3)]
    assert holder.equity["equity"].tolist() == pytest.approx([50_000, 54_752, -52.8, 0.0, 52_349.6, 52_349.6])

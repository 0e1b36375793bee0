"""A 5-bar run whose every number was worked out by hand (see each test's docstring)."""

from __future__ import annotations

import pandas as pd
import pytest

from multifolio.testing import FrameSource, ScriptedStrategy, make_bars
from multifolio.trading.events import Direction
from tests.builders import backtest_config, run_in_memory, system_config

# (open, high, low, close)
FIVE_BARS = [(100, 101, 99, 100), (101, 103, 100, 102), (103, 104, 102, 103), (102, 103, 100, 101),
             (100, 101, 98, 99)]


def run_five_bars(script, execution=None, **portfolio):
    strategy = ScriptedStrategy(script)
    costs = {"slippage_bps": 10, "commission": 0.01} if execution is None else execution
    document = backtest_config(system_config("alpha", capital=10_000, execution=costs, **portfolio))
    [result] = run_in_memory(document, source=FrameSource(make_bars(FIVE_BARS)),
                             strategies={"alpha": strategy})
    return result, strategy


def test_long_then_flat_then_short_gives_hand_computed_cash_trades_and_equity():
    """LONG at bar 0's close → +10 at bar 1's open 101 × 1.001 = 101.101, commission 0.10:
    cash 10000 − 1011.01 − 0.10 = 8988.89. FLAT at bar 2 → −10 at bar 3's open 102 × 0.999
    = 101.898: cash + 1018.98 − 0.10 = 10007.77. SHORT at bar 3 → −10 at bar 4's open
    100 × 0.999 = 99.9: cash + 999 − 0.10 = 11006.67, equity 11006.67 − 10 × 99 = 10016.67."""
    result, _ = run_five_bars({0: Direction.LONG, 2: Direction.FLAT, 3: Direction.SHORT})

    equity = result.equity
    assert equity["cash"].tolist() == pytest.approx([10_000, 8988.89, 8988.89, 10007.77, 11006.67], abs=1e-9)
    assert equity["position_value"].tolist() == pytest.approx([0, 1020, 1030, 0, -990], abs=1e-9)
    assert equity["equity"].tolist() == pytest.approx([10_000, 10008.89, 10018.89, 10007.77, 10016.67], abs=1e-9)
    assert result.open_positions == {"SPY": -10.0}

    [trade] = result.trades.to_dict("records")
    assert trade["side"] == "long" and trade["quantity"] == 10
    assert trade["entry_time"] == pd.Timestamp("2024-01-02 09:31") and trade["exit_time"] == pd.Timestamp(
        "2024-01-02 09:33")
    assert trade["entry_price"] == pytest.approx(101.101) and trade["exit_price"] == pytest.approx(101.898)
    assert trade["gross_pnl"] == pytest.approx(7.97) and trade["commission"] == pytest.approx(0.20)
    assert trade["net_pnl"] == pytest.approx(7.77) and trade["slippage"] == pytest.approx(1.01 + 1.02)
    assert trade["bars_held"] == 2

    orders = result.orders
    assert orders["status"].tolist() == ["filled"] * 3
    assert orders["quantity"].tolist() == [10, -10, -10]
    assert orders["fill_price"].tolist() == pytest.approx([101.101, 101.898, 99.9])


def test_orders_fill_at_the_next_bars_open_never_on_the_signal_bar():
    result, _ = run_five_bars({1: Direction.LONG}, execution={})
    order = result.orders.iloc[0]
    assert order["submitted_time"] == pd.Timestamp("2024-01-02 09:31")
    assert order["fill_time"] == pd.Timestamp("2024-01-02 09:32")
    assert order["fill_price"] == 103.0  # bar 2's open, not bar 1's close (102)


def test_fill_at_close_fills_on_the_signal_bars_close():
    result, _ = run_five_bars({1: Direction.LONG}, execution={"fill_at": "close"})
    order = result.orders.iloc[0]
    assert order["fill_time"] == order["submitted_time"] == pd.Timestamp("2024-01-02 09:31")
    assert order["fill_price"] == 102.0


def test_an_order_from_the_last_bar_is_cancelled_and_reported():
    result, _ = run_five_bars({4: Direction.LONG})
    assert result.orders[["status", "quantity"]].values.tolist() == [["cancelled", 10.0]]
    assert result.open_positions == {}
    assert result.equity["equity"].iloc[-1] == 10_000


def test_close_at_end_closes_the_position_at_the_last_close_with_costs():
    """Long 10 from bar 1's open 101.101 (10 bps); closed at the last close 99 × 0.999 = 98.901."""
    result, _ = run_five_bars({0: Direction.LONG}, close_at_end=True)
    assert result.open_positions == {}
    closing = result.orders.iloc[-1]
    assert closing["reason"] == "closed at the end of data"
    assert closing["fill_price"] == pytest.approx(98.901)
    [trade] = result.trades.to_dict("records")
    assert trade["net_pnl"] == pytest.approx((98.901 - 101.101) * 10 - 0.20)
    assert result.equity["equity"].iloc[-1] == pytest.approx(10_000 + trade["net_pnl"])


def test_the_strategy_sees_each_bar_once_in_order_with_its_own_namespace():
    _, strategy = run_five_bars({})
    assert [bar.close for bar in strategy.seen] == [100, 102, 103, 101, 99]
    assert {bar.namespace for bar in strategy.seen} == {"alpha"}
    assert [bar.index for bar in strategy.seen] == [0, 1, 2, 3, 4]

"""The ledger: cash, FIFO lots, round trips, flips; built without any container."""

from __future__ import annotations

import pickle

import pandas as pd
import pytest

from multifolio.data.market import MarketData
from multifolio.testing import bars_from_closes
from multifolio.trading.events import OrderFilled
from multifolio.trading.portfolio import Portfolio


def make_portfolio(closes=(100, 101, 102, 103, 104, 105), capital=10_000.0):
    market = MarketData.from_frame(bars_from_closes(closes), ("SPY",))
    return Portfolio(market=market, namespace="alpha", initial_capital=capital), market


def fill(market, index, quantity, price, commission=0.0, order_id=1):
    return OrderFilled("alpha", market.timeline, index, order_id, "SPY", quantity, price, commission, 0.0)


def test_a_flip_from_long_to_short_realises_the_long_and_opens_the_short_at_the_fill_price():
    portfolio, market = make_portfolio()
    portfolio.on_order_filled(fill(market, 1, 10, 100.0, commission=1.0))
    portfolio.on_order_filled(fill(market, 3, -25, 110.0, commission=2.5))  # sells 10, shorts 15
    [trade] = portfolio.trades
    assert (trade.side, trade.quantity, trade.entry_price, trade.exit_price) == ("long", 10, 100.0, 110.0)
    assert trade.gross_pnl == 100.0
    assert trade.commission == pytest.approx(1.0 + 1.0)  # the entry's 1.0 and 10/25 of the exit's 2.5
    assert portfolio.position("SPY") == -15
    [lot] = portfolio.open_lots("SPY")
    assert (lot.quantity, lot.price, lot.commission) == (-15, 110.0, pytest.approx(1.5))
    assert portfolio.cash == pytest.approx(10_000 - 1000 - 1.0 + 2750 - 2.5)


def test_partial_closes_are_first_in_first_out_with_prorated_entry_commission():
    portfolio, market = make_portfolio()
    portfolio.on_order_filled(fill(market, 1, 10, 100.0, commission=1.0))
    portfolio.on_order_filled(fill(market, 2, 10, 102.0, commission=1.0))
    portfolio.on_order_filled(fill(market, 3, -15, 104.0, commission=1.5))
    first, second = portfolio.trades
    assert (first.quantity, first.entry_price, first.gross_pnl) == (10, 100.0, 40.0)
    assert (second.quantity, second.entry_price, second.gross_pnl) == (5, 102.0, 10.0)
    assert second.commission == pytest.approx(0.5 + 0.5)
    assert [lot.quantity for lot in portfolio.open_lots("SPY")] == [5]
    assert first.bars_held == 2 and second.bars_held == 1


def test_final_equity_minus_capital_is_realised_plus_unrealised_with_commissions_once():
    portfolio, market = make_portfolio()
    portfolio.on_order_filled(fill(market, 1, 10, 100.5, commission=0.7))
    portfolio.on_order_filled(fill(market, 2, -4, 101.3, commission=0.3))
    portfolio.on_order_filled(fill(market, 4, -20, 103.9, commission=1.1))
    equity = portfolio.equity_steps().frame()
    last_close = 105.0
    realised = sum(t.net_pnl for t in portfolio.trades)
    unrealised = sum((last_close - lot.price) * lot.quantity - lot.commission for lot in portfolio.open_lots("SPY"))
    assert equity["equity"].iloc[-1] - 10_000 == pytest.approx(realised + unrealised, abs=1e-9)
    # every commission paid sits in exactly one closed trade or one open lot
    assert sum(t.commission for t in portfolio.trades) + sum(
        lot.commission for lot in portfolio.open_lots("SPY")) == pytest.approx(0.7 + 0.3 + 1.1)


def test_equity_curve_marks_every_bar_at_its_close_after_that_bars_fills():
    portfolio, market = make_portfolio()
    portfolio.on_order_filled(fill(market, 2, 10, 101.0))
    curve = portfolio.equity_steps().frame()
    assert curve["cash"].tolist() == [10_000] * 2 + [8_990] * 4
    assert curve["position_value"].tolist() == [0, 0, 1020, 1030, 1040, 1050]
    assert (curve["equity"] == curve["cash"] + curve["position_value"]).all()
    assert portfolio.equity_at(3) == 8_990 + 1030


def test_equity_steps_cross_a_process_boundary_small_and_draw_the_same_curve():
    """What a parallel run's worker sends back: a step per fill, the closes shared; the caller draws the curve."""
    spy = bars_from_closes([100, 101, 102, 103, 104, 105])
    qqq = bars_from_closes([50, 51, 52, 53], "QQQ", start="2024-01-02 09:32")  # no bar at the first two timestamps
    market = MarketData.from_frame(pd.concat([spy, qqq], ignore_index=True), ("SPY", "QQQ"))
    portfolio = Portfolio(market=market, namespace="alpha",
                          initial_capital=10_000.0)
    portfolio.on_order_filled(fill(market, 1, 10, 100.0))
    portfolio.on_order_filled(OrderFilled("alpha", market.timeline, 3, 2, "QQQ", -4, 51.0, 0.5, 0.0))
    steps = portfolio.equity_steps()
    assert steps.holdings["QQQ"][2] is market.closes_filled("QQQ")  # one array for every system
    copy = pickle.loads(pickle.dumps(steps))
    pd.testing.assert_frame_equal(copy.frame(), portfolio.equity_steps().frame(), check_exact=True)
    curve = copy.frame()
    assert curve["cash"].tolist() == [10_000, 9_000, 9_000, 9_203.5, 9_203.5, 9_203.5]
    assert curve["position_value"].tolist() == [0, 1010, 1020, 1030 - 204, 1040 - 208, 1050 - 212]
    assert len(steps.indices) == len(steps.cash) == 2  # a step per fill, not a row per bar
    assert portfolio.equity_steps(4).frame().equals(curve.iloc[:4])

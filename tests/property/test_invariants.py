"""Invariants that must hold for any bars and any signals (hypothesis property tests)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from multifolio.testing import FrameSource, ScriptedStrategy, make_bars
from multifolio.trading.events import Direction
from tests.builders import backtest_config, run_in_memory, system_config
from tests.property.strategies import bar_frames, scripts, system_entries

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run_scripted(frame: pd.DataFrame, script: dict, system: dict):
    document = backtest_config(system)
    [result] = run_in_memory(document, source=FrameSource(frame),
                             strategies={system["name"]: ScriptedStrategy(script)})
    return result


def replay_ledger(result, frame: pd.DataFrame, capital: float) -> pd.DataFrame:
    """Cash and position at every bar rebuilt from orders.csv alone, independently of the portfolio."""
    fills = result.orders[result.orders["status"] == "filled"]
    cash = np.full(len(frame), capital)
    position = np.zeros(len(frame))
    for _, fill in fills.iterrows():
        after = (frame["timestamp"] >= fill["fill_time"]).to_numpy()
        cash[after] -= fill["quantity"] * fill["fill_price"] + fill["commission"]
        position[after] += fill["quantity"]
    return pd.DataFrame({"cash": cash, "position": position, "equity": cash + position * frame["close"].to_numpy()})


@PROPERTY
@given(frame=bar_frames(), script=scripts(), system=system_entries())
def test_cash_plus_positions_at_market_is_equity_at_every_bar(frame, script, system):
    result = run_scripted(frame, script, system)
    ledger = replay_ledger(result, frame, system["portfolio"]["initial_capital"])
    equity = result.equity
    np.testing.assert_allclose(equity["cash"], ledger["cash"], rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(equity["position_value"], ledger["position"] * frame["close"], rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(equity["equity"], equity["cash"] + equity["position_value"], rtol=0, atol=0)


@PROPERTY
@given(frame=bar_frames(), script=scripts(), system=system_entries())
def test_pnl_decomposes_into_closed_trades_and_open_lots_with_commission_counted_once(frame, script, system):
    """final − capital = Σ net PnL of closed trades + Σ (last close − entry) × quantity of the
    open lots − the entry commission those lots paid; and every commission paid sits in
    exactly one closed trade or one open lot."""
    result = run_scripted(frame, script, system)
    capital = system["portfolio"]["initial_capital"]
    last_close = float(frame["close"].iloc[-1])
    lots, trades = result.open_lots, result.trades
    unrealised = float(((last_close - lots["entry_price"]) * lots["quantity"]).sum())
    final = float(result.equity["equity"].iloc[-1])
    assert final - capital == pytest.approx(
        trades["net_pnl"].sum() + unrealised - lots["commission"].sum(), rel=1e-9, abs=1e-7)
    filled = result.orders[result.orders["status"] == "filled"]
    assert trades["commission"].sum() + lots["commission"].sum() == pytest.approx(
        filled["commission"].sum(), rel=1e-12, abs=1e-9)
    assert lots["quantity"].sum() == pytest.approx(sum(result.open_positions.values()), abs=1e-9)


@PROPERTY
@given(frame=bar_frames(), script=scripts(), system=system_entries())
def test_fills_happen_after_their_signal_bar_within_the_bars_range(frame, script, system):
    result = run_scripted(frame, script, system)
    bps = system["execution"]["slippage_bps"] / 10_000
    bars = frame.set_index("timestamp")
    for _, order in result.orders[result.orders["status"] == "filled"].iterrows():
        if order["reason"] == "closed at the end of data":
            assert order["fill_time"] == frame["timestamp"].iloc[-1]
            continue
        submitted, filled = bars.index.get_loc(order["submitted_time"]), bars.index.get_loc(order["fill_time"])
        side = 1.0 if order["quantity"] > 0 else -1.0
        bar = bars.loc[order["fill_time"]]
        if order["type"] == "market":
            if system["execution"]["fill_at"] == "close":  # a signal's, or a time exit's, at its close
                assert filled == submitted
            else:  # at the next bar's open
                assert filled == submitted + 1 and order["fill_price"] == pytest.approx(bar["open"] * (1 + side * bps))
        elif pd.isna(order["parent_id"]):  # a limit or stop entry waits for a later bar
            assert filled > submitted
        else:  # an exit stands from the bar its entry filled in
            assert filled >= submitted
        if order["type"] == "limit":  # at the limit or better, slippage never past it
            assert side * (order["fill_price"] - order["limit_price"]) <= 1e-9
        reference = order["fill_price"] / (1 + side * bps)
        if order["type"] != "limit":
            assert bar["low"] - 1e-9 <= reference <= bar["high"] + 1e-9


@settings(max_examples=15, deadline=None)
@given(frame=bar_frames(min_bars=40, max_bars=80), order=st.permutations(["a", "b", "c"]))
def test_a_systems_results_do_not_depend_on_the_other_systems_or_their_order(frame, order):
    systems = {
        "a": system_config("a", strategy={"type": "sma_crossover", "parameters": {"fast_period": 3,
                                                                                 "slow_period": 9}}),
        "b": system_config("b", strategy={"type": "momentum", "parameters": {"lookback_period": 4}},
                           sizers=[{"type": "percentage", "size": 0.5}], execution={"slippage_bps": 5}),
        "c": system_config("c", strategy={"type": "mean_reversion", "parameters": {"lookback_period": 10}},
                           execution={"commission": 0.01}),
    }
    source = FrameSource(frame)
    alone = {name: run_in_memory(backtest_config(system), source=source)[0] for name, system in systems.items()}
    together = run_in_memory(backtest_config(*(systems[name] for name in order)), source=source)
    for result in together:
        single = alone[result.name]
        pd.testing.assert_frame_equal(result.equity, single.equity, check_exact=True)
        pd.testing.assert_frame_equal(result.trades, single.trades, check_exact=True)
        pd.testing.assert_frame_equal(result.orders, single.orders, check_exact=True)


def test_a_flip_from_long_to_short_realises_the_right_pnl_and_opens_at_the_fill_price():
    """Long 10 filled at 100; SHORT asks for −10 at once: the order is −20 at 110. The long
    trade realises (110 − 100) × 10 = 100 less 2 × 10 × 0.01 commission; the short lot opens
    at 110 (not at an average of 100 and 110, the bug class seen in other engines) and is
    worth (110 − 105) × 10 at the last close 105."""
    frame = make_bars([(100, 100, 100, 100), (100, 101, 99, 100), (110, 111, 109, 110), (105, 106, 104, 105)])
    result = run_scripted(frame, {0: Direction.LONG, 1: Direction.SHORT}, system_config(
        "alpha", capital=10_000, execution={"commission": 0.01}))
    assert result.orders["quantity"].tolist() == [10, -20]
    [trade] = result.trades.to_dict("records")
    assert (trade["side"], trade["entry_price"], trade["exit_price"]) == ("long", 100.0, 110.0)
    assert trade["net_pnl"] == pytest.approx(100 - 0.2)
    assert result.open_positions == {"SPY": -10.0}
    assert result.equity["equity"].iloc[-1] == pytest.approx(10_000 + 99.8 + 50 - 0.1)


@PROPERTY
@given(frame=bar_frames(), script=scripts(), system=system_entries())
def test_each_trades_excursions_are_the_extremes_between_its_fills(frame, script, system):
    result = run_scripted(frame, script, system)
    position = {stamp: number for number, stamp in enumerate(frame["timestamp"])}
    for trade in result.trades.to_dict("records"):
        between = frame.iloc[position[trade["entry_time"]] + 1:position[trade["exit_time"]]]
        low = min([trade["entry_price"], trade["exit_price"], *between["low"]])
        high = max([trade["entry_price"], trade["exit_price"], *between["high"]])
        moves = (low / trade["entry_price"] - 1, high / trade["entry_price"] - 1)
        worst, best = moves if trade["side"] == "long" else (-moves[1], -moves[0])
        assert (trade["mae"], trade["mfe"]) == pytest.approx((worst, best), rel=1e-12, abs=1e-15)

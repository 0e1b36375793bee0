"""The fill rules on OHLC bars, one by one, each number worked out by hand (the README's fill table).

Bars are (open, high, low, close), one a minute from 09:30; a LONG or SHORT scripted at bar 0's
close is sized 10 units and, unless said otherwise, fills at bar 1's open.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from dependency_injector import providers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from multifolio.config.registry import PluginRegistry
from multifolio.protocols import OrderType
from multifolio.running.run import build_container
from multifolio.testing import FrameSource, ScriptedStrategy, make_bars
from multifolio.trading.events import Direction, OrderSubmitted
from multifolio.trading.execution import ExecutionSimulator
from tests.builders import backtest_config, checked, run_in_memory, system_config

LONG, SHORT, FLAT = Direction.LONG, Direction.SHORT, Direction.FLAT


def minute(bar: int) -> pd.Timestamp:
    return pd.Timestamp("2024-01-02 09:30") + pd.Timedelta(minutes=bar)


def run(rows, script, *, exits=(), execution=None, **system):
    document = backtest_config(system_config("alpha", capital=100_000, exits=exits, execution=execution, **system))
    [result] = run_in_memory(document, source=FrameSource(make_bars(rows)),
                             strategies={"alpha": ScriptedStrategy(script)})
    assert result.status == "completed", result.error
    return result


def filled(result):
    orders = result.orders
    return orders[orders["status"] == "filled"].reset_index(drop=True)


FLAT_BAR = (100, 100.5, 99.5, 100)


@pytest.mark.parametrize("name, side, bar_1, price", [
    # entry: limit 1 % from bar 0's close 100: a buy at 99, a sell at 101
    ("buy limit reached in the session", LONG, (100, 100.5, 98.5, 99.5), 99.0),
    ("buy limit: the bar opens below it", LONG, (98, 99, 97, 98.5), 98.0),
    ("sell limit reached in the session", SHORT, (100, 101.5, 99.5, 100.5), 101.0),
    ("sell limit: the bar opens above it", SHORT, (102, 103, 101.5, 102.5), 102.0),
])
def test_a_limit_entry_fills_at_its_limit_or_at_a_better_open(name, side, bar_1, price):
    result = run([FLAT_BAR, bar_1, FLAT_BAR], {0: side},
                 execution={"entry": {"type": "limit", "offset_bps": 100}})
    [order] = filled(result).to_dict("records")
    assert (order["type"], order["fill_time"], order["fill_price"]) == ("limit", minute(1), price)
    assert order["limit_price"] == pytest.approx(99.0 if side == LONG else 101.0)


@pytest.mark.parametrize("name, side, bar_1, price", [
    # entry: stop 1 % from bar 0's close 100: a buy at 101, a sell at 99
    ("buy stop reached in the session", LONG, (100, 101.5, 99.5, 101.2), 101.0),
    ("buy stop: the bar gaps through it", LONG, (102, 103, 101.5, 102.5), 102.0),
    ("sell stop reached in the session", SHORT, (100, 100.5, 98.5, 99), 99.0),
    ("sell stop: the bar gaps through it", SHORT, (97, 98, 96, 97.5), 97.0),
])
def test_a_stop_entry_fills_at_its_stop_or_at_the_open_that_gapped_through_it(name, side, bar_1, price):
    result = run([FLAT_BAR, bar_1, FLAT_BAR], {0: side}, execution={"entry": {"type": "stop", "offset_bps": 100}})
    [order] = filled(result).to_dict("records")
    assert (order["type"], order["fill_time"], order["fill_price"]) == ("stop", minute(1), price)


def test_an_entry_that_is_not_reached_in_its_bars_expires():
    result = run([FLAT_BAR, FLAT_BAR, FLAT_BAR, (98, 99, 97, 98)], {0: LONG},
                 execution={"entry": {"type": "limit", "offset_bps": 100, "valid_bars": 2}})
    [order] = result.orders.to_dict("records")
    # standing on bars 1 and 2; bar 3 would have filled it at its open 98, but its time ran out
    assert (order["status"], order["time_in_force"], order["cancelled_time"]) == ("expired", "2 bars", minute(3))
    assert result.trades.empty and result.open_positions == {}


def test_a_newer_signal_cancels_the_entry_still_standing():
    result = run([FLAT_BAR, FLAT_BAR, FLAT_BAR, (100, 101.5, 99.5, 101)], {0: LONG, 1: SHORT},
                 execution={"entry": {"type": "limit", "offset_bps": 100}})
    first, second = result.orders.to_dict("records")
    assert (first["status"], first["reason"], first["cancelled_time"]) == (
        "cancelled", "replaced by a newer signal", minute(1))
    assert (second["quantity"], second["limit_price"], second["fill_time"]) == (-10, 101.0, minute(3))


def test_a_flat_signal_with_only_an_entry_standing_cancels_it_and_sends_nothing():
    """Limit 99 from bar 0's close; no bar reaches it, so at bar 1's FLAT nothing is held: the entry is
    cancelled and no closing order (of 0 units) goes out."""
    result = run([FLAT_BAR] * 4, {0: LONG, 1: FLAT}, execution={"entry": {"type": "limit", "offset_bps": 100}})
    [order] = result.orders.to_dict("records")
    assert (order["status"], order["reason"], order["cancelled_time"]) == (
        "cancelled", "replaced by a newer signal", minute(1))
    assert result.trades.empty and result.open_positions == {}


BRACKET = [{"type": "stop_loss", "percent": 0.02}, {"type": "take_profit", "percent": 0.03}]  # 98 and 103 on 100


def test_a_bar_that_reaches_both_the_stop_and_the_target_fills_the_stop():
    """The entry fills at bar 1's open 100; bar 1's range holds both 98 and 103: the stop goes first."""
    result = run([FLAT_BAR, (100, 103.5, 97.5, 101), FLAT_BAR], {0: LONG}, exits=BRACKET)
    entry, stop, target = result.orders.to_dict("records")
    assert (stop["cause"], stop["type"], stop["parent_id"], stop["status"], stop["fill_price"]) == (
        "stop_loss", "stop", entry["order_id"], "filled", 98.0)
    assert (target["cause"], target["status"], target["reason"], target["cancelled_time"]) == (
        "take_profit", "cancelled", "its bracket's other exit filled", minute(1))
    [trade] = result.trades.to_dict("records")
    assert (trade["exit_reason"], trade["exit_price"], trade["bars_held"]) == ("stop_loss", 98.0, 0)


def test_the_target_fills_and_the_trade_records_its_excursions():
    """Entry 100 at bar 1's open; bar 2 dips to 98.5 (above the stop) and rises to 102; bar 3 reaches
    103. MAE over the bar between entry and exit: 98.5 / 100 − 1; MFE: the exit at 103."""
    rows = [FLAT_BAR, (100, 100.5, 99.5, 100.2), (100.5, 102, 98.5, 101.5), (102, 103.5, 101.5, 103), FLAT_BAR]
    result = run(rows, {0: LONG}, exits=BRACKET)
    [trade] = result.trades.to_dict("records")
    assert (trade["exit_reason"], trade["exit_time"], trade["exit_price"]) == ("take_profit", minute(3), 103.0)
    assert trade["mae"] == pytest.approx(-0.015) and trade["mfe"] == pytest.approx(0.03)
    assert result.orders["status"].tolist() == ["filled", "cancelled", "filled"]


def test_a_stop_the_bar_gaps_through_fills_at_the_open():
    result = run([FLAT_BAR, FLAT_BAR, (96, 97, 95, 96.5)], {0: LONG}, exits=BRACKET)
    [trade] = result.trades.to_dict("records")
    assert (trade["exit_reason"], trade["exit_time"], trade["exit_price"]) == ("stop_loss", minute(2), 96.0)


def test_a_short_bracket_mirrors_a_long_one():
    """Short 10 at 100: the stop at 102, the target at 97; bar 2 reaches 97."""
    result = run([FLAT_BAR, FLAT_BAR, (99, 99.5, 96.5, 97)], {0: SHORT}, exits=BRACKET)
    [trade] = result.trades.to_dict("records")
    assert (trade["side"], trade["exit_reason"], trade["exit_price"]) == ("short", "take_profit", 97.0)
    assert trade["gross_pnl"] == pytest.approx(30.0)


def test_a_signal_that_closes_the_position_cancels_its_exits():
    result = run([FLAT_BAR, FLAT_BAR, FLAT_BAR, FLAT_BAR], {0: LONG, 1: FLAT}, exits=BRACKET)
    statuses = result.orders[["cause", "status", "reason"]].to_dict("records")
    assert statuses == [
        {"cause": "signal", "status": "filled", "reason": ""},
        {"cause": "stop_loss", "status": "cancelled", "reason": "the position it protected was closed"},
        {"cause": "take_profit", "status": "cancelled", "reason": "the position it protected was closed"},
        {"cause": "signal", "status": "filled", "reason": ""}]
    assert result.trades["exit_reason"].tolist() == ["signal"]


@pytest.mark.parametrize("signal, held", [(FLAT, {}), (SHORT, {"SPY": -10.0})])
def test_a_signal_filling_at_the_open_a_stop_gapped_through_goes_first_and_cancels_the_stop(signal, held):
    """Long 10 at 100, stop 95; the signal at bar 1's close sells 10 (FLAT) or 20 (SHORT) at bar 2's open 90,
    which the stop gapped through too. The signal's order goes first: the long closes at 90 by the signal,
    its stop is cancelled, and the system is flat, or short 10 (with its own stop); never 10 shorter than the
    signal asked."""
    result = run([FLAT_BAR, FLAT_BAR, (90, 91, 89, 90.5), (90, 90.5, 89.5, 90)], {0: LONG, 1: signal},
                 exits=[{"type": "stop_loss", "percent": 0.05}])
    _, stop, close, *short_bracket = result.orders.to_dict("records")
    assert [order["cause"] for order in short_bracket] == (["stop_loss"] if held else [])  # the short's own
    assert (stop["status"], stop["reason"], stop["cancelled_time"]) == (
        "cancelled", "the position it protected was closed", minute(2))
    assert (close["fill_time"], close["fill_price"]) == (minute(2), 90.0)
    [trade] = result.trades.to_dict("records")
    assert (trade["exit_reason"], trade["exit_time"], trade["exit_price"]) == ("signal", minute(2), 90.0)
    assert result.open_positions == held


def test_a_trailing_stop_follows_the_best_close_and_never_loosens():
    """5 % under the best close: entry 100 → 95; close 104 → 98.8; close 110 → 104.5; close 106 keeps
    104.5; bar 5 falls to 104 from an open of 106: filled at 104.5."""
    rows = [FLAT_BAR, (100, 104.5, 99.5, 104), (104, 110.5, 103.5, 110), (110, 110.5, 105.5, 106),
            (106, 107, 105, 106.5), (106, 106.5, 104, 104.2)]
    result = run(rows, {0: LONG}, exits=[{"type": "trailing_stop", "percent": 0.05}])
    [trade] = result.trades.to_dict("records")
    assert (trade["exit_reason"], trade["exit_time"]) == ("trailing_stop", minute(5))
    assert trade["exit_price"] == pytest.approx(104.5)
    [stop] = result.orders[result.orders["cause"] == "trailing_stop"].to_dict("records")
    assert stop["stop_price"] == pytest.approx(104.5)


def test_max_bars_closes_at_the_open_that_makes_bars_held_equal_to_it():
    rows = [FLAT_BAR] * 6
    result = run(rows, {0: LONG}, exits=[{"type": "max_bars", "bars": 3}])
    [trade] = result.trades.to_dict("records")
    assert (trade["exit_reason"], trade["bars_held"], trade["exit_time"]) == ("max_bars", 3, minute(4))
    closing = run(rows, {0: LONG}, exits=[{"type": "max_bars", "bars": 3}], execution={"fill_at": "close"})
    [trade] = closing.trades.to_dict("records")
    assert (trade["bars_held"], trade["exit_time"]) == (3, minute(3))  # entry at bar 0's close, exit at bar 3's


def test_an_atr_stop_stands_a_multiple_of_the_atr_of_the_last_closed_bar():
    """ATR_2 with every bar's true range 1: the stop sits 2 × 1 under the entry's 100."""
    rows = [(100, 100.5, 99.5, 100)] * 4 + [(100, 100.5, 97.5, 98)]
    result = run(rows, {2: LONG}, exits=[{"type": "stop_loss", "atr": 2, "atr_period": 2}])
    [trade] = result.trades.to_dict("records")
    assert (trade["exit_reason"], trade["exit_price"], trade["exit_time"]) == ("stop_loss", 98.0, minute(4))


# ---------------------------------------------------------------- the book, driven order by order

def book_run(rows, orders, freq="1min"):
    """Step one system through `rows`, placing each (bar, OrderSubmitted fields) at that bar's close."""
    frame = make_bars(rows, freq=freq)
    registry = PluginRegistry()
    config = checked(backtest_config(system_config("alpha", capital=100_000)), registry)
    root = build_container(config, registry)
    root.data.source.override(providers.Object(FrameSource(frame)))
    system = root.trading_system(spec=config.systems[0])
    system.strategy.override(providers.Object(ScriptedStrategy({})))
    runner, signals = system.runner(), system.signals()
    runner.start()
    for index in range(len(rows)):
        runner.step(index)
        for order_id, (bar, fields) in enumerate(orders, start=100):
            if bar == index:
                signals.emit(OrderSubmitted("alpha", pd.DatetimeIndex(frame["timestamp"]), index, order_id, "SPY",
                                            fields["quantity"], 0.0, "",
                                            **{key: value for key, value in fields.items() if key != "quantity"}))
    return runner.finish()


@pytest.mark.parametrize("name, side, bar_1, price", [
    # stop 101, limit 101.5 for a buy; stop 99, limit 98.5 for a sell (as backtrader fills them)
    ("buy: gap through the stop, open within the limit", 1, (101.2, 102, 100.5, 101.5), 101.2),
    ("buy: gap beyond the limit, falls back to it", 1, (102, 102.5, 101, 101.8), 101.5),
    ("buy: stop reached in the session, limit above the stop", 1, (100, 101.5, 99.5, 101.2), 101.0),
    ("sell: gap through the stop, open within the limit", -1, (98.8, 99.5, 98, 98.5), 98.8),
    ("sell: stop reached in the session", -1, (100, 100.5, 98.5, 99), 99.0),
])
def test_a_stop_limit_becomes_a_limit_once_its_stop_is_reached(name, side, bar_1, price):
    stop, limit = (101.0, 101.5) if side > 0 else (99.0, 98.5)
    result = book_run([FLAT_BAR, bar_1, FLAT_BAR], [(0, {"quantity": 10.0 * side, "type": OrderType.STOP_LIMIT,
                                                         "stop": stop, "limit": limit})])
    [order] = result.orders.to_dict("records")
    assert (order["status"], order["fill_price"], order["triggered_time"]) == ("filled", price, minute(1))


def test_a_stop_limit_reached_but_not_filled_stands_as_a_limit():
    """Buy stop 101, limit 100.5: bar 1 rises through 101 and closes higher (the price never came back to
    100.5 after the stop, as far as the bar tells); bar 2 opens at 100.4: filled there, as a limit."""
    result = book_run([FLAT_BAR, (100, 102, 99.5, 101.8), (100.4, 101, 100, 100.8)],
                      [(0, {"quantity": 10.0, "type": OrderType.STOP_LIMIT, "stop": 101.0, "limit": 100.5})])
    [order] = result.orders.to_dict("records")
    assert (order["triggered_time"], order["fill_time"], order["fill_price"]) == (minute(1), minute(2), 100.4)


def test_a_day_order_expires_with_its_day():
    day_order = [(0, {"quantity": 10.0, "type": OrderType.LIMIT, "limit": 90.0, "time_in_force": "day"})]
    [order] = book_run([FLAT_BAR] * 3, day_order).orders.to_dict("records")  # minutes of one day
    assert (order["status"], order["reason"]) == ("cancelled", "the data ended before it filled")
    [order] = book_run([FLAT_BAR] * 3, day_order, freq="1D").orders.to_dict("records")
    assert (order["status"], order["cancelled_time"]) == ("expired", pd.Timestamp("2024-01-03 09:30"))


# ---------------------------------------------------------------- limits see the orders standing

@pytest.mark.parametrize("fill_at", ["next_open", "close"])
def test_two_entries_signalled_on_one_bar_share_the_exposure_cap(fill_at):
    """0.75 of equity each, at most 1.0 × equity in all: AAA gets 75 units at 100, BBB the 25 left."""
    bars = pd.concat([make_bars([FLAT_BAR] * 3, symbol) for symbol in ("AAA", "BBB")], ignore_index=True)
    document = backtest_config(
        system_config("alpha", sizers=[{"type": "percentage", "size": 0.75}],
                      limits=[{"type": "max_total_exposure", "value": 1.0}], execution={"fill_at": fill_at}),
        data={"source": "synthetic", "symbols": ["AAA", "BBB"], "bars": 3})
    script = ScriptedStrategy({0: LONG})
    [result] = run_in_memory(document, source=FrameSource(bars),
                             strategies={"alpha": script})
    assert result.orders.set_index("symbol")["quantity"].to_dict() == {"AAA": 75.0, "BBB": 25.0}
    assert result.equity["cash"].min() >= 0
    assert not math.isnan(result.equity["equity"].iloc[-1])


# ---------------------------------------------------------------- volume-capped fills

THIN = [(100, 100.5, 99.5, 100, 100)] * 5  # 100 units traded a bar: 10 % is 10 units


@pytest.mark.parametrize("fill_at, fills", [
    ("next_open", [(minute(1), 10), (minute(2), 10), (minute(3), 5)]),
    ("close", [(minute(0), 10), (minute(1), 10), (minute(2), 5)]),  # the rest from the next open
])
def test_no_bar_fills_more_than_its_share_of_volume_and_the_rest_stands(fill_at, fills):
    result = run(THIN, {0: LONG}, sizers=[{"type": "fixed", "size": 25}],
                 execution={"max_volume_share": 0.1, "fill_at": fill_at})
    [order] = result.orders.to_dict("records")
    assert (order["quantity"], order["filled"], order["status"], order["fill_time"]) == (
        25.0, 25.0, "filled", fills[-1][0])
    lots = result.open_lots
    assert list(zip(lots["entry_time"], lots["quantity"])) == fills


def test_a_limit_that_expires_part_filled_says_how_much_filled():
    rows = [(100, 100.5, 99.5, 100, 100), (100, 100.5, 98.5, 99, 100), (100, 100.5, 98.5, 99, 100),
            (100, 100.5, 98.5, 99, 100)]
    result = run(rows, {0: LONG}, sizers=[{"type": "fixed", "size": 25}],
                 execution={"max_volume_share": 0.1, "entry": {"type": "limit", "offset_bps": 100, "valid_bars": 2}})
    [order] = result.orders.to_dict("records")
    assert (order["filled"], order["fill_price"], order["status"], order["cancelled_time"]) == (
        20.0, 99.0, "expired", minute(3))


# ---------------------------------------------------------------- skipping bars that cannot fill anything

BAR = st.tuples(st.floats(95, 105), st.floats(0, 3), st.floats(0, 3), st.floats(95, 105)).map(
    lambda b: (b[0], max(b[0], b[3]) + b[1], min(b[0], b[3]) - b[2], b[3]))
RESTING = st.tuples(st.sampled_from([OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT]), st.sampled_from([1, -1]),
                    st.floats(90, 110), st.floats(-2, 2))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(BAR, min_size=3, max_size=12), resting=st.lists(RESTING, min_size=1, max_size=4))
def test_bars_skipped_for_being_out_of_reach_fill_nothing(rows, resting, monkeypatch_factory):
    """The book skips a bar whose range reaches no resting order: the fills are those of a book that
    looks at every bar."""
    orders = [(0, {"quantity": 10.0 * side, "type": kind, "stop": level, "limit": level + gap * side})
              for kind, side, level, gap in resting]
    skipping = book_run(rows, orders).orders
    with monkeypatch_factory() as patch:
        patch.setattr(ExecutionSimulator, "_band", lambda self, symbol: None)
        looking = book_run(rows, orders).orders
    pd.testing.assert_frame_equal(skipping, looking)


@pytest.fixture
def monkeypatch_factory():
    return pytest.MonkeyPatch.context

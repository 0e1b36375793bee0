"""The full strategy form: what `on_bars` sees through its context and what its orders do, by hand."""

from __future__ import annotations

import statistics
from importlib.metadata import EntryPoint, entry_points

import pandas as pd
import pytest

from multifolio.config.registry import PluginKind, PluginRegistry
from multifolio.errors import ConfigErrors
from multifolio.protocols import OrderType, Strategy
from multifolio.testing import FrameSource, ScriptedActions, ScriptedStrategy, make_bars
from multifolio.trading.events import Direction
from tests.builders import backtest_config, checked, run_in_memory, system_config

LIMIT = OrderType.LIMIT
# AAA: (open, high, low, close); bar 1 dips to 98
AAA = [(100, 101, 99, 100), (100, 100.5, 98, 99), (99, 100, 98.5, 99.5), (99.5, 100, 99, 99.8), (99.8, 100, 99, 99.8)]


def run(script, *, rows=None, symbols=("AAA",), strategy=None, **system):
    frames = rows or {"AAA": AAA}
    bars = pd.concat([make_bars(frames[symbol], symbol) for symbol in symbols], ignore_index=True)
    document = backtest_config(system_config("alpha", capital=100_000, **system),
                               data={"source": "synthetic", "symbols": list(symbols), "bars": 5})
    strategy = strategy or ScriptedActions(script)
    [result] = run_in_memory(document, source=FrameSource(bars),
                             strategies={"alpha": strategy})
    return result, strategy


def test_a_limit_order_fills_and_the_next_call_sees_the_account():
    seen = {}

    def look(context):
        seen.update(position=context.position("AAA"), cash=context.cash, equity=context.equity,
                    orders=context.open_orders(), positions=context.positions())

    result, _ = run({0: lambda context: context.buy("AAA", 10, type=LIMIT, limit=98.5), 1: look})
    # bar 1 reaches 98.5: 10 bought there; cash 100000 − 985; marked at bar 1's close 99
    assert seen == {"position": 10.0, "cash": 99_015.0, "equity": 100_005.0, "orders": [], "positions": {"AAA": 10.0}}
    [order] = result.orders.to_dict("records")
    assert (order["cause"], order["type"], order["fill_price"]) == ("strategy", "limit", 98.5)


def test_cancel_replace_and_target():
    answers = {}

    def first(context):
        doomed = context.buy("AAA", 10, type=LIMIT, limit=90)
        answers["cancelled"] = (context.cancel(doomed), context.cancel(doomed))
        moved = context.buy("AAA", 5, type=LIMIT, limit=90)
        answers["replacement"] = context.replace(moved, limit=99.5)
        answers["standing"] = [(view.order_id, view.limit) for view in context.open_orders("AAA")]

    def half(context):  # 5 held at 99.5: equity 100000 at bar 2's close 99.5, half of it is 502 units
        answers["target"] = context.target("AAA", percent=0.5)

    def again(context):
        answers["again"] = context.target("AAA", quantity=502)

    result, _ = run({0: first, 2: half, 3: again})
    assert answers == {"cancelled": (True, False), "replacement": 3, "standing": [(3, 99.5)], "target": 4,
                       "again": None}
    orders = result.orders[["order_id", "status", "reason", "quantity", "fill_price"]].to_dict("records")
    assert orders[:2] == [
        {"order_id": 1, "status": "cancelled", "reason": "cancelled by the strategy", "quantity": 10.0,
         "fill_price": pytest.approx(float("nan"), nan_ok=True)},
        {"order_id": 2, "status": "cancelled", "reason": "replaced by the strategy", "quantity": 5.0,
         "fill_price": pytest.approx(float("nan"), nan_ok=True)}]
    assert [(o["order_id"], o["status"], o["quantity"], o["fill_price"]) for o in orders[2:]] == [
        (3, "filled", 5.0, 99.5), (4, "filled", 497.0, 99.5)]
    assert result.open_positions == {"AAA": 502.0}


def test_another_symbols_values_are_its_last_bar_up_to_now_never_later():
    bbb = [(50, 51, 49, 50), (60, 61, 59, 60)]  # bars at 09:30 and 09:32 only
    rows = {"AAA": AAA[:3], "BBB": bbb}
    frames = [make_bars(AAA[:3], "AAA"), make_bars(bbb, "BBB").assign(
        timestamp=[pd.Timestamp("2024-01-02 09:30"), pd.Timestamp("2024-01-02 09:32")])]
    seen = []

    def look(context):
        seen.append((tuple(context.bars), context.values("BBB")["close"], context.price("BBB")))

    strategy = ScriptedActions({0: look, 1: look, 2: look})
    document = backtest_config(system_config("alpha", capital=100_000),
                               data={"source": "synthetic", "symbols": ["AAA", "BBB"], "bars": 5})
    run_in_memory(document, source=FrameSource(pd.concat(frames, ignore_index=True)),
                  strategies={"alpha": strategy})
    assert rows and seen == [(("AAA", "BBB"), 50.0, 50.0), (("AAA",), 50.0, 50.0), (("AAA", "BBB"), 60.0, 60.0)]


def test_limits_cap_a_strategys_order():
    result, _ = run({0: lambda context: context.buy("AAA", 20), 1: lambda context: context.buy("AAA", 5, type=LIMIT,
                                                                                                limit=90)},
                    limits=[{"type": "max_position_value", "value": 1000}])
    capped, refused = result.orders.to_dict("records")
    assert (capped["requested"], capped["quantity"], capped["reason"]) == (
        20.0, 10.0, "max_position_value 1000 caps the position at 10")
    # 10 held at 100 already fill the cap: a further buy is refused, and the log says whose order it was
    assert (refused["status"], refused["cause"], refused["type"], refused["requested"]) == (
        "rejected", "strategy", "limit", 5.0)


def test_a_bracket_given_with_the_order():
    result, _ = run({0: lambda context: context.buy("AAA", 10, stop_loss=98.5, take_profit=103)})
    [trade] = result.trades.to_dict("records")
    assert (trade["entry_price"], trade["exit_price"], trade["exit_reason"]) == (100.0, 98.5, "stop_loss")
    assert result.orders["cause"].tolist() == ["strategy", "stop_loss", "take_profit"]


@pytest.mark.parametrize("action, message", [
    (lambda context: context.buy("ZZZ", 1), "named symbol 'ZZZ', which is not in data.symbols ['AAA']"),
    (lambda context: context.buy("AAA", float("nan")), "gave quantity nan; expected a finite number"),
    (lambda context: context.buy("AAA", 1, type=LIMIT), "gave limit None; expected a finite number > 0"),
    (lambda context: context.target("AAA", quantity=1, percent=0.5), "called target() with quantity, percent"),
])
def test_an_order_that_cannot_be_placed_fails_the_system_naming_the_strategy(action, message):
    result, _ = run({1: action})
    assert result.status == "failed"
    assert "strategy 'buy_and_hold' of system 'alpha' " + message in result.error


class NoForm(Strategy):
    """Implements neither on_bar nor on_bars."""


def test_a_strategy_with_neither_form_is_a_config_error():
    entry = EntryPoint("no_form", "tests.trading.test_context:NoForm", "multifolio.strategies")
    registry = PluginRegistry(lambda group: [entry] if group == entry.group else entry_points(group=group))
    with pytest.raises(ConfigErrors) as caught:
        checked(backtest_config(system_config("alpha", strategy={"type": "no_form"})), registry)
    [error] = caught.value.errors
    assert error.path == "trading_systems[0].strategy.type" and "implements neither on_bar" in error.message


# ---------------------------------------------------------------- sizers that see indicators and the stop

STEADY = [(100, 100.5, 99.5, 100)] * 20  # every true range is 1: ATR is 1


@pytest.mark.parametrize("exits, units", [
    ((), 500),  # risk 1 % of 100000 over 2 × ATR = 2
    (({"type": "stop_loss", "percent": 0.04},), 250),  # the system's own stop, 4 away, wins
])
def test_atr_risk_sizes_by_the_distance_to_the_stop(exits, units):
    result, _ = run({}, rows={"AAA": STEADY}, strategy=ScriptedStrategy({15: Direction.LONG}), exits=exits,
                    sizers=[{"type": "atr_risk", "risk": 0.01, "atr": 2}])
    assert result.orders["quantity"].iloc[0] == units


def test_volatility_target_sizes_by_the_standard_deviation_of_returns():
    closes = [100, 101, 100, 102, 101, 103]
    rows = [(close, close + 0.5, close - 0.5, close) for close in closes]
    result, _ = run({}, rows={"AAA": rows}, strategy=ScriptedStrategy({4: Direction.LONG}),
                    sizers=[{"type": "volatility_target", "target": 0.01, "lookback": 4}])
    sigma = statistics.stdev([b / a - 1 for a, b in zip(closes[:5], closes[1:5])])
    assert result.orders["quantity"].iloc[0] == int(0.01 * 100_000 / (sigma * 101))


def test_target_percent_allows_leverage():
    result, _ = run({}, strategy=ScriptedStrategy({0: Direction.LONG}), sizers=[{"type": "target_percent",
                                                                                 "percent": 2.0}])
    assert result.orders["quantity"].iloc[0] == 2000


# ---------------------------------------------------------------- the example plugins

def test_rotation_holds_the_symbol_that_rose_most():
    trends = {"AAA": 1.0, "BBB": 2.0, "CCC": -1.0}  # points per bar from 100
    rows = {symbol: [_bar(100 + step * max(bar - 1, 0), 100 + step * bar) for bar in range(6)]
            for symbol, step in trends.items()}
    result, _ = run({}, rows=rows, symbols=("AAA", "BBB", "CCC"),
                    strategy=_plugin("rotation", lookback=2, top=1, every=1, fraction=0.95))
    orders = result.orders
    assert set(orders["symbol"]) == {"BBB"}
    first = orders.iloc[0]
    # ranked first at bar 2: BBB 104/100; 95 % of 100000 at 104 is 913 units, bought at bar 3's open 104
    assert (first["submitted_time"], first["quantity"], first["fill_price"]) == (
        pd.Timestamp("2024-01-02 09:32"), 913.0, 104.0)


def test_pairs_sells_the_rich_leg_and_buys_the_cheap_one_by_the_hedge_ratio():
    base = [100 + (bar % 5) for bar in range(12)]
    first = [2 * close for close in base]
    first[10] += 12  # the spread jumps at bar 10
    rows = {"AAA": [(c, c + 0.5, c - 0.5, c) for c in first], "BBB": [(c, c + 0.5, c - 0.5, c) for c in base]}
    result, _ = run({}, rows=rows, symbols=("AAA", "BBB"),
                    strategy=_plugin("pairs", first="AAA", second="BBB", lookback=10, entry_z=2.5, exit_z=0.5,
                                     fraction=0.5))
    legs = result.orders.iloc[:2]
    window_a, window_b = pd.Series(first[1:11]), pd.Series(base[1:11])
    ratio = window_a.cov(window_b, ddof=0) / window_b.var(ddof=0)
    units = int(0.5 * 100_000 / first[10])
    assert legs["symbol"].tolist() == ["AAA", "BBB"]
    assert legs["submitted_time"].tolist() == [pd.Timestamp("2024-01-02 09:40")] * 2
    assert legs["quantity"].tolist() == [-units, int(ratio * units)]


def _bar(open_, close):
    return open_, max(open_, close) + 0.5, min(open_, close) - 0.5, close


def _plugin(name, **parameters):
    return PluginRegistry().create(PluginKind.STRATEGY, name, parameters)

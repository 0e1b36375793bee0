"""Halts, worked out by hand: a drawdown limit that flattens, a daily-loss block, the bankruptcy floor, and
`SystemRunner.halt` called from outside as the book will call it.

Bars are (open, high, low, close); 50 (or 100) units are bought at 100 from 10,000 of capital, no costs.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
from dependency_injector import providers

from multifolio.config.registry import PluginRegistry
from multifolio.errors import ConfigErrors
from multifolio.running.run import build_container
from multifolio.testing import FrameSource, ScriptedStrategy, make_bars
from multifolio.trading.events import Direction
from tests.builders import backtest_config, checked, run_in_memory, system_config

LONG, SHORT, FLAT = Direction.LONG, Direction.SHORT, Direction.FLAT


def run(rows, script, *, size=50, limits=(), start="2024-01-02 09:30", freq="1min", **portfolio):
    document = backtest_config(system_config("alpha", capital=10_000, sizers=[{"type": "fixed", "size": size}],
                                             limits=limits, **portfolio))
    [result] = run_in_memory(document, source=FrameSource(make_bars(rows, start=start, freq=freq)),
                             strategies={"alpha": ScriptedStrategy(script)})
    assert result.status == "completed", result.error
    return result


DRAWDOWN_BARS = [(100, 100.5, 99.5, 100), (100, 100.5, 99.5, 100), (100, 100.5, 89.5, 90), (90, 90.5, 78.5, 79),
                 (78, 80, 77, 79), (79, 80, 78, 80), (80, 81, 79, 81)]


def test_a_drawdown_breach_at_bar_3_closes_everything_at_bar_4s_open_and_stops_the_strategy():
    # 50 bought at bar 1's open 100: cash 5,000. Bar 2 closes at 90: 9,500 (−5 %); bar 3 at 79: 8,950,
    # 10.5 % under the 10,000 peak > 10 %: halted at bar 3, sold at bar 4's open 78: 5,000 + 3,900 = 8,900.
    # The LONG scripted at bar 5 is never asked for: the strategy is stepped no more.
    strategy = ScriptedStrategy({0: LONG, 4: FLAT, 5: LONG})
    document = backtest_config(system_config("alpha", capital=10_000, sizers=[{"type": "fixed", "size": 50}],
                                             limits=[{"type": "max_drawdown", "value": 0.10}]))
    [result] = run_in_memory(document, source=FrameSource(make_bars(DRAWDOWN_BARS)),
                             strategies={"alpha": strategy})
    [trade] = result.trades.to_dict("records")
    assert (trade["exit_price"], trade["exit_reason"], trade["exit_time"]) == (
        78.0, "max_drawdown", pd.Timestamp("2024-01-02 09:34"))
    assert result.equity["equity"].iloc[-1] == 8_900.0 and result.equity["cash"].iloc[-1] == 8_900.0
    [halt] = result.halts
    assert (halt.index, halt.reason, halt.action) == (3, "max_drawdown", "flatten")
    assert "10.50%" in halt.detail and result.stopped == halt
    assert [bar.index for bar in strategy.seen] == [0, 1, 2]  # bar 3's close is the guard's, not the strategy's
    assert list(result.orders["cause"]) == ["signal", "max_drawdown"]
    assert result.open_positions == {}


def test_a_drawdown_limit_that_blocks_keeps_the_position_and_refuses_new_entries():
    result = run(DRAWDOWN_BARS, {0: LONG, 4: FLAT, 5: LONG},
                 limits=[{"type": "max_drawdown", "value": 0.10, "action": "block"}])
    assert list(result.orders["cause"]) == ["signal", "signal"]  # the FLAT at bar 4 closes at bar 5's open 79
    assert result.trades["exit_price"].tolist() == [79.0]
    [halt] = result.halts
    assert (halt.index, halt.action, halt.entries_suppressed, halt.lifted_index) == (3, "block", 1, -1)
    assert result.stopped is None


def test_a_daily_loss_block_lets_the_exit_through_refuses_entries_and_lifts_the_next_day():
    # Hourly bars from 21:00: bars 0–2 on 2 January, 3–5 on the 3rd. 50 bought at bar 1's open 100;
    # bar 1 closes at 93: 9,650, 3.5 % under the initial 10,000 > 3 %: blocked at bar 1. The FLAT at bar 1
    # still closes (bar 2's open 94: 9,700); the LONGs at bars 2 and 3... bar 2 only: bar 3 is the next
    # day, whose first close lifts the block (loss 0 from 9,700) before the strategy sees it, so bar 3's
    # LONG buys at bar 4's open 95.
    rows = [(100, 100.5, 99.5, 100), (100, 100.5, 92.5, 93), (94, 95, 93, 94), (94, 95, 93, 95),
            (95, 96, 94, 95), (95, 96, 94, 96)]
    result = run(rows, {0: LONG, 1: FLAT, 2: LONG, 3: LONG}, start="2024-01-02 21:00", freq="1h",
                 limits=[{"type": "daily_loss", "value": 0.03}])
    [halt] = result.halts
    assert (halt.index, halt.reason, halt.action, halt.entries_suppressed, halt.lifted_index) == (
        1, "daily_loss", "block", 1, 3)
    orders = result.orders
    assert (orders["status"] != "rejected").all()  # refused entries are counted, not logged
    assert orders["fill_price"].tolist() == [100.0, 94.0, 95.0]
    assert orders["submitted_time"].dt.hour.tolist() == [21, 22, 0]


def test_a_short_squeezed_through_the_floor_is_closed_at_the_next_open_and_its_figures_stop_at_minus_100_percent():
    # 100 short at bar 1's open 100: cash 20,000. Bar 2 gaps to 150 and closes at 201: 20,000 − 20,100 = −100
    # ≤ 0, the floor: bought back at bar 3's open 210, cash 20,000 − 21,000 = −1,000.
    from multifolio.reports.metrics import equity_metrics

    rows = [(100, 100.5, 99.5, 100), (100, 100.5, 99.5, 100), (150, 205, 150, 201), (210, 215, 205, 212),
            (212, 213, 211, 212)]
    result = run(rows, {0: SHORT, 3: SHORT}, size=100)
    [halt] = result.halts
    assert (halt.index, halt.reason, halt.action) == (2, "bankruptcy", "flatten")
    assert result.trades["exit_reason"].tolist() == ["bankruptcy"]
    assert result.trades["exit_price"].tolist() == [210.0]
    assert result.equity["equity"].iloc[-1] == -1_000.0
    figures = equity_metrics(result.equity["equity"], result.equity["timestamp"], 10_000)
    assert figures["total_return"] == -1.0 and figures["max_drawdown"] == -1.0
    assert figures["final_equity"] == -1_000.0  # the ledger as it is; the returns read the bounded curve


def test_a_floor_above_zero_halts_earlier():
    result = run(DRAWDOWN_BARS, {0: LONG}, min_equity=9_000)  # bar 3's close: 8,950 ≤ 9,000
    assert [(h.index, h.reason) for h in result.halts] == [(3, "bankruptcy")]


def test_halt_called_from_outside_flattens_at_the_next_open_with_the_callers_reason():
    document = backtest_config(system_config("alpha", capital=10_000, sizers=[{"type": "fixed", "size": 50}]))
    registry = PluginRegistry()
    config = checked(document, registry)
    root = build_container(config, registry)
    root.data.source.override(providers.Object(FrameSource(make_bars(DRAWDOWN_BARS))))
    system = root.trading_system(spec=config.systems[0])
    system.strategy.override(providers.Object(ScriptedStrategy({0: LONG, 3: FLAT})))
    runner = system.runner()
    runner.start()
    for index in range(len(DRAWDOWN_BARS)):
        runner.step(index)
        if index == 1:
            runner.halt(index, "window_ended", "flatten", "the system's window ended")
            runner.halt(index, "book_kill_switch", "flatten")  # already stopped: no second halt
    result = runner.finish()
    assert [(h.index, h.reason) for h in result.halts] == [(1, "window_ended")]
    assert result.trades["exit_reason"].tolist() == ["window_ended"]
    assert result.trades["exit_price"].tolist() == [100.0]  # bar 2's open
    with pytest.raises(ValueError, match="action must be one of flatten, block"):
        runner.halt(2, "x", "sell")
    root.shutdown_resources()


@pytest.mark.parametrize(("limit", "message"), [
    ({"type": "max_drawdown", "value": 1.5}, "risk.limits[0].value: must be a fraction of equity in (0, 1)"),
    ({"type": "max_drawdown", "value": 0.2, "action": "sell"}, "risk.limits[0].action: must be one of flatten, block"),
    ({"type": "max_drawdown", "value": 0.2, "reset": "2D"}, "risk.limits[0].reset: must be one of never, 1D, 1W, 1M"),
    ({"type": "daily_loss", "value": 0}, "risk.limits[0].value: must be a fraction of equity in (0, 1)"),
])
def test_halting_limits_check_their_parameters_at_validation(limit, message):
    with pytest.raises(ConfigErrors, match=re.escape(message)):
        checked(backtest_config(system_config("alpha", limits=[limit])))


def test_a_floor_at_or_above_the_capital_is_refused():
    with pytest.raises(ConfigErrors, match=r"portfolio.min_equity: must be below initial_capital"):
        checked(backtest_config(system_config("alpha", capital=10_000, min_equity=10_000)))

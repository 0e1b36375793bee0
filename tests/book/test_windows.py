"""Systems that join and leave (`portfolio.active`), and the combined book's drawdown kill switch."""

from __future__ import annotations

import importlib.metadata
from importlib.metadata import EntryPoint

from multifolio.config.registry import PluginKind, PluginRegistry
from multifolio.protocols import Direction
from multifolio.testing import FrameSource, ScriptedStrategy, bars_from_closes
from tests.builders import backtest_config, run_in_memory, system_config

CLOSES = [100.0, 100.0, 104.0, 108.0, 112.0, 110.0, 106.0, 100.0]  # daily, from 2024-01-02; opens: the close before
DAYS = ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-06", "2024-01-07", "2024-01-08",
        "2024-01-09"]


def run(document: dict, scripts: dict[str, dict], closes=CLOSES) -> dict:
    source = FrameSource(bars_from_closes(closes, freq="1D", start="2024-01-02"))
    return {result.name: result for result in run_in_memory(document, source=source, strategies={
        name: ScriptedStrategy(script) for name, script in scripts.items()})}


def test_a_window_without_an_allocation_trades_inside_it_and_is_flattened_at_its_end():
    document = backtest_config(system_config("late", active={"start": DAYS[2], "end": DAYS[5]}))
    strategy = ScriptedStrategy({0: Direction.LONG})
    source = FrameSource(bars_from_closes(CLOSES, freq="1D", start="2024-01-02"))
    [late] = run_in_memory(document, source=source, strategies={"late": strategy})
    # it sees its first bar at 2024-01-04 (its bar 0 there: LONG), buys 10 at the next open (104), and the
    # window's end (2024-01-07) sells them at that bar's open (112), as if decided at the window's last close
    assert [bar.timestamp.strftime("%Y-%m-%d") for bar in strategy.seen] == DAYS[2:5]
    assert late.trades[["quantity", "entry_price", "exit_price", "exit_reason"]].values.tolist() == [
        [10.0, 104.0, 112.0, "window_ended"]]
    assert [(halt.reason, halt.action, halt.index) for halt in late.halts] == [("window_ended", "flatten", 4)]
    assert late.equity["equity"].iloc[-1] == 10_000 + 10 * (112 - 104)


def test_an_allocated_system_is_funded_when_it_joins_and_gives_its_capital_back_when_it_leaves():
    document = backtest_config(system_config("core"), system_config("late", active={"start": DAYS[2], "end": DAYS[5]}))
    for entry in document["trading_systems"]:
        del entry["portfolio"]["initial_capital"]
    document["allocation"] = {"capital": 20_000, "method": "equal"}
    results = run(document, {"core": {}, "late": {0: Direction.LONG}})
    book = results["core"].book
    # bar 0: only core trades yet: all 20,000 to it. Bar 2: late joins, equal weights: 10,000 each.
    # Bar 5: late's window ended; its 10 units sold at 112 that bar; bar 6: its 10,080 comes back, and core
    # (alone again) gets it: left rebalances
    assert book.transfers[["bar", "system", "amount", "cause"]].values.tolist() == [
        [0, "core", 20_000.0, "funding"],
        [2, "core", -10_000.0, "joined"], [2, "late", 10_000.0, "joined"],
        [6, "late", -10_080.0, "returned"], [6, "core", 10_080.0, "left"]]
    assert book.rebalances[["bar", "cause"]].values.tolist() == [[0, "funding"], [2, "joined"], [6, "left"]]
    assert results["late"].equity["equity"].tolist() == [0.0, 0.0, 10_000.0, 10_040.0, 10_080.0, 10_080.0, 0.0, 0.0]


def test_the_kill_switch_flattens_every_system_once_the_combined_book_falls_that_far():
    document = backtest_config(system_config("a", sizers=[{"type": "fixed", "size": 50}]),
                               system_config("b", sizers=[{"type": "fixed", "size": 50}]))
    document["risk"] = {"limits": {"max_drawdown": 0.01}}
    results = run(document, {"a": {0: Direction.LONG}, "b": {0: Direction.LONG}})
    # both buy 50 at 100 (bar 1). The book: 20,000 → 20,400 (bar 2) → 20,800 → 21,200 (bar 4, the peak) →
    # 21,000 at bar 5 (0.94 % down) → 20,600 at bar 6 (2.83 % down): tripped; each sells at bar 7's open (106)
    for result in results.values():
        assert result.trades[["exit_price", "exit_reason"]].values.tolist() == [[106.0, "book_max_drawdown"]]
        assert [(halt.reason, halt.index) for halt in result.halts] == [("book_max_drawdown", 6)]
    hits = results["a"].book.events
    assert hits[["bar", "event", "system"]].values.tolist() == [[6, "max_drawdown", ""]]
    assert "2.83% below its peak 21,200.00" in hits["detail"].iloc[0]


def registry_with_controller() -> PluginRegistry:
    """The installed plugins and the scripted controller of tests/fakes.py, as a third party would add one."""
    installed = importlib.metadata.entry_points

    def entry_points(group: str):
        found = list(installed(group=group))
        if group == PluginKind.CONTROLLER.group:
            found.append(EntryPoint("scripted", "tests.fakes:ScriptedController", group))
        return found

    return PluginRegistry(entry_points)


def controlled(script: dict, fail_at: int = -1) -> dict:
    document = backtest_config(system_config("core"), system_config("standby", active={"start": "controller"}))
    for entry in document["trading_systems"]:
        del entry["portfolio"]["initial_capital"]
    document["allocation"] = {"capital": 20_000, "method": "equal"}
    document["controller"] = {"type": "scripted", "script": script, "fail_at": fail_at}
    return document


def run_controlled(document: dict) -> dict:
    source = FrameSource(bars_from_closes(CLOSES, freq="1D", start="2024-01-02"))
    scripts = {"core": ScriptedStrategy({0: Direction.LONG}), "standby": ScriptedStrategy({0: Direction.LONG})}
    return {result.name: result for result in run_in_memory(
        document, source=source, registry=registry_with_controller(),
        strategies=scripts)}


def test_a_controller_starts_a_dormant_system_and_retires_another_at_bar_boundaries():
    results = run_controlled(controlled({3: [["start", "standby"]], 5: [["retire", "core"]]}))
    book = results["core"].book
    assert book.events[["bar", "event", "system"]].values.tolist() == [[3, "started", "standby"],
                                                                       [5, "retired", "core"]]
    # core: all 20,000 at bar 0, buys 10 at 100 (bar 1). Bar 3: standby started, equal weights on the closes
    # of bar 2 (104): 20,040 → 10,020 each. Bar 5: core retired, sold at 112 (bar 5's open); bar 6: its
    # 10,100 back to the reserve and on to standby, alone (which bought 10 at 108, bar 4, and holds them)
    assert book.transfers[["bar", "system", "amount", "cause"]].values.tolist() == [
        [0, "core", 20_000.0, "funding"], [3, "core", -10_020.0, "joined"], [3, "standby", 10_020.0, "joined"],
        [6, "core", -10_100.0, "returned"], [6, "standby", 10_100.0, "left"]]
    assert results["core"].trades[["exit_price", "exit_reason"]].values.tolist() == [[112.0, "retired"]]
    assert results["standby"].trades.empty and results["standby"].open_positions == {"SPY": 10.0}


def test_a_controller_that_raises_stops_controlling_and_the_systems_go_on():
    results = run_controlled(controlled({3: [["start", "standby"]]}, fail_at=1))
    book = results["core"].book
    assert book.events.empty and "the controller raised at bar 1" in book.error
    assert "RuntimeError: the controller's own bug" in book.error
    assert results["core"].status == "completed" and len(results["standby"].orders) == 0


def test_a_controller_asking_for_what_cannot_be_done_is_told_why():
    results = run_controlled(controlled({2: [["retire", "standby"]]}))
    assert "cannot retire system 'standby': it is dormant, not active" in results["core"].book.error

"""The event-to-event path: a system whose strategy states its signals (`Strategy.signals`) is stepped only
at the bars where something can happen, and its results equal, to the last bit, those of the same system
stepped bar by bar through `on_bar`: over random bars of one or two symbols, every entry order type, exits,
pre-trade and halting limits, costs, fills at the close, bankruptcy."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from multifolio.config.registry import PluginKind, PluginRegistry
from multifolio.testing import FrameSource, ScriptedStrategy, assert_signals_match, make_bars
from multifolio.trading.events import Direction
from plugins.strategies.buy_and_hold import BuyAndHoldStrategy
from plugins.strategies.mean_reversion import MeanReversionStrategy
from plugins.strategies.momentum import MomentumStrategy
from plugins.strategies.sma_crossover import SmaCrossoverStrategy
from tests.builders import backtest_config, run_in_memory, system_config
from tests.fakes import WatchfulLimit
from tests.integration.test_golden import REPO
from tests.property.strategies import bar_frames, scripts, system_entries

PROPERTY = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class StatedScript(ScriptedStrategy):
    """The scripted directions, stated for every bar at once."""

    def signals(self, values, start=0):
        wanted = np.full(len(values["close"]), np.nan)
        for number, direction in self.script.items():  # the n-th bar `on_bar` sees
            if start + number < len(wanted):
                wanted[start + number] = float(direction)
        return wanted


halting_limits = st.lists(st.one_of(
    st.builds(lambda value, action, reset: {"type": "max_drawdown", "value": value, "action": action,
                                            "reset": reset},
              st.floats(0.02, 0.5), st.sampled_from(["flatten", "block"]),
              st.sampled_from(["never", "1D", "1W", "1M"])),
    st.builds(lambda value, action: {"type": "daily_loss", "value": value, "action": action},
              st.floats(0.01, 0.2), st.sampled_from(["flatten", "block"]))), max_size=2)


@st.composite
def two_symbols(draw) -> pd.DataFrame:
    """SPY at every bar and QQQ at some of them: bars where only one symbol trades."""
    spy = draw(bar_frames(min_bars=10))
    qqq = draw(bar_frames(min_bars=len(spy), max_bars=len(spy), symbol="QQQ"))
    kept = draw(st.lists(st.booleans(), min_size=len(qqq), max_size=len(qqq)))
    return pd.concat([spy, qqq[np.array(kept)]], ignore_index=True)


def both_paths(frame: pd.DataFrame, script: dict, system: dict):
    """The system's results with its signals stated and with `on_bar` at every bar."""
    document = backtest_config(system)
    document["data"] = {"source": "synthetic", "symbols": sorted(frame["symbol"].unique()), "bars": 10}
    [stated] = run_in_memory(document, source=FrameSource(frame), strategies={system["name"]: StatedScript(script)})
    [per_bar] = run_in_memory(document, source=FrameSource(frame),
                              strategies={system["name"]: ScriptedStrategy(script)})
    return stated, per_bar


def assert_same(stated, per_bar) -> None:
    assert (stated.status, stated.last_bar, stated.failed_at, stated.halts) == (
        per_bar.status, per_bar.last_bar, per_bar.failed_at, per_bar.halts)
    for name in ("orders", "trades", "equity", "open_lots"):
        pd.testing.assert_frame_equal(getattr(stated, name), getattr(per_bar, name), check_exact=True, obj=name)
    assert stated.open_positions == per_bar.open_positions


@PROPERTY
@given(frame=bar_frames(), script=scripts(), system=system_entries(), halting=halting_limits,
       volume_share=st.sampled_from([None, 0.001, 0.05]))
def test_stated_signals_give_the_results_of_on_bar_at_every_bar(frame, script, system, halting, volume_share):
    system["risk"]["limits"] += halting
    system["execution"]["max_volume_share"] = volume_share  # what a bar leaves of an order stands to the next
    stated, per_bar = both_paths(frame, script, system)
    assert_same(stated, per_bar)
    assert stated.stepped <= per_bar.stepped == per_bar.last_bar + 1


@PROPERTY
@given(frame=bar_frames(), script=scripts(), system=system_entries(), halting=halting_limits,
       spacing=st.sampled_from(["1h", "5h", "7D"]))
def test_halting_limits_that_look_ahead_over_intraday_and_weekly_bars(frame, script, system, halting, spacing):
    """The limits' periods (days, weeks, months) begin inside the spans the path jumps over, or at every bar."""
    frame["timestamp"] = pd.date_range("2024-01-29 09:00", periods=len(frame), freq=spacing)
    system["risk"]["limits"] += halting
    stated, per_bar = both_paths(frame, script, system)
    assert_same(stated, per_bar)
    assert stated.stepped <= per_bar.stepped == per_bar.last_bar + 1


@PROPERTY
@given(frame=bar_frames(min_bars=10), script=scripts(), system=system_entries(), data=st.data())
def test_within_a_portfolio_window(frame, script, system, data):
    """A system with a window goes from event to event on signals stated from the window's first bar, where
    `on_bar` is first called (a strategy's state starts there), and steps the window's end, where it closes out."""
    stamps = sorted(frame["timestamp"].astype(str).unique())
    first = data.draw(st.integers(1, len(stamps) - 2))
    last = data.draw(st.integers(first + 1, len(stamps) - 1))
    system["portfolio"]["active"] = {"start": stamps[first], **({"end": stamps[last]} if data.draw(st.booleans())
                                                                 else {})}
    stated, per_bar = both_paths(frame, script, system)
    assert_same(stated, per_bar)
    assert stated.stepped <= per_bar.stepped


@PROPERTY
@given(frame=two_symbols(), script=scripts(), system=system_entries())
def test_with_two_symbols_and_bars_only_one_has(frame, script, system):
    stated, per_bar = both_paths(frame, script, system)
    assert_same(stated, per_bar)
    assert stated.stepped <= per_bar.stepped == per_bar.last_bar + 1


def crash(direction: Direction, calm: int = 40) -> pd.DataFrame:
    """`calm` calm bars, then the price runs against a position taken at bar 2: up fivefold for a short, down
    to a tenth for a long, a bar at a time over 40 bars."""
    move = np.geomspace(50, 250 if direction is Direction.SHORT else 5, 40)
    closes = np.round(np.concatenate([[50.0] * calm, move]), 2)
    return make_bars([(close, close, close, close) for close in closes], freq="1D")


# the guard looks a span ahead in a loop up to 64 bars and with numpy beyond: a crash within 64 bars of the
# entry, and one beyond them
@pytest.mark.parametrize("calm", [10, 40, 200])
@pytest.mark.parametrize("direction", [Direction.SHORT, Direction.LONG])
def test_bankruptcy_between_signals_is_found_where_the_bar_by_bar_guard_finds_it(direction, calm):
    """No signal after the entry: the path jumps over the crash, and must stop at the close that takes equity
    to zero, as the guard looking at every close does."""
    system = system_config("alpha", capital=2_000.0, sizers=[{"type": "fixed", "size": 100}])
    stated, per_bar = both_paths(crash(direction, calm), {2: direction}, system)
    assert_same(stated, per_bar)
    assert stated.stepped < 10 < per_bar.stepped == calm + 40  # the crash was jumped over
    [halt] = stated.halts
    assert halt.reason == "bankruptcy" and calm < halt.index < calm + 39


HALTING = [{"type": "max_drawdown", "value": 0.1}, {"type": "max_drawdown", "value": 0.1, "reset": "1W"},
           {"type": "max_drawdown", "value": 0.25, "reset": "1M", "action": "block"},
           {"type": "daily_loss", "value": 0.02, "action": "flatten"}]


# the halting limits are judged over the span a signal leaves (the loop's 64 bars and numpy's beyond): their halt
# is found at the close the bar-by-bar guard finds it, and a limit never broken lets the path jump to the end
@pytest.mark.parametrize("calm", [10, 40, 200])
@pytest.mark.parametrize("limit", HALTING, ids=lambda limit: f"{limit['type']}-{limit.get('reset', '')}")
def test_a_halting_limit_between_signals_is_found_where_the_bar_by_bar_guard_finds_it(limit, calm):
    system = system_config("alpha", capital=10_000.0, sizers=[{"type": "fixed", "size": 100}], limits=[limit])
    stated, per_bar = both_paths(crash(Direction.LONG, calm), {2: Direction.LONG}, system)
    assert_same(stated, per_bar)
    [halt] = stated.halts
    assert halt.reason == limit["type"] and calm < halt.index < calm + 39
    assert stated.stepped < per_bar.stepped
    if limit.get("action", "flatten") == "flatten":  # (a block is watched at every close until it lifts)
        assert stated.stepped < 12 < per_bar.stepped  # the calm bars, and the crash's up to the halt, jumped over


def test_the_closes_gone_over_are_shown_to_the_limits_as_the_account_stood_before_the_fill_that_ends_them():
    """A stop-loss reached at the end of a jump: the closes before it are judged with the position still held
    (the peak of 12,000 on the way up), not as the account stands after the stop's fill (9,500); the drawdown of
    the next trade breaks the limit from that peak, and only from it."""
    closes = [50.0] * 3 + list(np.linspace(52, 70, 10)) + list(np.linspace(68, 46, 8))
    bars = [(close,) * 4 for close in closes] + [(46.0, 46.0, 44.0, 44.0), (44.0,) * 4, (44.0,) * 4]
    bars += [(close,) * 4 for close in np.linspace(43, 40, 6)] + [(40.0,) * 4] * 10
    system = system_config("alpha", capital=10_000.0, sizers=[{"type": "fixed", "size": 100}],
                           limits=[{"type": "max_drawdown", "value": 0.22}],
                           exits=[{"type": "stop_loss", "percent": 0.1}])
    stated, per_bar = both_paths(make_bars(bars, freq="1D"), {1: Direction.LONG, 23: Direction.LONG}, system)
    assert_same(stated, per_bar)
    assert list(stated.trades["exit_reason"]) == ["stop_loss", "max_drawdown"]
    assert stated.stepped < per_bar.stepped


@pytest.mark.parametrize("limit", HALTING, ids=lambda limit: f"{limit['type']}-{limit.get('reset', '')}")
def test_a_halting_limit_never_broken_lets_the_path_jump_to_the_end(limit):
    calm = make_bars([(50.0 + (bar % 5) * 0.01,) * 4 for bar in range(300)], freq="1D")
    system = system_config("alpha", capital=10_000.0, sizers=[{"type": "fixed", "size": 100}], limits=[limit])
    stated, per_bar = both_paths(calm, {2: Direction.LONG}, system)
    assert_same(stated, per_bar)
    assert not stated.halts and stated.stepped < 6 and per_bar.stepped == 300


def test_a_halting_limit_that_cannot_look_ahead_is_shown_every_close_while_held():
    calm = make_bars([(50.0,) * 4 for _ in range(300)], freq="1D")
    system = system_config("alpha", capital=10_000.0, sizers=[{"type": "fixed", "size": 100}],
                           limits=[{"type": "watchful"}])
    registry = PluginRegistry(given={PluginKind.RISK_LIMIT: {"watchful": WatchfulLimit}})
    document = backtest_config(system)
    document["data"] = {"source": "synthetic", "symbols": ["SPY"], "bars": 10}
    [stated] = run_in_memory(document, source=FrameSource(calm), registry=registry,
                             strategies={"alpha": StatedScript({2: Direction.LONG})})
    # the first bar, then every bar from the signal's (bar 2) to the last
    assert not WatchfulLimit.looks_ahead() and stated.stepped == 1 + (300 - 2)


def sma_results(frame: pd.DataFrame, parameters: dict):
    """One SMA crossover system over `frame`: its results."""
    system = system_config("sma", capital=100_000, strategy={"type": "sma_crossover", "parameters": parameters},
                           sizers=[{"type": "fixed", "size": 100}])
    document = {**backtest_config(system), "data": {"source": "synthetic", "symbols": ["SPY"], "bars": 10}}
    [result] = run_in_memory(document, source=FrameSource(frame))
    return result


@pytest.mark.parametrize("parameters", [{"fast_period": 5, "slow_period": 20},
                                        {"fast_period": 3, "slow_period": 8, "allow_short": True},
                                        {"fast_period": 5, "slow_period": 20, "trend": "SMA_40"}])
def test_the_sma_crossover_states_its_signals_and_trades_as_its_on_bar(parameters):
    rows = np.random.default_rng(5).normal(0, 0.4, 3_000).cumsum() + 100
    closes = np.round(rows, 2)  # a cent grid: exact ties of the two averages happen
    frame = make_bars([(c, c + 0.1, c - 0.1, c) for c in closes], freq="1min")
    assert_signals_match(SmaCrossoverStrategy, frame, parameters=parameters, initial_capital=100_000,
                         exits=[{"type": "trailing_stop", "percent": 0.01}])
    assert_signals_match(SmaCrossoverStrategy, frame, parameters=parameters, initial_capital=100_000)
    result = sma_results(frame, parameters)
    assert len(result.trades) > 20 and result.stepped < len(frame) / 2  # from event to event


# the other built-in simple-form strategies, with parameters that make them trade often on a few dozen bars
STATED = {
    "buy_and_hold": (BuyAndHoldStrategy, st.just({})),
    "momentum": (MomentumStrategy, st.fixed_dictionaries({
        "lookback_period": st.integers(1, 8), "momentum_threshold": st.sampled_from([0.0, 0.01, 0.05]),
        "allow_short": st.booleans()})),
    "mean_reversion": (MeanReversionStrategy, st.fixed_dictionaries({
        "lookback_period": st.integers(2, 8), "entry_threshold": st.sampled_from([0.5, 1.0, 1.5, 2]),
        "exit_threshold": st.sampled_from([0.0, 0.25, 0.45]), "allow_short": st.booleans()})),
}


@pytest.mark.parametrize("name", sorted(STATED))
@PROPERTY
@given(frame=bar_frames(min_bars=10), exits=st.sampled_from([[], [{"type": "trailing_stop", "percent": 0.03}]]),
       data=st.data())
def test_the_built_in_strategies_state_their_signals_and_trade_as_their_on_bar(name, frame, exits, data):
    strategy, parameters = STATED[name]
    assert_signals_match(strategy, frame, parameters=data.draw(parameters), initial_capital=10_000, exits=exits)


def flat_stretches(bars: int, seed: int) -> pd.DataFrame:
    """A cent-grid walk that stands still for stretches: windows without deviation, and closes exactly on the
    mean."""
    rng = np.random.default_rng(seed)
    steps = np.where(rng.random(bars) < 0.4, 0.0, rng.normal(0, 0.3, bars))
    closes = np.round(100 + steps.cumsum(), 2)
    return make_bars([(c, c + 0.05, c - 0.05, c) for c in closes], freq="1min")


@pytest.mark.parametrize(("name", "parameters", "trades"), [
    ("buy_and_hold", {}, 0),  # bought once, never sold
    ("momentum", {"lookback_period": 20, "momentum_threshold": 0.01}, 20),
    ("mean_reversion", {"lookback_period": 5, "entry_threshold": 1.5, "exit_threshold": 0.5}, 20),
    ("mean_reversion", {"lookback_period": 4, "entry_threshold": 1.0, "exit_threshold": 0.0, "allow_short": False},
     20)])
def test_the_built_in_strategies_go_from_event_to_event_over_thousands_of_bars(name, parameters, trades):
    frame = flat_stretches(3_000, seed=11)
    strategy = STATED[name][0]
    assert_signals_match(strategy, frame, parameters=parameters, initial_capital=100_000)
    system = system_config("s", capital=100_000, strategy={"type": name, "parameters": parameters},
                           sizers=[{"type": "fixed", "size": 100}])
    document = {**backtest_config(system), "data": {"source": "synthetic", "symbols": ["SPY"], "bars": 10}}
    [result] = run_in_memory(document, source=FrameSource(frame))
    assert len(result.trades) >= trades and len(result.orders) > 0
    assert result.last_bar == len(frame) - 1 and result.stepped < len(frame) / 2  # from event to event


def test_the_checker_names_a_strategy_whose_signals_differ_from_its_on_bar():
    class LateSignals(SmaCrossoverStrategy):
        def signals(self, values):
            return np.roll(super().signals(values), 1)  # a bar late

    closes = np.round(np.random.default_rng(2).normal(0, 0.4, 400).cumsum() + 100, 2)
    with pytest.raises(AssertionError, match="LateSignals.signals\\(\\) does not trade as its on_bar: orders row 0"):
        assert_signals_match(LateSignals, make_bars([(c, c, c, c) for c in closes], freq="1min"),
                             initial_capital=100_000)


class WrongSignals(ScriptedStrategy):
    def __init__(self, stated) -> None:
        super().__init__({})
        self.stated = stated

    def signals(self, values):
        return self.stated(len(values["close"]))


@pytest.mark.parametrize(("stated", "message"), [
    (lambda bars: np.zeros(bars - 1),
     r"signals\(\) returned an array of shape \(29,\) for 'SPY', expected one value per bar \(30,\)"),
    (lambda bars: np.where(np.arange(bars) == 4, 2.0, np.nan),
     r"signals\(\) returned 2.0 at bar 4 of 'SPY'; expected -1 \(short\), 0 \(flat\), 1 \(long\) or NaN")])
def test_signals_of_the_wrong_shape_or_value_fail_their_own_system_only(stated, message):
    frame = make_bars([(50.0, 51.0, 49.0, 50.0)] * 30, freq="1D")
    systems = [system_config(name) for name in ("wrong", "right")]
    document = {**backtest_config(*systems), "data": {"source": "synthetic", "symbols": ["SPY"], "bars": 10}}
    wrong, right = run_in_memory(document, source=FrameSource(frame),
                                 strategies={"wrong": WrongSignals(stated), "right": StatedScript({3: Direction.LONG})})
    assert wrong.status == "failed" and wrong.failed_at.startswith("failed before its first bar")
    assert re.search(message, wrong.error)
    assert right.status == "completed" and len(right.orders) == 1


def test_in_a_book_the_stated_signals_trade_as_on_bar():
    """configs/portfolio_example.yaml (an allocation rebalanced monthly, book limits) with its trend system's
    crossover stated or stepped through on_bar: every system's results are the same."""
    document = yaml.safe_load((REPO / "configs" / "portfolio_example.yaml").read_text())
    document["data"]["bars"] = 600
    trend = document["trading_systems"][0]["strategy"]["parameters"]

    def per_bar() -> SmaCrossoverStrategy:
        strategy = SmaCrossoverStrategy(**trend)
        strategy.signals = lambda values: None
        return strategy

    stated = run_in_memory(document, strategies={"trend": SmaCrossoverStrategy(**trend)})
    on_bar = run_in_memory(document, strategies={"trend": per_bar()})
    assert len(stated[0].trades) > 5
    for one, other in zip(stated, on_bar):
        assert_same(one, other)


def window_of(frame: pd.DataFrame, first: float, last: float) -> dict:
    """`portfolio.active` from the bar a fraction `first` into the bars to the one `last` into them."""
    stamps = frame["timestamp"].drop_duplicates().sort_values().reset_index(drop=True)
    return {"start": stamps[int(len(stamps) * first)].isoformat(), "end": stamps[int(len(stamps) * last)].isoformat()}


def test_a_window_goes_from_event_to_event_when_its_signals_are_stated_from_its_first_bar():
    frame = flat_stretches(3_000, seed=3)
    parameters = {"fast_period": 5, "slow_period": 20}
    results = {}
    for name, strategy in (("stated", SmaCrossoverStrategy), ("per_bar", SmaOnBar)):
        system = system_config(name, capital=100_000, strategy={"type": name, "parameters": parameters},
                               sizers=[{"type": "fixed", "size": 100}])
        system["portfolio"]["active"] = window_of(frame, 0.25, 0.75)
        document = {**backtest_config(system), "data": {"source": "synthetic", "symbols": ["SPY"], "bars": 10}}
        registry = PluginRegistry(given={PluginKind.STRATEGY: {name: strategy}})
        [results[name]] = run_in_memory(document, source=FrameSource(frame), registry=registry)
    stated, per_bar = results["stated"], results["per_bar"]
    assert_same(stated, per_bar)
    trades = stated.trades
    assert len(trades) > 20 and trades["exit_reason"].iloc[-1] == "window_ended"
    assert trades["entry_time"].min() >= pd.Timestamp(window_of(frame, 0.25, 0.75)["start"])
    assert stated.stepped < 750 < 3_000 == per_bar.stepped  # half the window's 1,500 bars at most


class SmaOnBar(SmaCrossoverStrategy):
    """The SMA crossover stepped bar by bar: its `signals(values)` takes no `start`, so a window leaves them aside."""

    def signals(self, values):
        return super().signals(values)


def test_a_window_steps_every_bar_when_the_signals_cannot_start_at_its_first_bar():
    frame = flat_stretches(400, seed=3)
    system = system_config("s", capital=100_000, strategy={"type": "sma_on_bar", "parameters": {}},
                           sizers=[{"type": "fixed", "size": 100}])
    system["portfolio"]["active"] = window_of(frame, 0.5, 0.9)
    document = {**backtest_config(system), "data": {"source": "synthetic", "symbols": ["SPY"], "bars": 10}}
    registry = PluginRegistry(given={PluginKind.STRATEGY: {"sma_on_bar": SmaOnBar}})
    [result] = run_in_memory(document, source=FrameSource(frame), registry=registry)
    assert result.stepped == 400 and len(result.trades) > 0


def test_the_checker_names_a_strategy_whose_signals_do_not_start_where_its_on_bar_does():
    class StartIgnored(BuyAndHoldStrategy):
        def signals(self, values, start=0):
            return super().signals(values)  # long at the first bar of all, not at the first `on_bar` sees

    closes = np.round(np.random.default_rng(2).normal(0, 0.4, 400).cumsum() + 100, 2)
    bars = make_bars([(c, c, c, c) for c in closes], freq="1min")
    with pytest.raises(AssertionError, match=r"StartIgnored.signals\(\) does not trade as its on_bar in the window "
                                             r"2024-01-\S+ to \S+: orders row 0"):
        assert_signals_match(StartIgnored, bars, initial_capital=100_000)


@pytest.mark.parametrize("entry", [{"type": "market"}, {"type": "limit", "offset_bps": 30},
                                   {"type": "stop", "offset_bps": 20}])
@pytest.mark.parametrize("exits", [
    [{"type": "stop_loss", "percent": 0.01}, {"type": "take_profit", "percent": 0.02}],
    [{"type": "stop_loss", "percent": 0.05}, {"type": "take_profit", "percent": 0.004}],
    [{"type": "take_profit", "percent": 0.3}]])
def test_standing_orders_are_jumped_to_the_first_bar_whose_range_reaches_them(entry, exits):
    """Entries waiting for their price and exits standing for hundreds of bars: the path looks at the bars
    between events bar by bar up to 64 of them, with numpy beyond, and finds the bar `fill_due` would fill at."""
    rng = np.random.default_rng(7)
    closes = np.round(100 + rng.normal(0, 0.08, 6_000).cumsum(), 2)
    frame = make_bars([(c, c + 0.06, c - 0.06, c) for c in closes], freq="1min")
    parameters = {"fast_period": 50, "slow_period": 400}  # crosses hundreds of bars apart
    assert_signals_match(SmaCrossoverStrategy, frame, parameters=parameters, initial_capital=100_000, exits=exits,
                         execution={"entry": entry})
    system = system_config("s", capital=100_000, strategy={"type": "sma_crossover", "parameters": parameters},
                           sizers=[{"type": "fixed", "size": 100}], exits=exits, execution={"entry": entry})
    document = {**backtest_config(system), "data": {"source": "synthetic", "symbols": ["SPY"], "bars": 10}}
    [result] = run_in_memory(document, source=FrameSource(frame))
    causes = set(result.orders["cause"])
    assert len(result.trades) >= 3 and causes & {"stop_loss", "take_profit"}, (len(result.trades), causes)
    assert result.stepped < len(frame) / 10  # the bars between were not stepped

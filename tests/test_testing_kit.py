"""The plugin authors' kit (`multifolio.testing`) on real runs: what run_strategy gives, assert_causal catching
look-ahead in an indicator and in a strategy, and assert_limit_looks_ahead catching a halting limit whose look ahead
disagrees with its close-by-close answers."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import multifolio
from multifolio.config.registry import PluginKind, PluginRegistry
from multifolio.protocols import Direction, Indicator, Strategy
from multifolio.testing import (
    SYSTEM,
    ScriptedActions,
    ScriptedStrategy,
    assert_causal,
    assert_limit_looks_ahead,
    bars_from_closes,
    rewrite_after,
    run_strategy,
)
from plugins.limits import DailyLoss, MaxDrawdown
from tests.fakes import WatchfulLimit

REPO = Path(__file__).resolve().parents[1]
REGISTRY = PluginRegistry()
WALK = bars_from_closes(np.round(50 * np.exp(np.cumsum(np.random.default_rng(3).normal(0, 0.02, 120))), 2),
                        freq="1D", start="2024-01-01")
STRATEGIES = {  # built-in strategies with parameters that trade often on WALK
    "sma_crossover": {"fast_period": 3, "slow_period": 8, "allow_short": True},
    "momentum": {"lookback_period": 3, "momentum_threshold": 0.01},
    "mean_reversion": {"lookback_period": 6, "entry_threshold": 1.0, "exit_threshold": 0.2},
    "buy_and_hold": {},
}


class NextClose(Indicator):
    """Looks ahead on purpose: the value at bar t is the close of bar t + 1."""

    def compute(self, bars):
        return {"value": np.append(bars["close"][1:], np.nan)}


class BuysBeforeARise(Strategy):
    """Looks ahead on purpose, through NextClose: long when the next close is higher."""

    def indicators(self):
        return ["NEXT"]

    def on_bar(self, bar, values):
        return Direction.LONG if values["NEXT"] > bar.close else Direction.FLAT


def tiny_bars() -> dict[str, pd.DataFrame]:
    """configs/data/tiny_daily.csv as a DataFrame (its dates in the index, as backtesting.py's frames)."""
    return {"TINY": pd.read_csv(REPO / "configs" / "data" / "tiny_daily.csv", index_col=0, parse_dates=True)}


def test_run_strategy_gives_exactly_what_the_yaml_file_gives():
    by_file = multifolio.run(REPO / "configs" / "tiny_sma_crossover.yaml").systems["crossover"]
    strategy = REGISTRY.load(PluginKind.STRATEGY, "sma_crossover")
    by_kit = run_strategy(strategy, tiny_bars(), parameters={"fast_period": 2, "slow_period": 3},
                          execution={"commission": 0.5}).systems[SYSTEM]
    assert len(by_kit.trades) == 1 and by_kit.equity["equity"].iloc[-1] == 9970  # the file's comment, by hand
    pd.testing.assert_frame_equal(by_kit.trades, by_file.trades)
    pd.testing.assert_frame_equal(by_kit.orders, by_file.orders)
    pd.testing.assert_frame_equal(by_kit.equity, by_file.equity)
    pd.testing.assert_series_equal(by_kit.metrics, by_file.metrics, check_names=False)


def test_a_strategy_instance_trades_as_its_class_would():
    strategy = REGISTRY.load(PluginKind.STRATEGY, "sma_crossover")
    parameters = {"fast_period": 2, "slow_period": 3}
    by_class = run_strategy(strategy, tiny_bars(), parameters=parameters).systems[SYSTEM]
    by_instance = run_strategy(strategy(**parameters), tiny_bars()).systems[SYSTEM]
    pd.testing.assert_frame_equal(by_instance.orders, by_class.orders)


def test_a_strategy_instance_is_the_one_that_trades_so_it_tells_what_it_saw():
    bars = bars_from_closes([10, 11, 12, 13, 12, 14], freq="1D")
    fake = ScriptedStrategy({1: Direction.LONG, 4: Direction.FLAT})
    system = run_strategy(fake, bars).systems[SYSTEM]
    assert [(bar.index, bar.close) for bar in fake.seen] == [(0, 10), (1, 11), (2, 12), (3, 13), (4, 12), (5, 14)]
    # long after bar 1's close: 10 shares at bar 2's open (11); flat after bar 4: sold at bar 5's open (12)
    [trade] = system.trades.itertuples()
    assert (trade.quantity, trade.entry_price, trade.exit_price, trade.gross_pnl) == (10, 11, 12, 10)


def test_a_full_form_instance_records_each_timestamp_with_its_symbols():
    bars = pd.concat([bars_from_closes([10, 11, 12], "AAA", freq="1D"),
                      bars_from_closes([20, 21, 22], "BBB", freq="1D")], ignore_index=True)
    fake = ScriptedActions({1: lambda context: context.order("BBB", 5)}, keys=("SMA_2",))
    system = run_strategy(fake, bars).systems[SYSTEM]
    days = list(pd.date_range("2024-01-02 09:30", periods=3, freq="1D"))
    assert fake.calls == [(day, ("AAA", "BBB")) for day in days]
    assert system.orders[["symbol", "quantity", "fill_price"]].values.tolist() == [["BBB", 5.0, 21.0]]
    assert list(system.indicators.columns) == ["timestamp", "symbol", "SMA_2"]


def test_parameters_are_for_a_class_not_an_instance():
    with pytest.raises(TypeError, match="an instance is used as it is"):
        run_strategy(ScriptedStrategy({}), WALK, parameters={"script": {}})


def test_rewrite_after_keeps_the_bars_up_to_t_and_changes_every_later_one_validly():
    changed = rewrite_after(WALK, 40, seed=1, level=1.5)
    pd.testing.assert_frame_equal(changed.iloc[:41], WALK.iloc[:41])
    later, given = changed.iloc[41:], WALK.iloc[41:]
    assert (later["close"] != given["close"]).all() and (later["volume"] != given["volume"]).all()
    assert (later["low"] <= later[["open", "close"]].min(axis=1)).all()
    assert (later["high"] >= later[["open", "close"]].max(axis=1)).all()


@pytest.mark.parametrize("name", REGISTRY.names(PluginKind.INDICATOR))
def test_the_built_in_indicators_are_causal(name):
    assert_causal(REGISTRY.load(PluginKind.INDICATOR, name), WALK)


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_the_built_in_strategies_are_causal(name):
    assert_causal(REGISTRY.load(PluginKind.STRATEGY, name), WALK, parameters=STRATEGIES[name])


def test_an_indicator_that_reads_the_next_bar_fails_naming_the_bar_and_the_output():
    # the first cut is after bar 1: bar 1's value is bar 2's close, which the rewrite changed
    with pytest.raises(AssertionError, match=r"NextClose looks ahead: at bar 1 \(2024-01-02 00:00:00\) SPY output "
                                             r"'value' changed when the bars after bar 1 "):
        assert_causal(NextClose(), WALK)


def test_a_strategy_that_reads_the_next_bar_fails_naming_the_bar_and_the_column():
    with pytest.raises(AssertionError, match=r"BuysBeforeARise looks ahead: at bar 1 \(2024-01-02 00:00:00\) "
                                             r"order column 'order_id' changed"):
        assert_causal(BuysBeforeARise, WALK, plugins={"indicators": {"NEXT": NextClose}})


def test_a_strategy_instance_is_copied_for_each_run():
    """Each run starts from the instance as given: its scripted bar numbers are not used up by the first run."""
    fake = ScriptedStrategy({5: Direction.LONG, 50: Direction.SHORT})
    assert_causal(fake, WALK)
    assert fake.seen == []


# closes a day apart, then seven hours apart: rises, drops that break each limit, new days, weeks and months
LIMIT_EQUITY = np.round(10_000 + np.cumsum(np.random.default_rng(5).normal(0, 350, 45)), 2)
LIMIT_TIMES = [*pd.date_range("2024-01-25", periods=25, freq="1D"),
               *pd.date_range("2024-02-20", periods=20, freq="7h")]


@pytest.mark.parametrize("parameters", [{"value": 0.05}, {"value": 0.05, "reset": "1D"},
                                        {"value": 0.04, "reset": "1W"},
                                        {"value": 0.08, "reset": "1M", "action": "block"}])
def test_the_built_in_drawdown_limit_looks_ahead_as_it_is_shown_each_close(parameters):
    assert_limit_looks_ahead(MaxDrawdown, LIMIT_EQUITY, parameters=parameters, timestamps=LIMIT_TIMES)


def test_the_built_in_daily_loss_limit_looks_ahead_as_it_is_shown_each_close():
    assert_limit_looks_ahead(DailyLoss, LIMIT_EQUITY, parameters={"value": 0.02}, timestamps=LIMIT_TIMES)


class KeepsItsBreak(DailyLoss):
    """Forgets, when it has seen a span, that a new day cleared the break of the day before."""

    def _taken(self, state):
        self._day, self._reference, self._last = state


class OneLate(MaxDrawdown):
    def first_breach(self, accounts):
        return min(super().first_breach(accounts) + 1, len(accounts))


class PeeksAndKeeps(MaxDrawdown):
    """Its look ahead moves its peak."""

    def first_breach(self, accounts):
        found = super().first_breach(accounts)
        if len(accounts):
            self._peak = max(self._peak, float(accounts.equity.max()))
        return found


@pytest.mark.parametrize("faulty, parameters, message", [
    (KeepsItsBreak, {"value": 0.02}, "KeepsItsBreak, having seen() closes"),
    (OneLate, {"value": 0.05}, "OneLate.first_breach() of the closes from 0: "),
    (PeeksAndKeeps, {"value": 0.05}, "PeeksAndKeeps.first_breach() of the closes from 0 changed the limit"),
])
def test_a_limit_whose_look_ahead_disagrees_with_breached_fails_naming_how(faulty, parameters, message):
    with pytest.raises(AssertionError, match=re.escape(message)):
        assert_limit_looks_ahead(faulty, LIMIT_EQUITY, parameters=parameters, timestamps=LIMIT_TIMES)


def test_a_limit_that_does_not_look_ahead_is_refused():
    with pytest.raises(TypeError, match="WatchfulLimit does not look ahead"):
        assert_limit_looks_ahead(WatchfulLimit, LIMIT_EQUITY)

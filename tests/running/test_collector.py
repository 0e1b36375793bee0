"""While a run goes on, the cycle collector passes over its older generations less often; as before once the
run ends, whether it ended well or not."""

from __future__ import annotations

import gc
from collections.abc import Callable

import pytest

from multifolio.config.registry import PluginRegistry
from multifolio.errors import MultifolioError
from multifolio.running import run
from multifolio.trading.portfolio import Portfolio
from multifolio.trading.system import OrderLog, SystemRunner
from tests.builders import backtest_config, checked, system_config


@pytest.fixture
def thresholds():
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)  # Python's defaults, whatever the session set
    yield
    gc.set_threshold(*before)


def probed(monkeypatch, probe: Callable[[], object]) -> list:
    """What `probe()` gives as a run's systems start stepping (filled by each run)."""
    seen = []
    stepping = run._run_systems

    def recorded(*args, **kwargs):
        seen.append(probe())
        return stepping(*args, **kwargs)

    monkeypatch.setattr(run, "_run_systems", recorded)
    return seen


def one_run() -> None:
    registry = PluginRegistry()
    run.run_backtest(checked(backtest_config(system_config("a")), registry), registry, write=False)


def test_a_run_spaces_out_the_full_passes_and_puts_the_thresholds_back(thresholds, monkeypatch):
    seen = probed(monkeypatch, gc.get_threshold)
    one_run()
    assert seen == [(700, 50, 100)]
    assert gc.get_threshold() == (700, 10, 10)


def test_thresholds_already_higher_are_kept_and_a_failed_run_puts_them_back(thresholds, monkeypatch):
    gc.set_threshold(5000, 80, 20)
    seen = []

    def broken(*args, **kwargs):
        seen.append(gc.get_threshold())
        raise MultifolioError("the data could not be read")

    monkeypatch.setattr(run, "_run_systems", broken)
    with pytest.raises(MultifolioError):
        one_run()
    assert seen == [(5000, 80, 100)]
    assert gc.get_threshold() == (5000, 80, 20)


def test_what_was_alive_before_the_run_is_frozen_while_it_goes_on_and_thawed_after(thresholds, monkeypatch):
    """A full pass during the run goes over the run's own objects only; after it, over everything again."""
    frozen = probed(monkeypatch, gc.get_freeze_count)
    before = gc.get_freeze_count()
    one_run()
    assert frozen[0] > before and gc.get_freeze_count() == before


def test_the_ended_systems_are_let_go_before_the_figures_are_computed(monkeypatch):
    """Their buses, ledgers and order logs sit in cycles with their receivers: without the run's own full pass
    they would stay until the collector's next one (here: none, it is off)."""
    alive = []
    figures = run.outcome_of

    def counted(*args, **kwargs):
        alive.append(sum(isinstance(thing, (SystemRunner, Portfolio, OrderLog)) for thing in gc.get_objects()))
        return figures(*args, **kwargs)

    monkeypatch.setattr(run, "outcome_of", counted)
    registry = PluginRegistry()
    crossover = {"type": "sma_crossover", "parameters": {"fast_period": 5, "slow_period": 20}}
    config = checked(backtest_config(system_config("a"), system_config("b", strategy=crossover)), registry)
    gc.collect()
    gc.disable()
    try:
        outcome = run.run_backtest(config, registry, write=False)
    finally:
        gc.enable()
    assert alive == [0]
    assert [len(result.orders) > 0 for result in outcome.results] == [True, True]  # they traded, and were let go

"""While a run goes on, the cycle collector passes over its older generations less often; as before once the
run ends, whether it ended well or not."""

from __future__ import annotations

import gc

import pytest

from multifolio.config.registry import PluginRegistry
from multifolio.errors import MultifolioError
from multifolio.running import run
from tests.builders import backtest_config, checked, system_config


@pytest.fixture
def thresholds():
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)  # Python's defaults, whatever the session set
    yield
    gc.set_threshold(*before)


def test_a_run_spaces_out_the_full_passes_and_puts_the_thresholds_back(thresholds, monkeypatch):
    seen = []
    stepping = run._run_systems

    def recorded(*args, **kwargs):
        seen.append(gc.get_threshold())
        return stepping(*args, **kwargs)

    monkeypatch.setattr(run, "_run_systems", recorded)
    registry = PluginRegistry()
    run.run_backtest(checked(backtest_config(system_config("a")), registry), registry, write=False)
    assert seen == [(700, 50, 100)]
    assert gc.get_threshold() == (700, 10, 10)


def test_thresholds_already_higher_are_kept_and_a_failed_run_puts_them_back(thresholds, monkeypatch):
    gc.set_threshold(5000, 80, 20)
    seen = []

    def broken(*args, **kwargs):
        seen.append(gc.get_threshold())
        raise MultifolioError("the data could not be read")

    monkeypatch.setattr(run, "_run_systems", broken)
    registry = PluginRegistry()
    with pytest.raises(MultifolioError):
        run.run_backtest(checked(backtest_config(system_config("a")), registry), registry, write=False)
    assert seen == [(5000, 80, 100)]
    assert gc.get_threshold() == (5000, 80, 20)

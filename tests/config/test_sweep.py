"""Sweeps: one entry expands into exactly the systems its values and constraint give, or an error with its path."""

from __future__ import annotations

import pandas as pd
import pytest

from multifolio.config.model import BENCHMARK_FIGURES
from multifolio.config.spec import SweepPoint
from multifolio.config.sweep import expand_sweeps
from multifolio.errors import ConfigErrors
from multifolio.reports.catalogue import RANKING_FIGURES
from multifolio.reports.writers import performance
from multifolio.running.executors import with_executor
from tests.builders import backtest_config, checked, run_in_memory, system_config

SMA = {"type": "sma_crossover", "parameters": {"fast_period": 10, "slow_period": 30}}


def swept_entry(sweep: dict, constraint: str | None = None, name: str = "sma", **kwargs) -> dict:
    entry = system_config(name, strategy=SMA, **kwargs)
    entry["sweep"] = sweep
    if constraint is not None:
        entry["constraint"] = constraint
    return entry


def expanded(*entries: dict) -> list[dict]:
    return expand_sweeps(backtest_config(*entries))["trading_systems"]


def errors_of(document: dict, registry) -> list[str]:
    with pytest.raises(ConfigErrors) as caught:
        checked(document, registry)
    return [str(error) for error in caught.value.errors]


def test_an_entry_expands_into_the_cartesian_product_in_the_order_of_its_keys_and_values():
    systems = expanded(swept_entry({"strategy.parameters.fast_period": [20, 5],
                                    "risk.position_sizers[0].size": {"start": 10, "stop": 30, "step": 10}}))
    assert [s["name"] for s in systems] == [
        "sma.fast_period-20.size-10", "sma.fast_period-20.size-20", "sma.fast_period-20.size-30",
        "sma.fast_period-5.size-10", "sma.fast_period-5.size-20", "sma.fast_period-5.size-30"]
    assert [s["portfolio"]["namespace"] for s in systems] == [s["name"] for s in systems]
    assert [(s["strategy"]["parameters"]["fast_period"], s["risk"]["position_sizers"][0]["size"])
            for s in systems] == [(20, 10), (20, 20), (20, 30), (5, 10), (5, 20), (5, 30)]
    assert systems[0]["swept"] == SweepPoint(
        entry=0, group="sma", values={"fast_period": 20, "size": 10},
        paths={"fast_period": "strategy.parameters.fast_period", "size": "risk.position_sizers[0].size"},
        axes={"fast_period": [20, 5], "size": [10, 20, 30]}, combinations=6)
    assert all("sweep" not in s for s in systems)


def test_the_document_given_is_left_untouched_and_plain_entries_pass_through():
    document = backtest_config(system_config("plain"), swept_entry({"strategy.parameters.fast_period": [5, 6]}))
    before = repr(document)
    systems = expand_sweeps(document)["trading_systems"]
    assert repr(document) == before
    assert [s["name"] for s in systems] == ["plain", "sma.fast_period-5", "sma.fast_period-6"]
    assert systems[0] is document["trading_systems"][0]


def test_a_float_range_lands_on_its_decimal_values_and_includes_its_stop():
    systems = expanded(swept_entry({"execution.slippage_bps": {"start": 0.1, "stop": 0.3, "step": 0.1}},
                                   execution={"slippage_bps": 5}))
    assert [s["execution"]["slippage_bps"] for s in systems] == [0.1, 0.2, 0.3]
    assert [s["name"] for s in systems] == [
        "sma.slippage_bps-0.1", "sma.slippage_bps-0.2", "sma.slippage_bps-0.3"]


def test_the_namespace_given_in_the_entry_is_the_base_of_the_systems_namespaces():
    systems = expanded(swept_entry({"strategy.parameters.fast_period": [5]}, namespace="trend"))
    assert (systems[0]["name"], systems[0]["portfolio"]["namespace"]) == ("sma.fast_period-5", "trend.fast_period-5")


def test_keys_sharing_a_leaf_name_are_told_apart_and_names_stay_safe_as_folders(registry):
    entry = swept_entry({"risk.position_sizers[0].size": [10], "risk.position_sizers[1].size": [0.5]},
                        sizers=[{"type": "fixed", "size": 1}, {"type": "percentage", "size": 0.1}])
    config = checked(backtest_config(entry), registry)
    assert [s.name for s in config.trading_systems] == [
        "sma.position_sizers_0.size-10.position_sizers_1.size-0.5"]
    assert config.systems[0].swept.values == {"position_sizers[0].size": 10,
                                                         "position_sizers[1].size": 0.5}


def test_a_constraint_keeps_only_the_combinations_it_accepts_by_leaf_or_full_path():
    sweep = {"strategy.parameters.fast_period": [5, 10, 40], "strategy.parameters.slow_period": [20, 30]}
    by_leaf = expanded(swept_entry(sweep, "fast_period < slow_period and not fast_period == 10"))
    by_path = expanded(swept_entry(sweep, "strategy.parameters.fast_period * 2 <= strategy.parameters.slow_period "
                                          "- 10 or (slow_period % 20 == 0 and fast_period >= 40)"))
    assert [s["name"] for s in by_leaf] == ["sma.fast_period-5.slow_period-20", "sma.fast_period-5.slow_period-30"]
    assert [s["name"] for s in by_path] == ["sma.fast_period-5.slow_period-20", "sma.fast_period-5.slow_period-30",
                                            "sma.fast_period-10.slow_period-30", "sma.fast_period-40.slow_period-20"]
    assert {s["swept"].combinations for s in by_leaf} == {6}


def test_every_sweep_problem_is_reported_with_its_key_path(registry):
    entry = swept_entry({"strategy.parameters.fast_perod": [5], "risk.position_sizers[2].size": [1],
                         "strategy.parameters.slow_period": [], "risk.position_sizers[0].size": [5, 5],
                         "execution.slippage_bps": {"start": 5, "stop": 1, "step": 1},
                         "portfolio.initial_capital": {"start": 1, "stop": 5, "step": 0},
                         "portfolio.namespace": ["a"], "strategy.parameters": {"start": 1, "stop": 2}},
                        execution={"slippage_bps": 0})
    assert errors_of(backtest_config(system_config("plain"), entry), registry) == [
        "trading_systems[1].sweep.strategy.parameters.fast_perod: strategy.parameters has no key 'fast_perod'; "
        "known: fast_period, slow_period (did you mean fast_period?); give it a value in the entry first, the "
        "sweep replaces it",
        "trading_systems[1].sweep.risk.position_sizers[2].size: risk.position_sizers has 1 item; [2] is out of "
        "range",
        "trading_systems[1].sweep.strategy.parameters.slow_period: the list of values is empty; give at least one "
        "value",
        "trading_systems[1].sweep.risk.position_sizers[0].size: 5 is listed twice",
        "trading_systems[1].sweep.execution.slippage_bps: range stop (1) is below start (5)",
        "trading_systems[1].sweep.portfolio.initial_capital: range step must be > 0, was 0",
        "trading_systems[1].sweep.portfolio.namespace: is derived from the sweep and cannot be swept",
        "trading_systems[1].sweep.strategy.parameters: a range needs exactly start, stop and step; missing step",
    ]


@pytest.mark.parametrize("constraint, message", [
    ("__import__('os').system('true')", "\"__import__('os').system('true')\" is not allowed; use names, numbers, "
                                        "strings, comparisons, and/or/not, + - * / % and parentheses"),
    ("fast_period ** 2 < 10", "'fast_period ** 2' is not allowed; use names, numbers, strings, comparisons, "
                              "and/or/not, + - * / % and parentheses"),
    ("(lambda: 1)()", "'(lambda: 1)()' is not allowed; use names, numbers, strings, comparisons, and/or/not, "
                      "+ - * / % and parentheses"),
    ("fast_period.__class__ == 1", "unknown name 'fast_period.__class__'; known: fast_period, slow_period, "
                                   "strategy.parameters.fast_period, strategy.parameters.slow_period (did you mean "
                                   "fast_period?)"),
    ("fast_perod < slow_period", "unknown name 'fast_perod'; known: fast_period, slow_period, "
                                 "strategy.parameters.fast_period, strategy.parameters.slow_period (did you mean "
                                 "fast_period?)"),
    ("fast_period <", "'fast_period <' is not an expression: invalid syntax"),
    ("fast_period > 100", "'fast_period > 100' rejects all 4 combinations; the sweep expands to no system"),
    ("fast_period / (slow_period - 30) > 0", "'fast_period / (slow_period - 30) > 0' cannot be evaluated for "
                                             "fast_period=5, slow_period=30: division by zero"),
])
def test_a_constraint_outside_the_whitelist_or_naming_an_unknown_key_is_refused(constraint, message, registry):
    entry = swept_entry({"strategy.parameters.fast_period": [5, 10],
                         "strategy.parameters.slow_period": [30, 40]}, constraint)
    assert errors_of(backtest_config(entry), registry) == [f"trading_systems[0].constraint: {message}"]


def test_reserved_keys_and_a_constraint_without_a_sweep_are_refused(registry):
    stray = system_config("stray")
    stray["constraint"] = "a < b"
    forged = system_config("forged")
    forged["swept"] = {"entry": 0}
    assert errors_of(backtest_config(stray, forged), registry) == [
        "trading_systems[0].constraint: a constraint filters a sweep; this entry has no `sweep:`",
        "trading_systems[1].swept: is written by the sweep expansion; use `sweep:`"]


def test_errors_of_expanded_systems_point_at_the_entry_written_in_the_file(registry):
    sweep = swept_entry({"strategy.parameters.fast_period": [1, 5, 8]}, capital=0)
    late = system_config("late", capital=-1)
    assert errors_of(backtest_config(system_config("first"), sweep, late), registry) == [
        "trading_systems[1].portfolio.initial_capital: must be > 0 and at most 10,000,000,000,000, was 0.0",
        "trading_systems[1].strategy.parameters.fast_period: must be ≥ 2, was 1 (in the sweep's system "
        "sma.fast_period-1)",
        "trading_systems[2].portfolio.initial_capital: must be > 0 and at most 10,000,000,000,000, was -1.0"]
    clash = system_config("sma.fast_period-5")
    assert errors_of(backtest_config(swept_entry({"strategy.parameters.fast_period": [5]}), clash), registry) == [
        "trading_systems[1].name: 'sma.fast_period-5' is already used by trading_systems[0] (names must differ "
        "ignoring case: they become folder names)",
        "trading_systems[1].portfolio.namespace: 'sma.fast_period-5' is already used by trading_systems[0] "
        "(names must differ ignoring case: they become folder names)"]


def test_a_structural_problem_shared_by_every_system_of_a_sweep_is_reported_once(registry):
    entry = swept_entry({"strategy.parameters.fast_period": [5, 6, 7]})
    entry["portfolio"]["initial_captial"] = 1
    assert errors_of(backtest_config(entry), registry) == [
        "trading_systems[0].portfolio.initial_captial: unknown key; known: active, close_at_end, initial_capital, "
        "min_equity, namespace (did you mean initial_capital?)"]


def test_the_sweep_point_reaches_the_systems_spec_and_only_for_swept_systems(registry):
    config = checked(backtest_config(system_config("plain"), swept_entry({"strategy.parameters.fast_period": [5]})),
                     registry)
    plain, swept = config.systems
    assert plain.swept is None
    assert swept.swept.values == {"fast_period": 5}
    assert swept.as_dict()["swept"]["values"] == {"fast_period": 5}


def test_every_metric_a_sweep_can_rank_by_is_a_figure_of_performance_json():
    [result] = run_in_memory(backtest_config(system_config(strategy=SMA)))
    # the figures against a benchmark are there only with one (any price series serves as its closes here)
    closes = pd.Series(result.equity["equity"].to_numpy(), index=pd.DatetimeIndex(result.equity["timestamp"]))
    assert set(RANKING_FIGURES) - set(BENCHMARK_FIGURES) <= set(performance(result))
    assert set(RANKING_FIGURES) <= set(performance(result, closes))


def test_an_unknown_sweep_metric_names_the_close_match(registry):
    document = backtest_config(system_config())
    document["reporting"]["sweep_metric"] = "sharp"
    with pytest.raises(ConfigErrors) as caught:
        checked(document, registry)
    [error] = caught.value.errors
    assert error.path == "reporting.sweep_metric" and error.message.endswith("(did you mean sharpe?)")


def test_execution_engine_values_are_checked_with_their_key_paths(registry):
    document = backtest_config(system_config())
    document["execution_engine"] = {"type": "proceses", "workers": 0}
    assert errors_of(document, registry) == [
        "execution_engine.type: unknown executor 'proceses'; known: dask, processes, serial (did you mean "
        "processes?)",
        "execution_engine.workers: must be in [1, 256], was 0"]
    document["execution_engine"] = {"type": "processes", "address": "tcp://10.0.0.5:8786"}
    assert errors_of(document, registry) == [
        "execution_engine.address: a scheduler address is for type dask, not 'processes'"]
    document["execution_engine"] = {"type": "dask", "address": "the cluster"}
    assert errors_of(document, registry) == [
        "execution_engine.address: expected a scheduler address such as tcp://10.0.0.5:8786, found 'the cluster'"]
    document["execution_engine"] = {"type": "dask", "address": "tcp://10.0.0.5:8786", "workers": 4}
    assert errors_of(document, registry) == [
        "execution_engine.workers: sizes the cluster multifolio starts; with an address the cluster's own "
        "workers run the systems"]


def test_the_command_line_overrides_the_execution_engine_of_the_file(registry):
    document = backtest_config(system_config())
    document["execution_engine"] = {"type": "dask", "address": "tcp://10.0.0.5:8786"}
    config = checked(document, registry)
    assert with_executor(config).execution_engine == config.execution_engine
    processes = with_executor(config, type="processes", workers=3).execution_engine
    assert (processes.type, processes.workers, processes.address) == ("processes", 3, "")
    plain = checked(backtest_config(system_config()), registry)
    remote = with_executor(plain, address="tcp://h:8786").execution_engine
    assert (remote.type, remote.address) == ("dask", "tcp://h:8786")
    with pytest.raises(ConfigErrors, match="execution_engine.address: a scheduler address is for type dask"):
        with_executor(plain, type="serial", address="tcp://h:8786")

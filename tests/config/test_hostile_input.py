"""Hostile configs end in a ConfigError naming where and what, in bounded time and memory: never a traceback."""

from __future__ import annotations

import time

import pytest
import yaml

from multifolio.config import yamlio
from multifolio.errors import ConfigErrors
from multifolio.running.run import load_config
from tests.builders import backtest_config, system_config

LAUGHS = "".join(f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]\n"
                 for prev, name in zip("abcdefgh", "bcdefghi"))
SMA = {"type": "sma_crossover", "parameters": {"fast_period": 5, "slow_period": 20}}


def entry_with(**changes) -> str:
    document = backtest_config(system_config("alpha", strategy=SMA))
    for path, value in changes.items():
        target = document
        *steps, last = path.split("__")
        for step in steps:
            target = target[int(step)] if step.isdigit() else target[step]
        target[last] = value
    return yaml.safe_dump(document)


CASES = {  # name: (YAML text, the start of the one error it gives)
    "alias bomb in a parameter": (
        f"a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n{LAUGHS}"
        + entry_with(), "config.yaml: the document holds more than 200,000 values once its aliases"),
    "alias that contains itself": ("a: &a [1, *a]\n", "config.yaml: an alias refers to a value that holds it"),
    "unhashable key": ("? [a, b]\n: 1\n", "config.yaml:1:3: invalid YAML: a key must be a plain value, found a list"),
    "nesting": ("x: " + "[" * 5000 + "]" * 5000 + "\n", "config.yaml:1:67: invalid YAML: nested more than 64 levels"),
    "a sweep of a million systems": (
        entry_with(**{"trading_systems__0__sweep": {"strategy.parameters.fast_period": list(range(1000)),
                                                    "strategy.parameters.slow_period": list(range(1000))}}),
        "trading_systems[0].sweep: 1000 × 1000 = 1,000,000 combinations; a sweep has at most 10,000"),
    "a constraint multiplying strings": (
        entry_with(**{"trading_systems__0__sweep": {"strategy.parameters.fast_period": [5]},
                      "trading_systems__0__constraint": "'x' * 1000000000 == 'y'"}),
        "trading_systems[0].constraint: \"'x' * 1000000000 == 'y'\" cannot be evaluated for fast_period=5: "
        "arithmetic takes numbers"),
    "slippage of the whole price": (
        entry_with(**{"trading_systems__0__execution": {"slippage_bps": 10_000}}),
        "trading_systems[0].execution.slippage.bps: must be in [0, 10000)"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_hostile_config_gets_one_clear_error_quickly(name, tmp_path, registry):
    text, expected = CASES[name]
    path = tmp_path / "config.yaml"
    path.write_text(text)
    started = time.perf_counter()
    with pytest.raises(ConfigErrors) as caught:
        load_config(path, registry)
    assert time.perf_counter() - started < 30  # bounded work, not a timing target
    [error] = caught.value.errors
    assert str(error).replace(f"{tmp_path}/", "").startswith(expected), str(error)


def test_a_file_larger_than_any_config_is_refused_before_it_is_read(tmp_path, registry):
    path = tmp_path / "config.yaml"
    path.write_bytes(b"#" * (yamlio.MAX_BYTES + 1))
    with pytest.raises(ConfigErrors, match=r"4,194,305 bytes; a config file is at most 4,194,304"):
        load_config(path, registry)


def test_a_value_echoed_in_an_error_is_cut_short(registry, tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(entry_with(**{"trading_systems__0__portfolio": {"initial_capital": "x" * 100_000}}))
    with pytest.raises(ConfigErrors) as caught:
        load_config(path, registry)
    [error] = caught.value.errors
    assert len(str(error)) < 700 and str(error).endswith("more characters)")


@pytest.mark.parametrize("name, expected", [
    ("s" * 101, "101 characters; a name is at most 100"),
    ("manifest.json", "'manifest.json' is taken"), ("Combined_Summary.HTML", "'Combined_Summary.HTML' is taken"),
    ("nul", "'nul' is taken"), ("COM1.txt", "'COM1.txt' is taken"),
    ("../escape", "'../escape' is not safe as a folder name")])
def test_a_name_that_cannot_be_a_systems_folder_is_refused_at_validation(name, expected, registry, tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(backtest_config(system_config(name, namespace="ns"))))
    with pytest.raises(ConfigErrors) as caught:
        load_config(path, registry)
    [error] = caught.value.errors
    assert error.path == "trading_systems[0].name" and error.message.startswith(expected)


@pytest.mark.parametrize("path, value, expected", [
    ("data__bars", 10**9, "data.bars: must be in [2, 10,000,000] (bars per symbol), was 1000000000"),
    ("data__frequency", "1ns", "data.frequency: must be at least 1 s, was '1ns'"),
    ("execution_engine", {"type": "processes", "workers": 1000}, "execution_engine.workers: must be in [1, 256]"),
    ("trading_systems__0__indicators", ["SMA_1000000"],
     "trading_systems[0].indicators[0].period: must be in [2, 100,000] (TA-Lib's range), was 1000000"),
    ("trading_systems__0__risk__lot_size", 1e-300, "trading_systems[0].risk.lot_size: must be 0 (any fraction) or "
                                                   "in [1e-09, 1e+09], was 1e-300"),
    ("trading_systems__0__risk__lot_size", 1e12, "trading_systems[0].risk.lot_size: must be 0 (any fraction) or "
                                                 "in [1e-09, 1e+09], was 1000000000000.0"),
    ("trading_systems__0__portfolio__initial_capital", 1e300, "trading_systems[0].portfolio.initial_capital: must "
                                                              "be > 0 and at most 10,000,000,000,000, was 1e+300"),
])
def test_every_number_that_sizes_work_is_bounded_and_the_bound_named(path, value, expected, registry, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(entry_with(**{path: value}))
    with pytest.raises(ConfigErrors) as caught:
        load_config(config, registry)
    [error] = caught.value.errors
    assert str(error).startswith(expected), str(error)

"""Fuzzing the inputs a user hands over: any YAML document and any CSV bytes end in a result or in a
MultifolioError (exit 2 in the CLI), never another exception (a traceback); a whole run ends in exit 0,
2 or 3 with nothing written outside its run folder. Every example runs under a memory cap."""

from __future__ import annotations

import copy
import os
import resource
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from multifolio.cli import cli
from multifolio.config.registry import PluginRegistry
from multifolio.errors import MultifolioError
from multifolio.running.run import build_container, load_config
from tests.builders import backtest_config, checked, system_config

REGISTRY = PluginRegistry()
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True),
                    st.text(max_size=12), st.sampled_from(["SMA_5", "RSI", "fixed", "1e6", "csv", "NA", "-1"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                      max_leaves=12)
MEMORY_CAP = 2 * 2**30  # bytes of address space an example may add: an alias bomb or a 10⁹-bar ask needs far more


@contextmanager
def memory_cap(extra: int = MEMORY_CAP) -> Iterator[None]:
    """Address space limited to what the process holds now plus `extra`: an input that asks for unbounded
    memory fails the example with a MemoryError instead of swapping the machine."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as statm:
        held = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    cap = held + extra if hard == resource.RLIM_INFINITY else min(held + extra, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@pytest.fixture(autouse=True)
def capped() -> Iterator[None]:
    with memory_cap():
        yield


BASE = backtest_config(system_config("alpha", strategy={"type": "sma_crossover",
                                                        "parameters": {"fast_period": 3, "slow_period": 8}}),
                       data={"source": "synthetic", "symbols": ["SPY"], "bars": 60, "seed": 1})
# every place a value sits in a valid config, as a path of keys and indices
PLACES = [("data",), ("data", "bars"), ("data", "symbols"), ("trading_systems",), ("trading_systems", 0),
          ("trading_systems", 0, "name"), ("trading_systems", 0, "portfolio"),
          ("trading_systems", 0, "portfolio", "initial_capital"), ("trading_systems", 0, "strategy"),
          ("trading_systems", 0, "strategy", "parameters"), ("trading_systems", 0, "strategy", "parameters",
                                                            "fast_period"),
          ("trading_systems", 0, "risk", "position_sizers"), ("trading_systems", 0, "risk", "position_sizers", 0),
          ("trading_systems", 0, "indicators"), ("trading_systems", 0, "execution"),
          ("trading_systems", 0, "sweep"), ("trading_systems", 0, "constraint"), ("reporting",),
          ("reporting", "sweep_metric"), ("execution_engine",), ("workflow",), ("extra",)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                    HealthCheck.function_scoped_fixture])
@given(changes=st.lists(st.tuples(st.sampled_from(PLACES), VALUES), min_size=1, max_size=3))
def test_any_document_is_checked_into_a_config_or_a_config_error(changes, tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(changed(BASE, changes), allow_unicode=True))
    with suppress(MultifolioError):
        load_config(path, REGISTRY)


def changed(base: dict, changes: list[tuple[tuple, object]]) -> dict:
    """`base` with each value put at its place (where the place still exists)."""
    document = copy.deepcopy(base)
    for place, value in changes:
        target = document
        for step in place[:-1]:
            try:
                target = target[step]
            except (KeyError, IndexError, TypeError):
                break
        else:
            if isinstance(target, dict) or (isinstance(target, list) and isinstance(place[-1], int)
                                            and place[-1] < len(target)):
                target[place[-1]] = value
    return document


CSV = ("timestamp,symbol,open,high,low,close,volume\n"
       + "".join(f"2024-01-02 09:{30 + i:02d},SPY,{10 + i},{11 + i},{9 + i},{10.5 + i},100\n" for i in range(8)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                    HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.tuples(st.integers(0, len(CSV)), st.integers(0, 6), st.binary(max_size=6)), max_size=4))
def test_any_csv_bytes_load_as_bars_or_end_in_a_data_error(cuts, tmp_path):
    path = tmp_path / "bars.csv"
    path.write_bytes(cut(CSV.encode(), cuts))
    config = checked(backtest_config(system_config(), data={"source": "csv", "symbols": ["SPY"],
                                                            "file_path": str(path)}), REGISTRY)
    with suppress(MultifolioError):
        build_container(config, REGISTRY).data.market()


CUTS = st.lists(st.tuples(st.integers(0, len(CSV)), st.integers(0, 6), st.binary(max_size=6)), max_size=4)


def cut(content: bytes, cuts: list[tuple[int, int, bytes]]) -> bytes:
    """Delete a few bytes and insert arbitrary ones, here and there."""
    for at, removed, inserted in cuts:
        content = content[:at] + inserted + content[at + removed:]
    return content


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
# one change at most to each input, so that runs which get past validation are common too
@given(changes=st.lists(st.tuples(st.sampled_from(PLACES), VALUES), max_size=1), cuts=CUTS.map(lambda all_: all_[:1]))
def test_a_whole_run_on_any_input_exits_0_2_or_3_and_writes_only_into_its_run_folder(changes, cuts, tmp_path_factory):
    home = tmp_path_factory.mktemp("fuzz")
    (home / "bars.csv").write_bytes(cut(CSV.encode(), cuts))
    base = {**BASE, "data": {"source": "csv", "symbols": ["SPY"], "file_path": "bars.csv"},
            "reporting": {"output_dir": "results", "separate_reports": False}}
    (home / "config.yaml").write_text(yaml.safe_dump(changed(base, changes), allow_unicode=True))
    before = set(home.rglob("*"))
    cwd = Path.cwd()
    os.chdir(home)  # relative paths in the document resolve here, as for a user in their project folder
    try:
        result = CliRunner().invoke(cli, ["run", "config.yaml", "--quiet"], catch_exceptions=True)
    finally:
        os.chdir(cwd)
    assert result.exit_code in (0, 2, 3), (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    for path in set(home.rglob("*")) - before:
        # every new file lies in a run folder (one holding manifest.json), or is such a folder's parent
        assert path.is_dir() or any((folder / "manifest.json").is_file() for folder in path.parents
                                    if folder.is_relative_to(home)), path

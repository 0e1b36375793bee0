"""Fuzzing the inputs a user hands over: any YAML document and any CSV bytes end in a result or in a
MultifolioError (exit 2 in the CLI), never another exception (a traceback)."""

from __future__ import annotations

import copy

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    document = copy.deepcopy(BASE)
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
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    try:
        load_config(path, REGISTRY)
    except MultifolioError:
        pass


CSV = ("timestamp,symbol,open,high,low,close,volume\n"
       + "".join(f"2024-01-02 09:{30 + i:02d},SPY,{10 + i},{11 + i},{9 + i},{10.5 + i},100\n" for i in range(8)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                    HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.tuples(st.integers(0, len(CSV)), st.integers(0, 6), st.binary(max_size=6)), max_size=4))
def test_any_csv_bytes_load_as_bars_or_end_in_a_data_error(cuts, tmp_path):
    content = CSV.encode()
    for at, removed, inserted in cuts:  # delete a few bytes and insert arbitrary ones, here and there
        content = content[:at] + inserted + content[at + removed:]
    path = tmp_path / "bars.csv"
    path.write_bytes(content)
    config = checked(backtest_config(system_config(), data={"source": "csv", "symbols": ["SPY"],
                                                            "file_path": str(path)}), REGISTRY)
    try:
        build_container(config, REGISTRY).data.market()
    except MultifolioError:
        pass

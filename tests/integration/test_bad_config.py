"""Every config mistake a user can make ends with its key path, what was found, what is expected,
and exit code 2 without a traceback (driven through the CLI, as a user meets it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.builders import backtest_config, system_config
from tests.integration.cli import multifolio

pytestmark = pytest.mark.slow  # each test runs `multifolio` in a subprocess

REPO = Path(__file__).resolve().parents[2]


def refused(tmp_path: Path, text: str) -> list[str]:
    """The error lines `multifolio validate` prints for a config file holding `text`."""
    path = tmp_path / "config.yaml"
    path.write_text(text)
    done = multifolio("validate", str(path), cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    count = len(lines) - 1
    assert lines[0] == f"error: {count} configuration error{'s' if count > 1 else ''} in {path}:"
    return [line.strip() for line in lines[1:]]


def document_with(**changes) -> str:
    document = backtest_config(system_config("alpha"), system_config("beta"))
    for path, value in changes.items():
        target = document
        *parents, leaf = path.split("__")
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        target[leaf] = value
    return yaml.safe_dump(document, sort_keys=False)


@pytest.mark.parametrize("text, expected", [
    ("data: {source: synthetic\ntrading_systems: []\n", ":2:16: invalid YAML: expected ',' or '}', but got ':'"),
    ("", "the file is empty; expected a mapping with `data` and `trading_systems`"),
    ("- data\n- trading_systems\n", "the top level is a list; expected a mapping with `data` and `trading_systems`"),
    ("data: {source: synthetic, symbols: [SPY]}\ndata: {source: csv}\n",
     ":2:1: invalid YAML: duplicate key 'data' (first given at line 1); remove one of them"),
])
def test_broken_files_are_refused_with_line_and_column(tmp_path, text, expected):
    [line] = refused(tmp_path, text)
    assert line.endswith(expected), line


def test_python_tags_are_refused_and_never_executed(tmp_path):
    marker = tmp_path / "executed"
    [line] = refused(tmp_path, f"data: !!python/object/apply:os.system ['touch {marker}']\n")
    assert "could not determine a constructor for the tag 'tag:yaml.org,2002:python/object/apply:os.system'" in line
    assert line.endswith("tags are not allowed in a multifolio config")
    assert not marker.exists()


@pytest.mark.parametrize("value, expected", [
    ("NO", "data.symbols: expected a list, found a boolean"),  # YAML 1.1 reads NO as false
    ("MSFT", "data.symbols: expected a list, found a string"),  # never ['M', 'S', 'F', 'T']
    ("[SPY, NO]", "data.symbols[1]: expected a string, found False"),
])
def test_yaml_11_traps_in_symbols_are_refused(tmp_path, value, expected):
    text = document_with().replace("symbols:\n  - SPY", f"symbols: {value}")
    assert refused(tmp_path, text) == [expected]


def test_a_number_yaml_reads_as_a_string_is_converted(tmp_path):
    text = document_with().replace("initial_capital: 10000", "initial_capital: 1e6")
    path = tmp_path / "config.yaml"
    path.write_text(text)
    done = multifolio("validate", str(path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "- alpha (namespace alpha), capital 1,000,000.00" in done.stdout


@pytest.mark.parametrize("changes, expected", [
    ({"trading_systems__0__portfolio__initial_captal": 5},
     "trading_systems[0].portfolio.initial_captal: unknown key; known: active, close_at_end, initial_capital, "
     "min_equity, namespace (did you mean initial_capital?)"),
    ({"trading_systems__1__portfolio__initial_capital": "much"},
     "trading_systems[1].portfolio.initial_capital: expected a number, found 'much'"),
    ({"trading_systems__1__portfolio__initial_capital": -5},
     "trading_systems[1].portfolio.initial_capital: must be > 0 and at most 10,000,000,000,000, was -5.0"),
    ({"trading_systems__0__portfolio__initial_capital": 0},
     "trading_systems[0].portfolio.initial_capital: must be > 0 and at most 10,000,000,000,000, was 0.0"),
    ({"trading_systems__0__risk__position_sizers": [{"type": "percentage", "size": 1.5}]},
     "trading_systems[0].risk.position_sizers[0].size: must be a fraction of equity in (0, 1], was 1.5"),
    ({"trading_systems__0__risk__position_sizers": [{"type": "percentage", "size": 0}]},
     "trading_systems[0].risk.position_sizers[0].size: must be a fraction of equity in (0, 1], was 0.0"),
    ({"trading_systems__0__strategy": {"type": "sma_crossover", "parameters": {"fast_period": 30,
                                                                              "slow_period": 30}}},
     "trading_systems[0].strategy.parameters.slow_period: must be greater than fast_period (30), was 30"),
    ({"trading_systems__1__risk__limits": [{"type": "max_exposure", "value": 1}]},
     "trading_systems[1].risk.limits[0].type: unknown risk limit 'max_exposure'; known: daily_loss, max_drawdown, max_position_value, "
     "max_total_exposure (did you mean max_total_exposure?)"),
    ({"trading_systems__1__name": "alpha"},
     "trading_systems[1].name: 'alpha' is already used by trading_systems[0] (names must differ ignoring "
     "case: they become folder names)"),
    ({"trading_systems__1__portfolio__namespace": "ALPHA"},
     "trading_systems[1].portfolio.namespace: 'ALPHA' is already used by trading_systems[0] (names must differ "
     "ignoring case: they become folder names)"),
    ({"data__on_invalid": "skip"}, "data.on_invalid: unknown choice 'skip'; expected one of error, drop"),
    ({"data__timezone": "Mars/Olympus"},
     "data.timezone: unknown time zone 'Mars/Olympus'; expected an IANA name such as America/New_York or UTC"),
])
def test_each_mistake_names_its_key_path(tmp_path, changes, expected):
    assert refused(tmp_path, document_with(**changes)) == [expected]


@pytest.mark.parametrize("name", ["../x", "a/b", "", "."])
def test_names_that_could_leave_the_output_folder_are_refused(tmp_path, name):
    errors = refused(tmp_path, document_with(trading_systems__0__name=name,
                                             trading_systems__0__portfolio__namespace=name))
    assert errors[0] == (f"trading_systems[0].name: {name!r} is not safe as a folder name; use letters, digits, "
                         "'_', '-' and '.', starting with a letter or digit")
    assert not (tmp_path / "x").exists() and not (tmp_path / "results").exists()


def test_every_error_of_a_file_is_reported_at_once(tmp_path):
    errors = refused(tmp_path, document_with(
        trading_systems__0__portfolio__initial_capital=0, trading_systems__1__name="Alpha",
        trading_systems__1__strategy={"type": "momentun"}))
    assert errors == [
        "trading_systems[0].portfolio.initial_capital: must be > 0 and at most 10,000,000,000,000, was 0.0",
        "trading_systems[1].name: 'Alpha' is already used by trading_systems[0] (names must differ ignoring "
        "case: they become folder names)",
        "trading_systems[1].strategy.type: unknown strategy 'momentun'; known: buy_and_hold, mean_reversion, "
        "momentum, pairs, rotation, sma_crossover (did you mean momentum?)",
    ]


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path):
    done = multifolio("run", str(REPO / "configs" / "dual_portfolio_backtest.yaml"), "--dry-run", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "data: synthetic 20000 bars of 1min (index model, seed 7): 20,000 bars of SPY" in done.stdout
    assert "    strategy    momentum(lookback_period=20, momentum_threshold=0.0002)" in done.stdout
    assert "    indicators  BB_20_2.upper, BB_20_2.middle, BB_20_2.lower, RSI_14, BB_20_1.upper" in done.stdout
    assert "    costs       slippage bps(bps=5.0); commission per_share(rate=0.005)" in done.stdout
    assert "output: results/dual_portfolio_test" in done.stdout
    assert not (tmp_path / "results").exists()


def test_schema_describes_every_config_and_rejects_an_unknown_plugin(tmp_path):
    import jsonschema
    done = multifolio("schema", cwd=tmp_path)
    assert done.returncode == 0
    schema = json.loads(done.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    for path in sorted((REPO / "configs").glob("*.yaml")):
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)
    document = backtest_config(system_config(strategy={"type": "momentun"}))
    with pytest.raises(jsonschema.ValidationError, match="'momentun' is not one of"):
        jsonschema.validate(document, schema)
    assert schema["properties"]["trading_systems"]["items"]["additionalProperties"] is False

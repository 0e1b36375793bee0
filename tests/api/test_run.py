"""`multifolio.run` from Python: a config as a path, YAML text or a dict; bars as DataFrames; plugin classes
handed over in code; a Result of frames that are exactly what the files hold; files only when asked."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
import yaml

import multifolio
from multifolio.config.registry import PluginKind
from multifolio.errors import ConfigErrors
from multifolio.protocols import BarClosed, DataError, Direction, IndicatorValues, Strategy
from multifolio.reports.html import _figures_script
from multifolio.testing import bars_from_closes
from tests.builders import backtest_config, files_of, system_config

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "configs" / "tiny_sma_crossover.yaml"


class Contrarian(Strategy):
    """Long after a down close, flat after an up close: a strategy a notebook would define."""

    def __init__(self, *, hold: bool = False) -> None:
        self.hold = hold
        self.last: dict[str, float] = {}

    def on_bar(self, bar: BarClosed, values: IndicatorValues) -> Direction | None:
        previous, self.last[bar.symbol] = self.last.get(bar.symbol), bar.close
        if previous is None or self.hold:
            return None
        return Direction.LONG if bar.close < previous else Direction.FLAT


def test_a_path_yaml_text_and_a_dict_give_the_same_result(monkeypatch):
    text = TINY.read_text()
    monkeypatch.chdir(REPO)  # a file's relative data path is read from the file's folder, wherever one runs
    results = [multifolio.run(TINY), multifolio.run(str(TINY))]
    monkeypatch.chdir(TINY.parent)  # text and a dict have no folder: theirs is read from the working directory
    results += [multifolio.run(text), multifolio.run(yaml.safe_load(text))]
    for result in results[1:]:
        pd.testing.assert_frame_equal(result.systems["crossover"].trades, results[0].systems["crossover"].trades)
        pd.testing.assert_frame_equal(result.summary, results[0].summary)
    # the hand-computed run of the config's comment: long 10 from 101 to 99, 0.50 a share each way
    assert results[0].systems["crossover"].metrics["final_equity"] == 9970.0
    assert results[0].systems["crossover"].trades[["entry_price", "exit_price", "net_pnl"]].values.tolist() == [
        [101.0, 99.0, -30.0]]


def test_nothing_is_written_without_an_output_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the config's output_dir is relative: `results` here
    result = multifolio.run(backtest_config(system_config()))
    assert result.folder is None and result.status == "completed"
    assert list(tmp_path.iterdir()) == []


def test_write_gives_the_bytes_of_a_run_that_wrote_as_it_went(tmp_path):
    document = yaml.safe_load((REPO / "configs" / "portfolio_example.yaml").read_text())
    written = multifolio.run(document, output_dir=tmp_path / "direct")
    later = multifolio.run(document)
    folder = later.write(tmp_path / "later")
    assert folder == later.folder == tmp_path / "later" / "portfolio_example"
    assert written.folder == tmp_path / "direct" / "portfolio_example"
    direct, afterwards = files_of(written.folder), files_of(folder)
    assert "transfers.csv" in direct and "combined_summary.html" in direct and "trend/report.html" in direct
    assert afterwards == direct


def test_the_frames_are_what_the_files_hold(tmp_path):
    result = multifolio.run(REPO / "configs" / "portfolio_example.yaml", output_dir=tmp_path)
    for name, system in result.systems.items():
        folder = result.folder / name
        for table in ("trades", "orders", "equity"):  # the frame, written as the run writes it: the file's bytes
            frame = getattr(system, table)
            assert frame.to_csv(index=False, lineterminator="\n") == (folder / f"{table}.csv").read_text()
        performance = json.loads((folder / "performance.json").read_text())["metrics"]
        assert system.metrics.dropna().to_dict() == {key: value for key, value in performance.items()
                                                     if value is not None}
    combined = pd.read_csv(result.folder / "combined_equity.csv", index_col="timestamp", parse_dates=True)
    pd.testing.assert_frame_equal(result.combined_equity, combined, check_freq=False, check_index_type=False,
                                  check_exact=True)
    summary = json.loads((result.folder / "combined_summary.json").read_text())
    assert result.correlation.to_dict() == summary["correlation"]["bar"]
    assert list(result.summary.index) == [*result.systems, "combined"]
    assert result.summary.loc["combined", "final_equity"] == summary["combined"]["final_equity"]
    for table, file in (("transfers", "transfers.csv"), ("rebalances", "allocation.csv"),
                        ("book_events", "book_events.csv")):
        assert getattr(result, table).to_csv(index=False, lineterminator="\n") == (result.folder / file).read_text()
    assert len(result.transfers) > 0 and len(result.rebalances) > 0


def test_positions_are_the_fills_summed_at_every_bar():
    result = multifolio.run(REPO / "configs" / "portfolio_example.yaml")
    for system in result.systems.values():
        orders = system.orders[system.orders["filled"].fillna(0) != 0]
        assert set(system.positions.columns) == set(orders["symbol"])
        for symbol, fills in orders.groupby("symbol"):
            held = fills.groupby("fill_time")["filled"].sum().cumsum()
            at_fills = system.positions[symbol].reindex(held.index)
            np.testing.assert_allclose(at_fills.to_numpy(), held.to_numpy(), atol=1e-9)
        assert len(system.positions) == len(system.equity)
        last = system.positions.iloc[-1]
        assert {symbol: quantity for symbol, quantity in last.items() if quantity} == \
            result._outcome.results[list(result.systems).index(system.name)].open_positions


def test_the_figures_are_the_reports_own(tmp_path):
    """The figures a notebook gets are the ones the HTML pages embed, number for number."""
    result = multifolio.run(REPO / "configs" / "portfolio_example.yaml", output_dir=tmp_path)
    page = (result.folder / "combined_summary.html").read_text()
    assert _figures_script({f"fig-{key}": figure for key, figure in result.figures().items()}) in page
    assert set(result.figures()) == {"equities", "equities-normalised", "drawdowns", "book", "correlation-bar",
                                     "correlation-daily", "allocation"}
    for name, system in result.systems.items():
        report = (result.folder / name / "report.html").read_text()
        assert _figures_script({f"fig-{key}": figure for key, figure in system.figures().items()}) in report
    chart = result.plot()
    assert isinstance(chart, go.Figure) and {trace.name for trace in chart.data} >= set(result.systems)
    assert isinstance(result.systems["trend"].plot("periods"), go.Figure)
    with pytest.raises(KeyError, match="no figure 'nope'; expected one of equity, price-0"):
        result.systems["trend"].plot("nope")


def test_a_notebook_shows_a_compact_table():
    result = multifolio.run(REPO / "configs" / "portfolio_example.yaml")
    page = result._repr_html_()
    assert page.count("<tr><th>") == 1 + len(result.systems) + 1  # the head, the systems, the combined book
    final = result.systems["trend"].metrics["final_equity"]
    assert f"{final:,.2f}" in page and "Final equity" in page
    assert "<multifolio.Result 'Portfolio Example': completed, 3 systems>" == repr(result)


def test_bars_given_as_a_frame_trade_as_the_same_bars_read_from_a_file(tmp_path):
    """backtesting.py's GOOG frame (capitalised columns, a DatetimeIndex) against the same rows as a CSV."""
    from backtesting.test import GOOG as goog

    csv = tmp_path / "GOOG.csv"
    goog.to_csv(csv)
    system = system_config("sma", strategy={"type": "sma_crossover",
                                            "parameters": {"fast_period": 10, "slow_period": 30}})
    from_file = multifolio.run(backtest_config(system, data={"source": "csv", "file_path": str(csv),
                                                             "symbols": ["GOOG"]}))
    given = {"one symbol's frame": goog,
             "a dict": {"GOOG": goog},
             "long form": goog.rename_axis("Date").reset_index().assign(Symbol="GOOG")}
    config = backtest_config(system, data={"symbols": ["GOOG"]})
    for form, frame in given.items():
        result = multifolio.run(config, data=frame)
        pd.testing.assert_frame_equal(result.systems["sma"].trades, from_file.systems["sma"].trades, obj=form)
        pd.testing.assert_frame_equal(result.systems["sma"].equity, from_file.systems["sma"].equity, obj=form)
    assert len(from_file.systems["sma"].trades) > 20


def test_given_bars_select_the_configs_symbols_or_bring_their_own():
    both = pd.concat([bars_from_closes([100, 101, 99, 102, 98], "AAA"), bars_from_closes([50, 49, 51, 48, 52], "BBB")])
    system = system_config(strategy={"type": "contrarian"})
    plugins = {"strategies": {"contrarian": Contrarian}}
    every = multifolio.run({"trading_systems": [system]}, data=both, plugins=plugins)
    assert every._outcome.market.symbols == ("AAA", "BBB")
    only = multifolio.run({"data": {"symbols": ["BBB"]}, "trading_systems": [system]}, data=both, plugins=plugins)
    assert only._outcome.market.symbols == ("BBB",)
    # long after each down close, flat after each up close, filled at the next open: BBB falls at bars 1 and 3,
    # rises at 2 and 4; the last long, bought at bar 4's open, is still held at the end
    assert only.systems["alpha"].trades[["entry_time", "exit_time"]].astype(str).values.tolist() == [
        ["2024-01-02 09:32:00", "2024-01-02 09:33:00"]]
    assert only.systems["alpha"].positions["BBB"].tolist() == [0, 0, 10, 0, 10]


def test_a_class_defined_here_is_used_by_its_name():
    document = backtest_config(system_config("mine", strategy={"type": "contrarian"}),
                               system_config("theirs", strategy={"type": "sma_crossover",
                                                                 "parameters": {"fast_period": 5, "slow_period": 20}}))
    result = multifolio.run(document, plugins={"strategies": {"contrarian": Contrarian}})
    assert result.status == "completed" and result.systems["mine"].metrics["num_trades"] > 10
    manifest_origin = result._outcome.registry.origin(PluginKind.STRATEGY, "contrarian")
    assert manifest_origin == "given in code (tests.api.test_run:Contrarian)"


@pytest.mark.parametrize(("plugins", "path", "message"), [
    ({"strategies": {"momentum": Contrarian}}, "plugins.strategies.momentum",
     "strategy 'momentum' is already installed (multifolio "),
    ({"strategies": {"mine": Contrarian()}}, "plugins.strategies.mine",
     "expected a subclass of multifolio.protocols.Strategy (the class itself, not an instance), found a "
     "Contrarian instance"),
    ({"indicators": {"mine": Contrarian}}, "plugins.indicators.mine",
     "expected a subclass of multifolio.protocols.Indicator"),
    ({"strategy": {"mine": Contrarian}}, "plugins.strategy", "unknown kind of plugin; known: allocators, commissions, controllers, data_sources, exits, "
     "indicators, risk_limits, sizers, slippage, strategies (did you mean strategies?)"),
])
def test_bad_plugins_are_refused_at_their_key(plugins, path, message):
    with pytest.raises(ConfigErrors) as raised:
        multifolio.run(backtest_config(), plugins=plugins)
    [error] = raised.value.errors
    assert error.path == path and error.message.startswith(message)


def test_config_problems_are_raised_with_their_key_paths_and_nothing_is_printed(capsys):
    document = backtest_config(system_config(strategy={"type": "momentm"}), system_config("beta", capital=-5))
    with pytest.raises(ConfigErrors) as raised:
        multifolio.run(document)
    assert [error.path for error in raised.value.errors] == ["trading_systems[0].strategy.type",
                                                             "trading_systems[1].portfolio.initial_capital"]
    assert raised.value.errors[0].message.endswith("(did you mean momentum?)")
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize(("config", "message"), [
    (str(REPO / "configs" / "no_such.yaml"), "config file not found: "),
    ("data: [unclosed", "<config text>:1:"),
    (42, "expected a config file's path, YAML text or a dict, found a int"),
])
def test_a_config_that_is_not_one_says_what_it_is(config, message):
    with pytest.raises(ConfigErrors, match=None) as raised:
        multifolio.run(config)
    assert message in str(raised.value)


@pytest.mark.parametrize(("data", "message"), [
    ([1, 2], "data: expected a DataFrame of bars or a mapping of symbols to DataFrames, found a list"),
    ({}, "found an empty mapping"),
    (pd.DataFrame({"close": [1.0]}), "data: missing open, high, low, volume, a time (found columns: close)"),
    (pd.concat([bars_from_closes([1, 2], "A"), bars_from_closes([1, 2], "B")]).drop(columns="symbol"),
     "data: has no symbol column, so its symbol must be named"),
])
def test_bad_bars_are_refused_at_data(data, message):
    with pytest.raises(ConfigErrors) as raised:
        multifolio.run(backtest_config(data={"symbols": ["A", "B"]}), data=data)
    assert message in str(raised.value)


def test_bars_that_break_a_rule_are_refused_as_a_files_would_be():
    bars = bars_from_closes([100, 101, 102], "SPY")
    bars.loc[1, "high"] = 1.0
    with pytest.raises(DataError, match=r"^the DataFrame given as data \(3 rows\) row 2: high is below max\(open, close\); fix the data, "):
        multifolio.run(backtest_config(), data=bars)


def test_a_failing_system_fails_alone_and_says_why():
    class Broken(Strategy):
        def on_bar(self, bar, values):
            raise ZeroDivisionError("the strategy's own bug")

    document = backtest_config(system_config("broken", strategy={"type": "broken"}), system_config("fine"))
    result = multifolio.run(document, plugins={"strategies": {"broken": Broken}})
    assert result.status == "failed"
    assert result.systems["broken"].status == "failed" and "ZeroDivisionError" in result.systems["broken"].error
    assert result.systems["fine"].status == "completed" and list(result.summary.index) == ["fine", "combined"]
    with pytest.raises(ValueError, match="broken failed .failed at bar 0"):
        result.systems["broken"].figures()


def test_a_run_can_be_stopped_from_python():
    calls = []
    backtest = multifolio.load(backtest_config(system_config(), data={"source": "synthetic", "symbols": ["SPY"],
                                                                      "bars": 5000}))
    result = backtest.run(progress=lambda done, total: calls.append((done, total)), stop_requested=lambda: bool(calls))
    assert result.status == "interrupted" and result.systems["alpha"].status == "interrupted"
    assert calls == [(1000, 5000)] and len(result.systems["alpha"].equity) == 1000


def test_load_checks_and_plans_without_running(tmp_path):
    backtest = multifolio.load(REPO / "configs" / "sweep_example.yaml")
    assert len(backtest.systems) == 8 and backtest.systems[0] == "sma.fast_period-5.slow_period-20"
    plan = backtest.plan(tmp_path)
    assert plan[0].startswith("sma: 8 systems") or any("8" in line for line in plan[:2])
    assert f"output: {tmp_path / 'sma_sweep'}" in plan


@pytest.mark.slow
def test_a_class_from_a_module_reaches_worker_processes_and_one_from_main_is_refused(tmp_path):
    document = backtest_config(system_config("mine", strategy={"type": "contrarian"}),
                               system_config("other", strategy={"type": "contrarian"}))
    serial = multifolio.run(document, plugins={"strategies": {"contrarian": Contrarian}})
    parallel = multifolio.run(document, plugins={"strategies": {"contrarian": Contrarian}}, executor="processes",
                              workers=2)
    for name in ("mine", "other"):
        pd.testing.assert_frame_equal(parallel.systems[name].trades, serial.systems[name].trades)
    in_main = type("InMain", (Contrarian,), {"__module__": "__main__"})
    with pytest.raises(ConfigErrors, match="plugins.strategies.contrarian: InMain is defined in a notebook or a "
                                           "script, where worker processes cannot import it"):
        multifolio.run(document, plugins={"strategies": {"contrarian": in_main}}, executor="processes", workers=2)


def test_the_dataframe_source_is_named_in_the_manifest(tmp_path):
    result = multifolio.run(backtest_config(), data=bars_from_closes(np.linspace(100, 110, 50)), output_dir=tmp_path)
    manifest = json.loads((result.folder / "manifest.json").read_text())
    assert manifest["data"]["source"] == "dataframe"
    assert manifest["data"]["description"] == "the DataFrame given as data (50 rows)"
    assert manifest["data"]["files"] == []
    assert manifest["plugins"]["multifolio.data_sources:dataframe"].startswith(
        "given in code (multifolio.data.given:frames_source.<locals>.GivenFrames)")


def test_a_shipped_tiny_config_runs_from_any_folder(in_tmp):
    """Its data path is relative to the config file's folder, not to where it is run from."""
    result = multifolio.run(TINY)
    assert result.systems["crossover"].metrics["final_equity"] == 9970.0
    assert multifolio.load(TINY).config.data.folder == str(TINY.parent)

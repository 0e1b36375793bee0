"""Report files: written by the run, re-rendered byte for byte by `multifolio report`, deterministic."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from plotly.offline import get_plotlyjs

from multifolio.config.registry import PluginRegistry
from multifolio.reports import html
from multifolio.reports.analysis import MATRIX_SYSTEMS_LIMIT
from multifolio.reports.downsample import DISPLAY_POINTS, display_indices
from multifolio.reports.html import PLOTLY_FILE, SHOWN_SYSTEMS_LIMIT, config_items, metric_rows, render_combined
from multifolio.reports.opposing import PAIRS_LISTED_LIMIT
from multifolio.running.run import run_backtest
from tests.builders import checked
from tests.reports.conftest import report_config, run_report_config

MULTIFOLIO = Path(sys.executable).parent / "multifolio"
HTML = ("momentum_system/report.html", "mean_reversion_system/report.html", "combined_summary.html")


def html_files(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in HTML}


def test_run_writes_each_report_and_one_shared_plotly(report_run):
    folder = report_run.folder
    assert (folder / PLOTLY_FILE).read_text(encoding="utf-8") == get_plotlyjs()
    for name in HTML:
        text = (folder / name).read_text(encoding="utf-8")
        source = "../plotly.min.js" if "/" in name else "plotly.min.js"
        assert re.findall(r'<script src="([^"]*)"', text) == [source]  # the only file a page loads
        assert "cdn.plot.ly" not in text
        assert (folder / name).stat().st_size < 10_000_000


def test_the_same_run_twice_gives_byte_identical_html(report_run, tmp_path):
    again = run_report_config(tmp_path)
    assert html_files(again.folder) == html_files(report_run.folder)


@pytest.mark.slow  # runs `multifolio report` in a subprocess
def test_report_command_rerenders_the_same_bytes_from_the_saved_files(report_run, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(report_run.folder, copy)
    for name in (*HTML, PLOTLY_FILE):
        (copy / name).unlink()
    done = subprocess.run([str(MULTIFOLIO), "report", str(copy)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"wrote {copy / name}" for name in sorted(HTML[:2]) + [HTML[2]]]
    assert html_files(copy) == html_files(report_run.folder)
    assert (copy / PLOTLY_FILE).read_bytes() == (report_run.folder / PLOTLY_FILE).read_bytes()


@pytest.mark.slow  # runs `multifolio report` in a subprocess
def test_report_command_on_a_folder_without_results_says_what_it_expects(tmp_path):
    done = subprocess.run([str(MULTIFOLIO), "report", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr == (f"error: {tmp_path}: not a run's folder (no manifest.json, or nothing it lists to "
                           "render); expected a folder such as results/dual_portfolio_test\n")


def test_without_separate_reports_only_the_combined_summary_is_rendered(tmp_path):
    document = report_config(tmp_path)
    document["reporting"]["separate_reports"] = False
    registry = PluginRegistry()
    outcome = run_backtest(checked(document, registry), registry)
    written = {path.name for path in outcome.folder.iterdir()}
    assert {"combined_summary.html", "combined_summary.json", PLOTLY_FILE} <= written
    assert not any((outcome.folder / name).is_dir() for name in written) and "bars.parquet" not in written


def test_report_header_shows_the_systems_configuration(report_run):
    text = (report_run.folder / "momentum_system" / "report.html").read_text(encoding="utf-8")
    items = dict(config_items(report_run.results[0].spec.as_dict(), report_run.results[0].indicators))
    assert items == {
        "Strategy": "momentum(lookback_period=20, momentum_threshold=0.0002)", "Initial capital": "50,000.00",
        "Indicators": "SMA_20, RSI_14", "Position sizers": "fixed(size=1000.0)",
        "Risk limits": "max_position_value(value=5000.0)", "Lot size": "1", "Slippage": "bps(bps=5.0)",
        "Commission": "per_share(rate=0.005)", "Fills at": "next open",
        "At the end": "positions kept open, valued at the last close", "Namespace": "momentum"}
    for label, shown in items.items():
        assert f"<dt>{label}</dt><dd>{shown}</dd>" in text


def test_best_value_is_the_highest_or_lowest_by_the_figures_meaning():
    rows = {row["key"]: [cell["best"] for cell in row["cells"]] for row in metric_rows(
        {"a": {"sharpe": 1.0, "max_drawdown": -0.2, "total_commission": 5.0, "num_trades": 3},
         "b": {"sharpe": 2.0, "max_drawdown": -0.1, "total_commission": 7.0, "num_trades": 9},
         "book": {"sharpe": 9.0}}, ranked=["a", "b"])}
    assert rows == {"sharpe": [False, True, False], "max_drawdown": [False, True, False],
                    "num_trades": [False, False, False], "total_commission": [True, False, False]}


def test_downsampling_keeps_the_extremes_and_the_ends():
    rng = np.random.default_rng(3)
    values = np.cumsum(rng.normal(size=200_000))
    values[123_457] = values.max() + 50  # a one-bar spike a plain stride would miss
    kept = display_indices(values)
    assert len(kept) == DISPLAY_POINTS and np.all(np.diff(kept) > 0)
    assert {0, len(values) - 1, int(np.argmax(values)), int(np.argmin(values))} <= set(kept.tolist())
    assert display_indices(values[:DISPLAY_POINTS]).tolist() == list(range(DISPLAY_POINTS))


def test_indicators_saved_for_the_report_are_the_ones_the_system_used(report_run):
    import talib
    saved = pd.read_parquet(report_run.folder / "momentum_system" / "indicators.parquet")
    result = report_run.results[0]
    assert list(saved.columns) == ["timestamp", "symbol", *result.indicators]
    bars = pd.read_parquet(report_run.folder / "bars.parquet")
    assert len(bars) == len(saved) and (bars["timestamp"] == saved["timestamp"]).all()
    for symbol in ("SPY", "QQQ"):
        close = bars.loc[bars["symbol"] == symbol, "close"].to_numpy()
        mine = saved[saved["symbol"] == symbol]
        np.testing.assert_array_equal(mine["SMA_20"].to_numpy(), talib.SMA(close, 20))
        np.testing.assert_array_equal(mine["RSI_14"].to_numpy(), talib.RSI(close, 14))


def test_every_file_a_run_writes_beside_its_systems_is_a_name_no_system_may_take(report_run):
    from multifolio.config.checks import RUN_FILES

    beside = {path.name for path in report_run.folder.iterdir() if path.is_file()}
    assert beside <= set(RUN_FILES) and "manifest.json" in beside


def page_text(path: Path) -> str:
    return re.sub(r"\s+", " ", path.read_text(encoding="utf-8"))


def page_figures(path: Path) -> dict:
    return json.loads(re.search(r"const FIGURES = (\{.*\});\n", path.read_text(encoding="utf-8")).group(1))


def test_beyond_the_caps_the_summary_and_its_page_hold_the_first_systems_and_say_so(many_systems_run):
    folder = many_systems_run.folder
    names = [result.name for result in many_systems_run.results]
    summary = json.loads((folder / "combined_summary.json").read_text())
    correlation, opposing = summary["correlation"], summary["opposing_positions"]
    matrix, shown = names[:MATRIX_SYSTEMS_LIMIT], names[:SHOWN_SYSTEMS_LIMIT]
    assert correlation["matrix_systems"] == matrix == list(correlation["bar"]) == list(correlation["daily"])
    assert list(correlation["mean"]["bar"]) == names == list(correlation["mean"]["daily"])
    assert opposing["pairs_total"] == len(names) * (len(names) - 1) // 2
    assert opposing["pairs_with_any"] > PAIRS_LISTED_LIMIT == opposing["pairs_listed"] == len(opposing["pairs"])
    listed = [tuple(pair["systems"]) for pair in opposing["pairs"]]
    assert {tuple(period["systems"]) for period in opposing["periods"]} <= set(listed)
    assert len(opposing["periods"]) == opposing["periods_listed"] == opposing["periods_of_listed_pairs"]

    page = folder / "combined_summary.html"
    text = page_text(page)
    header = re.search(r'<table id="metrics" class="sticky-first"> <thead><tr>(.*?)</tr>', text).group(1)
    assert re.findall(r"<th>(.*?)</th>", header) == ["figure", *shown, "combined book"]
    figures = page_figures(page)
    assert [trace["name"] for trace in figures["fig-equities"]["data"]] == shown
    assert [trace["name"] for trace in figures["fig-drawdowns"]["data"]] == [*shown, "combined"]
    assert figures["fig-correlation-bar"]["data"][0]["x"] == matrix
    assert text.count('<tr data-system="') == len(names)  # a row per system, each with its mean correlation
    assert "every system's report is linked" not in text  # separate_reports: false, no report to link
    assert (f"This table and the equity and drawdown charts show the first {SHOWN_SYSTEMS_LIMIT} of the "
            f"{len(names)} systems (in config order)") in text
    assert (f"The correlation heatmaps (and the matrices in combined_summary.json) hold the first "
            f"{MATRIX_SYSTEMS_LIMIT} of the {len(names)} systems (in config order)") in text
    assert (f"{opposing['pairs_with_any']:,} of the {opposing['pairs_total']:,} pairs held opposite positions or "
            f"would have saved by netting; the {PAIRS_LISTED_LIMIT} with the most bars opposed (then the largest "
            f"saving) are listed, at most {PAIRS_LISTED_LIMIT}") in text


def test_the_page_lists_the_first_periods_and_says_where_the_others_are(many_systems_run, tmp_path, monkeypatch):
    for name in ("combined_summary.json", "combined_equity.csv"):
        shutil.copy(many_systems_run.folder / name, tmp_path / name)
    monkeypatch.setattr(html, "PERIOD_ROWS_LIMIT", 7)
    text = page_text(render_combined(tmp_path))
    periods = many_systems_run.summary["opposing_positions"]["periods_of_listed_pairs"]
    assert text.count("<tr><td>system_") - text.count("<tr><td>system_", text.index('id="opposing-periods"')) \
        == PAIRS_LISTED_LIMIT
    assert text[text.index('id="opposing-periods"'):].count("<tr><td>system_") == 7
    assert f"Periods of the pairs listed ({periods:,})" in text
    assert "The first 7 periods are listed (at most 7); combined_summary.json holds all of them." in text


def test_below_the_caps_the_page_shows_everything_and_states_no_cap(report_run):
    text = page_text(report_run.folder / "combined_summary.html")
    for note in ("shown-systems", "matrix-systems", "pairs-listed", "periods-listed"):
        assert f'id="{note}"' not in text
    assert "(★ best of the systems in each row)" in text


@pytest.mark.slow  # runs `multifolio report` in a subprocess
@pytest.mark.parametrize("older", ["summary", "trades"])
def test_report_on_results_of_another_version_says_so_and_exits_2(older, report_run, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(report_run.folder, copy)
    if older == "summary":  # the first version's combined_summary.json: no mean correlations, no caps
        path = copy / "combined_summary.json"
        summary = json.loads(path.read_text())
        del summary["correlation"]["mean"]
        path.write_text(json.dumps(summary))
        missing = "correlation.mean"
    else:  # the first version's trades.csv: no exit reasons
        path = copy / "momentum_system" / "trades.csv"
        pd.read_csv(path).drop(columns=["exit_reason"]).to_csv(path, index=False)
        missing = "exit_reason"
    done = subprocess.run([str(MULTIFOLIO), "report", str(copy)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert done.stderr == (f"error: {path}: written by another version of multifolio (it has no {missing}); run the "
                           "backtest again to render its report\n")


def test_an_indicator_is_drawn_over_the_price_only_when_it_follows_the_close():
    """Medians alone drew an RSI near 50 over a price near 100: the indicator must track the close bar by bar."""
    from multifolio.reports.charts import _overlays_price

    rng = np.random.default_rng(5)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 2000)))
    sma = pd.Series(close).rolling(20).mean().to_numpy()
    rsi_like = 50 + 15 * np.sin(np.arange(2000) / 7)  # within half of the close's level, moving on its own
    assert _overlays_price(sma, close)
    assert not _overlays_price(rsi_like, close)
    assert not _overlays_price(close * 0.02, close)  # an ATR: the close's shape, a fiftieth of its size
    assert _overlays_price(np.full(10, 100.0), np.full(10, 101.0))  # a flat price: its level alone decides


def test_the_figures_script_is_the_standard_librarys_json_whatever_is_installed(monkeypatch):
    """plotly serializes with orjson when it is installed, which writes non-ASCII text as it is (the standard
    library escapes it): the pages would differ from machine to machine. orjson, installed or not, is not used."""
    import plotly.graph_objects as go
    import plotly.io as pio

    figure = go.Figure(go.Scatter(x=[1.0, 2.5], y=[3.0, 4.0], name="é × ≤ </script>",
                                  customdata=np.array([["long entry", 1.5], ["exit", -2.0]], dtype=object)))
    expected = '{"fig-a":' + figure.to_json(engine="json") + "}"
    assert "\\u00e9 \\u00d7 \\u2264 \\u003c\\u002fscript\\u003e" in expected
    for engine in ("json", "auto", "orjson"):
        if engine == "orjson" and importlib.util.find_spec("orjson") is None:
            continue  # nothing else to choose
        monkeypatch.setattr(pio.json.config, "default_engine", engine)
        assert html._figures_script({"fig-a": figure}) == expected

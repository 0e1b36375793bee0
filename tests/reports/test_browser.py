"""Each report opened in headless Chromium: it renders offline, every chart holds the expected data."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from multifolio.config.registry import PluginRegistry
from multifolio.reports.analysis import MATRIX_SYSTEMS_LIMIT, correlations
from multifolio.reports.downsample import DISPLAY_POINTS
from multifolio.reports.html import PLOTLY_FILE, SHOWN_SYSTEMS_LIMIT, format_metric, metric_rows
from multifolio.running.run import run_backtest
from tests.builders import backtest_config, checked, system_config
from tests.reports.conftest import BARS

pytestmark = pytest.mark.slow  # opens the reports in chromium

DRAWN = min(BARS, DISPLAY_POINTS)
ALL_DRAWN = "() => [...document.querySelectorAll('.chart')].every(div => div._fullLayout && div._fullData)"
TRACES = """id => document.getElementById(id)._fullData.map(trace => ({
    type: trace.type, name: trace.name, points: trace.x ? trace.x.length : null, yaxis: trace.yaxis, mode: trace.mode,
    z: trace.z ? Array.from(trace.z, row => Array.from(row)) : null,
    y: trace.type === 'bar' ? Array.from(trace.y) : null}))"""
DRAWN_TRACES = "id => document.querySelectorAll(`#${id} .cartesianlayer .trace, #${id} .cartesianlayer .hm`).length"


class OpenedReport:
    """A report loaded in a fresh page, with what the page logged and requested on the way."""

    def __init__(self, browser, path: Path, screenshot: Path) -> None:
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page = browser.new_page(viewport={"width": 1400, "height": 900})
        self.page.on("console", lambda message: message.type in ("error", "warning")
                     and self.errors.append(f"{message.type}: {message.text}"))
        self.page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.goto(path.as_uri())
        self.page.wait_for_function(ALL_DRAWN)
        self.page.screenshot(path=screenshot, full_page=True)

    def traces(self, div: str) -> list[dict]:
        return self.page.evaluate(TRACES, div)

    def drawn(self, div: str) -> int:
        """SVG trace groups plotly actually drew in `div` (proof that it rendered, not just parsed)."""
        return self.page.evaluate(DRAWN_TRACES, div)

    def table_values(self, selector: str) -> dict[str, list[tuple[str, str]]]:
        """Row key → (data-value, shown text) of each value cell of a metrics table."""
        return self.page.evaluate("""selector => Object.fromEntries([...document.querySelectorAll(
            `${selector} tr[data-key]`)].map(row => [row.dataset.key, [...row.querySelectorAll('td[data-value]')]
            .map(cell => [cell.dataset.value, cell.textContent, cell.classList.contains('best')])]))""", selector)


def assert_offline_and_clean(report: OpenedReport, folder: Path) -> None:
    assert report.errors == []
    assert all(url.startswith("file://") for url in report.requests), report.requests
    assert folder.joinpath(PLOTLY_FILE).as_uri() in report.requests  # the shared copy, not a CDN


@pytest.fixture(scope="module")
def system_reports(report_run, browser, tmp_path_factory):
    shots = tmp_path_factory.mktemp("screenshots")
    opened = {}
    for result in report_run.results:
        opened[result.name] = OpenedReport(browser, report_run.folder / result.name / "report.html",
                                           shots / f"{result.name}.png")
    yield opened
    for report in opened.values():
        report.page.close()


@pytest.fixture(scope="module")
def combined_report(report_run, browser, tmp_path_factory):
    report = OpenedReport(browser, report_run.folder / "combined_summary.html",
                          tmp_path_factory.mktemp("screenshots") / "combined_summary.png")
    yield report
    report.page.close()


@pytest.mark.parametrize("name", ["momentum_system", "mean_reversion_system"])
def test_system_report_renders_offline_without_errors(system_reports, report_run, name):
    assert_offline_and_clean(system_reports[name], report_run.folder)
    assert Path(system_reports[name].page.url).name == "report.html"


@pytest.mark.parametrize("name", ["momentum_system", "mean_reversion_system"])
def test_system_report_charts_hold_the_runs_data(system_reports, report_run, name):
    report = system_reports[name]
    result = next(r for r in report_run.results if r.name == name)
    trades = result.trades

    equity = report.traces("fig-equity")
    assert [(t["name"], t["points"]) for t in equity] == [("equity", DRAWN), ("drawdown %", DRAWN)]
    assert report.drawn("fig-equity") == 2

    for number, symbol in enumerate(["QQQ", "SPY"]):  # traded symbols, sorted
        mine = trades[trades["symbol"] == symbol]
        price = report.traces(f"fig-price-{number}")
        lines = {t["name"]: (t["points"], t["yaxis"]) for t in price if t["mode"] == "lines"}
        # price-like indicators over the price, the others (RSI) in a panel of their own below
        assert lines == {f"{symbol} close": (DRAWN, "y"), "RSI_14": (DRAWN, "y2"),
                         **{key: (DRAWN, "y") for key in result.indicators if key != "RSI_14"}}
        markers = {t["name"]: t["points"] or 0 for t in price if t["name"] not in lines}
        assert markers == {"long entry": int((mine["side"] == "long").sum()),
                           "short entry": int((mine["side"] == "short").sum()), "exit": len(mine),
                           "open at the end": int((result.open_lots["symbol"] == symbol).sum())}
        assert report.drawn(f"fig-price-{number}") == sum(1 for t in price if t["points"])  # empty: not drawn

    (heatmap,) = report.traces("fig-periods")
    days = pd.DatetimeIndex(result.equity["timestamp"]).normalize().unique()
    filled = sum(1 for row in heatmap["z"] for value in row if value == value)  # NaN: no bar that day
    assert heatmap["type"] == "heatmap" and filled == len(days)  # one cell per trading day (intraday data)

    bars = report.traces("fig-trade-returns")
    assert [t["name"] for t in bars] == ["losing trades", "winning trades"]
    assert sum(bars[0]["y"]) == int((trades["return_pct"] <= 0).sum())
    assert sum(bars[1]["y"]) == int((trades["return_pct"] > 0).sum())


@pytest.mark.parametrize("name", ["momentum_system", "mean_reversion_system"])
def test_system_metrics_table_shows_performance_json(system_reports, report_run, name):
    metrics = json.loads((report_run.folder / name / "performance.json").read_text())["metrics"]
    shown = system_reports[name].table_values("#metrics")
    expected = {row["key"]: row["cells"][0] for row in metric_rows({"value": metrics})}
    assert set(shown) == set(metrics)  # every figure of performance.json has its row
    for key, [(value, text, _)] in shown.items():
        assert (float(value) if value else None) == metrics[key], key
        assert text == expected[key]["text"]
    assert shown["final_equity"][0][1] == format_metric(metrics["final_equity"], "money")


def test_trade_list_pages_through_every_trade(system_reports, report_run):
    report = system_reports["momentum_system"]
    trades = report_run.results[0].trades
    pages = -(-len(trades) // 100)
    first = report.page.locator("#trades tbody tr")
    assert first.count() == min(100, len(trades))
    assert report.page.text_content("#trades-page") == f"page 1 of {pages}"
    report.page.click("#trades-next")
    assert report.page.locator("#trades tbody tr").first.locator("td").first.text_content() == "101"
    row = trades.iloc[100]
    cells = report.page.locator("#trades tbody tr").first.locator("td").all_text_contents()
    assert cells[1:5] == [row["symbol"], row["side"], f"{row['quantity']:g}",
                          pd.Timestamp(row["entry_time"]).strftime("%Y-%m-%d %H:%M:%S")]
    assert cells[11:] == [row["exit_reason"], f"{row['mae'] * 100:.3f}%", f"{row['mfe'] * 100:.3f}%"]
    report.page.click("#trades-prev")
    assert report.page.text_content("#trades-page") == f"page 1 of {pages}"


def test_combined_report_renders_offline_without_errors(combined_report, report_run):
    assert_offline_and_clean(combined_report, report_run.folder)


def test_combined_charts_hold_every_system_and_the_book(combined_report, report_run):
    names = [r.name for r in report_run.results]
    shown = {div: [(t["name"], t["points"]) for t in combined_report.traces(div)]
             for div in ("fig-equities", "fig-equities-normalised", "fig-drawdowns", "fig-book")}
    assert shown == {
        "fig-equities": [(name, DRAWN) for name in names],
        "fig-equities-normalised": [(name, DRAWN) for name in [*names, "combined"]],
        "fig-drawdowns": [(name, DRAWN) for name in [*names, "combined"]],
        "fig-book": [("equity", DRAWN), ("drawdown %", DRAWN)],
    }
    summary = report_run.summary
    for div, frequency in (("fig-correlation-bar", "bar"), ("fig-correlation-daily", "daily")):
        (heatmap,) = combined_report.traces(div)
        assert heatmap["z"] == [[summary["correlation"][frequency][r][c] for c in names] for r in names]
        assert combined_report.drawn(div) == 1


def test_combined_metrics_table_marks_the_best_system_per_row(combined_report, report_run):
    summary = report_run.summary
    shown = combined_report.table_values("#metrics")
    names = [r.name for r in report_run.results]
    columns = {**summary["systems"], "combined": summary["combined"]}
    for key, cells in shown.items():
        assert [float(value) if value else None for value, _, _ in cells] == \
            [columns[column].get(key) for column in columns], key
    # the higher Sharpe wins, the lower commission wins; the combined book is never ranked
    sharpe = [summary["systems"][name]["sharpe"] for name in names]
    assert [best for _, _, best in shown["sharpe"]] == [s == max(sharpe) for s in sharpe] + [False]
    commission = [summary["systems"][name]["total_commission"] for name in names]
    assert [best for _, _, best in shown["total_commission"]] == [c == min(commission) for c in commission] + [False]


def test_combined_report_lists_the_opposing_periods(combined_report, report_run):
    periods = report_run.summary["opposing_positions"]["periods"]
    assert len(periods) > 0
    assert combined_report.page.locator("#opposing-periods tbody tr").count() == len(periods)
    assert combined_report.page.text_content("#netting-saving") == \
        format_metric(report_run.summary["opposing_positions"]["netting_saving"], "money")


def test_summary_correlations_match_the_equity_files(report_run):
    book = pd.read_csv(report_run.folder / "combined_equity.csv", parse_dates=["timestamp"])
    capital = {r.name: r.initial_capital for r in report_run.results}
    assert correlations(book, capital) == report_run.summary["correlation"]


def test_a_system_without_closed_trades_still_renders_every_chart(browser, tmp_path):
    """Buy and hold never closes a trade: empty markers, an empty histogram, one system in the summary."""
    registry = PluginRegistry()
    document = backtest_config(system_config("holder", indicators=["EMA_10"]), output_dir=tmp_path)
    outcome = run_backtest(checked(document, registry), registry)
    assert outcome.metrics["holder"]["num_trades"] == 0
    summary = OpenedReport(browser, outcome.folder / "combined_summary.html", tmp_path / "combined_summary.png")
    assert_offline_and_clean(summary, outcome.folder)
    summary.page.close()
    report = OpenedReport(browser, outcome.folder / "holder" / "report.html", tmp_path / "report.png")
    assert_offline_and_clean(report, outcome.folder)
    price = {t["name"]: t["points"] for t in report.traces("fig-price-0")}
    assert price == {"SPY close": 500, "EMA_10": 500, "long entry": 0, "short entry": 0, "exit": 0,
                     "open at the end": 1}
    assert report.traces("fig-trade-returns") == []
    assert report.page.locator("#trades tbody tr").count() == 0
    report.page.close()


def test_a_summary_beyond_the_caps_draws_the_first_systems_and_every_row(browser, many_systems_run, tmp_path):
    names = [result.name for result in many_systems_run.results]
    shown, matrix = names[:SHOWN_SYSTEMS_LIMIT], names[:MATRIX_SYSTEMS_LIMIT]
    report = OpenedReport(browser, many_systems_run.folder / "combined_summary.html", tmp_path / "many.png")
    assert_offline_and_clean(report, many_systems_run.folder)
    assert [t["name"] for t in report.traces("fig-equities")] == shown
    assert [t["name"] for t in report.traces("fig-equities-normalised")] == [*shown, "combined"]
    assert report.drawn("fig-drawdowns") == len(shown) + 1
    summary = many_systems_run.summary
    for div, frequency in (("fig-correlation-bar", "bar"), ("fig-correlation-daily", "daily")):
        (heatmap,) = report.traces(div)
        assert heatmap["z"] == [[summary["correlation"][frequency][r][c] for c in matrix] for r in matrix]
    sharpe = report.table_values("#metrics")["sharpe"]
    assert len(sharpe) == len(shown) + 1 and sharpe[-1][2] is False  # the shown systems and the book, never ranked
    assert report.page.locator("#contributions tbody tr").count() == len(names) + 1  # and the combined row
    assert report.page.locator("#opposing-pairs tbody tr").count() == summary["opposing_positions"]["pairs_listed"]
    report.page.close()

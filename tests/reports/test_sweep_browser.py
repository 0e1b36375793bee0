"""The sweep page and pages away from their run folder, opened in headless Chromium: the leaderboard sorts on a
click, the sweep's charts are drawn point by point, the metrics table scrolls inside its card, and a page
without its script says so where each chart would be; the price line is drawn over the trade markers."""

from __future__ import annotations

import math
import shutil

import pytest

from multifolio.reports.html import MISSING_SCRIPT, PLOTLY_FILE
from tests.reports.test_browser import ALL_DRAWN, OpenedReport, assert_offline_and_clean
from tests.reports.test_standalone import run as small_run

pytestmark = pytest.mark.slow  # opens the reports in chromium

ROWS = "table => [...document.querySelectorAll(`${table} tbody tr`)].map(row => row.dataset.system)"
POINTS = "id => document.querySelectorAll(`#${id} .scatterlayer .point`).length"


@pytest.fixture(scope="module")
def sweep_page(sweep_run, browser, tmp_path_factory):
    report = OpenedReport(browser, sweep_run.folder / "combined_summary.html",
                          tmp_path_factory.mktemp("screenshots") / "sweep.png")
    yield report
    report.page.close()


def test_the_sweep_page_renders_offline_without_errors(sweep_page, sweep_run):
    assert_offline_and_clean(sweep_page, sweep_run.folder)


def test_the_leaderboard_sorts_by_the_column_clicked_and_back(sweep_page, sweep_run):
    page = sweep_page.page
    board = sweep_run.summary["sweeps"]["groups"][0]["leaderboard"]
    ranked = [row["system"] for row in board]
    assert page.evaluate(ROWS, "#leaderboard-0") == ranked
    header = page.locator("#leaderboard-0 th", has_text="Sharpe ratio")
    header.click()  # ascending: the worst Sharpe first
    assert page.evaluate(ROWS, "#leaderboard-0") == ranked[::-1]
    assert header.get_attribute("aria-sort") == "ascending"
    header.click()
    assert page.evaluate(ROWS, "#leaderboard-0") == ranked and header.get_attribute("aria-sort") == "descending"
    page.locator("#leaderboard-0 th", has_text="Number of trades").click()
    trades = sweep_run.summary["systems"]
    assert page.evaluate(ROWS, "#leaderboard-0") == sorted(ranked, key=lambda name: trades[name]["num_trades"])
    page.locator("#leaderboard-0 th", has_text="system").click()  # words, with their numbers in order: 5 < 10 < 20
    by_name = sorted(ranked, key=lambda name: (board[ranked.index(name)]["values"]["fast_period"],
                                               board[ranked.index(name)]["values"]["slow_period"]))
    assert page.evaluate(ROWS, "#leaderboard-0") == by_name
    page.locator("#leaderboard-0 th", has_text="rank").click()
    assert page.evaluate(ROWS, "#leaderboard-0") == ranked


def test_the_heatmap_and_the_parameter_plots_are_drawn_point_by_point(sweep_page, sweep_run):
    group = sweep_run.summary["sweeps"]["groups"][0]
    (heatmap,) = sweep_page.traces("fig-sweep-0-heatmap")
    assert heatmap["type"] == "heatmap" and sweep_page.drawn("fig-sweep-0-heatmap") == 1
    # the constraint left 20 × 20 out: an empty cell (NaN, drawn blank)
    assert [[None if math.isnan(value) else value for value in row] for row in heatmap["z"]] == \
        group["heatmap"]["cells"]
    for number in (0, 1):
        div = f"fig-sweep-0-parameter-{number}"
        (points,) = sweep_page.traces(div)
        assert (points["mode"], points["points"]) == ("markers", 5)
        assert sweep_page.page.evaluate(POINTS, div) == 5  # one SVG point per system of the sweep


def test_the_metrics_table_scrolls_inside_its_card_and_keeps_the_figure_column_in_view(sweep_page):
    page = sweep_page.page
    box = page.evaluate("""() => {
        const wrapper = document.getElementById('metrics').parentElement, card = wrapper.closest('section');
        wrapper.scrollIntoView();
        const before = document.querySelector('#metrics tbody tr td:nth-child(2)').getBoundingClientRect().left;
        wrapper.scrollLeft = wrapper.scrollWidth;
        const figure = document.querySelector('#metrics tbody tr td:first-child').getBoundingClientRect();
        const header = document.querySelector('#metrics thead th:first-child').getBoundingClientRect();
        const inner = wrapper.getBoundingClientRect().left + wrapper.clientLeft;
        return {scrolls: wrapper.scrollWidth > wrapper.clientWidth + 100, scrolled: wrapper.scrollLeft,
                inside: wrapper.getBoundingClientRect().right <= card.getBoundingClientRect().right,
                page: document.documentElement.scrollWidth <= window.innerWidth, figure: figure.left - inner,
                header: header.left - inner, moved: document.querySelector('#metrics tbody tr td:nth-child(2)')
                .getBoundingClientRect().left < before,
                shown: document.elementFromPoint(figure.left + 5, figure.top + figure.height / 2)?.textContent ?? null};
    }""")
    assert box == {"scrolls": True, "scrolled": box["scrolled"], "inside": True, "page": True, "figure": 0,
                   "header": 0, "moved": True, "shown": "Initial capital"}
    assert box["scrolled"] > 100


def test_a_page_copied_out_of_its_run_folder_says_so_in_each_chart_box(sweep_run, browser, tmp_path):
    alone = tmp_path / "alone"
    alone.mkdir()
    name = sweep_run.summary["sweeps"]["groups"][0]["leaderboard"][0]["system"]
    for page_path, src in ((sweep_run.folder / "combined_summary.html", PLOTLY_FILE),
                           (sweep_run.folder / name / "report.html", f"../{PLOTLY_FILE}")):
        copy = shutil.copy(page_path, alone / page_path.name)
        page = browser.new_page()
        errors: list = []
        page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
        page.goto(copy.as_uri())
        boxes = page.evaluate("() => [...document.querySelectorAll('.chart')].map(div => [div.id, "
                              "div.classList.contains('chart-missing'), div.textContent])")
        figures = page.evaluate("() => Object.keys(FIGURES)")
        assert errors == [] and len(boxes) == len(figures) >= 4
        assert sorted(boxes) == [[div, True, MISSING_SCRIPT.format(src=src)] for div in sorted(figures)]
        page.close()


def test_a_standalone_page_copied_alone_draws_every_chart_with_no_other_file(browser, tmp_path):
    folder = small_run(tmp_path / "run", standalone=True).folder
    alone = tmp_path / "alone"
    alone.mkdir()
    for page_path in (folder / "combined_summary.html", folder / "holder" / "report.html"):
        copy = shutil.copy(page_path, alone / page_path.name)
        report = OpenedReport(browser, copy, tmp_path / f"{page_path.stem}.png")
        assert report.errors == [] and report.requests == [copy.as_uri()]  # the page, nothing else
        assert report.page.evaluate(ALL_DRAWN) and report.page.locator(".chart-missing").count() == 0
        report.page.close()


def test_the_price_line_is_drawn_over_the_trade_markers(sweep_run, browser, tmp_path):
    name = sweep_run.summary["sweeps"]["groups"][0]["leaderboard"][0]["system"]
    report = OpenedReport(browser, sweep_run.folder / name / "report.html", tmp_path / "report.png")
    # SVG paints in document order: the close, in its own layer after the markers', is painted over them
    layers = report.page.evaluate("""() => [...document.querySelectorAll('#fig-price-0 .trace.scatter')]
        .map(trace => trace.__data__[0].trace.name)""")
    assert layers[-1] == "SPY close" and {"long entry", "short entry", "exit"} <= set(layers[:-1])
    report.page.close()

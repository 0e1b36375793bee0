"""How big the HTML reports get and how long Chromium takes to draw them, for a long run.

The dual-portfolio example's two systems over N synthetic 1-minute bars (default
1,000,000 ≈ 10 years of sessions): time the run (which writes the reports), the
re-render alone (`multifolio report`), each file's size, and the time headless Chromium
takes from navigation until every chart is drawn.

    python bench/report_1m.py                   # 1,000,000 bars
    python bench/report_1m.py --bars 20000      # the default run's size
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import yaml

from multifolio.config.registry import PluginRegistry
from multifolio.reports.html import render_run
from multifolio.running.run import run_backtest, validate_document

REPO = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ALL_DRAWN = "() => [...document.querySelectorAll('.chart')].every(div => div._fullLayout && div._fullData)"


def render_seconds(pages: list[Path]) -> dict[Path, float]:
    """Seconds from navigation until every plot of the page is drawn, in a fresh headless Chromium."""
    from playwright.sync_api import sync_playwright

    timings = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                             args=CHROMIUM_ARGS)
        for page_path in pages:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            errors = []
            page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
            started = time.perf_counter()
            page.goto(page_path.as_uri())
            page.wait_for_function(ALL_DRAWN, timeout=120_000)
            timings[page_path] = time.perf_counter() - started
            if errors:
                raise RuntimeError(f"{page_path}: {errors}")
            page.close()
        browser.close()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="write the run here instead of a temporary folder")
    options = parser.parse_args()

    document = yaml.safe_load((REPO / "configs" / "dual_portfolio_backtest.yaml").read_text())
    document["data"]["bars"] = options.bars
    registry = PluginRegistry()
    config = validate_document(document, registry)
    output = options.keep or Path(tempfile.mkdtemp(prefix="report_bench_"))

    started = time.perf_counter()
    outcome = run_backtest(config, registry, output_dir=output)
    run_seconds = time.perf_counter() - started
    started = time.perf_counter()
    written = render_run(outcome.folder)
    render_only = time.perf_counter() - started
    pages = [path for path in written if path.suffix == ".html"]
    timings = render_seconds(pages)

    print(f"{options.bars:,} bars, {len(outcome.results)} systems; trades: "
          + ", ".join(f"{name} {m['num_trades']:,}" for name, m in outcome.metrics.items()))
    print(f"run with reports {run_seconds:.1f} s; `multifolio report` alone {render_only:.1f} s")
    print(f"{'file':<40} {'MB':>7} {'Chromium s':>11}")
    for path in written:
        shown = f"{timings[path]:.2f}" if path in timings else "–"
        print(f"{str(path.relative_to(outcome.folder)):<40} {path.stat().st_size / 1e6:>7.2f} {shown:>11}")
    if options.keep is None:
        shutil.rmtree(output)


if __name__ == "__main__":
    main()

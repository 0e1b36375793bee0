"""`reporting.standalone`: pages that carry plotly's script; without it, pages that say where their script is
when it does not load."""

from __future__ import annotations

import json

from plotly.offline import get_plotlyjs

from multifolio.config.registry import PluginRegistry
from multifolio.reports.html import MISSING_SCRIPT, PLOTLY_FILE, render_run
from multifolio.running.run import run_backtest
from tests.builders import backtest_config, checked, system_config


def run(tmp_path, **reporting):
    registry = PluginRegistry()
    document = backtest_config(system_config("holder", indicators=["EMA_10"]), output_dir=tmp_path)
    document["reporting"].update(reporting)
    return run_backtest(checked(document, registry), registry)


def test_standalone_pages_carry_the_script_and_re_render_to_the_same_bytes(tmp_path):
    folder = run(tmp_path, standalone=True).folder
    pages = [folder / "combined_summary.html", folder / "holder" / "report.html"]
    written = {path: path.read_bytes() for path in pages}
    script = get_plotlyjs()
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert text.count(f"<script>{script}</script>") == 1 and "<script src=" not in text
        # the size it costs: plotly's script (4.8 MB) in every page, beside a few kB of the page's own
        assert len(script) < len(text.encode()) < len(script) + 200_000
    assert not (folder / PLOTLY_FILE).exists()  # no page reads it
    assert json.loads((folder / "manifest.json").read_text())["reports"] == {"standalone": True}
    # `multifolio report` reads the manifest: the same pages again, still with no plotly.min.js
    assert sorted(render_run(folder)) == sorted(pages)
    assert {path: path.read_bytes() for path in pages} == written and not (folder / PLOTLY_FILE).exists()


def test_a_page_that_reads_the_shared_script_says_where_it_is_should_it_not_load(tmp_path):
    folder = run(tmp_path).folder
    assert json.loads((folder / "manifest.json").read_text())["reports"] == {"standalone": False}
    for page, src in ((folder / "combined_summary.html", PLOTLY_FILE), (folder / "holder" / "report.html",
                                                                       f"../{PLOTLY_FILE}")):
        text = page.read_text(encoding="utf-8")
        assert f'<script src="{src}"></script>' in text and get_plotlyjs()[:2000] not in text
        assert f"box.textContent = {json.dumps(MISSING_SCRIPT.format(src=src))};" in text
    assert MISSING_SCRIPT.format(src=PLOTLY_FILE) == (
        "This chart is drawn by plotly.min.js, which did not load: keep the run folder together (the page "
        "reads the script from it), or run with reporting.standalone: true for pages that carry it.")

"""What a run tells while it writes its results, after the last bar: each part as it starts, in order."""

from __future__ import annotations

from pathlib import Path

import pytest

from multifolio.config.registry import PluginRegistry
from multifolio.running.run import run_backtest
from tests.builders import backtest_config, checked, system_config


# letting each system's tables go as its folder is written (the command line's run) works the summary out in its
# own part: the parts and what is written before each are the same
@pytest.mark.parametrize("keep_tables", [True, False])
def test_each_part_is_told_as_it_starts_with_what_is_already_written(tmp_path, keep_tables):
    registry = PluginRegistry()
    config = checked(backtest_config(system_config("a"), system_config("b"), output_dir=tmp_path), registry)
    told = []

    def writing(done: int, total: int | None, part: str) -> None:
        [staging] = tmp_path.glob(".test_run.*.running")  # the run writes there, and swaps it in at the end
        written = sorted(str(path.relative_to(staging)) for path in staging.rglob("*.*") if path.is_file())
        told.append((done, total, part, [name for name in written if name != "manifest.json"]))

    run_backtest(config, registry, output_dir=tmp_path, writing=writing, keep_tables=keep_tables)
    # bars.parquet is written on a thread of its own from before the first bar: before its part has waited for it,
    # the file or its temporary may be there or not; from then on it is there
    bars_so_far = {"figures", "bars.parquet"}
    told = [(done, total, part, [name for name in written if part not in bars_so_far or "bars.parquet" not in name])
            for done, total, part, written in told]
    # a system's part is its folder and its page, drawn from the equity frame drawn for equity.csv
    system_files = ["equity.csv", "indicators.parquet", "orders.csv", "performance.json", "report.html",
                    "trades.csv"]
    a_files, b_files = ([f"{name}/{file}" for file in system_files] for name in "ab")
    summary = ["combined_equity.csv", "combined_summary.json"]
    assert told == [
        (0, None, "figures", []),
        (0, 5, "bars.parquet", []),
        (1, 5, "a/", ["bars.parquet"]),
        (2, 5, "b/", [*a_files, "bars.parquet"]),
        (3, 5, "combined_summary.json", [*a_files, *b_files, "bars.parquet"]),
        (4, 5, "reports", [*a_files, *b_files, "bars.parquet", *summary]),
        (5, 5, "", sorted([*a_files, *b_files, "bars.parquet", *summary, "combined_summary.html",
                           "plotly.min.js"])),
    ]
    assert sorted(path.name for path in Path(tmp_path / "test_run").iterdir()) == sorted(
        ["a", "b", "bars.parquet", *summary, "combined_summary.html", "manifest.json", "plotly.min.js"])


def test_without_reports_or_summary_only_the_parts_written_are_counted(tmp_path):
    registry = PluginRegistry()
    document = backtest_config(system_config("a"), output_dir=tmp_path)
    document["reporting"].update(separate_reports=False, combined_summary=False)
    told = []
    run_backtest(checked(document, registry), registry, output_dir=tmp_path,
                 writing=lambda done, total, part: told.append((done, total, part)))
    assert told == [(0, None, "figures"), (0, 1, "reports"), (1, 1, "")]


def test_a_run_kept_in_memory_tells_nothing():
    registry = PluginRegistry()
    told = []
    run_backtest(checked(backtest_config(system_config("a")), registry), registry, write=False,
                 writing=lambda *call: told.append(call))
    assert told == []

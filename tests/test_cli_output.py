"""What `multifolio` prints around a run, in-process (click's runner): the counts, the data dropped, headings."""

from __future__ import annotations

import pandas as pd
import yaml
from click.testing import CliRunner

import multifolio
from multifolio import cli
from multifolio.wording import counted, plural
from tests.builders import backtest_config, system_config


def test_counts_read_in_the_singular_for_one_and_plural_words_are_spelled():
    assert [counted(n, "system") for n in (0, 1, 2, 2147)] == ["0 systems", "1 system", "2 systems", "2,147 systems"]
    assert [plural(word) for word in ("strategy", "day", "risk limit", "data source", "box")] == [
        "strategies", "days", "risk limits", "data sources", "boxes"]


def test_the_dropped_rows_line_lists_rules_most_rows_first():
    assert cli.dropped_line({"high is below max(open, close)": 12, "volume is negative": 2_135, "x": 12}) == (
        "data: 2,159 rows dropped (volume is negative: 2,135, high is below max(open, close): 12, x: 12)")


def test_a_run_that_dropped_rows_says_so_after_its_table(tmp_path):
    runner = CliRunner()
    csv = tmp_path / "bars.csv"
    assert runner.invoke(cli.cli, ["sample-data", str(csv), "--bars", "500"]).exit_code == 0
    frame = pd.read_csv(csv)
    row = frame.index[(frame["open"] != frame["close"]) & (frame.index >= 100)][0]
    frame.loc[row, "high"] = frame.loc[row, ["open", "close"]].max() - 0.001  # one row of 500, above its low
    frame.to_csv(csv, index=False)
    document = backtest_config(system_config("alpha"), data={"source": "csv", "symbols": ["SPY"],
                                                             "file_path": str(csv), "on_invalid": "drop"},
                               output_dir=tmp_path / "out")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(document))
    done = runner.invoke(cli.cli, ["run", str(config)])
    assert done.exit_code == 0, done.output
    lines = done.stdout.splitlines()  # the progress display is on stderr
    assert "test run — 1 system" in lines[0] and not any(line.startswith("│ combined") for line in lines)
    assert lines[-2].startswith(f"results: {tmp_path / 'out' / 'test_run'}  (")
    assert lines[-1] == "data: 1 row dropped (high is below max(open, close): 1)"


def test_a_run_that_dropped_nothing_says_nothing_of_it(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(backtest_config(system_config("alpha"), output_dir=tmp_path / "out")))
    done = CliRunner().invoke(cli.cli, ["run", str(config), "--quiet"])
    assert done.exit_code == 0, done.output
    assert [line.split("  (")[0] for line in done.output.splitlines()] == [f"results: {tmp_path / 'out' / 'test_run'}"]


def test_plugins_are_listed_under_plural_headings():
    done = CliRunner().invoke(cli.cli, ["plugins"])
    headings = [line.strip() for line in done.output.splitlines() if "(multifolio." in line]
    assert headings[:3] == ["Strategies (multifolio.strategies)", "Indicators (multifolio.indicators)",
                            "Position sizers (multifolio.sizers)"]
    assert "strategys" not in done.output.lower()


def test_progress_from_python_shows_the_results_being_written(tmp_path, capsys):
    multifolio.run(backtest_config(system_config("a"), system_config("b")), output_dir=tmp_path, progress=True)
    shown = capsys.readouterr().err
    assert "writing results" in shown and "5/5" in shown

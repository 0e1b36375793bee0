"""A bug of multifolio's own never shows a traceback: one sentence, exit 1, a crash log, the run marked failed."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from click.testing import CliRunner

from multifolio import api, cli
from multifolio.running import run
from tests.builders import backtest_config, system_config


def test_a_bug_while_writing_marks_the_run_failed_and_the_cli_says_so_in_one_sentence(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("an invariant broke")

    monkeypatch.setattr(run, "write_results", broken)
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(backtest_config(system_config(), output_dir=str(tmp_path / "out"))))
    outcome = CliRunner().invoke(cli.cli, ["run", str(config), "--quiet"])
    folder = tmp_path / "out" / "test_run"
    assert outcome.exit_code == cli.BUG
    assert outcome.output.strip() == (
        f"error: this is a bug in multifolio (RuntimeError: an invariant broke); the traceback is in "
        f"{folder / 'crash.log'}; please report it with that file")
    assert "Traceback" in (folder / "crash.log").read_text() and "an invariant broke" in \
        (folder / "crash.log").read_text()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert (manifest["status"], manifest["error"]) == ("failed", "multifolio failed: RuntimeError: an invariant broke")


def test_a_bug_before_any_run_folder_leaves_its_traceback_in_a_crash_log_of_its_own(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("missing")

    monkeypatch.setattr(api, "describe_plan", broken)
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(backtest_config(system_config())))
    outcome = CliRunner().invoke(cli.cli, ["validate", str(config)])
    assert outcome.exit_code == cli.BUG
    last = outcome.output.strip().splitlines()[-1]
    assert last.startswith("error: this is a bug in multifolio (KeyError: 'missing'); the traceback is in ")
    log = last.split("the traceback is in ")[1].split(";")[0]
    assert "KeyError: 'missing'" in Path(log).read_text(encoding="utf-8")
    Path(log).unlink()

"""The commands a user types, run as a user runs them: in a subprocess, from a fresh folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow  # each test runs `multifolio` or python in a subprocess

REPO = Path(__file__).resolve().parents[2]
DUAL = REPO / "configs" / "dual_portfolio_backtest.yaml"
SEED = REPO / "configs" / "seed_dual_portfolio.yaml"
MULTIFOLIO = Path(sys.executable).parent / "multifolio"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=300)


def result_files(folder: Path) -> dict[str, bytes]:
    """Every result file's bytes; manifest.json holds wall-clock times by design and is left out."""
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*"))
            if path.is_file() and path.name != "manifest.json"}


@pytest.fixture(scope="module")
def dual_run(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("dual")
    done = run(str(MULTIFOLIO), "run", str(DUAL), cwd=cwd)
    return cwd, done


def test_run_writes_every_result_file_and_prints_the_table(dual_run):
    cwd, done = dual_run
    assert done.returncode == 0, done.stderr
    folder = cwd / "results" / "dual_portfolio_test"
    assert sorted(result_files(folder)) == [
        "bars.parquet", "combined_equity.csv", "combined_summary.html", "combined_summary.json",
        *(f"{system}/{name}" for system in ("mean_reversion_system", "momentum_system")
          for name in ("equity.csv", "indicators.parquet", "orders.csv", "performance.json", "report.html",
                       "trades.csv")),
        "plotly.min.js"]
    assert json.loads((folder / "manifest.json").read_text())["status"] == "completed"
    assert "momentum_system" in done.stdout and "mean_reversion_system" in done.stdout and "combined" in done.stdout
    assert "bars" in done.stderr and "writing results" in done.stderr  # the progress display, both bars

    summary = json.loads((folder / "combined_summary.json").read_text())
    assert list(summary["systems"]) == ["momentum_system", "mean_reversion_system"]
    for name, metrics in summary["systems"].items():
        assert metrics["num_trades"] > 20, f"{name} should trade on the default data"
        performance = json.loads((folder / name / "performance.json").read_text())
        assert performance["metrics"] == metrics
        trades = pd.read_csv(folder / name / "trades.csv")
        equity = pd.read_csv(folder / name / "equity.csv")
        assert len(trades) == metrics["num_trades"] and len(equity) == 20_000
        assert equity["equity"].iloc[-1] == pytest.approx(metrics["final_equity"])
        assert metrics["initial_capital"] == 50_000
    combined = pd.read_csv(folder / "combined_equity.csv")
    assert combined["combined"].iloc[-1] == pytest.approx(summary["combined"]["final_equity"])
    assert summary["combined"]["final_equity"] == pytest.approx(
        sum(m["final_equity"] for m in summary["systems"].values()))


def test_main_py_and_python_m_app_give_byte_identical_results(dual_run, tmp_path):
    cwd, _ = dual_run
    expected = result_files(cwd / "results" / "dual_portfolio_test")
    seed_command = run(sys.executable, str(REPO / "main.py"), "--config", str(DUAL), cwd=tmp_path / "a"
                       if (tmp_path / "a").mkdir() is None else tmp_path)
    module_command = run(sys.executable, "-m", "multifolio", "run", str(DUAL), "--quiet", cwd=tmp_path / "b"
                         if (tmp_path / "b").mkdir() is None else tmp_path)
    assert seed_command.returncode == 0, seed_command.stderr
    assert module_command.returncode == 0, module_command.stderr
    assert result_files(tmp_path / "a" / "results" / "dual_portfolio_test") == expected
    assert result_files(tmp_path / "b" / "results" / "dual_portfolio_test") == expected


def test_the_seed_config_asks_for_its_data_file_then_runs_once_it_exists(tmp_path):
    """Run from the project's root, the seed config's copy reads `data/SPY_1m.csv` beside itself."""
    seed = tmp_path / "configs" / SEED.name
    seed.parent.mkdir()
    seed.write_text(SEED.read_text())
    missing = run(str(MULTIFOLIO), "run", "configs/seed_dual_portfolio.yaml", cwd=tmp_path)
    assert missing.returncode == 2
    assert "Traceback" not in missing.stderr
    assert missing.stderr.strip().endswith(
        f"data.file_path: file not found: {tmp_path / 'configs/data/SPY_1m.csv'}; check data.file_path (a relative "
        f"data.file_path is read from the config file's folder, {tmp_path / 'configs'})")
    assert "sample-data" not in missing.stderr  # never a suggestion to write synthetic bars at the user's path
    assert not (tmp_path / "results").exists()

    made = run(str(MULTIFOLIO), "sample-data", "configs/data/SPY_1m.csv", cwd=tmp_path)  # as the config's comment says
    assert made.returncode == 0 and "wrote 20000 bars of SPY" in made.stdout
    done = run(str(MULTIFOLIO), "run", "configs/seed_dual_portfolio.yaml", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    # the CSV holds the same bars as the embedded source, so the results are the same
    dual = run(str(MULTIFOLIO), "run", str(DUAL), "--quiet", "--output-dir", "embedded", cwd=tmp_path)
    assert dual.returncode == 0
    from_csv = result_files(tmp_path / "results" / "dual_portfolio_test")
    embedded = result_files(tmp_path / "embedded" / "dual_portfolio_test")
    assert from_csv.keys() == embedded.keys()
    for name in from_csv:
        if name.endswith(".csv"):
            assert from_csv[name] == embedded[name], name


def test_config_errors_exit_2_with_every_problem_and_no_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(DUAL.read_text().replace("type: momentum,", "type: momentun,")
                   .replace("initial_capital: 50000, namespace: mean_reversion", "initial_capital: -1, namespace: m"))
    done = run(str(MULTIFOLIO), "run", str(bad), cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [
        f"error: 2 configuration errors in {bad}:",
        "  trading_systems[0].strategy.type: unknown strategy 'momentun'; known: buy_and_hold, mean_reversion, "
        "momentum, pairs, rotation, sma_crossover (did you mean momentum?)",
        "  trading_systems[1].portfolio.initial_capital: must be > 0 and at most 10,000,000,000,000, was -1.0",
    ]


def test_validate_prints_the_plan_and_plugins_lists_parameters(tmp_path):
    done = run(str(MULTIFOLIO), "validate", str(DUAL), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "- momentum_system (namespace momentum), capital 50,000.00" in done.stdout
    listing = run(str(MULTIFOLIO), "plugins", cwd=tmp_path)
    assert listing.returncode == 0
    assert "lookback_period=20" in listing.stdout and "max_total_exposure" in listing.stdout

"""Golden statistics: every config in configs/ gives the reviewed figures and trades.

`pytest tests/integration/test_golden.py --update-golden` rewrites the golden files;
the change then shows as a diff to review. Three goldens are small enough to check
by hand, and `test_tiny_goldens_are_the_hand_computed_numbers` does so.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden"
CONFIGS = sorted((REPO / "configs").glob("*.yaml"))
# figure → decimals kept: enough to catch a wrong cent, few enough to be stable across platforms
ROUNDING = {"final_equity": 2, "total_return": 8, "max_drawdown": 8, "sharpe": 6, "total_commission": 2,
            "total_slippage": 2, "win_rate": 6, "exposure": 6}


def golden_of(folder: Path) -> dict:
    summary = json.loads((folder / "combined_summary.json").read_text())
    systems = {}
    for name, metrics in summary["systems"].items():
        figures = {key: "nan" if metrics[key] is None else f"{metrics[key]:.{places}f}"
                   for key, places in ROUNDING.items()}
        figures["num_trades"] = metrics["num_trades"]
        figures["trades_csv_sha256"] = hashlib.sha256((folder / name / "trades.csv").read_bytes()).hexdigest()
        systems[name] = figures
    return {"systems": systems, "combined_final_equity": f"{summary['combined']['final_equity']:.2f}"}


def run_config(config: Path, workdir: Path) -> Path:
    """Run `config` from a copy of configs/ in `workdir`, with the seed's data file made as the README says."""
    shutil.copytree(REPO / "configs", workdir / "configs", dirs_exist_ok=True)
    multifolio = [sys.executable, "-m", "multifolio"]
    if not (workdir / "configs" / "data" / "SPY_1m.csv").exists():  # beside the config, as its comment says
        subprocess.run([*multifolio, "sample-data", "configs/data/SPY_1m.csv"], cwd=workdir, check=True,
                       capture_output=True)
    done = subprocess.run([*multifolio, "run", f"configs/{config.name}", "--quiet", "--output-dir", "out"],
                          cwd=workdir, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    [folder] = (workdir / "out").iterdir()
    return folder


@pytest.mark.slow  # runs `multifolio` in a subprocess per config
@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_each_config_matches_its_golden_statistics(config, tmp_path, update_golden):
    actual = golden_of(run_config(config, tmp_path))
    path = GOLDEN / f"{config.stem}.json"
    if update_golden:
        path.write_text(json.dumps(actual, indent=2, sort_keys=True) + "\n")
    assert path.exists(), f"no golden for {config.name}: run pytest {__file__} --update-golden"
    assert actual == json.loads(path.read_text())


def test_tiny_goldens_are_the_hand_computed_numbers():
    """Bars of configs/data/tiny_daily.csv (open = previous close): closes 101, 103, 105, 102,
    98, 96, 98, 101, 104, 106, 103, 99, 97.
    - buy and hold: 10 bought at bar 1's open 101, 1.00 commission per share:
      10000 − 1010 − 10 + 10 × 97 = 9950.
    - momentum flip (1-bar lookback, close at end): long 103 → short 102 (−10) → long 98
      (+40) → short 103 (+50) → covered at 97 (+60): 10140 in 4 trades.
    - SMA(2)/SMA(3) crossover: long 10 from 101 (2024-01-12's open) to 99 (2024-01-19's
      open) with 0.50 per share each way: −20 − 10 = 9970.
    """
    expected = {"tiny_buy_and_hold": ("holder", "9950.00", 0, "10.00"),
                "tiny_momentum_flip": ("flipper", "10140.00", 4, "0.00"),
                "tiny_sma_crossover": ("crossover", "9970.00", 1, "10.00")}
    for stem, (system, equity, trades, commission) in expected.items():
        golden = json.loads((GOLDEN / f"{stem}.json").read_text())["systems"][system]
        assert (golden["final_equity"], golden["num_trades"], golden["total_commission"]) == (
            equity, trades, commission), stem

"""Two runs in separate processes, with different hash seeds, write byte-identical files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # runs `multifolio` in subprocesses

REPO = Path(__file__).resolve().parents[2]


def test_separate_processes_with_different_hash_seeds_write_identical_results(tmp_path):
    outputs = []
    for seed in ("1", "4242"):
        out = tmp_path / f"seed{seed}"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-m", "multifolio", "run", str(REPO / "configs/dual_portfolio_backtest.yaml"),
                               "--quiet", "--output-dir", str(out)], env=env, capture_output=True, text=True,
                              cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        # manifest.json records wall-clock times by design; every result file must match to the byte
        outputs.append({str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
                        if p.is_file() and p.name != "manifest.json"})
    assert len(outputs[0]) >= 10
    assert outputs[0] == outputs[1]

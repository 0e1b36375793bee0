"""Runs that couple nothing write what the first version wrote, byte for byte.

tests/golden/version_1_files.json holds the SHA-256 of every result file the first version
(commit 8a66c0c, before the portfolio of systems) wrote for four shipped configs: every CSV and
Parquet file, performance.json and combined_summary.json (not the HTML, the manifest's wall-clock
times or plotly.min.js). The only difference allowed is what this version adds to performance.json
when a system had no halt: `halts: []` and `stopped: null`, taken out before the digest.

combined_summary.json's digests are those of the first version's file with its per-bar correlations summed
in one order on every CPU: the first version took them from a BLAS product, whose kernel (AVX-512 or AVX2,
chosen by the CPU) changed their last one or two digits from one machine to another
(reports/analysis.py `_pearson`). Only `correlation.bar` and `correlation.mean.bar` moved.

The first version had one synthetic model, now `model: random_walk`; the configs, which use the default
(`index`) since, are run with that model pinned in the loaded document.

A sweep's combined_summary.json leaves out the opposing positions of two variants of one sweep entry
(issue 16): for sma_sweep, whose systems all come from one entry, `opposing_positions` is taken out
before the digest (recorded the same way from the first version's file) and checked on its own. Each sweep's `overfitting` figures (issue 17) are new and taken out the same way.

full_form_example's two systems declare no indicator: the first version wrote their indicators.parquet with
an empty symbol column (a frame without columns took the symbol as no row at all), so their digest is of
that file with each row's symbol written, as every other indicators.parquet has it (issue 18).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from multifolio.config.registry import PluginRegistry
from multifolio.running.run import run_backtest, validate_document

REPO = Path(__file__).resolve().parents[2]
REFERENCE = json.loads((REPO / "tests" / "golden" / "version_1_files.json").read_text())
CONFIGS = {"dual_portfolio_test": "dual_portfolio_backtest", "exits_example": "exits_example",
           "full_form_example": "full_form_example", "sma_sweep": "sweep_example"}


def digest(path: Path) -> str:
    data = path.read_bytes()
    if path.name == "performance.json":
        document = json.loads(data)
        assert document.pop("halts") == [] and document.pop("stopped") is None  # nothing halted in these runs
        data = (json.dumps(document, indent=2, allow_nan=False) + "\n").encode()
    if path.name == "combined_summary.json" and "sweeps" in json.loads(data):
        document = json.loads(data)
        opposing = document.pop("opposing_positions")
        # eight variants of one entry: 28 pairs, every one left out; the book still nets all their orders
        assert (opposing["pairs_of_one_sweep_entry"], opposing["pairs_total"], opposing["pairs"]) == (28, 0, [])
        assert opposing["netting_saving"] > 0
        for group in document["sweeps"]["groups"]:  # issue 17: every sweep says how overfit its winner may be
            assert set(group.pop("overfitting")) == {"deflated_sharpe", "pbo"}
        data = (json.dumps(document, indent=2, allow_nan=False) + "\n").encode()
    return hashlib.sha256(data).hexdigest()


@pytest.mark.slow
@pytest.mark.parametrize("run", sorted(CONFIGS))
def test_a_run_without_allocation_or_book_limits_writes_the_first_versions_bytes(run, tmp_path):
    registry = PluginRegistry()
    document = yaml.safe_load((REPO / "configs" / f"{CONFIGS[run]}.yaml").read_text())
    document["data"]["model"] = "random_walk"  # the first version's synthetic bars
    outcome = run_backtest(validate_document(document, registry), registry, output_dir=tmp_path)
    written = {str(path.relative_to(outcome.folder)): digest(path) for path in sorted(outcome.folder.rglob("*"))
               if path.is_file() and path.suffix != ".html" and path.name not in ("manifest.json", "plotly.min.js")}
    assert written == REFERENCE[run]

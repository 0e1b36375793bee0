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

A Parquet file's digest leaves out the versions of the libraries that wrote it: the footer names pyarrow's
(`created_by`) and pandas' (its `pandas` metadata, and again inside the base64 arrow schema), so a new release of
either changed the file's bytes though not a value, a type or a page of it. The digest is of the bytes before the
footer (every page as written), the footer's row groups (offsets, sizes, encodings, statistics) and its metadata with
those stamps taken out. These digests were recorded from files that were the first version's byte for byte (the
whole-file digests recorded from the first version matched them under pandas 3.1.1 and pyarrow 26.0.1).
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
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
    if path.suffix == ".parquet":
        return parquet_digest(path, data)
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


def parquet_digest(path: Path, data: bytes) -> str:
    """The digest of a Parquet file without the writing libraries' versions (see the module's docstring)."""
    footer = int.from_bytes(data[-8:-4], "little")  # the footer's length, before the closing "PAR1"
    metadata = pq.read_metadata(pa.BufferReader(data))
    layout = metadata.to_dict()
    del layout["created_by"], layout["serialized_size"]
    pieces = {key.decode(): value for key, value in metadata.metadata.items()}
    pandas_metadata = json.loads(pieces.pop("pandas"))
    del pandas_metadata["creator"], pandas_metadata["pandas_version"]
    schema = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(pieces.pop("ARROW:schema"))))
    assert not pieces, f"{path.name} has metadata this digest does not know: {sorted(pieces)}"
    stamped = json.loads(schema.metadata.pop(b"pandas") if schema.metadata else "{}")
    assert {key: stamped.get(key) for key in pandas_metadata} == pandas_metadata  # the schema's copy says the same
    whole = hashlib.sha256(data[:len(data) - 8 - footer])
    for part in (json.dumps(layout, sort_keys=True, default=str), json.dumps(pandas_metadata, sort_keys=True)):
        whole.update(part.encode())
    whole.update(schema.remove_metadata().serialize().to_pybytes())
    return whole.hexdigest()


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

"""The run manifest: what ran, on which data, with which versions, and how it ended (one per run)."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import platform
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cattrs

from multifolio.config.model import BacktestConfig
from multifolio.config.registry import PluginKind, PluginRegistry
from multifolio.files import atomic_write_text
from multifolio.running.walk_forward import planned_systems
from multifolio.trading.system import SystemResult

RUNNING, COMPLETED, INTERRUPTED, FAILED = "running", "completed", "interrupted", "failed"
_LIBRARIES = ("pandas", "numpy", "TA-Lib", "dependency-injector", "blinker", "attrs", "cattrs", "pyarrow")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def fingerprint(path: Path) -> dict[str, Any]:
    """A data file's identity: its path, size and SHA-256."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return {"path": str(path), "bytes": path.stat().st_size, "sha256": digest.hexdigest()}


def config_hash(config: BacktestConfig) -> str:
    """SHA-256, in canonical JSON, of what a run's results depend on: the data section, the systems as
    resolved (not as written: `RSI` or `RSI_14`, `slippage_bps: 5` or `slippage: {type: bps, bps: 5}`
    hash the same) and the figure that ranks sweeps. Where the run writes, its name and the executor
    change no result, so they are left out."""
    # the config file's folder is where it lies, not what it means: the data files' digests are recorded apart
    data = {key: value for key, value in cattrs.unstructure(config.data).items() if key != "folder"}
    if data["timestamps"] == "open":  # the default means what version 1 did: the hash it had then
        del data["timestamps"]
    meaning = {"data": data, "systems": [system.as_dict() for system in config.systems],
               "sweep_metric": config.reporting.sweep_metric}
    if config.book is not None:  # what couples the systems (absent: they are isolated, as before it existed)
        meaning["book"] = cattrs.unstructure(config.book)
    return hashlib.sha256(json.dumps(meaning, sort_keys=True, default=str).encode()).hexdigest()


class RunManifest:
    """manifest.json in the run folder, rewritten (atomically) at each stage of the run.

    Unlike the result files it holds wall-clock times; a run that did not end says
    `running`, so a folder left by a killed run never looks complete.
    """

    def __init__(self, folder: Path, config: BacktestConfig, registry: PluginRegistry) -> None:
        self.path = folder / "manifest.json"
        self.document: dict[str, Any] = {
            "run": config.run_name,
            "status": RUNNING,
            "started": _now(),
            "ended": None,
            "config_sha256": config_hash(config),
            "versions": {"multifolio": _version("multifolio"), "python": platform.python_version(),
                         **{name: _version(name) for name in _LIBRARIES}},
            "plugins": _plugin_origins(config, registry),
            "data": {"source": config.data.source, "symbols": list(config.data.symbols)},
            "systems": {name: {"status": RUNNING} for name in planned_systems(config)},
            # how `multifolio report` renders the pages again: the same bytes as the run's
            "reports": {"standalone": config.reporting.standalone},
        }

    def write(self) -> None:
        atomic_write_text(self.path, json.dumps(self.document, indent=2) + "\n")

    def data_loaded(self, description: str, files: Sequence[Path], bars: int, dropped: dict[str, int],
                    reversed_files: Sequence[str] = (), window: dict[str, Any] | None = None,
                    timezone: str | None = None) -> None:
        """`reversed`: the files written newest first, read in reverse; `dropped`: rows left out, by rule;
        `window`: what `data.start`/`end`/`warmup` kept (absent without them); `timezone`: the zone of the
        bars' timestamps (null when naive), which the reports read the CSVs' offsets back into."""
        self.document["data"].update(description=description, bars=bars,
                                     files=[fingerprint(Path(path)) for path in files], dropped=dropped,
                                     reversed=list(reversed_files), timezone=timezone)
        if window is not None:
            self.document["data"]["window"] = window
        self.write()

    def finished(self, results: Sequence[SystemResult], status: str) -> None:
        for result in results:
            entry = {"status": result.status, "last_bar": result.last_bar}
            if result.error:
                entry["error"] = result.error.strip().splitlines()[-1]
            self.document["systems"][result.name] = entry
        ran = {result.name for result in results}  # an optuna search runs only some of the grid it checked
        self.document["systems"] = {name: entry for name, entry in self.document["systems"].items() if name in ran}
        self.document.update(status=status, ended=_now())
        self.write()

    def failed(self, reason: str) -> None:
        """Record why the run ended without its results (best effort: the folder may be the problem)."""
        self.document.update(status=FAILED, ended=_now(), error=reason)
        try:
            self.write()
        except OSError:
            pass


def run_status(results: Sequence[SystemResult]) -> str:
    """`failed` if any system failed, else `interrupted` if the run was stopped, else `completed`."""
    statuses = {result.status for result in results}
    return FAILED if FAILED in statuses else INTERRUPTED if INTERRUPTED in statuses else COMPLETED


def _plugin_origins(config: BacktestConfig, registry: PluginRegistry) -> dict[str, str]:
    """`kind:name` → `distribution version (module:Class)` for every plugin the config names."""
    named = {(PluginKind.DATA_SOURCE, config.data.source)}
    for system in config.systems:
        named.update(system.plugins())
    return {f"{kind.group}:{name}": registry.origin(kind, name) for kind, name in sorted(named, key=str)}

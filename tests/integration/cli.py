"""Running the `multifolio` command as a user does, in a subprocess, and reading what it left."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

MULTIFOLIO = Path(sys.executable).parent / "multifolio"


def multifolio(*args: str, cwd: Path, env: dict | None = None, timeout: float = 300,
               **popen) -> subprocess.CompletedProcess:
    return subprocess.run([str(MULTIFOLIO), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, **popen)


def write_config(folder: Path, document: dict, name: str = "config.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def assert_every_file_is_whole(folder: Path) -> list[Path]:
    """Every result file present parses completely; no temporary file is left under a real name."""
    files = [path for path in folder.rglob("*") if path.is_file()]
    for path in files:
        if path.name.startswith(".") and path.name.endswith(".tmp"):
            continue  # an atomic write cut short by SIGKILL: never under the real name
        if path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix == ".csv":
            pd.read_csv(path)
        elif path.suffix == ".parquet":
            pd.read_parquet(path)
    return files

"""Result files and folders follow the umask, as any file a program writes with open() does."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import multifolio
from multifolio.files import atomic_write, atomic_write_text
from tests.builders import backtest_config, system_config


@contextmanager
def umask(mask: int) -> Iterator[None]:
    """The process's umask set for the block (it is process-wide: no thread of this test runs meanwhile)."""
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def modes(folder: Path) -> dict[str, set[int]]:
    """The permission bits of every file and every folder under `folder` (itself included)."""
    found: dict[str, set[int]] = {"files": set(), "folders": {stat.S_IMODE(folder.stat().st_mode)}}
    for path in folder.rglob("*"):
        found["files" if path.is_file() else "folders"].add(stat.S_IMODE(path.stat().st_mode))
    return found


@pytest.mark.parametrize("mask, file_mode, folder_mode", [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700),
                                                          (0o002, 0o664, 0o775)])
def test_a_runs_files_and_folders_follow_the_umask(tmp_path, mask, file_mode, folder_mode):
    with umask(mask):
        result = multifolio.run(backtest_config(system_config("alpha"), system_config("beta")),
                                output_dir=tmp_path / "out")
    found = modes(result.folder)
    assert found == {"files": {file_mode}, "folders": {folder_mode}}
    assert len(list(result.folder.rglob("*.csv"))) >= 5  # every kind of file was looked at: csv, json, html, js
    assert {path.suffix for path in result.folder.rglob("*") if path.is_file()} >= {".csv", ".json", ".html", ".js",
                                                                                     ".parquet"}


def test_an_atomic_write_replaces_a_file_with_the_umasks_mode_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "sub" / "figures.json"
    with umask(0o077):
        atomic_write_text(path, "old")
    with umask(0o022):
        atomic_write_text(path, "new")
    assert path.read_text() == "new" and stat.S_IMODE(path.stat().st_mode) == 0o644
    assert [child.name for child in path.parent.iterdir()] == ["figures.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    path = tmp_path / "figures.json"
    atomic_write_text(path, "old")

    def fail(stream):
        stream.write("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, fail)
    assert path.read_text() == "old" and [child.name for child in tmp_path.iterdir()] == ["figures.json"]

"""The run folder belongs to its run: written in a staging folder beside it, swapped in whole at the end.

A rerun therefore never mixes its files with the previous run's (no stale system folder, no
old error.log); a second run into the same folder at the same time is refused, not
interleaved (a hidden `.<name>.lock` beside it, removed when the run ends); and a run killed
outright (SIGKILL) leaves the previous results as they were, its own files in a hidden
`.<name>.<id>.running` folder beside them.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import uuid
from pathlib import Path
from types import TracebackType
from typing import IO

from multifolio.errors import MultifolioError


class RunFolder:
    """One run's claim on `target` (one per run): a lock, a staging folder, and the swap at the end."""

    def __init__(self, target: Path) -> None:
        self.target = target
        token = uuid.uuid4().hex[:12]
        self.staging = target.parent / f".{target.name}.{token}.running"
        self._previous = target.parent / f".{target.name}.{token}.previous"
        self._lock = None

    def __enter__(self) -> Path:
        """The staging folder, where the run writes everything; OSError when the output folder is unusable."""
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self._lock = self._claim(self.target.parent / f".{self.target.name}.lock")
        try:
            self._check_replaceable()
            self.staging.mkdir()
        except BaseException:
            self._release()
            raise
        return self.staging

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        """Swap the staging folder in, whatever the run's end (completed, interrupted, failed): the folder
        then shows this run's outcome. What stood there is moved aside first (a symlink as itself, never
        followed), then deleted."""
        try:
            if os.path.lexists(self.target):
                os.rename(self.target, self._previous)
            os.rename(self.staging, self.target)
            if self._previous.is_symlink() or self._previous.is_file():
                self._previous.unlink()
            elif self._previous.exists():
                shutil.rmtree(self._previous)
        finally:
            self._release()

    def _check_replaceable(self) -> None:
        """The swap deletes what stands at the target: only a run folder (or a link, itself) may stand there."""
        target = self.target
        if target.is_symlink() or not target.exists():
            return
        if not target.is_dir():
            raise MultifolioError(f"{target} is a file, not a run folder; move it, or choose another --output-dir "
                                  "or workflow.name")
        if any(target.iterdir()) and not (target / "manifest.json").is_file():
            raise MultifolioError(f"{target} exists and is not a run folder (it has no manifest.json); multifolio "
                                  "replaces only its own run folders: move it, or choose another --output-dir or "
                                  "workflow.name")

    def _claim(self, path: Path) -> IO[str]:
        """The lock file, locked. A run unlinks it when done, so the lock held must be the file that is
        there now, not one a finishing run has just unlinked: else try again."""
        while True:
            lock = open(path, "a")  # noqa: SIM115 - held for the run
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()
                raise MultifolioError(f"another multifolio run is writing {self.target} right now; wait for it "
                                      "to end, or give this run another --output-dir or workflow.name") from None
            try:
                if os.stat(path).st_ino == os.fstat(lock.fileno()).st_ino:
                    return lock
            except FileNotFoundError:
                pass
            lock.close()

    def _release(self) -> None:
        if self._lock is not None:
            Path(self._lock.name).unlink(missing_ok=True)  # while still locked: nothing is left beside the folder
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

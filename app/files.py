"""Writing files so that a reader never sees half of one: temporary name, then rename."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import IO

# rw for everyone before the umask, as `open(path, "w")` creates a file: under the usual umask 022 a result
# file is 0644 (a run folder can be shared or served), under 077 it is 0600; tempfile.mkstemp would give 0600
_NEW_FILE_MODE = 0o666
_ATTEMPTS = 100  # temporary names tried before giving up (a clash needs the same 48 random bits)


def atomic_write(path: str | Path, write: Callable[[IO[str]], None]) -> Path:
    """Call `write` on a temporary file beside `path`, flush it to disk, then rename it over `path`.

    The file gets the mode `open()` would give it: the kernel applies the process's umask when the
    temporary file is created, so no umask is read (reading it means setting it, for every thread).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)  # folders too follow the umask (0o777 before it)
    handle, temporary = _create_beside(path)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda stream: stream.write(text))


def _create_beside(path: Path) -> tuple[int, Path]:
    """A new file `.<name>.<random>.tmp` in `path`'s folder, open for writing; never an existing one."""
    for _ in range(_ATTEMPTS):
        temporary = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
        try:
            return os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0),
                           _NEW_FILE_MODE), temporary
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path} after {_ATTEMPTS} attempts")

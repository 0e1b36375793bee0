"""The command's process ends without a last full collection of the objects it is about to free."""

from __future__ import annotations

import subprocess
import sys


def test_the_program_sets_every_object_aside_from_the_collector_as_it_ends(tmp_path):
    # atexit runs after main() has raised SystemExit: what it sees is what the interpreter's finalization sees
    code = ("import atexit, gc\nfrom multifolio.cli import main\n"
            "atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0))\nmain(['plugins'])\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith("frozen True")
    assert "strategies" in done.stdout  # the command itself ran and printed

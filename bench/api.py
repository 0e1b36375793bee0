"""What a notebook waits for: `multifolio.run` in memory against a run that writes its folder.

    python bench/api.py [--bars 1000000] [--repeat 3]

The dual-portfolio example's two systems over N synthetic 1-minute bars, each case timed from the call to
its return (the cases take turns `repeat` times; the best of each is shown):
- `in memory`: `multifolio.run(config)`: checks, data, stepping, figures and summary; no file;
- `+ result.frames`: the same, then every system's trades, equity, orders and positions and the summary
  as DataFrames, as a notebook reads them;
- `writing`: `multifolio.run(config, output_dir=...)`: every file and report, as the command line writes;
- `write later`: `result.write(dir)` after an in-memory run (the files alone);
- `command line`: `multifolio run CONFIG --quiet` as a process, interpreter start and imports included.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

import multifolio

REPO = Path(__file__).resolve().parents[1]


def config(bars: int) -> dict:
    document = yaml.safe_load((REPO / "configs" / "dual_portfolio_backtest.yaml").read_text())
    document["data"]["bars"] = bars
    return document


def in_memory(document: dict, _: Path) -> None:
    multifolio.run(document)


def with_frames(document: dict, _: Path) -> None:
    result = multifolio.run(document)
    for system in result.systems.values():
        system.trades, system.equity, system.orders, system.positions  # noqa: B018 - read, as a notebook does
    result.summary  # noqa: B018


def writing(document: dict, folder: Path) -> None:
    multifolio.run(document, output_dir=folder)


def command_line(document: dict, folder: Path) -> None:
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(document))
    subprocess.run([sys.executable, "-m", "multifolio", "run", str(path), "--quiet", "--output-dir", str(folder)],
                   check=True, capture_output=True)


def timed(case, document: dict) -> float:
    folder = Path(tempfile.mkdtemp(prefix="multifolio-bench-"))
    try:
        started = time.perf_counter()
        case(document, folder)
        return time.perf_counter() - started
    finally:
        shutil.rmtree(folder)


def write_later(document: dict) -> float:
    result = multifolio.run(document)
    folder = Path(tempfile.mkdtemp(prefix="multifolio-bench-"))
    try:
        started = time.perf_counter()
        result.write(folder)
        return time.perf_counter() - started
    finally:
        shutil.rmtree(folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    document = config(args.bars)
    cases = {"in memory": lambda: timed(in_memory, document),
             "+ result.frames": lambda: timed(with_frames, document),
             "writing": lambda: timed(writing, document),
             "write later": lambda: write_later(document),
             "command line": lambda: timed(command_line, document)}
    best = dict.fromkeys(cases, float("inf"))
    for _ in range(args.repeat):
        for name, case in cases.items():
            best[name] = min(best[name], case())
    floor = best["in memory"]
    print(f"{args.bars:,} bars, two systems, best of {args.repeat}")
    for name, seconds in best.items():
        print(f"{name:16s} {seconds:7.2f} s  {seconds / floor:5.2f}× in memory")


if __name__ == "__main__":
    main()

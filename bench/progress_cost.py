"""What the progress bar costs: the same run with and without a live rich progress display.

    python bench/progress_cost.py [--bars 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rich.console import Console  # noqa: E402

from bench.peers import FAST, SIZE, SLOW, data_file  # noqa: E402
from multifolio.progress import run_progress  # noqa: E402
from multifolio.config.registry import PluginRegistry  # noqa: E402
from multifolio.running.engine import Engine  # noqa: E402
from multifolio.running.run import (
    build_container,  # noqa: E402
    validate_document,  # noqa: E402
)


def timed_run(path: Path, progress) -> float:
    registry = PluginRegistry()
    config = validate_document({
        "data": {"source": "parquet", "symbols": ["SPY"], "file_path": str(path)},
        "trading_systems": [{"name": "s", "portfolio": {"initial_capital": 1e6},
                             "strategy": {"type": "sma_crossover",
                                          "parameters": {"fast_period": FAST, "slow_period": SLOW}},
                             "risk": {"position_sizers": [{"type": "fixed", "size": SIZE}]}}]}, registry)
    root = build_container(config, registry)
    market = root.data.market()
    runners = [root.trading_system(spec=spec).runner() for spec in config.systems]
    started = time.perf_counter()
    Engine(market=market, systems=runners, progress=progress).run()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    arguments = parser.parse_args()
    path = data_file(arguments.bars)
    plain, shown = [], []
    for _ in range(arguments.repeat):
        plain.append(timed_run(path, None))
        console = Console(stderr=True, force_terminal=True)  # drawn live, as in a terminal
        with run_progress("run", console) as display:
            shown.append(timed_run(path, display.advance))
    best_plain, best_shown = min(plain), min(shown)
    print(f"{arguments.bars} bars: without progress {best_plain:.3f} s, with {best_shown:.3f} s "
          f"(best of {arguments.repeat}): {100 * (best_shown / best_plain - 1):+.1f}%")


if __name__ == "__main__":
    main()

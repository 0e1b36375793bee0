"""What coupling systems costs per bar: the dual example's two systems stepped alone, and with a book.

    python bench/book.py [--bars 1000000] [--repeat 3]

Cases, on the same synthetic minute bars (the engine only, data loaded once; the cases take turns
`repeat` times and the best of each is shown, so a machine that slows down meanwhile slows all):
- `isolated`: the two systems as shipped — the floor;
- `halting limits`: each system with `max_drawdown` and `daily_loss` (the guard at every held close);
- `allocation`: one pool, risk parity on a month of returns, weekly and on 5 % drift (the book at
  every boundary: the drift check values both systems);
- `book limits`: gross and net exposure and the combined drawdown switch (the kill switch values the
  book at every boundary; entries are checked after every bar that placed one);
- `everything`: all of the above at once.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from multifolio.config.registry import PluginRegistry  # noqa: E402
from multifolio.running.executors import run_systems  # noqa: E402
from multifolio.running.run import build_container, validate_document  # noqa: E402

HALTING = [{"type": "max_drawdown", "value": 0.9}, {"type": "daily_loss", "value": 0.5}]
ALLOCATION = {"capital": 100_000, "method": "risk_parity", "rebalance": {"every": "1W", "drift": 0.05},
              "lookback": "1M"}
BOOK_LIMITS = {"limits": {"gross_exposure": 2.0, "net_exposure": 2.0, "max_drawdown": 0.9}}


def document(bars: int, case: str) -> dict:
    base = yaml.safe_load((REPO / "configs" / "dual_portfolio_backtest.yaml").read_text())
    base["data"]["bars"] = bars
    result = copy.deepcopy(base)
    if case in ("halting limits", "everything"):
        for system in result["trading_systems"]:
            system["risk"]["limits"] = system["risk"].get("limits", []) + HALTING
    if case in ("allocation", "everything"):
        for system in result["trading_systems"]:
            del system["portfolio"]["initial_capital"]
        result["allocation"] = ALLOCATION
    if case in ("book limits", "everything"):
        result["risk"] = BOOK_LIMITS
    return result


def timed(bars: int, case: str) -> float:
    registry = PluginRegistry()
    config = validate_document(document(bars, case), registry)
    root = build_container(config, registry)
    root.data.market()  # the bars are loaded and checked before the clock starts
    started = time.perf_counter()
    run_systems(root, config.systems, book=config.book)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cases = ["isolated", "halting limits", "allocation", "book limits", "everything"]
    best = dict.fromkeys(cases, float("inf"))
    for _ in range(args.repeat):
        for case in cases:
            best[case] = min(best[case], timed(args.bars, case))
    floor = best["isolated"]
    for case, seconds in best.items():
        print(f"{case:16s} {seconds:7.2f} s  {seconds / floor:5.2f}× isolated  "
              f"{(seconds - floor) / args.bars * 1e6:+6.2f} µs a bar")


if __name__ == "__main__":
    main()

"""What orders cost per bar: the engine's steps for one system, with orders of each kind against none.

    python bench/orders.py [--bars 1000000] [--repeat 3]

Cases, on the same synthetic bars (best of `repeat`, engine only, data loaded once):
- `no orders`: buy_and_hold, one market order at the first bar — the per-bar floor;
- `full form, no orders`: a full-form strategy that does nothing — the full form's own floor;
- `full form, resting far limit`: the same placing one GTC buy limit at the first bar that never
  fills and stands the whole run — against the line above, what an order waiting to trigger costs
  on bars that cannot reach it;
- `sma crossover`: market orders on every cross;
- `sma crossover + bracket`: the same with a stop-loss and a take-profit on every entry;
- `sma crossover + trailing`: the same with a trailing stop moved at every close.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from multifolio.config.registry import PluginRegistry  # noqa: E402
from multifolio.protocols import OrderType, Strategy  # noqa: E402
from multifolio.running.engine import Engine  # noqa: E402
from multifolio.running.run import build_container, validate_document  # noqa: E402


class Idle(Strategy):
    """A full-form strategy that places nothing."""

    def on_bars(self, context):
        pass


class RestingLimit(Strategy):
    """Places one buy limit far under the first close and leaves it standing."""

    placed = False

    def on_bars(self, context):
        if not self.placed:
            self.placed = True
            context.buy("SPY", 1, type=OrderType.LIMIT, limit=context.bars["SPY"].close * 0.01)


SMA = {"type": "sma_crossover", "parameters": {"fast_period": 10, "slow_period": 30}}
CASES = {
    "no orders": ({"type": "buy_and_hold"}, []),
    "full form, no orders": (Idle, []),
    "full form, resting far limit": (RestingLimit, []),
    "sma crossover": (SMA, []),
    "sma crossover + bracket": (SMA, [{"type": "stop_loss", "percent": 0.01}, {"type": "take_profit", "percent": 0.02}]),
    "sma crossover + trailing": (SMA, [{"type": "trailing_stop", "percent": 0.01}]),
}


def timed(bars: int, strategy: dict | type, exits: list) -> float:
    registry = PluginRegistry()
    config = validate_document({
        "data": {"source": "synthetic", "symbols": ["SPY"], "bars": bars, "seed": 1},
        "trading_systems": [{"name": "s", "portfolio": {"initial_capital": 1e9},
                             "strategy": strategy if isinstance(strategy, dict) else {"type": "buy_and_hold"},
                             "risk": {"position_sizers": [{"type": "fixed", "size": 100}], "exits": exits}}]},
        registry)
    root = build_container(config, registry)
    market = root.data.market()
    system = root.trading_system(spec=config.systems[0])
    if not isinstance(strategy, dict):
        system.strategy.override(strategy())
    runner = system.runner()
    started = time.perf_counter()
    Engine(market=market, systems=[runner]).run()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    best = {name: min(timed(args.bars, *case) for _ in range(args.repeat)) for name, case in CASES.items()}
    floor = best["no orders"]
    for name, seconds in best.items():
        print(f"{name:26s} {args.bars / seconds:>10,.0f} bars/s  {seconds / floor:5.2f}× the no-order run")


if __name__ == "__main__":
    main()

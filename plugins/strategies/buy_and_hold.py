"""Buy and hold: the benchmark every strategy is compared with."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from multifolio.protocols import BarClosed, Direction, IndicatorValues, Strategy


class BuyAndHoldStrategy(Strategy):
    """Long every symbol from its first bar to the end."""

    def __init__(self) -> None:
        self._holding: set[str] = set()

    def on_bar(self, bar: BarClosed, values: IndicatorValues) -> Direction | None:
        if bar.symbol in self._holding:
            return None
        self._holding.add(bar.symbol)
        return Direction.LONG

    def signals(self, values: Mapping[str, np.ndarray], start: int = 0) -> np.ndarray:
        """`on_bar` at every bar at once: long at the first bar it sees (`start`), nothing after."""
        wanted = np.full(len(values["close"]), np.nan)
        wanted[start:start + 1] = float(Direction.LONG)
        return wanted

"""Hand-written fakes with real behaviour, put in with `provider.override(...)` as a user would."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from multifolio.protocols import BarClosed, DataSource, Direction, IndicatorValues, Strategy


class ScriptedStrategy(Strategy):
    """Emits the direction scripted for a bar number of a symbol, nothing otherwise; records what it saw."""

    def __init__(self, script: Mapping[int, Direction]) -> None:
        self.script = dict(script)
        self.seen: list[BarClosed] = []
        self._bars_of: dict[str, int] = {}

    def on_bar(self, bar: BarClosed, values: IndicatorValues) -> Direction | None:
        self.seen.append(bar)
        number = self._bars_of.get(bar.symbol, 0)
        self._bars_of[bar.symbol] = number + 1
        return self.script.get(number)


class FrameSource(DataSource):
    """Serves a prepared bars frame; counts loads so tests can see the data is read once."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.loads = 0

    def load(self) -> pd.DataFrame:
        self.loads += 1
        return self.frame.copy()

    def describe(self) -> str:
        return "test frame"

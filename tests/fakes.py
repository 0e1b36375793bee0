"""Hand-written fakes with real behaviour, put in with `provider.override(...)` as a user would."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pandas as pd

from multifolio.protocols import (
    AllocationContext,
    Allocator,
    BarClosed,
    BookView,
    Controller,
    DataSource,
    Direction,
    IndicatorValues,
    Strategy,
    TradingContext,
)


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


class ScriptedActions(Strategy):
    """A full-form strategy that runs the action scripted for a timestamp's number (its n-th call), and
    records (timestamp, symbols with a bar) for every call."""

    def __init__(self, script: Mapping[int, Callable[[TradingContext], None]], keys: tuple[str, ...] = ()) -> None:
        self.script = dict(script)
        self.keys = keys
        self.calls: list[tuple[pd.Timestamp, tuple[str, ...]]] = []

    def indicators(self) -> tuple[str, ...]:
        return self.keys

    def on_bars(self, context: TradingContext) -> None:
        number = len(self.calls)
        self.calls.append((context.timestamp, tuple(context.bars)))
        action = self.script.get(number)
        if action is not None:
            action(context)


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


class ScriptedController(Controller):
    """Starts and retires systems at the bar boundaries its script names: `{bar: [[start | retire, name]]}`;
    at `fail_at` it raises, as a buggy controller would."""

    def __init__(self, *, script: dict, fail_at: int = -1) -> None:
        self.script = {int(bar): actions for bar, actions in script.items()}
        self.fail_at = fail_at
        self.bar = 0

    def on_bar(self, book: BookView) -> None:
        if self.bar == self.fail_at:
            raise RuntimeError("the controller's own bug")
        for action, name in self.script.get(self.bar, []):
            getattr(book, action)(name)
        self.bar += 1


class CountingAllocator(Allocator):
    """Equal weights, or at the `broken_at`-th rebalance (counted from 0) what `answer` says: `raise`, or a
    value returned as is (weights that break the contract)."""

    def __init__(self, *, broken_at: int = -1, answer: str = "raise") -> None:
        self.broken_at = broken_at
        self.answer = answer
        self.calls = 0

    def weights(self, context: AllocationContext) -> dict[str, float]:
        self.calls += 1
        if self.calls - 1 == self.broken_at:
            if self.answer == "raise":
                raise ZeroDivisionError("the allocator's own bug")
            return {name: float(self.answer) for name in context.systems}
        return {name: 1 / len(context.systems) for name in context.systems}


class ScheduledWeights(Allocator):
    """The weights its `schedule` gives for each rebalance by number (from 0); the last one after that."""

    def __init__(self, *, schedule: dict) -> None:
        self.schedule = [schedule[key] for key in sorted(schedule, key=int)]
        self.calls = 0

    def weights(self, context: AllocationContext) -> dict[str, float]:
        weights = self.schedule[min(self.calls, len(self.schedule) - 1)]
        self.calls += 1
        return {name: float(weights.get(name, 0.0)) for name in context.systems}

"""Hand-written fakes with real behaviour for the book's plugins (controllers, allocators) and a halting limit.

The fakes plugin authors need too (`ScriptedStrategy`, `ScriptedActions`, `FrameSource`) are in
`multifolio.testing`; tests import them from there.
"""

from __future__ import annotations

from multifolio.protocols import AllocationContext, Allocator, BookView, Controller, RiskLimit


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


class WatchfulLimit(RiskLimit):
    """A halting limit of a plugin's that never halts and cannot look ahead: shown every close while a position is
    held."""

    action = "flatten"

    def max_position(self, context) -> float:
        return float("inf")

    def breached(self, account) -> None:
        return None

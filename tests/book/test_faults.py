"""A plugin's fault inside a book: the systems coupled with the faulty one fail with it, the others go on."""

from __future__ import annotations

from dependency_injector import providers

from multifolio.protocols import Direction
from tests.builders import backtest_config, bars_from_closes, run_in_memory, system_config
from tests.fakes import FrameSource, ScriptedStrategy


class RaisesAtBar(ScriptedStrategy):
    def __init__(self, bar: int) -> None:
        super().__init__({0: Direction.LONG})
        self.bar = bar

    def on_bar(self, bar, values):
        if len(self.seen) == self.bar:
            raise RuntimeError("a strategy's own bug")
        return super().on_bar(bar, values)


def test_a_fault_fails_every_system_of_its_book_and_no_other():
    document = backtest_config(system_config("a"), system_config("b"), system_config("alone"))
    for entry in document["trading_systems"][:2]:
        del entry["portfolio"]["initial_capital"]
    document["allocation"] = {"capital": 20_000, "method": "equal", "systems": ["a", "b"]}
    source = providers.Object(FrameSource(bars_from_closes([100.0 + i for i in range(8)], freq="1D")))
    results = {r.name: r for r in run_in_memory(document, source=source, overrides={
        "a": {"strategy": providers.Object(RaisesAtBar(3))},
        "b": {"strategy": providers.Object(ScriptedStrategy({0: Direction.LONG}))},
        "alone": {"strategy": providers.Object(ScriptedStrategy({0: Direction.LONG}))}})}
    assert results["a"].status == "failed" and "RuntimeError: a strategy's own bug" in results["a"].error
    assert results["b"].status == "failed" and results["b"].last_bar == 3
    assert results["b"].error.startswith("system 'a', coupled with this one by the book (allocation, book limits "
                                         "or controller), failed at bar 3")
    assert results["alone"].status == "completed" and results["alone"].book is None
    assert results["alone"].open_positions == {"SPY": 10.0}

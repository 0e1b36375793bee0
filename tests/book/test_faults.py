"""A plugin's fault inside a book: the systems coupled with the faulty one fail with it, the others go on."""

from __future__ import annotations

import importlib.metadata
from importlib.metadata import EntryPoint

import pytest

from multifolio.config.registry import PluginKind, PluginRegistry
from multifolio.protocols import Direction
from multifolio.testing import FrameSource, ScriptedStrategy, bars_from_closes
from tests.builders import backtest_config, run_in_memory, system_config


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
    source = FrameSource(bars_from_closes([100.0 + i for i in range(8)], freq="1D"))
    results = {r.name: r for r in run_in_memory(document, source=source, strategies={
        "a": RaisesAtBar(3),
        "b": ScriptedStrategy({0: Direction.LONG}),
        "alone": ScriptedStrategy({0: Direction.LONG})})}
    assert results["a"].status == "failed" and "RuntimeError: a strategy's own bug" in results["a"].error
    assert results["b"].status == "failed" and results["b"].last_bar == 3
    assert results["b"].error.startswith("system 'a', coupled with this one by the book (allocation, book limits "
                                         "or controller), failed at bar 3")
    assert results["alone"].status == "completed" and results["alone"].book is None
    assert results["alone"].open_positions == {"SPY": 10.0}


def registry_with(kind: PluginKind, name: str, value: str) -> PluginRegistry:
    """The installed plugins and one more, registered by entry point as a third party's would be."""
    installed = importlib.metadata.entry_points

    def entry_points(group: str):
        return [*installed(group=group), *([EntryPoint(name, value, group)] if group == kind.group else [])]

    return PluginRegistry(entry_points)


@pytest.mark.parametrize("answer, says", [("raise", "ZeroDivisionError: the allocator's own bug"),
                                          ("0.7", "returned weights summing to 1.4; at most 1"),
                                          ("nan", "returned nan for 'a'; expected a finite weight ≥ 0")])
def test_an_allocator_that_raises_or_breaks_its_contract_stops_moving_capital_and_the_systems_go_on(answer, says):
    document = backtest_config(system_config("a"), system_config("b"))
    for entry in document["trading_systems"]:
        del entry["portfolio"]["initial_capital"]
    document["allocation"] = {"capital": 20_000, "method": "counting", "rebalance": {"every": 2},
                              "parameters": {"broken_at": 1, "answer": answer}}
    source = FrameSource(bars_from_closes([100.0 + i for i in range(8)], freq="1D"))
    results = run_in_memory(document, source=source,
                            registry=registry_with(PluginKind.ALLOCATOR, "counting", "tests.fakes:CountingAllocator"))
    book = results[0].book
    assert all(result.status == "completed" for result in results)
    assert book.rebalances["bar"].tolist() == [0]  # funded at bar 0; the rebalance at bar 2 broke
    assert "allocator 'counting' raised at bar 2" in book.error and says in book.error
    assert book.transfers["bar"].tolist() == [0, 0]  # the capital stayed where the funding put it

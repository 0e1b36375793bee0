"""Limits on all the books together: pro-rata cuts of one bar's entries, whatever the systems' order."""

from __future__ import annotations

from multifolio.protocols import Direction
from multifolio.testing import FrameSource, ScriptedStrategy, bars_from_closes
from tests.builders import backtest_config, run_in_memory, system_config

CLOSES = [100.0, 100.0, 102.0, 104.0, 103.0]


def limited(sizes: dict[str, float], **limits) -> dict:
    document = backtest_config(*(system_config(name, sizers=[{"type": "fixed", "size": size}])
                                 for name, size in sizes.items()))
    document["risk"] = {"limits": limits}
    return document


def run(document: dict, script=None):
    source = FrameSource(bars_from_closes(CLOSES, freq="1D"))
    names = [entry["name"] for entry in document["trading_systems"]]
    return {result.name: result for result in run_in_memory(document, source=source, strategies={
        name: ScriptedStrategy(script or {0: Direction.LONG}) for name in names})}


def entry_quantities(results) -> dict[str, float]:
    return {name: float(result.orders["quantity"].iloc[0]) for name, result in results.items()}


def test_gross_exposure_cuts_every_entry_of_the_bar_by_the_same_share():
    # 10,000 each: 20,000 of equity, gross at most 0.5 × = 10,000. At bar 0's close (100) a asks 150 units
    # (15,000) and b 50 (5,000): 20,000 asked, half fits: 75 and 25, filled at bar 1's open
    results = run(limited({"a": 150, "b": 50}, gross_exposure=0.5))
    assert entry_quantities(results) == {"a": 75.0, "b": 25.0}
    assert [float(r.orders["requested"].iloc[0]) for r in results.values()] == [150.0, 50.0]
    assert all(r.orders["reason"].iloc[0].startswith("book limit: gross exposure 20,000.00 of all books over "
                                                     "10,000.00") for r in results.values())
    hits = results["a"].book.events
    assert hits[["bar", "event", "system"]].values.tolist() == [[0, "gross_exposure", "a"],
                                                                [0, "gross_exposure", "b"]]
    assert all(r.open_positions == {"SPY": q} for r, q in zip(results.values(), (75.0, 25.0)))


def test_the_cut_does_not_depend_on_the_order_of_the_systems_in_the_config():
    sizes = {"a": 151, "b": 37, "c": 88}
    forward = run(limited(sizes, gross_exposure=0.4, net_exposure=0.3))
    backward = run(limited(dict(reversed(sizes.items())), gross_exposure=0.4, net_exposure=0.3))
    for name in sizes:
        assert forward[name].orders.equals(backward[name].orders)
        assert forward[name].equity.equals(backward[name].equity)
    # 30,000 of equity: net SPY at most 0.3 × = 9,000 of the 27,600 asked: each × 9,000 / 27,600, whole units
    assert entry_quantities(forward) == {"a": 49.0, "b": 12.0, "c": 28.0}


def test_net_exposure_lets_an_entry_against_the_net_through_whole():
    # a buys 100 (10,000), b sells 30 short (3,000): net 7,000 over 0.5 × 20,000 = ... fits; with 0.25: cap 5,000,
    # the buys push the net: a's 100 cut so the net is 5,000: 10,000 × f − 3,000 = 5,000, f = 0.8 → 80; b whole
    document = limited({"a": 100, "b": 30}, net_exposure=0.25)
    source = FrameSource(bars_from_closes(CLOSES, freq="1D"))
    results = {r.name: r for r in run_in_memory(document, source=source, strategies={
        "a": ScriptedStrategy({0: Direction.LONG}),
        "b": ScriptedStrategy({0: Direction.SHORT})})}
    assert entry_quantities(results) == {"a": 80.0, "b": -30.0}


def test_exits_and_closing_orders_are_never_cut():
    # both long 50 within the limit, then flat at bar 2: the closing orders go through whole
    results = run(limited({"a": 50, "b": 50}, gross_exposure=0.5), script={0: Direction.LONG, 2: Direction.FLAT})
    for result in results.values():
        assert result.orders["quantity"].tolist() == [50.0, -50.0]
        assert result.open_positions == {}

"""Invariants of the book (hypothesis): over random coupled runs the books add up to the combined book and
the transfers conserve cash at every bar; no bar after t changes anything up to t; a system the book does
not couple runs as it runs alone; book limits do not depend on the systems' order in the config."""

from __future__ import annotations

import copy
import math
from unittest import mock

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from multifolio.book.book import KILL_SWITCH
from multifolio.config.registry import PluginKind, PluginRegistry
from multifolio.reports.combined import CombinedBook
from multifolio.running import engine
from multifolio.reports.writers import book_of
from multifolio.testing import FrameSource
from tests.builders import backtest_config, run_in_memory, system_config

BOOK_PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SYMBOLS = ["SPY", "QQQ"]
START = pd.Timestamp("2024-01-02")
NAMES = ["s0", "s1", "s2", "s3"]


def synthetic_bars(bars: int, seed: int) -> pd.DataFrame:
    """Daily bars of SPY and QQQ from the built-in synthetic source (loaded once per example)."""
    source = PluginRegistry().create(PluginKind.DATA_SOURCE, "synthetic", {
        "symbols": SYMBOLS, "bars": bars, "frequency": "1D", "seed": seed, "first_day": str(START.date())})
    return source.load()


STRATEGIES = st.one_of(
    st.builds(lambda fast, gap, short: {"type": "sma_crossover", "parameters": {
        "fast_period": fast, "slow_period": fast + gap, "allow_short": short}},
        st.integers(2, 10), st.integers(1, 20), st.booleans()),
    st.builds(lambda lookback, threshold, short: {"type": "momentum", "parameters": {
        "lookback_period": lookback, "momentum_threshold": threshold, "allow_short": short}},
        st.integers(1, 20), st.sampled_from([0.0, 0.002, 0.01, 0.03]), st.booleans()),
    st.builds(lambda lookback, entry, leave: {"type": "mean_reversion", "parameters": {
        "lookback_period": lookback, "entry_threshold": entry, "exit_threshold": leave}},
        st.integers(5, 20), st.sampled_from([0.5, 1.0, 1.5, 2.0]), st.sampled_from([0.0, 0.2, 0.4])),
    st.builds(lambda lookback, top, every, fraction: {"type": "rotation", "parameters": {
        "lookback": lookback, "top": top, "every": every, "fraction": fraction}},
        st.integers(2, 20), st.integers(1, 2), st.integers(1, 10), st.sampled_from([0.3, 0.6, 0.95, 1.0])),
    st.just({"type": "buy_and_hold"}),
)


@st.composite
def system_entries(draw, name: str, bars: int, *, halting: bool = True, windows: bool = True,
                   fill_at_close: bool = False) -> dict:
    """One system with random built-in plugins; maybe a halting limit and a window (`portfolio.active`)."""
    sizer = draw(st.one_of(st.builds(lambda f: {"type": "percentage", "size": f}, st.sampled_from([0.2, 0.45, 0.9])),
                           st.builds(lambda n: {"type": "fixed", "size": n}, st.integers(1, 400))))
    limits = []
    if halting and draw(st.booleans()):
        limits.append({"type": draw(st.sampled_from(["max_drawdown", "daily_loss"])),
                       "value": draw(st.sampled_from([0.02, 0.05, 0.1, 0.2])),
                       "action": draw(st.sampled_from(["flatten", "block"]))})
    exits = draw(st.lists(st.one_of(
        st.builds(lambda p: {"type": "stop_loss", "percent": p}, st.sampled_from([0.02, 0.05])),
        st.builds(lambda p: {"type": "trailing_stop", "percent": p}, st.sampled_from([0.03, 0.08])),
        st.builds(lambda n: {"type": "max_bars", "bars": n}, st.integers(2, 15))), max_size=1))
    execution = {"slippage_bps": draw(st.sampled_from([0.0, 2.0, 10.0])),
                 "commission": draw(st.sampled_from([0.0, 0.005])),
                 "fill_at": draw(st.sampled_from(["next_open", "close"])) if fill_at_close else "next_open"}
    portfolio = {}
    if windows and draw(st.booleans()):
        first = draw(st.integers(0, bars - 2))
        last = draw(st.one_of(st.none(), st.integers(first + 1, bars + 20)))
        portfolio["active"] = {"start": str((START + pd.Timedelta(days=first)).date()),
                               **({"end": str((START + pd.Timedelta(days=last)).date())} if last else {})}
    return system_config(name, strategy=draw(STRATEGIES), sizers=[sizer], limits=limits, exits=exits,
                         execution=execution, **portfolio)


@st.composite
def allocations(draw, names: list[str]) -> dict:
    """An `allocation:` block over a random non-empty subset of `names`, by a random built-in allocator."""
    systems = draw(st.lists(st.sampled_from(names), min_size=1, max_size=len(names), unique=True))
    method = draw(st.sampled_from(["fixed", "equal", "inverse_volatility", "risk_parity", "performance"]))
    block = {"capital": draw(st.sampled_from([50_000, 300_000, 1_234_567.89])), "method": method,
             "systems": systems,
             "rebalance": {"every": draw(st.one_of(st.none(), st.integers(1, 30),
                                                   st.sampled_from(["1W", "2W", "1M", "1Q"]))),
                           "drift": draw(st.one_of(st.none(), st.sampled_from([0.02, 0.05, 0.2])))},
             "lookback": draw(st.one_of(st.integers(2, 60), st.sampled_from(["1M", "3M"])))}
    if method == "fixed":
        raw = [draw(st.integers(0, 10)) for _ in systems]
        room = draw(st.sampled_from([1.0, 0.8]))
        block["weights"] = {name: room * share / max(sum(raw), 1) for name, share in zip(systems, raw)}
    if method == "performance" and draw(st.booleans()):
        block["parameters"] = {"hurdle": draw(st.sampled_from([-0.05, 0.0, 0.02]))}
    return block


@st.composite
def book_runs(draw, *, allocation: bool | None = None, limits: bool | None = None, halting: bool = True,
              windows: bool = True, count: tuple[int, int] = (2, 4)) -> tuple[dict, pd.DataFrame]:
    """A document of 2–4 systems coupled by an allocation, book limits or both, and its bars."""
    bars, seed = draw(st.integers(120, 300)), draw(st.integers(0, 10_000))
    frame = synthetic_bars(bars, seed)
    names = NAMES[:draw(st.integers(*count))]
    with_allocation = draw(st.booleans()) if allocation is None else allocation
    with_limits = (draw(st.booleans()) if with_allocation else True) if limits is None else limits
    entries = [draw(system_entries(name, bars, halting=halting, windows=windows, fill_at_close=not with_limits))
               for name in names]
    document = backtest_config(*entries, data={"source": "synthetic", "symbols": SYMBOLS, "bars": bars,
                                               "frequency": "1D", "seed": seed})
    if with_allocation:
        document["allocation"] = draw(allocations(names))
        for entry in document["trading_systems"]:
            if entry["name"] in document["allocation"]["systems"]:
                del entry["portfolio"]["initial_capital"]
    if with_limits:
        limits_block = {key: draw(st.sampled_from(values)) for key, values in (
            ("gross_exposure", [None, 0.5, 1.0, 2.0]), ("net_exposure", [None, 0.3, 1.0]),
            ("max_drawdown", [None, 0.05, 0.15, 0.3]))}
        if not any(value is not None for value in limits_block.values()):
            limits_block["gross_exposure"] = 1.0
        document["risk"] = {"limits": {key: value for key, value in limits_block.items() if value is not None}}
    return document, frame


def run(document: dict, frame: pd.DataFrame) -> dict:
    results = run_in_memory(document, source=FrameSource(frame))
    assert all(result.status == "completed" for result in results), [r.error for r in results if r.error]
    return {result.name: result for result in results}


def trading_pnl(result, frame: pd.DataFrame) -> np.ndarray:
    """The system's PnL at every bar's close rebuilt from orders.csv alone: the cash its fills paid and got,
    and what they left held at the closes (transfers are no part of it)."""
    stamps = result.equity["timestamp"].to_numpy()
    closes = frame.pivot(index="timestamp", columns="symbol", values="close").ffill().reindex(stamps)
    pnl = np.zeros(len(stamps))
    held = {symbol: np.zeros(len(stamps)) for symbol in closes.columns}
    fills = result.orders[result.orders["filled"].fillna(0) != 0]
    for fill in fills.itertuples():
        after = stamps >= np.datetime64(fill.fill_time)
        pnl[after] -= fill.filled * fill.fill_price + fill.commission
        held[fill.symbol][after] += fill.filled
    for symbol, units in held.items():
        pnl += np.where(units != 0, units * closes[symbol].to_numpy(), 0.0)
    return pnl


@BOOK_PROPERTY
@given(case=book_runs())
def test_the_books_add_up_to_the_combined_book_and_transfers_conserve_cash_at_every_bar(case):
    document, frame = case
    results = run(document, frame)
    book = book_of(list(results.values()))
    capital = float(document.get("allocation", {}).get("capital", 0.0))
    bars = len(frame["timestamp"].unique())
    transfers = book.transfers
    moved = np.zeros(bars)
    np.add.at(moved, transfers["bar"].to_numpy(), transfers["amount"].to_numpy())
    reserve = book.reserve_series(bars)
    # the reserve changes by what the transfers of each bar took out of it, and by nothing else
    change = np.diff(np.concatenate(([capital], reserve)))
    np.testing.assert_allclose(moved + change, 0.0, rtol=0, atol=1e-9 * max(capital, 1.0))

    total_equity, own_capital, total_pnl = np.zeros(bars), 0.0, np.zeros(bars)
    for name, result in results.items():
        equity = result.equity
        np.testing.assert_allclose(equity["cash"] + equity["position_value"], equity["equity"], rtol=1e-12, atol=1e-6)
        listed = np.zeros(bars)
        mine = transfers[transfers["system"] == name]
        np.add.at(listed, mine["bar"].to_numpy(), mine["amount"].to_numpy())
        if "transfers" in equity:  # equity.csv's column is what the book listed, bar by bar
            np.testing.assert_array_equal(equity["transfers"].to_numpy(), listed)
        else:
            assert not listed.any()
        pnl = trading_pnl(result, frame)
        # the ledger: its own capital, the transfers so far and its trading PnL
        scale = max(capital, result.initial_capital, 1.0)
        np.testing.assert_allclose(equity["equity"], result.initial_capital + np.cumsum(listed) + pnl,
                                   rtol=1e-9, atol=1e-9 * scale)
        total_equity += equity["equity"].to_numpy()
        own_capital += result.initial_capital
        total_pnl += pnl
    expected = capital + own_capital + total_pnl
    np.testing.assert_allclose(total_equity + reserve, expected, rtol=1e-6, atol=1e-6)

    combined = CombinedBook(list(results.values()), book).frame()
    parts = [*results] + (["reserve"] if "allocation" in document else [])
    np.testing.assert_allclose(combined["combined"], [math.fsum(row) for row in combined[parts].to_numpy()],
                               rtol=1e-12, atol=1e-6)
    if "allocation" in document:
        np.testing.assert_array_equal(combined["reserve"].to_numpy(), reserve)
    for name, result in results.items():
        np.testing.assert_array_equal(combined[name].to_numpy(), result.equity["equity"].to_numpy())


def truncated(frame: pd.DataFrame, last: pd.Timestamp) -> pd.DataFrame:
    return frame[frame["timestamp"] <= last].reset_index(drop=True)


@settings(BOOK_PROPERTY, max_examples=15)
@given(case=book_runs(), cut=st.floats(0.2, 0.95))
def test_a_run_on_bars_cut_at_n_did_exactly_what_the_full_run_did_up_to_n(case, cut):
    document, frame = case
    stamps = pd.DatetimeIndex(frame["timestamp"].unique())
    n = int(len(stamps) * cut)
    cutoff = stamps[n]
    full, short = run(document, frame), run(document, truncated(frame, cutoff))
    for name in full:
        assert_same_up_to(n, cutoff, full[name], short[name])
    book, cut_book = book_of(list(full.values())), book_of(list(short.values()))
    for table in ("transfers", "rebalances", "events"):
        before, after = getattr(book, table), getattr(cut_book, table)
        if table == "events":  # the kill switch trips at the boundary after the bar it looks at
            before = before[(before["bar"] < n) | (before["event"] != "max_drawdown")]
        # as values: the record's columns are typed by what they hold (object when empty)
        assert before[before["bar"] <= n].values.tolist() == after[after["bar"] <= n].values.tolist(), table
    np.testing.assert_array_equal(book.reserve_series(n + 1), cut_book.reserve_series(n + 1))


BOUNDARY_CAUSES = ["rebalance", KILL_SWITCH, "window_ended"]
ORDER_KEYS = ["order_id", "submitted_time", "symbol", "type", "requested", "quantity", "time_in_force",
              "parent_id", "cause"]
FILL_KEYS = ["status", "filled", "limit_price", "stop_price", "triggered_time", "fill_time", "fill_price",
             "commission", "slippage", "reason"]


def assert_same_up_to(n: int, cutoff: pd.Timestamp, full, short) -> None:
    """Up to bar n: the same equity, the same trades closed, the same orders placed (as placed and, for those
    done by then, as filled or cancelled). An order placed at n or before that was still standing at n ends
    cancelled in the cut run (its data ended), so only what it was when placed is compared."""
    equity, cut_equity = full.equity.iloc[: n + 1], short.equity
    if "transfers" in equity and "transfers" not in cut_equity:  # the cut run moved no capital in or out
        cut_equity = cut_equity.assign(transfers=0.0)
    pd.testing.assert_frame_equal(equity, cut_equity.iloc[: n + 1], check_exact=True)
    closed = full.trades[full.trades["exit_time"] <= cutoff].reset_index(drop=True)
    pd.testing.assert_frame_equal(closed, short.trades[short.trades["exit_time"] <= cutoff].reset_index(drop=True),
                                  check_exact=True)
    orders = full.orders
    # placed as of n at the boundary after it (rebalance sales, the kill switch, a window's end): decided on
    # bar n's closes, after bar n; the cut run has no boundary after its last bar
    after_n = (orders["submitted_time"] == cutoff) & orders["cause"].isin(BOUNDARY_CAUSES)
    placed = orders[(orders["submitted_time"] <= cutoff) & ~after_n].reset_index(drop=True)
    mine = short.orders.reset_index(drop=True)
    assert len(placed) == len(mine)
    pd.testing.assert_frame_equal(placed[ORDER_KEYS], mine[ORDER_KEYS], check_exact=True)
    done = ((placed["fill_time"] <= cutoff) | (placed["cancelled_time"] < cutoff)).to_numpy()
    pd.testing.assert_frame_equal(placed.loc[done, FILL_KEYS + ["cancelled_time"]],
                                  mine.loc[done, FILL_KEYS + ["cancelled_time"]], check_exact=True)


@settings(BOOK_PROPERTY, max_examples=15)
@given(case=book_runs(allocation=True, limits=False), solo=system_entries("solo", 300, windows=True))
def test_a_system_the_book_does_not_couple_runs_byte_for_byte_as_it_runs_alone(case, solo):
    document, frame = case
    solo["portfolio"]["initial_capital"] = 25_000
    alone = copy.deepcopy(document)
    del alone["allocation"]
    alone["trading_systems"] = [solo]
    beside = copy.deepcopy(document)
    beside["trading_systems"].insert(1, solo)
    [by_itself], results = run(alone, frame).values(), run(beside, frame)
    assert results["solo"].book is None and by_itself.book is None
    assert any(result.book is not None for result in results.values())
    for table in ("orders", "trades", "equity", "open_lots"):
        assert getattr(results["solo"], table).equals(getattr(by_itself, table)), table
    assert results["solo"].halts == by_itself.halts


def permuted(document: dict, order: list[int]) -> dict:
    document = copy.deepcopy(document)
    entries = document["trading_systems"]
    document["trading_systems"] = [entries[index % len(entries)] for index in order if index < len(entries)]
    return document


def assert_each_system_the_same(first: dict, second: dict) -> None:
    assert first.keys() == second.keys()
    for name, result in first.items():
        for table in ("orders", "trades", "equity"):
            pd.testing.assert_frame_equal(getattr(result, table), getattr(second[name], table), check_exact=True,
                                          obj=f"{name}.{table}")


@settings(BOOK_PROPERTY, max_examples=15)
@given(case=book_runs(allocation=False, limits=True), order=st.permutations(range(4)))
def test_book_limits_give_each_system_the_same_results_whatever_the_systems_order(case, order):
    document, frame = case
    assert_each_system_the_same(run(document, frame), run(permuted(document, order), frame))


def assert_each_system_close(first: dict, second: dict) -> None:
    assert first.keys() == second.keys()
    for name, result in first.items():
        for table in ("orders", "trades", "equity"):
            pd.testing.assert_frame_equal(getattr(result, table), getattr(second[name], table), check_exact=False,
                                          rtol=1e-9, atol=1e-9, obj=f"{name}.{table}")


@settings(BOOK_PROPERTY, max_examples=15)
@given(case=book_runs(allocation=True), order=st.permutations(range(4)))
def test_an_allocation_gives_each_system_the_same_numbers_whatever_the_systems_order_up_to_rounding(case, order):
    """Not bit for bit: the allocators work out the weights in the order of the systems (their sums and
    matrix products round differently in another order) and the reserve adds up the transfers in that
    order (takers, then givers), so another order of the config moves the numbers by an ulp or so."""
    document, frame = case
    first, second = run(document, frame), run(permuted(document, order), frame)
    assert_each_system_close(first, second)
    # a rebalance to weights a system already stands at moves rounding dust (1e-12 of a unit), in one order
    # and maybe not in another: only the transfers that move money are compared
    dust = 1e-9 * document["allocation"]["capital"]
    transfers = [table[table["amount"].abs() > dust].sort_values(["bar", "system"], kind="stable")
                 .reset_index(drop=True) for table in (book_of(list(results.values())).transfers
                                                       for results in (first, second))]
    pd.testing.assert_frame_equal(*transfers, check_exact=False, rtol=1e-9, atol=1e-6)


def stepped_bar_by_bar(document: dict) -> tuple[dict, PluginRegistry]:
    """`document` with each system's strategy stepped bar by bar through `on_bar` (its `signals` stating none),
    under a name of its own, and the registry that knows those names."""
    registry, per_bar, changed = PluginRegistry(), {}, copy.deepcopy(document)
    for entry in changed["trading_systems"]:
        kind = entry["strategy"]["type"]
        plugin = registry.load(PluginKind.STRATEGY, kind)
        if plugin.full_form():
            continue  # stepped at every bar already
        per_bar[f"{kind}_on_bar"] = type(f"{plugin.__name__}OnBar", (plugin,),
                                          {"signals": lambda self, values, start=0: None})
        entry["strategy"]["type"] = f"{kind}_on_bar"
    return changed, PluginRegistry(given={PluginKind.STRATEGY: per_bar})


@BOOK_PROPERTY
@given(case=book_runs(), chunk=st.sampled_from([1, 7, 1000]))
def test_a_book_going_from_event_to_event_gives_the_results_of_every_bar(case, chunk):
    """The book and the systems it couples visit only the bars where one of them may act (each system's next event,
    the boundary after a bar a system stepped, the book's next due boundary); the same results, to the last bit,
    as every system stepped through `on_bar` at every bar, which has the book visit every boundary. The engine's
    chunks of bars (between progress updates) as short as a bar: the next bar to visit carried over them."""
    document, frame = case
    with mock.patch.object(engine, "FEWEST_BARS_PER_CHUNK", chunk):
        jumping = run_in_memory(document, source=FrameSource(frame))
    changed, registry = stepped_bar_by_bar(document)
    every_bar = run_in_memory(changed, source=FrameSource(frame), registry=registry)
    for one, other in zip(jumping, every_bar):
        assert (one.name, one.status, one.last_bar, one.halts, one.open_positions) == (
            other.name, other.status, other.last_bar, other.halts, other.open_positions)
        for name in ("orders", "trades", "equity", "open_lots"):
            pd.testing.assert_frame_equal(getattr(one, name), getattr(other, name), check_exact=True, obj=name)
    ours, theirs = book_of(jumping), book_of(every_bar)
    for name in ("transfers", "rebalances", "events"):
        pd.testing.assert_frame_equal(getattr(ours, name), getattr(theirs, name), check_exact=True, obj=name)
    for ours_part, theirs_part in zip(ours.reserve, theirs.reserve):
        np.testing.assert_array_equal(ours_part, theirs_part)
    assert ours.error == theirs.error

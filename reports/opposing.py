"""Opposing positions across systems and what netting their orders would save: every pair at once.

A position is a step function that changes only at its system's fills, so each symbol gets a
compressed timeline of the bars at which any system's position in it changed; the bars two
systems held opposite sides, for every pair at once, are matrix products of long and short
indicators weighted by how many bars each step lasts. Same-bar crossings come from a join of
the fills of each place. Every figure is worked out a block of time at a time (`BookFills`), so
what is held at once stays bounded whatever the number of systems. Only the pairs listed (the most
opposed) get their stretches worked out.

Two variants of one sweep entry are one strategy at other settings: that they oppose says nothing
about the book, and with a sweep they would fill the list, so pairs of one entry are left out.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd

from multifolio.reports.book_fills import BookFills, FillsBlock

PAIRS_LISTED_LIMIT = 100  # pairs in the summary: the most bars opposed, then the largest saving
PERIODS_LISTED_LIMIT = 10_000  # stretches in the summary: the listed pairs', in their order
BLOCK_CELLS = 1 << 20  # systems × steps held at once while counting opposed bars: 8 MB of float64
CROSSINGS_PER_PART = 1 << 20  # pairs' crossings made at once: about 30 MB
CROSSING_COLUMNS = ("symbol", "bar", "saved")  # what the pairs listed keep of their crossings


def opposing_positions(orders: Mapping[str, pd.DataFrame], timeline: pd.DatetimeIndex,
                       entries: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Bars in which two systems held opposite positions in one symbol, and the savings of netting their
    orders bar by bar: per pair (the `PAIRS_LISTED_LIMIT` most opposed), per stretch of those pairs (at
    most `PERIODS_LISTED_LIMIT`) and for the whole book. `orders`: name → orders.csv rows (or the lean fills a
    run keeps of them), in config order.

    `entries`: swept system → the name of its sweep entry. Pairs of one entry are neither counted nor
    listed; the summary then says how many were left out (`pairs_of_one_sweep_entry`). The whole
    book's netting saving still nets every system's orders: the book sends them all.

    The fills are worked on a block of time at a time (`BookFills`): what is held at once is a block's fills and
    the crossings found, never every system's fills.
    """
    names, count = list(orders), len(orders)
    one_entry = _one_entry(names, entries or {})
    book = BookFills(orders, timeline)
    tally = _Tally(book, len(timeline))
    for block in book.blocks():
        tally.add(block)
    opposed, saving, netting = tally.finished()
    listed = _ranked_pairs(np.where(one_entry, 0, opposed), np.where(one_entry, 0.0, saving.reshape(count, count)))
    shown = listed[:PAIRS_LISTED_LIMIT]
    mine = _listed_crossings(book, count, sorted(code for first, second in shown
                                                if tally.crossed[code := first * count + second]))
    no_crossings = {column: np.zeros(0) for column in CROSSING_COLUMNS}
    held_by = _HeldBy(book)
    pairs, periods, period_count = [], [], 0
    for first, second in shown:
        crossings = mine.pop(first * count + second, no_crossings)
        # summed again in (time, symbol) order, as a per-pair sum gives, to the last bit
        pairs.append({"systems": [names[first], names[second]], "opposed_bars": int(opposed[first, second]),
                      "netting_saving": float(crossings["saved"].sum())})
        for code, (symbol, symbol_steps) in enumerate(zip(book.symbols, tally.steps)):
            if not (symbol_steps.traded[first] and symbol_steps.traded[second]):
                continue
            in_symbol = crossings["symbol"] == code
            found, stretches = _stretches(held_by(first, code), held_by(second, code), crossings["bar"][in_symbol],
                                          crossings["saved"][in_symbol], timeline, PERIODS_LISTED_LIMIT - len(periods))
            period_count += found
            periods += [{"systems": [names[first], names[second]], "symbol": symbol, **stretch}
                        for stretch in stretches]
    left_out = int(np.triu(one_entry, k=1).sum())
    found = {"periods": periods, "pairs": pairs, "netting_saving": netting,
             "pairs_total": count * (count - 1) // 2 - left_out, "pairs_with_any": len(listed),
             "pairs_listed": len(pairs), "pairs_limit": PAIRS_LISTED_LIMIT,
             "periods_of_listed_pairs": period_count, "periods_listed": len(periods),
             "periods_limit": PERIODS_LISTED_LIMIT}
    if entries:  # a run with a sweep says what it left out; one without keeps the first version's bytes
        found["pairs_of_one_sweep_entry"] = left_out
    return found


class _Tally:
    """What one pass over the book's blocks adds up: the bars each pair held opposite sides (`opposed`, systems ×
    systems), each pair's netting saving (`saving`, pair = first × systems + second) and whether it crossed at all
    (`crossed`), the book's saving at each place, and each symbol's steps."""

    def __init__(self, book: BookFills, bar_count: int) -> None:
        self.count = count = book.system_count
        self.steps = [_SymbolSteps(count, bar_count) for _ in book.symbols]
        self.opposed = np.zeros((count, count), dtype=np.int64)
        # each pair's savings added up one by one in time order, to rank the pairs (pairs that crossed alike tie
        # exactly, and keep config order)
        self.saving, self.crossed = np.zeros(count * count), np.zeros(count * count, dtype=bool)
        self.place_savings: list[np.ndarray] = []

    def add(self, block: FillsBlock) -> None:
        if self.count > 1:  # one system nets nothing: its fills of one bar and symbol are one order
            self.place_savings.append(_place_savings(block))
        for crossings in _crossings(block, self.count):
            self.saving = _added_on(self.saving, crossings["pair"], crossings["saved"])
            self.crossed[crossings["pair"]] = True
        held = np.flatnonzero(block.bar >= 0)  # fills after the book's last bar are past its timeline
        held = held[np.argsort(block.symbol[held], kind="stable")]  # symbol, then system and time as they come
        bounds = np.searchsorted(block.symbol[held], np.arange(len(self.steps) + 1))
        for code, symbol_steps in enumerate(self.steps):
            rows = held[bounds[code]:bounds[code + 1]]
            if len(rows):
                symbol_steps.add(block.system[rows], block.bar[rows], block.quantity[rows], self.opposed)

    def finished(self) -> tuple[np.ndarray, np.ndarray, float]:
        """`opposed`, `saving` and the book's netting saving, once every block is added."""
        for symbol_steps in self.steps:
            symbol_steps.finish(self.opposed)
        # summed as pandas sums a column: the figures of every place in (time, symbol) order
        netting = float(pd.Series(np.concatenate(self.place_savings or [np.zeros(0)])).sum())
        return self.opposed, self.saving, netting


def _one_entry(names: list[str], entries: Mapping[str, str]) -> np.ndarray:
    """systems × systems: True where both are variants of one sweep entry (a system is never paired with
    itself, so the diagonal does not matter)."""
    # an unswept system is an entry of its own: its code is its position, apart from every entry's
    entry_codes = {entry: len(names) + number for number, entry in enumerate(dict.fromkeys(entries.values()))}
    codes = np.array([entry_codes[entries[name]] if name in entries else number
                      for number, name in enumerate(names)], dtype=np.int64)
    return codes[:, None] == codes[None, :]


def _crossings(block: FillsBlock, count: int) -> Iterator[dict[str, np.ndarray]]:
    """Per pair of systems and (time, symbol) of the block where they traded in opposite directions, the costs
    of the crossed quantity (`saved`), in time and symbol order; `pair` is first × `count` + second, first <
    second in config order. In parts of about `CROSSINGS_PER_PART` (a place's pairs grow as the square of its
    systems).

    A netted book sends only the net of both orders to the market, so the quantity that offsets
    inside the bar pays neither commission nor slippage: each side saves its cost per unit.
    """
    buys, sells = block.sides
    # every buy against every sell at its place, buys in place order: the sells of a place are a run in `sells`
    low = np.searchsorted(block.place[sells], block.place[buys], "left")
    runs = np.searchsorted(block.place[sells], block.place[buys], "right") - low
    ends = np.cumsum(runs)
    begin = 0
    while begin < len(buys) and ends[-1]:
        # a buy's crossings stay in one part: at most one a system more than the part's share
        end = max(begin + 1, int(np.searchsorted(ends, ends[begin] - runs[begin] + CROSSINGS_PER_PART, "right")))
        part = slice(begin, end)
        buy = np.repeat(buys[part], runs[part])
        sell = sells[np.repeat(low[part], runs[part]) + np.arange(runs[part].sum())
                     - np.repeat(np.cumsum(runs[part]) - runs[part], runs[part])]
        bought, sold = block.quantity[buy], -block.quantity[sell]
        crossed = np.minimum(bought, sold)
        first = np.minimum(block.system[buy], block.system[sell])
        second = np.maximum(block.system[buy], block.system[sell])
        # int64: the pairs of more than 46,340 systems pass int32
        yield {"pair": first.astype(np.int64) * count + second, "symbol": block.symbol[buy], "bar": block.bar[buy],
               "saved": block.cost[buy] * crossed / bought + block.cost[sell] * crossed / sold}
        begin = end


def _added_on(totals: np.ndarray, pairs: np.ndarray, values: np.ndarray) -> np.ndarray:
    """`totals` with `values` added at `pairs` one by one in order: each total goes on exactly as one sum of all its
    values would (np.bincount adds its weights in order, each from 0: a total goes first, 0 + total is the total)."""
    return np.bincount(np.r_[np.arange(len(totals)), pairs], weights=np.r_[totals, values], minlength=len(totals))


def _place_savings(block: FillsBlock) -> np.ndarray:
    """What netting saves at each place of the block where the book both bought and sold, in place order: the
    crossed quantity's share of each side's costs. A side's quantities and costs at a place are added up in config
    order, Kahan-compensated, as pandas' groupby adds rows that do not come in their groups' order."""
    sides = []
    for rows in block.sides:
        starts = np.flatnonzero(np.r_[len(rows) > 0, np.diff(block.place[rows]) != 0])
        sizes = np.diff(np.append(starts, len(rows)))
        sides.append((block.place[rows][starts], _compensated_sums(block.quantity[rows], starts, sizes),
                      _compensated_sums(block.cost[rows], starts, sizes)))
    (buy_places, bought, buy_cost), (sell_places, sold, sell_cost) = sides
    _, buy, sell = np.intersect1d(buy_places, sell_places, assume_unique=True, return_indices=True)
    bought, buy_cost, sold, sell_cost = bought[buy], buy_cost[buy], -sold[sell], sell_cost[sell]
    crossed = np.minimum(bought, sold)
    return buy_cost * crossed / bought + sell_cost * crossed / sold


def _compensated_sums(values: np.ndarray, starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Each run's values (`starts`, `sizes`) added up one after the other with Kahan's compensation, NaN skipped:
    pandas' groupby sum, exactly. Vectorised over the runs: the k-th values of every run that long at once."""
    sums, compensation = np.zeros(len(starts)), np.zeros(len(starts))
    longest_first = np.argsort(-sizes, kind="stable")
    descending = sizes[longest_first]
    for rank in range(int(sizes.max(initial=0))):
        runs = longest_first[:np.searchsorted(-descending, -rank, side="left")]  # the runs longer than `rank`
        value = values[starts[runs] + rank]
        runs, value = runs[~np.isnan(value)], value[~np.isnan(value)]
        adjusted = value - compensation[runs]
        total = sums[runs] + adjusted
        lost = (total - sums[runs]) - adjusted
        compensation[runs] = np.where(np.isnan(lost), 0.0, lost)  # an infinite value: no compensation
        sums[runs] = total
    return sums


def _listed_crossings(book: BookFills, count: int, pairs: list[int]) -> dict[int, dict[str, np.ndarray]]:
    """The crossings of the `pairs` listed, found again: per pair, in time and symbol order (a hundred pairs'
    crossings, never every pair's)."""
    found: dict[int, list[dict[str, np.ndarray]]] = {pair: [] for pair in pairs}
    for block in book.blocks() if pairs else ():
        for crossings in _crossings(block, count):
            rows = np.flatnonzero(np.isin(crossings["pair"], pairs))
            rows = rows[np.argsort(crossings["pair"][rows], kind="stable")]
            bounds = np.searchsorted(crossings["pair"][rows], [*pairs, np.iinfo(np.int64).max])
            for pair, begin, end in zip(pairs, bounds[:-1], bounds[1:]):
                if end > begin:
                    found[pair].append({column: crossings[column][rows[begin:end]] for column in CROSSING_COLUMNS})
    return {pair: {column: np.concatenate([part[column] for part in parts]) for column in CROSSING_COLUMNS}
            for pair, parts in found.items()}


class _SymbolSteps:
    """Every system's position in one symbol as a step function over the bars at which any system's position in it
    changed (its points), each step lasting to the next point (the last to the end of the book), fed a block of
    fills at a time; the bars each pair held opposite sides added to `opposed` as the steps' widths become known.
    Built per run, per symbol."""

    def __init__(self, count: int, bar_count: int) -> None:
        self.traded = np.zeros(count, dtype=bool)  # who has a fill in the symbol inside the timeline
        self.held = np.zeros(count)  # each system's position from `point` on
        self.point, self.bar_count = 0, bar_count  # before the first fill every position is 0: nothing opposed

    def add(self, systems: np.ndarray, bars: np.ndarray, quantities: np.ndarray, opposed: np.ndarray) -> None:
        """A block's fills in the symbol (by system, each system's in time order; one a system and bar): the step
        before them and theirs but the last, whose width the next point sets.

        For long and short indicators L and S over the steps and their widths w, the bars opposed are
        L·diag(w)·Sᵀ + S·diag(w)·Lᵀ: a block of steps at a time, so the memory stays within `BLOCK_CELLS`."""
        self.traded[systems] = True
        traders = np.flatnonzero(self.traded)
        points = np.unique(bars)
        columns = np.searchsorted(points, bars)
        counts = np.bincount(np.searchsorted(traders, systems), minlength=len(traders))
        # (trader, step) as one ascending number a fill (the fills come by system, each system's by time): a block's
        # fills are one run of each trader's, found without reordering every fill
        firsts = np.arange(len(traders), dtype=np.int64) * len(points)
        places = np.repeat(firsts, counts) + columns
        block = max(1, BLOCK_CELLS // len(traders))
        for begin in range(0, len(points), block):
            end = min(begin + block, len(points))
            low, high = np.searchsorted(places, firsts + begin), np.searchsorted(places, firsts + end)
            runs = high - low
            inside = np.repeat(low - np.cumsum(runs) + runs, runs) + np.arange(runs.sum())
            # the positions carried in as the first column: the running sum goes on exactly as over every bar
            changes = np.zeros((len(traders), end - begin + 1))
            changes[:, 0] = self.held[traders]
            changes[np.repeat(np.arange(len(traders)), runs), columns[inside] - begin + 1] = quantities[inside]
            steps = np.cumsum(changes, axis=1)
            _add_opposed(opposed, traders, steps[:, :-1], np.diff(np.r_[self.point, points[begin:end]]))
            self.held[traders], self.point = steps[:, -1], int(points[end - 1])

    def finish(self, opposed: np.ndarray) -> None:
        """The last step, to the end of the book."""
        traders = np.flatnonzero(self.traded)
        _add_opposed(opposed, traders, self.held[traders][:, None], np.array([self.bar_count - self.point]))


def _add_opposed(opposed: np.ndarray, traders: np.ndarray, steps: np.ndarray, widths: np.ndarray) -> None:
    """Add to `opposed` the bars each pair of `traders` held opposite sides over `steps` (traders × steps) lasting
    `widths` bars."""
    long_bars = (steps > 0) * widths.astype(np.float64)
    both = long_bars @ (steps < 0).T.astype(np.float64)
    opposed[np.ix_(traders, traders)] += np.rint(both + both.T).astype(np.int64)


class _HeldBy:
    """A system's fills in a symbol inside the timeline, all of them grouped (for the pairs listed): bars and
    quantities; the last few systems' kept, as the listed pairs share systems."""

    def __init__(self, book: BookFills) -> None:
        self.book = book
        self.of_system = functools.lru_cache(maxsize=8)(book.of_system)

    def __call__(self, system: int, code: int) -> tuple[np.ndarray, np.ndarray]:
        fills = self.of_system(system)
        mine = (fills.symbol == code) & (fills.bar >= 0)
        return fills.bar[mine], fills.quantity[mine]


def _stretches(first: tuple[np.ndarray, np.ndarray], second: tuple[np.ndarray, np.ndarray], where: np.ndarray,
               saved: np.ndarray, timeline: pd.DatetimeIndex, limit: int) -> tuple[int, list[dict[str, Any]]]:
    """How many stretches of bars two systems held opposite positions in one symbol, given each one's fills in it
    (bars, quantities), and the first `limit` of them in time order, each with the netting saving inside it of the
    pair's crossings in this symbol (`saved` at bars `where`, in time order; −1 after the book's last bar).

    The steps are those of the two systems' own fills: a stretch begins and ends where one of them trades, and each
    position is the running sum of its own fills, as over every bar."""
    points = np.union1d(first[0], second[0])
    held_a, held_b = (np.cumsum(np.bincount(np.searchsorted(points, bars), weights=quantities, minlength=len(points)))
                      for bars, quantities in (first, second))
    opposed = np.sign(held_a) * np.sign(held_b) < 0
    edges = np.diff(np.concatenate(([0], opposed.astype(np.int8), [0])))
    begins, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)  # steps [begin, end)
    found = len(begins)
    begins, ends = begins[:max(0, limit)], ends[:max(0, limit)]
    if not len(begins):
        return found, []
    bounds = np.append(points, len(timeline))  # step k covers bars bounds[k] to bounds[k + 1] − 1
    starts, stops = bounds[begins], bounds[ends]
    # the largest hedge of each stretch: a maximum over [begin, end), the steps between left out
    hedged = np.append(np.where(opposed, np.minimum(np.abs(held_a), np.abs(held_b)), -np.inf), -np.inf)
    largest = np.maximum.reduceat(hedged, np.column_stack([begins, ends]).ravel())[::2]
    # the bar after a stretch holds the fill that ended it: its crossing counts too
    inside = where >= 0
    where, saved = where[inside], saved[inside]
    low, high = np.searchsorted(where, starts, "left"), np.searchsorted(where, stops, "right")
    return found, [{"start": start.isoformat(), "end": end.isoformat(), "bars": int(stop - begin_bar),
                    "max_hedged_quantity": float(hedge), "netting_saving": float(saved[lo:hi].sum())}
                   for start, end, begin_bar, stop, hedge, lo, hi in zip(
                       timeline[starts], timeline[stops - 1], starts, stops, largest, low, high)]


def _ranked_pairs(opposed: np.ndarray, saving: np.ndarray) -> list[tuple[int, int]]:
    """Every pair (first, second in config order) with any bar opposed or any saving: the most bars
    opposed first, then the largest saving, then config order."""
    first, second = np.nonzero(np.triu((opposed > 0) | (saving > 0), k=1))
    order = np.lexsort((-saving[first, second], -opposed[first, second]))  # stable: ties keep config order
    return list(zip(first[order].tolist(), second[order].tolist()))

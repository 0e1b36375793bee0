"""Opposing positions across systems and what netting their orders would save: every pair at once.

A position is a step function that changes only at its system's fills, so each symbol gets a
compressed timeline of the bars at which any system's position in it changed; the bars two
systems held opposite sides, for every pair at once, are matrix products of long and short
indicators weighted by how many bars each step lasts. Same-bar crossings come from one join
of all fills. Only the pairs listed (the most opposed) get their stretches worked out.

Two variants of one sweep entry are one strategy at other settings: that they oppose says nothing
about the book, and with a sweep they would fill the list, so pairs of one entry are left out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd

PAIRS_LISTED_LIMIT = 100  # pairs in the summary: the most bars opposed, then the largest saving
PERIODS_LISTED_LIMIT = 10_000  # stretches in the summary: the listed pairs', in their order
BLOCK_CELLS = 1 << 20  # systems × steps held at once while counting opposed bars: 8 MB of float64


def opposing_positions(orders: Mapping[str, pd.DataFrame], timeline: pd.DatetimeIndex,
                       entries: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Bars in which two systems held opposite positions in one symbol, and the savings of netting their
    orders bar by bar: per pair (the `PAIRS_LISTED_LIMIT` most opposed), per stretch of those pairs (at
    most `PERIODS_LISTED_LIMIT`) and for the whole book. `orders`: name → orders.csv rows, in config order.

    `entries`: swept system → the name of its sweep entry. Pairs of one entry are neither counted nor
    listed; the summary then says how many were left out (`pairs_of_one_sweep_entry`). The whole
    book's netting saving still nets every system's orders: the book sends them all.
    """
    names, count = list(orders), len(orders)
    one_entry = _one_entry(names, entries or {})
    fills = _Fills(orders, timeline)
    netting = _book_netting_saving(fills)  # first: what it groups is let go before the steps are made
    crossings = _crossings(fills)
    by_symbol = np.argsort(fills.symbol, kind="stable")  # symbol, then system and time as before
    bounds = np.searchsorted(fills.symbol[by_symbol], np.arange(len(fills.symbols) + 1))
    steps = {symbol: _SymbolSteps(fills, by_symbol[bounds[code]:bounds[code + 1]], len(timeline))
             for code, symbol in enumerate(fills.symbols)}
    opposed = np.zeros((count, count), dtype=np.int64)
    for symbol_steps in steps.values():
        symbol_steps.add_opposed_bars(opposed)
    # np.add.at's sum, faster: each pair's savings added up one by one in time order, to rank the pairs
    # (pairs that crossed alike tie exactly, and keep config order)
    saving = np.bincount(crossings["pair"], weights=crossings["saved"], minlength=count * count)
    listed = _ranked_pairs(np.where(one_entry, 0, opposed), np.where(one_entry, 0.0, saving.reshape(count, count)))
    shown = listed[:PAIRS_LISTED_LIMIT]
    mine = _listed_crossings(crossings, [first * count + second for first, second in shown])
    pairs, periods, period_count = [], [], 0
    for first, second in shown:
        rows = slice(*np.searchsorted(mine["pair"], [first * count + second, first * count + second + 1]))
        # summed again in (time, symbol) order, as a per-pair sum gives, to the last bit
        pairs.append({"systems": [names[first], names[second]], "opposed_bars": int(opposed[first, second]),
                      "netting_saving": float(mine["saved"][rows].sum())})
        for code, (symbol, symbol_steps) in enumerate(steps.items()):
            if not (symbol_steps.trades(first) and symbol_steps.trades(second)):
                continue
            in_symbol = mine["symbol"][rows] == code
            found, stretches = symbol_steps.stretches(first, second, mine["bar"][rows][in_symbol],
                                                      mine["saved"][rows][in_symbol], timeline,
                                                      PERIODS_LISTED_LIMIT - len(periods))
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


def _one_entry(names: list[str], entries: Mapping[str, str]) -> np.ndarray:
    """systems × systems: True where both are variants of one sweep entry (a system is never paired with
    itself, so the diagonal does not matter)."""
    # an unswept system is an entry of its own: its code is its position, apart from every entry's
    entry_codes = {entry: len(names) + number for number, entry in enumerate(dict.fromkeys(entries.values()))}
    codes = np.array([entry_codes[entries[name]] if name in entries else number
                      for number, name in enumerate(names)], dtype=np.int64)
    return codes[:, None] == codes[None, :]


# what opposing positions read of each order that filled, in whole or in part (a volume-capped one at its last
# fill's time): its time, symbol, quantity and costs (commission + slippage)
FILL_COLUMNS = ["fill_time", "symbol", "filled", "cost"]


def fills_read(orders: pd.DataFrame) -> pd.DataFrame:
    """What opposing positions read of a system's orders (`FILL_COLUMNS`, of the orders that filled), new arrays,
    the symbols a category: what a run keeps of a system's orders for its summary once its folder is written
    (25 bytes an order filled). Given fills it read before, it gives them back."""
    if list(orders.columns) == FILL_COLUMNS:
        return orders
    filled = orders.loc[(orders["filled"].fillna(0.0) != 0).to_numpy(),
                        ["fill_time", "symbol", "filled", "commission", "slippage"]]
    return pd.DataFrame({"fill_time": filled["fill_time"].array, "symbol": pd.Categorical(filled["symbol"]),
                         "filled": filled["filled"].to_numpy(),
                         "cost": (filled["commission"] + filled["slippage"]).to_numpy()})


class _Fills:
    """Every system's filled orders, one row per (system, time, symbol) in that order, fills of one
    system in one bar and symbol added up; as a frame and as arrays. Built once per summary."""

    def __init__(self, orders: Mapping[str, pd.DataFrame], timeline: pd.DatetimeIndex) -> None:
        frames = list(orders.values())
        self.system_count = len(frames)
        # the columns read of the rows read, a system at a time (the orders of a thousand busy systems are gigabytes)
        mine = [fills_read(frame) for frame in frames]
        self.symbols = sorted({str(symbol) for fills in mine for symbol in fills["symbol"].unique()})
        # grouped a system at a time where that adds up exactly as grouping them all at once (a million fills at
        # once took 200 MB): pandas adds a group with numpy's reduceat when the rows come in the groups' order and
        # no figure is missing, anywhere in the frame, else one value after the other; so each system's fills
        # must come in order, none missing, else all are grouped at once
        def keyed() -> Iterator[pd.DataFrame]:  # made one at a time, as they are read
            return (_keyed(fills, number, self.symbols) for number, fills in enumerate(mine))

        groups = []
        for table in keyed():
            if not _in_key_order(table):
                groups = [_columns(_grouped(pd.concat(keyed(), ignore_index=True)))]
                break
            groups.append(_columns(_grouped(table)))
        groups = groups or [_columns(_grouped(_keyed(pd.DataFrame(columns=FILL_COLUMNS), 0, [])))]
        # joined a column at a time, each system's part of it let go once joined: the groups and the whole are never
        # both held whole (the whole is 32 bytes a fill)
        self.frame = pd.DataFrame({name: _joined([group.pop(name) for group in groups]) for name in list(groups[0])},
                                  copy=False)
        self.system = self.frame["system"].to_numpy()
        self.quantity = self.frame["quantity"].to_numpy()
        self.cost = self.frame["cost"].to_numpy()
        self.symbol = self.frame["symbol"].to_numpy()
        times = pd.DatetimeIndex(self.frame["time"]) if len(self.frame) else timeline[:0]  # none: the timeline's kind
        codes, uniques = pd.factorize(times, sort=True)
        self.time = codes.astype(np.int32)  # codes in time order
        # each time's bar found once, not once a fill; −1: after the book's last bar (a system interrupted later)
        self.bar = _bars_of(pd.DatetimeIndex(uniques), timeline).astype(np.int32)[self.time]


def _keyed(fills: pd.DataFrame, system: int, symbols: list[str]) -> pd.DataFrame:
    """One system's fills (`FILL_COLUMNS`) with the keys they are grouped by: the system, the time and the symbol
    as its code in `symbols` (sorted: codes sort and group as the names do); their quantities and costs."""
    return pd.DataFrame({
        "system": np.full(len(fills), system, dtype=np.int32), "time": pd.DatetimeIndex(fills["fill_time"]),
        "symbol": pd.Categorical(fills["symbol"].astype(str), categories=symbols).codes.astype(np.int32),
        "quantity": fills["filled"].astype(float).to_numpy(), "cost": fills["cost"].astype(float).to_numpy(),
    })


def _grouped(table: pd.DataFrame) -> pd.DataFrame:
    """`_keyed` fills, one row per (system, time, symbol) in that order, their quantities and costs added up."""
    return table.groupby(["system", "time", "symbol"], as_index=False, sort=True).sum()


def _columns(table: pd.DataFrame) -> dict[str, Any]:
    """`table`'s columns as arrays of their own (a frame's columns of one dtype share one block: one of them kept
    would keep the others)."""
    return {name: table[name].array.copy() if name == "time" else table[name].to_numpy(copy=True) for name in table}


def _joined(parts: list[Any]) -> Any:
    """One column of every system's `_columns`, end to end."""
    if isinstance(parts[0], np.ndarray):
        return np.concatenate(parts)
    return pd.concat([pd.Series(part, copy=False) for part in parts], ignore_index=True).array  # times, zone kept


def _in_key_order(table: pd.DataFrame) -> bool:
    """Whether a system's `_keyed` fills come in (time, symbol) order, ties allowed, every one with its time and
    figures."""
    if table["time"].isna().any() or table[["quantity", "cost"]].isna().to_numpy().any():
        return False
    time, symbol = pd.DatetimeIndex(table["time"]).asi8, table["symbol"].to_numpy()  # a zone's too
    later, same = np.diff(time) > 0, np.diff(time) == 0
    return bool(np.all(later | (same & (np.diff(symbol) >= 0))))


def _bars_of(times: pd.DatetimeIndex, timeline: pd.DatetimeIndex) -> np.ndarray:
    """Each time's bar in the timeline, −1 where it has none: `timeline.get_indexer(times)` for a sorted timeline
    of unique times, found by bisection (get_indexer hashes all of a million-bar timeline for a few fills)."""
    at = timeline.searchsorted(times)
    known = np.zeros(len(times), dtype=bool)
    inside = np.flatnonzero(at < len(timeline))
    known[inside] = timeline[at[inside]] == times[inside]
    return np.where(known, at, -1)


def _crossings(fills: _Fills) -> dict[str, np.ndarray]:
    """Per pair of systems and (time, symbol) where they traded in opposite directions, the costs of the
    crossed quantity (`saved`), in time and symbol order; `pair` is first × systems + second, first <
    second in config order.

    A netted book sends only the net of both orders to the market, so the quantity that offsets
    inside the bar pays neither commission nor slippage: each side saves its cost per unit.
    """
    place = fills.time.astype(np.int64) * max(1, len(fills.symbols)) + fills.symbol  # one number per (time, symbol)
    buys, sells = np.flatnonzero(fills.quantity > 0), np.flatnonzero(fills.quantity < 0)
    buys, sells = buys[np.argsort(place[buys], kind="stable")], sells[np.argsort(place[sells], kind="stable")]
    # every buy against every sell at its place, buys in place order: the sells of a place are a run in `sells`
    low, high = np.searchsorted(place[sells], place[buys], "left"), np.searchsorted(place[sells], place[buys], "right")
    runs = high - low
    buy = np.repeat(buys, runs)
    sell = sells[np.repeat(low, runs) + np.arange(runs.sum()) - np.repeat(np.cumsum(runs) - runs, runs)]
    bought, sold = fills.quantity[buy], -fills.quantity[sell]
    crossed = np.minimum(bought, sold)
    first, second = np.minimum(fills.system[buy], fills.system[sell]), np.maximum(fills.system[buy], fills.system[sell])
    # int64: the pairs of more than 46,340 systems pass int32
    return {"pair": first.astype(np.int64) * fills.system_count + second, "time": fills.time[buy],
            "symbol": fills.symbol[buy],
            "bar": fills.bar[buy], "saved": fills.cost[buy] * crossed / bought + fills.cost[sell] * crossed / sold}


def _listed_crossings(crossings: dict[str, np.ndarray], pairs: list[int]) -> dict[str, np.ndarray]:
    """The crossings of the `pairs` listed, sorted by pair, then time and symbol as they come."""
    rows = np.flatnonzero(np.isin(crossings["pair"], pairs))
    rows = rows[np.argsort(crossings["pair"][rows], kind="stable")]
    return {column: values[rows] for column, values in crossings.items()}


class _SymbolSteps:
    """Every system's position in one symbol as a step function over the symbol's compressed timeline:
    `points` are the bars at which any system's position changed, `widths` how many bars each step lasts
    (to the next point, the last to the end of the book). Built per run, per symbol."""

    def __init__(self, fills: _Fills, rows: np.ndarray, bar_count: int) -> None:
        # fills after the book's last bar (a system interrupted later than another) are past its timeline
        mine = rows[fills.bar[rows] >= 0]
        self.systems = fills.system[mine]  # sorted, and by time within a system
        self.points = np.unique(fills.bar[mine])
        self.widths = np.diff(np.append(self.points, bar_count))
        self.columns = np.searchsorted(self.points, fills.bar[mine]).astype(np.int32)
        self.quantities = fills.quantity[mine]

    def _rows(self, system: int) -> slice:
        return slice(*np.searchsorted(self.systems, [system, system + 1]))

    def trades(self, system: int) -> bool:
        rows = self._rows(system)
        return rows.stop > rows.start

    def held(self, system: int) -> np.ndarray:
        """`system`'s position over each step (after the fills at its first bar)."""
        rows = self._rows(system)
        changes = np.zeros(len(self.points))
        changes[self.columns[rows]] = self.quantities[rows]
        return np.cumsum(changes)  # a running sum in time order, exactly as over every bar

    def add_opposed_bars(self, opposed: np.ndarray) -> None:
        """Add to `opposed` (systems × systems) the bars in which each pair held opposite sides:
        L·diag(w)·Sᵀ + S·diag(w)·Lᵀ for long and short indicators L and S, w the steps' widths; a block of
        steps at a time, so the memory stays within `BLOCK_CELLS` whatever the number of steps."""
        traders, counts = np.unique(self.systems, return_counts=True)
        # (trader, step) as one ascending number a fill (the fills come by system, each system's by time): a block's
        # fills are one run of each trader's, found without reordering every fill
        firsts = np.arange(len(traders), dtype=np.int64) * len(self.points)
        places = np.repeat(firsts, counts) + self.columns
        block = max(1, BLOCK_CELLS // max(1, len(traders)))
        held = np.zeros(len(traders))
        for begin in range(0, len(self.points), block):
            end = min(begin + block, len(self.points))
            low, high = np.searchsorted(places, firsts + begin), np.searchsorted(places, firsts + end)
            runs = high - low
            inside = np.repeat(low - np.cumsum(runs) + runs, runs) + np.arange(runs.sum())
            # the position carried in as the first column: the running sum goes on exactly as unblocked
            changes = np.zeros((len(traders), end - begin + 1))
            changes[:, 0] = held
            rows = np.repeat(np.arange(len(traders)), runs)
            changes[rows, self.columns[inside] - begin + 1] = self.quantities[inside]
            steps = np.cumsum(changes, axis=1)[:, 1:]
            held = steps[:, -1]
            long_bars = (steps > 0) * self.widths[begin:end].astype(np.float64)
            both = long_bars @ (steps < 0).T.astype(np.float64)
            opposed[np.ix_(traders, traders)] += np.rint(both + both.T).astype(np.int64)

    def stretches(self, first: int, second: int, where: np.ndarray, saved: np.ndarray, timeline: pd.DatetimeIndex,
                  limit: int) -> tuple[int, list[dict[str, Any]]]:
        """How many stretches of bars `first` and `second` held opposite positions in, and the first
        `limit` of them in time order, each with the netting saving inside it of the pair's crossings in
        this symbol (`saved` at bars `where`, in time order; −1 after the book's last bar)."""
        held_a, held_b = self.held(first), self.held(second)
        opposed = np.sign(held_a) * np.sign(held_b) < 0
        edges = np.diff(np.concatenate(([0], opposed.astype(np.int8), [0])))
        begins, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)  # steps [begin, end)
        found = len(begins)
        begins, ends = begins[:max(0, limit)], ends[:max(0, limit)]
        if not len(begins):
            return found, []
        bounds = np.append(self.points, len(timeline))  # step k covers bars bounds[k] to bounds[k + 1] − 1
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


def _book_netting_saving(fills: _Fills) -> float:
    """What the whole book would have saved by sending only each bar's net order per symbol. Nothing with one
    system: its fills of one bar and symbol are added up into one, which crosses nothing."""
    if fills.system_count < 2 or fills.frame.empty:
        return 0.0
    frame = fills.frame
    buys, sells = _sums_by_place(frame[frame["quantity"] > 0]), _sums_by_place(frame[frame["quantity"] < 0])
    side = pd.DataFrame({"bought": buys["quantity"], "buy_cost": buys["cost"],
                         "sold": -sells["quantity"], "sell_cost": sells["cost"]}).dropna()
    crossed = np.minimum(side["bought"], side["sold"])
    return float((side["buy_cost"] * crossed / side["bought"] + side["sell_cost"] * crossed / side["sold"]).sum())


def _sums_by_place(fills: pd.DataFrame) -> dict[str, pd.Series]:
    """The quantities and costs of `fills` added up per (time, symbol): one side's rows, grouped and let go before
    the other side's are selected."""
    grouped = fills.groupby(["time", "symbol"])
    return {"quantity": grouped["quantity"].sum(), "cost": grouped["cost"].sum()}

"""Every system's filled orders, grouped per (system, time, symbol), handed out a block of time at a time.

Opposing positions and the book's netting compare every system's fills at each bar. Holding every fill of
every system at once, with what is made from them, took about 100 bytes a fill: gigabytes for a thousand
busy systems. The book reads each system's fills where they are (the lean table a run keeps of its orders)
and hands them out a block of time at a time, every system's fills of the block together, so what is worked
on at once stays near `FILLS_PER_BLOCK` fills whatever the number of systems.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping

import numpy as np
import pandas as pd

FILLS_PER_BLOCK = 1 << 18  # fills of every system worked on at once: 8 MB a column
_NOT_A_TIME = np.iinfo(np.int64).min  # NaT's nanoseconds

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


def nanoseconds(times: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """Times as int64 nanoseconds since the epoch (UTC for a zone's), a view where they are already that."""
    return pd.DatetimeIndex(times).as_unit("ns").asi8


class SystemFills:
    """One system's fills in (time, symbol) order, each a row of its lean table: views of the table where its fills
    come in that order, none without a time or figures, else its fills grouped on their own first (pandas' groupby
    of this system alone: its figures never depend on another system's).

    `codes` are the table's symbol codes, `lookup` each code's place in the book's `symbols`."""

    def __init__(self, fills: pd.DataFrame, symbols: list[str]) -> None:
        symbol = pd.Categorical(fills["symbol"].astype(str)) if fills["symbol"].dtype != "category" \
            else fills["symbol"].array
        self.lookup = np.array([symbols.index(str(name)) if str(name) in symbols else -1
                                for name in symbol.categories], dtype=np.int32)
        self.time, self.codes = nanoseconds(fills["fill_time"]), symbol.codes
        self.quantity = fills["filled"].to_numpy(dtype=np.float64)
        self.cost = fills["cost"].to_numpy(dtype=np.float64)
        if not self._in_order():
            grouped = pd.DataFrame({
                "time": pd.DatetimeIndex(fills["fill_time"]), "symbol": self.lookup[self.codes],
                "quantity": self.quantity, "cost": self.cost,
            }).groupby(["time", "symbol"], as_index=False, sort=True).sum()  # NaT left out, NaN skipped
            self.time, self.codes = nanoseconds(grouped["time"]), grouped["symbol"].to_numpy(dtype=np.int32)
            self.lookup = np.arange(len(symbols), dtype=np.int32)
            self.quantity, self.cost = grouped["quantity"].to_numpy(), grouped["cost"].to_numpy()

    def _in_order(self) -> bool:
        if (self.time == _NOT_A_TIME).any() or np.isnan(self.quantity).any() or np.isnan(self.cost).any():
            return False
        step = np.diff(self.time)
        return bool(np.all((step > 0) | ((step == 0) & (np.diff(self.lookup[self.codes]) >= 0))))

    def between(self, low: int | None, high: int | None) -> slice:
        """The rows from `low` to before `high` (nanoseconds; None: from the first, to the last)."""
        return slice(0 if low is None else int(np.searchsorted(self.time, low)),
                     len(self.time) if high is None else int(np.searchsorted(self.time, high)))


class FillsBlock:
    """Every system's fills of a block of time, one row per (system, time, symbol) in that order, the quantities
    and costs of a system's fills in one bar and symbol added up (numpy's reduceat, as pandas' groupby adds a
    system's fills that come in order). `bar`: the time's bar in the timeline, −1 where it has none (after the
    book's last bar: a system interrupted later than another); `place`: one ascending number per (time, symbol)
    within the block."""

    def __init__(self, systems: list[tuple[int, SystemFills, slice]], stamps: np.ndarray, symbol_count: int) -> None:
        """`systems`: (number, fills, the rows of the block: a slice of whole numbers) of every system."""
        system = np.repeat(np.array([number for number, _, _ in systems], dtype=np.int32),
                           [rows.stop - rows.start for _, _, rows in systems])

        def joined(part: Callable[[SystemFills, slice], np.ndarray], dtype: type) -> np.ndarray:
            return np.concatenate([part(fills, rows) for _, fills, rows in systems] or [np.zeros(0, dtype)])

        time = joined(lambda fills, rows: fills.time[rows], np.int64)
        symbol = joined(lambda fills, rows: fills.lookup[fills.codes[rows]], np.int32)
        changed = (np.diff(system) != 0) | (np.diff(time) != 0) | (np.diff(symbol) != 0)
        starts = np.flatnonzero(np.r_[len(time) > 0, changed])
        self.system, self.time, self.symbol = system[starts], time[starts], symbol[starts]
        self.quantity, self.cost = (np.add.reduceat(joined(part, np.float64), starts) if len(starts) else np.zeros(0)
                                    for part in (lambda fills, rows: fills.quantity[rows],
                                                 lambda fills, rows: fills.cost[rows]))
        times, codes = np.unique(self.time, return_inverse=True)
        self.bar = bars_of(times, stamps).astype(np.int32)[codes]  # each time's bar found once, not once a fill
        self.place = codes.astype(np.int64) * max(1, symbol_count) + self.symbol

    def __len__(self) -> int:
        return len(self.system)

    @functools.cached_property
    def sides(self) -> tuple[np.ndarray, np.ndarray]:
        """The rows of the buys and of the sells, each in place order, those of one place in the block's order
        (config order): found once for the book's netting and the pairs' crossings."""
        return tuple(rows[np.argsort(self.place[rows], kind="stable")]
                     for rows in (np.flatnonzero(self.quantity > 0), np.flatnonzero(self.quantity < 0)))


def bars_of(times: np.ndarray, stamps: np.ndarray) -> np.ndarray:
    """Each time's bar among the sorted, unique `stamps` (nanoseconds both), −1 where it has none."""
    at = np.searchsorted(stamps, times)
    known = np.zeros(len(times), dtype=bool)
    inside = np.flatnonzero(at < len(stamps))
    known[inside] = stamps[at[inside]] == times[inside]
    return np.where(known, at, -1)


class BookFills:
    """Every system's fills (`orders`: name → orders.csv rows or lean fills, in config order), a block at a time."""

    def __init__(self, orders: Mapping[str, pd.DataFrame], timeline: pd.DatetimeIndex) -> None:
        read = [fills_read(frame) for frame in orders.values()]
        self.system_count = len(read)
        self.symbols = sorted({str(symbol) for fills in read for symbol in fills["symbol"].unique()})
        self.systems = [SystemFills(fills, self.symbols) for fills in read]
        self.stamps = nanoseconds(timeline)

    def blocks(self) -> Iterator[FillsBlock]:
        """Every fill, in blocks of consecutive times of about `FILLS_PER_BLOCK` fills (all fills of one time are
        in one block), in time order."""
        bounds = [None, *self._cuts(), None]
        for low, high in zip(bounds[:-1], bounds[1:]):
            yield FillsBlock([(number, fills, fills.between(low, high)) for number, fills in enumerate(self.systems)],
                             self.stamps, len(self.symbols))

    def _cuts(self) -> list[int]:
        """The times at which blocks begin, after the first: quantiles of a sample of every system's fill times."""
        total = sum(len(fills.time) for fills in self.systems)
        count = -(-total // FILLS_PER_BLOCK)
        if count < 2:
            return []
        every = max(1, total // (count * 64))  # about 64 samples a block
        sample = np.sort(np.concatenate([fills.time[every - 1::every] for fills in self.systems]))
        return np.unique(sample[(np.arange(1, count) * len(sample)) // count]).tolist()

    def of_system(self, number: int) -> FillsBlock:
        """All of one system's fills, grouped as in the blocks."""
        fills = self.systems[number]
        return FillsBlock([(number, fills, slice(0, len(fills.time)))], self.stamps, len(self.symbols))

"""Figures across systems: correlations, drawdown contributions, opposing positions and netting savings."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from multifolio.reports.metrics import drawdowns


def correlations(equity: pd.DataFrame, capital: Mapping[str, float]) -> dict[str, dict[str, dict[str, float]]]:
    """Pearson correlation of the systems' returns at the data's frequency and per calendar day.

    `equity` holds `timestamp` and one equity column per system; the first return of
    each is taken against its initial capital, as in the metrics.
    """
    names = list(capital)
    stamps = pd.DatetimeIndex(equity["timestamp"])
    values = equity[names].set_axis(stamps)
    daily = values.groupby(stamps.normalize()).last()
    return {"bar": _correlation(_returns(values, capital)), "daily": _correlation(_returns(daily, capital))}


def _returns(values: pd.DataFrame, capital: Mapping[str, float]) -> pd.DataFrame:
    before = values.shift(1)
    before.iloc[0] = [capital[name] for name in values.columns]
    return values / before - 1.0


def _correlation(returns: pd.DataFrame) -> dict[str, dict[str, float]]:
    matrix = returns.corr() if len(returns) > 1 else pd.DataFrame(np.nan, returns.columns, returns.columns)
    return {row: {column: float(matrix.loc[row, column]) for column in matrix.columns} for row in matrix.index}


def drawdown_contributions(equity: pd.DataFrame, names: list[str]) -> dict[str, Any]:
    """Each system's equity change from the combined book's peak to its deepest trough.

    The changes add up to the combined drawdown in currency; `share` is each one's part of it
    (positive: the system deepened the drawdown).
    """
    combined = equity[names].sum(axis=1)
    depth = drawdowns(combined)
    trough = int(np.argmin(depth))
    peak = int(np.argmax(combined.to_numpy()[:trough + 1]))
    loss = float(combined.iloc[trough] - combined.iloc[peak])
    stamps = pd.DatetimeIndex(equity["timestamp"])
    by_system = {}
    for name in names:
        change = float(equity[name].iloc[trough] - equity[name].iloc[peak])
        by_system[name] = {"change": change, "share": change / loss if loss < 0 else 0.0}
    return {"peak_time": stamps[peak].isoformat(), "trough_time": stamps[trough].isoformat(),
            "combined_change": loss, "depth": float(depth[trough]), "by_system": by_system}


def _fills(orders: pd.DataFrame) -> pd.DataFrame:
    """Filled orders with their cost per unit traded (commission + slippage)."""
    filled = orders[orders["status"] == "filled"]
    fills = pd.DataFrame({"time": pd.DatetimeIndex(filled["fill_time"]), "symbol": filled["symbol"].astype(str),
                          "quantity": filled["quantity"].astype(float),
                          "cost": (filled["commission"] + filled["slippage"]).astype(float)})
    # one row per (time, symbol): fills of one system in one bar add up
    return fills.groupby(["time", "symbol"], as_index=False, sort=True).sum()


def _positions(fills: pd.DataFrame, symbol: str, timeline: pd.DatetimeIndex) -> np.ndarray:
    """The position held over each bar of `timeline` (after that bar's fills at its open)."""
    mine = fills[fills["symbol"] == symbol]
    change = np.zeros(len(timeline))
    np.add.at(change, timeline.get_indexer(mine["time"]), mine["quantity"].to_numpy())
    return np.cumsum(change)


def _crossing_savings(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    """Per (time, symbol) where the two traded in opposite directions: the costs of the crossed quantity.

    A netted book sends only the net of both orders to the market, so the quantity that
    offsets inside the bar pays neither commission nor slippage.
    """
    both = left.merge(right, on=["time", "symbol"], suffixes=("_a", "_b"))
    both = both[np.sign(both["quantity_a"]) * np.sign(both["quantity_b"]) < 0]
    crossed = np.minimum(both["quantity_a"].abs(), both["quantity_b"].abs())
    saved = both["cost_a"] * crossed / both["quantity_a"].abs() + both["cost_b"] * crossed / both["quantity_b"].abs()
    return pd.DataFrame({"time": both["time"], "symbol": both["symbol"], "saved": saved})


def opposing_positions(orders: Mapping[str, pd.DataFrame], timeline: pd.DatetimeIndex) -> dict[str, Any]:
    """Stretches of bars in which two systems held opposite positions in one symbol, and the savings
    of netting their orders bar by bar (per pair, per stretch and for the whole book)."""
    fills = {name: _fills(frame) for name, frame in orders.items()}
    periods, pairs = [], []
    for first, second in combinations(fills, 2):
        savings = _crossing_savings(fills[first], fills[second])
        symbols = sorted(set(fills[first]["symbol"]) & set(fills[second]["symbol"]))
        pair_bars = 0
        for symbol in symbols:
            held_a = _positions(fills[first], symbol, timeline)
            held_b = _positions(fills[second], symbol, timeline)
            opposed = np.sign(held_a) * np.sign(held_b) < 0
            edges = np.diff(np.concatenate(([0], opposed.astype(np.int8), [0])))
            mine = savings[savings["symbol"] == symbol]
            where = timeline.get_indexer(mine["time"])
            for start, stop in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
                hedged = np.minimum(np.abs(held_a[start:stop]), np.abs(held_b[start:stop]))
                # the bar after the stretch holds the fill that ended it: its crossing counts too
                inside = (where >= start) & (where <= stop)
                periods.append({"systems": [first, second], "symbol": symbol,
                                "start": timeline[start].isoformat(), "end": timeline[stop - 1].isoformat(),
                                "bars": int(stop - start), "max_hedged_quantity": float(hedged.max()),
                                "netting_saving": float(mine["saved"].to_numpy()[inside].sum())})
                pair_bars += int(stop - start)
        pairs.append({"systems": [first, second], "opposed_bars": pair_bars,
                      "netting_saving": float(savings["saved"].sum())})
    return {"periods": periods, "pairs": pairs, "netting_saving": _book_netting_saving(fills)}


def _book_netting_saving(fills: Mapping[str, pd.DataFrame]) -> float:
    """What the whole book would have saved by sending only each bar's net order per symbol."""
    every = pd.concat(list(fills.values()), ignore_index=True)
    if every.empty:
        return 0.0
    buys = every[every["quantity"] > 0].groupby(["time", "symbol"])
    sells = every[every["quantity"] < 0].groupby(["time", "symbol"])
    side = pd.DataFrame({"bought": buys["quantity"].sum(), "buy_cost": buys["cost"].sum(),
                         "sold": -sells["quantity"].sum(), "sell_cost": sells["cost"].sum()}).dropna()
    crossed = np.minimum(side["bought"], side["sold"])
    return float((side["buy_cost"] * crossed / side["bought"] + side["sell_cost"] * crossed / side["sold"]).sum())

"""Backtests of consecutive windows joined into one system's result, on the whole run's timeline."""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np
import pandas as pd

from multifolio.config.spec import SystemSpec
from multifolio.config.walk_forward import Window
from multifolio.data.market import MarketData
from multifolio.trading.frames import empty_frames
from multifolio.trading.portfolio import EquitySteps
from multifolio.trading.system import SystemResult


def stitched_result(spec: SystemSpec, market: MarketData, windows: Sequence[Window],
                    parts: Sequence[SystemResult]) -> SystemResult:
    """`parts[k]`, the backtest of `windows[k]`'s test bars, joined: each starts with the equity the one before
    ended with, in cash (they close out at their last bar), so their steps follow each other exactly; before the
    first and between windows the capital `spec` starts with lies idle. Trades and orders are the parts' in
    order (order numbers continue from one part to the next). It fails where a part failed."""
    frames = empty_frames(market.timestamps.dtype)
    if not parts:
        steps = EquitySteps(market.timestamps, len(market), spec.initial_capital, np.empty(0, dtype=np.int64),
                            np.empty(0), {})
        return SystemResult(spec=spec, equity_steps=steps, **frames, open_positions={}, last_bar=len(market) - 1,
                            indicator_values=_no_indicators(market))
    indices, cash, holdings = [], [], {}
    for window, part in zip(windows, parts):
        if part.equity_steps is None:
            continue
        offset = window.test_first
        indices.append(part.equity_steps.indices + offset)
        cash.append(part.equity_steps.cash)
        for symbol, (at, positions, _) in part.equity_steps.holdings.items():
            held = holdings.setdefault(symbol, ([], []))
            held[0].append(at + offset)
            held[1].append(positions)
    steps = EquitySteps(
        market.timestamps, len(market), spec.initial_capital, _joined(indices, np.int64), _joined(cash, np.float64),
        {symbol: (_joined(at, np.int64), _joined(positions, np.float64), market.closes_filled(symbol))
         for symbol, (at, positions) in holdings.items()})
    failed = next((part for part in parts if part.status == "failed"), None)
    result = SystemResult(
        spec=spec, equity_steps=steps, trades=_concatenated([part.trades for part in parts], frames["trades"]),
        orders=_numbered([part.orders for part in parts], frames["orders"]), open_positions={},
        open_lots=frames["open_lots"], last_bar=len(market) - 1, indicator_values=_no_indicators(market),
        halts=tuple(attrs.evolve(halt, index=halt.index + window.test_first)
                    for window, part in zip(windows, parts) for halt in part.halts))
    if failed is None:
        return result
    window = windows[list(parts).index(failed)]
    return attrs.evolve(result, equity_steps=None, status="failed", last_bar=failed.last_bar + window.test_first,
                        error=failed.error, failed_at=f"test window {window.number}: {failed.failed_at}")


def _no_indicators(market: MarketData) -> dict[str, dict]:
    """Each window traded its own settings, so no one indicator runs through: the report shows prices and
    trades."""
    return {symbol: {} for symbol in market.symbols}


def _joined(arrays: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(arrays).astype(dtype, copy=False) if arrays else np.empty(0, dtype=dtype)


def _concatenated(frames: Sequence[pd.DataFrame], empty: pd.DataFrame) -> pd.DataFrame:
    filled = [frame for frame in frames if len(frame)]
    return pd.concat(filled, ignore_index=True) if filled else empty


def _numbered(orders: Sequence[pd.DataFrame], empty: pd.DataFrame) -> pd.DataFrame:
    """The parts' orders in one table, each part's numbers moved past the last of the part before (the close-out
    at each window's end keeps the number −1 of an order at the end of the data)."""
    shifted, offset = [], 0
    for frame in orders:
        if not len(frame):
            continue
        frame = frame.copy()
        numbered = frame["order_id"] > 0
        frame.loc[numbered, "order_id"] += offset
        frame["parent_id"] += offset
        offset = max(offset, int(frame["order_id"].max()))
        shifted.append(frame)
    return pd.concat(shifted, ignore_index=True) if shifted else empty

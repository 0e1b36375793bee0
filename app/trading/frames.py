"""The result tables a system hands to reports (trades, orders, open lots): their columns and
dtypes, the same whatever the number of rows (shared constants)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

# what pandas infers for a column of text: `str` from pandas 3, object before; a column of
# text made empty, or all missing, must have it too
STRING = pd.Series(["text"]).dtype
# stands for the run's timeline dtype: datetime64 of its unit, with its zone if it has one
TIME = "timeline"

TRADE_COLUMNS: Mapping[str, Any] = {
    "symbol": STRING, "side": STRING, "quantity": "float64", "entry_time": TIME, "entry_price": "float64",
    "exit_time": TIME, "exit_price": "float64", "bars_held": "int64", "gross_pnl": "float64",
    "commission": "float64", "slippage": "float64", "net_pnl": "float64", "return_pct": "float64",
    "exit_reason": STRING, "mae": "float64", "mfe": "float64",
}
OPEN_LOT_COLUMNS: Mapping[str, Any] = {
    "symbol": STRING, "quantity": "float64", "entry_time": TIME, "entry_price": "float64",
    "commission": "float64", "slippage": "float64",
}
# NaT and NaN where an order has no such time or figure (not filled, no limit, ...); each state change
# has its time: submitted, triggered (a stop-limit's stop reached), filled, or cancelled/expired;
# stop_price is the last level of a stop that moved (a trailing stop); `filled` is what filled of
# `quantity` (several fills under `max_volume_share`), at the average `fill_price`, costs summed
ORDER_COLUMNS: Mapping[str, Any] = {
    "order_id": "int64", "submitted_time": TIME, "symbol": STRING, "type": STRING, "requested": "float64",
    "quantity": "float64", "filled": "float64", "limit_price": "float64", "stop_price": "float64",
    "time_in_force": STRING,
    "parent_id": "Int64", "cause": STRING, "status": STRING, "reason": STRING, "triggered_time": TIME,
    "fill_time": TIME, "fill_price": "float64", "commission": "float64", "slippage": "float64",
    "cancelled_time": TIME,
}


def typed_frame(rows: Sequence[Sequence[Any]], columns: Mapping[str, Any], time: Any) -> pd.DataFrame:
    """`rows` as a frame of `columns`, each of its dtype (`time`, the timeline's dtype, for TIME).

    Without the cast pandas guesses from the values: object for every column of an empty
    frame, and for a column whose values are all None.
    """
    return typed(pd.DataFrame(list(rows), columns=list(columns)), columns, time)


def typed(frame: pd.DataFrame, columns: Mapping[str, Any], time: Any) -> pd.DataFrame:
    """`frame` with each of `columns` cast to its dtype (a cast to the dtype a column has is free)."""
    return frame.astype({name: time if dtype is TIME else dtype for name, dtype in columns.items()})


def empty_frames(time: Any) -> dict[str, pd.DataFrame]:
    """The trades, orders and open lots of a system without results (it failed), typed as anyone's."""
    return {"trades": typed_frame([], TRADE_COLUMNS, time), "orders": typed_frame([], ORDER_COLUMNS, time),
            "open_lots": typed_frame([], OPEN_LOT_COLUMNS, time)}

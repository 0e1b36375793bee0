"""The reference side of the timeframe tests: pandas resampling and a forward fill from each group's completing bar,
written apart from multifolio.data.timeframes (no shared code)."""

from __future__ import annotations

import numpy as np
import pandas as pd

AGGREGATION = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}


def visible(bars: pd.DataFrame, labels: pd.Series, per_group, last_complete: bool) -> np.ndarray:
    """`per_group(resampled OHLCV frame) → values`, each shown from its group's last bar on; the data's last
    group only when `last_complete` (its last bar reaches the group's end), else never."""
    frame = bars.reset_index(drop=True).assign(group=labels.to_numpy())
    resampled = frame.groupby("group", sort=False).agg(AGGREGATION)
    values = np.asarray(per_group(resampled), dtype=np.float64)
    last_rows = frame.reset_index().groupby("group", sort=False)["index"].last().to_numpy()
    shown = np.full(len(frame), np.nan)
    for group, row in enumerate(last_rows):
        if group < len(last_rows) - 1 or last_complete:
            shown[row:] = values[group]
    return shown


def calendar_labels(stamps: pd.DatetimeIndex, rule: str) -> pd.Series:
    """Pandas' calendar periods (`D`, `W-SUN`: weeks ending Sunday, `M`)."""
    return pd.Series(stamps.to_period(rule).astype(str))


def session_labels(stamps: pd.DatetimeIndex, hours: int) -> pd.Series:
    """Intraday groups anchored at each calendar day's first bar (none spans two days)."""
    frame = pd.DataFrame({"stamp": stamps, "day": stamps.normalize()})
    first = frame.groupby("day")["stamp"].transform("min")
    slot = (frame["stamp"] - first) // pd.Timedelta(hours=hours)
    return frame["day"].astype(str) + "/" + slot.astype(str)

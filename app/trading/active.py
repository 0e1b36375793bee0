"""The bars one system trades in: its `portfolio.active` window as timeline indices (one per system)."""

from __future__ import annotations

import pandas as pd
from attrs import frozen

from multifolio.config.spec import CONTROLLED, SystemSpec


@frozen
class ActiveBars:
    """`first`: the first bar the system trades at (the timeline's length for a system the run's controller starts:
    dormant until it does); `end`: the first bar after its window (the timeline's length: none)."""

    first: int
    end: int

    @classmethod
    def of(cls, spec: SystemSpec, timestamps: pd.DatetimeIndex) -> ActiveBars:
        start, end = spec.portfolio.start, spec.portfolio.end
        first = len(timestamps) if start == CONTROLLED else _bar_at_or_after(timestamps, start) if start else 0
        return cls(first, _bar_at_or_after(timestamps, end) if end else len(timestamps))


def _bar_at_or_after(timestamps: pd.DatetimeIndex, when: str) -> int:
    """The first bar at or after `when` (an ISO time; in the data's zone when written without one)."""
    moment = pd.Timestamp(when)
    if timestamps.tz is not None and moment.tz is None:
        moment = moment.tz_localize(timestamps.tz)
    elif timestamps.tz is None and moment.tz is not None:
        moment = moment.tz_convert("UTC").tz_localize(None)
    return int(timestamps.searchsorted(moment, side="left"))

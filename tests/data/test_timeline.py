"""The shared timeline's stamps by bar position are the DatetimeIndex's own, value, unit and zone alike."""

from __future__ import annotations

import pandas as pd
import pytest

from multifolio.protocols import Timeline


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
@pytest.mark.parametrize("zone", [None, "UTC", "America/New_York"])
def test_each_stamp_is_the_index_own(unit, zone):
    # across a daylight-saving change in New York (8 March 2020, 02:00 → 03:00)
    stamps = pd.date_range("2020-03-07 22:00", periods=600, freq="7min", unit=unit)
    if zone is not None:
        stamps = stamps.tz_localize("UTC").tz_convert(zone)
    timeline = Timeline(stamps)
    assert len(timeline) == len(stamps)
    for index in [*range(0, len(stamps), 13), -1]:
        made, own = timeline[index], stamps[index]
        assert (made, made.unit, str(made.tz), repr(made)) == (own, own.unit, str(own.tz), repr(own))

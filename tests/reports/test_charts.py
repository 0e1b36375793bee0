"""The price chart's trade markers: the close is drawn over them, and many of them are drawn small and faint."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from multifolio.reports.charts import DENSE_MARKERS, epoch_ms, marker_style, price_figure, time_axis

BARS = pd.DataFrame({"timestamp": pd.date_range("2024-01-02 09:30", periods=2000, freq="1min"),
                     "close": 100 + np.sin(np.arange(2000) / 50)})


def trades(count: int) -> pd.DataFrame:
    """`count` round trips of one bar each, alternately long and short, winners and losers."""
    entries = np.arange(count) * (len(BARS) // max(count, 1))
    return pd.DataFrame({"symbol": "SPY", "side": np.where(np.arange(count) % 2, "short", "long"),
                         "quantity": 10.0, "entry_time": BARS["timestamp"].iloc[entries].to_numpy(),
                         "entry_price": BARS["close"].iloc[entries].to_numpy(),
                         "exit_time": BARS["timestamp"].iloc[entries + 1].to_numpy(),
                         "exit_price": BARS["close"].iloc[entries + 1].to_numpy(),
                         "net_pnl": np.where(np.arange(count) % 3, 1.0, -1.0)})


def chart(count: int):
    no_lots = pd.DataFrame({"symbol": [], "quantity": [], "entry_time": pd.to_datetime([]), "entry_price": []})
    return price_figure("SPY", BARS, pd.DataFrame({"symbol": ["SPY"] * len(BARS)}), [], trades(count), no_lots)


def test_the_close_is_drawn_over_the_trade_markers():
    figure = chart(10)
    layers = {trace.name: trace.zorder for trace in figure.data}
    assert layers == {"SPY close": 1, "long entry": None, "short entry": None, "exit": None, "open at the end": None}


@pytest.mark.parametrize(("count", "entry", "exit", "opacity"), [(10, 7, 6, 0.8), (DENSE_MARKERS, 7, 6, 0.8),
                                                                  (DENSE_MARKERS + 1, 4, 4, 0.45), (1000, 4, 4, 0.45)])
def test_above_the_dense_count_the_markers_are_small_and_faint(count, entry, exit, opacity):
    assert marker_style(count) == {"entry": entry, "exit": exit, "opacity": opacity}
    markers = {trace.name: trace.marker for trace in chart(count).data}
    assert (markers["long entry"].size, markers["short entry"].size, markers["exit"].size) == (entry, entry, exit)
    assert {markers[name].opacity for name in ("long entry", "short entry", "exit")} == {opacity}
    assert len(chart(count).data[-2].x) == count  # every trade still has its exit marker


def test_each_exit_is_green_for_a_win_and_red_for_a_loss():
    figure = chart(12)
    [exits] = [trace for trace in figure.data if trace.name == "exit"]
    line = exits.marker.line
    scale = dict(line.colorscale)
    won = trades(12)["net_pnl"].to_numpy() > 0
    assert [scale[value] for value in line.color] == ["#1a9850" if win else "#d73027" for win in won]
    assert (line.cmin, line.cmax) == (0, 1)


def pandas_time_axis(stamps: pd.Series) -> dict:
    """The axis worked out with pandas' calendar (normalize, bdate_range) on the wall clock: what time_axis
    computes on the nanoseconds."""
    stamps = pd.DatetimeIndex(stamps)
    stamps = stamps.tz_localize(None) if stamps.tz is not None else stamps
    breaks = [] if (stamps.day_of_week >= 5).any() else [{"bounds": ["sat", "mon"]}]
    step = pd.Series(stamps).diff().median()
    days = stamps.normalize().unique()
    if step < pd.Timedelta(days=1):
        of_day = stamps - stamps.normalize()
        opens, closes = of_day.min() / pd.Timedelta(hours=1), (of_day.max() + step) / pd.Timedelta(hours=1)
        if opens > 0 or closes < 24:
            breaks.append({"bounds": [float(closes), float(opens)], "pattern": "hour"})
    missing = pd.bdate_range(days.min(), days.max()).difference(days)
    if len(missing):
        breaks.append({"values": [day.strftime("%Y-%m-%d") for day in missing]})
    return {"type": "date", "rangebreaks": breaks}


def session_minutes(first_day: str, days: int, zone: str | None = None) -> pd.Series:
    """09:30–15:59 every weekday of `days` calendar days, one bar a minute, on the clock of `zone`."""
    sessions = [pd.date_range(f"{day.date()} 09:30", periods=390, freq="1min")
                for day in pd.bdate_range(first_day, periods=days)]
    stamps = sessions[0].append(sessions[1:])
    return pd.Series(stamps if zone is None else stamps.tz_localize(zone))


@pytest.mark.parametrize("stamps", [
    session_minutes("2024-01-02", 30),
    session_minutes("2024-01-02", 30).drop(index=range(390 * 3, 390 * 5)),  # two weekdays without a bar
    session_minutes("2024-01-02", 30).iloc[::-1],  # out of order
    pd.Series(pd.date_range("2020-01-01", periods=500, freq="D")),  # weekends included: no break
    pd.Series(pd.bdate_range("2020-01-01", "2021-01-01")),
    pd.Series(pd.date_range("1969-12-25", periods=400, freq="h")),  # across 1970: days before it count too
])
def test_the_time_axis_skips_what_pandas_calendar_says_is_closed(stamps):
    assert time_axis(stamps) == pandas_time_axis(stamps)


def test_a_zoned_session_is_drawn_and_skipped_on_its_own_clock():
    """New York minute bars across the March change of clocks: drawn from 09:30 to 16:00 every day (the UTC
    hours would move by one), nights and weekends skipped on that clock."""
    stamps = session_minutes("2024-03-04", 10, "America/New_York")
    assert time_axis(stamps)["rangebreaks"] == [{"bounds": ["sat", "mon"]}, {"bounds": [16.0, 9.5], "pattern": "hour"}]
    drawn = pd.to_datetime(epoch_ms(stamps), unit="ms")
    assert set(drawn.strftime("%H:%M").str[:2]) == {f"{hour:02d}" for hour in range(9, 16)}
    assert (drawn == stamps.dt.tz_localize(None).to_numpy()).all()

"""The price chart's trade markers: the close is drawn over them, and many of them are drawn small and faint."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from multifolio.reports.charts import DENSE_MARKERS, marker_style, price_figure

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

"""Hypothesis strategies: random valid bars, scripted signals and `trading_systems` entries."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import strategies as st

from multifolio.testing import make_bars
from multifolio.trading.events import Direction
from tests.builders import system_config


@st.composite
def bar_frames(draw, min_bars: int = 5, max_bars: int = 60, symbol: str = "SPY") -> pd.DataFrame:
    """Valid OHLCV bars from a random walk on a cent grid (low ≤ open, close ≤ high)."""
    n = draw(st.integers(min_bars, max_bars))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    close = np.round(50 * np.exp(np.cumsum(rng.normal(0, 0.03, n))), 2)
    open_ = np.round(np.concatenate(([close[0]], close[:-1])) * np.exp(rng.normal(0, 0.01, n)), 2)
    high = np.round(np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.01, n))), 2)
    low = np.round(np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.01, n))), 2)
    high, low = np.maximum(high, np.maximum(open_, close)), np.minimum(low, np.minimum(open_, close))
    return make_bars(list(zip(open_, high, low, close)), symbol, freq="1D")


def scripts(max_bars: int = 60):
    """Bar number → wanted side, for a ScriptedStrategy."""
    return st.dictionaries(st.integers(0, max_bars - 1), st.sampled_from(list(Direction)), max_size=25)


@st.composite
def system_entries(draw, name: str = "alpha") -> dict:
    sizer = draw(st.one_of(
        st.builds(lambda n: {"type": "fixed", "size": n}, st.integers(1, 200)),
        st.builds(lambda f: {"type": "percentage", "size": f}, st.floats(0.05, 1.0))))
    limits = draw(st.lists(st.one_of(
        st.builds(lambda v: {"type": "max_position_value", "value": v}, st.floats(100, 20_000)),
        st.builds(lambda v: {"type": "max_total_exposure", "value": v}, st.floats(0.2, 3.0))), max_size=2))
    execution = {
        "slippage_bps": draw(st.sampled_from([0.0, 1.0, 5.0, 25.0])),
        "commission": draw(st.sampled_from([0.0, 0.005, 0.01, 0.5])),
        "fill_at": draw(st.sampled_from(["next_open", "close"])),
        "entry": draw(st.one_of(
            st.just({"type": "market"}),
            st.builds(lambda kind, bps, bars: {"type": kind, "offset_bps": bps, "valid_bars": bars},
                      st.sampled_from(["limit", "stop"]), st.floats(0, 300), st.one_of(st.none(), st.integers(1, 5))))),
    }
    exits = draw(st.lists(st.one_of(
        st.builds(lambda p: {"type": "stop_loss", "percent": p}, st.floats(0.005, 0.2)),
        st.builds(lambda p: {"type": "take_profit", "percent": p}, st.floats(0.005, 0.3)),
        st.builds(lambda p: {"type": "trailing_stop", "percent": p}, st.floats(0.005, 0.2)),
        st.builds(lambda n: {"type": "max_bars", "bars": n}, st.integers(1, 10))), max_size=3))
    return system_config(name, capital=draw(st.sampled_from([1_000.0, 10_000.0, 250_000.0])), sizers=[sizer],
                         limits=limits, execution=execution, exits=exits,
                         close_at_end=draw(st.booleans()))

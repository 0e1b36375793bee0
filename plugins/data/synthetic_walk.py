"""The first synthetic model (`model: random_walk`): trending and mean-reverting stretches, kept byte for byte."""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd


def random_walk_bars(seed: int, symbol: str, step: pd.Timedelta, n: int, start_price: float) -> dict[str, np.ndarray]:
    """OHLCV arrays of `n` bars of `step`: the bars every version before the index model made.

    Trending stretches (a steady drift, up or down) alternate with mean-reverting ones (pulled back
    to a level), each 300 to 2,000 bars long, whatever the bar length; the volatility per bar grows
    with √(step / 1 min). Nothing calibrates it to a market: over a million 1-minute bars SPY falls
    from 100 to 1.43 with seed 7. Every draw is in the first version's order, so its bytes stay.
    """
    rng = np.random.default_rng([seed, zlib.crc32(symbol.encode())])
    scale = np.sqrt(step / pd.Timedelta(minutes=1))
    volatility = 0.0006 * scale
    log_close = np.empty(n)
    at, x = 0, np.log(start_price)
    trending = bool(rng.integers(2))
    while at < n:
        length = min(int(rng.integers(300, 2000)), n - at)
        shocks = rng.normal(0.0, volatility, length)
        if trending:
            drift = rng.choice([-1.0, 1.0]) * rng.uniform(0.4, 1.2) * volatility / 4
            path = x + np.cumsum(drift + shocks)
        else:
            path = np.empty(length)
            anchor, pull = x, rng.uniform(0.03, 0.1)
            for i in range(length):  # Ornstein-Uhlenbeck: pulled back toward the anchor
                x += pull * (anchor - x) + shocks[i]
                path[i] = x
        log_close[at:at + length] = path
        x = path[-1]
        at += length
        trending = not trending
    close = np.exp(log_close)
    open_ = np.empty(n)
    open_[0] = start_price
    open_[1:] = close[:-1] * np.exp(rng.normal(0.0, volatility / 6, n - 1))
    wick = np.abs(rng.normal(0.0, volatility / 2, (2, n)))
    close, open_ = np.round(close, 2), np.round(open_, 2)
    high = np.maximum(np.round(np.maximum(open_, close) * np.exp(wick[0]), 2), np.maximum(open_, close))
    low = np.minimum(np.round(np.minimum(open_, close) * np.exp(-wick[1]), 2), np.minimum(open_, close))
    volume = np.round(rng.lognormal(np.log(10_000), 0.5, n))
    return {"open": open_, "high": high, "low": low, "close": close, "volume": volume}

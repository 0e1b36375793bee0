"""Deterministic synthetic bars: the embedded default data, and `multifolio sample-data`."""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

from multifolio.protocols import ConfigError, DataSource

_SESSION_OPEN = pd.Timedelta(hours=9, minutes=30)
_SESSION_LENGTH = pd.Timedelta(hours=6, minutes=30)
_SHORTEST_BAR = pd.Timedelta(seconds=1)  # a session of shorter bars is more timestamps than any run holds
MAX_BARS = 10_000_000  # per symbol: 400 MB of prices


class SyntheticSource(DataSource):
    """Valid OHLCV bars from a seeded random walk that switches between regimes.

    Trending stretches (a steady drift, up or down) alternate with mean-reverting ones
    (pulled back to a level), each a few hundred to a couple of thousand bars long,
    so both momentum and mean-reversion strategies find trades. Intraday frequencies
    give US regular-session bars (09:30–16:00, weekdays); daily and longer give
    business days. Each symbol has its own stream, fixed by `seed` and its name alone,
    so adding a symbol never changes another's bars.
    """

    def __init__(self, *, symbols: list[str], bars: int = 20_000, frequency: str = "1min", seed: int = 7,
                 start: str = "2024-01-02", start_price: float = 100.0) -> None:
        if not 2 <= bars <= MAX_BARS:
            raise ConfigError("bars", f"must be in [2, {MAX_BARS:,}] (bars per symbol), was {bars}")
        try:
            self.step = pd.Timedelta(frequency)
        except ValueError:
            raise ConfigError("frequency", f"{frequency!r} is not a bar length; expected e.g. 1min, 5min, 1h, 1D") \
                from None
        if self.step < _SHORTEST_BAR:
            raise ConfigError("frequency", f"must be at least {_SHORTEST_BAR.total_seconds():g} s, was {frequency!r}")
        if self.step < pd.Timedelta(days=1) and _SESSION_LENGTH % self.step:
            raise ConfigError("frequency", f"{frequency!r} does not divide the 6h30 trading session")
        try:
            self.start = pd.Timestamp(start).normalize()
        except ValueError:
            raise ConfigError("start", f"{start!r} is not a date; expected e.g. 2024-01-02") from None
        if not start_price > 0:
            raise ConfigError("start_price", f"must be > 0, was {start_price}")
        self.symbols = list(symbols)
        self.bars = bars
        self.frequency = frequency
        self.seed = seed
        self.start_price = start_price

    def describe(self) -> str:
        return f"synthetic {self.bars} bars of {self.frequency} (seed {self.seed})"

    def timestamps(self) -> pd.DatetimeIndex:
        if self.step == pd.Timedelta(days=1):
            return pd.bdate_range(self.start, periods=self.bars)
        if self.step > pd.Timedelta(days=1):
            return pd.date_range(self.start, periods=self.bars, freq=self.step)
        per_day = _SESSION_LENGTH // self.step
        days = pd.bdate_range(self.start, periods=-(-self.bars // per_day))
        offsets = _SESSION_OPEN.to_timedelta64() + self.step.to_timedelta64() * np.arange(per_day)
        stamps = (days.to_numpy()[:, None] + offsets[None, :]).ravel()[: self.bars]
        return pd.DatetimeIndex(stamps)

    def load(self) -> pd.DataFrame:
        times = self.timestamps()
        frames = [self.bars_for(symbol, times) for symbol in self.symbols]
        return pd.concat(frames, ignore_index=True)

    def bars_for(self, symbol: str, times: pd.DatetimeIndex) -> pd.DataFrame:
        rng = np.random.default_rng([self.seed, zlib.crc32(symbol.encode())])
        n = len(times)
        scale = np.sqrt(self.step / pd.Timedelta(minutes=1))  # volatility grows with the bar length
        volatility = 0.0006 * scale
        log_close = np.empty(n)
        level = np.log(self.start_price)
        at, x = 0, level
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
        open_[0] = self.start_price
        open_[1:] = close[:-1] * np.exp(rng.normal(0.0, volatility / 6, n - 1))
        wick = np.abs(rng.normal(0.0, volatility / 2, (2, n)))
        close, open_ = np.round(close, 2), np.round(open_, 2)
        high = np.maximum(np.round(np.maximum(open_, close) * np.exp(wick[0]), 2), np.maximum(open_, close))
        low = np.minimum(np.round(np.minimum(open_, close) * np.exp(-wick[1]), 2), np.minimum(open_, close))
        volume = np.round(rng.lognormal(np.log(10_000), 0.5, n))
        return pd.DataFrame({"timestamp": times, "symbol": symbol, "open": open_, "high": high, "low": low,
                             "close": close, "volume": volume})

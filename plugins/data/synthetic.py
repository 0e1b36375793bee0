"""Deterministic synthetic bars: the embedded default data, and `multifolio sample-data`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from multifolio.plugins.data.synthetic_index import Clock, index_bars
from multifolio.plugins.data.synthetic_walk import random_walk_bars
from multifolio.protocols import ConfigError, DataSource

_SESSION_OPEN = pd.Timedelta(hours=9, minutes=30)
_SESSION_LENGTH = pd.Timedelta(hours=6, minutes=30)
_SHORTEST_BAR = pd.Timedelta(seconds=1)  # a session of shorter bars is more timestamps than any run holds
_DAY = pd.Timedelta(days=1)
MAX_BARS = 10_000_000  # per symbol: 400 MB of prices
MODELS = ("index", "random_walk")


class SyntheticSource(DataSource):
    """Valid OHLCV bars, the same for the same parameters: a made-up market, not a real one.

    `model: index` (the default) is an equity index calibrated to the S&P 500's long-run drift and
    volatility, switching between a calm bull and a volatile bear regime; several symbols share the
    regimes and are correlated (0.8). `model: random_walk` is the first versions' walk, alternating
    trending and mean-reverting stretches, kept bar for bar. Intraday frequencies give US
    regular-session bars (09:30–16:00, weekdays; a bar length that does not divide the session
    ends it with a shorter bar, as vendors' hourly bars end at 15:30); daily and longer give
    business days. A symbol's bars depend only on `seed` and its name: adding a symbol never
    changes another's.
    """

    def __init__(self, *, symbols: list[str], bars: int = 20_000, frequency: str = "1min", seed: int = 7,
                 first_day: str = "2024-01-02", start_price: float = 100.0, model: str = "index") -> None:
        if not 2 <= bars <= MAX_BARS:
            raise ConfigError("bars", f"must be in [2, {MAX_BARS:,}] (bars per symbol), was {bars}")
        try:
            self.step = pd.Timedelta(frequency)
        except ValueError:
            raise ConfigError("frequency", f"{frequency!r} is not a bar length; expected e.g. 1min, 5min, 1h, 1D") \
                from None
        if self.step < _SHORTEST_BAR:
            raise ConfigError("frequency", f"must be at least {_SHORTEST_BAR.total_seconds():g} s, was {frequency!r}")
        try:  # (`data.start` is the run's window, cut from these bars: multifolio.data.window)
            self.start = pd.Timestamp(first_day).normalize()
        except ValueError:
            raise ConfigError("first_day", f"{first_day!r} is not a date; expected e.g. 2024-01-02") from None
        if not start_price > 0:
            raise ConfigError("start_price", f"must be > 0, was {start_price}")
        if model not in MODELS:
            raise ConfigError("model", f"unknown model {model!r}; known: {', '.join(MODELS)}")
        self.symbols = list(symbols)
        self.bars = bars
        self.frequency = frequency
        self.seed = seed
        self.start_price = start_price
        self.model = model

    def describe(self) -> str:
        return f"synthetic {self.bars} bars of {self.frequency} ({self.model} model, seed {self.seed})"

    @property
    def per_session(self) -> int:
        """Intraday bars per session, the last one shorter when the bar length does not divide 6h30."""
        return -(-_SESSION_LENGTH // self.step)

    def timestamps(self) -> pd.DatetimeIndex:
        if self.step == _DAY:
            return pd.bdate_range(self.start, periods=self.bars)
        if self.step > _DAY:
            return pd.date_range(self.start, periods=self.bars, freq=self.step)
        days = pd.bdate_range(self.start, periods=-(-self.bars // self.per_session))
        offsets = _SESSION_OPEN.to_timedelta64() + self.step.to_timedelta64() * np.arange(self.per_session)
        stamps = (days.to_numpy()[:, None] + offsets[None, :]).ravel()[: self.bars]
        return pd.DatetimeIndex(stamps)

    def clock(self) -> Clock:
        """The bars in trading time: a session is a trading day; a bar longer than a day spans 5/7 of its days."""
        at = np.arange(self.bars)
        if self.step >= _DAY:
            days = self.step / _DAY * (5 / 7 if self.step > _DAY else 1.0)
            return Clock(days=np.full(self.bars, days), session=np.floor(at * days).astype(np.int64),
                         opens_session=np.ones(self.bars, dtype=bool), intraday=False)
        lengths = np.full(self.per_session, self.step / _SESSION_LENGTH)
        lengths[-1] = 1.0 - lengths[:-1].sum()  # the session's shorter last bar, if any
        return Clock(days=lengths[at % self.per_session], session=at // self.per_session,
                     opens_session=at % self.per_session == 0, intraday=True)

    def load(self) -> pd.DataFrame:
        times = self.timestamps()
        clock = self.clock() if self.model == "index" else None
        frames = []
        for symbol in self.symbols:
            if clock is None:
                arrays = random_walk_bars(self.seed, symbol, self.step, self.bars, self.start_price)
            else:
                arrays = index_bars(self.seed, symbol, clock, self.start_price)
            frames.append(pd.DataFrame({"timestamp": times, "symbol": symbol, **arrays}))
        return pd.concat(frames, ignore_index=True)

"""The default synthetic model (`model: index`): an equity index in calm-bull and volatile-bear regimes.

Calibrated to round long-run figures of the S&P 500 price index (daily closes since the 1950s, dividends
left out): about 7 %/yr log growth and about 16 % annualised volatility of daily returns, with calm years
of low volatility broken by shorter volatile, falling spells (volatility clusters, and it is higher when
prices fall). The regime parameters are chosen, not estimated, so that their long-run mix gives those
figures; the two-state Markov switching is Hamilton's (1989) model, as fitted to stock indices since.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

TRADING_DAYS_PER_YEAR = 252
CALM, VOLATILE = 0, 1
# per regime, annualised: log drift, volatility, and the mean length of a spell in trading days
DRIFT = np.array([0.13, -0.22])
VOLATILITY = np.array([0.12, 0.30])
MEAN_SPELL_DAYS = np.array([375.0, 75.0])
# long run: calm 5/6 of the days → drift 5/6·13 % − 1/6·22 % ≈ 7.2 %/yr, volatility √(5/6·12² + 1/6·30²) ≈ 16.4 %/yr
OVERNIGHT_SHARE = 0.2  # of a day's variance (and drift), in the gap between one session's close and the next open
CORRELATION = 0.8  # between two symbols' returns: each loads √0.8 on one market shock, the rest its own
VOLUME_PER_SESSION = 3_900_000  # median shares per session (10,000 a minute), 1.5 × in the volatile regime
_MARKET = 0  # in place of a symbol's checksum: the streams every symbol shares


@dataclass(frozen=True)
class Clock:
    """Where each of a run's bars falls in trading time: what the index model needs of the timestamps."""

    days: np.ndarray  # float, per bar: the trading days it spans, its overnight gap included
    session: np.ndarray  # int, per bar: the trading day (from 0) whose regime it trades in
    opens_session: np.ndarray  # bool, per bar: an overnight gap comes before its open
    intraday: bool  # bars within a session (else a bar is one or more whole days)


def regimes(seed: int, sessions: int) -> np.ndarray:
    """The regime (CALM or VOLATILE) of each of the first `sessions` trading days: the same for every symbol.

    Spells alternate, each of a geometric length with its regime's mean; the first regime is drawn
    from the long-run mix. A longer run begins with a shorter run's regimes.
    """
    rng = _stream(seed, _MARKET, 0)
    state = int(rng.random() < MEAN_SPELL_DAYS[VOLATILE] / MEAN_SPELL_DAYS.sum())
    spells, states, covered = [], [], 0
    while covered < sessions:
        length = int(rng.geometric(1.0 / MEAN_SPELL_DAYS[state]))
        spells.append(length)
        states.append(state)
        covered += length
        state = 1 - state
    return np.repeat(states, spells)[:sessions]


def index_bars(seed: int, symbol: str, clock: Clock, start_price: float) -> dict[str, np.ndarray]:
    """OHLCV arrays of one symbol over `clock`'s bars.

    Log returns are normal given the regime: the overnight gap moves the open away from the last
    close, the bar's own move takes the open to the close, and high and low are drawn from the exact
    law of a Brownian bridge's maximum and minimum between them. Prices are in cents.
    """
    n = len(clock.days)
    regime = regimes(seed, int(clock.session[-1]) + 1)[clock.session]
    gap_days = np.where(clock.opens_session, OVERNIGHT_SHARE, 0.0)
    gap_days[0] = 0.0  # the first open is the start price
    bar_days = clock.days * (1 - OVERNIGHT_SHARE) if clock.intraday else clock.days - OVERNIGHT_SHARE
    daily_drift, daily_volatility = DRIFT[regime] / TRADING_DAYS_PER_YEAR, VOLATILITY[regime] / np.sqrt(
        TRADING_DAYS_PER_YEAR)
    gap = daily_drift * gap_days + daily_volatility * np.sqrt(gap_days) * _shocks(seed, symbol, 1, n)
    move_sd = daily_volatility * np.sqrt(bar_days)
    move = daily_drift * bar_days + move_sd * _shocks(seed, symbol, 2, n)
    log_close = np.log(start_price) + np.cumsum(gap + move)
    log_open = log_close - move
    # the bridge from 0 to `move` with variance move_sd²: P(max > m) = exp(-2m(m - move)/move_sd²)
    up, down = (np.sqrt(move ** 2 - 2 * move_sd ** 2 * np.log1p(-_stream(seed, _checksum(symbol), purpose).random(n)))
                for purpose in (3, 4))
    high, low = np.exp(log_open + (move + up) / 2), np.exp(log_open + (move - down) / 2)
    sizes = VOLUME_PER_SESSION * clock.days * np.where(regime == VOLATILE, 1.5, 1.0)
    volume = np.maximum(1.0, np.round(sizes * _stream(seed, _checksum(symbol), 5).lognormal(0.0, 0.5, n)))
    # rounding is monotone, so high ≥ max(open, close) and low ≤ min(open, close) survive it
    return {"open": np.round(np.exp(log_open), 2), "high": np.round(high, 2), "low": np.round(low, 2),
            "close": np.round(np.exp(log_close), 2), "volume": volume}


def _shocks(seed: int, symbol: str, purpose: int, n: int) -> np.ndarray:
    """Standard normal shocks, √CORRELATION of them the market's (shared), the rest the symbol's own."""
    market = _stream(seed, _MARKET, purpose).standard_normal(n)
    own = _stream(seed, _checksum(symbol), purpose).standard_normal(n)
    return np.sqrt(CORRELATION) * market + np.sqrt(1 - CORRELATION) * own


def _checksum(symbol: str) -> int:
    return zlib.crc32(symbol.encode()) + 1  # never _MARKET


def _stream(seed: int, owner: int, purpose: int) -> np.random.Generator:
    """One random stream per (seed, owner, purpose): a longer run begins with a shorter run's draws."""
    return np.random.default_rng([seed, owner, purpose, 0x1DE])

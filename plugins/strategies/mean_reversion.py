"""Mean reversion: fade moves away from the moving average, measured in standard deviations."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from multifolio.protocols import BarClosed, ConfigError, Direction, IndicatorValues, Strategy


class MeanReversionStrategy(Strategy):
    """Long when the close is more than `entry_threshold` standard deviations below its
    `lookback_period` mean, short when as far above (flat without `allow_short`);
    out again once it is back within `exit_threshold` deviations of the mean.

    The deviation comes from Bollinger Bands of width 1 (`BB_<lookback>_1`): population
    standard deviation, as TA-Lib computes it.
    """

    def __init__(self, *, lookback_period: int = 20, entry_threshold: float = 2.0, exit_threshold: float = 0.0,
                 allow_short: bool = True) -> None:
        if lookback_period < 2:
            raise ConfigError("lookback_period", f"must be ≥ 2, was {lookback_period}")
        if entry_threshold <= 0:
            raise ConfigError("entry_threshold", f"must be > 0, was {entry_threshold}")
        if not 0 <= exit_threshold < entry_threshold:
            raise ConfigError("exit_threshold", f"must be ≥ 0 and below entry_threshold ({entry_threshold}), "
                                                f"was {exit_threshold}")
        self.lookback_period = lookback_period
        self.entry_threshold = entry_threshold
        self.exit_threshold = exit_threshold
        self.allow_short = allow_short
        self._bands = f"BB_{lookback_period}_1"
        self._side: dict[str, Direction] = {}  # the side this strategy last asked for, per symbol

    def indicators(self) -> list[str]:
        return [self._bands]

    def on_bar(self, bar: BarClosed, values: IndicatorValues) -> Direction | None:
        mean = values[f"{self._bands}.middle"]
        deviation = values[f"{self._bands}.upper"] - mean
        if not deviation > 0:  # NaN during warm-up, or a flat window
            return None
        z = (bar.close - mean) / deviation
        side = self._side.get(bar.symbol, Direction.FLAT)
        wanted = None
        if z < -self.entry_threshold:
            wanted = Direction.LONG
        elif z > self.entry_threshold:
            wanted = Direction.SHORT if self.allow_short else Direction.FLAT
        elif (side == Direction.LONG and z >= -self.exit_threshold) or \
                (side == Direction.SHORT and z <= self.exit_threshold):
            wanted = Direction.FLAT
        if wanted is None or wanted == side:
            return None
        self._side[bar.symbol] = wanted
        return wanted

    def signals(self, values: Mapping[str, np.ndarray], start: int = 0) -> np.ndarray:
        """`on_bar` at every bar at once. Where the close stands decides the side asked for, or what it can
        no longer be: beyond `entry_threshold` deviations a side is set (long below, short or flat above);
        within `exit_threshold` of the mean it is flat whatever it was; between the two thresholds above the
        mean a long is closed, below it a short. So the side at a bar is the one the last setting bar set,
        flat if a bar since then closed it; a signal where the side changes. Bars before `start` are not seen:
        flat when it begins."""
        close, mean = (np.asarray(values[key], dtype=np.float64) for key in ("close", f"{self._bands}.middle"))
        deviation = np.asarray(values[f"{self._bands}.upper"], dtype=np.float64) - mean
        known = deviation > 0  # NaN during warm-up, or a flat window: the bar says nothing
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(known, (close - mean) / np.where(known, deviation, 1.0), np.nan)
        z[:start] = np.nan  # not seen: no side set or closed before it
        entry, exit_ = self.entry_threshold, self.exit_threshold
        long_, short, flat = float(Direction.LONG), float(Direction.SHORT), float(Direction.FLAT)
        sets = np.select([z < -entry, z > entry, (z >= -exit_) & (z <= exit_)],
                         [long_, short if self.allow_short else flat, flat], np.nan)
        closes_long = (z > exit_) & (z <= entry)
        closes_short = (z >= -entry) & (z < -exit_)
        bars = np.arange(len(z))
        last_set = np.maximum.accumulate(np.where(np.isnan(sets), -1, bars))
        since = np.maximum(last_set, 0)
        side = np.where(last_set >= 0, sets[since], flat)
        closed_long, closed_short = np.cumsum(closes_long), np.cumsum(closes_short)
        closed = np.where(side == long_, closed_long > closed_long[since],
                          (side == short) & (closed_short > closed_short[since]))
        side = np.where(closed, flat, side)
        before = np.concatenate(([flat], side[:-1]))
        return np.where(side != before, side, np.nan)

"""Indicators computed by TA-Lib over a symbol's whole series (each is causal)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import talib

from multifolio.protocols import ConfigError, Indicator


_TALIB_MAX_PERIOD = 100_000  # TA-Lib refuses longer periods (TA_BAD_PARAM)


def _check_period(name: str, value: int, minimum: int) -> int:
    if not minimum <= value <= _TALIB_MAX_PERIOD:
        raise ConfigError(name, f"must be in [{minimum}, {_TALIB_MAX_PERIOD:,}] (TA-Lib's range), was {value}")
    return value


class SMA(Indicator):
    """Simple moving average of the close over `period` bars."""

    def __init__(self, period: int = 30) -> None:
        self.period = _check_period("period", period, 2)

    def compute(self, bars: Mapping[str, np.ndarray]) -> Mapping[str, np.ndarray]:
        return {"value": talib.SMA(bars["close"], timeperiod=self.period)}


class EMA(Indicator):
    """Exponential moving average of the close (α = 2 / (period + 1), seeded with the SMA)."""

    def __init__(self, period: int = 30) -> None:
        self.period = _check_period("period", period, 2)

    def compute(self, bars: Mapping[str, np.ndarray]) -> Mapping[str, np.ndarray]:
        return {"value": talib.EMA(bars["close"], timeperiod=self.period)}


class RSI(Indicator):
    """Relative strength index of the close with Wilder's smoothing."""

    def __init__(self, period: int = 14) -> None:
        self.period = _check_period("period", period, 2)

    def compute(self, bars: Mapping[str, np.ndarray]) -> Mapping[str, np.ndarray]:
        return {"value": talib.RSI(bars["close"], timeperiod=self.period)}


class BB(Indicator):
    """Bollinger Bands: SMA of the close ± `nbdev` population standard deviations."""

    outputs = ("upper", "middle", "lower")

    def __init__(self, period: int = 20, nbdev: float = 2.0) -> None:
        self.period = _check_period("period", period, 2)
        if not nbdev > 0:
            raise ConfigError("nbdev", f"must be > 0, was {nbdev}")
        self.nbdev = nbdev

    def compute(self, bars: Mapping[str, np.ndarray]) -> Mapping[str, np.ndarray]:
        upper, middle, lower = talib.BBANDS(bars["close"], timeperiod=self.period, nbdevup=self.nbdev,
                                            nbdevdn=self.nbdev, matype=talib.MA_Type.SMA)
        return {"upper": upper, "middle": middle, "lower": lower}


class ATR(Indicator):
    """Average true range with Wilder's smoothing."""

    def __init__(self, period: int = 14) -> None:
        self.period = _check_period("period", period, 1)

    def compute(self, bars: Mapping[str, np.ndarray]) -> Mapping[str, np.ndarray]:
        return {"value": talib.ATR(bars["high"], bars["low"], bars["close"], timeperiod=self.period)}


class MACD(Indicator):
    """MACD line (fast EMA − slow EMA), its signal EMA, and their difference."""

    outputs = ("macd", "signal", "hist")

    def __init__(self, fast: int = 12, slow: int = 26, signal: int = 9) -> None:
        self.fast = _check_period("fast", fast, 2)
        self.slow = _check_period("slow", slow, 2)
        if slow <= fast:
            raise ConfigError("slow", f"must be greater than fast ({fast}), was {slow}")
        self.signal = _check_period("signal", signal, 1)

    def compute(self, bars: Mapping[str, np.ndarray]) -> Mapping[str, np.ndarray]:
        macd, signal, hist = talib.MACD(bars["close"], fastperiod=self.fast, slowperiod=self.slow,
                                        signalperiod=self.signal)
        return {"macd": macd, "signal": signal, "hist": hist}

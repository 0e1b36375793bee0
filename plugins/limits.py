"""Built-in risk limits: caps on positions, and halting limits that watch the whole account."""

from __future__ import annotations

import math

from multifolio.protocols import BLOCK, FLATTEN, HALT_ACTIONS, AccountState, ConfigError, RiskContext, RiskLimit


class MaxPositionValue(RiskLimit):
    """No position worth more than `value` (currency) at the signal's close."""

    def __init__(self, *, value: float) -> None:
        if not value > 0:
            raise ConfigError("value", f"must be > 0 (currency), was {value}")
        self.value = value

    def max_position(self, context: RiskContext) -> float:
        return self.value / context.price

    def describe(self) -> str:
        return f"max_position_value {self.value:g}"


class MaxTotalExposure(RiskLimit):
    """Gross exposure (Σ |quantity| × price over all symbols) at most `value` × equity."""

    def __init__(self, *, value: float) -> None:
        if not value > 0:
            raise ConfigError("value", f"must be > 0 (a multiple of equity), was {value}")
        self.value = value

    def max_position(self, context: RiskContext) -> float:
        room = self.value * context.equity - context.gross_exposure_other
        return max(0.0, room / context.price)

    def describe(self) -> str:
        return f"max_total_exposure {self.value:g}"


def _checked_action(action: str) -> str:
    if action not in HALT_ACTIONS:
        raise ConfigError("action", f"must be one of {', '.join(HALT_ACTIONS)}, was {action!r}")
    return action


def _checked_share(value: float) -> float:
    if not 0 < value < 1:
        raise ConfigError("value", f"must be a fraction of equity in (0, 1), e.g. 0.25 for 25 %, was {value}")
    return value


def _moved(transfers: float, last: float, reference: float) -> tuple[float, float]:
    """A reference equity (a peak, a day's start) and the last equity seen after the book moved `transfers`
    in: scaled by the same factor, so the drawdown or loss measured from it is what the system earned or
    lost, not the capital moved; a book that had nothing starts from what it received."""
    if last > 0:  # (False for NaN: nothing seen yet)
        scale = (last + transfers) / last
        return reference * scale, last * scale
    start = transfers if math.isnan(last) else last + transfers
    return start, start


class MaxDrawdown(RiskLimit):
    """Halts the system when its equity at a bar's close falls more than `value` (a fraction) below its
    peak; with `reset` (1D, 1W, 1M) the peak starts again at each day, week or month, from the equity at
    the previous period's last close. Once broken it stays broken until the period resets (a block
    lifts then; with `reset: never`, never)."""

    RESETS = ("never", "1D", "1W", "1M")

    def __init__(self, *, value: float, action: str = FLATTEN, reset: str = "never") -> None:
        self.value = _checked_share(value)
        self.action = _checked_action(action)
        if reset not in self.RESETS:
            raise ConfigError("reset", f"must be one of {', '.join(self.RESETS)}, was {reset!r}")
        self.reset = reset
        self._period: object = None
        self._peak = math.nan
        self._last = math.nan  # the equity at the last close seen
        self._broken: str | None = None  # why, once broken in the current period
        self._period_day = -2  # the day whose period `_period` is

    def max_position(self, context: RiskContext) -> float:
        return math.inf

    def _period_of(self, account: AccountState) -> object:
        if self.reset == "1D":
            return account.day
        if self.reset == "1W":
            return (account.day + 3) // 7  # weeks from Monday to Sunday (1970-01-01 was a Thursday)
        if self.reset == "1M":
            return (account.timestamp.year, account.timestamp.month) if account.day != self._period_day \
                else self._period  # a month changes only with the day: the timestamp is read once a day
        return None

    def breached(self, account: AccountState) -> str | None:
        if account.transfers:
            self._peak, self._last = _moved(account.transfers, self._last, self._peak)
        period = self._period_of(account)
        self._period_day = account.day
        if period != self._period or self._peak != self._peak:  # a new period (or the first call)
            self._period, self._broken = period, None
            self._peak = account.equity if self._last != self._last else self._last
        self._last = account.equity
        self._peak = max(self._peak, account.equity)
        if self._broken is None and self._peak > 0:  # at a peak ≤ 0 the bankruptcy floor has halted the system
            drawdown = 1.0 - account.equity / self._peak
            if drawdown > self.value:
                self._broken = f"drawdown {drawdown:.2%} from the peak {self._peak:,.2f} exceeds {self.value:.2%}"
        return self._broken  # broken until the period resets, even if the equity comes back

    def describe(self) -> str:
        return f"max_drawdown {self.value:g}"


class DailyLoss(RiskLimit):
    """Halts the system when its equity at a bar's close is more than `value` (a fraction) below the
    equity at the previous calendar day's last close (the initial capital on the first day). Once broken
    it stays broken for the rest of that day (a block lifts at the next day's first close looked at)."""

    def __init__(self, *, value: float, action: str = BLOCK) -> None:
        self.value = _checked_share(value)
        self.action = _checked_action(action)
        self._day: object = None
        self._reference = math.nan  # the equity at the last close of the day before
        self._last = math.nan
        self._broken: str | None = None  # why, once broken today

    def max_position(self, context: RiskContext) -> float:
        return math.inf

    def breached(self, account: AccountState) -> str | None:
        if account.transfers:
            self._reference, self._last = _moved(account.transfers, self._last, self._reference)
        day = account.day
        if day != self._day:
            self._day, self._broken = day, None
            self._reference = account.equity if self._last != self._last else self._last
        self._last = account.equity
        if self._broken is None and self._reference > 0:  # at ≤ 0 the bankruptcy floor has halted the system
            loss = 1.0 - account.equity / self._reference
            if loss > self.value:
                self._broken = (f"loss {loss:.2%} since the previous day's last close {self._reference:,.2f} "
                                f"exceeds {self.value:.2%}")
        return self._broken  # broken for the rest of the day, even if the equity comes back

    def describe(self) -> str:
        return f"daily_loss {self.value:g}"

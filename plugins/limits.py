"""Built-in risk limits: caps on positions, and halting limits that watch the whole account."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from multifolio.protocols import (
    BLOCK,
    FLATTEN,
    HALT_ACTIONS,
    AccountSpan,
    AccountState,
    ConfigError,
    RiskContext,
    RiskLimit,
)


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


def _runs(keys: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of equal `keys` (in order, as a span's days are): the periods a span of bars falls
    in, one after the other; most spans fall in one."""
    if keys[0] == keys[-1]:
        return [(0, len(keys))]
    bounds = [0, *(np.flatnonzero(keys[1:] != keys[:-1]) + 1).tolist(), len(keys)]
    return list(zip(bounds[:-1], bounds[1:]))


def _first_loss(equity: np.ndarray, reference: np.ndarray | float, share: float) -> int | None:
    """The first position at which `equity` is more than `share` below a positive `reference` (as `breached`
    computes it: 1 − equity / reference), or None. `reference`: one, or one per position never below the first."""
    first = reference if isinstance(reference, float) else float(reference[0])
    if not first > 0:  # (a peak ≤ 0 or NaN: the bankruptcy floor's business, not the limit's)
        if not isinstance(reference, np.ndarray):
            return None
        with np.errstate(divide="ignore", invalid="ignore"):
            broken = (reference > 0) & (1.0 - equity / reference > share)
    else:
        broken = 1.0 - equity / reference > share
    position = int(broken.argmax())
    return position if broken[position] else None


class _LookingAhead(RiskLimit):
    """A halting limit that judges a span of closes at once (`RiskLimit.looks_ahead`): `_walk` gives where `breached`
    would first answer over them and, when it would not, the limit's state after them, which `_taken` takes."""

    def first_breach(self, accounts: AccountSpan) -> int:
        return self._walk(accounts)[0] if len(accounts) else 0

    def seen(self, accounts: AccountSpan) -> None:
        if not len(accounts):
            return
        breach, state = self._walk(accounts)
        if breach < len(accounts):  # not what `seen` is for: shown one by one, as `breached` would be
            for position in range(len(accounts)):
                self.breached(accounts.account(position))
        else:
            self._taken(state)

    def _walk(self, accounts: AccountSpan) -> tuple[int, tuple]:
        raise NotImplementedError

    def _taken(self, state: tuple) -> None:
        raise NotImplementedError


class MaxDrawdown(_LookingAhead):
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

    def _taken(self, state: tuple) -> None:
        # (a walk that ends found no breach: a limit broken before it was in a period the span left)
        self._period, self._peak, self._last, self._period_day = state
        self._broken = None

    def _walk(self, accounts: AccountSpan) -> tuple[int, tuple]:
        """Where `breached` would first answer over `accounts`, and (period, peak, last, day) after them all when
        it would not: each period's peak is the running maximum from the equity it starts from, as `breached`
        keeps it close by close."""
        keys, period_of = self._period_keys(accounts)
        equity = accounts.equity
        period, peak, last, broken = self._period, self._peak, self._last, self._broken is not None
        for start, stop in _runs(keys):
            key = period_of(start)
            if key != period or peak != peak:
                period, peak, broken = key, float(equity[start]) if last != last else last, False
            if broken:  # broken until its period resets
                return start, ()
            peaks = np.maximum(np.maximum.accumulate(equity[start:stop]), peak)
            hit = _first_loss(equity[start:stop], peaks, self.value)
            if hit is not None:
                return start + hit, ()
            peak, last = float(peaks[-1]), float(equity[stop - 1])
        return len(equity), (period, peak, last, int(accounts.days[-1]))

    def _period_keys(self, accounts: AccountSpan) -> tuple[np.ndarray, Callable[[int], object]]:
        """A number per account that changes with the period, and the period of the account at a position, as
        `_period_of` names it."""
        days = accounts.days.astype(np.int64)
        if self.reset == "1D":
            return days, lambda position: int(days[position])
        if self.reset == "1W":
            weeks = (days + 3) // 7
            return weeks, lambda position: int(weeks[position])
        if self.reset == "1M":
            months = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)  # since 1970-01
            return months, lambda position: (int(months[position] // 12 + 1970), int(months[position] % 12 + 1))
        return np.zeros(len(days), dtype=np.int64), lambda position: None

    def describe(self) -> str:
        return f"max_drawdown {self.value:g}"


class DailyLoss(_LookingAhead):
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

    def _taken(self, state: tuple) -> None:
        self._day, self._reference, self._last = state
        self._broken = None  # (as a walk that ends found no breach: broken only on a day the span left)

    def _walk(self, accounts: AccountSpan) -> tuple[int, tuple]:
        """Where `breached` would first answer over `accounts`, and (day, reference, last) after them all when it
        would not."""
        equity, days = accounts.equity, accounts.days
        day, reference, last, broken = self._day, self._reference, self._last, self._broken is not None
        for start, stop in _runs(days):
            if int(days[start]) != day:
                day, reference, broken = int(days[start]), float(equity[start]) if last != last else last, False
            if broken:  # broken for the rest of the day
                return start, ()
            hit = _first_loss(equity[start:stop], reference, self.value)
            if hit is not None:
                return start + hit, ()
            last = float(equity[stop - 1])
        return len(equity), (day, reference, last)

    def describe(self) -> str:
        return f"daily_loss {self.value:g}"

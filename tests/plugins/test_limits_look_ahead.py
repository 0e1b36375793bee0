"""The built-in halting limits look ahead: `first_breach` over a span of closes finds the close at which `breached`,
shown them one by one, first answers, and `seen` leaves the limit as `breached` would have, to the last bit."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from multifolio.config.cadence import calendar_days
from multifolio.protocols import AccountSpan, AccountState
from plugins.limits import DailyLoss, MaxDrawdown

LIMITS = st.one_of(
    st.builds(lambda value, reset: MaxDrawdown(value=value, reset=reset), st.floats(0.01, 0.5),
              st.sampled_from(MaxDrawdown.RESETS)),
    st.builds(lambda value: DailyLoss(value=value), st.floats(0.005, 0.3)))


@st.composite
def spans(draw) -> AccountSpan:
    """The closes of a span: equity on a random walk that may cross zero, bars hours or days apart (periods
    begin inside the span, or at every bar), after a run of earlier closes."""
    bars = draw(st.integers(0, 120))
    spacing = draw(st.sampled_from(["1h", "7h", "1D", "6D", "20D"]))
    timeline = pd.date_range("2023-12-28 09:00", periods=bars + 40, freq=spacing, tz=draw(st.sampled_from(
        [None, "America/New_York"])))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    equity = np.round(10_000 + np.cumsum(rng.normal(0, draw(st.sampled_from([20.0, 400.0, 3_000.0])), len(timeline))),
                      2)
    return AccountSpan(0, equity, 5_000.0, np.abs(equity - 5_000.0), {"SPY": 10.0}, calendar_days(timeline),
                       timeline)


def shown(limit, accounts: AccountSpan, start: int, stop: int) -> list[str | None]:
    return [limit.breached(accounts.account(position)) for position in range(start, stop)]


def twins_and_span(data, accounts: AccountSpan):
    """A limit and its twin, both shown the initial capital, then the same earlier closes one by one (which may
    break them); and the span of the closes after those."""
    limit = data.draw(LIMITS)
    twin = type(limit)(**{key: getattr(limit, key) for key in ("value", "action")},
                       **({"reset": limit.reset} if isinstance(limit, MaxDrawdown) else {}))
    earlier = data.draw(st.integers(0, min(40, len(accounts.equity))))
    for one in (limit, twin):
        one.breached(AccountState(-1, 10_000.0, 10_000.0, 0.0, {}, -1, accounts.timeline))
        shown(one, accounts, 0, earlier)
    return limit, twin, accounts.part(earlier, len(accounts.equity))


@settings(max_examples=300, deadline=None)
@given(accounts=spans(), data=st.data())
def test_first_breach_and_seen_are_breached_shown_one_by_one(accounts, data):
    limit, twin, span = twins_and_span(data, accounts)
    answers = shown(twin, span, 0, len(span))
    first = next((position for position, answer in enumerate(answers) if answer is not None), len(span))
    assert limit.first_breach(span) == first
    # looking changed nothing: shown the span one by one, the limit answers as its twin did
    assert shown(limit, span, 0, len(span)) == answers


@settings(max_examples=300, deadline=None)
@given(accounts=spans(), data=st.data())
def test_a_limit_that_has_seen_a_span_answers_as_one_shown_it_close_by_close(accounts, data):
    limit, twin, span = twins_and_span(data, accounts)
    gone = min(limit.first_breach(span), data.draw(st.integers(0, len(span))))
    limit.seen(span.part(0, gone))
    assert shown(twin, span, 0, gone) == [None] * gone
    assert vars(limit) == vars(twin)
    assert shown(limit, span, gone, len(span)) == shown(twin, span, gone, len(span))


def test_an_empty_span_is_neither_breached_nor_seen():
    timeline = pd.date_range("2024-01-01", periods=3, freq="1D")
    empty = AccountSpan(1, np.zeros(0), 0.0, np.zeros(0), {}, np.zeros(0, dtype=np.int64), timeline)
    for limit in (MaxDrawdown(value=0.1), DailyLoss(value=0.1)):
        before = dict(vars(limit))
        assert limit.first_breach(empty) == 0
        limit.seen(empty)
        assert vars(limit) == before and type(limit).looks_ahead()

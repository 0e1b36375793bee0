"""The top-level `allocation`, `risk`, `controller` and `portfolio.active`: their rules and their errors."""

from __future__ import annotations

import pandas as pd
import pytest

from multifolio.config.cadence import Cadence, parse_cadence
from multifolio.errors import ConfigError
from tests.builders import backtest_config, checked, system_config
from tests.config.test_config import errors_of


def funded(*names: str, **allocation) -> dict:
    document = backtest_config(*(system_config(name) for name in names))
    for entry in document["trading_systems"]:
        del entry["portfolio"]["initial_capital"]
    document["allocation"] = {"capital": 100_000, **allocation}
    return document


def test_a_calendar_cadence_starts_at_the_first_bar_of_each_period_of_the_datas_own_zone():
    stamps = pd.DatetimeIndex(["2024-01-30 15:59", "2024-01-31 09:30", "2024-02-01 09:30", "2024-02-05 09:30",
                               "2024-04-01 09:30", "2025-01-02 09:30"]).tz_localize("America/New_York")
    assert Cadence(1, "M").starts(stamps).tolist() == [True, False, True, False, True, True]
    assert Cadence(1, "W").starts(stamps).tolist() == [True, False, False, True, True, True]  # weeks from Monday
    assert Cadence(1, "Q").starts(stamps).tolist() == [True, False, False, False, True, True]
    assert Cadence(2, "M").starts(stamps).tolist() == [True, False, False, False, True, True]  # Jan–Feb, Mar–Apr
    assert Cadence(1, "Y").starts(stamps).tolist() == [True, False, False, False, False, True]
    assert Cadence(3, "bars").starts(stamps).tolist() == [True, False, False, True, False, False]


def test_a_look_back_starts_after_the_same_time_that_many_periods_earlier():
    stamps = pd.date_range("2024-01-01", periods=70, freq="D")
    starts = Cadence(1, "M").window_starts(stamps)
    assert stamps[starts[45]] == pd.Timestamp("2024-01-16")  # bar 45 is Feb 15: the bars after Jan 15
    assert Cadence(5, "bars").window_starts(stamps)[:7].tolist() == [0, 0, 0, 0, 0, 1, 2]
    assert Cadence(1000, "Y").window_starts(stamps).max() == 0  # far before the data: every bar so far


@pytest.mark.parametrize("text, expected", [(20, Cadence(20, "bars")), ("20", Cadence(20, "bars")),
                                            ("1m", Cadence(1, "M")), (" 3M", Cadence(3, "M")),
                                            ("2W", Cadence(2, "W"))])
def test_a_cadence_is_a_number_of_bars_or_of_calendar_periods(text, expected):
    assert parse_cadence(text, "x", what="how often") == expected
    with pytest.raises(ConfigError, match="1D, 1W, 1M, 3M, 1Q, 1Y"):
        parse_cadence("1H", "x", what="how often")


def test_the_allocation_funds_its_systems_and_isolated_ones_keep_their_own_capital(registry):
    document = funded("a", "b", method="fixed", weights={"a": 0.6}, systems=["a"])
    document["trading_systems"][1]["portfolio"]["initial_capital"] = 5_000
    config = checked(document, registry)
    assert config.book.coupled == ("a",) and config.book.allocation.allocator.params == {"weights": {"a": 0.6}}
    assert [system.initial_capital for system in config.systems] == [0.0, 5_000.0]


def test_allocation_errors_name_their_key_and_what_is_expected(registry):
    document = funded("alpha", "beta", method="fixed", weights={"alpah": 0.5, "beta": 0.5}, systems=["alpha", "bta"],
                      rebalance={"every": "1H", "drift": 2})
    document["trading_systems"][0]["portfolio"]["initial_capital"] = 10
    del document["trading_systems"][1]["portfolio"]["namespace"]
    assert errors_of(document, registry) == [
        "trading_systems[0].portfolio.initial_capital: the allocation funds this system: its capital is its weight "
        "of allocation.capital; leave initial_capital out",
        "trading_systems[1].portfolio.initial_capital: missing required key (or fund the system from a top-level "
        "allocation)",
        "allocation.systems[1]: no trading system is named 'bta'; known: alpha, beta (did you mean beta?)",
        "allocation.weights.alpah: 'alpah' is not a system of the allocation; known: alpha (did you mean alpha?)",
        "allocation.weights.beta: 'beta' is not a system of the allocation; known: alpha",
        "allocation.rebalance.every: expected how often to rebalance: a number of bars (20) or of calendar "
        "periods: 1D, 1W, 1M, 3M, 1Q, 1Y (at most 1000), found '1H'",
        "allocation.rebalance.drift: must be a weight difference in (0, 1], was 2.0"]


def test_an_unknown_allocator_lists_the_known_ones(registry):
    assert errors_of(funded("a", method="risk_party"), registry) == [
        "allocation.method: unknown allocator 'risk_party'; known: equal, fixed, inverse_volatility, performance, "
        "risk_parity (did you mean risk_parity?)"]


def test_book_limits_and_windows_are_checked(registry):
    document = backtest_config(system_config("a", execution={"fill_at": "close"}),
                               system_config("b", active={"start": "2024-03-01", "end": "2024-02-01"}),
                               system_config("c", active={"start": "controller"}),
                               system_config("d", active={"end": "soon"}))
    document["risk"] = {"limits": {"gross_exposure": 0, "max_drawdown": 1.5}}
    assert errors_of(document, registry) == [
        "trading_systems[1].portfolio.active.end: 2024-02-01 00:00:00 is not after start 2024-03-01 00:00:00",
        "trading_systems[3].portfolio.active.end: expected a date or time such as 2020-06-30 or 2020-06-30T14:30, "
        "found 'soon'",
        "risk.limits.gross_exposure: must be a multiple of the book's equity in (0, 1000], was 0.0",
        "risk.limits.max_drawdown: must be a fraction of the peak in (0, 1), was 1.5",
        "risk.limits: book limits scale the orders of a bar after every system placed them; systems a fill at the "
        "close they are placed at (execution.fill_at: close): use next_open",
        "trading_systems[2].portfolio.active.start: `controller`: a controller starts this system, but the config "
        "has no top-level controller"]


def test_book_limits_refuse_systems_that_fill_at_their_own_close(registry):
    document = backtest_config(system_config("a", execution={"fill_at": "close"}), system_config("b"))
    document["risk"] = {"limits": {"net_exposure": 1}}
    assert errors_of(document, registry) == [
        "risk.limits: book limits scale the orders of a bar after every system placed them; systems a fill at the "
        "close they are placed at (execution.fill_at: close): use next_open"]


def test_without_allocation_risk_or_controller_there_is_no_book(registry):
    assert checked(backtest_config(system_config("a"), system_config("b")), registry).book is None

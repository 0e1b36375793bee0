"""The hypothesis profiles: `ci` under CI, derandomized; a test's own settings still apply over either."""

from __future__ import annotations

import pytest
from hypothesis import settings

from tests.conftest import hypothesis_profile
from tests.property import test_causality, test_invariants


@pytest.mark.parametrize(("environ", "profile"), [
    ({}, "dev"),
    ({"CI": "true"}, "ci"),
    ({"CI": "1"}, "ci"),
    ({"CI": "false"}, "dev"),
    ({"CI": ""}, "dev"),
    ({"HYPOTHESIS_PROFILE": "ci"}, "ci"),
    ({"CI": "true", "HYPOTHESIS_PROFILE": "dev"}, "dev"),
])
def test_the_profile_is_ci_under_ci_unless_hypothesis_profile_names_one(environ, profile):
    assert hypothesis_profile(environ) == profile


def test_the_ci_profile_is_derandomized_without_deadline_and_prints_the_blob():
    ci = settings.get_profile("ci")
    assert (ci.derandomize, ci.deadline, ci.print_blob, ci.database) == (True, None, True, None)
    assert not settings.get_profile("dev").derandomize


@pytest.mark.parametrize(("test", "max_examples"), [
    (test_causality.test_orders_and_equity_up_to_t_ignore_later_bars, 30),
    (test_causality.test_indicator_values_up_to_t_ignore_later_bars, 40),
    (test_invariants.test_cash_plus_positions_at_market_is_equity_at_every_bar, 60),
])
def test_a_tests_own_settings_apply_and_the_rest_comes_from_the_loaded_profile(test, max_examples):
    own = test._hypothesis_internal_use_settings
    assert own.max_examples == max_examples
    assert own.derandomize == settings.default.derandomize
    assert own.print_blob == settings.default.print_blob

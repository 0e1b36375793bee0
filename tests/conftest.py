"""Shared fixtures (a plugin registry, a working directory per test) and the hypothesis profiles."""

from __future__ import annotations

import os
from collections.abc import Mapping

import pytest
from hypothesis import HealthCheck, settings

from multifolio.config.registry import PluginRegistry

# `dev`: new random examples each run (a failing one is saved in .hypothesis/ and tried first next time).
# `ci`: the same examples every run, nothing saved, no timing checks (a shared runner's speed varies);
# a failure prints the blob that replays it (@reproduce_failure). Both start from hypothesis' defaults,
# not from the profile it may have chosen itself on seeing CI.
# A test's own @settings(max_examples=...) applies over the profile: it is loaded here, before any
# test module is imported, and a settings object takes what it does not set from the profile loaded
# when it is made.
settings.register_profile("dev", settings.get_profile("default"))
settings.register_profile("ci", settings.get_profile("default"), derandomize=True, database=None,
                          print_blob=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def hypothesis_profile(environ: Mapping[str, str]) -> str:
    """HYPOTHESIS_PROFILE if set, else `ci` when CI is set (CI runs `.ci/run` with CI=true), else `dev`."""
    in_ci = environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
    return environ.get("HYPOTHESIS_PROFILE") or ("ci" if in_ci else "dev")


settings.load_profile(hypothesis_profile(os.environ))


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite tests/golden/*.json from this code's results (review the diff!)")


def pytest_report_header(config) -> str:
    return f"hypothesis profile: {hypothesis_profile(os.environ)} (HYPOTHESIS_PROFILE, else ci under CI, else dev)"


@pytest.fixture
def update_golden(request) -> bool:
    return request.config.getoption("--update-golden")


@pytest.fixture
def registry() -> PluginRegistry:
    return PluginRegistry()


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Run the test from an empty folder, as a user in a fresh project would."""
    monkeypatch.chdir(tmp_path)
    return tmp_path

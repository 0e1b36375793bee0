"""Shared fixtures: a plugin registry, and a working directory per test."""

from __future__ import annotations

import pytest

from multifolio.config.registry import PluginRegistry


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite tests/golden/*.json from this code's results (review the diff!)")


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

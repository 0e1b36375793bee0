"""Shared fixtures: a plugin registry, and a working directory per test."""

from __future__ import annotations

import pytest

from app.registry import PluginRegistry


@pytest.fixture
def registry() -> PluginRegistry:
    return PluginRegistry()


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Run the test from an empty folder, as a user in a fresh project would."""
    monkeypatch.chdir(tmp_path)
    return tmp_path

"""What `import multifolio` offers besides the plugin surface."""

from __future__ import annotations

import pytest

import multifolio
from multifolio.errors import ConfigErrors


def test_config_errors_is_exported_and_is_what_run_raises():
    config = {"data": {"source": "synthetic", "symbols": ["SPY"], "bars": 10},
              "trading_systems": [{"name": "a", "portfolio": {"initial_capital": 1000},
                                   "strategy": {"type": "buy_and_hold", "parameters": {"size": 1}},
                                   "risk": {"position_sizers": [{"type": "fixed", "size": 1}]}}]}
    assert multifolio.ConfigErrors is ConfigErrors and "ConfigErrors" in multifolio.__all__
    with pytest.raises(multifolio.ConfigErrors, match=r"trading_systems\[0\]\.strategy\.parameters\.size"):
        multifolio.run(config)

"""A plugin author's path: a separate distribution with one entry point, named in a YAML."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.builders import backtest_config, system_config
from tests.integration.distributions import install_distribution, with_path

pytestmark = pytest.mark.slow  # builds a distribution and runs `multifolio` in subprocesses

PLUGIN_MODULE = '''
"""A third-party strategy: imports only multifolio's public protocols."""
from multifolio.protocols import Direction, Strategy


class Contrarian(Strategy):
    """Short after an up bar, long after a down bar."""

    def __init__(self, *, min_move: float = 0.0) -> None:
        self.min_move = min_move

    def on_bar(self, bar, values):
        move = bar.close - bar.open
        if move > self.min_move:
            return Direction.SHORT
        if move < -self.min_move:
            return Direction.LONG
        return None
'''

@pytest.fixture(scope="module")
def installed_plugin(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("plugin") / "site"
    install_distribution(target, "multifolio-contrarian", {"mf_contrarian": PLUGIN_MODULE},
                         {"multifolio.strategies": {"contrarian": "mf_contrarian:Contrarian"}})
    assert list(target.glob("multifolio_contrarian-1.0.0.dist-info/entry_points.txt"))
    return target


def test_a_config_names_a_strategy_from_an_installed_third_party_distribution(installed_plugin, tmp_path):
    import yaml
    document = backtest_config(
        system_config("contrarian_system", strategy={"type": "contrarian", "parameters": {"min_move": 0.05}}),
        system_config("holder"), output_dir=tmp_path / "out")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(document))
    env = with_path(installed_plugin)
    multifolio = Path(sys.executable).parent / "multifolio"

    listing = subprocess.run([str(multifolio), "plugins"], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert "contrarian" in listing.stdout and "min_move=0.0" in listing.stdout

    done = subprocess.run([str(multifolio), "run", str(config), "--quiet"], env=env, capture_output=True,
                          text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    performance = json.loads((tmp_path / "out" / "test_run" / "contrarian_system" / "performance.json").read_text())
    assert performance["config"]["strategy"] == {"type": "contrarian", "params": {"min_move": 0.05}}
    assert performance["metrics"]["num_trades"] > 10

    without = subprocess.run([str(multifolio), "run", str(config)], capture_output=True, text=True, cwd=tmp_path)
    assert without.returncode == 2
    assert "trading_systems[0].strategy.type: unknown strategy 'contrarian'" in without.stderr

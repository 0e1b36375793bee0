"""multifolio: many isolated trading systems over one shared market-data stream.

From Python: `multifolio.run(config, data=..., plugins=...)` returns a `Result` of DataFrames
(`multifolio.api`); `multifolio.load(config)` checks a config without running it.

The public surface for plugin authors is re-exported here (`from multifolio import
Strategy, Direction`), the same names as `multifolio.protocols`; `multifolio.testing` is their kit.
"""

from typing import Any

from multifolio import protocols
from multifolio.errors import ConfigErrors  # what `run` and `load` raise (loaded by the protocols anyway)
from multifolio.protocols import *  # noqa: F403 - the public surface is the protocols, name for name

__version__ = "0.1.0"

# the Python API, imported on first use: a plugin needs none of it
_API = ["run", "load", "Backtest", "Result", "SystemOutcome"]

__all__ = [*protocols.__all__, *_API, "ConfigErrors", "__version__"]


def __getattr__(name: str) -> Any:
    if name in _API:
        from multifolio import api, results

        return getattr(api, name, None) or getattr(results, name)
    raise AttributeError(f"module 'multifolio' has no attribute {name!r}")

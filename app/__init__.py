"""multifolio: many isolated trading systems over one shared market-data stream.

The public surface for plugin authors is re-exported here (`from multifolio import
Strategy, Direction`), the same names as `multifolio.protocols`.
"""

from multifolio import protocols
from multifolio.protocols import *  # noqa: F403 - the public surface is the protocols, name for name

__version__ = "0.1.0"

__all__ = [*protocols.__all__, "__version__"]

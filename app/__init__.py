"""multifolio: many isolated trading systems over one shared market-data stream."""

__version__ = "0.1.0"

"""multifolio: many isolated trading systems over one shared market-data stream.

The public surface for plugin authors is re-exported here (`from multifolio import
Strategy, Direction`), the same names as `multifolio.protocols`.
"""

from multifolio.protocols import (
    BAR_COLUMNS,
    PRICE_FIELDS,
    BarClosed,
    CommissionModel,
    ConfigError,
    DataError,
    DataSource,
    Direction,
    Indicator,
    IndicatorValues,
    PositionSizer,
    RiskContext,
    RiskLimit,
    SlippageModel,
    Strategy,
)

__version__ = "0.1.0"

__all__ = [
    "BAR_COLUMNS", "PRICE_FIELDS", "BarClosed", "CommissionModel", "ConfigError", "DataError", "DataSource",
    "Direction", "Indicator", "IndicatorValues", "PositionSizer", "RiskContext", "RiskLimit", "SlippageModel",
    "Strategy", "__version__",
]

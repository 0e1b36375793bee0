"""Built-in position sizers."""

from __future__ import annotations

from multifolio.protocols import ConfigError, PositionSizer, RiskContext


class FixedSizer(PositionSizer):
    """Always `size` units (shares, contracts, coins)."""

    def __init__(self, *, size: float) -> None:
        if not size > 0:
            raise ConfigError("size", f"must be > 0 units, was {size}")
        self.size_units = size

    def size(self, context: RiskContext) -> float:
        return self.size_units


class PercentageSizer(PositionSizer):
    """Units worth `size` (a fraction in (0, 1]) of current equity at the signal's close."""

    def __init__(self, *, size: float) -> None:
        if not 0 < size <= 1:
            raise ConfigError("size", f"must be a fraction of equity in (0, 1], was {size}")
        self.fraction = size

    def size(self, context: RiskContext) -> float:
        return max(0.0, self.fraction * context.equity / context.price)

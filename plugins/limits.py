"""Built-in risk limits."""

from __future__ import annotations

from multifolio.protocols import ConfigError, RiskContext, RiskLimit


class MaxPositionValue(RiskLimit):
    """No position worth more than `value` (currency) at the signal's close."""

    def __init__(self, *, value: float) -> None:
        if not value > 0:
            raise ConfigError("value", f"must be > 0 (currency), was {value}")
        self.value = value

    def max_position(self, context: RiskContext) -> float:
        return self.value / context.price

    def describe(self) -> str:
        return f"max_position_value {self.value:g}"


class MaxTotalExposure(RiskLimit):
    """Gross exposure (Σ |quantity| × price over all symbols) at most `value` × equity."""

    def __init__(self, *, value: float) -> None:
        if not value > 0:
            raise ConfigError("value", f"must be > 0 (a multiple of equity), was {value}")
        self.value = value

    def max_position(self, context: RiskContext) -> float:
        room = self.value * context.equity - context.gross_exposure_other
        return max(0.0, room / context.price)

    def describe(self) -> str:
        return f"max_total_exposure {self.value:g}"

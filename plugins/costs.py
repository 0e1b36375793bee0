"""Built-in slippage and commission models."""

from __future__ import annotations

from multifolio.protocols import CommissionModel, ConfigError, SlippageModel


class BpsSlippage(SlippageModel):
    """Fills `bps` basis points worse than the reference price: above it when buying,
    below it when selling."""

    def __init__(self, *, bps: float = 0.0) -> None:
        if not 0 <= bps < 10_000:  # 10,000 bps is the whole price: a sell would fill at 0 or below
            raise ConfigError("bps", f"must be in [0, 10000) (slippage is against the trader, in basis points of "
                                     f"the price), was {bps}")
        self.bps = bps

    def fill_price(self, price: float, quantity: float) -> float:
        if not self.bps:
            return price
        side = 1.0 if quantity > 0 else -1.0
        return price * (1.0 + side * self.bps / 10_000.0)


class PerShareCommission(CommissionModel):
    """`rate` currency per unit traded, at least `minimum` per fill."""

    def __init__(self, *, rate: float = 0.0, minimum: float = 0.0) -> None:
        if rate < 0:
            raise ConfigError("rate", f"must be ≥ 0 (currency per share), was {rate}")
        if minimum < 0:
            raise ConfigError("minimum", f"must be ≥ 0 (currency), was {minimum}")
        self.rate = rate
        self.minimum = minimum

    def commission(self, quantity: float, price: float) -> float:
        return max(abs(quantity) * self.rate, self.minimum) if quantity else 0.0

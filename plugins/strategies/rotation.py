"""Cross-sectional momentum rotation on the full strategy form: hold the symbols that rose most."""

from __future__ import annotations

import math

from multifolio.protocols import ConfigError, Strategy, TradingContext


class RotationStrategy(Strategy):
    """Every `every` timestamps, ranks the symbols by their close's return over their last `lookback`
    bars and holds the `top` best, `fraction` of equity split equally among them; the others are sold.
    A symbol without `lookback` bars of history yet is not ranked; ties go to the earlier symbol in
    `data.symbols`. Sales are ordered before purchases, so they fill first at the same open.
    """

    def __init__(self, *, lookback: int = 20, top: int = 1, every: int = 5, fraction: float = 0.95) -> None:
        for name, value, low in (("lookback", lookback, 1), ("top", top, 1), ("every", every, 1)):
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= 100_000:
                raise ConfigError(name, f"must be a whole number in [{low}, 100,000], was {value!r}")
        if not 0 < fraction <= 1:
            raise ConfigError("fraction", f"must be a fraction of equity in (0, 1], was {fraction}")
        self.lookback, self.top, self.every, self.fraction = lookback, top, every, fraction
        self._seen = 0

    def on_bars(self, context: TradingContext) -> None:
        self._seen += 1
        if (self._seen - 1) % self.every:
            return
        scores = {}
        for symbol in context.symbols:
            values = context.values(symbol)
            before = values.ago("close", self.lookback)
            if not math.isnan(before):
                scores[symbol] = values["close"] / before - 1.0
        order = {symbol: number for number, symbol in enumerate(context.symbols)}
        chosen = sorted(scores, key=lambda symbol: (-scores[symbol], order[symbol]))[:self.top]
        weight = self.fraction / len(chosen) if chosen else 0.0
        for symbol in context.symbols:  # sales first
            if symbol not in chosen and context.position(symbol):
                context.target(symbol, quantity=0)
        for symbol in chosen:
            context.target(symbol, percent=weight)

"""One trading system's bus: anonymous blinker signals owned by that system alone."""

from __future__ import annotations

from blinker import Signal


class SystemSignals:
    """The signals of one trading system (one per system, never shared).

    Each signal is an *instance* attribute created here, so a receiver connected
    in one system cannot hear another system's events: isolation by construction.
    """

    def __init__(self, *, namespace: str) -> None:
        self.namespace = namespace
        self.bar_closed = Signal("bar_closed")
        self.signal_generated = Signal("signal_generated")
        self.order_submitted = Signal("order_submitted")
        self.order_rejected = Signal("order_rejected")
        self.order_filled = Signal("order_filled")
        self.order_cancelled = Signal("order_cancelled")
        self.portfolio_updated = Signal("portfolio_updated")
        self.data_ended = Signal("data_ended")

    def all(self) -> dict[str, Signal]:
        """Every signal by attribute name (for wiring checks and tracing)."""
        return {name: value for name, value in vars(self).items() if isinstance(value, Signal)}

    def __repr__(self) -> str:
        return f"SystemSignals(namespace={self.namespace!r})"

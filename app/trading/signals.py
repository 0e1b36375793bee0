"""One trading system's bus: anonymous blinker signals owned by that system alone."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from blinker import ANY, Signal

from multifolio.trading.events import (
    BarClosed,
    BlockLifted,
    DataEnded,
    OrderCancelled,
    OrderFilled,
    OrderModified,
    OrderRejected,
    OrderRequested,
    OrderSubmitted,
    OrderTriggered,
    SignalGenerated,
    SystemHalted,
)

EVENT_TYPES = (BarClosed, SignalGenerated, OrderRequested, OrderSubmitted, OrderRejected, OrderTriggered,
               OrderModified, OrderFilled, OrderCancelled, SystemHalted, BlockLifted, DataEnded)


def signal_name(event_type: type) -> str:
    """`OrderFilled` → `order_filled`: the signal that carries that event."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", event_type.__name__).lower()


class SystemSignals:
    """The signals of one trading system (one per system, never shared).

    Each signal is an *instance* attribute created here, so a receiver connected
    in one system cannot hear another system's events: isolation by construction.
    Components publish with `emit(event)`; the event's type picks the signal.
    """

    def __init__(self, *, namespace: str) -> None:
        self.namespace = namespace
        self.bar_closed = Signal("bar_closed")
        self.signal_generated = Signal("signal_generated")
        self.order_requested = Signal("order_requested")
        self.order_submitted = Signal("order_submitted")
        self.order_rejected = Signal("order_rejected")
        self.order_triggered = Signal("order_triggered")
        self.order_modified = Signal("order_modified")
        self.order_filled = Signal("order_filled")
        self.order_cancelled = Signal("order_cancelled")
        self.system_halted = Signal("system_halted")
        self.block_lifted = Signal("block_lifted")
        self.data_ended = Signal("data_ended")
        self._routes: dict[type, Callable[[Any], Any]] = {
            event_type: getattr(self, signal_name(event_type)).send for event_type in EVENT_TYPES}

    def all(self) -> dict[str, Signal]:
        """Every signal by attribute name (for wiring checks and tracing)."""
        return {name: value for name, value in vars(self).items() if isinstance(value, Signal)}

    def emit(self, event: Any) -> None:
        """Deliver `event` on the signal of its type."""
        self._routes[type(event)](event)

    def seal(self) -> None:
        """Fix the receivers for the run: from now on events go straight to them.

        blinker's `send` costs 1–4 µs; calling the same receivers directly 0.05 µs,
        which matters on the per-bar path and in every order's cascade. Connect
        before the run starts: a receiver connected later is not called.
        """
        self._routes = {event_type: dispatcher(getattr(self, signal_name(event_type))) for event_type in EVENT_TYPES}

    def __repr__(self) -> str:
        return f"SystemSignals(namespace={self.namespace!r})"


def dispatcher(signal: Signal) -> Callable[[Any], None]:
    """A callable that delivers an event to the receivers connected to `signal` right now.

    They are the receivers `send` would call: events are sent with themselves as the
    sender, so only receivers connected for ANY sender hear them.
    """
    receivers = tuple(signal.receivers_for(ANY))
    if len(receivers) == 1:
        return receivers[0]

    def deliver(event: Any) -> None:
        for receiver in receivers:
            receiver(event)

    return deliver

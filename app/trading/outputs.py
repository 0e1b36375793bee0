"""Numbers at the ledger's edge. What a plugin hands back is checked where it is used: a number,
finite, in range; else the system fails with a message naming the plugin, the call and the value
(never a NaN in a ledger). Quantities are whole lots."""

from __future__ import annotations

import math
from typing import Any

from multifolio.errors import PluginOutputError
from multifolio.protocols import ExitOrder, OrderType


def checked_number(value: Any, plugin: object, call: str, *, minimum: float = 0.0, strictly: bool = False,
                   infinite: bool = False) -> float:
    """`value` as a float ≥ `minimum` (> with `strictly`; +inf allowed with `infinite`)."""
    if type(value) is float and (minimum < value < math.inf or (value == minimum and not strictly)):
        return value  # the usual answer, at once: it runs for every fill's price and commission
    number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan
    if number == math.inf and infinite:
        return math.inf
    if not math.isfinite(number) or number < minimum or (strictly and number == minimum):
        bound = f"{'>' if strictly else '≥'} {minimum:g}"
        raise PluginOutputError(f"{type(plugin).__name__}.{call} returned {value!r}; expected a finite number "
                                f"{bound}{' or math.inf' if infinite else ''}")
    return float(number)


def whole_lots(quantity: float, lot_size: float) -> float:
    """`quantity` rounded toward zero to whole multiples of `lot_size` (0: any fraction)."""
    if lot_size <= 0 or not math.isfinite(quantity):
        return quantity
    # a tiny epsilon keeps 0.3/0.1 from rounding down to 2 lots
    return math.copysign(math.floor(abs(quantity) / lot_size + 1e-9) * lot_size, quantity)


def checked_exit_order(wanted: Any, exit_: object) -> ExitOrder | None:
    """What an exit's `order()` returned: None, or an ExitOrder at a price > 0 (a market one needs none)."""
    if wanted is None or (isinstance(wanted, ExitOrder)
                          and (wanted.type is OrderType.MARKET or (wanted.type in (OrderType.STOP, OrderType.LIMIT)
                                                                   and wanted.price > 0))):
        return wanted
    raise PluginOutputError(f"{type(exit_).__name__}.order() returned {wanted!r}; expected None or an ExitOrder "
                            "with a price > 0 (ExitOrder.stop(price), .limit(price), .market())")


def checked_halt_reason(reason: Any, limit: object) -> str | None:
    """What a halting limit's `breached()` returned: None, or the reason as a non-empty string."""
    if reason is None or (isinstance(reason, str) and reason):
        return reason
    raise PluginOutputError(f"{type(limit).__name__}.breached() returned {reason!r}; expected None or a "
                            "non-empty string saying why the limit is broken")

"""What a plugin hands back is checked where it is used: a number, finite, in range; else the
system fails with a message naming the plugin, the call and the value (never a NaN in a ledger)."""

from __future__ import annotations

import math
from typing import Any

from multifolio.errors import PluginOutputError


def checked_number(value: Any, plugin: object, call: str, *, minimum: float = 0.0, strictly: bool = False,
                   infinite: bool = False) -> float:
    """`value` as a float ≥ `minimum` (> with `strictly`; +inf allowed with `infinite`)."""
    number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan
    if number == math.inf and infinite:
        return math.inf
    if not math.isfinite(number) or number < minimum or (strictly and number == minimum):
        bound = f"{'>' if strictly else '≥'} {minimum:g}"
        raise PluginOutputError(f"{type(plugin).__name__}.{call} returned {value!r}; expected a finite number "
                                f"{bound}{' or math.inf' if infinite else ''}")
    return float(number)

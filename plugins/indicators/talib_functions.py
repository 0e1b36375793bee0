"""Every TA-Lib function by name (`ADX_14`, `STOCH_5_3_3.slowk`), through `talib.abstract`.

One Indicator class per function, made on first access from the function's own description: its
parameters with TA-Lib's names and defaults, in TA-Lib's order but for the moving-average types, which come
last (`STOCH_5_3_3` is fast-K 5, slow-K 3, slow-D 3, as traders write it, never a slow-K smoothed by MA
type 3; a type is set by name: `{type: STOCH, slowk_matype: 1}`), its outputs by TA-Lib's names (a single output is
`value`, read as the bare key), its price inputs taken from the bars by name (`prices` → high, low, close;
`price` → close; `price0`/`price1` → high/low, as TA-Lib defaults them). setup.cfg registers each name as
an entry point to this module, like any third-party plugin; a test keeps that list equal to
`talib.get_functions()` less `EXCLUDED` and the names the hand-written classes of `talib.py` own.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import numpy as np
import talib
import talib.abstract

from multifolio.protocols import ConfigError, Indicator

# Functions that are not an indicator of one symbol's bars, and why.
EXCLUDED = {
    "MAVP": "its second input, `periods` (a period per bar), is not a field of the bars",
}

_PROBE = np.linspace(10.0, 20.0, 8)  # a few bars to let TA-Lib check parameters before the run


class TalibFunction(Indicator):
    """A TA-Lib function computed through `talib.abstract` over a symbol's bars (TA-Lib's functions are
    causal: each value is computed from the bars up to its own). Subclassed per function by `indicator`."""

    function = ""  # TA-Lib's name of the function
    defaults: Mapping[str, int | float] = {}

    def __init__(self, **parameters: Any) -> None:
        unknown = sorted(set(parameters) - set(self.defaults))
        if unknown:  # the registry binds against the signature; this guards a direct call from Python
            raise TypeError(f"{self.function} takes {', '.join(self.defaults) or 'no parameters'}, "
                            f"not {', '.join(unknown)}")
        self.parameters = {name: parameters.get(name, default) for name, default in self.defaults.items()}
        self._check_ranges()

    def _check_ranges(self) -> None:
        """TA-Lib checks ranges only when called: call it on a few bars, one changed parameter at a time, so
        the error names the parameter."""
        for name, value in self.parameters.items():
            if value == self.defaults[name]:
                continue
            try:
                self._call({field: _PROBE for field in ("open", "high", "low", "close", "volume")},
                           {**self.defaults, name: value})
            except Exception as error:  # noqa: BLE001  # TA-Lib raises a bare Exception ("TA_BAD_PARAM")
                raise ConfigError(name, f"TA-Lib's {self.function} refused {value!r}: {error}") from None

    def _call(self, bars: Mapping[str, np.ndarray], parameters: Mapping[str, Any]) -> list[np.ndarray]:
        result = talib.abstract.Function(self.function, **parameters)(dict(bars))
        return list(result) if isinstance(result, list) else [result]

    def compute(self, bars: Mapping[str, np.ndarray]) -> Mapping[str, np.ndarray]:
        arrays = self._call(bars, self.parameters)
        return {output: np.asarray(array, dtype=np.float64) for output, array in zip(self.outputs, arrays)}


_classes: dict[str, type[TalibFunction]] = {}


def indicator(name: str) -> type[TalibFunction]:
    """The Indicator class of TA-Lib function `name`: keywords and annotations from its parameters."""
    if name not in _classes:
        described = talib.abstract.Function(name)
        # the moving-average types after the periods and factors: a key's values fill these in order
        defaults = dict(sorted(described.parameters.items(), key=lambda item: item[0].endswith("matype")))
        outputs = tuple(described.output_names)
        signature = inspect.Signature([
            inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
            *(inspect.Parameter(key, inspect.Parameter.KEYWORD_ONLY, default=value, annotation=type(value))
              for key, value in defaults.items())])

        def __init__(self: TalibFunction, **parameters: Any) -> None:
            TalibFunction.__init__(self, **parameters)

        __init__.__signature__ = signature  # type: ignore[attr-defined]  # what the registry binds against
        __init__.__annotations__ = {key: type(value) for key, value in defaults.items()}
        _classes[name] = type(name, (TalibFunction,), {
            "__init__": __init__, "__module__": __name__,
            "__doc__": f"TA-Lib's {name}: {described.info['display_name']} ({described.info['group']}).",
            "function": name, "defaults": defaults,
            "outputs": outputs if len(outputs) > 1 else ("value",)})
    return _classes[name]


def __getattr__(name: str) -> type[TalibFunction]:
    """`multifolio.plugins.indicators.talib_functions:ADX`, as an entry point names it."""
    if name in EXCLUDED or name not in talib.get_functions():
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return indicator(name)

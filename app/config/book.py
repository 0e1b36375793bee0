"""What couples the systems of a run, checked and resolved: the allocation of one pool of capital between
them and the limits on all their books together (`allocation:` and `risk:` at the top level).

Without either, `BacktestConfig.book` is None and every system is isolated exactly as before.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from attrs import frozen

from multifolio.config.cadence import Cadence, parse_cadence
from multifolio.config.registry import PluginKind, PluginRegistry
from multifolio.config.spec import PluginSpec
from multifolio.errors import PLUGIN_FAULTS, ConfigError, did_you_mean

if TYPE_CHECKING:
    from multifolio.config.model import AllocationConfig, BookRiskConfig

MAX_CAPITAL = 1e13  # as a system's own capital: beyond it float cents are lost


@frozen(hash=False)
class AllocationSpec:
    """One pool of `capital` shared between `systems` by the allocator, at `every` and whenever a weight
    drifts `drift` from its target; the allocator sees the returns of the last `lookback`."""

    capital: float
    allocator: PluginSpec
    systems: tuple[str, ...]
    every: Cadence | None
    drift: float | None
    lookback: Cadence


@frozen(hash=False)
class BookLimitsSpec:
    """Limits on all the books together (None: no such limit)."""

    gross_exposure: float | None = None
    net_exposure: float | None = None
    max_drawdown: float | None = None

    def any(self) -> bool:
        return any(value is not None for value in (self.gross_exposure, self.net_exposure, self.max_drawdown))


@frozen(hash=False)
class BookSpec:
    """What couples the systems: they are stepped together with the book, in one process."""

    allocation: AllocationSpec | None
    limits: BookLimitsSpec
    coupled: tuple[str, ...]  # the systems the book funds, limits or controls, in config order
    controller: PluginSpec | None = None

    def describe(self) -> list[str]:
        lines = []
        if self.allocation is not None:
            allocation = self.allocation
            when = [f"every {allocation.every.describe()}"] if allocation.every else []
            when += [f"when a weight drifts {allocation.drift:g} from its target"] if allocation.drift else []
            lines.append(f"allocation: {allocation.capital:,.2f} between {', '.join(allocation.systems)} by "
                         f"{allocation.allocator.describe()}, rebalanced {' and '.join(when) or 'never'}; "
                         f"look-back {allocation.lookback.describe()}")
        limits = self.limits
        for key, text in (("gross_exposure", "gross exposure of all books ≤ {:g} × equity"),
                          ("net_exposure", "net exposure of each symbol across books ≤ {:g} × equity"),
                          ("max_drawdown", "the combined book {:.0%} below its peak flattens every system")):
            value = getattr(limits, key)
            if value is not None:
                lines.append(f"book limit: {text.format(value)}")
        if self.controller is not None:
            lines.append(f"controller: {self.controller.describe()} starts and retires systems")
        return lines


def resolve_book(allocation: AllocationConfig | None, risk: BookRiskConfig | None, controller: PluginSpec | None,
                 names: Sequence[str], fills_at_close: Sequence[str], registry: PluginRegistry
                 ) -> tuple[BookSpec | None, list[ConfigError]]:
    """The book of a run whose systems are `names` (config order); None when nothing couples them.
    `fills_at_close`: the systems with `fill_at: close` (their orders fill as placed: no book limit can
    scale them)."""
    errors: list[ConfigError] = []
    resolved = _allocation(allocation, names, registry, errors) if allocation is not None else None
    limits = _limits(risk, errors) if risk is not None else BookLimitsSpec()
    if controller is not None:
        controller = _plugin(PluginKind.CONTROLLER, controller, "controller", registry, errors)
    if limits.any() and fills_at_close:
        errors.append(ConfigError("risk.limits", f"book limits scale the orders of a bar after every system placed "
                                                 f"them; systems {', '.join(fills_at_close)} fill at the close they "
                                                 "are placed at (execution.fill_at: close): use next_open"))
    if errors or (resolved is None and not limits.any() and controller is None):
        return None, errors
    coupled = tuple(names) if limits.any() or controller is not None else resolved.systems
    return BookSpec(resolved, limits, coupled, controller), errors


def _allocation(config: AllocationConfig, names: Sequence[str], registry: PluginRegistry,
                errors: list[ConfigError]) -> AllocationSpec | None:
    if not 0 < config.capital <= MAX_CAPITAL:
        errors.append(ConfigError("allocation.capital", f"must be > 0 and at most {MAX_CAPITAL:,.0f}, "
                                                        f"was {config.capital}"))
    systems = list(config.systems) or list(names)
    for index, name in enumerate(config.systems):
        if name not in names:
            errors.append(ConfigError(f"allocation.systems[{index}]", f"no trading system is named {name!r}; "
                                                                      f"{did_you_mean(name, names)}"))
    if len(set(systems)) != len(systems):
        errors.append(ConfigError("allocation.systems", "a system is listed twice"))
    known = [name for name in systems if name in names]
    for name in config.weights:
        if name not in known:
            errors.append(ConfigError(f"allocation.weights.{name}", f"{name!r} is not a system of the allocation; "
                                                                    f"{did_you_mean(str(name), known)}"))
    params = dict(config.parameters)
    if config.weights:
        params["weights"] = dict(config.weights)
    allocator = _plugin(PluginKind.ALLOCATOR, PluginSpec(config.method, params), "allocation", registry, errors,
                        type_key="method")
    every = lookback = None
    drift = config.rebalance.drift
    try:
        every = (parse_cadence(config.rebalance.every, "allocation.rebalance.every", what="how often to rebalance")
                 if config.rebalance.every is not None else None)
    except ConfigError as error:
        errors.append(error)
    try:
        lookback = parse_cadence(config.lookback, "allocation.lookback", what="how many returns the allocator sees")
        if lookback.unit == "bars" and lookback.count < 2:
            errors.append(ConfigError("allocation.lookback", "at least 2 bars: a volatility needs two returns"))
    except ConfigError as error:
        errors.append(error)
    if drift is not None and not (math.isfinite(drift) and 0 < drift <= 1):
        errors.append(ConfigError("allocation.rebalance.drift", f"must be a weight difference in (0, 1], was {drift}"))
    if errors:
        return None
    return AllocationSpec(float(config.capital), allocator, tuple(systems), every, drift, lookback)


def _plugin(kind: PluginKind, spec: PluginSpec, path: str, registry: PluginRegistry, errors: list[ConfigError],
            type_key: str = "type") -> PluginSpec:
    """The book's plugin checked and built once, its parameters as it takes them. A plugin that raises while
    it is checked is refused now: it would fail every system of the book."""
    try:
        registry.load(kind, spec.type, f"{path}.{type_key}")
        spec = PluginSpec(spec.type, registry.bind(kind, spec.type, spec.params, path))
        registry.create(kind, spec.type, spec.params, path)
    except ConfigError as error:
        errors.append(error)
    except PLUGIN_FAULTS as error:
        errors.append(ConfigError(f"{path}.{type_key}", f"{kind.label} {spec.type!r} raised while it was checked: "
                                                        f"{type(error).__name__}: {error}"))
    return spec


def _limits(config: BookRiskConfig, errors: list[ConfigError]) -> BookLimitsSpec:
    limits = config.limits
    for key in ("gross_exposure", "net_exposure"):
        value = getattr(limits, key)
        if value is not None and not (math.isfinite(value) and 0 < value <= 1000):
            errors.append(ConfigError(f"risk.limits.{key}", f"must be a multiple of the book's equity in (0, 1000], "
                                                            f"was {value}"))
    if limits.max_drawdown is not None and not 0 < limits.max_drawdown < 1:
        errors.append(ConfigError("risk.limits.max_drawdown", f"must be a fraction of the peak in (0, 1), "
                                                              f"was {limits.max_drawdown}"))
    return BookLimitsSpec(limits.gross_exposure, limits.net_exposure, limits.max_drawdown)

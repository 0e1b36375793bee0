"""One `trading_systems` entry checked and resolved to its SystemSpec: capital, plugins (each built once to run
its own checks), indicators (the list and what the strategy asks for), entries and its active window."""

from __future__ import annotations

import traceback
from typing import Any

import pandas as pd

from multifolio.config.book import MAX_CAPITAL
from multifolio.config.model import FILL_AT, ActiveConfig, EntryConfig, TradingSystemConfig
from multifolio.config.registry import PluginKind, PluginRegistry
from multifolio.config.spec import (
    CONTROLLED,
    ENTRY_TYPES,
    EntrySpec,
    ExecutionSpec,
    IndicatorRequest,
    IndicatorSpec,
    PluginSpec,
    PortfolioSpec,
    RiskSpec,
    SystemSpec,
    resolve_indicator,
)
from multifolio.errors import PLUGIN_FAULTS, ConfigError, did_you_mean

LOT_SIZES = (1e-9, 1e9)  # a lot below a billionth or above a billion units is a typo, not an instrument
MAX_VALID_BARS = 10_000_000  # as many bars as a run may have


def resolve_system(system: TradingSystemConfig, where: str, registry: PluginRegistry, allocated: bool = False
                   ) -> tuple[SystemSpec | None, list[ConfigError]]:
    """One entry checked and resolved: each plugin built once to run its own checks, each indicator
    (the strategy's too) resolved to its canonical key. No spec when anything is wrong. An `allocated`
    system starts with no capital: the allocation funds it."""
    errors: list[ConfigError] = []
    capital = system.portfolio.initial_capital
    if allocated and capital is not None:
        errors.append(ConfigError(f"{where}.portfolio.initial_capital", "the allocation funds this system: its "
                                  "capital is its weight of allocation.capital; leave initial_capital out"))
    elif not allocated and capital is None:
        errors.append(ConfigError(f"{where}.portfolio.initial_capital", "missing required key (or fund the system "
                                                                          "from a top-level allocation)"))
    elif capital is not None and not 0 < capital <= MAX_CAPITAL:
        errors.append(ConfigError(f"{where}.portfolio.initial_capital",
                                  f"must be > 0 and at most {MAX_CAPITAL:,.0f}, was {capital}"))
    elif capital is not None and not -MAX_CAPITAL <= system.portfolio.min_equity < capital:
        errors.append(ConfigError(f"{where}.portfolio.min_equity",
                                  f"must be below initial_capital ({capital:g}) and at least "
                                  f"{-MAX_CAPITAL:,.0f}, was {system.portfolio.min_equity} (the equity at or below "
                                  "which the system closes everything and stops trading; 0 by default)"))
    elif capital is None and not -MAX_CAPITAL <= system.portfolio.min_equity <= MAX_CAPITAL:
        errors.append(ConfigError(f"{where}.portfolio.min_equity", f"must be within ±{MAX_CAPITAL:,.0f}, was "
                                                                   f"{system.portfolio.min_equity}"))
    window = _window(system.portfolio.active, f"{where}.portfolio.active", errors)
    if not system.risk.position_sizers:
        errors.append(ConfigError(f"{where}.risk.position_sizers", "expected at least one position sizer"))
    if system.risk.lot_size != 0 and not LOT_SIZES[0] <= system.risk.lot_size <= LOT_SIZES[1]:
        errors.append(ConfigError(f"{where}.risk.lot_size", f"must be 0 (any fraction) or in [{LOT_SIZES[0]:g}, "
                                                            f"{LOT_SIZES[1]:g}], was {system.risk.lot_size}"))
    execution = system.execution
    if execution.fill_at not in FILL_AT:
        errors.append(ConfigError(f"{where}.execution.fill_at", f"unknown fill rule {execution.fill_at!r}; "
                                  f"{did_you_mean(execution.fill_at, FILL_AT)}"))
    if execution.slippage is not None and execution.slippage_bps is not None:
        errors.append(ConfigError(f"{where}.execution", "give either slippage_bps or slippage, not both"))
    errors += _entry_errors(execution.entry, f"{where}.execution.entry")
    if execution.max_volume_share is not None and not 0 < execution.max_volume_share <= 1:
        errors.append(ConfigError(f"{where}.execution.max_volume_share", f"must be a share of a bar's volume in "
                                                                         f"(0, 1], was {execution.max_volume_share}"))

    faults: list[str] = []  # plugin code that raised while being checked: this system fails, the others run

    def fault(what: str) -> None:
        faults.append(f"{what} raised while the system was checked:\n{traceback.format_exc()}")

    def checked(kind: PluginKind, spec: PluginSpec, path: str, params_key: str = "") -> tuple[PluginSpec, Any]:
        """The spec with its parameters as the plugin takes them, and the plugin built from them; a
        `type` error points at `path.type`, parameter errors below `path.params_key`."""
        params_path = f"{path}.{params_key}" if params_key else path
        try:
            registry.load(kind, spec.type, f"{path}.type")
            spec = PluginSpec(spec.type, registry.bind(kind, spec.type, spec.params, params_path))
            return spec, registry.create(kind, spec.type, spec.params, params_path)
        except ConfigError as error:
            errors.append(error)
        except PLUGIN_FAULTS:
            fault(f"{kind.label} {spec.type!r} ({path})")
        return spec, None

    strategy, built = checked(PluginKind.STRATEGY, PluginSpec(system.strategy.type, system.strategy.parameters),
                              f"{where}.strategy", "parameters")
    sizers = tuple(checked(PluginKind.SIZER, spec, f"{where}.risk.position_sizers[{i}]")
                   for i, spec in enumerate(system.risk.position_sizers))
    limits = tuple(checked(PluginKind.RISK_LIMIT, spec, f"{where}.risk.limits[{i}]")[0]
                   for i, spec in enumerate(system.risk.limits))
    exits = tuple(checked(PluginKind.EXIT, spec, f"{where}.risk.exits[{i}]")
                  for i, spec in enumerate(system.risk.exits))
    slippage = checked(PluginKind.SLIPPAGE, execution.slippage_spec(), f"{where}.execution.slippage")[0]
    commission = checked(PluginKind.COMMISSION, execution.commission_spec(), f"{where}.execution.commission")[0]

    indicators: dict[str, IndicatorSpec] = {}  # by canonical key: `RSI` and `RSI_14` are one series

    def resolved(request: IndicatorRequest | str, path: str, asked: str = "") -> None:
        try:
            spec = resolve_indicator(request, registry, path)
        except ConfigError as error:
            errors.append(ConfigError(error.path, f"asks for indicator {asked!r}: {error.message}")
                          if asked else error)
            return
        except PLUGIN_FAULTS:
            fault(f"indicator {str(asked or getattr(request, 'type', request))!r} ({path})")
            return
        indicators.setdefault(spec.key, spec)

    for index, request in enumerate(system.indicators):
        resolved(request, f"{where}.indicators[{index}]")
    if built is not None and not type(built).implemented():
        errors.append(ConfigError(f"{where}.strategy.type", f"strategy {strategy.type!r} ({type(built).__name__}) "
                                  "implements neither on_bar (the simple form) nor on_bars (the full form)"))
    readers = [(f"strategy {strategy.type!r}", built, f"{where}.strategy")]
    readers += [(f"sizer {spec.type!r}", sizer, f"{where}.risk.position_sizers[{i}]")
                for i, (spec, sizer) in enumerate(sizers)]
    readers += [(f"exit {spec.type!r}", exit_, f"{where}.risk.exits[{i}]") for i, (spec, exit_) in enumerate(exits)]
    for reader, plugin, path in readers:
        try:
            asked = [str(text) for text in plugin.indicators()] if plugin is not None else []
        except PLUGIN_FAULTS:
            fault(f"the indicators() of {reader}")
            asked = []
        for text in asked:
            resolved(text, path, asked=text)
    if errors:
        return None, errors
    return SystemSpec(
        name=system.name,
        portfolio=PortfolioSpec(capital or 0.0, system.namespace, system.portfolio.close_at_end,
                                system.portfolio.min_equity, *window),
        strategy=strategy, risk=RiskSpec(tuple(spec for spec, _ in sizers), limits, system.risk.lot_size,
                                         tuple(spec for spec, _ in exits)),
        execution=ExecutionSpec(slippage, commission, execution.fill_at,
                                EntrySpec(execution.entry.type, execution.entry.offset_bps, execution.entry.valid_bars),
                                execution.max_volume_share),
        indicators=tuple(indicators.values()), swept=system.swept, fault="\n".join(faults)), []


def _window(active: ActiveConfig | None, where: str, errors: list[ConfigError]) -> tuple[str | None, str | None]:
    """`portfolio.active` as ISO times (None: open on that side)."""
    if active is None:
        return None, None
    bounds = []
    for key in ("start", "end"):
        value = getattr(active, key)
        if key == "start" and value == CONTROLLED:
            bounds.append(None)
            continue
        try:
            bounds.append(None if value is None else pd.Timestamp(value))
        except (ValueError, TypeError):
            errors.append(ConfigError(f"{where}.{key}", f"expected a date or time such as 2020-06-30 or "
                                                        f"2020-06-30T14:30{' (or controller)' if key == 'start' else ''}"
                                                        f", found {value!r}"))
            return None, None
    start, end = bounds
    if start is not None and end is not None and (start.tz is None) == (end.tz is None) and end <= start:
        errors.append(ConfigError(f"{where}.end", f"{end} is not after start {start}"))
    start, end = (None if bound is None else bound.isoformat() for bound in bounds)
    return (CONTROLLED if active.start == CONTROLLED else start), end


def _entry_errors(entry: EntryConfig, where: str) -> list[ConfigError]:
    errors = []
    if entry.type not in ENTRY_TYPES:
        errors.append(ConfigError(f"{where}.type", f"unknown entry {entry.type!r}; {did_you_mean(entry.type, ENTRY_TYPES)}"))
    elif entry.type == "market" and (entry.offset_bps or entry.valid_bars is not None):
        errors.append(ConfigError(where, "offset_bps and valid_bars belong to limit and stop entries; a market entry "
                                         "fills at the next fill whatever the price"))
    if not 0 <= entry.offset_bps < 10_000:
        errors.append(ConfigError(f"{where}.offset_bps", f"must be in [0, 10000) (basis points from the signal's "
                                                         f"close), was {entry.offset_bps}"))
    if entry.valid_bars is not None and not 1 <= entry.valid_bars <= MAX_VALID_BARS:
        errors.append(ConfigError(f"{where}.valid_bars", f"must be in [1, {MAX_VALID_BARS:,}] bars, or left out "
                                                         f"(until cancelled), was {entry.valid_bars}"))
    return errors

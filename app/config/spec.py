"""The checked, resolved form of one trading system: what the containers build and the results carry.

A `TradingSystemConfig` is what the YAML says; a `SystemSpec` is what it means, with
every shorthand resolved (the namespace, `slippage_bps`, a bare commission rate) and
every indicator resolved once to its full parameters and canonical key, the ones the
strategy asks for included. It is built at validation, after each plugin of the system
was built once to run its own checks, and travels unchanged to the containers (the TradingSystem's
`spec`), to worker processes (it pickles) and into performance.json.
"""

from __future__ import annotations

from typing import Any

import cattrs
from attrs import Factory, field, frozen

from multifolio.config.registry import PluginKind, PluginRegistry
from multifolio.config.search import SearchSpec
from multifolio.config.timeframe import parse_timeframe
from multifolio.config.walk_forward import WalkForwardSpec
from multifolio.errors import ConfigError, did_you_mean
from multifolio.protocols import OrderType
from multifolio.wording import counted

# Specs compare by value but are never hashed (`hash=False`): their parameters are dicts, as the
# plugins take them. Frozen means no attribute is reassigned; nobody changes a spec's dicts either.


@frozen(hash=False)
class PluginSpec:
    """A plugin named by `type` with its keyword parameters (`{type: fixed, size: 1000}`)."""

    type: str
    params: dict[str, Any] = Factory(dict)

    def describe(self) -> str:
        """`fixed(size=1000)`: how plans and reports show it."""
        return f"{self.type}({', '.join(f'{name}={value}' for name, value in self.params.items())})"


@frozen(hash=False)
class IndicatorRequest:
    """An entry of `indicators` as written: `SMA_20` (values by position), `RSI`, or
    `{type: BB, period: 20, nbdev: 2}` (by keyword)."""

    type: str
    params: dict[str, Any] = Factory(dict)
    values: tuple[str, ...] = ()  # `SMA_20_x` → ("20", "x"): the plugin's parameters in order
    output: str = ""  # `STOCH_5_3_3.slowk` → "slowk": the output read (checked; the indicator is computed whole)
    timeframe: str = ""  # `SMA_20@1D` → "1D" as written (checked by `resolve_indicator`); "": the symbol's own bars


def parse_indicator(text: str) -> IndicatorRequest:
    """`SMA_20` → SMA with its first parameter 20; `BB_20_2` → BB(20, 2); `RSI` → RSI's defaults;
    `BB_20_2.upper` → BB(20, 2) read at its output `upper` (a name after the last dot, never a number's
    decimals); `SMA_20@1D` → SMA(20) of daily bars, `STOCH_5_3_3@1D.slowk` (or `STOCH_5_3_3.slowk@1D`) its
    output on them. A name holding `_` (`HT_DCPERIOD_x`) is told from its values by `resolve_indicator`."""
    text, at, timeframe = str(text).partition("@")
    timeframe, dot, after = timeframe.partition(".")
    if dot:  # `KEY@1D.output`: the output follows the timeframe
        text = f"{text}.{after}"
    head, dot, tail = text.rpartition(".")
    if dot and tail.isidentifier():
        text, output = head, tail
    else:
        output = ""
    name, *values = text.split("_")
    return IndicatorRequest(name, values=tuple(values), output=output, timeframe=timeframe if at else "")


def _registered_name(request: IndicatorRequest, names: list[str]) -> IndicatorRequest:
    """`HT_DCPERIOD` parsed as HT with the value "DCPERIOD" is HT_DCPERIOD: the longest registered name
    the key starts with (a name without `_`, as every hand-written one, is left as parsed)."""
    for taken in range(len(request.values), 0, -1):
        name = "_".join([request.type, *request.values[:taken]])
        if name in names:
            return IndicatorRequest(name, request.params, request.values[taken:], request.output, request.timeframe)
    return request


@frozen(hash=False)
class IndicatorSpec:
    """A resolved indicator: plugin name, every keyword parameter (defaults filled), canonical key."""

    type: str
    params: dict[str, Any]
    key: str  # `SMA_20`, `RSI_14`, `BB_20_2`, `SMA_20@1D`: how strategies and reports name it
    outputs: tuple[str, ...]
    timeframe: str = ""  # canonical (`1D`, `4h`): computed on the symbol's bars resampled to it; "": its own bars
    path: str = field(default="", eq=False)  # where the system asked for it first (messages only, not its meaning)

    def output_keys(self) -> list[str]:
        """One output is read as the key itself, several as `KEY.output` (`BB_20_2.upper`, `STOCH_5_3_3@1D.slowk`)."""
        return [self.key] if len(self.outputs) == 1 else [f"{self.key}.{output}" for output in self.outputs]


def resolve_indicator(request: IndicatorRequest | str, registry: PluginRegistry, path: str) -> IndicatorSpec:
    """Full parameters and the canonical key of one indicator: `RSI` and `RSI_14`, `BB_20_2.0` and
    `BB_20_2` resolve to the same spec, `SMA_20@60min` and `SMA_20@1h` too. The plugin is built once here, to run
    its own checks."""
    if isinstance(request, str):
        request = parse_indicator(request)
    timeframe = parse_timeframe(request.timeframe, path).key if request.timeframe else ""
    if request.values:
        request = _registered_name(request, registry.names(PluginKind.INDICATOR))
    plugin = registry.load(PluginKind.INDICATOR, request.type, path)
    if request.output and request.output not in plugin.outputs:
        raise ConfigError(path, f"indicator {request.type} has no output {request.output!r}; "
                                f"{did_you_mean(request.output, plugin.outputs)}")
    defaults = registry.parameters(PluginKind.INDICATOR, request.type)
    if len(request.values) > len(defaults):
        raise ConfigError(path, f"indicator {request.type} takes at most {counted(len(defaults), 'value')} "
                                f"({', '.join(defaults)}), found {len(request.values)}")
    params = registry.bind(PluginKind.INDICATOR, request.type,
                           {**dict(zip(defaults, request.values)), **request.params}, path)
    instance = registry.create(PluginKind.INDICATOR, request.type, params, path)
    # what the plugin made of them, where it keeps them, wins over what was written
    full = {name: getattr(instance, name, params.get(name, default)) for name, default in defaults.items()}
    key = "_".join([request.type, *(_key_value(value) for value in full.values())])
    return IndicatorSpec(request.type, full, f"{key}@{timeframe}" if timeframe else key, tuple(plugin.outputs),
                         timeframe, path)


def _key_value(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


CONTROLLED = "controller"  # `portfolio.active.start` of a system the run's controller starts


@frozen(hash=False)
class PortfolioSpec:
    """The system's own capital (0 when an allocation funds it), the namespace its events and files carry,
    what happens at the end, the equity at or below which it closes everything and stops trading (the
    bankruptcy floor), and the window it trades in."""

    initial_capital: float
    namespace: str
    close_at_end: bool = False
    min_equity: float = 0.0
    start: str | None = None  # ISO time: trades from the first bar at or after it (None: from the first bar)
    end: str | None = None  # ISO time: the first bar at or after it closes everything, and the system stops


@frozen(hash=False)
class RiskSpec:
    """How big positions are, what caps them, their lot size (0: any fraction), and the exits attached
    to every entry."""

    position_sizers: tuple[PluginSpec, ...]
    limits: tuple[PluginSpec, ...] = ()
    lot_size: float = 1.0
    exits: tuple[PluginSpec, ...] = ()

    @property
    def limit_types(self) -> tuple[str, ...]:
        """The limits' types, in order (halting limits name their halts by them)."""
        return tuple(spec.type for spec in self.limits)


ENTRY_TYPES = ("market", "limit", "stop")


@frozen(hash=False)
class EntrySpec:
    """How a strategy's entries go to the market: at market, or as a limit (below the signal's close for a
    buy) or stop order (above it for a buy) `offset_bps` away, standing `valid_bars` bars (None: until
    cancelled, or replaced by the next signal)."""

    type: str = "market"
    offset_bps: float = 0.0
    valid_bars: int | None = None

    def order_prices(self, close: float, buys: bool) -> dict[str, Any]:
        """The order's type, price and time in force for an entry signalled at `close`."""
        offset = self.offset_bps / 10_000
        time_in_force = "gtc" if self.valid_bars is None else self.valid_bars
        if self.type == OrderType.LIMIT.value:
            return {"type": OrderType.LIMIT, "limit": close * (1 - offset if buys else 1 + offset),
                    "time_in_force": time_in_force}
        return {"type": OrderType.STOP, "stop": close * (1 + offset if buys else 1 - offset),
                "time_in_force": time_in_force}


@frozen(hash=False)
class ExecutionSpec:
    """Simulated fills: slippage and commission models, when market orders fill, how entries are placed."""

    slippage: PluginSpec
    commission: PluginSpec
    fill_at: str = "next_open"
    entry: EntrySpec = Factory(EntrySpec)
    max_volume_share: float | None = None


@frozen(hash=False)
class SweepPoint:
    """Where a swept system came from: its entry in the file and the values it was given."""

    entry: int  # the index of the sweeping entry in the file's `trading_systems`
    group: str  # that entry's name
    values: dict[str, Any]  # swept key → this system's value
    paths: dict[str, str]  # swept key → its full path in the entry
    axes: dict[str, list[Any]]  # swept key → every value of the sweep, in order
    combinations: int  # how many the grid has, before its constraint (`systems` counts those kept)
    walk_forward: WalkForwardSpec | None = None  # the entry's `walk_forward:`, the same for each of its systems
    search: SearchSpec | None = None  # how the systems run were chosen among them (None: all of them)
    trial: int | None = None  # an optuna search's trial number and batch that ran this system
    batch: int | None = None


@frozen(hash=False)
class SystemSpec:
    """One trading system, checked and resolved: everything its container builds it from (one per system)."""

    name: str
    portfolio: PortfolioSpec
    strategy: PluginSpec
    risk: RiskSpec
    execution: ExecutionSpec
    indicators: tuple[IndicatorSpec, ...] = ()  # the YAML list, then what the strategy asks for; each key once
    swept: SweepPoint | None = None
    # the traceback of plugin code that raised while the system was checked: it fails before its first bar,
    # the other systems run; not part of what the system means (equality, as_dict, the config hash)
    fault: str = field(default="", eq=False)

    @property
    def namespace(self) -> str:
        return self.portfolio.namespace

    @property
    def initial_capital(self) -> float:
        return self.portfolio.initial_capital

    def indicator_keys(self) -> list[str]:
        """Every key a strategy may read besides the price fields, in order."""
        return [key for spec in self.indicators for key in spec.output_keys()]

    def plugins(self) -> list[tuple[PluginKind, str]]:
        """Each (kind, name) this system uses, for the run manifest."""
        named = [(PluginKind.STRATEGY, self.strategy.type)]
        named += [(PluginKind.SIZER, spec.type) for spec in self.risk.position_sizers]
        named += [(PluginKind.RISK_LIMIT, spec.type) for spec in self.risk.limits]
        named += [(PluginKind.EXIT, spec.type) for spec in self.risk.exits]
        named += [(PluginKind.SLIPPAGE, self.execution.slippage.type),
                  (PluginKind.COMMISSION, self.execution.commission.type)]
        named += [(PluginKind.INDICATOR, spec.type) for spec in self.indicators]
        return named

    def as_dict(self) -> dict[str, Any]:
        """Plain data for performance.json and the config hash (the same meaning gives the same data)."""
        meaning = cattrs.unstructure(self)
        del meaning["fault"]
        if meaning["swept"] is not None:  # a plain grid sweep's systems mean what they meant before these existed
            meaning["swept"] = {key: value for key, value in meaning["swept"].items()
                                if key not in _SWEEP_EXTRAS or value is not None}
        for section, defaults in _ADDED_IN_VERSION_2.items():  # at their defaults they mean what version 1 did
            for key, default in defaults.items():
                if meaning[section][key] == default:
                    del meaning[section][key]
        for indicator in meaning["indicators"]:
            del indicator["path"]
            if not indicator["timeframe"]:
                del indicator["timeframe"]
        return meaning


# keys a spec gained in version 2, left out of `as_dict` at their defaults: a system that does not use them
# writes the performance.json and config hash it wrote before they existed
_SWEEP_EXTRAS = ("walk_forward", "search", "trial", "batch")  # of `swept`, left out while None
_ADDED_IN_VERSION_2 = {"portfolio": {"min_equity": 0.0, "start": None, "end": None}}

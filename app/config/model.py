"""The configuration model: the whole YAML as attrs classes, as written (sweeps expanded).

`validate_document` (multifolio.config.loading) turns each `TradingSystemConfig` into the
`SystemSpec` a run is built from.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import attrs
from attrs import Factory, define, field

from multifolio.config.book import BookSpec
from multifolio.config.spec import IndicatorRequest, PluginSpec, SweepPoint, SystemSpec
from multifolio.config.window import DataWindow, parse_window

EXECUTORS = ("serial", "processes", "dask")
FILL_AT = ("next_open", "close")
ON_INVALID = ("error", "drop")  # what to do with a bar that breaks a data rule
TIMESTAMPS = ("open", "close")  # what a bar's stamp marks: its start (the default) or its end
# the metadata key of a field multifolio fills in itself: never a key of a config file
SET_BY_MULTIFOLIO = "set_by_multifolio"
# keys of a `trading_systems` entry that multifolio.config.sweep reads before the model sees the entry
SWEEP_KEYS = ("sweep", "constraint", "walk_forward", "search")
FILE_PATH = "file_path"  # the `data` key of a source's file: relative, it is read from the config file's folder


def written_keys(cls: type) -> list[str]:
    """The keys a config file may give for the model class `cls`."""
    keys = [item.name for item in attrs.fields(cls) if not item.metadata.get(SET_BY_MULTIFOLIO)]
    return keys + list(SWEEP_KEYS) if cls is TradingSystemConfig else keys


@define(frozen=True)
class WorkflowConfig:
    """`workflow`: what kind of run and its name (the results folder is named after it)."""

    type: str = "multi_portfolio_backtest"
    name: str = "backtest"


@define(frozen=True)
class DataConfig:
    """`data`: one source shared by every system; keys besides `source` and `symbols`
    are the source's own parameters (`file_path`, `bars`, `seed`, ...)."""

    source: str
    symbols: list[str]
    params: dict[str, Any] = Factory(dict)
    on_invalid: str = "error"  # or "drop": leave out bad rows, counted in the run manifest
    timezone: str = ""  # the zone of timestamps written without one (e.g. America/New_York)
    date_format: str = ""  # the strftime format of text timestamps; empty: ISO 8601 only
    max_dropped: float = 0.01  # `on_invalid: drop` refuses to drop more than this share of the rows
    start: str | None = None  # `data.start`/`data.end`: the bars traded (a date or time; YAML may give a date object)
    end: str | None = None
    warmup: str | int | None = None  # bars (200) or a span (6M) read before `start`, for the indicators only
    timestamps: str = "open"  # a bar's stamp marks its start (`open`) or its end (`close`): higher timeframes
    # set by multifolio.config.loading: the config file's folder (absolute), where a relative `file_path`
    # is read from; empty for a config given as a dict or as text: the working directory
    folder: str = field(default="", metadata={SET_BY_MULTIFOLIO: True})

    @property
    def source_spec(self) -> PluginSpec:
        """The data source plugin with its parameters: `symbols` and the source's own keys, a relative
        `file_path` joined to the config file's folder."""
        params = dict(self.params)
        if isinstance(params.get(FILE_PATH), str) and self.folder:
            params[FILE_PATH] = str(Path(self.folder) / Path(params[FILE_PATH]).expanduser())
        return PluginSpec(self.source, {"symbols": list(self.symbols), **params})

    @property
    def window(self) -> DataWindow | None:
        """`start`, `end` and `warmup` checked (multifolio.config.checks has said what is wrong with them)."""
        return parse_window(self.start, self.end, self.warmup)[0]

    def relative_paths_note(self) -> str:
        """Where a relative `file_path` is read from, for messages about a file that is not there."""
        written = self.params.get(FILE_PATH)
        if not isinstance(written, str) or Path(written).expanduser().is_absolute():
            return ""
        if self.folder:
            return f"a relative data.file_path is read from the config file's folder, {self.folder}"
        return f"a relative data.file_path is read from the working directory, {Path.cwd()}"


@define(frozen=True)
class ActiveConfig:
    """`portfolio.active`: the window a system trades in (dates or times in the data's zone)."""

    start: str | None = None  # trades from the first bar at or after it; `controller`: when the controller says
    end: str | None = None  # the first bar at or after it closes everything; the system trades no more


@define(frozen=True)
class PortfolioConfig:
    """`portfolio`: the system's own capital and the namespace its events and files carry."""

    initial_capital: float | None = None  # required unless `allocation` funds the system
    namespace: str = ""
    close_at_end: bool = False
    min_equity: float = 0.0  # the bankruptcy floor: at or below it at a close, the system closes all and stops
    active: ActiveConfig | None = None


@define(frozen=True)
class StrategyConfig:
    """`strategy`: a strategy plugin and its parameters."""

    type: str
    parameters: dict[str, Any] = Factory(dict)


@define(frozen=True)
class RiskConfig:
    """`risk`: how big positions are and what caps them."""

    position_sizers: list[PluginSpec]
    limits: list[PluginSpec] = Factory(list)
    lot_size: float = 1.0  # quantities are whole multiples of this; 0 allows any fraction
    exits: list[PluginSpec] = Factory(list)  # the bracket attached to every entry


@define(frozen=True)
class EntryConfig:
    """`execution.entry`: how a strategy's entries go to the market."""

    type: str = "market"  # or "limit", "stop": `offset_bps` from the signal's close
    offset_bps: float = 0.0
    valid_bars: int | None = None  # bars of the symbol the order stands for; none: until cancelled


@define(frozen=True)
class ExecutionConfig:
    """`execution`: simulated fills and their costs."""

    slippage_bps: float | None = None  # shorthand for `slippage: {type: bps, bps: N}`
    slippage: PluginSpec | None = None
    commission: PluginSpec | None = None  # a number is shorthand for `{type: per_share, rate: N}`
    fill_at: str = "next_open"
    entry: EntryConfig = Factory(EntryConfig)
    max_volume_share: float | None = None  # at most this share of a bar's volume fills; the rest stands

    def slippage_spec(self) -> PluginSpec:
        if self.slippage is not None:
            return self.slippage
        return PluginSpec("bps", {"bps": self.slippage_bps or 0.0})

    def commission_spec(self) -> PluginSpec:
        return self.commission or PluginSpec("per_share", {"rate": 0.0})


@define(frozen=True)
class TradingSystemConfig:
    """One `trading_systems` entry: everything one isolated system needs."""

    name: str
    portfolio: PortfolioConfig
    strategy: StrategyConfig
    risk: RiskConfig
    indicators: list[IndicatorRequest] = Factory(list)
    execution: ExecutionConfig = Factory(ExecutionConfig)
    # set by multifolio.config.sweep: the entry and values this system came from
    swept: SweepPoint | None = field(default=None, metadata={SET_BY_MULTIFOLIO: True})

    @property
    def namespace(self) -> str:
        return self.portfolio.namespace or self.name


# the figures against `reporting.benchmark` (multifolio.reports.benchmark): none without one, so none may rank a
# sweep without one
BENCHMARK_FIGURES = ("alpha", "beta", "information_ratio", "tracking_error", "up_capture", "down_capture")


@define(frozen=True)
class ReportingConfig:
    """`reporting`: which files are written and where."""

    separate_reports: bool = True
    combined_summary: bool = True
    output_dir: str = "results"
    sweep_metric: str = "sharpe"  # ranks each sweep's systems in combined_summary.json
    # a symbol of `data.symbols`: each system's and the book's alpha, beta, ... against buying and holding it
    benchmark: str | None = None
    # each HTML page carries plotly's script (4.8 MB a page) instead of reading the run folder's plotly.min.js:
    # a page then opens alone, mailed or copied anywhere
    standalone: bool = False


@define(frozen=True)
class ExecutionEngineConfig:
    """`execution_engine`: where the systems run: in this process, on local processes, or on Dask."""

    type: str = "serial"
    workers: int | None = None  # processes or LocalCluster workers; one per CPU core when not given
    address: str = ""  # a Dask scheduler (tcp://host:8786); DASK_SCHEDULER_ADDRESS when empty


@define(frozen=True)
class RebalanceConfig:
    """`allocation.rebalance`: when capital is moved back to the allocator's weights."""

    every: str | int | None = None  # a calendar period (`1M`, `1W`, `1D`, `3M`, `1Q`, `1Y`) or a number of bars
    drift: float | None = None  # also whenever a system's weight is this far from its target (absolute)


@define(frozen=True)
class AllocationConfig:
    """`allocation`: one pool of capital shared out between the systems by an allocator plugin."""

    capital: float
    method: str = "equal"  # an allocator (`multifolio.allocators`): fixed, equal, inverse_volatility, ...
    weights: dict[str, Any] = Factory(dict)  # system name → weight, for `fixed`
    parameters: dict[str, Any] = Factory(dict)  # the allocator's other parameters
    rebalance: RebalanceConfig = Factory(RebalanceConfig)
    lookback: str | int = 60  # the returns the allocator sees: a number of bars or a period (`3M`, `90D`)
    systems: list[str] = Factory(list)  # the systems it funds; every system when empty


@define(frozen=True)
class BookLimitsConfig:
    """`risk.limits` at the top level: limits on all the books together."""

    gross_exposure: float | None = None  # Σ |position value| of every book at most this × the book's equity
    net_exposure: float | None = None  # |Σ position value| of each symbol across books at most this × equity
    max_drawdown: float | None = None  # the combined book this far below its peak: every system flattened


@define(frozen=True)
class BookRiskConfig:
    """`risk` at the top level: risk watched across the systems."""

    limits: BookLimitsConfig = Factory(BookLimitsConfig)


@define(frozen=True)
class BacktestConfig:
    """The whole configuration file."""

    data: DataConfig
    trading_systems: list[TradingSystemConfig]
    workflow: WorkflowConfig = Factory(WorkflowConfig)
    reporting: ReportingConfig = Factory(ReportingConfig)
    execution_engine: ExecutionEngineConfig = Factory(ExecutionEngineConfig)
    allocation: AllocationConfig | None = None
    risk: BookRiskConfig | None = None
    controller: PluginSpec | None = None  # a controller plugin that starts and retires systems at bar boundaries
    # the systems checked and resolved, in the order of `trading_systems` (set by validation: empty before)
    systems: tuple[SystemSpec, ...] = field(default=(), metadata={SET_BY_MULTIFOLIO: True})
    # what couples the systems, checked and resolved (set by validation; None: every system isolated)
    book: BookSpec | None = field(default=None, metadata={SET_BY_MULTIFOLIO: True})

    @property
    def run_name(self) -> str:
        """The results folder of this run: the workflow name made safe for a path."""
        return re.sub(r"[^a-z0-9]+", "_", self.workflow.name.lower()).strip("_") or "backtest"

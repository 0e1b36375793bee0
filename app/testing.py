"""The plugin authors' kit: run a strategy on a few bars, check a plugin has no look-ahead, and the fakes and
bar builders multifolio's own tests use.

    from multifolio.testing import assert_causal, bars_from_closes, run_strategy

    bars = bars_from_closes([10, 11, 12, 11, 13, 14], freq="1D")
    result = run_strategy(MyStrategy, bars, parameters={"lookback": 2})
    print(result.systems["system"].trades)
    assert_causal(MyIndicator, bars, parameters={"period": 3})

Everything runs through the same path as `multifolio.run` on a YAML file, so a result here is exactly what
that file would give; nothing is written.
"""

from __future__ import annotations

import copy
import inspect
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from multifolio.api import load
from multifolio.config.cadence import calendar_days
from multifolio.data.given import given_bars
from multifolio.protocols import (
    PRICE_FIELDS,
    AccountSpan,
    AccountState,
    BarClosed,
    DataSource,
    Direction,
    Indicator,
    IndicatorValues,
    RiskLimit,
    Strategy,
    TradingContext,
)
from multifolio.results import Result, SystemOutcome
from multifolio.running.substituted import run_substituted
from multifolio.wording import counted

__all__ = [
    "SYSTEM",
    "FrameSource",
    "ScriptedActions",
    "ScriptedStrategy",
    "assert_causal",
    "assert_limit_looks_ahead",
    "assert_signals_match",
    "bars_from_closes",
    "make_bars",
    "rewrite_after",
    "run_strategy",
    "trading_system_entry",
]

SYSTEM = "system"  # the name of run_strategy's one system: `result.systems[SYSTEM]`
FIXED_SIZE = ({"type": "fixed", "size": 10},)  # 10 shares an entry: small enough for 10,000 of capital
# what a strategy did up to a bar: its orders as submitted (the fills come later, on later bars)
# each cut is checked with the later prices moved up and down: a rule comparing a later price with an earlier
# one then sees the comparison flip in one of them, whichever way it went on the bars as given
_LEVELS = (1.5, 1 / 1.5)
_SUBMITTED = ["order_id", "submitted_time", "symbol", "type", "requested", "quantity", "limit_price",
              "stop_price", "reason"]


# -- bars ---------------------------------------------------------------------------------------------------

def make_bars(rows: Sequence[Sequence[float]], symbol: str = "SPY", start: str = "2024-01-02 09:30",
              freq: str = "1min") -> pd.DataFrame:
    """A long bars frame from (open, high, low, close[, volume]) rows, one bar per `freq` (volume 1000 unless
    given)."""
    times = pd.date_range(start, periods=len(rows), freq=freq)
    records = []
    for time, row in zip(times, rows):
        o, h, low, c, *rest = row
        records.append({"timestamp": time, "symbol": symbol, "open": float(o), "high": float(h),
                        "low": float(low), "close": float(c), "volume": float(rest[0] if rest else 1000)})
    return pd.DataFrame(records)


def bars_from_closes(closes: Iterable[float], symbol: str = "SPY", **kwargs: Any) -> pd.DataFrame:
    """Bars whose open is the previous close and whose range spans open and close by 0.5 either side;
    `kwargs` as `make_bars` takes them."""
    closes = list(closes)
    opens = [closes[0], *closes[:-1]]
    return make_bars([(o, max(o, c) + 0.5, min(o, c) - 0.5, c) for o, c in zip(opens, closes)], symbol, **kwargs)


def rewrite_after(bars: pd.DataFrame, t: int, seed: int, level: float = 1.0) -> pd.DataFrame:
    """The same bars up to the t-th timestamp (from 0); every later bar different and still valid: its prices
    scaled by `level` times a random factor near 1 (one per bar, so low ≤ open, close ≤ high still holds), its
    volume by another."""
    cutoff = _timeline(bars)[t]
    later = (pd.to_datetime(bars["timestamp"]) > cutoff).to_numpy()
    rng = np.random.default_rng(seed)
    prices, volumes = level * np.exp(rng.normal(0, 0.1, later.sum())), np.exp(rng.normal(0, 0.5, later.sum()))
    changed = bars.copy()
    for column in PRICE_FIELDS:
        scale = volumes if column == "volume" else prices
        changed.loc[later, column] = changed.loc[later, column].to_numpy(dtype=np.float64) * scale
    return changed


# -- fakes --------------------------------------------------------------------------------------------------

class ScriptedStrategy(Strategy):
    """Emits the direction scripted for a bar number of a symbol (from 0), nothing otherwise; records every bar
    it saw in `seen`."""

    def __init__(self, script: Mapping[int, Direction]) -> None:
        self.script = dict(script)
        self.seen: list[BarClosed] = []
        self._bars_of: dict[str, int] = {}

    def on_bar(self, bar: BarClosed, values: IndicatorValues) -> Direction | None:
        self.seen.append(bar)
        number = self._bars_of.get(bar.symbol, 0)
        self._bars_of[bar.symbol] = number + 1
        return self.script.get(number)


class ScriptedActions(Strategy):
    """A full-form strategy that runs the action scripted for a timestamp's number (its n-th call, from 0) on
    the context, and records (timestamp, symbols with a bar) for every call in `calls`; `keys` are the
    indicators it declares."""

    def __init__(self, script: Mapping[int, Callable[[TradingContext], None]], keys: tuple[str, ...] = ()) -> None:
        self.script = dict(script)
        self.keys = keys
        self.calls: list[tuple[pd.Timestamp, tuple[str, ...]]] = []

    def indicators(self) -> tuple[str, ...]:
        return self.keys

    def on_bars(self, context: TradingContext) -> None:
        number = len(self.calls)
        self.calls.append((context.timestamp, tuple(context.bars)))
        action = self.script.get(number)
        if action is not None:
            action(context)


class FrameSource(DataSource):
    """A data source serving a prepared bars frame; counts its loads in `loads` (the data is read once)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.loads = 0

    def load(self) -> pd.DataFrame:
        self.loads += 1
        return self.frame.copy()

    def describe(self) -> str:
        return "test frame"


# -- one system, run --------------------------------------------------------------------------------------

def trading_system_entry(name: str, *, strategy: Mapping[str, Any], initial_capital: float = 10_000,
                         indicators: Sequence[Any] = (), sizers: Sequence[Mapping] = FIXED_SIZE,
                         limits: Sequence[Mapping] = (), exits: Sequence[Mapping] = (),
                         execution: Mapping[str, Any] | None = None, **portfolio: Any) -> dict[str, Any]:
    """One `trading_systems` entry as the YAML gives it: `strategy` is its `{type, parameters}`, `sizers`,
    `limits` and `exits` its `risk` lists, `portfolio` further keys of its `portfolio` (`close_at_end`, ...)."""
    risk: dict[str, Any] = {"position_sizers": [dict(s) for s in sizers], "limits": [dict(s) for s in limits]}
    if exits:
        risk["exits"] = [dict(e) for e in exits]
    return {
        "name": name,
        "portfolio": {"initial_capital": initial_capital, "namespace": name, **portfolio},
        "indicators": list(indicators),
        "strategy": dict(strategy),
        "risk": risk,
        "execution": dict(execution or {}),
    }


def run_strategy(strategy: type[Strategy] | Strategy, bars: Any, *, parameters: Mapping[str, Any] | None = None,
                 initial_capital: float = 10_000, indicators: Sequence[Any] = (),
                 sizers: Sequence[Mapping] = FIXED_SIZE, limits: Sequence[Mapping] = (),
                 exits: Sequence[Mapping] = (), execution: Mapping[str, Any] | None = None,
                 active: Mapping[str, str] | None = None, plugins: Mapping[str, Mapping[str, type]] | None = None
                 ) -> Result:
    """One system trading `strategy` over `bars`, run as `multifolio.run` runs a YAML file; nothing written.

    `strategy`: a Strategy subclass, built with `parameters` (the YAML's `strategy.parameters`), or an instance
    (a scripted fake, say), which the system trades with as it is: read what it recorded afterwards.
    `bars`: what `multifolio.run(data=...)` takes: a long DataFrame with a symbol column, or symbol → DataFrame.
    The rest are the system's YAML settings: `initial_capital`; `indicators` (besides those the strategy
    declares); `sizers`, `limits`, `exits` (the `risk` lists, e.g. `[{"type": "stop_loss", "percent": 0.05}]`;
    10 shares an entry by default); `execution` (e.g. `{"commission": 0.005, "fill_at": "close"}`); `active` (the
    window it trades in, `portfolio.active`: `{"start": "2024-03-01", "end": ...}`).
    `plugins`: kind → name → class, as `multifolio.run` takes them: the indicators, sizers... the system uses
    by name that are not installed.

    The system is named `SYSTEM`: `run_strategy(...).systems[SYSTEM].trades`.
    """
    if isinstance(strategy, Strategy) and parameters:
        raise TypeError("parameters build a strategy class; an instance is used as it is")
    plugin = _standing_in_for(strategy) if isinstance(strategy, Strategy) else strategy
    given = {kind: dict(classes) for kind, classes in (plugins or {}).items()}
    given.setdefault("strategies", {})[plugin.__name__] = plugin
    entry = trading_system_entry(SYSTEM, strategy={"type": plugin.__name__, "parameters": dict(parameters or {})},
                                 initial_capital=initial_capital, indicators=indicators, sizers=sizers,
                                 limits=limits, exits=exits, execution=execution,
                                 **({"active": dict(active)} if active else {}))
    backtest = load({"workflow": {"name": f"run_strategy {plugin.__name__}"}, "trading_systems": [entry]},
                    data=bars, plugins=given)
    if isinstance(strategy, Strategy):
        return Result(run_substituted(backtest.config, backtest.registry, strategies={SYSTEM: strategy}))
    return backtest.run()


def _standing_in_for(strategy: Strategy) -> type[Strategy]:
    """What the config's checks build in place of an instance (they build each plugin once, with no
    arguments here): its own class, so its form is the instance's, declaring the instance's indicators."""

    class StandIn(type(strategy)):
        def __init__(self) -> None:  # the caller built the instance: there is nothing to check
            pass

        def indicators(self) -> Sequence[str]:
            return strategy.indicators()

    StandIn.__name__ = StandIn.__qualname__ = type(strategy).__name__
    return StandIn


# -- stated signals ------------------------------------------------------------------------------------------

def assert_signals_match(strategy: type[Strategy] | Strategy, bars: Any, *,
                         parameters: Mapping[str, Any] | None = None, **system_settings: Any) -> None:
    """Check that a strategy's `signals()` trades exactly as its `on_bar`: the system run on its stated signals
    (from event to event) and run with `on_bar` at every bar submit the same orders and have the same trades
    and equity, to the last bit; else AssertionError naming the first difference. `strategy`, `bars`,
    `parameters` and `system_settings` as `run_strategy` takes them (exits, limits, `execution`...: the more
    of them, the more events the check crosses). Causality of `signals()` is `assert_causal`'s to check: it
    runs the stated signals too.

    A `signals()` that takes `start` is checked in a window too (`active`: from the bars' first third to their
    second, unless `system_settings` give one), where `on_bar` is first called at the window's first bar."""
    plugin = strategy if isinstance(strategy, type) else type(strategy)
    if plugin.signals is Strategy.signals:
        raise TypeError(f"{plugin.__name__} states no signals(): it is stepped bar by bar")
    settings = dict(system_settings, parameters=parameters)
    checks = [(settings, "")]
    if "start" in inspect.signature(plugin.signals).parameters and "active" not in system_settings:
        frame, _ = given_bars(bars)
        timeline = _timeline(frame.assign(timestamp=pd.to_datetime(frame["timestamp"])))
        window = {"start": timeline[len(timeline) // 3].isoformat(),
                  "end": timeline[2 * len(timeline) // 3].isoformat()}
        checks.append((dict(settings, active=window), f" in the window {window['start']} to {window['end']}"))
    for checked, where in checks:
        stated = _completed_run(strategy, bars, checked, f"with signals(){where}")
        per_bar = _completed_run(_per_bar(strategy), bars, checked, f"with on_bar{where}")
        for name in ("orders", "trades", "equity"):
            found = _first_difference(getattr(stated, name), getattr(per_bar, name))
            if found is not None:
                row, column = found
                raise AssertionError(
                    f"{plugin.__name__}.signals() does not trade as its on_bar{where}: {name} row {row}, column "
                    f"{column!r}: {_cell(getattr(stated, name), row, column)} with signals(), "
                    f"{_cell(getattr(per_bar, name), row, column)} with on_bar")


def _completed_run(strategy: type[Strategy] | Strategy, bars: Any, settings: Mapping[str, Any],
                   path: str = "") -> SystemOutcome:
    """`run_strategy`'s system, from the start each time (an instance is copied first); AssertionError with its
    traceback if it failed (`path`: which way it ran, for the message)."""
    fresh = copy.deepcopy(strategy) if isinstance(strategy, Strategy) else strategy
    system = run_strategy(fresh, bars, **settings).systems[SYSTEM]
    if system.status == "failed":
        raise AssertionError(f"the strategy's system{f', {path},' if path else ''} {system.failed_at}:\n"
                             f"{system.error}")
    return system


def _per_bar(strategy: type[Strategy] | Strategy) -> type[Strategy] | Strategy:
    """`strategy` without its stated signals: stepped bar by bar through `on_bar`."""
    if isinstance(strategy, Strategy):
        fresh = copy.deepcopy(strategy)
        fresh.signals = lambda values, start=0: None
        return fresh

    class PerBar(strategy):
        def signals(self, values: Mapping[str, np.ndarray], start: int = 0) -> None:
            return None

    PerBar.__name__ = PerBar.__qualname__ = strategy.__name__
    return PerBar


# -- halting limits that look ahead -----------------------------------------------------------------------

def assert_limit_looks_ahead(limit: type[RiskLimit], equity: Iterable[float], *,
                             parameters: Mapping[str, Any] | None = None, timestamps: Iterable[Any] | None = None,
                             cash: float = 0.0, positions: Mapping[str, float] | None = None,
                             initial_capital: float | None = None) -> None:
    """Check that a halting limit's `first_breach` and `seen` agree with its `breached` shown close by close, as
    the engine relies on them (`RiskLimit.looks_ahead`); else AssertionError naming the first disagreement.

    The limit (`limit` built with `parameters`) is shown the initial capital (`initial_capital`, by default the
    first equity), then the closes of `equity` (at `timestamps`, by default a day apart; `cash` and `positions`
    as they stand throughout) from each split on: up to the split one by one, from it as a span. At each split,
    `first_breach` of the span must be where `breached` first answers over it, and leave the limit as it was;
    and a limit that has `seen` the span's closes up to a point (every point up to that first breach) must answer
    the closes after it as one shown each close did. Give closes that cross the limit's periods and break it: a
    few dozen are enough (every split and every point is checked, so the work grows with the cube of their
    number)."""
    if not limit.looks_ahead():
        raise TypeError(f"{limit.__name__} does not look ahead: it implements no first_breach() and seen()")
    values = np.asarray(list(equity), dtype=np.float64)
    stamps = pd.DatetimeIndex(pd.date_range("2024-01-02", periods=len(values), freq="1D") if timestamps is None
                              else list(timestamps))
    accounts = AccountSpan(0, values, float(cash), np.abs(values - cash), dict(positions or {}),
                           calendar_days(stamps), stamps)
    first = float(values[0]) if initial_capital is None and len(values) else float(initial_capital or 0.0)

    def shown_up_to(split: int) -> RiskLimit:
        """The limit shown the initial capital, then the closes before `split` one by one."""
        made = limit(**dict(parameters or {}))
        made.breached(AccountState(-1, first, first, 0.0, {}, -1, stamps))
        after(made, 0, split)
        return made

    def after(made: RiskLimit, start: int, stop: int = len(values)) -> list[str | None]:
        return [made.breached(accounts.account(position)) for position in range(start, stop)]

    for split in range(len(values) + 1):
        span = accounts.part(split, len(values))
        looking = shown_up_to(split)
        answers = after(shown_up_to(split), split)
        expected = next((position for position, answer in enumerate(answers) if answer is not None), len(span))
        found = looking.first_breach(span)
        if found != expected:
            raise AssertionError(f"{limit.__name__}.first_breach() of the closes from {split}: {found}, but "
                                 f"breached() first answers at {expected} of them")
        if after(looking, split) != answers:
            raise AssertionError(f"{limit.__name__}.first_breach() of the closes from {split} changed the limit: "
                                 "it answers them otherwise afterwards")
        for gone in range(expected + 1):
            seeing = shown_up_to(split)
            seeing.seen(accounts.part(split, split + gone))
            if after(seeing, split + gone) != answers[gone:]:
                raise AssertionError(f"{limit.__name__}, having seen() closes {split} to {split + gone - 1}, "
                                     f"answers the closes after them otherwise than having been shown each")


# -- no look-ahead ------------------------------------------------------------------------------------------

def assert_causal(subject: type | Indicator | Strategy, bars: Any, *, cuts: int | Sequence[int] = 5,
                  seed: int = 0, parameters: Mapping[str, Any] | None = None, **system_settings: Any) -> None:
    """Check that `subject` does not look ahead: what it gave up to a bar t is unchanged when every bar after
    t is rewritten (`rewrite_after`, once with the later prices moved up by half, once down by a third);
    else AssertionError naming the first bar (index, timestamp) and the column that changed.

    `subject`: an Indicator (class, built with `parameters`, or instance): its outputs up to t, per symbol; or
    a Strategy (class or instance, run by `run_strategy` with `parameters` and `system_settings`): the orders
    it submitted up to t and the equity up to t. An instance is copied for each run, so pass one that has
    not run yet. `bars`: as `run_strategy` takes them. `cuts`: how many bars t, spread evenly over the bars,
    or the indices of the bars themselves. `seed`: the rewriting's.
    """
    frame, _ = given_bars(bars)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"])
    timeline = _timeline(frame)
    points = _cut_points(len(timeline), cuts)
    if isinstance(subject, Indicator) or (isinstance(subject, type) and issubclass(subject, Indicator)):
        indicator = subject(**dict(parameters or {})) if isinstance(subject, type) else subject
        check = _indicator_check(indicator, frame)
    elif isinstance(subject, Strategy) or (isinstance(subject, type) and issubclass(subject, Strategy)):
        check = _strategy_check(subject, frame, dict(system_settings, parameters=parameters))
    else:
        raise TypeError(f"expected an Indicator or a Strategy (class or instance), found {subject!r}")
    for t, level in itertools.product(points, _LEVELS):
        found = check(rewrite_after(frame, t, seed + t, level), timeline[t])
        if found is not None:
            time, column, detail = found
            raise AssertionError(f"{_name(subject)} looks ahead: at bar {timeline.searchsorted(time)} ({time}) "
                                 f"{column} changed when the bars after bar {t} ({timeline[t]}) were rewritten: "
                                 f"{detail}")


Difference = tuple[Any, str, str]  # (timestamp of the first bar that changed, what changed there, the values)


def _timeline(bars: pd.DataFrame) -> pd.DatetimeIndex:
    """The bars' timestamps, each once, in time order: bar t is the t-th."""
    return pd.DatetimeIndex(pd.to_datetime(bars["timestamp"]).unique()).sort_values()


def _cut_points(bars: int, cuts: int | Sequence[int]) -> list[int]:
    """The bars t to cut after: `cuts` spread evenly from the second bar to the one before last, or as given."""
    if not isinstance(cuts, int):
        return sorted({int(t) for t in cuts})
    if bars < 3:
        raise ValueError(f"{counted(bars, 'bar')}: checking causality needs at least 3 (one kept, one cut at, one rewritten)")
    return sorted({int(t) for t in np.linspace(1, bars - 2, min(cuts, bars - 2))})


def _indicator_check(indicator: Indicator, frame: pd.DataFrame) -> Callable[[pd.DataFrame, Any], Difference | None]:
    """Compares the indicator's outputs on each symbol's bars up to the cut with those on the bars as given."""
    def computed(bars: pd.DataFrame) -> dict[str, tuple[pd.Series, Mapping[str, np.ndarray]]]:
        by_symbol = {}
        for symbol, rows in bars.sort_values("timestamp", kind="stable").groupby("symbol", sort=False):
            arrays = {field: rows[field].to_numpy(dtype=np.float64) for field in PRICE_FIELDS}
            by_symbol[symbol] = (rows["timestamp"].reset_index(drop=True), indicator.compute(arrays))
        return by_symbol

    given = computed(frame)

    def check(rewritten: pd.DataFrame, cutoff: Any) -> Difference | None:
        for symbol, (times, after) in computed(rewritten).items():
            kept = int((times <= cutoff).sum())
            before = given[symbol][1]
            for output in type(indicator).outputs:
                changed = _changed(np.asarray(before[output][:kept]), np.asarray(after[output][:kept]))
                if changed is not None:
                    values = f"{_shown(before[output][changed])} with the bars as given, {_shown(after[output][changed])} after"
                    return times[changed], f"{symbol} output {output!r}", values
        return None

    return check


def _strategy_check(strategy: type[Strategy] | Strategy, frame: pd.DataFrame,
                    settings: dict[str, Any]) -> Callable[[pd.DataFrame, Any], Difference | None]:
    """Compares the orders submitted and the equity up to the cut with those of a run on the bars as given."""
    def traded(bars: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        system = _completed_run(strategy, bars, settings)
        return system.orders.reindex(columns=_SUBMITTED), system.equity

    orders, equity = traded(frame)

    def check(rewritten: pd.DataFrame, cutoff: Any) -> Difference | None:
        orders_after, equity_after = traded(rewritten)
        for name, before, after, time in (("order", orders, orders_after, "submitted_time"),
                                          ("equity", equity, equity_after, "timestamp")):
            before, after = before[before[time] <= cutoff], after[after[time] <= cutoff]
            found = _first_difference(before.reset_index(drop=True), after.reset_index(drop=True))
            if found is not None:
                row, column = found
                shown = before if row < len(before) else after
                return (shown[time].iloc[row], f"{name} column {column!r}",
                        f"{_cell(before, row, column)} with the bars as given, {_cell(after, row, column)} after")
        return None

    return check


def _first_difference(before: pd.DataFrame, after: pd.DataFrame) -> tuple[int, str] | None:
    """The first row, and its first column, in which two frames of the same columns differ by value (NaN equal
    to NaN); a row only one frame has differs in its first column. Dtypes are not compared: a frame with no
    rows has none to speak of."""
    rows = min(len(before), len(after))
    first: tuple[int, str] | None = None
    for column in before.columns:
        a, b = before[column].iloc[:rows].reset_index(drop=True), after[column].iloc[:rows].reset_index(drop=True)
        differs = ~((a == b).fillna(False).astype(bool) | (a.isna() & b.isna())).to_numpy()
        if differs.any() and (first is None or differs.argmax() < first[0]):
            first = int(differs.argmax()), str(column)
    if first is None and len(before) != len(after):
        return rows, str(before.columns[0])
    return first


def _changed(before: np.ndarray, after: np.ndarray) -> int | None:
    """The first position at which two float arrays differ (NaN equal to NaN), None if none does."""
    differs = ~((before == after) | (np.isnan(before) & np.isnan(after)))
    return int(np.argmax(differs)) if differs.any() else None


def _cell(frame: pd.DataFrame, row: int, column: str) -> str:
    return _shown(frame[column].iloc[row]) if row < len(frame) else "no row"


def _shown(value: Any) -> str:
    return repr(value.item() if isinstance(value, np.generic) else value)


def _name(subject: Any) -> str:
    return subject.__name__ if isinstance(subject, type) else type(subject).__name__

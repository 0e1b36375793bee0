"""Same trades as backtesting.py and backtrader with brackets, limit, stop, stop-limit entries and trailing
stops, row for row, on real GOOG daily and EURUSD hourly data (backtesting.py's own test files).

The strategy is the SMA(10, 30) crossover of tests/parity (long only, a fixed size, capital 1,000,000);
what changes is how it enters and exits. Where a peer's rule differs from multifolio's, the test says
which rule multifolio follows and turns the peer's trades into what multifolio's rule gives from the
peer's own numbers and the bars, never from multifolio's output:

- backtesting.py's `buy(sl=, tp=)` fixes the levels at the order, from the signal's close; multifolio's
  `percent` exits are a fraction of the fill price. With `fill_at: close` (`trade_on_close=True`) the
  fill is that close, and the rules coincide. With next-open fills the peer sets `trade.sl`/`trade.tp`
  from the entry price in `next()`, which makes them live from the bar after the entry's; multifolio's
  exits are live from the fill, in the rest of the entry's bar: where that bar reaches a level,
  multifolio closes there (the stop when it reaches both).
- A bar that reaches both the stop and the target: both fill the stop (backtesting.py puts stop orders
  at the head of its queue and tries each order against the whole bar). But backtesting.py does so even
  when the bar opened beyond the target; multifolio fills what the open reaches first: the target, at the
  open (the open comes before the bar's low).
- backtrader's `valid` is a time, not a count of bars (a number is taken as a raw date and expires the
  order at once; a timedelta counts calendar time across weekends): N bars of the symbol are the time of
  the N-th bar after the signal's, which the peer reads from its data's index.
- backtrader's StopTrail trails from the close of the bar it is created in (the entry's bar, created in
  notify_order) and is live from the next bar; multifolio trails from the best close since the entry with
  the fill price counted as one, live from the fill. The peer gives backtrader that reference (`price=`
  the best of the fill and the entry bar's close); both then move the stop on each close and never
  loosen it. Where the entry's bar reaches fill × (1 − percent) (or fill − amount), multifolio closes
  there.
Stop-limit entries cannot be written in YAML yet: a test-only entry spec (below) makes the risk manager
place them, the rest of the system being the real one.
"""

from __future__ import annotations

import collections
from pathlib import Path

import attrs
import backtesting
import pandas as pd
import pytest
from attrs import frozen
from backtesting.test import EURUSD, GOOG

from multifolio.config.registry import PluginRegistry
from multifolio.config.spec import EntrySpec
from multifolio.protocols import OrderType
from multifolio.running.executors import run_containers
from multifolio.running.run import build_container
from multifolio.testing import FrameSource, ScriptedStrategy, make_bars
from multifolio.trading.events import Direction
from multifolio.trading.system import SystemResult
from tests.builders import backtest_config, checked, run_in_memory, system_config
from tests.parity import order_peers, peers

BARS = {"GOOG": GOOG, "EURUSD": EURUSD}
SIZE = {"GOOG": 100, "EURUSD": 10_000}  # units: EURUSD trades near 1.1
DATASETS = list(BARS)
# distances scaled to each series' bars: GOOG's days move ~2 %, EURUSD's hours ~0.1 %
BRACKET = {"GOOG": (0.02, 0.08), "EURUSD": (0.001, 0.002)}  # stop-loss, take-profit: fractions
OFFSET_BPS = {"GOOG": 50.0, "EURUSD": 5.0}  # an entry's distance from the signal's close
STOP_LIMIT_BPS = {"GOOG": {"above": (50.0, 100.0), "below": (50.0, 20.0)},  # stop, limit: over the close
                  "EURUSD": {"above": (5.0, 10.0), "below": (5.0, 2.0)}}
TRAIL = {"GOOG": {"percent": 0.02, "amount": 10.0}, "EURUSD": {"percent": 0.002, "amount": 0.002}}
COMPARED = ["entry_time", "exit_time", "quantity", "entry_price", "exit_price"]


@frozen
class StopLimitEntry(EntrySpec):
    """Test-only: entries as stop-limit orders, the stop `offset_bps` and the limit `limit_bps` beyond the
    signal's close on the trade's side (until strategies can place them themselves)."""

    limit_bps: float = 0.0

    def order_prices(self, close: float, buys: bool) -> dict:
        side = 1 if buys else -1
        return {"type": OrderType.STOP_LIMIT, "stop": close * (1 + side * self.offset_bps / 10_000),
                "limit": close * (1 + side * self.limit_bps / 10_000),
                "time_in_force": "gtc" if self.valid_bars is None else self.valid_bars}


def run_multifolio(name: str, *, exits=(), execution=None, entry: EntrySpec | None = None) -> SystemResult:
    """The crossover on `name`, in memory; `entry` replaces the checked config's `execution.entry`."""
    document = backtest_config(
        system_config("orders", capital=peers.CASH, exits=exits, execution=execution,
                      strategy={"type": "sma_crossover", "parameters": {"fast_period": peers.FAST,
                                                                       "slow_period": peers.SLOW}},
                      sizers=[{"type": "fixed", "size": SIZE[name]}]),
        data={"source": "csv", "symbols": [name],
              "file_path": str(Path(backtesting.__file__).parent / "test" / f"{name}.csv")})
    registry = PluginRegistry()
    config = checked(document, registry)
    root = build_container(config, registry)
    [spec] = config.systems
    if entry is not None:
        spec = attrs.evolve(spec, execution=attrs.evolve(spec.execution, entry=entry))
    [result] = run_containers(root, [root.trading_system(spec=spec)])
    assert result.status == "completed", result.error
    return result


def assert_same_trades(ours: pd.DataFrame, theirs: pd.DataFrame, *, reasons: bool = False) -> None:
    """Row for row: times and quantities exactly, prices to float rounding (a level computed as
    p × (1 − f) by one engine and p − p × f by the other may differ in the last bit)."""
    columns = COMPARED + ["exit_reason"] * reasons
    ours, theirs = ours[columns].reset_index(drop=True), theirs[columns].reset_index(drop=True)
    assert len(ours) == len(theirs) > 10
    for column in columns:
        exact = column not in ("entry_price", "exit_price")
        pd.testing.assert_series_equal(ours[column], theirs[column], check_names=False, check_dtype=False,
                                       rtol=0 if exact else 1e-12, atol=0)


# ---------------------------------------------------------------- backtesting.py: sl / tp brackets

def as_multifolio_closes_brackets(theirs: pd.DataFrame, bars: pd.DataFrame, *, live_in_entry_bar: bool
                                  ) -> tuple[pd.DataFrame, collections.Counter]:
    """backtesting.py's round trips as multifolio's rules close them, and how many each rule changed."""
    changed: collections.Counter = collections.Counter()
    rows = []
    for trade in theirs.itertuples(index=False):
        exit_time, exit_price = trade.exit_time, trade.exit_price
        at_entry, at_exit = bars.loc[trade.entry_time], bars.loc[trade.exit_time]
        if live_in_entry_bar and (at_entry.Low <= trade.sl or at_entry.High >= trade.tp):
            # live from the fill at the open: the level the rest of the bar reaches, the stop if both
            exit_time, exit_price = trade.entry_time, trade.sl if at_entry.Low <= trade.sl else trade.tp
            changed["closed in the entry's bar"] += 1
        elif at_exit.Open >= trade.tp and at_exit.Low <= trade.sl and exit_price == trade.sl:
            exit_price = at_exit.Open  # the open reached the target before the bar fell to the stop
            changed["target at an open beyond it, not the stop"] += 1
        elif at_exit.Low <= trade.sl and at_exit.High >= trade.tp and exit_price == trade.sl:
            changed["stop and target in one bar: the stop (unchanged)"] += 1
        rows.append([trade.entry_time, exit_time, trade.quantity, trade.entry_price, exit_price])
    return pd.DataFrame(rows, columns=COMPARED), changed


@pytest.mark.parametrize("name", DATASETS)
def test_brackets_filled_at_the_close_match_backtesting_py_buy_with_sl_and_tp(name):
    """The idiom `self.buy(size=, sl=close × (1 − s), tp=close × (1 + t))` with trade_on_close: the fill is
    the signal's close, so its levels are multifolio's `percent` of the fill; both are live from the next bar."""
    stop, target = BRACKET[name]
    theirs = order_peers.run_backtesting_bracket(BARS[name], size=SIZE[name], sl=stop, tp=target,
                                                 from_fill=False, trade_on_close=True)
    ours = run_multifolio(name, execution={"fill_at": "close"},
                          exits=[{"type": "stop_loss", "percent": stop}, {"type": "take_profit", "percent": target}])
    expected, _ = as_multifolio_closes_brackets(theirs, BARS[name], live_in_entry_bar=False)
    assert_same_trades(ours.trades, expected)
    assert {"stop_loss", "take_profit", "signal"} <= set(ours.trades["exit_reason"])


@pytest.mark.parametrize("name", DATASETS)
def test_brackets_filled_at_the_next_open_match_backtesting_py_levels_set_on_the_trade(name):
    """`trade.sl = trade.entry_price × (1 − s)` in next(): the same levels as multifolio's, live a bar
    later; the entry's bars that reach a level close there in multifolio."""
    stop, target = BRACKET[name]
    theirs = order_peers.run_backtesting_bracket(BARS[name], size=SIZE[name], sl=stop, tp=target,
                                                 from_fill=True, trade_on_close=False)
    ours = run_multifolio(name, exits=[{"type": "stop_loss", "percent": stop},
                                       {"type": "take_profit", "percent": target}])
    expected, changed = as_multifolio_closes_brackets(theirs, BARS[name], live_in_entry_bar=True)
    assert_same_trades(ours.trades, expected)
    assert changed["closed in the entry's bar"] > 0  # the difference is exercised, not only stated


@pytest.mark.parametrize("bar_2, theirs_at, ours_at, reason, rule", [
    ((101, 105, 97, 100), 98.0, 98.0, "stop_loss", "stop and target in one bar: the stop (unchanged)"),
    ((105, 106, 97, 100), 98.0, 105.0, "take_profit", "target at an open beyond it, not the stop"),
], ids=["range-holds-both", "opens-beyond-the-target"])
def test_a_bar_reaching_the_stop_and_the_target(bar_2, theirs_at, ours_at, reason, rule):
    """Neither data set has such a bar after an entry's, so the rules are checked on four: bought at 100
    (bar 1's close), stop 98, target 104. A bar 2 that holds both from an open between them: both engines
    fill the stop. A bar 2 that opens beyond the target: backtesting.py still fills the stop; multifolio
    fills the target at the open, which came first."""
    bars = make_bars([(100, 100.5, 99.5, 100)] * 2 + [bar_2, (100, 100.5, 99.5, 100)], start="2024-01-02",
                     freq="1D")
    frame = bars.set_index("timestamp").rename(columns=str.capitalize).drop(columns="Symbol")

    class BuyOnce(order_peers.BacktestingSmaBracket):
        def init(self):
            pass

        def next(self):
            if len(self.data) == 2:  # bar 1's close, as the scripted strategy below
                close = self.data.Close[-1]
                self.buy(size=self.size, sl=close * (1 - self.sl), tp=close * (1 + self.tp))

    theirs = order_peers.run_backtesting_bracket(frame, size=10, sl=0.02, tp=0.04, from_fill=False,
                                                 trade_on_close=True, strategy=BuyOnce)
    assert theirs["exit_price"].tolist() == [theirs_at]
    document = backtest_config(system_config("alpha", capital=peers.CASH, execution={"fill_at": "close"},
                                             exits=[{"type": "stop_loss", "percent": 0.02},
                                                    {"type": "take_profit", "percent": 0.04}]))
    script = ScriptedStrategy({1: Direction.LONG})
    [ours] = run_in_memory(document, source=FrameSource(bars),
                           strategies={"alpha": script})
    expected, changed = as_multifolio_closes_brackets(theirs, frame, live_in_entry_bar=False)
    assert changed == {rule: 1}
    pd.testing.assert_frame_equal(ours.trades[COMPARED], expected, check_dtype=False)
    assert (ours.trades["exit_price"].tolist(), ours.trades["exit_reason"].tolist()) == ([ours_at], [reason])


# ---------------------------------------------------------------- backtrader: limit, stop, stop-limit entries

def our_expired_entries(result: SystemResult) -> pd.DataFrame:
    orders = result.orders
    expired = orders[(orders["status"] == "expired") & (orders["cause"] == "signal")]
    return expired[["submitted_time", "cancelled_time"]].reset_index(drop=True)


def assert_same_entries(ours: SystemResult, theirs: pd.DataFrame, their_expired: pd.DataFrame) -> None:
    """The same trades, exit reasons and the same entries expired (placed and expired on the same bars)."""
    assert_same_trades(ours.trades, theirs, reasons=True)
    pd.testing.assert_frame_equal(our_expired_entries(ours), their_expired, check_dtype=False)


@pytest.mark.parametrize("valid_bars", [3, None], ids=["valid-3-bars", "until-the-next-signal"])
@pytest.mark.parametrize("kind", ["limit", "stop"])
@pytest.mark.parametrize("name", DATASETS)
def test_limit_and_stop_entries_match_backtrader(name, kind, valid_bars):
    """`execution.entry` against backtrader's Limit and Stop orders `offset_bps` from the signal's close: the
    same fills (at the price, or at an open beyond it), expiries, and cancels by the next cross."""
    offset = OFFSET_BPS[name]
    theirs, their_expired = order_peers.run_backtrader_orders(BARS[name], size=SIZE[name], entry=kind,
                                                              offset_bps=offset, valid_bars=valid_bars)
    entry = {"type": kind, "offset_bps": offset} | ({"valid_bars": valid_bars} if valid_bars else {})
    ours = run_multifolio(name, execution={"entry": entry})
    assert_same_entries(ours, theirs, their_expired)
    assert (len(their_expired) > 0) == (valid_bars is not None)


@pytest.mark.parametrize("limit", ["above", "below"], ids=["limit-beyond-the-stop", "limit-short-of-the-stop"])
@pytest.mark.parametrize("name", DATASETS)
def test_stop_limit_entries_match_backtrader(name, limit):
    """Limit beyond the stop: filled at the stop, or at an open between the two; short of it: in the stop's
    bar only at an open within the limit or when the bar turned back, else as a limit from the next bar."""
    stop_bps, limit_bps = STOP_LIMIT_BPS[name][limit]
    theirs, their_expired = order_peers.run_backtrader_orders(BARS[name], size=SIZE[name], entry="stop_limit",
                                                              offset_bps=stop_bps, limit_bps=limit_bps, valid_bars=3)
    ours = run_multifolio(name, entry=StopLimitEntry(type="stop_limit", offset_bps=stop_bps, valid_bars=3,
                                                     limit_bps=limit_bps))
    assert_same_entries(ours, theirs, their_expired)
    orders = ours.orders
    filled = orders[(orders["type"] == "stop_limit") & (orders["status"] == "filled")]
    if limit == "above":
        assert (filled["fill_price"] == filled["stop_price"]).any()
    else:  # filled in the bar that reached the stop, and as limits standing after it
        in_that_bar = filled["fill_time"] == filled["triggered_time"]
        assert in_that_bar.any() and (filled["fill_time"] > filled["triggered_time"]).any()


# ---------------------------------------------------------------- backtrader: StopTrail

@pytest.mark.parametrize("distance", ["percent", "amount"])
@pytest.mark.parametrize("name", DATASETS)
def test_a_trailing_stop_matches_backtrader_stoptrail(name, distance):
    """backtrader's StopTrail from multifolio's reference (see the module's docstring); the entries' bars
    that reach the first level close there in multifolio."""
    value = TRAIL[name][distance]
    theirs, _ = order_peers.run_backtrader_orders(BARS[name], size=SIZE[name], trail_from="fill",
                                                  **{f"trail_{distance}": value})
    ours = run_multifolio(name, exits=[{"type": "trailing_stop", distance: value}])
    expected, in_entry_bar = theirs.copy(), 0
    for row, trade in enumerate(theirs.itertuples()):
        level = trade.entry_price - (trade.entry_price * value if distance == "percent" else value)
        if BARS[name].loc[trade.entry_time, "Low"] <= level:  # live from the fill: closed in the entry's bar
            expected.loc[row, ["exit_time", "exit_price", "exit_reason"]] = [trade.entry_time, level, "trailing_stop"]
            in_entry_bar += 1
    assert_same_trades(ours.trades, expected, reasons=True)
    assert in_entry_bar > 0

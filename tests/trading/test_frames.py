"""The result tables keep their columns and dtypes at any number of rows, and write the same CSV."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from dependency_injector import providers

from multifolio.config.registry import PluginRegistry
from multifolio.data.market import MarketData
from multifolio.protocols import Direction, Strategy
from multifolio.running.run import build_container
from multifolio.running.executors.chunks import lost as lost_system
from multifolio.testing import FrameSource, bars_from_closes
from multifolio.trading.events import OrderCancelled, OrderFilled, OrderRejected, OrderSubmitted
from multifolio.trading.frames import OPEN_LOT_COLUMNS, ORDER_COLUMNS, STRING, TIME, TRADE_COLUMNS
from multifolio.trading.portfolio import Portfolio
from multifolio.trading.system import OrderLog
from tests.builders import backtest_config, checked, run_in_memory, system_config

ZONE = "America/New_York"


def zoned_bars(closes=(100, 101, 102, 103, 104, 105)) -> pd.DataFrame:
    bars = bars_from_closes(closes)
    bars["timestamp"] = bars["timestamp"].dt.tz_localize(ZONE)
    return bars


def make_market() -> MarketData:
    return MarketData.from_frame(zoned_bars(), ("SPY",))


def expected_dtypes(columns, market: MarketData) -> dict:
    return {name: market.timestamps.dtype if dtype is TIME else pd.api.types.pandas_dtype(dtype)
            for name, dtype in columns.items()}


def csv(frame: pd.DataFrame) -> str:
    stream = io.StringIO()
    frame.to_csv(stream, index=False, lineterminator="\n")
    return stream.getvalue()


def fill(market, index, quantity, price, order_id=1, commission=0.5):
    return OrderFilled("alpha", market.timeline, index, order_id, "SPY", quantity, price, commission, 0.25)


def test_the_timeline_dtype_has_its_zone():
    assert str(make_market().timestamps.dtype).endswith(f", {ZONE}]")


def test_trades_and_open_lots_have_the_same_dtypes_empty_or_not():
    market = make_market()
    portfolio = Portfolio(market=market, namespace="alpha",
                          initial_capital=10_000.0)
    empty_trades, empty_lots = portfolio.trades_frame(), portfolio.open_lots_frame()
    portfolio.on_order_filled(fill(market, 1, 10.0, 100.0))
    portfolio.on_order_filled(fill(market, 3, -4.0, 110.0, order_id=2))  # closes 4, leaves a lot of 6
    trades, lots = portfolio.trades_frame(), portfolio.open_lots_frame()
    assert (len(empty_trades), len(empty_lots), len(trades), len(lots)) == (0, 0, 1, 1)
    assert dict(empty_trades.dtypes) == dict(trades.dtypes) == expected_dtypes(TRADE_COLUMNS, market)
    assert dict(empty_lots.dtypes) == dict(lots.dtypes) == expected_dtypes(OPEN_LOT_COLUMNS, market)


def order_log_with_every_kind_of_order(market: MarketData) -> OrderLog:
    log = OrderLog(timeline=market.timestamps)
    stamp = market.timeline
    log.on_order_submitted(OrderSubmitted("alpha", stamp, 0, 1, "SPY", 10.0, 10.0, ""))
    log.on_order_filled(fill(market, 1, 10.0, 101.0))
    log.on_order_rejected(OrderRejected("alpha", stamp, 2, 2, "SPY", -30.0, "max_position_value: no room"))
    log.on_order_submitted(OrderSubmitted("alpha", stamp, 5, 3, "SPY", -5.0, -5.0, ""))
    log.on_order_cancelled(OrderCancelled("alpha", stamp, 5, 3, "SPY", -5.0, "the data ended"))
    log.on_order_filled(fill(market, 5, -10.0, 105.0, order_id=-1))  # closing at the end of data
    return log


def test_orders_have_the_same_dtypes_empty_or_not():
    market = make_market()
    empty = OrderLog(timeline=market.timestamps).frame()
    orders = order_log_with_every_kind_of_order(market).frame()
    log = OrderLog(timeline=market.timestamps)
    log.on_order_rejected(OrderRejected("alpha", market.timeline, 2, 1, "SPY", 30.0, "no room"))
    rejected_only = log.frame()  # no fill time, price or costs in any row: NaT and NaN, not object
    assert (len(empty), len(orders), len(rejected_only)) == (0, 4, 1)
    assert dict(empty.dtypes) == dict(orders.dtypes) == dict(rejected_only.dtypes) == expected_dtypes(
        ORDER_COLUMNS, market)


def test_typed_tables_write_the_same_csv_as_the_frames_pandas_guesses():
    """The goldens hash trades.csv: typing a table with rows must not change a byte of it."""
    market = make_market()
    log = order_log_with_every_kind_of_order(market)
    t = market.timestamps
    # the log's rows written out by hand, in ORDER_COLUMNS order, None where nothing was said
    rows = [
        [1, t[0], "SPY", "market", 10.0, 10.0, 10.0, None, None, "gtc", None, "signal", "filled", "", None, t[1],
         101.0, 0.5, 0.25, None],
        [2, t[2], "SPY", "market", -30.0, 0.0, None, None, None, None, None, "signal", "rejected",
         "max_position_value: no room", None, None, None, None, None, None],
        [3, t[5], "SPY", "market", -5.0, -5.0, None, None, None, "gtc", None, "signal", "cancelled",
         "the data ended", None, None, None, None, None, t[5]],
        [-1, t[5], "SPY", "market", -10.0, -10.0, -10.0, None, None, None, None, "signal", "filled",
         "closed at the end of data", None, t[5], 105.0, 0.5, 0.25, None],
    ]
    guessed = pd.DataFrame(rows, columns=list(ORDER_COLUMNS))
    assert csv(log.frame()) == csv(guessed)
    portfolio = Portfolio(market=market, namespace="alpha",
                          initial_capital=10_000.0)
    # quantities are floats from the risk manager on (it subtracts the float position)
    portfolio.on_order_filled(fill(market, 1, 10.0, 100.0))
    portfolio.on_order_filled(fill(market, 3, -25.0, 110.0, order_id=2))
    recorded = [column for column in TRADE_COLUMNS if column not in ("mae", "mfe")]  # worked out at the end
    # a trade keeps its fills' timeline indices; their times are looked up for the frame
    times = {"entry_time": "entry_index", "exit_time": "exit_index"}
    guessed_trades = pd.DataFrame([[market.timestamps[getattr(t, times[c])] if c in times else getattr(t, c)
                                    for c in recorded] for t in portfolio.trades], columns=recorded)
    guessed_trades["mae"], guessed_trades["mfe"] = portfolio._excursions(portfolio._trade_columns())
    assert csv(portfolio.trades_frame()) == csv(guessed_trades)


class Raising(Strategy):
    """Raises on its third bar."""

    def __init__(self) -> None:
        self.bars = 0

    def on_bar(self, bar, values):
        self.bars += 1
        if self.bars == 3:
            raise RuntimeError("broken plugin")


class Flipping(Strategy):
    """Long on bar 0, flat on bar 2, long again on bar 3."""

    def __init__(self) -> None:
        self.bars = 0

    def on_bar(self, bar, values):
        self.bars += 1
        return {1: Direction.LONG, 3: Direction.FLAT, 4: Direction.LONG}.get(self.bars)


def test_a_failed_system_has_the_tables_of_a_completed_one_with_no_rows():
    document = backtest_config(system_config("alpha"), system_config("beta"))
    alpha, beta = run_in_memory(document, source=FrameSource(zoned_bars()),
                                strategies={"alpha": Raising()})
    assert (alpha.status, beta.status, len(beta.trades), len(beta.orders), len(beta.open_lots)) == (
        "failed", "completed", 0, 1, 1)
    for table in ("trades", "orders", "open_lots"):
        assert getattr(alpha, table).empty
        assert dict(getattr(alpha, table).dtypes) == dict(getattr(beta, table).dtypes)


def test_a_lost_system_has_typed_tables_with_no_rows():
    market = make_market()
    [spec] = checked(backtest_config(system_config("alpha"))).systems
    lost = lost_system(spec, "its worker died", market)
    assert lost.status == "failed"
    for table, columns in (("trades", TRADE_COLUMNS), ("orders", ORDER_COLUMNS), ("open_lots", OPEN_LOT_COLUMNS)):
        assert getattr(lost, table).empty
        assert dict(getattr(lost, table).dtypes) == expected_dtypes(columns, market)


@pytest.mark.parametrize("text", [["a", None], [None], []])
def test_a_text_column_takes_the_dtype_pandas_infers_for_text_and_keeps_none_missing(text):
    reason = pd.Series(text, dtype=object).astype(STRING)
    assert reason.dtype == pd.Series(["x"]).dtype
    assert reason.isna().tolist() == [value is None for value in text]  # never the text "None"


def test_released_records_leave_tables_of_the_same_columns_with_no_rows_and_keep_cash_and_positions():
    """What a system lets go once its result holds its records (`SystemRunner.finish`)."""
    market = make_market()
    log = order_log_with_every_kind_of_order(market)
    log.release_rows()
    empty = OrderLog(timeline=market.timestamps).frame()
    pd.testing.assert_frame_equal(log.frame(), empty)
    log.on_order_submitted(OrderSubmitted("alpha", market.timeline, 1, 1, "SPY", 3.0, 3.0, ""))
    assert log.frame()[["order_id", "quantity"]].values.tolist() == [[1, 3.0]]  # ids count from 1 again
    portfolio = Portfolio(market=market, namespace="alpha", initial_capital=10_000.0)
    portfolio.on_order_filled(fill(market, 1, 10.0, 100.0))
    portfolio.on_order_filled(fill(market, 3, -4.0, 110.0, order_id=2))
    cash, positions = portfolio.cash, portfolio.positions()
    portfolio.release_records()
    pd.testing.assert_frame_equal(portfolio.trades_frame(), Portfolio(
        market=market, namespace="alpha", initial_capital=10_000.0).trades_frame())
    # the commission comes off the cash; the slippage is in the fill's price already
    assert (portfolio.cash, portfolio.positions()) == (cash, positions) == (10_000.0 - 1000 - 0.5 + 440 - 0.5,
                                                                           {"SPY": 6.0})


def test_a_finished_system_holds_its_records_in_its_result_alone():
    document = backtest_config(system_config("alpha"))
    registry = PluginRegistry()
    config = checked(document, registry)
    root = build_container(config, registry)
    root.data.source.override(providers.Object(FrameSource(zoned_bars())))
    system = root.trading_system(spec=config.systems[0])
    system.strategy.override(providers.Object(Flipping()))
    runner = system.runner()
    runner.start()
    for index in range(6):
        runner.step(index)
    result = runner.finish()
    # long, flat, long again: one trade closed, one lot left open (the config does not close at the end)
    assert (len(result.trades), len(result.orders), len(result.open_lots)) == (1, 3, 1)
    assert runner.portfolio.trades_frame().empty and runner.portfolio.equity_steps().indices.size == 0
    assert runner.portfolio.positions() == result.open_positions and result.open_positions["SPY"] > 0
    root.shutdown_resources()

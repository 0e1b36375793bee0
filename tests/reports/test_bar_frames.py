"""The long frames written to bars.parquet and indicators.parquet, built from the run's arrays: symbol after
symbol, each row's symbol in pandas' text type, and a single symbol's values the shared arrays themselves."""

from __future__ import annotations

import numpy as np
import pandas as pd

from multifolio.data.market import MarketData, repeated_text
from multifolio.reports.writers import indicator_frame
from multifolio.testing import make_bars
from multifolio.trading.system import SystemResult
from tests.builders import backtest_config, checked, system_config


def rows(count: int, base: float) -> list[tuple[float, float, float, float, float]]:
    return [(base + i, base + i + 1, base + i - 1, base + i + 0.5, 1000.0 + i) for i in range(count)]


SPY = make_bars(rows(6, 100.0), symbol="SPY")
QQQ = make_bars(rows(3, 50.0), symbol="QQQ", start="2024-01-02 09:32")  # from the third minute on


def test_the_bars_frame_is_each_symbols_bars_in_turn():
    market = MarketData.from_frame(pd.concat([QQQ, SPY], ignore_index=True), ("SPY", "QQQ"))
    frame = market.frame()
    expected = pd.concat([SPY, QQQ], ignore_index=True)[["timestamp", "symbol", "open", "high", "low", "close",
                                                         "volume"]]
    expected["symbol"] = expected["symbol"].astype(pd.StringDtype(na_value=np.nan))
    pd.testing.assert_frame_equal(frame, expected, check_exact=True, check_index_type=True)
    assert frame["symbol"].dtype == pd.Series(["SPY"]).dtype  # the text type a frame of strings gets


def test_one_symbols_prices_are_not_copied():
    market = MarketData.from_frame(SPY, ("SPY",))
    frame = market.frame()
    for name in ("open", "high", "low", "close", "volume"):
        assert np.shares_memory(frame[name].to_numpy(), market.series["SPY"].arrays[name])


def test_repeated_text_is_what_pandas_makes_of_the_strings():
    made = repeated_text(["SPY", "QQQ", ""], [2, 0, 3])
    pd.testing.assert_series_equal(made, pd.Series(["SPY", "SPY", "", "", ""]))


def result_of(indicators: dict[str, dict[str, np.ndarray]], last_bar: int) -> SystemResult:
    spec = checked(backtest_config(system_config("s"))).systems[0]
    return SystemResult(spec=spec, equity_steps=None, trades=pd.DataFrame(), orders=pd.DataFrame(),
                        open_positions={}, open_lots=pd.DataFrame(), indicator_values=indicators, last_bar=last_bar)


def test_the_indicator_frame_holds_each_symbols_values_up_to_the_last_bar():
    market = MarketData.from_frame(pd.concat([SPY, QQQ], ignore_index=True), ("SPY", "QQQ"))
    values = {"SPY": {"SMA_2": np.arange(6.0)}, "QQQ": {"SMA_2": np.arange(3.0) + 10}}
    frame = indicator_frame(result_of(values, last_bar=3), market)  # stopped after the fourth minute
    assert frame["symbol"].tolist() == ["SPY"] * 4 + ["QQQ"] * 2
    assert frame["timestamp"].tolist() == [*SPY["timestamp"][:4], *QQQ["timestamp"][:2]]
    assert frame["SMA_2"].tolist() == [0.0, 1.0, 2.0, 3.0, 10.0, 11.0]


def test_a_system_without_indicators_still_names_each_rows_symbol():
    market = MarketData.from_frame(pd.concat([SPY, QQQ], ignore_index=True), ("SPY", "QQQ"))
    frame = indicator_frame(result_of({"SPY": {}, "QQQ": {}}, last_bar=5), market)
    assert list(frame.columns) == ["timestamp", "symbol"]
    assert frame["symbol"].tolist() == ["SPY"] * 6 + ["QQQ"] * 3

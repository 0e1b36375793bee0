"""Yahoo Finance's layout (`Date,Open,High,Low,Close,Adj Close,Volume`): read as written, or with
`adjust: true` every price on the Adj Close scale.

The file is GOOG.csv as backtesting.py ships it (byte for byte the project's shared data file)
with a Yahoo-style Adj Close made for the test: a 2-for-1 split on 2010-01-04, so every earlier
Adj Close is half the close and every expected price below is exact.
"""

from __future__ import annotations

from pathlib import Path

import backtesting
import numpy as np
import pandas as pd
import pytest

from multifolio.config.registry import PluginKind
from multifolio.data.market import load_market_data
from multifolio.errors import DataError

GOOG_CSV = Path(backtesting.__file__).parent / "test" / "GOOG.csv"
SPLIT = "2010-01-04"  # rows before it are on the pre-split scale: Adj Close = Close / 2

pytestmark = pytest.mark.filterwarnings("error")


def yahoo_goog(folder: Path, suffix: str = ".csv") -> tuple[Path, pd.DataFrame]:
    frame = pd.read_csv(GOOG_CSV, index_col=0).rename_axis("Date")
    frame.insert(4, "Adj Close", np.where(frame.index < SPLIT, frame["Close"] / 2, frame["Close"]))
    path = folder / f"GOOG{suffix}"
    if suffix == ".csv":
        frame.to_csv(path)
    else:
        frame.set_axis(pd.to_datetime(frame.index)).to_parquet(path)
    return path, frame


def load(registry, source: str, path: Path, **params):
    plugin = registry.create(PluginKind.DATA_SOURCE, source, {"symbols": ["GOOG"], "file_path": str(path), **params})
    return load_market_data(plugin, ["GOOG"])


def test_the_yahoo_header_is_the_one_written(tmp_path):
    path, _ = yahoo_goog(tmp_path)
    assert path.read_text().splitlines()[:2] == ["Date,Open,High,Low,Close,Adj Close,Volume",
                                                 "2004-08-19,100.0,104.06,95.96,100.34,50.17,22351900"]


def test_without_adjust_the_adj_close_column_is_ignored(registry, tmp_path):
    path, frame = yahoo_goog(tmp_path)
    bars = load(registry, "csv", path).series["GOOG"].arrays
    np.testing.assert_array_equal(bars["close"], frame["Close"].to_numpy())
    np.testing.assert_array_equal(bars["open"], frame["Open"].to_numpy())
    np.testing.assert_array_equal(bars["volume"], frame["Volume"].to_numpy())


@pytest.mark.parametrize("suffix, source", [(".csv", "csv"), (".parquet", "parquet")])
def test_adjust_puts_every_price_on_the_adj_close_scale_and_the_volume_in_todays_shares(registry, tmp_path,
                                                                                        suffix, source):
    path, frame = yahoo_goog(tmp_path, suffix)
    bars = load(registry, source, path, adjust=True)
    arrays = bars.series["GOOG"].arrays
    first, split = 0, int(np.flatnonzero(frame.index == SPLIT)[0])
    # the first bar, 2004-08-19: 100, 104.06, 95.96, 100.34, volume 22,351,900 written; halved, volume doubled
    assert [float(arrays[name][first]) for name in ("open", "high", "low", "close", "volume")] == [
        50.0, 52.03, 47.98, 50.17, 44703800.0]
    before = slice(0, split)
    for name in ("open", "high", "low", "close"):
        np.testing.assert_array_equal(arrays[name][before], frame[name.capitalize()].to_numpy()[before] / 2)
        np.testing.assert_array_equal(arrays[name][split:], frame[name.capitalize()].to_numpy()[split:])
    np.testing.assert_array_equal(arrays["volume"][before], frame["Volume"].to_numpy()[before] * 2.0)
    np.testing.assert_array_equal(arrays["volume"][split:], frame["Volume"].to_numpy()[split:])
    # no jump at the split: the day before is on today's scale
    assert [float(arrays["close"][k]) for k in (split - 1, split)] == [309.99, 626.75]  # 619.98 / 2, then as written


def test_a_dividend_factor_scales_each_row_by_its_own_ratio(registry, tmp_path):
    path, frame = yahoo_goog(tmp_path)
    frame["Adj Close"] = frame["Close"] * 0.98  # a 2 % dividend adjustment on every row
    frame.to_csv(path)
    arrays = load(registry, "csv", path, adjust=True).series["GOOG"].arrays
    factor = frame["Adj Close"].to_numpy() / frame["Close"].to_numpy()
    np.testing.assert_array_equal(arrays["high"], frame["High"].to_numpy() * factor)
    np.testing.assert_array_equal(arrays["close"], frame["Adj Close"].to_numpy())
    np.testing.assert_array_equal(arrays["volume"], frame["Volume"].to_numpy() * (1 / factor))


def test_adjust_without_an_adj_close_column_is_refused(registry):
    with pytest.raises(DataError) as caught:
        load(registry, "csv", GOOG_CSV, adjust=True)
    assert str(caught.value) == (f"{GOOG_CSV}: data.adjust: true needs an Adj Close column (found: Unnamed: 0, Open, "
                                 "High, Low, Close, Volume); remove data.adjust to read the prices as written")


def test_an_adj_close_that_is_not_a_positive_number_is_refused_with_its_lines(registry, tmp_path):
    path, frame = yahoo_goog(tmp_path)
    frame = frame.astype({"Adj Close": object})
    frame.iloc[[4, 9], frame.columns.get_loc("Adj Close")] = ["null", -1.0]
    frame.to_csv(path)
    with pytest.raises(DataError) as caught:
        load(registry, "csv", path, adjust=True)
    assert str(caught.value) == (f"{path} lines 6, 11: Adj Close is not a positive number (2 row(s)); data.adjust: "
                                 "true scales every price by Adj Close / Close")

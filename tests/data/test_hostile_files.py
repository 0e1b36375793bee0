"""A data file that cannot be read ends in a DataError naming the file (and the line, where there is one)."""

from __future__ import annotations

import gzip
import importlib.metadata
from importlib.metadata import EntryPoint

import pandas as pd
import pytest

from multifolio.config.registry import PluginRegistry
from multifolio.errors import ConfigErrors, DataError
from multifolio.protocols import DataSource
from multifolio.running.run import build_container
from tests.builders import backtest_config, checked, system_config

HEADER = "timestamp,symbol,open,high,low,close,volume\n"
ROWS = ["2024-01-02 09:30,SPY,10,11,9,10.5,100\n", "2024-01-02 09:31,SPY,10.5,11,10,10.8,100\n",
        "2024-01-02 09:32,SPY,10.8,11.2,10.1,11,100\n"]


def market(path, registry, symbols=("SPY",)):
    document = backtest_config(system_config(), data={"source": "parquet" if path.suffix == ".parquet" else "csv",
                                                      "symbols": list(symbols), "file_path": str(path)})
    return build_container(checked(document, registry), registry).data.market()


CASES = {  # name: (file name, bytes, the start of the message after the path)
    "an extra field in one row": ("bars.csv", (HEADER + ROWS[0] + ROWS[1].replace("\n", ",7\n") + ROWS[2]).encode(),
                                  "Expected 7 fields in line 3, saw 8"),
    "Latin-1 text": ("bars.csv", (HEADER + ROWS[0].replace("SPY", "SPÿ") + ROWS[1]).encode("latin-1"),
                     "not UTF-8 text (byte b'\\xff' at offset"),
    "gzip named .csv": ("bars.csv", gzip.compress((HEADER + "".join(ROWS)).encode()),
                        "a gzip-compressed file named like plain text; name it bars.csv.gz"),
    "not Parquet at all": ("bars.parquet", b"PAR1 this is not a parquet file PAR1",
                           "cannot be read as bars: ArrowInvalid"),
    "close and CLOSE": ("bars.csv", (HEADER.replace("volume", "volume,CLOSE") + ROWS[0].replace("\n", ",1\n")
                                     ).encode(), "columns 'close' and 'CLOSE' are the same ignoring case; keep one"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_an_unreadable_file_is_a_data_error_naming_it(name, tmp_path, registry):
    file_name, content, expected = CASES[name]
    path = tmp_path / file_name
    path.write_bytes(content)
    with pytest.raises(DataError) as caught:
        market(path, registry)
    assert str(caught.value).startswith(f"{path}: {expected}"), str(caught.value)


@pytest.mark.parametrize("ticker", ["NA", "TRUE", "007", "null", "1e5"])
def test_tickers_are_read_as_written_never_type_guessed(ticker, tmp_path, registry):
    path = tmp_path / "bars.csv"
    path.write_text(HEADER + "".join(row.replace("SPY", ticker) for row in ROWS))
    bars = market(path, registry, symbols=(ticker,))
    assert bars.symbols == (ticker,) and len(bars) == 3


def test_a_third_party_source_that_raises_is_a_data_error_naming_it(registry):
    from dependency_injector import providers

    class Broken(DataSource):
        def load(self) -> pd.DataFrame:
            raise ConnectionError("the vendor is down")

        def describe(self) -> str:
            return "vendor feed"

    root = build_container(checked(backtest_config(system_config()), registry), registry)
    root.data.source.override(providers.Object(Broken()))
    with pytest.raises(DataError, match=r"^vendor feed: the data source Broken could not load the bars: "
                                        r"ConnectionError: the vendor is down$"):
        root.data.market()


class RaisesWhenBuilt(DataSource):
    def __init__(self, *, symbols: list[str]) -> None:
        raise OSError("no credentials for the vendor")

    def load(self) -> pd.DataFrame:
        raise AssertionError("never built")


def test_a_third_party_source_that_raises_when_built_is_a_config_error_naming_it():
    faulty = EntryPoint("vendor", f"{__name__}:RaisesWhenBuilt", "multifolio.data_sources")
    registry = PluginRegistry(lambda group: [*importlib.metadata.entry_points(group=group),
                                             *([faulty] if group == faulty.group else [])])
    document = backtest_config(system_config(), data={"source": "vendor", "symbols": ["SPY"]})
    with pytest.raises(ConfigErrors) as caught:
        checked(document, registry)
    assert [str(error) for error in caught.value.errors] == [
        "data: data source 'vendor' raised while it was checked: OSError: no credentials for the vendor"]

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


def market(path, registry, symbols=("SPY",), **reading):
    document = backtest_config(system_config(), data={"source": "parquet" if path.suffix == ".parquet" else "csv",
                                                      "symbols": list(symbols), "file_path": str(path), **reading})
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


MINUTES = ["09:30", "09:31", "09:32"]
STYLES = {  # a style of writing 2024-01-02 at a time of day, as different vendors do, and its data.date_format
    "ISO with a space": (lambda time: f"2024-01-02 {time}:00", ""),
    "ISO with a T": (lambda time: f"2024-01-02T{time}", ""),
    "US month first": (lambda time: f"01/02/2024 {time}", "%m/%d/%Y %H:%M"),
    "day name and month name": (lambda time: f"Tue 2 Jan 2024 {time}", "%a %d %b %Y %H:%M"),
}


def per_symbol_files(folder, styles, suffix=".csv"):
    """One file per symbol, AAA written in the first style, BBB in the second, …; the same three minutes."""
    symbols = [f"{letter * 3}" for letter in "ABCD"[:len(styles)]]
    for symbol, style in zip(symbols, styles):
        rows = [f"{style(time)},10,11,9,10.5,100\n" for time in MINUTES]
        (folder / f"{symbol}{suffix}").write_text("timestamp,open,high,low,close,volume\n" + "".join(rows))
    return folder / f"{{symbol}}{suffix}", tuple(symbols)


@pytest.mark.parametrize("style", sorted(STYLES))
def test_files_in_one_style_read_with_its_date_format(style, tmp_path, registry):
    write, date_format = STYLES[style]
    path, symbols = per_symbol_files(tmp_path, [write, write])
    bars = market(path, registry, symbols, date_format=date_format)
    assert list(bars.timestamps) == [pd.Timestamp(f"2024-01-02 {time}") for time in MINUTES]
    assert all(len(bars.series[symbol]) == len(MINUTES) for symbol in symbols)


def test_iso_files_written_with_a_space_or_a_t_read_as_one_timeline(tmp_path, registry):
    path, symbols = per_symbol_files(tmp_path, [STYLES["ISO with a space"][0], STYLES["ISO with a T"][0]])
    assert list(market(path, registry, symbols).timestamps) == [pd.Timestamp(f"2024-01-02 {t}") for t in MINUTES]


def test_a_bad_row_in_one_of_several_files_is_named_by_that_file_and_its_line(tmp_path, registry):
    path, symbols = per_symbol_files(tmp_path, [STYLES["ISO with a space"][0], STYLES["ISO with a T"][0]])
    lines = (tmp_path / "BBB.csv").read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace("2024-01-02", "2024-13-45")
    (tmp_path / "BBB.csv").write_text("".join(lines))
    with pytest.raises(DataError) as caught:
        market(path, registry, symbols)
    assert str(caught.value) == (f"{tmp_path / 'BBB.csv'} line 3: timestamp is not an ISO 8601 date/time such as "
                                 "2024-01-02 09:30:00; set data.date_format to read another form; fix the file, or "
                                 "set data.on_invalid: drop to skip such rows")


def test_files_with_and_without_a_utc_offset_need_data_timezone(tmp_path, registry):
    offset = lambda time: f"2024-01-02T{time}:00-05:00"  # noqa: E731 - one more style, with a UTC offset
    path, symbols = per_symbol_files(tmp_path, [STYLES["ISO with a space"][0], offset])
    with pytest.raises(DataError) as caught:
        market(path, registry, symbols)
    assert str(caught.value) == (f"{tmp_path / 'BBB.csv'} writes times with a UTC offset and {tmp_path / 'AAA.csv'} "
                                 "without; write them all one way, or set data.timezone to say where the times "
                                 "without one are")
    document = backtest_config(system_config(), data={"source": "csv", "symbols": list(symbols),
                                                      "file_path": str(path), "timezone": "America/New_York"})
    bars = build_container(checked(document, registry), registry).data.market()
    # 09:30 in New York (AAA, naive) is 09:30-05:00 (BBB): one timeline of three bars, in New York time
    assert list(bars.timestamps) == [pd.Timestamp(f"2024-01-02 {time}", tz="America/New_York") for time in MINUTES]
    assert all(len(bars.series[symbol]) == len(MINUTES) for symbol in symbols)

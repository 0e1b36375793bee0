"""Bars from CSV files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from multifolio.plugins.data.tabular import (
    ADJUSTED_CLOSE_NAMES,
    bars_from_table,
    check_paths_exist,
    readable,
    resolve_paths,
)
from multifolio.protocols import PRICE_FIELDS, DataError, DataSource

_HEADER_LINES = 1
_GZIP = b"\x1f\x8b"  # the first bytes of every gzip file
_MISSING = ["", "nan", "NaN", "NA", "N/A", "null", "NULL"]  # what reads as a missing price (then a data error)


class CsvSource(DataSource):
    """Bars from `file_path`: one file for all symbols, or `data/{symbol}.csv` per symbol.

    A relative path in a config file is joined to the config file's folder before it gets here
    (multifolio.config.model.DataConfig); any other relative path is taken from the working
    directory. `adjust`: prices scaled to the file's Adj Close column (Yahoo Finance's layout).
    """

    def __init__(self, *, symbols: list[str], file_path: str, adjust: bool = False) -> None:
        self.symbols = list(symbols)
        self.file_path = file_path
        self.adjust = adjust
        self._paths = resolve_paths(file_path, self.symbols)
        check_paths_exist(self._paths)

    def load(self) -> pd.DataFrame:
        frames = []
        for symbol, path in self._paths.items():
            with readable(path):
                frames.append(bars_from_table(self._read(path), str(path), symbol, self.symbols, _HEADER_LINES + 1,
                                              self.adjust))
        return pd.concat(frames, ignore_index=True)

    @staticmethod
    def _read(path: Path) -> pd.DataFrame:
        if path.read_bytes()[:2] == _GZIP:
            raise DataError(f"{path}: a gzip-compressed file named like plain text; name it {path.name}.gz or "
                            "decompress it")
        try:
            header = pd.read_csv(path, nrows=0).columns
        except pd.errors.EmptyDataError:
            raise DataError(f"{path}: the file is empty; expected a header row (timestamp, open, high, low, "
                            "close, volume) and one row per bar") from None
        # declared float dtypes: no type sniffing over a million rows, and a bad number is an error
        # reported with its line by the checks, never a column silently read as text; symbols are text as
        # written (tickers such as NA, TRUE or 007 stay themselves); only prices have missing values
        prices = [column for column in header
                  if str(column).strip().lower() in (*PRICE_FIELDS, *ADJUSTED_CLOSE_NAMES)]
        others = [column for column in header if column not in prices]
        options = {"keep_default_na": False, "na_values": {column: _MISSING for column in prices},
                   "dtype": {column: str for column in others if str(column).strip().lower() == "symbol"}}
        try:
            return pd.read_csv(path, **options | {"dtype": options["dtype"] | dict.fromkeys(prices, "float64")})
        except ValueError:  # a cell that is not a number: read as text so the checks can name its line
            return pd.read_csv(path, **options)

    def describe(self) -> str:
        return ", ".join(str(path) for path in self._paths.values())

    def files(self) -> list[Path]:
        return list(self._paths.values())

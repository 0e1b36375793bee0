"""Bars from CSV files."""

from __future__ import annotations

import pandas as pd

from app.protocols import DataSource
from plugins.data.tabular import bars_from_table, check_paths_exist, resolve_paths

_HEADER_LINES = 1


class CsvSource(DataSource):
    """Bars from `file_path`: one file for all symbols, or `data/{symbol}.csv` per symbol.

    Relative paths are taken from the working directory.
    """

    def __init__(self, *, symbols: list[str], file_path: str) -> None:
        self.symbols = list(symbols)
        self.file_path = file_path
        self._paths = resolve_paths(file_path, self.symbols)
        check_paths_exist(self._paths, f"create it with `multifolio sample-data {file_path}`"
                          if len(self._paths) == 1 else "check data.file_path")

    def load(self) -> pd.DataFrame:
        frames = []
        for symbol, path in self._paths.items():
            table = pd.read_csv(path)
            frames.append(bars_from_table(table, str(path), symbol, self.symbols, _HEADER_LINES + 1))
        return pd.concat(frames, ignore_index=True)

    def describe(self) -> str:
        return ", ".join(str(path) for path in self._paths.values())

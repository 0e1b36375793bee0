"""Bars from Parquet files (read with pyarrow)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from multifolio.plugins.data.tabular import bars_from_table, check_paths_exist, readable, resolve_paths
from multifolio.protocols import DataSource


class ParquetSource(DataSource):
    """Bars from `file_path`: one file for all symbols, or `data/{symbol}.parquet` per symbol.

    A timestamp index (as pandas writes it) counts as the timestamp column; relative paths as for
    `csv`, and `adjust` scales prices to an Adj Close column as there.
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
            # one pandas block per column (no consolidation copy), Arrow buffers freed as converted,
            # and the allocator's cache handed back: 1M bars peak ~100 MB lower than pd.read_parquet
            with readable(path):
                table = pq.read_table(path).to_pandas(self_destruct=True, split_blocks=True)
            pa.default_memory_pool().release_unused()
            if not isinstance(table.index, pd.RangeIndex):  # pandas wrote its index: the timestamps
                table = table.rename_axis(table.index.name or "timestamp").reset_index()
            frames.append(bars_from_table(table, str(path), symbol, self.symbols, 1, self.adjust))
        return pd.concat(frames, ignore_index=True)

    def describe(self) -> str:
        return ", ".join(str(path) for path in self._paths.values())

    def files(self) -> list[Path]:
        return list(self._paths.values())

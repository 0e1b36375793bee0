"""What the CSV and Parquet sources share: finding the columns of a bars table."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from multifolio.protocols import PRICE_FIELDS, ConfigError, DataError

_TIME_NAMES = ("timestamp", "datetime", "date", "time", "")
_SYMBOL_PLACEHOLDER = "{symbol}"


def resolve_paths(file_path: str, symbols: list[str]) -> dict[str, Path]:
    """Symbol → file. `data/{symbol}.csv` gives one file per symbol; a plain path holds them all."""
    if _SYMBOL_PLACEHOLDER in file_path:
        return {symbol: Path(file_path.replace(_SYMBOL_PLACEHOLDER, symbol)) for symbol in symbols}
    return {"": Path(file_path)}


def check_paths_exist(paths: dict[str, Path], create_hint: str) -> None:
    for path in paths.values():
        if not path.is_file():
            raise ConfigError("file_path", f"file not found: {path} (resolved to {path.resolve()}); "
                                           f"{create_hint}")


@contextmanager
def readable(path: Path) -> Iterator[None]:
    """What reading `path` can raise, as a DataError naming the file (and the line, where the reader says)."""
    try:
        yield
    except DataError:
        raise
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: not UTF-8 text (byte {error.object[error.start:error.start + 1]!r} at offset "
                        f"{error.start:,}); save it as UTF-8") from None
    except pd.errors.ParserError as error:  # names the line: "Expected 7 fields in line 5, saw 8"
        raise DataError(f"{path}: {str(error).strip().removeprefix('Error tokenizing data. C error: ')}") from None
    except (pa.ArrowException, OSError, ValueError) as error:
        raise DataError(f"{path}: cannot be read as bars: {type(error).__name__}: {error}") from None


def bars_from_table(table: pd.DataFrame, origin: str, symbol: str, symbols: list[str],
                    first_line: int) -> pd.DataFrame:
    """The table's bars with `BAR_COLUMNS`, a `line` column (`first_line` for its first row) and a `file`
    column (`origin`), so a message about rows from several files names each one's file and line.

    Column names are matched ignoring case; the time is a `timestamp`/`datetime`/`date`
    column or the first, unnamed one. Without a `symbol` column the file holds `symbol`
    (or, for a shared file, the only symbol of `data.symbols`).
    """
    by_lower: dict[str, object] = {}
    for column in table.columns:
        twin = by_lower.setdefault(str(column).strip().lower(), column)
        if twin is not column and twin != column:
            raise DataError(f"{origin}: columns {str(twin)!r} and {str(column)!r} are the same ignoring case; keep one")
    if str(table.columns[0]).startswith("Unnamed: 0"):
        by_lower.setdefault("", table.columns[0])
    time_column = next((by_lower[name] for name in _TIME_NAMES if name in by_lower), None)
    missing = [name for name in PRICE_FIELDS if name not in by_lower]
    if time_column is None:
        missing.insert(0, "timestamp")
    if missing:
        found = ", ".join(str(c) for c in table.columns)
        raise DataError(f"{origin}: missing column(s) {', '.join(missing)} (found: {found}); expected a timestamp "
                        "column (or an unnamed first column) and open, high, low, close, volume in any case")
    if "symbol" in by_lower:
        symbol_column = table[by_lower["symbol"]].astype(str)
        table = table[symbol_column.isin(symbols).to_numpy()]
        symbol_column = symbol_column[table.index]
    else:
        if not symbol and len(symbols) != 1:
            raise DataError(f"{origin}: has no symbol column, so it can hold one symbol only, but data.symbols "
                            f"lists {symbols}; add a symbol column or use a `{{symbol}}` file_path")
        # one category, not a million copies of a string
        symbol_column = pd.Categorical.from_codes(np.zeros(len(table), dtype=np.int8), [symbol or symbols[0]])
    columns = {"timestamp": table[time_column], "symbol": symbol_column,
               **{name: table[by_lower[name]] for name in PRICE_FIELDS},
               "line": table.index.to_numpy() + first_line,
               "file": pd.Categorical.from_codes(np.zeros(len(table), dtype=np.int8), [origin])}
    return pd.DataFrame({name: _values(column) for name, column in columns.items()}, copy=False)


def _values(column):
    """The data of a column without its index, so the new frame does not realign (or copy) it."""
    return column.array if isinstance(column, pd.Series) else column

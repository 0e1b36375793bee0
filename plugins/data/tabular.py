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
# the dividend- and split-adjusted close, as Yahoo Finance names it (`Adj Close`) and as others write it
ADJUSTED_CLOSE_NAMES = ("adj close", "adj_close", "adjusted close", "adjusted_close")
_SYMBOL_PLACEHOLDER = "{symbol}"


def resolve_paths(file_path: str, symbols: list[str]) -> dict[str, Path]:
    """Symbol → file. `data/{symbol}.csv` gives one file per symbol; a plain path holds them all."""
    if _SYMBOL_PLACEHOLDER in file_path:
        return {symbol: Path(file_path.replace(_SYMBOL_PLACEHOLDER, symbol)) for symbol in symbols}
    return {"": Path(file_path)}


def check_paths_exist(paths: dict[str, Path]) -> None:
    """Each file is there; a relative path is shown with the absolute path it was looked for at."""
    for path in paths.values():
        if not path.is_file():
            looked_at = "" if path.is_absolute() else f" ({path.absolute()})"
            raise ConfigError("file_path", f"file not found: {path}{looked_at}; check data.file_path")


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
                    first_line: int, adjust: bool = False) -> pd.DataFrame:
    """The table's bars with `BAR_COLUMNS`, a `line` column (`first_line` for its first row) and a `file`
    column (`origin`), so a message about rows from several files names each one's file and line.

    Column names are matched ignoring case; the time is a `timestamp`/`datetime`/`date`
    column or the first, unnamed one. Without a `symbol` column the file holds `symbol`
    (or, for a shared file, the only symbol of `data.symbols`). An `Adj Close` column is
    ignored unless `adjust`: then every price is scaled by Adj Close / Close (`adjusted`).
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
    prices = {name: table[by_lower[name]] for name in PRICE_FIELDS}
    if adjust:
        prices = adjusted(prices, _adjusted_close(table, by_lower, origin), origin, table.index.to_numpy() + first_line)
    columns = {"timestamp": table[time_column], "symbol": symbol_column, **prices,
               "line": table.index.to_numpy() + first_line,
               "file": pd.Categorical.from_codes(np.zeros(len(table), dtype=np.int8), [origin])}
    return pd.DataFrame({name: _values(column) for name, column in columns.items()}, copy=False)


def _adjusted_close(table: pd.DataFrame, by_lower: dict[str, object], origin: str) -> pd.Series:
    named = [by_lower[name] for name in ADJUSTED_CLOSE_NAMES if name in by_lower]
    if not named:
        found = ", ".join(str(c) for c in table.columns)
        raise DataError(f"{origin}: data.adjust: true needs an Adj Close column (found: {found}); remove "
                        "data.adjust to read the prices as written")
    return table[named[0]]


def adjusted(prices: dict[str, pd.Series], adjusted_close: pd.Series, origin: str,
             lines: np.ndarray) -> dict[str, pd.Series]:
    """Prices on the Adj Close scale, row by row: open, high and low times Adj Close / Close (the close
    becomes Adj Close), the volume divided by it, so each bar's traded value (price × volume) stays as
    written and a split's volume counts shares of today's size, the size orders are in.

    A row whose close is not a positive number keeps its prices (the data rules then name it); an
    Adj Close that is not a positive number is refused with its line.
    """
    adjusted_close = pd.to_numeric(adjusted_close, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~(adjusted_close > 0) | np.isinf(adjusted_close)
    if bad.any():
        shown = ", ".join(str(int(line)) for line in lines[bad][:5])
        raise DataError(f"{origin} line{'s' if bad.sum() > 1 else ''} {shown}: Adj Close is not a positive "
                        f"number ({bad.sum():,} row(s)); data.adjust: true scales every price by Adj Close / Close")
    close = pd.to_numeric(prices["close"], errors="coerce").to_numpy(dtype=np.float64)
    usable = (close > 0) & np.isfinite(close)
    factor = np.divide(adjusted_close, close, out=np.ones_like(close), where=usable)
    scaled = {name: _scaled(prices[name], factor) for name in ("open", "high", "low")}
    scaled["close"] = _scaled(prices["close"], factor).where(~usable, adjusted_close)  # Adj Close itself, exactly
    scaled["volume"] = _scaled(prices["volume"], 1 / factor)
    return scaled


def _scaled(column: pd.Series, factor: np.ndarray) -> pd.Series:
    """`column` × `factor`; a cell that is not a number stays as written, for the data rules to name."""
    numbers = pd.to_numeric(column, errors="coerce")
    if column.dtype == np.float64 or numbers.notna().all():
        return pd.Series(numbers.to_numpy(dtype=np.float64) * factor)
    return pd.Series(np.where(numbers.notna(), numbers.to_numpy(dtype=np.float64) * factor, column.to_numpy(object)),
                     dtype=object)


def _values(column):
    """The data of a column without its index, so the new frame does not realign (or copy) it."""
    return column.array if isinstance(column, pd.Series) else column

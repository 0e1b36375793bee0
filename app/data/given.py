"""Bars handed over in code (`multifolio.run(config, data=frame)`): one DataFrame in long form with a symbol
column, or a mapping of symbols to one frame each, read as a data source that the run checks like any other.

A frame may name its columns in any case (`Open` or `open`), carry its time in a `timestamp`, `datetime`,
`date` or `time` column or in a DatetimeIndex (as backtesting.py's frames do), and hold symbols the run does
not use: those are left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from multifolio.errors import ConfigError
from multifolio.protocols import BAR_COLUMNS, PRICE_FIELDS, DataSource
from multifolio.wording import counted

ORIGIN = "the DataFrame given as data"
_TIME_NAMES = ("timestamp", "datetime", "date", "time")


def given_bars(data: Any, symbols: Sequence[str] = ()) -> tuple[pd.DataFrame, list[str]]:
    """`data` as one long frame of `BAR_COLUMNS`, and the symbols of the run: `symbols` when the config lists
    them, else every symbol of `data` in the order given. A ConfigError at `data` says what cannot be used."""
    if isinstance(data, pd.DataFrame):
        parts = [_bars(data, "data", symbols)]
    elif isinstance(data, Mapping) and data and all(isinstance(frame, pd.DataFrame) for frame in data.values()):
        parts = [_bars(frame, f"data[{symbol!r}]", [str(symbol)]) for symbol, frame in data.items()]
    else:
        raise ConfigError("data", f"expected a DataFrame of bars or a mapping of symbols to DataFrames, found "
                                  f"{_kind(data)}")
    bars = pd.concat(parts, ignore_index=True)
    found = [str(symbol) for symbol in pd.unique(bars["symbol"])]
    return bars, list(symbols) or found


def _bars(frame: pd.DataFrame, where: str, symbols: Sequence[str]) -> pd.DataFrame:
    """One frame's bars by column name in any case; its symbol from a symbol column, else the one it is given
    under (a mapping's key, or the config's only symbol)."""
    by_lower: dict[str, Any] = {}
    for column in frame.columns:
        if by_lower.setdefault(str(column).strip().lower(), column) is not column:
            raise ConfigError(where, f"columns {by_lower[str(column).strip().lower()]!r} and {column!r} are the "
                                     "same ignoring case; keep one")
    time = next((frame[by_lower[name]] for name in _TIME_NAMES if name in by_lower), None)
    if time is None and isinstance(frame.index, pd.DatetimeIndex):
        time = frame.index.to_series()
    missing = [name for name in PRICE_FIELDS if name not in by_lower] + (["a time"] if time is None else [])
    if missing:
        raise ConfigError(where, f"missing {', '.join(missing)} (found columns: "
                                 f"{', '.join(map(str, frame.columns))}); expected open, high, low, close, volume "
                                 "in any case and a timestamp column or a DatetimeIndex")
    if "symbol" in by_lower:
        symbol = frame[by_lower["symbol"]].astype(str).to_numpy()
    elif len(symbols) == 1:
        symbol = symbols[0]
    else:
        raise ConfigError(where, "has no symbol column, so its symbol must be named: pass {symbol: frame}, or "
                                 "list the one symbol in the config's data.symbols")
    bars = pd.DataFrame({"timestamp": time.to_numpy(), "symbol": symbol,
                         **{name: frame[by_lower[name]].to_numpy() for name in PRICE_FIELDS}})
    return bars[list(BAR_COLUMNS)]


def frames_source(bars: pd.DataFrame) -> type[DataSource]:
    """A data source class serving `bars` (`given_bars`' frame) to the run, rows of other symbols left out;
    the registry holds it as the run's `dataframe` source."""

    class GivenFrames(DataSource):
        def __init__(self, *, symbols: list[str]) -> None:
            self.symbols = list(symbols)

        def load(self) -> pd.DataFrame:
            return bars[bars["symbol"].isin(self.symbols).to_numpy()].reset_index(drop=True)

        def describe(self) -> str:
            return f"{ORIGIN} ({counted(len(bars), 'row')})"

    return GivenFrames


def _kind(value: Any) -> str:
    return "an empty mapping" if isinstance(value, Mapping) and not value else f"a {type(value).__name__}"

"""The sample bars backtesting.py ships (GOOG daily 2004–2013, EURUSD hourly 2017–2018, BTCUSD monthly
2012–2024), read from the installed package as CSV: examples and peer checks on real data, without copying
its AGPL-licensed files into this project."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from multifolio.plugins.data.csv import CsvSource
from multifolio.protocols import ConfigError

SAMPLES = ("GOOG", "EURUSD", "BTCUSD")


class BacktestingSampleSource(CsvSource):
    """Each symbol of `data.symbols` is one of backtesting.py's samples, read from `backtesting/test/` of the
    installed package (`pip install backtesting`; the `test` extra installs it); nothing of the package is
    imported."""

    def __init__(self, *, symbols: list[str]) -> None:
        unknown = [symbol for symbol in symbols if symbol not in SAMPLES]
        if unknown:
            raise ConfigError("symbols", f"backtesting.py ships samples of {', '.join(SAMPLES)}; found "
                                         f"{', '.join(map(repr, unknown))}")
        super().__init__(symbols=symbols, file_path=str(_samples_folder() / "{symbol}.csv"))


def _samples_folder() -> Path:
    spec = importlib.util.find_spec("backtesting")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("source", "reads backtesting.py's sample files, and backtesting.py is not installed: "
                                    "pip install backtesting (or install multifolio with its test extra)")
    return Path(next(iter(spec.submodule_search_locations))) / "test"

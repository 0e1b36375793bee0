"""A finished run as Python objects: DataFrames and Series for a notebook, the report's figures, the files.

`Result` wraps what the run produced in memory; nothing here computes a figure of its own: the metrics,
the summary and the figures are those the files and the HTML reports hold, from the same functions.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from multifolio.reports.catalogue import TABLE_FIGURES
from multifolio.reports.html import combined_figures, combined_page_parts, system_figures, traded_symbols
from multifolio.reports.writers import book_of, indicator_frame
from multifolio.running.run import RunOutcome, write_run
from multifolio.trading.system import SystemResult
from multifolio.wording import counted

__all__ = ["Result", "SystemOutcome"]

_HEADLINE = {"system": "equity", "combined": "equities-normalised"}  # what plot() shows without a name


class SystemOutcome:
    """One system of a run: its tables as DataFrames (the columns of its CSV files), its figures as a Series."""

    def __init__(self, result: SystemResult, metrics: Mapping[str, Any] | None, outcome: RunOutcome,
                 bars: Callable[[], pd.DataFrame]) -> None:
        self._result = result
        self._outcome = outcome
        self._bars = bars  # the run's bars as one frame, built once for every system's price charts
        self.name = result.name
        self.status = result.status  # completed, interrupted or failed
        self.error = result.error or None  # a failed system's traceback
        self.failed_at = result.failed_at or None
        self.metrics = pd.Series(dict(metrics or {}), name=self.name, dtype=object if not metrics else None)
        self.halts = [halt.as_dict() for halt in result.halts]  # each halt: time, bar, reason, action, detail…
        # the halt that stopped it for good (a flatten: a halting limit, the bankruptcy floor), None if none did
        self.stopped = None if result.stopped is None else result.stopped.as_dict()
        self.last_bar = result.last_bar  # the index of the last bar it finished

    @property
    def trades(self) -> pd.DataFrame:
        """Closed trades, as trades.csv holds them."""
        return self._kept(self._result.trades, "trades.csv")

    @property
    def orders(self) -> pd.DataFrame:
        """Every order with its state changes, as orders.csv holds them."""
        return self._kept(self._result.orders, "orders.csv")

    def _kept(self, table: pd.DataFrame, file: str) -> pd.DataFrame:
        if self._result.tables_let_go:
            where = self._outcome.folder / self.name / file if self._outcome.folder else file
            raise ValueError(f"{self.name}'s tables were let go once its folder was written (keep_tables=False): "
                             f"read {where}")
        return table

    @cached_property
    def equity(self) -> pd.DataFrame:
        """Cash, position value and equity at every bar's close, as equity.csv holds them (empty if failed)."""
        return self._result.equity

    @cached_property
    def positions(self) -> pd.DataFrame:
        """The quantity held of each symbol at every bar's close, indexed by time (empty if failed)."""
        steps = self._result.equity_steps
        return pd.DataFrame() if steps is None else steps.positions()

    @cached_property
    def indicators(self) -> pd.DataFrame:
        """The indicator values the system used, per bar and symbol, as indicators.parquet holds them."""
        return indicator_frame(self._result, self._outcome.market)

    def figures(self) -> dict[str, Any]:
        """The system report's plotly figures by name: `equity`, `price-0`… (a symbol traded each),
        `periods`, `trade-returns`."""
        if self.status == "failed":
            raise ValueError(f"{self.name} failed ({self.failed_at}): it has no figures; see .error")
        figures = system_figures(self.equity, self.trades, self._bars(), self.indicators,
                                 list(self._result.indicators), traded_symbols(self.orders),
                                 self._result.open_lots, self.metrics["initial_capital"])
        return {key.removeprefix("fig-"): figure for key, figure in figures.items()}

    def plot(self, figure: str = _HEADLINE["system"]) -> Any:
        """One figure of the system's report (a plotly Figure, shown inline in a notebook); names: `figures()`."""
        return _pick(self.figures(), figure)

    def __repr__(self) -> str:
        shown = "" if self.status == "failed" else f", final equity {self.metrics.get('final_equity', float('nan')):,.2f}"
        trades = int(self.metrics["num_trades"]) if self._result.tables_let_go else len(self.trades)
        return f"<multifolio system {self.name!r}: {self.status}{shown}, {counted(trades, 'trade')}>"

    def _repr_html_(self) -> str:
        return _table_html({self.name: self.metrics}, f"{html.escape(self.name)}: {self.status}")


class Result:
    """A run's results: `systems[name]` (its trades, equity, orders, positions, metrics), `summary` (the figures
    side by side), `combined_equity`, `correlation`, `sweeps` (each sweep's leaderboard); `write(dir)` writes the
    files the command line writes; `plot()` and `figures()` give the combined report's figures."""

    def __init__(self, outcome: RunOutcome) -> None:
        self._outcome = outcome
        self.status = outcome.status  # completed, interrupted or failed (a system failed), as manifest.json
        self.folder = outcome.folder  # where the files are, None until written
        bars = cache(outcome.market.frame)  # a million bars' frame: built on the first chart, then shared
        self.systems: dict[str, SystemOutcome] = {
            result.name: SystemOutcome(result, outcome.metrics.get(result.name), outcome, bars)
            for result in outcome.results}

    @property
    def name(self) -> str:
        return self._outcome.config.workflow.name

    @property
    def metrics(self) -> dict[str, dict[str, Any]]:
        """Each system's figures as performance.json holds them (systems that did not fail)."""
        return self._outcome.metrics

    @property
    def dropped(self) -> dict[str, int]:
        """The rows `data.on_invalid: drop` left out of the data, by the rule each broke (as manifest.json
        lists them); empty when none was."""
        return dict(self._outcome.market.dropped)

    @property
    def reversed_files(self) -> tuple[str, ...]:
        """The data files written newest first, read in time order (as manifest.json's `data.reversed`)."""
        return self._outcome.market.reversed_files

    @property
    def summary_document(self) -> dict[str, Any] | None:
        """combined_summary.json's content (None when the config turns the summary off)."""
        return self._outcome.summary

    @cached_property
    def summary(self) -> pd.DataFrame:
        """The figures side by side: a row per system that did not fail, and `combined` (the whole book) when
        there is a summary; a column per figure (scalars only)."""
        rows = {name: _scalars(metrics) for name, metrics in self.metrics.items()}
        if self._outcome.summary is not None:
            rows["combined"] = _scalars(self._outcome.summary["combined"])
        return pd.DataFrame.from_dict(rows, orient="index")

    @cached_property
    def combined_equity(self) -> pd.DataFrame:
        """Each system's equity side by side (the book's reserve with an allocation) and their sum, `combined`,
        indexed by time: combined_equity.csv."""
        combined = self._outcome.combined
        return pd.DataFrame() if combined is None else combined.frame().set_index("timestamp")

    @cached_property
    def correlation(self) -> pd.DataFrame:
        """The correlation of the systems' returns per bar (daily: `correlation_daily`)."""
        return self._matrix("bar")

    @cached_property
    def correlation_daily(self) -> pd.DataFrame:
        return self._matrix("daily")

    @cached_property
    def sweeps(self) -> dict[str, pd.DataFrame]:
        """Each swept entry's leaderboard by name, best first by `reporting.sweep_metric` (the report's ranking,
        the figure's better direction): indexed by rank, the system, its swept values and the figure (NaN where
        it has none); empty without a sweep. `summary` holds every figure of each system."""
        section = (self._outcome.summary or {}).get("sweeps")
        if section is None:
            return {}
        metric = section["metric"]
        # an optuna search's rows also say the trial and batch that ran each system
        return {group["entry"]: pd.DataFrame(
            [{"system": row["system"], **row["values"], metric: row["value"],
              **{key: row[key] for key in ("trial", "batch") if key in row}} for row in group["leaderboard"]],
            index=pd.Index([row["rank"] for row in group["leaderboard"]], name="rank"))
            for group in section["groups"]}

    @cached_property
    def walk_forward(self) -> dict[str, pd.DataFrame]:
        """Each walk-forward study by its entry's name: a row per window (its training and test spans, the
        combination chosen, the figure in and out of sample, the choice's rank out of sample among
        `candidates`); `.attrs` holds the verdict, the one-line summary and the out-of-sample figures. The
        stitched system is `systems['<entry>.walk_forward']`. Empty without a study."""
        studies = {}
        for result in self._outcome.results:
            record = result.walk_forward
            if record is None:
                continue
            rows = [{key: value for key, value in row.items() if key not in ("window", "values")} | row["values"]
                    for row in record["windows"]]
            frame = pd.DataFrame(rows, index=pd.Index([row["window"] for row in record["windows"]], name="window"))
            frame.attrs.update({key: record[key] for key in ("verdict", "summary", "figure", "in_sample",
                                                             "out_of_sample", "retained", "top_half",
                                                             "out_of_sample_figures")})
            studies[record["entry"]] = frame
        return studies

    @cached_property
    def overfitting(self) -> dict[str, dict[str, Any]]:
        """Each swept entry's overfitting figures by name: `deflated_sharpe` and `pbo` (probability of backtest
        overfitting), each a dict whose `value` is None with a `reason` when it cannot be computed; empty
        without a sweep."""
        section = (self._outcome.summary or {}).get("sweeps") or {}
        return {group["entry"]: group["overfitting"] for group in section.get("groups", [])}

    @property
    def transfers(self) -> pd.DataFrame:
        """The book's cash transfers between systems, as transfers.csv (empty without an allocation)."""
        return self._book_table("transfers")

    @property
    def rebalances(self) -> pd.DataFrame:
        """Each rebalance of the allocation: its target weights and cause, as allocation.csv."""
        return self._book_table("rebalances")

    @property
    def book_events(self) -> pd.DataFrame:
        """Each limit hit on all the books and each system started or retired, as book_events.csv."""
        return self._book_table("events")

    def write(self, output_dir: str | Path) -> Path:
        """Write the run's folder in `output_dir`: the files the command line writes for this run, reports
        included; returns the folder."""
        self.folder = write_run(self._outcome, output_dir)
        return self.folder

    def figures(self) -> dict[str, Any]:
        """The combined report's plotly figures by name: `equities`, `equities-normalised`, `drawdowns`, `book`,
        `correlation-bar`, `correlation-daily`, `allocation` with an allocation, and per sweep N `sweep-N-heatmap`
        (two swept keys) and `sweep-N-parameter-K` (the sweep's figure against its K-th key), per walk-forward
        study N `walk-forward-N` (its figure in and out of sample, window by window)."""
        summary = self._outcome.summary
        if summary is None:
            raise ValueError("this run has no combined summary (reporting.combined_summary is false, or every "
                             "system failed)")
        book = book_of(self._outcome.results)
        transfers = None if book is None or "allocation" not in summary.get("book", {}) else book.transfers
        figures = combined_figures(summary, self._outcome.combined.frame(combined_page_parts(summary)), transfers)
        return {key.removeprefix("fig-"): figure for key, figure in figures.items()}

    def plot(self, figure: str = _HEADLINE["combined"]) -> Any:
        """One figure of the combined report (a plotly Figure); names: `figures()`. The default compares the
        systems' growth, each from its own capital."""
        return _pick(self.figures(), figure)

    def _book_table(self, table: str) -> pd.DataFrame:
        book = book_of(self._outcome.results)
        return pd.DataFrame() if book is None else getattr(book, table)

    def _matrix(self, frequency: str) -> pd.DataFrame:
        summary = self._outcome.summary
        if summary is None:
            return pd.DataFrame()
        return pd.DataFrame(summary["correlation"][frequency]).astype(float)

    def __repr__(self) -> str:
        return (f"<multifolio.Result {self.name!r}: {self.status}, {counted(len(self.systems), 'system')}"
                + (f", written to {self.folder}" if self.folder else "") + ">")

    def _repr_html_(self) -> str:
        rows = {name: pd.Series(metrics) for name, metrics in self.metrics.items()}
        if self._outcome.summary is not None and len(rows) > 1:
            rows["combined"] = pd.Series(self._outcome.summary["combined"])
        failed = [name for name, system in self.systems.items() if system.status == "failed"]
        title = f"{html.escape(self.name)}: {self.status}" + (
            f" ({', '.join(html.escape(name) for name in failed)} failed)" if failed else "")
        return _table_html(rows, title)


def _scalars(metrics: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in metrics.items() if not isinstance(value, (dict, list))}


def _pick(figures: Mapping[str, Any], name: str) -> Any:
    if name not in figures:
        raise KeyError(f"no figure {name!r}; expected one of {', '.join(figures)}")
    return figures[name]


def _table_html(rows: Mapping[str, Mapping[str, Any]], title: str) -> str:
    """The compact table a notebook shows: the terminal table's figures, formatted as the reports format them."""
    head = "".join(f"<th>{html.escape(figure.label)}</th>" for figure in TABLE_FIGURES)
    body = "".join(
        f"<tr><th>{html.escape(str(name))}</th>"
        + "".join(f"<td>{html.escape(figure.text(metrics.get(figure.key)))}</td>" for figure in TABLE_FIGURES)
        + "</tr>" for name, metrics in rows.items())
    return (f"<div><strong>{title}</strong><table><thead><tr><th></th>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table></div>")


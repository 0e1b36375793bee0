"""HTML reports from a run folder's saved files: <system>/report.html and combined_summary.html.

A page is drawn from the files the run wrote, so `multifolio report RESULTS_DIR` gives the
same bytes as the run itself; the run hands over its largest frames (the bars, each system's
equity and indicators, the combined equity) as they are in memory rather than have them read back,
the same values (the tests compare the pages byte for byte): it draws each system's page as it
writes the system's folder, from the frames made for its files. No wall-clock time goes in; plot
divs have fixed ids, so the same files always render to the same HTML.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from multifolio.errors import MultifolioError
from multifolio.files import atomic_write_text
from multifolio.reports import charts
from multifolio.reports.catalogue import CATALOGUE, format_metric
from multifolio.reports.metrics import time_weighted_curve
from multifolio.reports.sweep_report import (
    leaderboards,
    sweep_figures,
    walk_forward_figures,
    walk_forward_tables,
)
from multifolio.trading.frames import TRADE_COLUMNS

PLOTLY_FILE = "plotly.min.js"  # once per run folder: 4.8 MB, shared by every report of the run
# in place of each chart when the page's plotly script did not load (the page was copied out of its folder)
MISSING_SCRIPT = ("This chart is drawn by {src}, which did not load: keep the run folder together (the page "
                  "reads the script from it), or run with reporting.standalone: true for pages that carry it.")
TRADE_ROWS_LIMIT = 10_000  # trades listed in the page; trades.csv always has them all
PERIOD_ROWS_LIMIT = 2_000
# systems given a column of the metrics table and a line in the equity and drawdown charts, the first in
# config order: ten columns fit the page's width, ten lines stay apart (combined_summary.json has them all)
SHOWN_SYSTEMS_LIMIT = 10
BOOK_ROWS_LIMIT = 1_000  # transfers, rebalances and the book's events listed on the combined page (CSVs: all)

_ENVIRONMENT = jinja2.Environment(loader=jinja2.PackageLoader("multifolio.reports", "templates"),
                                  autoescape=jinja2.select_autoescape(["html"]), undefined=jinja2.StrictUndefined,
                                  trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def metric_rows(columns: Mapping[str, Mapping[str, Any]], ranked: Iterable[str] = ()) -> list[dict[str, Any]]:
    """One row per figure, one cell per column; the best of the `ranked` columns is marked."""
    ranked = list(ranked)
    rows = []
    for figure in CATALOGUE:
        if not any(figure.key in metrics for metrics in columns.values()):
            continue
        best = figure.best({name: columns[name].get(figure.key) for name in ranked})
        cells = [{"column": name, "value": metrics.get(figure.key), "text": figure.text(metrics.get(figure.key)),
                  "best": name in best} for name, metrics in columns.items()]
        rows.append({"key": figure.key, "label": figure.label, "cells": cells})
    return rows


def _spec(spec: Mapping[str, Any]) -> str:
    """`{type: fixed, params: {size: 10}}` → 'fixed(size=10)'."""
    return f"{spec['type']}({', '.join(f'{name}={value}' for name, value in spec['params'].items())})"


def config_items(config: Mapping[str, Any], indicators: Iterable[str]) -> list[tuple[str, str]]:
    """The system's configuration as (label, text) pairs for the report's header."""
    portfolio, risk, execution = config["portfolio"], config["risk"], config["execution"]
    return [
        ("Strategy", _spec(config["strategy"])),
        ("Initial capital", format_metric(portfolio["initial_capital"], "money")),
        ("Indicators", ", ".join(indicators) or "none"),
        ("Position sizers", ", ".join(_spec(s) for s in risk["position_sizers"])),
        ("Risk limits", ", ".join(_spec(s) for s in risk["limits"]) or "none"),
        ("Lot size", f"{risk['lot_size']:g}" if risk["lot_size"] else "any fraction"),
        ("Slippage", _spec(execution["slippage"])),
        ("Commission", _spec(execution["commission"])),
        ("Fills at", execution["fill_at"].replace("_", " ")),
        ("At the end", "positions closed" if portfolio["close_at_end"]
         else "positions kept open, valued at the last close"),
        ("Namespace", portfolio["namespace"]),
    ]


def _figures_script(figures: Mapping[str, go.Figure]) -> str:
    """The figures as one JS object keyed by their fixed div ids (plotly's JSON escapes '</'). Always the standard
    library's encoder: plotly takes orjson when it is installed, which escapes other characters (a page's bytes
    would depend on the machine) and keeps every object array it serializes (orjson issue 422: a system's trade
    markers, a megabyte a page, never freed)."""
    return "{" + ",".join(f"{json.dumps(div)}:{figure.to_json(engine='json')}" for div, figure in figures.items()) + "}"


def _json_script(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")


@functools.cache
def _plotly_js() -> str:
    return get_plotlyjs()


def _render(template: str, path: Path, plotly_src: str, standalone: bool, **context: Any) -> Path:
    """The page at `path`; its plotly script read from `plotly_src` or, `standalone`, written into it."""
    return atomic_write_text(path, _ENVIRONMENT.get_template(template).render(
        plotly_src=plotly_src, plotly_inline=_plotly_js() if standalone else None,
        missing_script=MISSING_SCRIPT.format(src=plotly_src), **context))


def _times(text: pd.Series, zone: str | None) -> pd.Series:
    """Timestamps read back from their text; in the run's `zone`, whose UTC offset daylight saving time
    changes within a column (parsed apart, the offsets would not make one column)."""
    if zone is None:
        return pd.to_datetime(text)
    return pd.to_datetime(text, utc=True).dt.tz_convert(zone)


def _read_csv(path: Path, times: Iterable[str], zone: str | None, columns: Callable[[str], bool] | None = None
              ) -> pd.DataFrame:
    frame = pd.read_csv(path, usecols=columns)
    for column in times:  # explicitly: an empty column would otherwise stay text
        frame[column] = _times(frame[column], zone)
    return frame


def _trade_rows(trades: pd.DataFrame) -> list[list[Any]]:
    """The trade list's first rows as compact JSON arrays (times to the second, numbers as floats)."""
    shown = trades.head(TRADE_ROWS_LIMIT)
    columns = [np.arange(1, len(shown) + 1), shown["symbol"].astype(str), shown["side"].astype(str),
               shown["quantity"], shown["entry_time"].dt.strftime("%Y-%m-%d %H:%M:%S"), shown["entry_price"],
               shown["exit_time"].dt.strftime("%Y-%m-%d %H:%M:%S"), shown["exit_price"], shown["bars_held"],
               shown["net_pnl"], shown["return_pct"], shown["exit_reason"].astype(str), shown["mae"], shown["mfe"]]
    # each column as Python values at once (tolist), not a numpy or arrow scalar per cell
    return [list(row) for row in zip(*(column.tolist() for column in columns))]


def _own_file(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


# what the combined page reads beyond the first version's combined_summary.json
_SUMMARY_KEYS = {"correlation": ("mean", "matrix_systems"),
                 "opposing_positions": ("pairs_total", "pairs_with_any", "pairs_listed", "pairs_limit",
                                        "periods_of_listed_pairs", "periods_listed", "periods_limit")}


def _written_by_this_version(path: Path, missing: Iterable[str]) -> None:
    """A results file from another version of multifolio lacks what this one's pages read: say so (exit 2),
    rather than fail on the first missing key as a bug would."""
    missing = sorted(missing)
    if missing:
        raise MultifolioError(f"{path}: written by another version of multifolio (it has no {', '.join(missing)}); "
                              "run the backtest again to render its report")


def system_figures(equity: pd.DataFrame, trades: pd.DataFrame, bars: pd.DataFrame, indicators: pd.DataFrame,
                   keys: Sequence[str], traded: Sequence[str], open_lots: pd.DataFrame, initial_capital: float
                   ) -> dict[str, go.Figure]:
    """A system's report figures by their ids: its equity, a price chart per symbol it traded (its indicators,
    trades and open lots on it), its period returns, its trades' returns."""
    earned = None
    if "transfers" in equity:  # the book moved capital: the figures show what the system earned on it
        earned = pd.Series(time_weighted_curve(equity["equity"].to_numpy(), 0.0, equity["transfers"].to_numpy())
                           * initial_capital)
    figures = {"fig-equity": charts.equity_figure(equity, initial_capital, earned)}
    seen = bars["timestamp"] <= equity["timestamp"].iloc[-1]  # an interrupted run stopped before the last bar
    for number, symbol in enumerate(traded):
        figures[f"fig-price-{number}"] = charts.price_figure(
            symbol, _rows(bars, (bars["symbol"] == symbol) & seen), _rows(indicators, indicators["symbol"] == symbol),
            keys, trades[trades["symbol"] == symbol], open_lots[open_lots["symbol"] == symbol])
    figures["fig-periods"] = charts.period_returns_figure(
        equity if earned is None else equity.assign(equity=earned), initial_capital)
    figures["fig-trade-returns"] = charts.trade_returns_figure(trades)
    return figures


def _rows(frame: pd.DataFrame, mask: pd.Series) -> pd.DataFrame:
    """The rows of `frame` where `mask` holds, numbered from 0; `frame` itself when that is every row (a
    million bars of one symbol are not copied to draw them)."""
    return frame if mask.all() else frame[mask].reset_index(drop=True)


def traded_symbols(orders: pd.DataFrame) -> list[str]:
    """The symbols of a system's filled orders, sorted: those its report charts."""
    return sorted(orders.loc[orders["status"] == "filled", "symbol"].astype(str).unique())  # not a loop per order


def render_system(folder: Path, bars: pd.DataFrame, standalone: bool = False, zone: str | None = None,
                  equity: pd.DataFrame | None = None, indicators: pd.DataFrame | None = None) -> Path:
    """`folder`/report.html from the system's saved files and the run's bars (`standalone`: with the plotly
    script in the page; `zone`: the bars' time zone; `equity`, `indicators`: equity.csv's and indicators.parquet's
    frames, when still in memory)."""
    document = json.loads((folder / "performance.json").read_text())
    metrics = document["metrics"]
    if equity is None:
        equity = _read_csv(folder / "equity.csv", ["timestamp"], zone)
    trades = _read_csv(folder / "trades.csv", ["entry_time", "exit_time"], zone)
    _written_by_this_version(folder / "trades.csv", set(TRADE_COLUMNS) - set(trades.columns))
    orders = pd.read_csv(folder / "orders.csv", usecols=["symbol", "status"], dtype=str)
    keys = list(document["indicators"])
    open_lots = pd.DataFrame(document["open_lots"], columns=["symbol", "quantity", "entry_time", "entry_price"])
    open_lots["entry_time"] = _times(open_lots["entry_time"], zone)
    if indicators is None:
        indicators = pd.read_parquet(folder / "indicators.parquet")
    figures = system_figures(equity, trades, bars, indicators, keys,
                             traded_symbols(orders), open_lots, metrics["initial_capital"])
    stamps = pd.DatetimeIndex(equity["timestamp"])
    return _render(
        "system.html", folder / "report.html", f"../{PLOTLY_FILE}", standalone, title=document["system"],
        config=config_items(document["config"], keys), figures=_figures_script(figures), figure_ids=list(figures),
        metrics=metric_rows({"value": metrics}), first=stamps[0], last=stamps[-1], bars=len(stamps),
        symbols=sorted(bars["symbol"].astype(str).unique()), open_positions=document["open_positions"],
        halts=document.get("halts", []),  # results of an earlier version have none
        trades=_json_script(_trade_rows(trades)), trade_count=len(trades), trade_limit=TRADE_ROWS_LIMIT)


def combined_figures(summary: Mapping[str, Any], book: pd.DataFrame, transfers: pd.DataFrame | None
                     ) -> dict[str, go.Figure]:
    """The combined page's figures by their ids, from the run's summary, its combined equity and (with an
    allocation) the book's transfers; with a sweep, its heatmap and parameter plots (`sweep_figures`)."""
    systems = summary["systems"]
    shown = list(systems)[:SHOWN_SYSTEMS_LIMIT]
    capital = {name: metrics["initial_capital"] for name, metrics in systems.items()}
    earned = _time_weighted(book, transfers, capital)  # what each system earned, the capital moved left out
    figures = {
        "fig-equities": charts.equities_figure(book, capital, shown, normalised=False),
        "fig-equities-normalised": charts.equities_figure(earned, capital, shown, normalised=True),
        "fig-drawdowns": charts.drawdowns_figure(earned, shown),
        "fig-book": charts.book_figure(book),
        "fig-correlation-bar": charts.correlation_figure(summary["correlation"]["bar"],
                                                         "Correlation of returns per bar"),
        "fig-correlation-daily": charts.correlation_figure(summary["correlation"]["daily"],
                                                           "Correlation of daily returns"),
    }
    coupling = summary.get("book")
    if coupling and "allocation" in coupling:
        figures["fig-allocation"] = charts.allocation_figure(book, coupling["allocation"]["systems"])
    figures.update(sweep_figures(summary.get("sweeps")))
    figures.update(walk_forward_figures(summary.get("walk_forward")))
    return figures


def combined_page_parts(summary: Mapping[str, Any]) -> list[str]:
    """The columns of combined_equity.csv, besides `timestamp` and `combined`, that the combined page draws: the
    shown systems', and with an allocation its systems' and the book's reserve."""
    allocation = (summary.get("book") or {}).get("allocation")
    allocated = [*allocation["systems"], "reserve"] if allocation else []
    return list(dict.fromkeys([*list(summary["systems"])[:SHOWN_SYSTEMS_LIMIT], *allocated]))


def render_combined(folder: Path, standalone: bool = False, zone: str | None = None,
                    book: pd.DataFrame | None = None) -> Path:
    """`folder`/combined_summary.html from combined_summary.json and combined_equity.csv (`standalone`: with
    the plotly script in the page; `zone`: the bars' time zone; `book`: combined_equity.csv's frame, when still
    in memory)."""
    summary = json.loads((folder / "combined_summary.json").read_text())
    _written_by_this_version(folder / "combined_summary.json",
                             [f"{part}.{key}" for part, keys in _SUMMARY_KEYS.items() for key in keys
                              if key not in summary.get(part, {})])
    if book is None:
        drawn = {"timestamp", *combined_page_parts(summary), "combined"}  # of a thousand systems' columns, a few
        book = _read_csv(folder / "combined_equity.csv", ["timestamp"], zone, columns=lambda name: name in drawn)
    systems = summary["systems"]
    shown = list(systems)[:SHOWN_SYSTEMS_LIMIT]
    combined = summary["combined"]
    coupling = summary.get("book")
    moved = _read_csv(folder / coupling["files"]["transfers"], ["timestamp"], zone) if coupling else None
    figures = combined_figures(summary, book, moved)
    opposing = summary["opposing_positions"]
    stamps = pd.DatetimeIndex(book["timestamp"])
    has_report = {name: (folder / name / "report.html").exists() for name in systems}
    halts = summary.get("halts", {})
    # a system that went bankrupt lost everything: whatever its ratios read, it is never the best of a row
    bankrupt = [name for name, stops in halts.items() if any(halt["reason"] == "bankruptcy" for halt in stops)]
    book_section = _book_section(folder, coupling, moved) if coupling else None
    return _render(
        "combined.html", folder / "combined_summary.html", PLOTLY_FILE, standalone, title=summary["run"],
        systems=list(systems), shown=shown, has_report=has_report, figures=_figures_script(figures),
        figure_ids=list(figures), metrics=metric_rows({**{name: systems[name] for name in shown}, "combined": combined},
                                                      ranked=[name for name in shown if name not in bankrupt]),
        halts=halts, bankrupt=[name for name in shown if name in bankrupt],
        pnl=combined["pnl_by_system"], contribution=combined["drawdown_contribution"],
        correlation=summary["correlation"], opposing=opposing, periods=opposing["periods"][:PERIOD_ROWS_LIMIT],
        period_limit=PERIOD_ROWS_LIMIT, first=stamps[0], last=stamps[-1], bars=len(stamps),
        format_metric=format_metric, book=book_section, leaderboards=leaderboards(summary.get("sweeps"), systems),
        walk_forwards=walk_forward_tables(summary.get("walk_forward")))


def _time_weighted(book: pd.DataFrame, transfers: pd.DataFrame | None, capital: Mapping[str, float]
                   ) -> pd.DataFrame:
    """The combined equity with each system the book moved capital in and out of as its time-weighted curve
    (in units of its first capital), so that a normalised line shows what it earned, not what it was given."""
    if transfers is None or transfers.empty:
        return book
    book = book.copy()
    for name, moved in transfers.groupby("system"):
        if name not in book or not capital.get(name):
            continue
        per_bar = np.zeros(len(book))
        bars = moved["bar"].to_numpy()
        inside = bars < len(book)
        np.add.at(per_bar, bars[inside], moved["amount"].to_numpy()[inside])
        values = book[name].to_numpy(dtype=np.float64)
        book[name] = time_weighted_curve(values, 0.0, per_bar) * capital[name]
    return book


def _book_section(folder: Path, coupling: Mapping[str, Any], transfers: pd.DataFrame) -> dict[str, Any]:
    """What the combined page says of the book: its allocation, transfers, rebalances and events (limit hits,
    systems started and retired)."""
    rebalances = pd.read_csv(folder / coupling["files"]["rebalances"])
    events = pd.read_csv(folder / coupling["files"]["events"], dtype={"system": str}).fillna("")
    return {"allocation": None, **coupling, "transfer_rows": transfers.head(BOOK_ROWS_LIMIT).to_dict("records"),
            "rebalance_rows": rebalances.head(BOOK_ROWS_LIMIT).to_dict("records"),
            "rebalance_columns": [column for column in rebalances.columns if column not in ("bar", "timestamp",
                                                                                             "cause")],
            "event_rows": events.head(BOOK_ROWS_LIMIT).to_dict("records"), "row_limit": BOOK_ROWS_LIMIT,
            "transfer_count": len(transfers), "rebalance_count": len(rebalances), "event_count": len(events)}


def write_plotly_js(folder: Path) -> Path:
    """plotly.min.js beside the reports, rewritten only when it differs (another plotly version)."""
    path = folder / PLOTLY_FILE
    script = get_plotlyjs()
    if not path.exists() or path.read_text(encoding="utf-8") != script:
        atomic_write_text(path, script)
    return path


def render_run(folder: str | Path, combined: pd.DataFrame | None = None, systems: bool = True) -> list[Path]:
    """Every report a run folder's files allow: each system's report.html, then combined_summary.html; with
    plotly.min.js beside them, or inside each page when the manifest says the run's reports are standalone.
    `combined`: combined_equity.csv's frame, from the run that has just written it; `systems`: False when that
    run has drawn each system's page as it wrote the system's folder (`render_system`), so only plotly.min.js
    and the combined page are left.

    Only the systems the run's manifest lists are rendered, and nothing reached through a symbolic
    link: a folder someone linked or copied into the run folder is not the run's, and its report would
    be written outside it.
    """
    folder = Path(folder)
    manifest = folder / "manifest.json"
    if not manifest.is_file() or manifest.is_symlink():
        return []
    document = json.loads(manifest.read_text())
    listed = document["systems"]
    standalone = document.get("reports", {}).get("standalone", False)  # an earlier version's: never
    zone = document.get("data", {}).get("timezone")  # an earlier version's: naive, or one offset throughout
    performances = [folder / name / "performance.json" for name in sorted(listed)]
    # a failed system's folder has no equity or trades to show (its performance.json says why)
    folders = [path.parent for path in performances if _own_file(path) and not path.parent.is_symlink()
               and json.loads(path.read_text())["status"] != "failed"]
    has_summary = _own_file(folder / "combined_summary.json")
    if not folders and not has_summary:
        return []
    pages = [] if standalone else [write_plotly_js(folder)]
    if folders and systems:
        bars = pd.read_parquet(folder / "bars.parquet")
        pages += [render_system(system, bars, standalone, zone) for system in folders]
    if has_summary:
        pages.append(render_combined(folder, standalone, zone, combined))
    return pages

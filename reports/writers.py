"""Result files: per system trades.csv, equity.csv, orders.csv, performance.json, indicators.parquet;
the run's bars.parquet and the combined summary."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import attrs
import numpy as np
import pandas as pd
import pyarrow as pa

from multifolio.book.book import BookResult
from multifolio.data.market import MarketData
from multifolio.files import atomic_write, atomic_write_text
from multifolio.memory import freed_memory_handed_back
from multifolio.reports.analysis import correlations, drawdown_contributions
from multifolio.reports.benchmark import benchmark_metrics
from multifolio.reports.combined import COMBINED, CombinedBook, GrowthCurves
from multifolio.reports.csv_text import write_csv_bytes
from multifolio.reports.leaderboard import sweep_summary
from multifolio.reports.metrics import equity_metrics, trade_metrics
from multifolio.reports.opposing import opposing_positions
from multifolio.reports.overfitting import add_overfitting
from multifolio.trading.system import SystemResult


def performance(result: SystemResult, benchmark: pd.Series | None = None, equity: pd.DataFrame | None = None
                ) -> dict[str, Any]:
    """Every figure of one system: equity, risk and trade metrics plus its costs; with the `benchmark`'s closes
    (`reporting.benchmark`), its figures against it too. `equity`: the system's equity frame where the caller
    has drawn it already."""
    return figures_of(result.equity if equity is None else equity, result.trades, result.orders,
                      result.initial_capital, benchmark)


def figures_of(equity: pd.DataFrame, trades: pd.DataFrame, orders: pd.DataFrame, initial_capital: float,
               benchmark: pd.Series | None = None) -> dict[str, Any]:
    """The figures of `performance` from an equity frame (equity.csv's columns), its trades and orders and the
    capital before its first bar."""
    metrics = equity_metrics(equity["equity"], equity["timestamp"], initial_capital, equity["position_value"],
                             equity.get("transfers"))
    if benchmark is not None:
        metrics.update(benchmark_metrics(equity["equity"], equity["timestamp"], initial_capital, benchmark,
                                         equity.get("transfers")))
    metrics.update(trade_metrics(trades))
    # costs of every fill, those of orders only partly filled too
    metrics["total_commission"] = float(orders["commission"].sum())
    metrics["total_slippage"] = float(orders["slippage"].sum())
    metrics["orders_filled"] = int((orders["status"] == "filled").sum())
    metrics["orders_rejected"] = int((orders["status"] == "rejected").sum())
    metrics["orders_cancelled"] = int((orders["status"] == "cancelled").sum())
    return metrics


def sweep_group(result: SystemResult) -> str | None:
    """The swept entry a system belongs to: its sweep's, or the one its walk-forward chose from."""
    if result.spec.swept is not None:
        return result.spec.swept.group
    return None if result.walk_forward is None else result.walk_forward["entry"]


def book_of(results: Sequence[SystemResult]) -> BookResult | None:
    """The record of the book that coupled some of the systems, if any did."""
    return next((result.book for result in results if result.book is not None), None)


_PARQUET_BUFFER = 1 << 23  # bytes of a Parquet file written at a time
# the files a run with a book writes beside the systems' folders
BOOK_FILES = {"transfers": "transfers.csv", "rebalances": "allocation.csv", "events": "book_events.csv"}


def write_csv(path: Path, frame: pd.DataFrame) -> Path:
    """The bytes of `frame.to_csv(index=False)` with "\\n" line ends, formatted by pyarrow (a million-bar equity
    frame in a fraction of pandas' time)."""
    with freed_memory_handed_back():
        return atomic_write(path, lambda stream: write_csv_bytes(stream.buffer, frame))


def write_json(path: Path, document: Any) -> Path:
    return atomic_write_text(path, json.dumps(_json_safe(document), indent=2, allow_nan=False) + "\n")


def write_parquet(path: Path, frame: pd.DataFrame) -> Path:
    """Parquet keeps a million bars' full floats in a few MB, where CSV would take tens. Written through arrow's own
    buffer, 8 MB at a time: pyarrow writes to a Python file piece by piece, each piece taking the interpreter's lock,
    which bars.parquet, written on a thread of its own while the systems step, would wait for at every piece."""

    def write(stream: IO[str]) -> None:
        # to a duplicate of the file's descriptor: arrow closes its file when done, the original is then flushed to disk
        with os.fdopen(os.dup(stream.fileno()), "wb") as duplicate, \
                pa.output_stream(duplicate, buffer_size=_PARQUET_BUFFER) as sink:
            frame.to_parquet(sink, index=False)

    with freed_memory_handed_back():
        return atomic_write(path, write)


def write_bars(bars: pd.DataFrame, folder: Path) -> Path:
    """bars.parquet: the run's bars (timestamp, symbol, OHLCV), for the reports' price charts."""
    return write_parquet(folder / "bars.parquet", bars)


def indicator_frame(result: SystemResult, market: MarketData) -> pd.DataFrame:
    """The system's indicators up to its last bar: timestamp, symbol, one column per key."""
    return market.long_frame(result.indicator_values, result.last_bar)


def write_system(result: SystemResult, folder: Path, metrics: dict[str, Any], market: MarketData,
                 equity: pd.DataFrame | None = None, indicators: pd.DataFrame | None = None) -> Path:
    """The system's folder: trades.csv, equity.csv, orders.csv, performance.json, indicators.parquet.
    `equity`, `indicators`: the system's equity and indicator frames where the caller has made them already."""
    equity = result.equity if equity is None else equity
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(folder / "trades.csv", result.trades)
    write_csv(folder / "equity.csv", equity)
    write_csv(folder / "orders.csv", result.orders)
    write_parquet(folder / "indicators.parquet", indicator_frame(result, market) if indicators is None else indicators)
    write_json(folder / "performance.json", {
        "system": result.name,
        "namespace": result.namespace,
        "status": result.status,
        "last_bar": result.last_bar,
        "last_time": equity["timestamp"].iloc[-1],
        "metrics": metrics,
        "halts": [halt.as_dict() for halt in result.halts],
        # where the system stopped trading for good (a flatten), null when it traded to the end
        "stopped": None if result.stopped is None else {
            "time": result.stopped.timestamp, "bar": result.stopped.index, "reason": result.stopped.reason},
        "open_positions": dict(sorted(result.open_positions.items())),
        "open_lots": result.open_lots.to_dict("records"),
        "indicators": list(result.indicators),
        "config": result.spec.as_dict(),
    })
    return folder


def write_failed_system(result: SystemResult, folder: Path) -> Path:
    """A failed system's folder: performance.json saying where it failed, error.log with the traceback.
    No trades or equity: what it held when its plugin raised may be half-updated."""
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / "error.log", result.error)
    write_json(folder / "performance.json", {
        "system": result.name,
        "namespace": result.namespace,
        "status": "failed",
        "failed_at": result.failed_at,
        "error": result.error.strip().splitlines()[-1] if result.error else "",
        "log": "error.log",
        "config": result.spec.as_dict(),
    })
    return folder


def summarize(run_name: str, results: Sequence[SystemResult], metrics: dict[str, dict[str, Any]],
              sweep_metric: str = "sharpe", benchmark: tuple[str, pd.Series] | None = None
              ) -> tuple[dict[str, Any], CombinedBook]:
    """The run's summary (figures side by side, the combined book; each sweep's leaderboard by `sweep_metric`;
    what the book did) and the combined book it is computed from: what combined_summary.json and
    combined_equity.csv hold. `benchmark`: the symbol of `reporting.benchmark` and its closes, for the combined
    book's figures against it. Each system's curve is drawn when a figure needs it and let go after: no more
    than one is held at a time beside the returns being correlated."""
    coupling = book_of(results)
    book = CombinedBook(results, coupling)
    capital = sum(result.initial_capital for result in results)
    if coupling is not None:
        capital += coupling.capital
    combined, stamps = pd.Series(book.combined, name=COMBINED), pd.Series(book.timestamps, name="timestamp")
    growth = GrowthCurves(book, results)
    summary = {
        "run": run_name,
        "systems": {result.name: metrics[result.name] for result in results},
        "combined": {
            **equity_metrics(combined, stamps, capital),
            **(benchmark_metrics(combined, stamps, capital, benchmark[1]) if benchmark else {}),
            "num_trades": sum(metrics[r.name]["num_trades"] for r in results),
            "total_commission": sum(metrics[r.name]["total_commission"] for r in results),
            "total_slippage": sum(metrics[r.name]["total_slippage"] for r in results),
            "pnl_by_system": {r.name: pnl(metrics[r.name], r) for r in results},
            "drawdown_contribution": drawdown_contributions(book.combined, book.timestamps, book.parts, book.at),
        },
        "correlation": correlations(growth, growth.capital, growth.window()),
        # pairs of one sweep entry's variants are left out: they are one strategy at other settings
        "opposing_positions": opposing_positions({r.name: r.orders for r in results}, book.timestamps,
                                                 {r.name: group for r in results if (group := sweep_group(r))}),
        "combined_equity_file": "combined_equity.csv",
    }
    sweeps = sweep_summary([(r.name, r.spec.swept) for r in results], metrics, sweep_metric)
    if sweeps is not None:
        add_overfitting(sweeps, growth)
        summary["sweeps"] = sweeps
    studies = [r.walk_forward for r in results if r.walk_forward is not None]
    if studies:
        summary["walk_forward"] = studies
    halted = {r.name: [halt.as_dict() for halt in r.halts] for r in results if r.halts}
    if halted:  # every halt of every system, for the combined page (absent when none halted)
        summary["halts"] = halted
    if coupling is not None:
        summary["book"] = book_section(coupling)
    if benchmark is not None:
        summary["benchmark"] = benchmark[0]
    return summary, book


def write_summary(summary: dict[str, Any], book: CombinedBook, results: Sequence[SystemResult],
                  folder: Path) -> None:
    """combined_summary.json and combined_equity.csv (`summarize`'s two parts), and the book's files."""
    book.write_csv(folder / "combined_equity.csv")
    coupling = book_of(results)
    if coupling is not None:
        write_book(coupling, folder)
    write_json(folder / "combined_summary.json", summary)


def pnl(metrics: dict[str, Any], result: SystemResult) -> float:
    """What a system earned: its final equity less the capital it started with and the capital moved in."""
    return (metrics["final_equity"] - metrics["initial_capital"] - metrics.get("transfers_in", 0.0)
            + metrics.get("transfers_out", 0.0))


def write_book(book: BookResult, folder: Path) -> None:
    """transfers.csv, allocation.csv (each rebalance's target weights) and book_events.csv (each hit of a
    limit on all the books, each system started or retired)."""
    write_csv(folder / BOOK_FILES["transfers"], book.transfers)
    write_csv(folder / BOOK_FILES["rebalances"], book.rebalances)
    write_csv(folder / BOOK_FILES["events"], book.events)


def book_section(book: BookResult) -> dict[str, Any]:
    """What the book was and did, for combined_summary.json."""
    allocation = book.spec.allocation
    section: dict[str, Any] = {"systems": list(book.spec.coupled), "files": dict(BOOK_FILES),
                               "limits": attrs.asdict(book.spec.limits), "events": len(book.events),
                               "controller": book.spec.controller.describe() if book.spec.controller else None,
                               "stopped": book.error or None}
    if allocation is not None:
        section["allocation"] = {
            "capital": allocation.capital, "method": allocation.allocator.type, "parameters": allocation.allocator.params,
            "systems": list(allocation.systems), "every": allocation.every.describe() if allocation.every else None,
            "drift": allocation.drift, "lookback": allocation.lookback.describe(),
            "rebalances": len(book.rebalances), "transfers": len(book.transfers),
            "moved": float(book.transfers["amount"].abs().sum()), "reserve_at_end": float(book.reserve_series(
                len(book.timeline))[-1])}
    return section


def _json_safe(value: Any) -> Any:
    """Plain JSON: NaN and infinities become null, numpy and pandas scalars plain numbers."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value

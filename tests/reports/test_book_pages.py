"""What the files and pages of a run with a book say: the allocation, transfers, rebalances, events and
halts, and the same bytes again from the saved files."""

from __future__ import annotations

import json
import re

import pandas as pd
import yaml

from multifolio.config.registry import PluginRegistry
from multifolio.reports.html import render_run
from multifolio.running.run import run_backtest, validate_document
from tests.integration.test_golden import REPO


def portfolio(tmp_path, **changes):
    document = yaml.safe_load((REPO / "configs" / "portfolio_example.yaml").read_text())
    document["data"]["bars"] = 400
    document.update(changes)
    registry = PluginRegistry()
    return run_backtest(validate_document(document, registry), registry, output_dir=tmp_path)


def table_rows(page: str, table: str) -> int:
    body = re.search(f'<table id="{table}">.*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    return body.count("<tr>")


def test_the_book_writes_its_files_and_the_combined_page_shows_them(tmp_path):
    outcome = portfolio(tmp_path)
    folder = outcome.folder
    transfers = pd.read_csv(folder / "transfers.csv")
    rebalances = pd.read_csv(folder / "allocation.csv")
    summary = json.loads((folder / "combined_summary.json").read_text())
    book = summary["book"]
    assert book["allocation"]["transfers"] == len(transfers) and book["allocation"]["rebalances"] == len(rebalances)
    assert book["allocation"]["moved"] == transfers["amount"].abs().sum()
    # every system's equity.csv carries exactly its transfers; the combined book adds the reserve
    combined = pd.read_csv(folder / "combined_equity.csv")
    for name in ("trend", "momentum", "reversion"):
        equity = pd.read_csv(folder / name / "equity.csv")
        mine = transfers[transfers["system"] == name].groupby("bar")["amount"].sum()
        assert equity["transfers"][equity["transfers"] != 0].to_dict() == mine.to_dict()
        assert summary["systems"][name]["transfers_out"] == -mine[mine < 0].sum()
    parts = combined[["trend", "momentum", "reversion", "reserve"]].sum(axis=1)
    assert (combined["combined"] - parts).abs().max() < 1e-6
    # what the systems earned is what the book earned: the reserve earns nothing, transfers cancel out
    assert abs(combined["combined"].iloc[-1] - 300_000 - sum(summary["combined"]["pnl_by_system"].values())) < 1e-6
    page = (folder / "combined_summary.html").read_text()
    assert 'id="fig-allocation"' in page and "risk_parity" in page
    assert table_rows(page, "book-transfers") == len(transfers)
    assert table_rows(page, "book-rebalances") == len(rebalances)


def test_a_run_with_book_limits_only_and_its_halts_render_and_rerender_to_the_same_bytes(tmp_path):
    document = yaml.safe_load((REPO / "configs" / "portfolio_example.yaml").read_text())
    momentum = document["trading_systems"][1]
    momentum["risk"]["limits"] = [{"type": "max_drawdown", "value": 0.05}]
    outcome = portfolio(tmp_path, allocation=None, trading_systems=[
        {**system, "portfolio": {**system["portfolio"], "initial_capital": 100_000}}
        for system in document["trading_systems"][:1] + [momentum]])
    folder = outcome.folder
    summary = json.loads((folder / "combined_summary.json").read_text())
    assert "allocation" not in summary["book"] and not (folder / "transfers.csv").read_text().strip().count("\n")
    [halt] = summary["halts"]["momentum"]
    assert halt["reason"] == "max_drawdown" and halt["action"] == "flatten"
    page = (folder / "combined_summary.html").read_text()
    assert table_rows(page, "halts-table") == 1 and 'id="fig-allocation"' not in page
    before = {path.relative_to(folder): path.read_bytes() for path in folder.rglob("*.html")}
    render_run(folder)
    assert {path.relative_to(folder): path.read_bytes() for path in folder.rglob("*.html")} == before

"""A run that lets each system's trades and orders go once its folder is written (`keep_tables=False`, the
command line's run): the same files to the byte as a run that keeps them, and a result that keeps every figure
and says where the tables went."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import multifolio
from multifolio.errors import MultifolioError
from multifolio.protocols import Direction, Strategy
from multifolio.reports.book_fills import FILL_COLUMNS
from multifolio.running.run import tables_let_go
from tests.builders import backtest_config, files_of, run_in_memory, system_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


class BreaksAtBar(Strategy):
    """Long at once; raises on its 40th bar (the system fails there, its neighbours go on)."""

    def __init__(self) -> None:
        self.bars = 0

    def on_bar(self, bar, values):
        self.bars += 1
        if self.bars == 40:
            raise RuntimeError("the strategy's own bug")
        return Direction.LONG


def kept_and_lean(config, tmp_path: Path, **load) -> tuple[multifolio.Result, multifolio.Result]:
    kept = multifolio.load(config, **load).run(output_dir=tmp_path / "kept")
    lean = multifolio.load(config, **load).run(output_dir=tmp_path / "lean", keep_tables=False)
    return kept, lean


# a sweep of 8 systems with its leaderboard; a book with an allocation, transfers and book limits; a walk-forward
# study (its stitched system is cut from its windows' tables before any is let go)
@pytest.mark.parametrize("name", ["sweep_example", "portfolio_example", "walk_forward_goog"])
def test_letting_the_tables_go_writes_every_file_to_the_byte(name, tmp_path):
    kept, lean = kept_and_lean(CONFIGS / f"{name}.yaml", tmp_path)
    assert files_of(lean.folder) == files_of(kept.folder)
    assert lean.status == kept.status == "completed"
    pd.testing.assert_frame_equal(lean.summary, kept.summary)
    assert lean.summary_document == kept.summary_document
    for system, outcome in lean.systems.items():
        assert outcome.metrics.equals(kept.systems[system].metrics)
        pd.testing.assert_frame_equal(outcome.equity, kept.systems[system].equity)
        with pytest.raises(ValueError, match=f"{system}'s tables were let go .* read .*{system}/trades.csv"):
            outcome.trades
        with pytest.raises(ValueError, match=f"read .*{system}/orders.csv"):
            outcome.orders
        # the figures that read the trades say so too; the count is the figures'
        with pytest.raises(ValueError, match="tables were let go"):
            outcome.figures()
        assert f"{int(outcome.metrics['num_trades'])} trade" in repr(outcome)
    with pytest.raises(MultifolioError, match="let the tables of .* go once it had written them"):
        lean.write(tmp_path / "again")
    assert not (tmp_path / "again").exists()


def test_a_failed_system_beside_lean_ones_writes_the_same_files(tmp_path):
    document = backtest_config(system_config("fine"), system_config("broken", strategy={"type": "breaks"}),
                               system_config("also_fine", capital=25_000),
                               data={"source": "synthetic", "symbols": ["SPY"], "bars": 300})
    kept, lean = kept_and_lean(document, tmp_path, plugins={"strategies": {"breaks": BreaksAtBar}})
    assert files_of(lean.folder) == files_of(kept.folder)
    assert lean.status == kept.status == "failed"
    assert lean.systems["broken"].error == kept.systems["broken"].error
    assert "RuntimeError: the strategy's own bug" in lean.systems["broken"].error
    assert list(lean.summary.index) == ["fine", "also_fine", "combined"]
    assert lean.systems["broken"].trades.empty  # a failed system's tables are empty, never let go


def test_without_an_output_dir_the_tables_are_kept_whatever_is_asked():
    backtest = multifolio.load(backtest_config(system_config(), data={"source": "synthetic", "symbols": ["SPY"],
                                                                      "bars": 300}))
    result = backtest.run(keep_tables=False)  # nothing written: the frames are the only record
    assert result.folder is None
    assert len(result.systems["alpha"].orders) > 0
    assert len(result.systems["alpha"].trades) == result.systems["alpha"].metrics["num_trades"]


def test_a_lean_result_holds_copies_not_views_of_the_tables_it_let_go():
    """A selection of columns or rows would be a view of the table's blocks, which hold every column and row:
    letting the table go would free nothing."""
    [result] = run_in_memory(backtest_config(system_config(strategy={"type": "momentum", "parameters": {
        "lookback_period": 2}})))
    lean = tables_let_go(result)
    assert lean.tables_let_go and len(result.orders) > 0 and len(result.trades) > 0
    assert list(lean.orders.columns) == FILL_COLUMNS and len(lean.trades) == 0
    filled = result.orders[result.orders["filled"].fillna(0.0) != 0]
    assert len(lean.orders) == len(filled) > 0
    assert lean.orders["fill_time"].tolist() == filled["fill_time"].tolist()
    assert lean.orders["symbol"].astype(str).tolist() == filled["symbol"].tolist()
    assert lean.orders["symbol"].dtype == "category"  # a byte an order, not the symbol's text
    assert lean.orders["filled"].tolist() == filled["filled"].tolist()
    assert lean.orders["cost"].tolist() == (filled["commission"] + filled["slippage"]).tolist()
    for table in ("orders", "trades"):
        kept, left = getattr(result, table), getattr(lean, table)
        for column in left.columns:
            for whole in kept.columns:
                assert not np.shares_memory(np.asarray(left[column].array), np.asarray(kept[whole].array)), column
    assert tables_let_go(lean) is lean

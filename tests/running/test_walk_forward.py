"""Walk-forward studies on GOOG's daily bars, checked against computations made here from the sweep's own
equity curves (the choice per window) and against ordinary backtests of each test window (the stitched system)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from backtesting.test import GOOG

import multifolio
from multifolio.config.cadence import Cadence
from multifolio.config.walk_forward import WalkForwardSpec
from multifolio.errors import ConfigErrors, MultifolioError
from multifolio.reports.metrics import periods_per_year
from multifolio.testing import rewrite_after
from tests.builders import backtest_config, system_config

FAST, SLOW = [5, 10, 20], [30, 50, 80]


def _study(walk_forward: dict, capital: float = 100_000, **reporting) -> dict:
    system = system_config("sma", capital=capital, strategy={
        "type": "sma_crossover", "parameters": {"fast_period": 10, "slow_period": 30}},
        sizers=[{"type": "fixed", "size": 100}], execution={"commission": 0.01})
    system["sweep"] = {"strategy.parameters.fast_period": FAST, "strategy.parameters.slow_period": SLOW}
    system["walk_forward"] = walk_forward
    config = backtest_config(system, data={"source": "synthetic", "symbols": ["GOOG"]})  # GOOG's bars given
    config["reporting"].update(reporting)
    return config


@pytest.fixture(scope="module")
def rolling() -> multifolio.Result:
    return multifolio.run(_study({"train": "2Y", "test": "1Y"}), data=GOOG)


def sharpe_between(equity: pd.DataFrame, first: int, stop: int, capital: float) -> float:
    """The Sharpe ratio of bars [first, stop) of an equity curve, written out: returns against the equity of
    the bar before (the capital at bar 0), mean over sample deviation, annualised by the bars per year seen."""
    values = equity["equity"].to_numpy()
    before = np.concatenate(([capital], values))[first:stop]
    returns = values[first:stop] / before - 1.0
    return returns.mean() / returns.std(ddof=1) * math.sqrt(periods_per_year(equity["timestamp"].iloc[first:stop]))


def test_each_window_chooses_the_combination_with_the_best_sharpe_ratio_over_its_training_bars(rolling):
    study = rolling.walk_forward["sma"]
    stamps = pd.DatetimeIndex(rolling.combined_equity.index)
    names = [f"sma.fast_period-{fast}.slow_period-{slow}" for fast in FAST for slow in SLOW]
    assert len(study) == 7  # 2004-08-19 + 2 years, then a year at a time until 2013-03-01
    for window, row in study.iterrows():
        start = pd.Timestamp("2004-08-19") + pd.DateOffset(years=window - 1)
        first = stamps.searchsorted(start)
        test_first = stamps.searchsorted(start + pd.DateOffset(years=2))
        test_stop = stamps.searchsorted(start + pd.DateOffset(years=3))
        assert (row.train_start, row.test_start, row.test_end) == (stamps[first], stamps[test_first],
                                                                    stamps[test_stop - 1])
        train = {name: sharpe_between(rolling.systems[name].equity, first, test_first, 100_000) for name in names}
        best = max(names, key=lambda name: train[name])  # the first of equals, in the sweep's order
        assert row.system == best
        assert row.in_sample == pytest.approx(train[best], rel=1e-12)
        test = {name: sharpe_between(rolling.systems[name].equity, test_first, test_stop, 100_000) for name in names}
        assert row["rank"] == sorted(test.values(), reverse=True).index(test[best]) + 1
        fast, slow = (int(part.split("-")[1]) for part in best.split(".")[1:])
        assert (row.candidates, row.fast_period, row.slow_period) == (9, fast, slow)


def test_the_stitched_system_trades_each_window_as_an_ordinary_backtest_of_the_chosen_combination(rolling):
    """Window k's trades and final equity equal a run of its combination alone, from data.start to data.end
    with every earlier bar as warm-up, starting with the equity window k − 1 ended with, closing at the end."""
    study = rolling.walk_forward["sma"]
    stitched = rolling.systems["sma.walk_forward"]
    equity = stitched.equity.set_index("timestamp")["equity"]
    stamps = pd.DatetimeIndex(rolling.combined_equity.index)
    capital, trades = 100_000.0, 0
    assert (equity[:study.test_start.iloc[0]].iloc[:-1] == capital).all()  # idle before its first window
    for _, row in study.iterrows():
        values = {"fast_period": int(row.fast_period), "slow_period": int(row.slow_period)}
        alone = system_config("alone", capital=capital, strategy={"type": "sma_crossover", "parameters": values},
                              sizers=[{"type": "fixed", "size": 100}], execution={"commission": 0.01},
                              close_at_end=True)
        data = {"symbols": ["GOOG"], "start": str(row.test_start), "end": str(row.test_end),
                "warmup": int(stamps.searchsorted(row.test_start))}
        window = multifolio.run(backtest_config(alone, data=data), data=GOOG).systems["alone"]
        inside = stitched.trades["entry_time"].between(row.test_start, row.test_end)
        pd.testing.assert_frame_equal(stitched.trades[inside].reset_index(drop=True), window.trades)
        assert equity[row.test_end] == window.equity["equity"].iloc[-1]
        capital, trades = window.equity["equity"].iloc[-1], trades + len(window.trades)
    assert stitched.equity["equity"].iloc[-1] == capital
    assert len(stitched.trades) == trades > 20  # every window's, no other
    numbered = stitched.orders["order_id"][stitched.orders["order_id"] > 0]  # −1: each window's close-out
    assert numbered.is_unique and numbered.is_monotonic_increasing
    assert set(stitched.orders["cause"][stitched.orders["order_id"] < 0]) == {"end_of_data"}
    assert (stitched.positions.loc[list(study.test_end)] == 0).all().all()  # each window ends flat


def test_the_verdict_weighs_ranks_out_of_sample_and_the_figure_kept(rolling):
    study = rolling.walk_forward["sma"]
    ranked = study["rank"].notna()
    top_half = float((study["rank"][ranked] <= study["candidates"][ranked] / 2).mean())
    assert study.attrs["top_half"] == pytest.approx(top_half)
    assert study.attrs["in_sample"] == pytest.approx(study["in_sample"].mean(), rel=1e-12)
    stitched = rolling.systems["sma.walk_forward"].equity
    first = stitched["timestamp"].searchsorted(study.test_start.iloc[0])
    assert study.attrs["out_of_sample"] == pytest.approx(sharpe_between(stitched, first, len(stitched), 100_000), rel=1e-12)
    retained = study.attrs["out_of_sample"] / study.attrs["in_sample"]
    assert study.attrs["retained"] == pytest.approx(retained)
    expected = "held up" if top_half >= 0.5 and retained >= 0.5 else (
        "did not hold up" if top_half < 0.5 and retained < 0.5 or retained < 0 else "held up in part")
    assert study.attrs["verdict"] == expected
    assert study.attrs["summary"].startswith(f"The in-sample winner {expected}: out of sample it ranked in the "
                                             f"top half of the combinations in {round(top_half * 7)} of 7 windows")


def test_a_choice_never_depends_on_bars_after_its_training_window():
    """Every bar after window 3's training part is rewritten: windows 1 to 3 choose as before."""
    config = _study({"train": 500, "test": 250})
    before = multifolio.run(config, data=GOOG).walk_forward["sma"]
    bars = GOOG.rename(columns=str.lower).rename_axis("timestamp").reset_index().astype({"volume": float})
    changed = rewrite_after(bars.assign(symbol="GOOG"), 500 + 2 * 250 - 1, seed=3)
    after = multifolio.run(config, data=changed).walk_forward["sma"]
    columns = ["system", "in_sample", "train_start", "test_start"]
    pd.testing.assert_frame_equal(after.loc[1:3, columns], before.loc[1:3, columns])
    assert not after["out_of_sample"].equals(before["out_of_sample"])


@pytest.mark.parametrize(("walk_forward", "windows"), [
    ({"train": 500, "test": 250}, [(0, 500, 750), (250, 750, 1000), (500, 1000, 1250), (750, 1250, 1500),
                                   (1000, 1500, 1750), (1250, 1750, 2000), (1500, 2000, 2148)]),
    ({"train": 1000, "test": 400, "step": 600, "anchored": True}, [(0, 1000, 1400), (0, 1600, 2000)]),
])
def test_windows_in_bars(walk_forward, windows):
    result = multifolio.run(_study(walk_forward), data=GOOG)
    study = result.walk_forward["sma"]
    stamps = pd.DatetimeIndex(result.combined_equity.index)
    assert list(zip(stamps.searchsorted(study.train_start), stamps.searchsorted(study.test_start),
                    stamps.searchsorted(study.test_end) + 1)) == windows
    assert list(study.train_bars) == [test - train for train, test, _ in windows]


def test_calendar_windows_sit_on_a_grid_from_the_first_bar():
    """Anchored, 3 years then 6 months at a time: every window trains from the first bar; month ends never
    drift: window 2 tests from 2005-08-31 + 42 months (2009-02-28) to + 48 months (2009-08-31), where 6 months
    added to 6 months would stop at 2009-08-28."""
    stamps = pd.date_range("2005-08-31", "2010-12-31", freq="B")
    spec = WalkForwardSpec(Cadence(3, "Y"), Cadence(6, "M"), Cadence(6, "M"), anchored=True)
    windows = spec.windows(stamps)
    assert [(w.train_first, str(stamps[w.test_first].date()), str(stamps[w.test_stop - 1].date()))
            for w in windows[:2]] == [(0, "2008-09-01", "2009-02-27"), (0, "2009-03-02", "2009-08-28")]
    assert str(stamps[windows[-1].test_stop - 1].date()) == "2010-12-31"


def test_the_study_is_in_the_summary_file_the_plan_and_the_stitched_systems_folder(tmp_path):
    result = multifolio.run(_study({"train": "2Y", "test": "1Y", "select": "total_return"}), data=GOOG,
                            output_dir=tmp_path)
    section = result.summary_document["walk_forward"][0]
    assert (section["entry"], section["system"], section["figure"], section["train"], section["test"],
            section["step"], section["anchored"]) == ("sma", "sma.walk_forward", "total_return", "2 years",
                                                      "1 year", "1 year", False)
    assert [row["system"] for row in section["windows"]] == list(result.walk_forward["sma"]["system"])
    assert (result.folder / "sma.walk_forward" / "trades.csv").read_text() == \
        result.systems["sma.walk_forward"].trades.to_csv(index=False, lineterminator="\n")
    assert "sma.walk_forward" in result.summary.index
    assert (result.folder / "sma.walk_forward" / "report.html").is_file()
    page = (result.folder / "combined_summary.html").read_text()
    table = page[page.index('id="walk-forward-table-0"'):]
    table = table[:table.index("</table>")]
    assert table.count("<tr data-system=") == len(section["windows"])
    for row in section["windows"]:
        assert f'<tr data-system="{row["system"]}"><td>{row["window"]}</td>' in table
    assert f'data-verdict="{section["verdict"]}"' in page and section["summary"] in page
    assert "walk-forward-0" in result.figures()


def test_the_study_is_the_same_on_every_executor(rolling, tmp_path):
    """The sweep's systems run on two worker processes (the same bars from a CSV file); the choices and the
    stitched system are the same."""
    GOOG.to_csv(tmp_path / "GOOG.csv")
    config = _study({"train": "2Y", "test": "1Y"})
    config["data"] = {"source": "csv", "file_path": str(tmp_path / "GOOG.csv"), "symbols": ["GOOG"]}
    config["execution_engine"] = {"type": "processes", "workers": 2}
    parallel = multifolio.run(config)
    pd.testing.assert_frame_equal(parallel.walk_forward["sma"], rolling.walk_forward["sma"])
    pd.testing.assert_frame_equal(parallel.systems["sma.walk_forward"].equity,
                                  rolling.systems["sma.walk_forward"].equity)
    pd.testing.assert_frame_equal(parallel.systems["sma.walk_forward"].orders,
                                  rolling.systems["sma.walk_forward"].orders)


@pytest.mark.parametrize(("walk_forward", "message"), [
    ({"train": "2Y"}, "trading_systems[0].walk_forward.test: is required: a number of bars (500) or a calendar "
                      "span (2Y, 6M, 13W)"),
    ({"train": "2Y", "test": "1Y", "step": "6M"},
     "trading_systems[0].walk_forward.step: 6 months is shorter than test 1 year: the test windows would overlap, "
     "and one out-of-sample curve cannot trade two of them at once"),
    ({"train": 500, "test": "1Y"}, "trading_systems[0].walk_forward: train 500 bars, test 1 year, step 1 year: "
                                   "give all of them in bars or all as calendar spans"),
    ({"train": "2Y", "test": "1Y", "select": "sharp"}, "trading_systems[0].walk_forward.select: unknown figure "
                                                       "'sharp'; known: "),
    ({"train": "2Y", "test": "1Y", "anchor": True}, "trading_systems[0].walk_forward.anchor: unknown key; known: "
                                                    "anchored, select, step, test, train (did you mean anchored?)"),
    ({"train": "2Y", "test": "1Y", "anchored": "yes"}, "trading_systems[0].walk_forward.anchored: expected true or "
                                                       "false, found 'yes'"),
    ({"train": "2X", "test": "1Y"}, "trading_systems[0].walk_forward.train: expected a train span: a number of "
                                    "bars (20) or of calendar periods: 1D, 1W, 1M, 3M, 1Q, 1Y (at most 1000), "
                                    "found '2X'"),
])
def test_a_wrong_walk_forward_is_refused_at_its_key(walk_forward, message):
    with pytest.raises(ConfigErrors) as caught:
        multifolio.load(_study(walk_forward))
    errors = [str(error) for error in caught.value.errors]
    assert [error[:len(message)] for error in errors] == [message]
    assert "in the sweep's system" not in errors[0]  # said of the entry, not of one of its systems


def test_a_walk_forward_needs_a_sweep_and_data_long_enough():
    system = system_config("sma", strategy={"type": "buy_and_hold"})
    system["walk_forward"] = {"train": "2Y", "test": "1Y"}
    with pytest.raises(ConfigErrors) as caught:
        multifolio.load(backtest_config(system))
    assert [str(error) for error in caught.value.errors] == [
        "trading_systems[0].walk_forward: a walk-forward chooses among a sweep's combinations; this entry has no "
        "`sweep:`"]
    with pytest.raises(MultifolioError, match=r"trading_systems\[0\].walk_forward: the data \(2,148 "
                                                         r"bars, 2004-08-19 00:00:00 → 2013-03-01 00:00:00\) is too "
                                                         r"short for one window of 9 years of training"):
        multifolio.run(_study({"train": "9Y", "test": "1Y"}), data=GOOG)


def test_a_random_search_gives_a_walk_forward_its_candidates_and_optuna_is_refused():
    """A seeded random sample of the grid is chosen before any bar runs, so the windows choose among it; optuna
    picks points by their figures over the whole data, which the training windows must not see."""
    config = _study({"train": "2Y", "test": "1Y"})
    config["trading_systems"][0]["search"] = {"method": "random", "samples": 4, "seed": 2}
    result = multifolio.run(config, data=GOOG)
    sampled = {name for name in result.systems if name != "sma.walk_forward"}
    assert len(sampled) == 4 and set(result.walk_forward["sma"]["system"]) <= sampled
    assert set(result.walk_forward["sma"]["candidates"]) == {4}
    config["trading_systems"][0]["search"] = {"method": "optuna", "samples": 4}
    with pytest.raises(ConfigErrors) as caught:
        multifolio.load(config)
    assert [str(error) for error in caught.value.errors] == [
        "trading_systems[0].search.method: an optuna search picks its points by their figures over the whole data, "
        "which a walk-forward's training windows must not see; use the grid or a random search with walk_forward"]

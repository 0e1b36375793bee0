"""`search:` on a sweep: random samples of the grid and optuna's TPE over it, reproducible on every executor."""

from __future__ import annotations

import json
import random

import pytest

from multifolio.config.registry import PluginRegistry
from multifolio.config.sweep_points import describe_sweeps
from multifolio.errors import ConfigErrors
from multifolio.running import run as running
from multifolio.running.run import run_backtest
from tests.builders import backtest_config, checked, system_config

SMA = {"type": "sma_crossover", "parameters": {"fast_period": 10, "slow_period": 30, "allow_short": True}}
SWEEP = {"strategy.parameters.fast_period": {"start": 2, "stop": 20, "step": 2},
         "strategy.parameters.slow_period": {"start": 10, "stop": 60, "step": 5}}
GRID = [(fast, slow) for fast in range(2, 21, 2) for slow in range(10, 61, 5) if fast < slow]  # 102 points


def searched(search: dict | None, *others: dict, engine: str = "serial", bars: int = 1500) -> dict:
    entry = system_config("sma", strategy=SMA)
    entry.update(sweep=SWEEP, constraint="fast_period < slow_period")
    if search is not None:
        entry["search"] = search
    document = backtest_config(entry, *others, data={"source": "synthetic", "symbols": ["SPY"], "bars": bars,
                                                     "frequency": "1min", "seed": 3})
    document["execution_engine"] = {"type": engine, **({"workers": 2} if engine != "serial" else {})}
    return document


def run(document: dict, **options):
    registry = PluginRegistry()
    return run_backtest(checked(document, registry), registry, write=False, **options)


def points(outcome) -> list[tuple]:
    return [(r.spec.swept.values["fast_period"], r.spec.swept.values["slow_period"], r.spec.swept.trial,
             r.spec.swept.batch) for r in outcome.results if r.spec.swept is not None]


def errors_of(document: dict) -> list[str]:
    with pytest.raises(ConfigErrors) as caught:
        checked(document)
    return [str(error) for error in caught.value.errors]


def test_a_random_search_runs_the_seeded_sample_of_the_constrained_grid_in_grid_order():
    config = checked(searched({"method": "random", "samples": 7, "seed": 1}))
    chosen = sorted(random.Random(1).sample(range(len(GRID)), 7))
    assert [tuple(s.swept.values.values()) for s in config.systems] == [GRID[i] for i in chosen]
    assert describe_sweeps(config.systems) == [
        ("sweep trading_systems[0] (sma) over strategy.parameters.fast_period × strategy.parameters.slow_period: "
        "110 combinations, random search of 7 (seed 1)")]
    again = checked(searched({"method": "random", "samples": 7, "seed": 1}))
    other = checked(searched({"method": "random", "samples": 7, "seed": 2}))
    assert again.systems == config.systems and other.systems != config.systems


def test_a_random_search_of_at_least_the_grid_runs_the_whole_grid_and_says_so():
    config = checked(searched({"method": "random", "samples": 500}))
    assert [tuple(s.swept.values.values()) for s in config.systems] == GRID
    assert describe_sweeps(config.systems)[0].endswith("random search of 500 (the whole grid) (seed 0)")


def test_a_grid_search_is_the_plain_sweep_with_the_same_meaning():
    plain, grid = checked(searched(None)), checked(searched({"method": "grid"}))
    assert [s.as_dict() for s in grid.systems] == [s.as_dict() for s in plain.systems]
    assert "search" not in plain.systems[0].as_dict()["swept"]


@pytest.mark.parametrize(("search", "expected"), [
    ({"method": "ranodm", "samples": 5}, [("trading_systems[0].search.method: unknown search method 'ranodm'; known: "
                                          "grid, optuna, random (did you mean random?)")]),
    ({"method": "random", "samples": 0, "seed": 1.5},
     ["trading_systems[0].search.samples: expected a whole number from 1 to 10,000, found 0",
      "trading_systems[0].search.seed: expected a whole number, found 1.5"]),
    ({"method": "optuna", "samples": 10_001, "batch": 0},
     ["trading_systems[0].search.samples: expected a whole number from 1 to 10,000, found 10001",
      "trading_systems[0].search.batch: expected a whole number from 1 to 1,000, found 0"]),
    ({"method": "random"}, [("trading_systems[0].search.samples: a random search needs the number of systems to "
                            "run, 1 to 10,000")]),
    ({"method": "random", "samples": 3, "batch": 2},
     ["trading_systems[0].search.batch: a random search draws its systems at once; batch is for optuna"]),
    ({"method": "grid", "seed": 3},
     ["trading_systems[0].search.seed: a grid search runs every combination; seed is for random or optuna"]),
    ({"method": "random", "samples": 3, "sed": 3},
     ["trading_systems[0].search.sed: unknown key; known: batch, method, samples, seed (did you mean seed?)"]),
    ("random", [("trading_systems[0].search: expected a mapping such as {method: random, samples: 100, seed: 1}, "
                "found 'random'")]),
])
def test_a_bad_search_is_reported_at_its_key_path(search, expected):
    assert errors_of(searched(search)) == expected


def test_a_search_without_a_sweep_is_an_error():
    entry = {**system_config("alone"), "search": {"method": "random", "samples": 3}}
    assert errors_of(backtest_config(entry)) == [
        "trading_systems[0].search: a search chooses among the combinations of a sweep; this entry has no `sweep:`"]


OPTUNA = {"method": "optuna", "samples": 20, "seed": 5, "batch": 6}


def test_an_optuna_search_runs_samples_distinct_allowed_points_in_batches_each_scored_by_the_sweep_metric():
    outcome = run(searched(OPTUNA))
    chosen = points(outcome)
    assert len(chosen) == 20 and len({(f, s) for f, s, _, _ in chosen}) == 20
    assert all((f, s) in GRID for f, s, _, _ in chosen)  # the constraint's excluded points never ran
    assert [b for *_, b in chosen] == [1] * 6 + [2] * 6 + [3] * 6 + [4] * 2
    trials = [t for _, _, t, _ in chosen]
    assert trials == sorted(trials) and trials[:6] == [0, 1, 2, 3, 4, 5]  # TPE's first trials are new points
    group = outcome.summary["sweeps"]["groups"][0]
    assert group["systems"] == 20 and group["search"] == {"method": "optuna", "samples": 20, "seed": 5, "batch": 6}
    rows = {row["system"]: row for row in group["leaderboard"]}
    for result in outcome.results:
        assert rows[result.name]["trial"] == result.spec.swept.trial
        assert rows[result.name]["value"] == outcome.metrics[result.name]["sharpe"]
    assert group["overfitting"]["deflated_sharpe"]["trials"] == 20


def test_the_figures_a_search_ranks_by_are_the_runs_computed_once_per_system(monkeypatch):
    """Each system's figures are drawn from its equity once: the search's ranking computes them, the run's
    summary reuses them (a million bars: about 0.05 s a system), and they are those the run would compute."""
    computed = []
    figures = running.performance

    def counted(result, *args, **kwargs):
        computed.append(result.name)
        return figures(result, *args, **kwargs)

    monkeypatch.setattr(running, "performance", counted)
    document = searched(OPTUNA, system_config("hold"))
    outcome = run(document)
    assert sorted(computed) == sorted(result.name for result in outcome.results) and len(outcome.results) == 21
    for result in outcome.results:
        assert outcome.metrics[result.name] == figures(result, None)


@pytest.mark.parametrize("engine", ["processes", pytest.param("dask", marks=pytest.mark.slow)])
def test_an_optuna_search_chooses_the_same_systems_serially_and_in_parallel(engine):
    """Each batch is a pass of the executor: worker processes, or a real Dask LocalCluster, reused batch after
    batch."""
    serial = run(searched(OPTUNA))
    parallel = run(searched(OPTUNA, engine=engine))
    assert points(parallel) == points(serial)
    assert json.dumps(parallel.summary["sweeps"]) == json.dumps(serial.summary["sweeps"])


def test_an_optuna_search_of_the_whole_grid_runs_each_point_once_and_the_plain_systems_keep_their_place():
    small = {"strategy.parameters.fast_period": [2, 4], "strategy.parameters.slow_period": [10, 20]}
    document = searched({"method": "optuna", "samples": 50, "batch": 3}, system_config("hold"))
    document["trading_systems"][0]["sweep"] = small
    document["trading_systems"].insert(0, system_config("first"))
    outcome = run(document)
    names = [result.name for result in outcome.results]
    assert names[0] == "first" and names[-1] == "hold"
    assert sorted(names[1:-1]) == sorted(f"sma.fast_period-{f}.slow_period-{s}" for f in (2, 4) for s in (10, 20))


def test_a_stop_between_batches_ends_the_search_interrupted_with_the_finished_systems(tmp_path):
    asked = []

    def stop() -> bool:  # asked between the engine's chunks too: stop once the first batch has run
        asked.append(1)
        return len(run_calls) > 0

    run_calls: list[int] = []
    registry = PluginRegistry()
    config = checked(searched(OPTUNA), registry)

    def progress(done, total):
        if done == total:
            run_calls.append(1)

    outcome = run_backtest(config, registry, output_dir=tmp_path, progress=progress, stop_requested=stop)
    assert outcome.status == "interrupted"
    assert [b for *_, b in points(outcome)] == [1] * 6
    manifest = json.loads((outcome.folder / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and len(manifest["systems"]) == 6
    assert {entry["status"] for entry in manifest["systems"].values()} == {"completed"}


def test_an_optuna_search_over_a_float_range_and_a_list_runs_only_grid_points():
    document = searched({"method": "optuna", "samples": 9, "seed": 2, "batch": 4})
    document["trading_systems"][0]["sweep"] = {
        "strategy.parameters.fast_period": [3, 7, 11],  # a categorical
        "risk.position_sizers[0].size": {"start": 0.5, "stop": 1.5, "step": 0.1}}  # a stepped float range
    document["trading_systems"][0].pop("constraint")
    outcome = run(document)
    sizes = [round(0.5 + 0.1 * i, 10) for i in range(11)]
    chosen = [(r.spec.swept.values["fast_period"], r.spec.swept.values["size"]) for r in outcome.results]
    assert len(chosen) == len(set(chosen)) == 9
    assert all(fast in (3, 7, 11) and size in sizes for fast, size in chosen)
    assert [r.spec.risk.position_sizers[0].params["size"] for r in outcome.results] == [s for _, s in chosen]


def test_an_optuna_search_of_systems_the_book_couples_is_refused():
    """Its batches run apart from the book, which must step every system it funds or limits together."""
    document = searched({"method": "optuna", "samples": 6})
    document["risk"] = {"limits": {"max_drawdown": 0.5}}
    assert errors_of(document) == [
        "trading_systems[0].search.method: an optuna search runs its systems batch by batch, apart from the book; "
        "this system is coupled by the book (allocation, book limits or controller): use the grid or a random "
        "search"]
    document["trading_systems"][0]["search"]["method"] = "random"
    checked(document)

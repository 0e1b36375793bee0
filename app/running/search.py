"""An optuna search over a swept entry's grid: optuna's TPE sampler picks which of the grid's systems run.

The grid is expanded and checked like any sweep; here optuna is asked `batch` trials at a time over the grid's
own axes (a list of values is a categorical, a range an Int/FloatDistribution with its step), each batch's new
systems run in one pass of the run's executor, and their `reporting.sweep_metric` goes back to optuna. Nothing
depends on the machine: the sampler is seeded, the batch size fixed, and a system's figures are the same on
every executor, so the same systems are chosen everywhere.

One search lives for one run.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from multifolio.config.search import OPTUNA, SearchSpec
from multifolio.config.spec import SystemSpec
from multifolio.trading.system import SystemResult

if TYPE_CHECKING:  # optuna is imported by the searches that use it: every run would pay its 40 ms
    import optuna

ASKS_PER_SAMPLE = 20  # trials optuna may propose per system run (repeats and excluded points cost an ask)
Score = Callable[[SystemResult], "float | None"]  # a finished system's sweep_metric (None: none)
Execute = Callable[..., list[SystemResult]]


def optuna_entries(systems: Sequence[SystemSpec]) -> dict[int, list[SystemSpec]]:
    """The systems of each entry searched by optuna (its whole checked grid), by the entry's index."""
    entries: dict[int, list[SystemSpec]] = {}
    for spec in systems:
        if spec.swept is not None and spec.swept.search is not None and spec.swept.search.method == OPTUNA:
            entries.setdefault(spec.swept.entry, []).append(spec)
    return entries


def distributions(grid: Sequence[SystemSpec]) -> dict[str, Any]:
    """optuna's search space for a grid: each swept key's own values."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    record = grid[0].swept
    space: dict[str, Any] = {}
    for label, axis in record.axes.items():
        written = record.search.ranges.get(label)
        if written is None or len(axis) < 2:
            space[label] = CategoricalDistribution(axis)
        elif all(isinstance(value, int) for value in axis):
            space[label] = IntDistribution(axis[0], axis[-1], step=written["step"])
        else:
            space[label] = FloatDistribution(axis[0], axis[-1], step=written["step"])
    return space


def _grid_key(values: dict[str, Any], record: Any) -> tuple:
    """The grid point nearest a trial's values: floats suggested on a stepped range may be off in the last bits."""
    key = []
    for label, axis in record.axes.items():
        value = values[label]
        if isinstance(value, float) and label in record.search.ranges:
            step = record.search.ranges[label]["step"]
            value = axis[min(len(axis) - 1, max(0, round((value - axis[0]) / step)))]
        key.append(value)
    return tuple(key)


def run_search(execute: Execute, grid: Sequence[SystemSpec], score: Score, maximise: bool,
               stop_requested: Callable[[], bool], **executing: Any) -> list[SystemResult]:
    """The systems optuna chose from `grid` (one entry's), run batch by batch through `execute`, in the order run;
    each carries its trial number and batch in its `swept` record."""
    import optuna
    from optuna.trial import TrialState

    search: SearchSpec = grid[0].swept.search
    by_point = {tuple(spec.swept.values.values()): spec for spec in grid}
    space = distributions(grid)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(seed=search.seed)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=sampler, direction="maximize" if maximise else "minimize")
    known: dict[tuple, float | None] = {}  # grid point → its figure (None: failed or not finite)
    results: list[SystemResult] = []
    wanted = min(search.samples, len(grid))
    asks, batch = 0, 0
    while len(results) < wanted and asks < ASKS_PER_SAMPLE * search.samples and not stop_requested():
        batch += 1
        pending: dict[tuple, list[Any]] = {}  # a new point → the trials that proposed it
        while len(pending) < min(search.batch, wanted - len(results)) and asks < ASKS_PER_SAMPLE * search.samples:
            trial = study.ask(space)
            asks += 1
            point = _grid_key(trial.params, grid[0].swept)
            if point not in by_point:  # excluded by the constraint: never run
                study.tell(trial, state=TrialState.FAIL)
            elif point in known:  # already run: optuna learns its value again, nothing runs twice
                _tell(study, trial, known[point])
            else:
                pending.setdefault(point, []).append(trial)
        if not pending:
            break
        specs = [attrs.evolve(by_point[point], swept=attrs.evolve(by_point[point].swept, trial=trials[0].number,
                                                                  batch=batch))
                 for point, trials in pending.items()]
        ran = execute(specs=specs, stop_requested=stop_requested, **executing)
        order = {spec.name: position for position, spec in enumerate(specs)}
        results += sorted(ran, key=lambda result: order[result.name])
        by_name = {result.name: result for result in ran}  # a parallel executor returns them in its own order
        for spec, (point, trials) in zip(specs, pending.items()):
            result = by_name.get(spec.name)
            value = score(result) if result is not None and result.status == "completed" else None
            known[point] = value if value is not None and math.isfinite(value) else None
            for trial in trials:
                _tell(study, trial, known[point])
        if any(result.status == "interrupted" for result in ran):
            break
    return results


def _tell(study: optuna.Study, trial: Any, value: float | None) -> None:
    from optuna.trial import TrialState

    if value is None:
        study.tell(trial, state=TrialState.FAIL)
    else:
        study.tell(trial, value)


def run_with_searches(execute: Execute, systems: Sequence[SystemSpec], score: Score, maximise: bool,
                      stop_requested: Callable[[], bool] | None = None, book: Any = None, **executing: Any
                      ) -> tuple[list[SystemResult], bool]:
    """Every system of the run: those of no optuna search in one pass of `execute` (with the `book`), then each
    optuna search; the results in the file's order, each search's systems where its entry is, in the order
    run. The flag: a stop request ended a search between two batches (its systems all finished)."""
    searched = optuna_entries(systems)
    stop = stop_requested or (lambda: False)
    if not searched:
        return execute(specs=list(systems), stop_requested=stop_requested, book=book, **executing), False
    plain = [spec for spec in systems if spec.swept is None or spec.swept.entry not in searched]
    results = execute(specs=plain, stop_requested=stop_requested, book=book, **executing) if plain else []
    for grid in searched.values():
        if not stop():
            results += run_search(execute, grid, score, maximise, stop, book=None, **executing)
    place = {}
    for position, spec in enumerate(systems):
        place.setdefault(spec.swept.entry if spec.swept is not None and spec.swept.entry in searched else
                         ("system", spec.name), position)

    def where(result: SystemResult) -> int:
        record = result.spec.swept
        return place[record.entry if record is not None and record.entry in searched else ("system", result.name)]

    return sorted(results, key=where), stop()  # stable: each search keeps its order

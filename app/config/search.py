"""`search:` on a swept entry: which of the grid's combinations run (read with the sweep, before the model).

- `grid` (the default): every combination the constraint keeps.
- `random`: `samples` of them drawn without replacement (Python's `random.Random(seed)`, the same on every
  machine), run in the grid's order.
- `optuna`: the whole grid is expanded and checked; multifolio.running.search lets optuna's TPE sampler pick
  which of those systems run, `batch` at a time.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from attrs import Factory, frozen

from multifolio.errors import ConfigError, ConfigErrors, did_you_mean

SEARCH = "search"
GRID, RANDOM, OPTUNA = "grid", "random", "optuna"
METHODS = (GRID, RANDOM, OPTUNA)
MAX_SAMPLES = 10_000  # as many as a sweep may expand to
DEFAULT_SEED = 0
DEFAULT_BATCH = 8  # trials asked of optuna at once: fixed, so the machine never changes what is chosen
MAX_BATCH = 1_000
_KEYS = ("method", "samples", "seed", "batch")


@frozen
class SearchSpec:
    """How a sweep chooses its systems (absent on a grid sweep); shared by the systems of one entry."""

    method: str  # random or optuna
    samples: int  # the most systems run
    seed: int
    batch: int = DEFAULT_BATCH  # optuna only: trials per pass of the executor
    # swept key → its {start, stop, step} as written (a range); keys given as a list of values are absent
    ranges: dict[str, dict[str, Any]] = Factory(dict)

    def describe(self, combinations: int) -> str:
        """The plan's words for it, after the sweep's combinations."""
        whole = " (the whole grid)" if self.samples >= combinations else ""
        if self.method == RANDOM:
            return f"random search of {self.samples}{whole} (seed {self.seed})"
        return (f"optuna search (TPE) of at most {self.samples}{whole} in batches of {self.batch} "
                f"(seed {self.seed})")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_search(value: Any, where: str, ranges: Mapping[str, Mapping[str, Any]]) -> SearchSpec | None:
    """The `search:` mapping of an entry (`where`: its path) as a SearchSpec; None for a grid. ConfigErrors
    lists every problem. `ranges`: the swept keys' labels → their range mappings."""
    path = f"{where}.{SEARCH}"
    if not isinstance(value, Mapping):
        raise ConfigErrors([ConfigError(path, f"expected a mapping such as {{method: random, samples: 100, "
                                              f"seed: 1}}, found {value!r}")])
    errors = [ConfigError(f"{path}.{key}", f"unknown key; {did_you_mean(key, _KEYS)}")
              for key in map(str, value) if key not in _KEYS]
    method = value.get("method", GRID)
    if method not in METHODS:
        errors.append(ConfigError(f"{path}.method", f"unknown search method {method!r}; "
                                                    f"{did_you_mean(str(method), METHODS)}"))
    elif method == GRID:
        errors += [ConfigError(f"{path}.{key}", f"a grid search runs every combination; {key} is for random "
                                                f"or optuna") for key in ("samples", "seed", "batch") if key in value]
    else:
        samples, seed = value.get("samples"), value.get("seed", DEFAULT_SEED)
        batch = value.get("batch", DEFAULT_BATCH)
        if "samples" not in value:
            errors.append(ConfigError(f"{path}.samples", f"a {method} search needs the number of systems to run, "
                                                         f"1 to {MAX_SAMPLES:,}"))
        elif not _is_int(samples) or not 1 <= samples <= MAX_SAMPLES:
            errors.append(ConfigError(f"{path}.samples", f"expected a whole number from 1 to {MAX_SAMPLES:,}, "
                                                         f"found {samples!r}"))
        if not _is_int(seed):
            errors.append(ConfigError(f"{path}.seed", f"expected a whole number, found {seed!r}"))
        if method == RANDOM and "batch" in value:
            errors.append(ConfigError(f"{path}.batch", "a random search draws its systems at once; batch is for "
                                                       "optuna"))
        elif not _is_int(batch) or not 1 <= batch <= MAX_BATCH:
            errors.append(ConfigError(f"{path}.batch", f"expected a whole number from 1 to {MAX_BATCH:,}, "
                                                       f"found {batch!r}"))
    if errors:
        raise ConfigErrors(errors)
    if method == GRID:
        return None
    return SearchSpec(method=method, samples=samples, seed=seed, batch=batch if method == OPTUNA else DEFAULT_BATCH,
                      ranges={label: dict(spec) for label, spec in ranges.items()} if method == OPTUNA else {})


def random_choice(count: int, search: SearchSpec) -> list[int]:
    """The positions (in grid order) of the combinations a random search runs, out of `count`."""
    if search.samples >= count:
        return list(range(count))
    return sorted(random.Random(search.seed).sample(range(count), search.samples))


def chosen(systems: Sequence[Any], search: SearchSpec | None) -> list[Any]:
    """The expanded entries that run before any result is known: all but those a random search leaves out
    (an optuna search chooses while it runs)."""
    if search is None or search.method != RANDOM:
        return list(systems)
    return [systems[position] for position in random_choice(len(systems), search)]

"""Parameter sweeps: a `trading_systems` entry with `sweep:` becomes one isolated system per combination.

`expand_sweeps` works on the parsed YAML, before the attrs model is built, so every
expanded system is checked exactly like a system written out by hand. Each one
carries a `swept` record (its entry, the values it was given) that the combined
summary turns into a leaderboard and, for two parameters, a heatmap.
"""

from __future__ import annotations

import copy
import itertools
import math
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from multifolio.config.constraint import Constraint
from multifolio.config.model import SWEEP_KEYS
from multifolio.config.search import OPTUNA, SEARCH, SearchSpec, chosen, parse_search
from multifolio.config.spec import SweepPoint
from multifolio.config.walk_forward import WalkForwardSpec, parse_walk_forward
from multifolio.errors import ConfigError, ConfigErrors, did_you_mean
from multifolio.wording import counted

SWEEP, CONSTRAINT, WALK_FORWARD = SWEEP_KEYS[:3]
SWEPT = "swept"  # the SweepPoint each expanded entry carries
_DERIVED = ("name", "portfolio.namespace", *SWEEP_KEYS, SWEPT)  # a sweep sets these itself
_MAX_RANGE_VALUES = 100_000  # more values in one range is a mistyped step, not a study
MAX_COMBINATIONS = 10_000  # systems one sweep may expand to, before its constraint
_STEP = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[\d+\])*)")
_INDEX = re.compile(r"\[(\d+)\]")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")


# ---------------------------------------------------------------- paths


def parse_path(path: str) -> list[str | int]:
    """`risk.position_sizers[0].size` → ['risk', 'position_sizers', 0, 'size']; ValueError when malformed."""
    steps: list[str | int] = []
    for part in str(path).split("."):
        match = _STEP.fullmatch(part)
        if match is None:
            raise ValueError(f"{part!r} is not a key (letters, digits, '_') optionally followed by [index]")
        steps.append(match.group(1))
        steps.extend(int(index) for index in _INDEX.findall(match.group(2)))
    return steps


def _format_path(steps: Sequence[str | int]) -> str:
    text = ""
    for step in steps:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text


def _check_target(entry: Mapping, steps: Sequence[str | int]) -> None:
    """That `steps` names a value the entry already has: a sweep replaces values, it never invents keys."""
    node: Any = entry
    for depth, step in enumerate(steps):
        here = _format_path(steps[:depth]) or "the entry"
        if isinstance(step, int):
            if not isinstance(node, list):
                raise ValueError(f"{here} is not a list, so [{step}] names nothing")
            if step >= len(node):
                raise ValueError(f"{here} has {counted(len(node), 'item')}; [{step}] is out of range")
        else:
            if not isinstance(node, Mapping):
                raise ValueError(f"{here} is not a mapping, so it has no key {step!r}")
            if step not in node:
                raise ValueError(f"{here} has no key {step!r}; {did_you_mean(step, map(str, node))}; give it a "
                                 "value in the entry first, the sweep replaces it")
        node = node[step]


def _set(entry: Any, steps: Sequence[str | int], value: Any) -> None:
    node = entry
    for step in steps[:-1]:
        node = node[step]
    node[steps[-1]] = value


def _labels(paths: Sequence[str]) -> dict[str, str]:
    """Path → the shortest dotted tail that tells it apart from the others (`fast_period`, `size`)."""
    parts = {path: path.split(".") for path in paths}
    labels = {}
    for path, pieces in parts.items():
        for length in range(1, len(pieces) + 1):
            tail = ".".join(pieces[-length:])
            if not any(other != path and ".".join(p[-length:]) == tail for other, p in parts.items()):
                labels[path] = tail
                break
    return labels


# ---------------------------------------------------------------- values


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _range_values(spec: Mapping) -> list[int | float]:
    """`{start, stop, step}`, stop included; decimal arithmetic, so 0.1 steps land on 0.3, not 0.30000000000000004."""
    keys = {"start", "stop", "step"}
    if set(spec) != keys:
        missing, extra = sorted(keys - set(spec)), sorted(map(str, set(spec) - keys))
        raise ValueError("a range needs exactly start, stop and step" + (f"; missing {', '.join(missing)}" if missing
                         else "") + (f"; unknown {', '.join(extra)}" if extra else ""))
    for key in ("start", "stop", "step"):
        if not _is_number(spec[key]) or not math.isfinite(spec[key]):
            raise ValueError(f"range {key} must be a number, found {spec[key]!r}")
    start, stop, step = (Decimal(repr(spec[key])) for key in ("start", "stop", "step"))
    if step <= 0:
        raise ValueError(f"range step must be > 0, was {spec['step']}")
    if stop < start:
        raise ValueError(f"range stop ({spec['stop']}) is below start ({spec['start']})")
    count = int((stop - start) / step) + 1
    if count > _MAX_RANGE_VALUES:
        raise ValueError(f"the range gives {count:,} values (more than {_MAX_RANGE_VALUES:,}); is the step right?")
    integral = all(isinstance(spec[key], int) for key in ("start", "stop", "step"))
    return [int(start + i * step) if integral else float(start + i * step) for i in range(count)]


def _sweep_values(spec: Any) -> list[Any]:
    """The values of one swept key: a list of scalars, or a range mapping."""
    if isinstance(spec, Mapping):
        return _range_values(spec)
    if not isinstance(spec, list):
        raise ValueError(f"expected a list of values or {{start, stop, step}}, found {spec!r}")
    if not spec:
        raise ValueError("the list of values is empty; give at least one value")
    seen = set()
    for value in spec:
        if not (value is None or isinstance(value, (bool, int, float, str))):
            raise ValueError(f"values must be numbers, strings or booleans, found {value!r}")
        key = (type(value).__name__, value)
        if key in seen:
            raise ValueError(f"{value!r} is listed twice")
        seen.add(key)
    return list(spec)


def _name_fragment(value: Any) -> str:
    """A value as it appears in a system name: only letters, digits, '_', '-' and '.'."""
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    return _UNSAFE.sub("_", repr(value) if isinstance(value, float) else str(value))


# ---------------------------------------------------------------- expansion


def expand_sweeps(document: Any, source: str = "") -> Any:
    """The document with every swept entry replaced by its systems (a new document; the input is untouched).

    Anything that is not a well-formed sweep is passed on as it is, for the config
    model to report; problems of the sweeps themselves raise ConfigErrors, all at once.
    """
    if not isinstance(document, Mapping) or not isinstance(document.get("trading_systems"), list):
        return document
    systems: list[Any] = []
    errors: list[ConfigError] = []
    for index, entry in enumerate(document["trading_systems"]):
        where = f"trading_systems[{index}]"
        if not isinstance(entry, Mapping):
            systems.append(entry)
        elif SWEPT in entry:
            errors.append(ConfigError(f"{where}.{SWEPT}", f"is written by the sweep expansion; use `{SWEEP}:`"))
        elif SWEEP not in entry:
            purposes = {CONSTRAINT: "a constraint filters a sweep",
                        WALK_FORWARD: "a walk-forward chooses among a sweep's combinations",
                        SEARCH: "a search chooses among the combinations of a sweep"}
            errors += [ConfigError(f"{where}.{key}", f"{purpose}; this entry has no `{SWEEP}:`")
                       for key, purpose in purposes.items() if key in entry]
            systems.append(entry)
        else:
            try:
                systems.extend(_expand_entry(entry, index))
            except ConfigErrors as failed:
                errors.extend(failed.errors)
    if errors:
        raise ConfigErrors(errors, source)
    return {**document, "trading_systems": systems}


def _expand_entry(entry: Mapping, index: int) -> list[dict]:
    where = f"trading_systems[{index}]"
    sweep = entry[SWEEP]
    if not isinstance(sweep, Mapping) or not sweep:
        raise ConfigErrors([ConfigError(f"{where}.{SWEEP}", f"expected a mapping of key paths to values, found "
                                                            f"{sweep!r}")])
    if not isinstance(entry.get("name"), str):
        raise ConfigErrors([ConfigError(f"{where}.name", "a swept entry needs a name: its systems are named "
                                                         "after it")])
    errors: list[ConfigError] = []
    targets: dict[str, tuple[list[str | int], list[Any]]] = {}
    for path, spec in sweep.items():
        try:
            steps = parse_path(path)
            if any(str(path) == derived or str(path).startswith(f"{derived}.") for derived in _DERIVED):
                raise ValueError("is derived from the sweep and cannot be swept")
            _check_target(entry, steps)
            targets[str(path)] = (steps, _sweep_values(spec))
        except ValueError as error:
            errors.append(ConfigError(f"{where}.{SWEEP}.{path}", str(error)))
    constraint = None
    if not errors and CONSTRAINT in entry:
        labels = _labels(list(targets))
        try:
            if not isinstance(entry[CONSTRAINT], str):
                raise ValueError(f"expected an expression such as 'fast_period < slow_period', found "
                                 f"{entry[CONSTRAINT]!r}")
            constraint = Constraint(entry[CONSTRAINT], {**{label: label for label in labels.values()},
                                                        **labels})
        except ValueError as error:
            errors.append(ConfigError(f"{where}.{CONSTRAINT}", str(error)))
    walk_forward = None
    if WALK_FORWARD in entry:
        walk_forward, wrong = parse_walk_forward(entry[WALK_FORWARD], f"{where}.{WALK_FORWARD}")
        errors += wrong
    search = None
    if SEARCH in entry:
        labels = _labels(list(targets))
        try:
            search = parse_search(entry[SEARCH], where, {labels[path]: sweep[path] for path in targets
                                                         if isinstance(sweep[path], Mapping)})
        except ConfigErrors as failed:
            errors += failed.errors
    if walk_forward is not None and search is not None and search.method == OPTUNA:
        errors.append(ConfigError(f"{where}.{SEARCH}.method", "an optuna search picks its points by their figures "
                                  "over the whole data, which a walk-forward's training windows must not see; use "
                                  "the grid or a random search with walk_forward"))
    if errors:
        raise ConfigErrors(errors)
    return chosen(_combinations(entry, index, targets, constraint, search, walk_forward), search)


def _combinations(entry: Mapping, index: int, targets: Mapping[str, tuple[list[str | int], list[Any]]],
                  constraint: Constraint | None, search: SearchSpec | None = None,
                  walk_forward: WalkForwardSpec | None = None) -> list[dict]:
    """One entry per combination that passes the constraint, in the order of the sweep's keys and values."""
    labels = _labels(list(targets))
    base = {key: value for key, value in entry.items() if key not in SWEEP_KEYS}
    portfolio = base.get("portfolio")
    namespace = portfolio.get("namespace") if isinstance(portfolio, Mapping) else None
    namespace = namespace if isinstance(namespace, str) and namespace else base["name"]
    count = math.prod(len(values) for _, values in targets.values())
    if count > MAX_COMBINATIONS:
        sizes = " × ".join(str(len(values)) for _, values in targets.values())
        raise ConfigErrors([ConfigError(f"trading_systems[{index}].{SWEEP}", f"{sizes} = {count:,} combinations; a "
                                        f"sweep has at most {MAX_COMBINATIONS:,} (a run builds a system for each)")])
    combinations = list(itertools.product(*(values for _, values in targets.values())))
    name_labels = {label: _INDEX.sub(r"_\1", label) for label in labels.values()}  # no brackets in folder names
    # the sweep's shape, the same for each of its systems
    axes = {labels[path]: list(values) for path, (_, values) in targets.items()}
    paths = {labels[path]: path for path in targets}
    systems = []
    for combination in combinations:
        values = {labels[path]: value for path, value in zip(targets, combination)}
        try:
            if constraint is not None and not constraint(values):
                continue
        except ValueError as error:
            raise ConfigErrors([ConfigError(f"trading_systems[{index}].{CONSTRAINT}", str(error))]) from None
        system = copy.deepcopy(base)
        for (steps, _), value in zip(targets.values(), combination):
            _set(system, steps, value)
        suffix = ".".join(f"{name_labels[label]}-{_name_fragment(value)}" for label, value in values.items())
        system["name"] = f"{base['name']}.{suffix}"
        if isinstance(system.get("portfolio"), dict):
            system["portfolio"]["namespace"] = f"{namespace}.{suffix}"
        system[SWEPT] = SweepPoint(entry=index, group=base["name"], values=values, paths=dict(paths),
                                   axes={label: list(axis) for label, axis in axes.items()},
                                   combinations=len(combinations), search=search, walk_forward=walk_forward)
        systems.append(system)
    if not systems:
        raise ConfigErrors([ConfigError(f"trading_systems[{index}].{CONSTRAINT}",
                                        f"{constraint.text!r} rejects all {counted(len(combinations), 'combination')}; the "
                                        "sweep expands to no system")])
    return systems

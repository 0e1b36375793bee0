"""`walk_forward:` on a swept entry, as written, checked: how the data is cut into training and test windows
and which figure picks each window's combination (multifolio.running.walk_forward runs the study)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from attrs import frozen

from multifolio.config.cadence import Cadence, parse_cadence
from multifolio.errors import ConfigError, did_you_mean
from multifolio.wording import counted

KEYS = ("train", "test", "step", "anchored", "select")
_MONTHS, _DAYS = {"M": 1, "Q": 3, "Y": 12}, {"D": 1, "W": 7}
MAX_WINDOWS = 1_000  # each window is one backtest of its own: more is a mistyped step


@frozen(hash=False)
class WalkForwardSpec:
    """Each window trains on `train` (from the data's first bar with `anchored`), then trades the combination
    that was best there by `select` on the `test` span that follows; the next window starts `step` later."""

    train: Cadence
    test: Cadence
    step: Cadence
    anchored: bool = False
    select: str | None = None  # a figure of the catalogue; None: `reporting.sweep_metric`

    def describe(self) -> str:
        kind = "anchored" if self.anchored else "rolling"
        return (f"walk-forward ({kind}): train {self.train.describe()}, test {self.test.describe()}, "
                f"step {self.step.describe()}, best by {self.select or 'reporting.sweep_metric'}")

    def windows(self, timestamps: pd.DatetimeIndex) -> list[Window]:
        """The windows over the run's timeline, in order; each test part holds at least one bar and its
        training part at least two (one return). Refused (ValueError) when none fits or too many do."""
        n = len(timestamps)
        windows = []
        for k in range(n + 1):  # one window per step at most; the data ends the loop
            bounds = self._bounds(timestamps, k)
            if bounds is None:
                break
            train_first, test_first, test_stop = bounds
            if test_first - train_first >= 2 and test_stop > test_first:
                windows.append(Window(len(windows) + 1, train_first, test_first, test_stop))
            if len(windows) > MAX_WINDOWS:
                raise ValueError(f"more than {MAX_WINDOWS:,} windows; make the step longer")
        if not windows:
            raise ValueError(f"the data ({counted(n, 'bar')}, {timestamps[0]} → {timestamps[-1]}) is too short "
                             f"for one window of {self.train.describe()} of training and a test after it")
        return windows

    def _bounds(self, timestamps: pd.DatetimeIndex, k: int) -> tuple[int, int, int] | None:
        """Window k's first training bar, first test bar and the bar after its test part (None: past the data).
        Calendar windows sit on a grid from the first bar: window k trains from first + k·step, tests from
        first + train + k·step until first + train + k·step + test."""
        n = len(timestamps)
        if self.train.unit == "bars":  # then all three are (parse_walk_forward)
            test_first = self.train.count + k * self.step.count
            if test_first >= n:
                return None
            train_first = 0 if self.anchored else test_first - self.train.count
            return train_first, test_first, min(test_first + self.test.count, n)
        origin = timestamps[0]
        test_first = int(timestamps.searchsorted(origin + _span((self.train, 1), (self.step, k)), "left"))
        if test_first >= n:
            return None
        test_stop = int(timestamps.searchsorted(origin + _span((self.train, 1), (self.step, k), (self.test, 1)),
                                                "left"))
        train_first = 0 if self.anchored else int(timestamps.searchsorted(origin + _span((self.step, k)), "left"))
        return train_first, test_first, test_stop


@frozen
class Window:
    """One window's bars on the run's timeline: training [train_first, test_first), test [test_first, test_stop)."""

    number: int
    train_first: int
    test_first: int
    test_stop: int


def _span(*parts: tuple[Cadence, int]) -> pd.DateOffset:
    """The calendar spans `count × cadence` added up as one offset of months and days, applied once from the
    first bar: 3 years and 2 × 6 months is 48 months, so month ends never drift as they would with one
    offset added after another (Aug 31 + 6 months is Feb 28; + 6 more, Aug 28)."""
    months = sum(times * cadence.count * _MONTHS[cadence.unit] for cadence, times in parts if cadence.unit in _MONTHS)
    days = sum(times * cadence.count * _DAYS[cadence.unit] for cadence, times in parts if cadence.unit in _DAYS)
    return pd.DateOffset(months=months, days=days)


def parse_walk_forward(value: Any, path: str) -> tuple[WalkForwardSpec | None, list[ConfigError]]:
    """`walk_forward:` as written, checked: the spec, or None and the errors, each at its key."""
    if not isinstance(value, Mapping):
        return None, [ConfigError(path, f"expected a mapping such as {{train: 2Y, test: 6M}}, found {value!r}")]
    errors = [ConfigError(f"{path}.{key}", f"unknown key; {did_you_mean(str(key), KEYS)}")
              for key in value if key not in KEYS]
    spans: dict[str, Cadence | None] = {}
    for key in ("train", "test", "step"):
        if key not in value:
            if key != "step":
                errors.append(ConfigError(f"{path}.{key}", "is required: a number of bars (500) or a calendar span "
                                                           "(2Y, 6M, 13W)"))
            continue
        try:
            spans[key] = parse_cadence(value[key], f"{path}.{key}", what=f"a {key} span")
        except ConfigError as error:
            errors.append(error)
    anchored = value.get("anchored", False)
    if not isinstance(anchored, bool):
        errors.append(ConfigError(f"{path}.anchored", f"expected true or false, found {anchored!r}"))
    select = value.get("select")
    if select is not None and not isinstance(select, str):
        errors.append(ConfigError(f"{path}.select", f"expected the name of a figure (sharpe), found {select!r}"))
    if errors or "train" not in spans or "test" not in spans:
        return None, errors
    train, test = spans["train"], spans["test"]
    step = spans.get("step") or test
    if len({span.unit == "bars" for span in (train, test, step)}) > 1:
        errors.append(ConfigError(path, f"train {train.describe()}, test {test.describe()}, step {step.describe()}: "
                                        "give all of them in bars or all as calendar spans"))
    elif step.unit == test.unit and step.count < test.count or _shorter(step, test):
        errors.append(ConfigError(f"{path}.step", f"{step.describe()} is shorter than test {test.describe()}: the "
                                                  "test windows would overlap, and one out-of-sample curve cannot "
                                                  "trade two of them at once"))
    if errors:
        return None, errors
    return WalkForwardSpec(train, test, step, anchored, select), []


def _shorter(step: Cadence, test: Cadence) -> bool:
    """A calendar step shorter than a calendar test span of another unit (6M against 1Y, say)."""
    if step.unit == "bars" or step.unit == test.unit:
        return False
    moment = pd.Timestamp("2001-01-01")
    return moment + _span((step, 1)) < moment + _span((test, 1))

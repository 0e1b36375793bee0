"""The controller's view of the book at a bar boundary, and its two actions: start a dormant system,
retire an active one (one per run with a `controller:`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType

import pandas as pd

from multifolio.config.spec import CONTROLLED
from multifolio.data.market import MarketData
from multifolio.protocols import FLATTEN, BookView, SystemView
from multifolio.trading.system import SystemRunner

RETIRED = "retired"  # the cause of the orders that close a retired system


class ControlledBook(BookView):
    """What the controller sees at the boundary before bar `index`: each system as of the closes of the bar
    before; `start` and `retire` act at this boundary and are recorded through `record(bar, event, system,
    detail)`."""

    def __init__(self, *, market: MarketData, runners: Sequence[SystemRunner],
                 record: Callable[[int, str, str, str], None]) -> None:
        self._market = market
        self._runners = {runner.name: runner for runner in runners}
        self._record = record
        self.index = 0

    @property
    def timestamp(self) -> pd.Timestamp:
        return self._market.timestamps[self.index]

    @property
    def systems(self) -> Mapping[str, SystemView]:
        return MappingProxyType({name: SystemView(
            name, self._state(runner), runner.portfolio.equity_at(self.index - 1),
            MappingProxyType(runner.portfolio.positions())) for name, runner in self._runners.items()})

    def _state(self, runner: SystemRunner) -> str:
        if runner.stopped:
            return "stopped"
        return "active" if runner.started_by(self.index) else "dormant"

    def start(self, name: str) -> None:
        runner = self._runner(name)
        if runner.spec.portfolio.start != CONTROLLED or self._state(runner) != "dormant":
            raise ValueError(f"cannot start system {name!r}: it is {self._state(runner)}; only a dormant system "
                             "(portfolio.active: {start: controller}) is started by the controller")
        runner.start_at(self.index)
        self._record(self.index, "started", name, "started by the controller")

    def retire(self, name: str) -> None:
        runner = self._runner(name)
        if self._state(runner) != "active":
            raise ValueError(f"cannot retire system {name!r}: it is {self._state(runner)}, not active")
        runner.halt(max(self.index - 1, 0), RETIRED, FLATTEN, "retired by the controller", at_boundary=True)
        self._record(self.index, RETIRED, name, "retired by the controller: closed at this bar's open")

    def _runner(self, name: str) -> SystemRunner:
        runner = self._runners.get(name)
        if runner is None:
            raise ValueError(f"no system of the run is named {name!r}; systems: {', '.join(self._runners)}")
        return runner

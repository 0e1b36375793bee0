"""What the parallel executors share: systems split into chunks, a worker's container for the caller's
bars, and the chunks' outcomes put back in the run's order (a chunk that did not come back fails its
systems only)."""

from __future__ import annotations

import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import pandas as pd
from attrs import field, frozen
from dependency_injector import providers

from multifolio.config.book import BookSpec
from multifolio.config.registry import PluginKind, PluginRegistry
from multifolio.config.spec import SystemSpec
from multifolio.containers.backtest import BacktestContainer
from multifolio.data.market import MarketData
from multifolio.running.engine import ProgressCallback, StopRequest
from multifolio.trading.system import SystemResult, failed_before_start

CHUNKS_PER_WORKER = 2  # finer progress and balance; each extra chunk costs one more pass over the bars
# a run that writes its systems' folders as they are stepped (and lets their tables go) holds at most this many bars ×
# systems of full results at once (8 systems at a million bars): a pass of the serial executor's, a chunk of a
# parallel one's. The results of a thousand busy systems are never all alive at once
SYSTEM_BARS_PER_PASS = 1 << 23
WORKER_DIED = ("its worker process died (killed, out of memory, or the process exited) while running it; "
               "the systems it held with it: {names}")


@frozen
class Chunk:
    """Systems run together on one worker: their positions in the run and their specs."""

    run: str  # one token per run: a worker's bars never serve another run
    indices: tuple[int, ...]  # where each system stands in the run
    specs: tuple[SystemSpec, ...]
    book: BookSpec | None = None  # what couples these systems (all it couples are in this chunk)


@frozen
class WorkerSetup:
    """What every worker gets once per run: the caller's checked bars and the plugin classes given in code
    (a notebook's strategy; data sources left out: a worker never loads data)."""

    market: MarketData
    plugins: Mapping[PluginKind, Mapping[str, type]] = field(factory=dict)

    @classmethod
    def of(cls, market: MarketData, registry: PluginRegistry) -> WorkerSetup:
        return cls(market, {kind: classes for kind, classes in registry.given.items()
                            if kind is not PluginKind.DATA_SOURCE})


def worker_container(setup: WorkerSetup) -> BacktestContainer:
    """A worker's root container for the caller's checked bars (the data source is never asked again)."""
    root = BacktestContainer()
    root.plugins.override(providers.Object(PluginRegistry(given=setup.plugins)))
    root.data.market.override(providers.Object(setup.market))
    return root


Outcome = list[SystemResult] | str  # the chunk's results, or why it has none
# told each chunk's results as they come back (those of the chunks that never came back last), it returns what to
# keep of them; it may empty the list it is given, so that nothing else holds the results it let go
Arrived = Callable[[list[SystemResult]], list[SystemResult]]
# called after each look at the workers with the running chunks' bars done, in systems' worth
RunningProgress = Callable[[float], None]
Execute = Callable[[WorkerSetup, Sequence[Chunk], StopRequest, RunningProgress], Iterator[tuple[Chunk, Outcome]]]
POLL = 0.25  # seconds between looks at a stop request while waiting for workers


def run_chunks(execute: Execute, specs: list[SystemSpec], workers: int, setup: WorkerSetup,
               progress: ProgressCallback | None, stop_requested: StopRequest, book: BookSpec | None = None,
               arrived: Arrived | None = None) -> list[SystemResult]:
    """`specs` split into chunks for `workers` and run by `execute`; results in the order of `specs`.

    A chunk that does not come back (its worker died, or it raised outside the engine's
    own fault isolation) fails its systems only; `progress` gets (systems done, systems), the
    systems done counting the running chunks' share of their bars (a fraction).
    A stop request is passed on to the workers, whose systems end at their next bar
    boundary marked interrupted, as in a serial run.

    With `arrived`, each chunk's results are handed to it as they come back, while the workers go on, and what it
    keeps is returned; the chunks then hold at most `systems_per_pass` systems each.
    """
    results: dict[int, SystemResult] = {}
    if progress is not None:
        progress(0, len(specs))

    def running(part: float) -> None:  # `part` systems' worth of the running chunks' bars are done
        if progress is not None:
            progress(len(results) + part, len(specs))

    def kept(indices: Sequence[int], outcome: list[SystemResult]) -> None:
        results.update(zip(indices, arrived(outcome) if arrived is not None else outcome))

    market = setup.market
    most = systems_per_pass(len(market)) if arrived is not None else None
    arrays = SharedArrays()  # the caller's own timeline and closes, each indicator's values as first brought
    for chunk, outcome in execute(setup, split(specs, workers, book, most), stop_requested, running):
        if isinstance(outcome, list):
            brought = [shared(result, market, arrays) for result in outcome]
            outcome.clear()  # the list the executor handed over holds none of them: `arrived` may let them go
        else:
            brought = [lost(spec, outcome, market) for spec in chunk.specs]
        kept(chunk.indices, brought)
        arrays.chunk_done()
    interrupted = "the run was interrupted before its worker finished it"
    missing = [index for index in range(len(specs)) if index not in results]
    if missing:
        kept(missing, [lost(specs[index], interrupted, market) for index in missing])
    return [results[index] for index in range(len(specs))]


def systems_per_pass(bars: int) -> int:
    """How many systems of `bars` bars make `SYSTEM_BARS_PER_PASS` (at least one)."""
    return max(1, SYSTEM_BARS_PER_PASS // max(1, bars))


def split(specs: Sequence[SystemSpec], workers: int, book: BookSpec | None = None, most: int | None = None
          ) -> list[Chunk]:
    """`CHUNKS_PER_WORKER` chunks per worker (more where each may hold at `most` systems), sizes differing by one
    at most, each taking every n-th system.

    Neighbouring systems of a sweep differ in its outermost value, which often sets much
    of a system's cost (a shorter period trades more): a stride through the systems gives
    every chunk the same mix, so the workers finish together.

    The systems a `book` couples step together with it, bar by bar: they make one chunk of their
    own, run by one worker exactly as the serial executor runs them; the others spread as above.
    """
    run = uuid.uuid4().hex
    coupled = [index for index, spec in enumerate(specs) if book is not None and spec.name in book.coupled]
    chunks = [Chunk(run, tuple(coupled), tuple(specs[index] for index in coupled), book)] if coupled else []
    taken = set(coupled)
    free = [index for index in range(len(specs)) if index not in taken]
    count = max(1, min(len(free), max(workers * CHUNKS_PER_WORKER, -(-len(free) // (most or len(free) or 1)))))
    chunks += [Chunk(run, tuple(free[first::count]), tuple(specs[index] for index in free[first::count]))
               for first in range(count) if free[first::count]]
    return chunks


class SharedArrays:
    """One array for equal arrays that come back from the workers: the first of them (or the caller's own), in place
    of each later one, compared once per array a chunk brings (its systems share theirs: pickled once a chunk)."""

    def __init__(self) -> None:
        self._first: dict[Any, Any] = {}
        # the chunk's: id of an array brought → (it, its replacement), `brought` kept alive with its id until the
        # chunk is done, so that the id is never another array's meanwhile
        self._found: dict[int, tuple[Any, Any]] = {}

    def chunk_done(self) -> None:
        """Let the chunk's own arrays go: the next chunk brings its own."""
        self._found.clear()

    def __call__(self, key: Any, brought: Any, own: Any = None) -> Any:
        known = self._found.get(id(brought))  # `brought` itself, as its id is held with it
        if known is not None:
            return known[1]
        first = self._first.setdefault(key, brought) if own is None else own
        same = first is brought or (len(first) == len(brought) and (
            first.equals(brought) if isinstance(first, pd.Index) else np.array_equal(first, brought, equal_nan=True)))
        found = first if same else brought
        self._found[id(brought)] = (brought, found)
        return found


def shared(result: SystemResult, market: MarketData, arrays: SharedArrays) -> SystemResult:
    """`result` as a worker sent it back, with what every system of the run shares as one array again: its equity's
    timeline and closes the caller's own, its indicators' values the first chunk's (the same values, computed on the
    same bars). Each chunk brings its own copies (16 MB at a million bars for the timeline and a symbol's closes):
    kept with every result, they grew the caller by a chunk's worth each."""
    steps = result.equity_steps
    if steps is not None:
        steps = attrs.evolve(steps, timeline=arrays(("timeline",), steps.timeline, market.timestamps),
                             holdings={symbol: (bars, held, arrays(("closes", symbol), closes,
                                                                   market.closes_filled(symbol)))
                                       for symbol, (bars, held, closes) in steps.holdings.items()})
    values = {symbol: {key: arrays((symbol, key), array) for key, array in by_key.items()}
              for symbol, by_key in result.indicator_values.items()}
    return attrs.evolve(result, equity_steps=steps, indicator_values=values)


def lost(spec: SystemSpec, reason: str, market: MarketData) -> SystemResult:
    """A system whose chunk did not come back: failed before any bar, no figures (as the engine fails one)."""
    return failed_before_start(spec, market, reason, "its worker did not come back")


def reason(error: BaseException) -> str:
    return "its worker raised: " + "".join(traceback.format_exception(error)).strip()


def names(chunk: Chunk) -> str:
    return ", ".join(spec.name for spec in chunk.specs)

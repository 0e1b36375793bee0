"""Limits on all the books of a run together (one per run with a top-level `risk.limits`).

Exposure limits act after every system has placed its orders for a bar, so no system's place in the
config can matter: the entries of the bar that take books further from zero are cut **pro rata**, each by
the same factor, to what the limit leaves (whole lots of each system, rounded down). Values are taken at
the bar's closes, with every standing entry counted as filled, as a system's own limits count them; the
net limit per symbol is applied first, then the gross limit. Sums are exact (`math.fsum`), so the same
orders in another order give the same cuts. The drawdown kill switch is checked at each bar boundary on
the combined book at the last closes: once tripped, every system is flattened and stops.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from collections.abc import Callable, Sequence

from multifolio.config.book import BookLimitsSpec
from multifolio.data.market import MarketData
from multifolio.trading.events import OrderSubmitted
from multifolio.trading.outputs import whole_lots
from multifolio.trading.system import SystemRunner

ENTRY_CAUSES = ("signal", "strategy")  # what places entries; exits, halts and rebalancing only reduce


class BookLimits:
    """Watches the coupled systems' new entries and the combined book's drawdown.

    Hits are recorded in `hits`: (bar, the limit, system, what was done).
    """

    def __init__(self, *, spec: BookLimitsSpec, market: MarketData, runners: Sequence[SystemRunner],
                 reserve: Callable[[], float]) -> None:
        self.spec = spec
        self._market = market
        self._runners = list(runners)
        self._reserve = reserve
        self._new: list[tuple[SystemRunner, OrderSubmitted]] = []
        self.hits: list[tuple[int, str, str, str]] = []
        self.peak = -math.inf
        self.tripped = False
        self._closes = {symbol: memoryview(market.closes_filled(symbol)) for symbol in market.symbols}

    def connect(self) -> None:
        """Hear every coupled system's submitted orders (before the run seals their buses)."""
        if self.spec.gross_exposure is None and self.spec.net_exposure is None:
            return
        for runner in self._runners:
            runner.signals.order_submitted.connect(functools.partial(self._submitted, runner), weak=False)

    def _submitted(self, runner: SystemRunner, order: OrderSubmitted) -> None:
        if order.parent == 0 and order.cause in ENTRY_CAUSES:
            self._new.append((runner, order))

    def equity(self, index: int) -> float:
        """The combined book at the closes of bar `index`: every coupled system's equity and the reserve."""
        return math.fsum(runner.portfolio.equity_at(index) for runner in self._runners) + self._reserve()

    # ------------------------------------------------------------------ the kill switch

    def drawdown_tripped(self, index: int) -> bool:
        """At the boundary before bar `index`: whether the combined book at the closes of `index` − 1 stands
        `max_drawdown` or more below its peak for the first time (then every system is to be flattened)."""
        if self.spec.max_drawdown is None or self.tripped or index == 0:
            return False
        equity = self.equity(index - 1)
        self.peak = max(self.peak, equity)
        if self.peak > 0 and equity <= self.peak * (1 - self.spec.max_drawdown):
            self.tripped = True
            why = (f"the combined book at {equity:,.2f} is {1 - equity / self.peak:.2%} below its peak "
                   f"{self.peak:,.2f}: every system flattened")
            self.hits.append((index - 1, "max_drawdown", "", why))
        return self.tripped

    # ------------------------------------------------------------------ exposure

    def after_bar(self, index: int) -> None:
        """Cut the entries placed at bar `index` that break the net or gross limit, pro rata."""
        if not self._new:
            return
        new, self._new = self._new, []
        live = {(runner.name, order.order_id): (runner, order) for runner, order in new
                if order.index == index and _standing(runner, order)}
        if not live:
            return
        prices = {symbol: self._closes[symbol][index] for symbol in self._market.symbols}
        heading = {(runner.name, symbol): quantity for runner in self._runners
                   for symbol, quantity in _heading(runner).items()}
        # the part of each (system, symbol) heading that the bar's new entries opened
        added: dict[tuple[str, str], float] = defaultdict(float)
        for (name, _), (_, order) in live.items():
            added[(name, order.symbol)] += order.quantity
        opening = {key: _opened(heading[key] - quantity, heading[key]) for key, quantity in added.items()}
        opening = {key: value for key, value in opening.items() if value}
        if not opening:
            return
        equity = self.equity(index)
        factors = dict.fromkeys(opening, 1.0)
        if self.spec.net_exposure is not None:
            self._net(index, prices, heading, opening, factors, equity)
        if self.spec.gross_exposure is not None:
            self._gross(index, prices, heading, opening, factors, equity)
        self._cut(index, live, heading, opening, factors)

    def _net(self, index: int, prices: dict[str, float], heading: dict, opening: dict, factors: dict,
             equity: float) -> None:
        cap = self.spec.net_exposure * max(equity, 0.0)
        for symbol, price in prices.items():
            mine = [key for key in opening if key[1] == symbol]
            if not mine or not math.isfinite(price):
                continue
            net = math.fsum(heading[key] for key in heading if key[1] == symbol) * price
            if abs(net) <= cap:
                continue
            side = math.copysign(1.0, net)
            pushing = [key for key in mine if opening[key] * side > 0]
            pushed = math.fsum(abs(opening[key]) for key in pushing) * price
            factor = _share(cap - (abs(net) - pushed), pushed)
            for key in pushing:
                factors[key] = min(factors[key], factor)
            self._hit(index, "net_exposure", pushing, factor,
                      f"{symbol} net {net:,.2f} across books over {cap:,.2f} "
                      f"({self.spec.net_exposure:g} × equity {equity:,.2f})")

    def _gross(self, index: int, prices: dict[str, float], heading: dict, opening: dict, factors: dict,
               equity: float) -> None:
        cap = self.spec.gross_exposure * max(equity, 0.0)
        value = {key: abs(quantity) * prices[key[1]] for key, quantity in heading.items()
                 if quantity and math.isfinite(prices[key[1]])}
        # what stands without the bar's new entries, and what they add after the net limit's cuts
        standing = math.fsum(value.values()) - math.fsum(abs(opening[key]) * prices[key[1]] for key in opening)
        pushed = math.fsum(abs(opening[key]) * factors[key] * prices[key[1]] for key in opening)
        if standing + pushed <= cap:
            return
        factor = _share(cap - standing, pushed)
        for key in opening:
            factors[key] *= factor
        self._hit(index, "gross_exposure", list(opening), factor,
                  f"gross exposure {standing + pushed:,.2f} of all books over {cap:,.2f} "
                  f"({self.spec.gross_exposure:g} × equity {equity:,.2f})")

    def _hit(self, index: int, limit: str, keys: list[tuple[str, str]], factor: float, why: str) -> None:
        for name, symbol in sorted(keys):
            self.hits.append((index, limit, name, f"{why}: {symbol} entries cut to {factor:.2%}"))

    def _cut(self, index: int, live: dict, heading: dict, opening: dict, factors: dict) -> None:
        """Each cut entry's new quantity: what it closed, and its opening part × the factor in whole lots.
        Several entries of one system and symbol in a bar: the newest gives way first."""
        runners = {runner.name: runner for runner in self._runners}
        for key, factor in sorted(factors.items()):
            if factor >= 1.0:
                continue
            runner = runners[key[0]]
            kept = whole_lots(abs(opening[key]) * factor, runner.spec.risk.lot_size)
            excess = abs(opening[key]) - kept  # units to take off the bar's entries of this key
            reason = f"book limit: {'; '.join(h[3] for h in self.hits if h[0] == index and h[2] == key[0])}"
            orders = sorted((order for (name, _), (_, order) in live.items()
                             if name == key[0] and order.symbol == key[1]), key=lambda o: -o.order_id)
            for order in orders:
                if excess <= 0:
                    break
                cut = min(excess, abs(order.quantity))
                runner.execution.resize(order.order_id, order.quantity - math.copysign(cut, order.quantity),
                                        index, reason)
                excess -= cut


def _opened(before: float, after: float) -> float:
    """The part of going from `before` to `after` units that opens (signed): all of a new side, the growth
    of the same side, nothing when the position only shrinks."""
    if after == 0 or (before != 0 and (after > 0) == (before > 0) and abs(after) <= abs(before)):
        return 0.0
    if before == 0 or (after > 0) != (before > 0):
        return after
    return after - before


def _share(room: float, asked: float) -> float:
    """The factor on `asked` that fits `room`: 1 when it all fits, 0 when nothing does."""
    if asked <= 0:
        return 1.0
    return min(1.0, max(0.0, room / asked))


def _standing(runner: SystemRunner, submitted: OrderSubmitted) -> bool:
    return any(order.order_id == submitted.order_id for order in runner.execution.live_orders(submitted.symbol))


def _heading(runner: SystemRunner) -> dict[str, float]:
    """Where each of the system's symbols is heading: what it holds and its standing entries, as if filled
    (the symbols it neither holds nor has an entry for are left out)."""
    heading = dict(runner.portfolio.held)
    if runner.execution.pending:
        for order in runner.execution.live_orders():
            if not order.parent:
                heading[order.symbol] = heading.get(order.symbol, 0.0) + order.quantity
    return heading

"""Risk: sizing, limits that reduce or reject, and the record each decision leaves."""

from __future__ import annotations

import math
from typing import ClassVar

import pandas as pd
import pytest

import multifolio
from multifolio.protocols import RiskContext, RiskLimit
from multifolio.testing import FrameSource, ScriptedStrategy, bars_from_closes
from multifolio.trading.events import Direction
from tests.builders import backtest_config, run_in_memory, system_config


def run_script(script, closes=(100, 100, 100, 100, 100, 100), **system):
    document = backtest_config(system_config("alpha", **system))
    [result] = run_in_memory(document, source=FrameSource(bars_from_closes(closes)),
                             strategies={"alpha": ScriptedStrategy(script)})
    return result


def test_max_position_value_reduces_the_order_and_says_why():
    result = run_script({0: Direction.LONG}, sizers=[{"type": "fixed", "size": 1000}],
                        limits=[{"type": "max_position_value", "value": 5_050}])
    order = result.orders.iloc[0]
    assert (order["requested"], order["quantity"], order["status"]) == (1000, 50, "filled")
    assert order["reason"] == "max_position_value 5050 caps the position at 50"


def test_an_order_that_nothing_fits_is_rejected_and_recorded():
    result = run_script({0: Direction.LONG}, limits=[{"type": "max_position_value", "value": 50}])
    order = result.orders.iloc[0]
    assert (order["requested"], order["quantity"], order["status"]) == (10, 0, "rejected")
    assert order["reason"] == "max_position_value 50 caps the position at 0"
    assert result.trades.empty and result.open_positions == {}


def test_percentage_sizer_uses_equity_at_the_signal_close_in_whole_lots():
    result = run_script({0: Direction.LONG, 2: Direction.FLAT, 3: Direction.SHORT},
                        closes=(100, 100, 110, 120, 130, 140), capital=10_000,
                        sizers=[{"type": "percentage", "size": 0.25}])
    # 25% of 10000 at 100 → 25; closed at 110 (+250); 25% of 10250 at 120 → 21.35 → 21 short
    assert result.orders["quantity"].tolist() == [25, -25, -21]


def test_max_total_exposure_counts_equity_and_leaves_closing_alone():
    result = run_script({0: Direction.LONG, 1: Direction.SHORT}, capital=1_000,
                        sizers=[{"type": "fixed", "size": 30}], limits=[{"type": "max_total_exposure", "value": 1.0}])
    # exposure cap 1000 / 100 = 10 units; the flip closes 10 and opens only 10 short
    assert result.orders["quantity"].tolist() == [10, -20]
    assert result.orders["requested"].tolist() == [30, -40]


def test_a_signal_for_the_side_already_held_sends_no_order():
    result = run_script({0: Direction.LONG, 1: Direction.LONG, 2: Direction.LONG, 3: Direction.FLAT,
                         4: Direction.FLAT})
    assert result.orders["quantity"].tolist() == [10, -10]


def test_lot_size_rounds_quantities_down_and_zero_allows_fractions():
    fractional = run_script({0: Direction.LONG}, sizers=[{"type": "percentage", "size": 0.333}])
    assert fractional.orders["quantity"].tolist() == [33]
    document_risk = {"position_sizers": [{"type": "percentage", "size": 0.333}], "limits": [], "lot_size": 0}
    document = backtest_config(system_config("alpha"))
    document["trading_systems"][0]["risk"] = document_risk
    [result] = run_in_memory(document, source=FrameSource(bars_from_closes([100] * 4)),
                             strategies={"alpha": ScriptedStrategy({0: 1})})
    assert result.orders["quantity"].tolist() == [pytest.approx(33.3)]


class _RecordingLimit(RiskLimit):
    """Caps nothing; keeps what each call saw of the other symbols."""

    seen: ClassVar[list[tuple[str, dict[str, float]]]] = []

    def max_position(self, context: RiskContext) -> float:
        self.seen.append((context.symbol, dict(context.positions_other)))
        return math.inf


def test_limits_see_the_other_symbols_held_and_standing_as_positions():
    times = pd.bdate_range("2024-01-01", periods=4)
    frames = {symbol: pd.DataFrame({"open": 100.0, "high": 100.0, "low": 100.0, "close": 100.0, "volume": 100},
                                   index=times[first:])
              for symbol, first in (("AAA", 0), ("BBB", 0), ("CCC", 2))}
    _RecordingLimit.seen = []
    config = {"data": {}, "trading_systems": [system_config("alpha", limits=[{"type": "recording"}])]}
    multifolio.run(config, data=frames, plugins={"risk_limits": {"recording": _RecordingLimit}})
    # AAA and BBB signal at bar 0: BBB sees AAA's entry standing; CCC's first bar is bar 2: both are held
    assert _RecordingLimit.seen == [("AAA", {}), ("BBB", {"AAA": 10.0}), ("CCC", {"AAA": 10.0, "BBB": 10.0})]

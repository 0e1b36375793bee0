"""After a flatten halt a system holds nothing from the next fill on and places no new order (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.property.strategies import bar_frames, scripts, system_entries
from tests.property.test_invariants import PROPERTY, run_scripted


@settings(PROPERTY, max_examples=80)
@given(frame=bar_frames(), script=scripts(), system=system_entries(), drawdown=st.floats(0.01, 0.3))
def test_after_a_flatten_halt_nothing_is_held_from_the_next_fill_and_no_order_is_placed(frame, script, system,
                                                                                       drawdown):
    system["risk"]["limits"].append({"type": "max_drawdown", "value": drawdown, "action": "flatten"})
    result = run_scripted(frame, script, system)
    assert result.status == "completed", result.error
    if result.stopped is None:
        return
    halt, orders = result.stopped, result.orders
    assert (orders["submitted_time"] <= halt.timestamp).all()  # nothing placed after the halt
    # at the halt's bar only its closing orders are placed after its fills (exits attached by them come before)
    assert not (orders["status"] == "submitted").any()  # every order the halt found standing was cancelled
    if halt.index == len(frame) - 1:
        return  # halted at the last close: no fill comes after it
    closes = orders[orders["cause"] == halt.reason]
    flat_from = closes["fill_time"].max() if len(closes) else halt.timestamp  # every close filled by then
    held = result.equity.loc[result.equity["timestamp"] >= flat_from, "position_value"].to_numpy()
    assert np.all(held == 0.0)
    assert not result.open_positions

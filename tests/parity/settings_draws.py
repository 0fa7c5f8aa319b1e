"""Hypothesis draws of the vectorized kernel's settings, shared by the parity suites."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st


def costs_and_execution(draw: st.DrawFn) -> dict[str, Any]:
    """Fees, fixed fees, slippage and the execution setting."""
    return {
        "fees": draw(st.sampled_from([0.0, 0.001, 0.01])),
        "fixed_fees": draw(st.sampled_from([0.0, 1.0, 500.0])),
        "slippage": draw(st.sampled_from([0.0, 0.002])),
        "execution": draw(st.sampled_from(["close", "next_open"])),
    }


def sizing(draw: st.DrawFn) -> dict[str, Any]:
    """All-in (the default), a fixed amount, a fixed value, or fixed-size accumulation."""
    choice = draw(st.sampled_from(["all", "amount", "value", "accumulate"]))
    if choice == "amount":
        return {"size": draw(st.sampled_from([1.0, 30.0]))}
    if choice == "value":
        return {"size": 2_000.0, "size_type": "value"}
    if choice == "accumulate":
        return {"size": 10.0, "accumulate": True}
    return {}

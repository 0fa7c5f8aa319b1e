"""``ctx.order_target_weights``: the options of the vectorized weights mode in the event API (issue #12).

Hand-computed examples of each option (``None`` = leave alone, the leverage cap with the exposure of the
symbols left alone, ``lot_size`` toward zero, sells before buys), the errors naming the argument and the
symbol, and a Hypothesis property: with fills at the decision price (``execution="close"``) the gross exposure
after the fills never exceeds the cap, unless the symbols left alone already exceed it on their own.
"""

from __future__ import annotations

import math

import hypothesis.strategies as st
import polars as pl
import pytest
from hypothesis import given, settings
from tests.event.scenario import FLAT, day, panel, run

import ml4t

A = (100.0, 100.0, 100.0, 100.0, 1e6)
B = (50.0, 50.0, 50.0, 50.0, 1e6)


def held(res: ml4t.Result, i: int) -> dict[str, float]:
    rows = res.positions.filter(pl.col("ts_event") == day(i)).select("symbol", "position_qty").rows()
    return dict(rows)


def two(n: int = 3) -> ml4t.data.Bars:
    return panel({"A": [A] * n, "B": [B] * n})


def test_the_leverage_cap_scales_every_target_down_in_proportion():
    # equity 10,000; gross 0.6 + 0.6 = 1.2 > 0.9: each target * 0.75 -> 0.45: A 4,500 / 100, B 4,500 / 50
    res, _ = run(two(), {0: lambda c: c.order_target_weights({"A": 0.6, "B": 0.6}, leverage=0.9)})
    assert held(res, 1) == {"A": 45.0, "B": 90.0}


def test_a_target_within_the_cap_is_not_scaled():
    res, _ = run(two(), {0: lambda c: c.order_target_weights({"A": 0.3, "B": -0.2}, leverage=0.5)})
    assert held(res, 1) == {"A": 30.0, "B": -40.0}


def test_symbols_left_alone_count_in_the_cap_with_their_current_exposure():
    # day 0: 50 A (5,000 = 0.5 of equity); day 1: B wants 0.8 but the cap is 1.0 and A alone takes 0.5:
    # B gets (1.0 - 0.5) / 0.8 of its target = 0.5 -> 5,000 / 50 = 100 units; A (not in weights) keeps 50
    res, _ = run(
        two(),
        {
            0: lambda c: c.order_target_weights({"A": 0.5}),
            1: lambda c: c.order_target_weights({"B": 0.8}, leverage=1.0),
        },
    )
    assert held(res, 2) == {"A": 50.0, "B": 100.0}


def test_a_none_weight_leaves_the_symbol_alone_and_counts_as_left_alone():
    # A is None: no order, and liquidate_others does not close it; it counts in the cap like any symbol left
    # alone (0.5), so B's 0.8 becomes 0.4 under leverage=0.9 -> 4,000 / 50 = 80
    res, out = run(
        two(),
        {
            0: lambda c: c.order_target_weights({"A": 0.5}),
            1: lambda c: c.order_target_weights({"A": None, "B": 0.8}, liquidate_others=True, leverage=0.9),
        },
    )
    assert held(res, 2) == {"A": 50.0, "B": 80.0}
    assert len(out[1]) == 1


def test_when_the_symbols_left_alone_exceed_the_cap_the_targets_are_zero():
    # A alone is 0.5 of equity > 0.4: B's target is scaled to 0, and B (held 20) is sold
    res, _ = run(
        two(),
        {
            0: lambda c: c.order_target_weights({"A": 0.5, "B": 0.1}),
            1: lambda c: c.order_target_weights({"B": 0.3}, leverage=0.4),
        },
    )
    assert held(res, 1) == {"A": 50.0, "B": 20.0}
    assert held(res, 2) == {"A": 50.0, "B": 0.0}


def test_liquidated_symbols_are_targets_of_zero_under_the_cap():
    # A is liquidated (a target of 0): it does not count as left alone, so B gets its full 0.8
    res, _ = run(
        two(),
        {
            0: lambda c: c.order_target_weights({"A": 0.5}),
            1: lambda c: c.order_target_weights({"B": 0.8}, liquidate_others=True, leverage=1.0),
        },
    )
    assert held(res, 2) == {"A": 0.0, "B": 160.0}


@pytest.mark.parametrize(
    ("weight", "lot_size", "fractional", "units"),
    [
        (0.57, 10.0, False, 50.0),  # 5,700 / 100 = 57 -> 50
        (-0.57, 10.0, False, -50.0),  # toward zero
        (0.57, 100.0, False, 0.0),  # less than one lot: no order
        (0.1, 0.5, True, 10.0),  # 1,000 / 100 = 10 exactly
        (0.1234, 0.25, True, 12.25),  # 12.34 -> 12.25
        (0.1234, 3.0, False, 12.0),  # 12.34 -> 12 (4 lots of 3)
        (0.1234, 2.0, True, 12.0),
    ],
)
def test_lot_size_rounds_the_target_units_toward_zero_to_whole_lots(weight, lot_size, fractional, units):
    res, out = run(
        two(), {0: lambda c: c.order_target_weights({"A": weight}, lot_size=lot_size)}, fractional=fractional
    )
    assert held(res, 1)["A"] == pytest.approx(units, abs=1e-12)
    assert len(out[0]) == (units != 0.0)


def test_lot_size_rounds_the_target_not_the_order():
    # 37 held; a target of 0.57 with lots of 10 is 50 units: the order is 13 (not a whole lot), as the target is
    res, _ = run(
        two(),
        {
            0: lambda c: c.order_target("A", 37),
            1: lambda c: c.order_target_weights({"A": 0.57}, lot_size=10.0),
        },
    )
    assert held(res, 2)["A"] == 50.0


def test_sells_are_submitted_before_buys_under_the_cap():
    # day 1: A 0.5 -> 0.1 (sell 40) and B 0 -> 0.5 (buy 100); under the cap 1.0 nothing is scaled
    res, out = run(
        two(),
        {
            0: lambda c: c.order_target_weights({"A": 0.5}),
            1: lambda c: c.order_target_weights({"B": 0.5, "A": 0.1}, leverage=1.0),
        },
    )
    day1 = res.orders.filter(pl.col("ts_submitted") == day(1)).select("symbol", "side", "quantity").rows()
    assert day1 == [("A", "sell", 40.0), ("B", "buy", 100.0)]
    assert len(out[1]) == 2


def test_an_empty_weights_mapping_places_nothing():
    res, out = run(two(), {0: lambda c: c.order_target_weights({}, leverage=1.0)})
    assert out[0] == []
    assert res.orders.height == 0


ORDER = ml4t.OrderError


@pytest.mark.parametrize(
    ("call", "argument", "symbol"),
    [
        (lambda c: c.order_target_weights({"A": 0.5}, leverage=0.0), "leverage", None),
        (lambda c: c.order_target_weights({"A": 0.5}, leverage=-1.0), "leverage", None),
        (lambda c: c.order_target_weights({"A": 0.5}, leverage=math.inf), "leverage", None),
        (lambda c: c.order_target_weights({"A": 0.5}, leverage=math.nan), "leverage", None),
        (lambda c: c.order_target_weights({"A": 0.5}, leverage="2"), "leverage", None),
        (lambda c: c.order_target_weights({"A": 0.5}, leverage=True), "leverage", None),
        (lambda c: c.order_target_weights({"A": 0.5}, lot_size=0.0), "lot_size", None),
        (lambda c: c.order_target_weights({"A": 0.5}, lot_size=-10.0), "lot_size", None),
        (lambda c: c.order_target_weights({"A": 0.5}, lot_size=math.inf), "lot_size", None),
        (lambda c: c.order_target_weights({"A": 0.5}, lot_size="10"), "lot_size", None),
        (lambda c: c.order_target_weights({"A": 0.5}, lot_size=0.5), "lot_size", None),  # whole-unit engine
        (lambda c: c.order_target_weights({"A": 0.5, "B": "x"}), "weights", "B"),
        (lambda c: c.order_target_weights({"A": 0.5, "B": math.inf}), "weights", "B"),
        (lambda c: c.order_target_weights({"A": None, "ZZZ": None}), "symbol", "ZZZ"),
    ],
)
def test_bad_options_are_order_errors_naming_the_argument_symbol_and_time(call, argument, symbol):
    seen = {}

    def act(ctx):
        with pytest.raises(ORDER) as info:
            call(ctx)
        seen["error"] = info.value

    res, _ = run(two(), {0: act})
    error = seen["error"]
    assert error.argument == argument
    assert error.symbol == symbol
    assert error.timestamp is not None
    assert res.orders.height == 0  # nothing was submitted


def test_a_symbol_without_a_price_yet_is_an_error_unless_left_alone():
    data = ml4t.data.bars(
        pl.concat(
            [
                two(2).frame.select("ts_event", "symbol", "open", "high", "low", "close", "volume"),
                panel({"C": [FLAT]}, start=day(1)).frame.select(
                    "ts_event", "symbol", "open", "high", "low", "close", "volume"
                ),
            ]
        )
    )
    seen = {}

    def act(ctx):
        with pytest.raises(ORDER, match="no price yet") as info:
            ctx.order_target_weights({"A": 0.1, "C": 0.1})
        seen["error"] = info.value
        seen["ids"] = ctx.order_target_weights({"A": 0.1, "C": None})

    run(data, {0: act})
    assert seen["error"].symbol == "C"
    assert len(seen["ids"]) == 1


# ------------------------------------------------------------------------------------------------ property
prices = st.floats(min_value=5.0, max_value=500.0, allow_nan=False)
ABSENT = "absent"  # the symbol is not in the mapping (liquidated with liquidate_others, else left alone)
weight = st.one_of(st.just(ABSENT), st.none(), st.floats(min_value=-1.5, max_value=1.5, allow_nan=False))


@settings(max_examples=60, deadline=None)
@given(
    first=st.lists(st.floats(min_value=-0.8, max_value=0.8), min_size=3, max_size=3),
    second=st.lists(weight, min_size=3, max_size=3),
    p0=st.lists(prices, min_size=3, max_size=3),
    moves=st.lists(st.floats(min_value=0.8, max_value=1.25), min_size=3, max_size=3),
    cap=st.floats(min_value=0.05, max_value=3.0),
    fractional=st.booleans(),
    liquidate=st.booleans(),
    lot=st.sampled_from([None, 1.0, 7.0]),
)
def test_gross_exposure_after_the_fills_never_exceeds_the_cap(
    first, second, p0, moves, cap, fractional, liquidate, lot
):
    symbols = ("A", "B", "C")
    p1 = [a * m for a, m in zip(p0, moves, strict=True)]
    data = panel({s: [(a, a, a, a, 1e9), (b, b, b, b, 1e9)] for s, a, b in zip(symbols, p0, p1, strict=True)})
    weights = {s: w for s, w in zip(symbols, second, strict=True) if w != ABSENT}
    seen = {}

    def rebalance(ctx):
        # the reference: the exposure of the symbols the call leaves alone, from the positions before it
        alone = [s for s in symbols if (s in weights and weights[s] is None) or (s not in weights and not liquidate)]
        seen["alone"] = sum(abs(ctx.position(s) * ctx.price(s)) for s in alone) / ctx.equity
        ctx.order_target_weights(weights, liquidate_others=liquidate, leverage=cap, lot_size=lot)

    res, _ = run(
        data,
        {0: lambda c: c.order_target_weights(dict(zip(symbols, first, strict=True))), 1: rebalance},
        execution="close",
        account="margin",
        leverage=10.0,
        fractional=fractional,
        init_cash=1e6,
    )
    assert (res.orders["status"] == "filled").all()
    last = res.positions.filter(pl.col("ts_event") == day(1))
    gross = float(last["position_value"].abs().sum())
    equity = float(res.equity["equity"][-1])
    assert gross / equity <= max(cap, seen["alone"]) * (1 + 1e-9) + 1e-12

"""Every ``ctx`` method that takes a user value refuses a bad one at the call, with an ``ml4t`` error naming the
argument, the symbol (where there is one) and the strategy's clock time, and submits nothing; a ``ctx`` kept
after the run refuses to act."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.event.scenario import FLAT, day, make_bars, run

import ml4t
from ml4t._time import format_ns
from ml4t.event import Engine, Strategy

ORDER = ml4t.OrderError
CONFIG = ml4t.ConfigError


def ns(t: dt.datetime) -> int:
    return int(t.timestamp()) * 1_000_000_000


# (call, error, argument, symbol): each call is made at the second bar, when order 0 (a limit buy far below the
# market, still open) exists; symbol None means the call concerns no symbol.
CASES = [
    # order: quantities, prices, tif, oco, tag, symbol
    (lambda c: c.order("X", "10"), ORDER, "quantity", "X"),
    (lambda c: c.order("X", True), ORDER, "quantity", "X"),
    (lambda c: c.order("X", np.True_), ORDER, "quantity", "X"),
    (lambda c: c.order("X", None), ORDER, "quantity", "X"),
    (lambda c: c.order("X", 1 + 0j), ORDER, "quantity", "X"),
    (lambda c: c.order("X", 1, limit="100"), ORDER, "limit", "X"),
    (lambda c: c.order("X", 1, limit=True), ORDER, "limit", "X"),
    (lambda c: c.order("X", 1, stop=True), ORDER, "stop", "X"),
    (lambda c: c.order("X", -1, trail_amount=True), ORDER, "trail_amount", "X"),
    (lambda c: c.order("X", -1, trail_percent="0.1"), ORDER, "trail_percent", "X"),
    (lambda c: c.order("X", 1, tif=["gtc"]), ORDER, "tif", "X"),
    (lambda c: c.order("X", 1, tif=None), ORDER, "tif", "X"),
    (lambda c: c.order("X", 1, oco=["group"]), ORDER, "oco", "X"),
    (lambda c: c.order("X", 1, oco={}), ORDER, "oco", "X"),
    (lambda c: c.order("X", 1, tag=5), ORDER, "tag", "X"),
    (lambda c: c.order("X", 1, tag=b"entry"), ORDER, "tag", "X"),
    (lambda c: c.order("ZZZ", 1), ORDER, "symbol", "ZZZ"),
    (lambda c: c.order(["X"], 1), ORDER, "symbol", "['X']"),
    (lambda c: c.order(None, 1), ORDER, "symbol", "None"),
    # bracket
    (lambda c: c.bracket("X", "1", stop_loss=90.0, take_profit=110.0), ORDER, "quantity", "X"),
    (lambda c: c.bracket("X", True, stop_loss=90.0, take_profit=110.0), ORDER, "quantity", "X"),
    (lambda c: c.bracket("X", 1, stop_loss=True, take_profit=110.0), ORDER, "stop_loss", "X"),
    (lambda c: c.bracket("X", 1, stop_loss=90.0, take_profit="110"), ORDER, "take_profit", "X"),
    (lambda c: c.bracket("X", 1, stop_loss=90.0, take_profit=110.0, limit="99"), ORDER, "limit", "X"),
    (lambda c: c.bracket("X", 1, stop_loss=90.0, take_profit=110.0, tag=7), ORDER, "tag", "X"),
    (lambda c: c.bracket("X", 1, stop_loss=90.0, take_profit=110.0, tif="gtd"), ORDER, "tif", "X"),
    (lambda c: c.bracket("ZZZ", 1, stop_loss=90.0, take_profit=110.0), ORDER, "symbol", "ZZZ"),
    # target orders
    (lambda c: c.order_target("X", "5"), ORDER, "quantity", "X"),
    (lambda c: c.order_target("X", True), ORDER, "quantity", "X"),
    (lambda c: c.order_target("X", 5, limt=99.0), ORDER, "limt", "X"),
    (lambda c: c.order_target("X", 5, tag=3), ORDER, "tag", "X"),
    (lambda c: c.order_target("X", 5, oco=[1]), ORDER, "oco", "X"),
    (lambda c: c.order_target("ZZZ", 5), ORDER, "symbol", "ZZZ"),
    (lambda c: c.order_target_value("X", "1000"), ORDER, "value", "X"),
    (lambda c: c.order_target_value("X", True), ORDER, "value", "X"),
    (lambda c: c.order_target_value("X", 1000.0, tif="never"), ORDER, "tif", "X"),
    (lambda c: c.order_target_percent("X", "0.5"), ORDER, "fraction", "X"),
    (lambda c: c.order_target_percent("X", True), ORDER, "fraction", "X"),
    (lambda c: c.order_target_percent("X", 0.5, stopp=90.0), ORDER, "stopp", "X"),
    (lambda c: c.order_target_weights([("X", 0.5)]), ORDER, "weights", None),
    (lambda c: c.order_target_weights({"X": "0.5"}), ORDER, "weights", "X"),
    (lambda c: c.order_target_weights({"X": True}), ORDER, "weights", "X"),
    (lambda c: c.order_target_weights({"X": math.nan}), ORDER, "weights", "X"),
    (lambda c: c.order_target_weights({"ZZZ": 0.5}), ORDER, "symbol", "ZZZ"),
    (lambda c: c.order_target_weights({5: 0.5}), ORDER, "symbol", "5"),
    (lambda c: c.order_target_weights({"X": 0.5}, liquidate_others="yes"), ORDER, "liquidate_others", None),
    # ids
    (lambda c: c.cancel(-1), ORDER, "order_id", None),
    (lambda c: c.cancel(True), ORDER, "order_id", None),
    (lambda c: c.cancel("0"), ORDER, "order_id", None),
    (lambda c: c.cancel(0.0), ORDER, "order_id", None),
    (lambda c: c.cancel(None), ORDER, "order_id", None),
    (lambda c: c.cancel(2**64), ORDER, "order_id", None),
    (lambda c: c.order_status(-1), ORDER, "order_id", None),
    (lambda c: c.order_status(False), ORDER, "order_id", None),
    (lambda c: c.order_status("0"), ORDER, "order_id", None),
    (lambda c: c.order_status(99), ORDER, "order_id", None),
    (lambda c: c.order_info(-1), ORDER, "order_id", None),
    (lambda c: c.order_info(2**70), ORDER, "order_id", None),
    (lambda c: c.order_info(1.5), ORDER, "order_id", None),
    # symbols of the queries
    (lambda c: c.cancel_all("ZZZ"), ORDER, "symbol", "ZZZ"),
    (lambda c: c.cancel_all(5), ORDER, "symbol", "5"),
    (lambda c: c.open_orders("ZZZ"), ORDER, "symbol", "ZZZ"),
    (lambda c: c.position("ZZZ"), ORDER, "symbol", "ZZZ"),
    (lambda c: c.position(["X"]), ORDER, "symbol", "['X']"),
    (lambda c: c.price("ZZZ"), ORDER, "symbol", "ZZZ"),
    # timers (settings of a timer: ConfigError, like the rest of schedule's arguments)
    (lambda c: c.schedule(after="1h", name=5), CONFIG, "name", None),
    (lambda c: c.schedule(at="garbage"), CONFIG, "at", None),
    (lambda c: c.schedule(at=2**70), CONFIG, "at", None),
    (lambda c: c.schedule(after=True), CONFIG, "after", None),
    (lambda c: c.schedule(after=dt.timedelta(days=200_000)), CONFIG, "after", None),
    (lambda c: c.cancel_timer(-1), CONFIG, "timer_id", None),
    (lambda c: c.cancel_timer(True), CONFIG, "timer_id", None),
    (lambda c: c.cancel_timer("0"), CONFIG, "timer_id", None),
]


@pytest.mark.parametrize(("call", "error", "argument", "symbol"), CASES)
def test_every_ctx_method_refuses_bad_values_naming_argument_symbol_and_clock(call, error, argument, symbol):
    seen = {}

    def attempt(ctx):
        before = ctx.open_orders()
        with pytest.raises(error) as info:
            call(ctx)
        seen["error"] = info.value
        seen["open"] = (before, ctx.open_orders())

    res, _ = run(make_bars([FLAT, FLAT, FLAT]), {0: lambda ctx: ctx.order("X", 1, limit=1.0), 1: attempt})
    raised = seen["error"]
    assert type(raised) is error
    assert (raised.argument, raised.symbol) == (argument, symbol)
    assert f"argument {argument!r}" in str(raised)
    if symbol is not None:
        assert f"symbol {symbol!r}" in str(raised)
    assert raised.timestamp == ns(day(1))  # the strategy's clock when the call was made
    assert format_ns(ns(day(1))) in str(raised)
    assert seen["open"] == ([0], [0])  # nothing submitted, nothing cancelled
    assert res.orders.height == 1


def test_bad_values_inside_a_bracket_submit_none_of_its_legs():
    def attempt(ctx):
        with pytest.raises(ml4t.OrderError):
            ctx.bracket("X", 1, stop_loss=90.0, take_profit=110.0, tag=["not", "a", "string"])

    res, _ = run(make_bars([FLAT, FLAT]), {0: attempt})
    assert res.orders.is_empty()


def test_good_values_of_every_accepted_type_still_work():
    def act(ctx):
        return [
            ctx.order("X", np.int64(2)),
            ctx.order("X", np.float32(1.0), limit=np.float64(50.0), tag="dip", oco=("pair", 1)),
            ctx.order("X", -1, stop=50, oco=("pair", 1)),
            ctx.order_status(np.int64(0)),
            ctx.cancel(np.uint32(1)),
            ctx.order_target("X", 5, tif="day", tag="t"),
        ]

    res, out = run(make_bars([FLAT, FLAT]), {0: act})
    assert out[0][:3] == [0, 1, 2]
    assert out[0][3] == "open"
    assert out[0][4] is True
    assert res.orders.height == 4
    assert res.orders.filter(res.orders["order_id"] == 1)["tag"].to_list() == ["dip"]


class Keeper(Strategy):
    def on_bar(self, ctx, bars):
        self.ctx = ctx
        self.first = ctx.order("X", 1)


@pytest.mark.parametrize(
    ("call", "symbol"),
    [
        (lambda c: c.order("X", 1), "X"),
        (lambda c: c.bracket("X", 1, stop_loss=90.0, take_profit=110.0), "X"),
        (lambda c: c.order_target("X", 5), "X"),
        (lambda c: c.order_target_value("X", 500.0), "X"),
        (lambda c: c.order_target_percent("X", 0.1), "X"),
        (lambda c: c.order_target_weights({"X": 0.1}), None),
        (lambda c: c.order_target_weights({}, liquidate_others=True), None),
        (lambda c: c.cancel(0), None),
        (lambda c: c.cancel_all(), None),
        (lambda c: c.schedule(after="1h"), None),
        (lambda c: c.cancel_timer(0), None),
    ],
)
def test_a_ctx_kept_after_the_run_refuses_to_act(call, symbol):
    strategy = Keeper()
    data = make_bars([FLAT, FLAT])
    res = Engine(data, strategy).run()
    ctx = strategy.ctx
    with pytest.raises(ml4t.OrderError, match="the run is over") as info:
        call(ctx)
    assert info.value.symbol == symbol
    assert info.value.timestamp == ns(day(1))
    # reading the final state still works, and the result is untouched
    assert ctx.position("X") == 1.0
    assert ctx.order_status(strategy.first) == "open"
    assert ctx.open_orders() == [strategy.first]
    assert res.orders.height == 2


def test_orders_from_on_end_are_still_accepted():
    class Late(Strategy):
        def on_end(self, ctx):
            self.id = ctx.order("X", 1, tag="late")

    res = Engine(make_bars([FLAT]), Late()).run()
    assert res.orders["status"].to_list() == ["open"]
    assert res.orders["tag"].to_list() == ["late"]


ANY_VALUE = st.one_of(
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(),
    st.booleans(),
    st.none(),
    st.text(max_size=4),
    st.binary(max_size=2),
    st.decimals(allow_nan=False, allow_infinity=False, places=2),
    st.complex_numbers(max_magnitude=10),
    st.lists(st.integers(), max_size=2),
)


def as_float(value: float) -> float:
    try:
        return float(value)
    except OverflowError:
        return math.inf


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=ANY_VALUE)
def test_a_quantity_is_accepted_exactly_when_it_is_a_finite_non_zero_int_or_float(value):
    accepted = type(value) in (int, float) and value != 0 and math.isfinite(as_float(value))
    seen = {}

    def attempt(ctx):
        try:
            seen["id"] = ctx.order("X", value)
        except ml4t.OrderError as error:
            seen["error"] = error

    res, _ = run(make_bars([FLAT]), {0: attempt})
    if accepted:
        assert seen == {"id": 0}
        assert res.orders["quantity"].to_list() == [abs(float(value))]
    else:
        assert set(seen) == {"error"}
        assert (seen["error"].argument, seen["error"].symbol, seen["error"].timestamp) == ("quantity", "X", ns(day(0)))
        assert res.orders.is_empty()

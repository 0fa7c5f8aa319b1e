"""The Python surface of the event engine: hooks and how often Python is entered, what ``ctx`` sees and does
(portfolio views, cancels, target orders, timers), point-in-time signals, indicators, the bar batch, and the
errors malformed requests and settings raise."""

from __future__ import annotations

import datetime as dt
import math
from typing import ClassVar

import numpy as np
import polars as pl
import pytest
from tests.event.scenario import FLAT, HOUR, T0, day, fills, make_bars, order, panel, run

import ml4t
from ml4t.data import signals
from ml4t.event import Bar, Engine, Fill, Strategy, Timer


def ns(t: dt.datetime) -> int:
    return int(t.timestamp()) * 1_000_000_000


# ------------------------------------------------------------------------------------------- entering Python
def test_python_is_entered_at_most_once_per_timestamp():
    # 3 symbols on days 0..3, except C, which trades on days 0 and 2 only; orders fill and a timer fires on
    # timestamps that also have bars: still one call each.
    per_symbol = {"A": [FLAT] * 4, "B": [FLAT] * 4}
    data = ml4t.data.bars(
        pl.concat(
            [
                panel(per_symbol).frame.select("ts_event", "symbol", "open", "high", "low", "close", "volume"),
                make_bars([FLAT, FLAT], symbol="C", times=[day(0), day(2)]).frame.select(
                    "ts_event", "symbol", "open", "high", "low", "close", "volume"
                ),
            ]
        )
    )

    class Counting(Strategy):
        def __init__(self):
            self.events = []

        def on_start(self, ctx):
            ctx.schedule(at=day(2), name="same time as bars")

        def on_event(self, ctx, event):
            self.events.append((event.ts, event.bars.symbols, len(event.fills), len(event.timers)))
            super().on_event(ctx, event)

        def on_bar(self, ctx, bars):
            for bar in bars:
                ctx.order(bar.symbol, 1)

        def on_fill(self, ctx, fills):
            pass

        def on_timer(self, ctx, timers):
            pass

    strategy = Counting()
    res = Engine(data, strategy).run()
    stamps = [e[0] for e in strategy.events]
    assert stamps == [ns(day(i)) for i in range(4)]
    assert len(set(stamps)) == len(stamps) == res.equity.height
    assert [e[1] for e in strategy.events] == [("A", "B", "C"), ("A", "B"), ("A", "B", "C"), ("A", "B")]
    # A and B fill each day at the next open; C's day 0 order waits for C's next bar, on day 2
    assert [e[2] for e in strategy.events] == [0, 2, 3, 2]
    assert [e[3] for e in strategy.events] == [0, 0, 1, 0]


def test_the_default_on_event_dispatches_fills_signals_timers_then_bars():
    sig = signals(
        pl.DataFrame({"ts_event": [day(1)], "symbol": ["X"], "score": [1.0]}), ts_arrival="1d"
    )  # arrives with day 2's bar

    class Recording(Strategy):
        def __init__(self):
            self.calls = []

        def on_start(self, ctx):
            ctx.schedule(at=day(2))

        def on_bar(self, ctx, bars):
            self.calls.append(("bar", ctx.now))
            if ctx.now == day(1):
                ctx.order("X", 1)

        def on_fill(self, ctx, fills):
            self.calls.append(("fill", ctx.now))

        def on_signal(self, ctx, signals):
            self.calls.append(("signal", ctx.now))

        def on_timer(self, ctx, timers):
            self.calls.append(("timer", ctx.now))

    strategy = Recording()
    Engine(make_bars([FLAT] * 3), strategy, signals=sig).run()
    assert [c for c, t in strategy.calls if t == day(2)] == ["fill", "signal", "timer", "bar"]
    assert [c for c, t in strategy.calls if t != day(2)] == ["bar", "bar"]


@pytest.mark.parametrize(("execution", "filled_on", "reported_on"), [("next_open", 1, 1), ("close", 0, 1)])
def test_on_fill_gets_each_execution_once_at_the_next_event(execution, filled_on, reported_on):
    class Filled(Strategy):
        def __init__(self):
            self.fills = []

        def on_bar(self, ctx, bars):
            if ctx.now == day(0):
                ctx.order("X", 4, tag="t")

        def on_fill(self, ctx, fills):
            self.fills.extend((ctx.now, f) for f in fills)

    strategy = Filled()
    Engine(make_bars([FLAT, (101.0, 102.0, 100.0, 101.0, 1e6), FLAT]), strategy, execution=execution).run()
    price = 101.0 if execution == "next_open" else 100.0
    assert strategy.fills == [(day(reported_on), Fill(0, ns(day(filled_on)), "X", "buy", 4.0, price, 0.0, 0.0, "t"))]


def test_on_start_and_on_end_run_once_and_orders_from_on_end_stay_open():
    class Ends(Strategy):
        def __init__(self):
            self.calls = []

        def on_start(self, ctx):
            self.calls.append("start")

        def on_bar(self, ctx, bars):
            self.calls.append("bar")

        def on_end(self, ctx):
            self.calls.append("end")
            self.last = ctx.order("X", 1)

    strategy = Ends()
    res = Engine(make_bars([FLAT, FLAT]), strategy).run()
    assert strategy.calls == ["start", "bar", "bar", "end"]
    assert order(res, strategy.last)["status"] == "open"


@pytest.mark.parametrize(("execution", "price"), [("next_open", 90.0), ("close", 95.0)])
def test_on_start_runs_just_before_the_first_bar_and_its_orders_fill_in_the_first_bar(execution, price):
    # The clock starts 1 ns before the first bar's interval (the 24h bar stamped T0 starts a day earlier); an
    # order from on_start is working before the first bar starts, so a market order fills in it: at its open
    # (next_open), or at its close (close, as for any order decided between bars).
    class Early(Strategy):
        def on_start(self, ctx):
            self.start = (ctx.now_ns, ctx.now)
            self.id = ctx.order("X", 2, tag="from on_start")

    strategy = Early()
    first = (90.0, 96.0, 89.0, 95.0, 1e6)
    res = Engine(make_bars([first, FLAT]), strategy, execution=execution).run()
    start = T0 - dt.timedelta(days=1)
    assert strategy.start == (ns(start) - 1, start - dt.timedelta(microseconds=1))  # now is truncated to µs
    assert fills(res, strategy.id) == [(day(0), price, 2.0)]
    row = order(res, strategy.id)
    assert (row["status"], row["tag"], row["ts_submitted"]) == ("filled", "from on_start", strategy.start[1])


def test_the_clock_starts_just_before_a_signal_that_arrives_before_the_first_bar():
    # The first event is a signal arriving 9h before the first bar's stamp, inside its 24h interval: on_start
    # is 1 ns before that interval starts, and a market order from on_start fills at the first bar's open.
    arrival = day(0) - 9 * HOUR
    sig = signals(pl.DataFrame({"ts_event": [arrival - HOUR], "symbol": ["X"], "score": [1.0]}), ts_arrival="1h")

    class Early(Strategy):
        def on_start(self, ctx):
            self.start = ctx.now_ns
            self.id = ctx.order("X", 1)

        def on_signal(self, ctx, signals):
            self.signal_at = ctx.now_ns

    strategy = Early()
    res = Engine(make_bars([(90.0, 91.0, 89.0, 90.0, 1e6), FLAT]), strategy, signals=sig).run()
    assert (strategy.start, strategy.signal_at) == (ns(day(0) - dt.timedelta(days=1)) - 1, ns(arrival))
    assert fills(res, strategy.id) == [(day(0), 90.0, 1.0)]


# ---------------------------------------------------------------------------------------------- ctx views
def test_ctx_reports_time_portfolio_and_prices():
    data = panel({"B": [FLAT, (100.0, 110.0, 95.0, 105.0, 1e6)], "A": [FLAT, (50.0, 51.0, 49.0, 50.0, 1e6)]})
    seen = {}

    def look(ctx):
        seen.update(
            now=ctx.now,
            now_ns=ctx.now_ns,
            symbols=ctx.symbols,
            positions=ctx.positions,
            price=ctx.price("B"),
            cash=ctx.cash,
            equity=ctx.equity,
            flat=ctx.position("A"),
        )

    run(data, {0: lambda ctx: ctx.order("B", 10), 1: look})
    assert seen == {
        "now": day(1),
        "now_ns": ns(day(1)),
        "symbols": ["A", "B"],
        "positions": {"B": 10.0},
        "price": 105.0,
        "cash": 9_000.0,
        "equity": 9_000.0 + 1_050.0,
        "flat": 0.0,
    }
    assert seen["now"].tzinfo is not None


def test_cancel_open_orders_and_order_status():
    data = panel({"A": [FLAT] * 3, "B": [FLAT] * 3})
    seen = {}

    def place(ctx):
        a, b, c = (ctx.order("A", 1, limit=p) for p in (50.0, 60.0, 70.0))
        d = ctx.order("B", 1, limit=50.0)
        m = ctx.order("A", 1)
        seen["all"] = ctx.open_orders()
        seen["B"] = ctx.open_orders("B")
        seen["cancel"] = [ctx.cancel(b), ctx.cancel(b)]
        seen["status"] = [ctx.order_status(i) for i in (a, b, m)]
        seen["cancel_all_A"] = ctx.cancel_all("A")  # a, c and the market order m
        seen["left"] = ctx.open_orders()
        return a, b, c, d, m

    def later(ctx):
        seen["later"] = ctx.order_status(3)
        with pytest.raises(ml4t.OrderError, match="no order with id 99") as info:
            ctx.order_status(99)
        assert info.value.argument == "order_id"
        seen["cancel_unknown"] = ctx.cancel(99)

    res, ids = run(data, {0: place, 1: later})
    a, b, c, d, m = ids[0]
    assert seen == {
        "all": [a, b, c, d, m],
        "B": [d],
        "cancel": [True, False],
        "status": ["open", "cancelled", "open"],
        "cancel_all_A": 3,
        "left": [d],
        "later": "open",
        "cancel_unknown": False,
    }
    assert res.orders.filter(pl.col("status") == "cancelled")["reason"].unique().to_list() == [
        "cancelled by the strategy"
    ]
    assert order(res, d)["status"] == "open"


def test_cancel_all_counts_every_order_it_cancelled():
    # cancelling a bracket entry also cancels its two held legs: 3 orders closed, and cancel_all says 3
    def place(ctx):
        ctx.bracket("X", 1, stop_loss=40.0, take_profit=120.0, limit=50.0)
        return ctx.cancel_all(), ctx.open_orders(), ctx.cancel_all()

    res, ids = run(make_bars([FLAT, FLAT]), {0: place})
    assert res.orders["status"].to_list() == ["cancelled"] * 3
    assert ids[0] == (3, [], 0)


def test_order_status_follows_the_order():
    seen = []
    run(
        make_bars([FLAT, FLAT, FLAT]),
        {
            0: lambda ctx: seen.extend([ctx.order("X", 1), ctx.order("X", 1000)]) or seen.append(ctx.order_status(0)),
            1: lambda ctx: seen.extend([ctx.order_status(0), ctx.order_status(1)]),
        },
    )
    assert seen == [0, 1, "open", "filled", "rejected"]


# --------------------------------------------------------------------------------------------- target orders
def test_order_target_counts_open_market_orders_as_pending():
    seen = {}

    def first(ctx):
        seen["buy"] = ctx.order_target("X", 10)
        seen["again"] = ctx.order_target("X", 10)  # 10 already on the way
        seen["more"] = ctx.order_target("X", 12)  # 2 more

    def second(ctx):
        seen["position"] = ctx.position("X")
        seen["sell"] = ctx.order_target("X", 4)

    res, _ = run(make_bars([FLAT] * 3), {0: first, 1: second})
    assert seen["again"] is None
    assert seen["position"] == 12.0
    assert res.orders.select("side", "quantity").rows() == [("buy", 10.0), ("buy", 2.0), ("sell", 8.0)]
    assert res.positions["position_qty"][-1] == 4.0


@pytest.mark.parametrize(
    ("call", "fractional", "expected"),
    [
        (lambda ctx: ctx.order_target_value("X", 1_000.0), False, 33.0),  # 1,000 / 30 = 33.3 -> 33
        (lambda ctx: ctx.order_target_value("X", 1_000.0), True, 1_000.0 / 30.0),
        (lambda ctx: ctx.order_target_value("X", -1_000.0), False, -33.0),  # toward zero
        (lambda ctx: ctx.order_target_percent("X", 0.5), False, 166.0),  # 5,000 / 30 = 166.7
        (lambda ctx: ctx.order_target_percent("X", -0.25), False, -83.0),  # -2,500 / 30 = -83.3
    ],
)
def test_target_value_and_percent_trade_whole_units_unless_fractional(call, fractional, expected):
    rows = [(30.0, 30.0, 30.0, 30.0, 1e6)] * 2
    res, _ = run(make_bars(rows), {0: call}, fractional=fractional)
    assert res.positions["position_qty"][-1] == pytest.approx(expected)


def test_order_target_weights_sells_first_and_can_liquidate_the_rest():
    data = panel({"A": [FLAT] * 3, "B": [(50.0, 50.0, 50.0, 50.0, 1e6)] * 3})
    seen = {}

    def rebalance(ctx):
        seen["ids"] = ctx.order_target_weights({"B": 0.5}, liquidate_others=True)

    res, _ = run(data, {0: lambda ctx: ctx.order_target_weights({"A": 0.5, "B": 0.25}), 1: rebalance})
    # day 0: 5,000 of A at 100 = 50 units, 2,500 of B at 50 = 50 units
    # day 1: B to 5,000 = 100 units (+50), A to 0 (-50): the sell is submitted first
    assert res.orders.select("symbol", "side", "quantity").rows() == [
        ("A", "buy", 50.0),
        ("B", "buy", 50.0),
        ("A", "sell", 50.0),
        ("B", "buy", 50.0),
    ]
    assert seen["ids"] == [2, 3]
    final = res.positions.filter(pl.col("ts_event") == day(2)).select("symbol", "position_qty").rows()
    assert final == [("A", 0.0), ("B", 100.0)]


# -------------------------------------------------------------------------------------------------- timers
def test_timers_fire_between_bars_by_name():
    class Timed(Strategy):
        def __init__(self):
            self.fired = []

        def on_start(self, ctx):
            ctx.schedule(at=day(0) + 2 * HOUR, name="morning")
            ctx.schedule(at="2024-01-03T09:00:00+00:00", name="iso")

        def on_timer(self, ctx, timers):
            self.fired.extend((ctx.now, t.name, t.ts) for t in timers)
            if ctx.now == day(0) + 2 * HOUR:
                ctx.order("X", 1)  # decided inside bar 1's 24h interval: fills at bar 2's open
                ctx.schedule(after="1h", name="relative")

    strategy = Timed()
    res = Engine(make_bars([FLAT, (101.0, 102.0, 100.0, 101.0, 1e6), FLAT]), strategy).run()
    at = [day(0) + 2 * HOUR, day(0) + 3 * HOUR, dt.datetime(2024, 1, 3, 9, tzinfo=dt.UTC)]
    assert strategy.fired == [(at[0], "morning", ns(at[0])), (at[1], "relative", ns(at[1])), (at[2], "iso", ns(at[2]))]
    assert fills(res) == [(day(2), 100.0, 1.0)]


def test_a_repeating_timer_fires_every_period():
    # From 22:00 after bar 0, every 12h until the data ends with bar 3 (day 3, 21:00): 6 firings, the last at
    # 10:00 on the day of bar 3; the next one (22:00 that day) would be after the data.
    class Repeating(Strategy):
        def __init__(self):
            self.fired = []

        def on_start(self, ctx):
            ctx.schedule(at=day(0) + HOUR, every="12h", name="twice a day")

        def on_timer(self, ctx, timers):
            self.fired.extend((ctx.now, t.name) for t in timers)
            if len(self.fired) > 50:
                raise RuntimeError(f"runaway timer at {ctx.now}")

    strategy = Repeating()
    Engine(make_bars([FLAT] * 4), strategy).run()
    assert strategy.fired == [(day(0) + HOUR + i * 12 * HOUR, "twice a day") for i in range(6)]


def test_a_timer_event_carries_an_empty_bar_batch():
    class Timed(Strategy):
        def on_start(self, ctx):
            ctx.schedule(at=day(0) + HOUR)

        def on_event(self, ctx, event):
            if event.timers:
                self.event = event

    strategy = Timed()
    Engine(make_bars([FLAT, FLAT]), strategy).run()
    event = strategy.event
    assert (len(event.bars), bool(event.bars), len(event.signals), event.fills) == (0, False, 0, [])
    assert event.timers == [Timer(0, None, ns(day(0) + HOUR))]
    assert event.time == day(0) + HOUR


@pytest.mark.parametrize(
    ("kwargs", "argument", "match"),
    [
        ({}, "at", "exactly one of at= and after="),
        ({"at": day(1), "after": "1h"}, "at", "exactly one of at= and after="),
        ({"after": "1h", "every": "0s"}, "every", "positive"),
        ({"after": "soon"}, "after", "cannot parse duration"),
        ({"at": day(0)}, "at", "must fire after the current time"),
        ({"at": day(0) - HOUR}, "at", "must fire after the current time"),
    ],
)
def test_bad_timers_are_config_errors(kwargs, argument, match):
    def schedule(ctx):
        with pytest.raises(ml4t.ConfigError, match=match) as info:
            ctx.schedule(**kwargs)
        assert info.value.argument == argument

    run(make_bars([FLAT, FLAT]), {0: schedule})


def test_schedule_after_in_on_start_counts_from_just_before_the_first_event():
    # on_start's clock is 1 ns before the first bar's interval (a day before its stamp T0), so after="25h"
    # fires 1h after T0: between bars 0 and 1
    class Early(Strategy):
        def on_start(self, ctx):
            ctx.schedule(after="25h")

        def on_timer(self, ctx, timers):
            self.at = (ctx.now_ns, [t.ts for t in timers], ctx.position("X"))

        def on_bar(self, ctx, bars):
            if ctx.now == day(0):
                ctx.order("X", 1)

    strategy = Early()
    Engine(make_bars([FLAT, FLAT]), strategy).run()
    at = ns(T0 + HOUR) - 1
    assert strategy.at == (at, [at], 0.0)  # after bar 0 (T0), before bar 1 fills the order


def test_a_repeating_timer_stops_with_the_data():
    class Forever(Strategy):
        def __init__(self):
            self.fired = []

        def on_start(self, ctx):
            ctx.schedule(at=day(0) + HOUR, every="1d")

        def on_timer(self, ctx, timers):
            self.fired.append(ctx.now)
            if len(self.fired) > 50:
                raise RuntimeError(f"runaway timer at {ctx.now}")

    strategy = Forever()
    Engine(make_bars([FLAT] * 4), strategy).run()
    assert strategy.fired == [day(i) + HOUR for i in range(3)]


def test_timers_fire_at_the_last_bars_time_but_never_after_the_data():
    class Late(Strategy):
        def __init__(self):
            self.fired = []

        def on_start(self, ctx):
            ctx.schedule(at=day(2), name="with the last bar")
            ctx.schedule(at=day(2) + dt.timedelta(microseconds=1), name="just after")
            ctx.schedule(at=day(9), name="long after")

        def on_timer(self, ctx, timers):
            self.fired.extend((ctx.now, t.name) for t in timers)

        def on_end(self, ctx):
            self.end = ctx.now

    strategy = Late()
    Engine(make_bars([FLAT] * 3), strategy).run()
    assert strategy.fired == [(day(2), "with the last bar")]
    assert strategy.end == day(2)


def test_cancel_timer_stops_a_timer_before_it_fires():
    class Cancelling(Strategy):
        def __init__(self):
            self.fired = []

        def on_start(self, ctx):
            self.once = ctx.schedule(at=day(1) + HOUR, name="once")
            self.repeating = ctx.schedule(at=day(0) + HOUR, every="12h", name="repeating")
            ctx.schedule(at=day(1) + 2 * HOUR, name="kept")
            self.results = [ctx.cancel_timer(self.repeating)]

        def on_bar(self, ctx, bars):
            if ctx.now == day(0):
                self.results += [ctx.cancel_timer(self.once), ctx.cancel_timer(self.once), ctx.cancel_timer(99)]

        def on_timer(self, ctx, timers):
            self.fired.extend((ctx.now, t.name) for t in timers)

    strategy = Cancelling()
    Engine(make_bars([FLAT] * 3), strategy).run()
    assert strategy.results == [True, True, False, False]  # a second cancel, an unknown id: False
    assert strategy.fired == [(day(1) + 2 * HOUR, "kept")]


@pytest.mark.parametrize("which", ["scheduled id", "fired timer's id"])
def test_cancel_timer_stops_the_repetitions_of_a_timer_that_already_fired(which):
    class Cancelling(Strategy):
        def __init__(self):
            self.fired = []

        def on_start(self, ctx):
            self.id = ctx.schedule(at=day(0) + HOUR, every="12h")

        def on_timer(self, ctx, timers):
            self.fired.append(ctx.now)
            if len(self.fired) == 2:
                self.cancelled = ctx.cancel_timer(self.id if which == "scheduled id" else timers[0].timer_id)

    strategy = Cancelling()
    Engine(make_bars([FLAT] * 4), strategy).run()
    assert strategy.cancelled is True
    assert strategy.fired == [day(0) + HOUR, day(0) + 13 * HOUR]  # nothing after the cancel


# ------------------------------------------------------------------------------------------------- signals
def test_signals_arrive_point_in_time_and_are_never_seen_early():
    # Values about days 0 and 1, each arriving 36h later: 09:00 on the days between bars 1-2 and 2-3.
    sig = signals(
        pl.DataFrame({"ts_event": [day(0), day(1)], "symbol": ["X", "X"], "score": [1.0, 2.0]}), ts_arrival="36h"
    )
    arrivals = [day(0) + 36 * HOUR, day(1) + 36 * HOUR]

    class Reader(Strategy):
        def __init__(self):
            self.seen = []
            self.batches = []

        def on_event(self, ctx, event):
            if event.signals:
                self.batches.append((ctx.now, event.signals.symbols, event.signals["score"].tolist()))
                ctx.order("X", 1)
            history = ctx.data.signal_history("score", 10, "X")
            self.seen.append((ctx.now, ctx.data.signal("score", "X"), len(history)))

    strategy = Reader()
    res = Engine(make_bars([FLAT] * 4), strategy, signals=sig).run()
    assert strategy.batches == [(arrivals[0], ("X",), [1.0]), (arrivals[1], ("X",), [2.0])]
    assert strategy.seen == [
        (day(0), None, 0),
        (day(1), None, 0),  # the day 0 value exists but has not arrived
        (arrivals[0], 1.0, 1),
        (day(2), 1.0, 1),
        (arrivals[1], 2.0, 2),
        (day(3), 2.0, 2),
    ]
    # orders decided on arrival (09:00) fill at the open of the first bar that starts after it (a 24h bar
    # stamped 21:00 starts at 21:00 the day before): the bar after next; the second order finds no such bar
    assert [f[0] for f in fills(res)] == [day(3)]


# ---------------------------------------------------------------------------------------------- indicators
def test_indicators_arrive_as_bar_fields_per_symbol():
    closes = {"A": [1.0, 2.0, 3.0, 4.0, 5.0], "B": [10.0, 20.0, 30.0, 40.0, 50.0]}
    data = panel({s: [(c, c, c, c, 1e6) for c in cs] for s, cs in closes.items()})

    class WithIndicators(Strategy):
        indicators: ClassVar = {"fast": pl.col("close").rolling_mean(3)}

        def __init__(self):
            self.seen = []

        def on_bar(self, ctx, bars):
            a = bars.get("A")
            self.seen.append((bars["fast"].tolist(), a.fast, a["fast"], ctx.data.latest("fast", "B")))

    strategy = WithIndicators()
    Engine(data, strategy).run()
    # rolling means of 3 closes, per symbol: NaN, NaN, 2, 3, 4 and NaN, NaN, 20, 30, 40
    assert all(math.isnan(v) for row in strategy.seen[:2] for v in (*row[0], row[1], row[2], row[3]))
    assert [row[0] for row in strategy.seen[2:]] == [[2.0, 20.0], [3.0, 30.0], [4.0, 40.0]]
    assert [(row[1], row[2]) for row in strategy.seen[2:]] == [(2.0, 2.0), (3.0, 3.0), (4.0, 4.0)]
    assert [row[3] for row in strategy.seen[2:]] == [20.0, 30.0, 40.0]


def test_indicators_may_be_a_method_for_parameterised_strategies():
    class Param(Strategy):
        def __init__(self, n):
            self.n = n
            self.seen = []

        def indicators(self):
            return {"slow": pl.col("close").rolling_mean(self.n)}

        def on_bar(self, ctx, bars):
            self.seen.append(bars.get("X").slow)

    strategy = Param(2)
    Engine(make_bars([(c, c, c, c, 1e6) for c in (1.0, 3.0, 5.0)]), strategy).run()
    assert strategy.seen[1:] == [2.0, 4.0]


@pytest.mark.parametrize(
    ("indicators", "column", "match"),
    [
        ({"close": pl.col("close").shift(1)}, "close", "name of a bar column"),
        ({"fast": 3.0}, "fast", "Polars expressions"),
    ],
)
def test_bad_indicators_are_config_errors(indicators, column, match):
    class Bad(Strategy):
        pass

    Bad.indicators = indicators
    with pytest.raises(ml4t.ConfigError, match=match) as info:
        Engine(make_bars([FLAT]), Bad()).run()
    assert (info.value.argument, info.value.column) == ("indicators", column)


# --------------------------------------------------------------------------------------------- the bar batch
def test_the_bar_batch_and_bars():
    data = panel({"A": [FLAT], "B": [(50.0, 52.0, 48.0, 51.0, 7.0)]})

    class Look(Strategy):
        def on_bar(self, ctx, bars):
            self.bars = bars
            self.checks = {
                "symbols": bars.symbols,
                "len": len(bars),
                "in": ("B" in bars, "Z" in bars),
                "close": bars["close"].tolist(),
                "attr": bars.volume.tolist(),
                "iter": [(b.symbol, b.close) for b in bars],
                "get": bars.get("Z"),
                "ts": bars.get("B").ts_event,
                "fields": {"open", "high", "low", "close", "volume", "ts_event", "ts_arrival"} <= set(bars.fields),
            }
            with pytest.raises(ValueError, match="read-only"):
                bars["close"][0] = 1.0
            with pytest.raises(ml4t.DataError, match="unknown bar field") as info:
                bars["nope"]
            assert info.value.column == "nope"
            with pytest.raises(AttributeError, match="no field 'nope'"):
                _ = bars.get("A").nope
            assert isinstance(bars.get("A"), Bar)
            assert "B 2024-01-01T21:00:00+00:00 o=50 h=52 l=48 c=51" in repr(bars.get("B"))

    strategy = Look()
    Engine(data, strategy).run()
    assert strategy.checks == {
        "symbols": ("A", "B"),
        "len": 2,
        "in": (True, False),
        "close": [100.0, 51.0],
        "attr": [1e6, 7.0],
        "iter": [("A", 100.0), ("B", 51.0)],
        "get": None,
        "ts": ns(T0),
        "fields": True,
    }
    assert isinstance(strategy.checks["close"], list)
    assert np.asarray(strategy.bars["close"]).dtype == np.float64


# ------------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("call", "argument", "match"),
    [
        (lambda ctx: ctx.order("ZZZ", 1), "symbol", "unknown symbol"),
        (lambda ctx: ctx.order("X", 0), "quantity", "non-zero"),
        (lambda ctx: ctx.order("X", math.nan), "quantity", "finite"),
        (lambda ctx: ctx.order("X", math.inf), "quantity", "finite"),
        (lambda ctx: ctx.order("X", "ten"), "quantity", "must be a number"),
        (lambda ctx: ctx.order("X", 1, limit=-5.0), "limit", "finite price > 0"),
        (lambda ctx: ctx.order("X", 1, limit=0.0), "limit", "finite price > 0"),
        # a non-finite price is refused by the number check before the > 0 check: "stop must be finite, got nan"
        (lambda ctx: ctx.order("X", 1, stop=math.nan), "stop", "stop must be finite"),
        (lambda ctx: ctx.order("X", 1, limit=math.inf), "limit", "limit must be finite"),
        (lambda ctx: ctx.order("X", 1, stop=99.0, limit=-1.0), "limit", "finite price > 0"),
        (lambda ctx: ctx.order("X", -1, trail_amount=-1.0), "trail_amount", "finite price > 0"),
        (lambda ctx: ctx.order("X", 1, tif="gtd"), "tif", "tif must be one of"),
        (lambda ctx: ctx.order_target("ZZZ", 1), "symbol", "unknown symbol"),
        (lambda ctx: ctx.order_target_value("X", math.inf), "value", "finite"),
        (lambda ctx: ctx.order_target_percent("X", math.nan), "fraction", "finite"),
        (lambda ctx: ctx.order_target_weights({"ZZZ": 0.5}), "symbol", "unknown symbol"),
        (lambda ctx: ctx.bracket("X", 0, stop_loss=90.0, take_profit=110.0), "quantity", "non-zero"),
        (lambda ctx: ctx.bracket("X", 1, stop_loss=90.0, take_profit=110.0, tif="x"), "tif", "tif must be one of"),
        (lambda ctx: ctx.bracket("X", 1, stop_loss=-90.0, take_profit=110.0), "stop_loss", "finite price > 0"),
        (lambda ctx: ctx.bracket("X", 1, stop_loss=90.0, take_profit=math.nan), "take_profit", "finite"),
        (
            lambda ctx: ctx.order("X", -1, trail_amount=1.0, trail_percent=0.1),
            "trail_amount",
            "exactly one of trail_amount",
        ),
        (lambda ctx: ctx.order("X", -1, trail_percent=1.5), "trail_percent", r"trail_percent must be in \(0, 1\)"),
        (lambda ctx: ctx.order("X", 1, limit="cheap"), "limit", "limit must be a number, got 'cheap'"),
        (lambda ctx: ctx.order("X", 1, stop=99.0, limit="x"), "limit", "limit must be a number"),
    ],
)
def test_malformed_requests_raise_order_errors_naming_the_argument_and_symbol(call, argument, match):
    symbol = "ZZZ" if argument == "symbol" else "X"

    def attempt(ctx):
        with pytest.raises(ml4t.OrderError, match=match) as info:
            call(ctx)
        assert (info.value.argument, info.value.symbol) == (argument, symbol)
        assert f"symbol '{symbol}'" in str(info.value)
        assert ctx.open_orders() == []  # nothing was submitted

    res, _ = run(make_bars([FLAT, FLAT]), {0: attempt})
    assert res.orders.is_empty()


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"execution": "open"}, "execution"),
        ({"account": "credit"}, "account"),
        ({"both_touched": "both"}, "both_touched"),
        ({"leverage": 2.0}, "leverage"),  # cash accounts take no leverage
        ({"account": "margin", "leverage": 0.5}, "leverage"),
        ({"init_cash": 0.0}, "init_cash"),
        ({"init_cash": math.nan}, "init_cash"),
        ({"participation": 0.0}, "participation"),
        ({"participation": 1.5}, "participation"),
        ({"multipliers": {"ZZZ": 50.0}}, "multipliers"),
        ({"multipliers": {"X": -1.0}}, "multipliers"),
        ({"multipliers": {"X": math.inf}}, "multipliers"),
        ({"multipliers": {"X": 0.0}}, "multipliers"),
        ({"session_tz": "Mars/Olympus"}, "session_tz"),
        ({"latency": "soon"}, "latency"),
        ({"commission": 0.001}, "commission"),
        ({"commission": ml4t.costs.Bps(1)}, "commission"),
        ({"slippage": ml4t.costs.Percent(0.1)}, "slippage"),
        ({"signals": "predictions"}, "signals"),
        ({"periods_per_year": -1.0}, "periods_per_year"),
        ({"fractional": "yes"}, "fractional"),
    ],
)
def test_bad_engine_settings_are_config_errors_naming_the_argument(kwargs, argument):
    with pytest.raises(ml4t.ConfigError) as info:
        Engine(make_bars([FLAT, FLAT]), Strategy(), **kwargs)  # refused at construction, before any run
    assert info.value.argument == argument
    assert f"argument '{argument}'" in str(info.value)
    if argument == "multipliers":  # the bad entry's symbol is named too
        (symbol,) = kwargs["multipliers"]
        assert info.value.symbol == symbol
        assert f"symbol '{symbol}'" in str(info.value)


@pytest.mark.parametrize(
    ("build", "argument"),
    [
        (lambda: ml4t.costs.Tiered([(100.0, 0.01), (50.0, 0.02)]), "tiers"),
        (lambda: ml4t.costs.VolumeImpact(0.1, 0.0), "exponent"),
        (lambda: ml4t.costs.PerShare(0.005, maximum_rate=0.0), "maximum_rate"),
        (lambda: ml4t.costs.Percent(-0.1), "rate"),
    ],
)
def test_bad_cost_models_are_refused_when_built(build, argument):
    with pytest.raises(ml4t.ConfigError) as info:
        build()
    assert info.value.argument == argument


def test_engine_wants_bars_and_a_strategy_instance():
    with pytest.raises(ml4t.ConfigError, match=r"ml4t\.data\.Bars") as info:
        Engine(make_bars([FLAT]).frame, Strategy())
    assert info.value.argument == "bars"
    with pytest.raises(ml4t.ConfigError, match="Strategy instance") as info:
        Engine(make_bars([FLAT]), Strategy)
    assert info.value.argument == "strategy"


def test_a_strategy_without_hooks_runs_and_records_equity():
    res = Engine(make_bars([FLAT, FLAT, FLAT]), Strategy(), init_cash=5_000.0).run()
    assert res.equity["equity"].to_list() == [5_000.0] * 3
    assert res.orders.is_empty()
    assert res.meta["mode"] == "event"

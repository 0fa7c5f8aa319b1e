"""The point-in-time fill rule: an order is matched against a bar only if it reached the market at or before
the bar's start (``Bars.frame["ts_start"]``); a close-priced market order (``execution="close"``) only needs
to have reached it by the bar's stamp. Also: timers that cannot be meant, and the vectorized mode's refusal of
feed latency it cannot honour."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.event.scenario import FLAT, HOUR, day, fills, make_bars, order, run

import ml4t
from ml4t.data import Bars, bars, signals
from ml4t.event import Engine, Strategy

NY = "America/New_York"


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def session_bars(n: int = 4, symbols: tuple[str, ...] = ("X",)) -> Bars:
    """Daily bars as yfinance gives them (naive midnight index), closing 16:00 New York; opens 100, 101..."""
    frames = []
    for k, symbol in enumerate(symbols):
        index = pd.DatetimeIndex(pd.bdate_range("2024-01-02", periods=n), name="Date")
        opens = [100.0 + i + 10 * k for i in range(n)]
        frames.append(
            pd.DataFrame(
                {
                    "Symbol": symbol,
                    "Open": opens,
                    "High": [o + 3 for o in opens],
                    "Low": [o - 3 for o in opens],
                    "Close": [o + 1 for o in opens],
                    "Volume": 1e6,
                },
                index=index,
            )
        )
    return bars(pd.concat(frames), tz=NY, session_close="16:00")


class TimerOrder(Strategy):
    """Buys one unit of X at a timer."""

    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def on_start(self, ctx):
        ctx.schedule(at=self.at)

    def on_timer(self, ctx, timers):
        self.id = ctx.order("X", 1)


def test_a_market_order_decided_at_ten_new_york_on_daily_bars_fills_at_the_next_days_open():
    # The scenario: 10:00 New York on 2024-01-03 is after that day's 09:30 open; the order used to
    # fill at that open, a price from before the decision. Now it waits for 2024-01-04's open (102).
    strategy = TimerOrder(utc(2024, 1, 3, 15))
    res = Engine(session_bars(), strategy).run()
    assert fills(res, strategy.id) == [(utc(2024, 1, 4, 21), 102.0, 1.0)]
    # Before that day's open (09:00 New York), it takes that open (101).
    early = TimerOrder(utc(2024, 1, 3, 14))
    assert fills(Engine(session_bars(), early).run(), early.id) == [(utc(2024, 1, 3, 21), 101.0, 1.0)]


@pytest.mark.parametrize("kind", ["limit", "stop"])
def test_limit_and_stop_orders_decided_intraday_wait_for_the_next_session_too(kind):
    class Intraday(Strategy):
        def on_start(self, ctx):
            ctx.schedule(at=utc(2024, 1, 3, 15))

        def on_timer(self, ctx, timers):
            price = {"limit": {"limit": 200.0}, "stop": {"stop": 1.0}}[kind]
            self.id = ctx.order("X", 1, **price)  # touches any bar at its open

    strategy = Intraday()
    res = Engine(session_bars(), strategy).run()
    assert fills(res, strategy.id) == [(utc(2024, 1, 4, 21), 102.0, 1.0)]


def test_an_ml_signal_arriving_intraday_fills_at_the_next_sessions_open():
    sig = signals(
        pl.DataFrame({"ts_event": [utc(2024, 1, 3, 16)], "symbol": ["X"], "score": [1.0]}),
        ts_arrival="30m",
    )

    class OnSignal(Strategy):
        def on_signal(self, ctx, batch):
            self.id = ctx.order("X", 1)

    strategy = OnSignal()
    res = Engine(session_bars(), strategy, signals=sig).run()
    assert fills(res, strategy.id) == [(utc(2024, 1, 4, 21), 102.0, 1.0)]


def test_order_latency_on_intraday_bars_moves_the_fill_one_bar_later():
    # Decided at the 11:00 bar's arrival; 200 ms later it misses the 12:00 bar, which started at 11:00.
    hourly = make_bars([FLAT, (101.0, 102.0, 100.0, 101.0, 1e6), (102.0, 103.0, 101.0, 102.0, 1e6)], step=HOUR)
    res, out = run(hourly, {0: lambda ctx: ctx.order("X", 1)}, latency="200ms")
    assert fills(res, out[0]) == [(day(0) + 2 * HOUR, 102.0, 1.0)]
    res, out = run(hourly, {0: lambda ctx: ctx.order("X", 1)})
    assert fills(res, out[0]) == [(day(0) + HOUR, 101.0, 1.0)]


def test_close_execution_still_fills_a_decision_at_its_bars_close():
    res, out = run(make_bars([FLAT, FLAT]), {0: lambda ctx: ctx.order("X", 1)}, execution="close")
    assert fills(res, out[0]) == [(day(0), 100.0, 1.0)] and order(res, out[0])["status"] == "filled"


# ------------------------------------------------------------------------------------------ property
KINDS = ("market", "limit", "stop", "stop_limit", "trail", "bracket")


class Random(Strategy):
    """Places the drawn orders at timers (any time of day) and at bar arrivals."""

    def __init__(self, decisions: list[tuple[int, str, int, str, float]], times: list[dt.datetime]) -> None:
        self.decisions = decisions
        self.times = times
        self.k = 0

    def on_start(self, ctx):
        for t in self.times:
            if t > ctx.now:
                ctx.schedule(at=t)

    def on_event(self, ctx, event):
        if not (event.timers or event.bars or event.signals):
            return
        symbol, side, kind, tif, offset = self.decisions[self.k % len(self.decisions)]
        self.k += 1
        if symbol not in ctx.symbols or ctx.price(symbol) is None or np.isnan(ctx.price(symbol)):
            return
        price = ctx.price(symbol)
        qty = side
        args: dict[str, object] = {"tif": tif}
        if kind == "limit":
            args["limit"] = price * (1 + offset)
        elif kind == "stop":
            args["stop"] = price * (1 + offset)
        elif kind == "stop_limit":
            args.update(stop=price * (1 + offset), limit=price * (1 + 2 * offset))
        elif kind == "trail":
            args["trail_percent"] = 0.01 + abs(offset)
        if kind == "bracket":
            sl, tp = (price * 0.97, price * 1.03) if qty > 0 else (price * 1.03, price * 0.97)
            ctx.bracket(symbol, qty, stop_loss=sl, take_profit=tp, tif=tif)
        else:
            ctx.order(symbol, qty, oco=self.k % 3 if offset > 0 else None, **args)


def intraday_bars(n: int, symbols: tuple[str, ...]) -> Bars:
    rows = []
    for k, symbol in enumerate(symbols):
        for i in range(n):
            o = 100.0 + ((i * 7 + k * 3) % 11) - 5
            rows.append(
                (utc(2024, 1, 2, 14, 30) + (i + 1) * dt.timedelta(minutes=30), symbol, o, o + 2, o - 2, o + 0.5)
            )
    frame = pl.DataFrame(rows, schema=["ts_event", "symbol", "open", "high", "low", "close"], orient="row")
    return bars(frame.with_columns(volume=pl.lit(1e6)))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    daily=st.booleans(),
    decisions=st.lists(
        st.tuples(
            st.sampled_from(["X", "Y"]),
            st.sampled_from([1, -1, 3]),
            st.sampled_from(KINDS),
            st.sampled_from(["gtc", "day", "ioc", "fok"]),
            st.floats(-0.02, 0.02),
        ),
        min_size=1,
        max_size=6,
    ),
    minutes=st.lists(st.integers(0, 5 * 24 * 60), max_size=6),
    signal_minutes=st.lists(st.integers(0, 5 * 24 * 60), max_size=4),
    latency_ms=st.sampled_from([0, 200, 30 * 60 * 1000, 26 * 3600 * 1000]),
    feed_latency=st.sampled_from([None, "1s", "45m"]),
    execution=st.sampled_from(["next_open", "close"]),
)
def test_every_fill_comes_from_a_bar_that_started_after_the_order_reached_the_market(
    daily, decisions, minutes, signal_minutes, latency_ms, feed_latency, execution
):
    data = session_bars(5, ("X", "Y")) if daily else intraday_bars(20, ("X", "Y"))
    if feed_latency is not None:
        data = bars(data.frame.drop("ts_arrival"), latency=feed_latency)
    origin = utc(2024, 1, 2, 5)
    times = [origin + dt.timedelta(minutes=m) for m in minutes]
    sig = None
    if signal_minutes:
        stamps = sorted({origin + dt.timedelta(minutes=m) for m in signal_minutes})
        sig = signals(pl.DataFrame({"ts_event": stamps, "symbol": "X", "score": 1.0}), ts_arrival="7m")
    strategy = Random(decisions, times)
    res = Engine(
        data, strategy, signals=sig, latency=dt.timedelta(milliseconds=latency_ms), execution=execution,
        init_cash=1e6, account="margin",
    ).run()  # fmt: skip
    starts = {
        (row["symbol"], row["ts_event"]): (row["ts_start"], row["ts_event"])
        for row in data.frame.select("symbol", "ts_event", "ts_start").iter_rows(named=True)
    }
    latency = np.timedelta64(latency_ms, "ms")
    orders = {row["order_id"]: row for row in res.orders.iter_rows(named=True)}
    for f in res.fills.iter_rows(named=True):
        o = orders[f["order_id"]]
        arrival = np.datetime64(o["ts_submitted"].replace(tzinfo=None), "ns") + latency
        start, stamp = starts[(f["symbol"], f["ts_event"])]
        close_priced = execution == "close" and o["order_type"] == "market"
        bound = stamp if close_priced else start
        assert arrival <= np.datetime64(bound.replace(tzinfo=None), "ns"), (o, f, start)


# ---------------------------------------------------------------------------------------------- timers
@pytest.mark.parametrize("every", ["1ns", dt.timedelta(microseconds=999), "1ms"])
def test_repeating_timers_that_cannot_be_meant_are_config_errors_naming_every(every):
    class Tiny(Strategy):
        def on_start(self, ctx):
            ctx.schedule(after="1h", every=every)

    with pytest.raises(ml4t.ConfigError) as info:
        Engine(make_bars([FLAT] * 3), Tiny()).run()
    assert info.value.argument == "every"


# ----------------------------------------------------------------------------------------- vectorized
def _ma_cross(fast=2):
    close = pl.col("close")
    return {"entries": close > close.rolling_mean(fast), "exits": close < close.rolling_mean(fast)}


@pytest.mark.parametrize(("latency", "execution"), [("2h", "next_open"), ("1s", "close")])
def test_the_vectorized_mode_refuses_feed_latency_it_would_fill_before(latency, execution):
    rows = [(100.0 + i % 3, 106.0, 98.0, 101.0 + (i % 4), 1e6) for i in range(8)]
    late = bars(make_bars(rows, step=HOUR).frame.drop("ts_arrival"), latency=latency)
    strategy = ml4t.vectorized.VectorizedStrategy(_ma_cross, execution=execution)
    for call in (
        lambda: strategy.run(late),
        lambda: strategy.sweep(late, fast=[2, 3]),
        ml4t.promote(strategy, late).run,
    ):
        with pytest.raises(ml4t.DataError, match="event mode") as info:
            call()
        assert info.value.argument == "bars" and info.value.symbol == "X"
    # The realistic promotion runs on the event engine, which applies the rule itself.
    assert ml4t.promote(strategy, late).run(execution=execution).meta["promotion"] == "realistic"
    # Under next_open, a feed latency that still arrives before the next session opens is fine.
    if execution == "next_open":
        overnight = bars(session_bars(8).frame.drop("ts_arrival"), latency="1h")
        assert strategy.run(overnight).orders.height > 0

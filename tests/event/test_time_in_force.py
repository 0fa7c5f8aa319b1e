"""Time in force (GTC, DAY, IOC, FOK), order latency's effect on the first eligible bar, and the per-bar volume
participation cap, against hand-computed fills."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.event.scenario import FLAT, HOUR, day, fills, make_bars, order, panel, run

THIN = (100.0, 101.0, 99.0, 100.0, 100.0)  # 10% participation of 100 units: 10 units a bar


def test_a_gtc_limit_rests_until_touched():
    rows = [FLAT, FLAT, FLAT, FLAT, (100.0, 101.0, 95.0, 96.0, 1e6)]
    res, ids = run(make_bars(rows), {0: lambda ctx: ctx.order("X", 1, limit=96.0)})
    assert fills(res) == [(day(4), 96.0, 1.0)]
    row = order(res, ids[0])
    assert (row["time_in_force"], row["status"], row["ts_closed"]) == ("gtc", "filled", day(4))


def test_a_day_order_expires_when_a_bar_of_a_later_session_arrives():
    # Placed on day 0; its first eligible bar is day 1, so it lives for day 1's session. Day 2 would have filled
    # it (low 80) but belongs to a later session: it expires, closed at the last bar of its session.
    rows = [FLAT, FLAT, (100.0, 101.0, 80.0, 100.0, 1e6)]
    res, ids = run(make_bars(rows), {0: lambda ctx: ctx.order("X", 1, limit=90.0, tif="day")})
    row = order(res, ids[0])
    assert (row["status"], row["reason"], row["ts_closed"]) == ("expired", "DAY order: its session ended", day(1))
    assert fills(res) == []


INTRADAY = dt.datetime(2024, 1, 2, 14, tzinfo=dt.UTC)


def test_a_day_order_works_through_the_rest_of_its_session_then_expires():
    # 14:00, 15:00, 16:00 on Jan 2, then 14:00, 15:00 on Jan 3 (bars stamped hourly from Jan 2 14:00).
    times = [INTRADAY, INTRADAY + HOUR, INTRADAY + 2 * HOUR, INTRADAY + 24 * HOUR, INTRADAY + 25 * HOUR]
    rows = [FLAT, FLAT, FLAT, (100.0, 101.0, 90.0, 95.0, 1e6), FLAT]

    def place(ctx):
        return ctx.order("X", 1, limit=95.0, tif="day"), ctx.order("X", 1, limit=99.0, tif="day")

    res, ids = run(make_bars(rows, times=times), {0: place})
    missed, touched = ids[0]
    assert fills(res) == [(times[1], 99.0, 1.0)]  # the 15:00 bar's low 99 reaches 99
    row = order(res, missed)
    assert (row["status"], row["ts_closed"]) == ("expired", times[2])  # the last bar of Jan 2
    assert order(res, touched)["status"] == "filled"


def test_a_day_order_placed_on_the_last_bar_of_a_session_lives_for_the_next_one():
    times = [INTRADAY, INTRADAY + 24 * HOUR, INTRADAY + 25 * HOUR, INTRADAY + 48 * HOUR]
    rows = [FLAT, (102.0, 103.0, 101.0, 102.0, 1e6), FLAT, (100.0, 101.0, 80.0, 90.0, 1e6)]

    def place(ctx):
        return ctx.order("X", 1, tif="day"), ctx.order("X", 1, limit=95.0, tif="day")

    res, ids = run(make_bars(rows, times=times), {0: place})
    market, limit = ids[0]
    assert fills(res, market) == [(times[1], 102.0, 1.0)]  # next session's first open
    assert (order(res, limit)["status"], order(res, limit)["ts_closed"]) == ("expired", times[2])


@pytest.mark.parametrize(("session_tz", "status"), [("UTC", "filled"), ("America/New_York", "expired")])
def test_day_sessions_are_calendar_dates_in_session_tz(session_tz, status):
    # 22:00 UTC Jan 2 | 01:00 UTC Jan 3 | 15:00 UTC Jan 3. In UTC the last two share Jan 3; in New York (UTC-5)
    # they are 20:00 Jan 2 and 10:00 Jan 3: different sessions.
    times = [
        dt.datetime(2024, 1, 2, 22, tzinfo=dt.UTC),
        dt.datetime(2024, 1, 3, 1, tzinfo=dt.UTC),
        dt.datetime(2024, 1, 3, 15, tzinfo=dt.UTC),
    ]
    rows = [FLAT, FLAT, (100.0, 101.0, 90.0, 95.0, 1e6)]
    res, ids = run(
        make_bars(rows, times=times),
        {0: lambda ctx: ctx.order("X", 1, limit=95.0, tif="day")},
        session_tz=session_tz,
    )
    row = order(res, ids[0])
    assert row["status"] == status
    if status == "filled":
        assert fills(res) == [(times[2], 95.0, 1.0)]
    else:
        assert row["ts_closed"] == times[1]


def test_a_day_order_still_working_when_the_data_ends_stays_open():
    res, ids = run(make_bars([FLAT, FLAT]), {0: lambda ctx: ctx.order("X", 1, limit=90.0, tif="day")})
    row = order(res, ids[0])
    assert (row["status"], row["reason"], row["ts_closed"]) == ("open", None, None)


# ---------------------------------------------------------------------------------------------------- IOC
def test_an_ioc_limit_is_cancelled_if_its_first_eligible_bar_does_not_reach_it():
    rows = [FLAT, FLAT, (100.0, 101.0, 90.0, 95.0, 1e6)]  # day 2 would have filled it
    res, ids = run(make_bars(rows), {0: lambda ctx: ctx.order("X", 1, limit=95.0, tif="ioc")})
    row = order(res, ids[0])
    assert (row["status"], row["reason"], row["ts_closed"]) == (
        "cancelled",
        "IOC: not fillable in its first bar",
        day(1),
    )
    assert fills(res) == []


def test_an_ioc_limit_reached_in_its_first_bar_fills():
    rows = [FLAT, (100.0, 101.0, 94.0, 95.0, 1e6)]
    res, ids = run(make_bars(rows), {0: lambda ctx: ctx.order("X", 1, limit=95.0, tif="ioc")})
    assert fills(res) == [(day(1), 95.0, 1.0)]
    assert order(res, ids[0])["status"] == "filled"


def test_an_ioc_fills_what_the_participation_cap_allows_and_cancels_the_rest():
    res, ids = run(make_bars([THIN, THIN, THIN]), {0: lambda ctx: ctx.order("X", 25, tif="ioc")}, participation=0.1)
    row = order(res, ids[0])
    assert (row["status"], row["filled_quantity"], row["reason"]) == (
        "partially_filled",
        10.0,
        "IOC: remainder cancelled",
    )
    assert fills(res) == [(day(1), 100.0, 10.0)]


def test_an_ioc_under_latency_gets_the_first_bar_stamped_after_its_arrival():
    # Latency 1 day: placed at day 0, it reaches the market at day 1's stamp, so day 1 is not eligible (a bar
    # must be stamped after arrival); day 2 is its only chance.
    rows = [FLAT, (100.0, 101.0, 90.0, 95.0, 1e6), (100.0, 101.0, 94.0, 95.0, 1e6)]
    res, _ = run(make_bars(rows), {0: lambda ctx: ctx.order("X", 1, limit=95.0, tif="ioc")}, latency="1d")
    assert fills(res) == [(day(2), 95.0, 1.0)]


# ---------------------------------------------------------------------------------------------------- FOK
def test_a_fok_that_fits_in_its_first_bar_fills_completely():
    res, ids = run(make_bars([THIN, THIN]), {0: lambda ctx: ctx.order("X", 10, tif="fok")}, participation=0.1)
    assert fills(res) == [(day(1), 100.0, 10.0)]
    assert order(res, ids[0])["status"] == "filled"


def test_a_fok_larger_than_the_cap_is_cancelled_without_a_partial_fill():
    res, ids = run(make_bars([THIN, THIN, THIN]), {0: lambda ctx: ctx.order("X", 11, tif="fok")}, participation=0.1)
    row = order(res, ids[0])
    assert (row["status"], row["filled_quantity"]) == ("cancelled", 0.0)
    assert row["reason"].startswith("FOK: only 10")
    assert fills(res) == []


def test_a_fok_limit_not_reached_in_its_first_bar_is_cancelled():
    rows = [FLAT, FLAT, (100.0, 101.0, 90.0, 95.0, 1e6)]
    res, ids = run(make_bars(rows), {0: lambda ctx: ctx.order("X", 1, limit=95.0, tif="fok")})
    row = order(res, ids[0])
    assert (row["status"], row["reason"]) == ("cancelled", "FOK: not fillable in its first bar")


def test_a_fok_after_an_earlier_order_used_the_bars_volume_is_cancelled():
    def place(ctx):
        return ctx.order("X", 6), ctx.order("X", 5, tif="fok"), ctx.order("X", 4, tif="ioc")

    res, ids = run(make_bars([THIN, THIN]), {0: place}, participation=0.1)
    gtc, fok, ioc = ids[0]
    # 10 units this bar: the GTC takes 6, the FOK needs 5 of the 4 left, the IOC takes those 4
    assert fills(res) == [(day(1), 100.0, 6.0), (day(1), 100.0, 4.0)]
    assert res.fills["order_id"].to_list() == [gtc, ioc]
    assert order(res, fok)["status"] == "cancelled"
    assert order(res, ioc)["status"] == "filled"


# ------------------------------------------------------------------------------------------- participation
def test_participation_spreads_a_gtc_order_over_bars_at_each_bars_price():
    rows = [THIN, (101.0, 102.0, 100.0, 101.0, 100.0), (102.0, 103.0, 101.0, 102.0, 100.0), THIN, THIN]
    res, ids = run(make_bars(rows), {0: lambda ctx: ctx.order("X", 25)}, participation=0.1)
    assert fills(res) == [(day(1), 101.0, 10.0), (day(2), 102.0, 10.0), (day(3), 100.0, 5.0)]
    row = order(res, ids[0])
    assert (row["status"], row["filled_quantity"], row["ts_closed"]) == ("filled", 25.0, day(3))
    assert row["avg_fill_price"] == pytest.approx((1010.0 + 1020.0 + 500.0) / 25)


def test_the_cap_is_shared_by_a_symbols_orders_in_submission_order():
    def place(ctx):
        return ctx.order("X", 8), ctx.order("X", 8, limit=100.0)

    res, ids = run(make_bars([THIN, THIN, THIN]), {0: place}, participation=0.1)
    first, second = ids[0]
    assert fills(res, first) == [(day(1), 100.0, 8.0)]
    assert fills(res, second) == [(day(1), 100.0, 2.0), (day(2), 100.0, 6.0)]


def test_the_cap_is_per_symbol():
    data = panel({"A": [THIN, THIN], "B": [THIN, THIN]})
    res, _ = run(data, {0: lambda ctx: (ctx.order("A", 8), ctx.order("B", 8))}, participation=0.1)
    assert sorted(res.fills.select("symbol", "quantity").rows()) == [("A", 8.0), ("B", 8.0)]


def test_the_cap_is_shared_under_close_execution_too():
    res, ids = run(
        make_bars([THIN, THIN, THIN]),
        {0: lambda ctx: (ctx.order("X", 8), ctx.order("X", 8))},
        participation=0.1,
        execution="close",
    )
    on_day_0 = sum(q for ts, _, q in fills(res) if ts == day(0))
    assert on_day_0 == 10.0  # 16 were asked; 10% of the bar's 100 units may fill
    first, second = ids[0]
    assert fills(res, first) == [(day(0), 100.0, 8.0)]
    assert fills(res, second) == [(day(0), 100.0, 2.0), (day(1), 100.0, 6.0)]

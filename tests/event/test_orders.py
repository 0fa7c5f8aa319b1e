"""Every order type end to end through ``Engine.run()``, against fills computed by hand from the bars.

Rules (core/src/matching/fill.rs): a limit buy fills if ``low <= limit`` at ``min(open, limit)``; a stop buy
triggers if ``high >= stop`` at ``max(open, stop)``; sells mirror. Limit, stop and trailing orders work from
the bar after the decision under both execution modes.
"""

from __future__ import annotations

import pytest
from tests.event.scenario import FLAT, day, fills, make_bars, order, run

import ml4t
from ml4t.event import Engine, Strategy

# day 0: decision bar (low 99). day 1 trades 95..105 from 100. day 2 gaps down to 90. day 3 gaps up to 100.
BARS = make_bars(
    [
        FLAT,
        (100.0, 105.0, 95.0, 100.0, 1e6),
        (90.0, 92.0, 88.0, 91.0, 1e6),
        (100.0, 112.0, 99.0, 110.0, 1e6),
    ]
)


def test_market_order_fills_at_the_next_open_not_the_decision_bar():
    data = make_bars([FLAT, (102.0, 104.0, 101.0, 103.0, 1e6), (103.0, 103.0, 103.0, 103.0, 1e6)])
    res, ids = run(data, {0: lambda ctx: ctx.order("X", 10)})
    assert fills(res) == [(day(1), 102.0, 10.0)]
    assert order(res, ids[0])["status"] == "filled"
    # cash 10,000 - 10 x 102 = 8,980; equity marks 10 units at the closes 103, 103
    assert res.equity["cash"].to_list() == [10_000.0, 8_980.0, 8_980.0]
    assert res.equity["equity"].to_list() == [10_000.0, 10_010.0, 10_010.0]


def test_market_order_under_close_execution_fills_at_the_decision_bars_close():
    data = make_bars([FLAT, (102.0, 104.0, 101.0, 103.0, 1e6)])
    res, _ = run(data, {0: lambda ctx: ctx.order("X", 10)}, execution="close")
    assert fills(res) == [(day(0), 100.0, 10.0)]
    # the fill counts in the decision bar's own snapshot: 9,000 cash + 10 x 100
    assert res.equity["cash"].to_list() == [9_000.0, 9_000.0]
    assert res.equity["equity"].to_list() == [10_000.0, 10_030.0]


def test_a_market_sell_from_flat_opens_a_collateralized_short():
    seen = {}

    def look(ctx):
        seen.update(position=ctx.position("X"), cash=ctx.cash, free=ctx.free_cash, equity=ctx.equity)

    data = make_bars([FLAT, (102.0, 104.0, 101.0, 103.0, 1e6), FLAT])
    res, _ = run(data, {0: lambda ctx: ctx.order("X", -10), 1: look})
    assert fills(res) == [(day(1), 102.0, 10.0)]
    # proceeds 1,020 raise cash; twice the short's value (2,040) is reserved from free cash
    assert seen == {"position": -10.0, "cash": 11_020.0, "free": 8_980.0, "equity": 11_020.0 - 1_030.0}


@pytest.mark.parametrize(
    ("placed", "quantity", "price", "expected"),
    [
        (0, 1, 97.0, (1, 97.0)),  # touched inside day 1
        (0, 1, 95.0, (1, 95.0)),  # exactly the low still fills
        (0, 1, 101.0, (1, 100.0)),  # limit above the open: the better open
        (0, 1, 93.0, (2, 90.0)),  # day 1 misses (low 95), day 2 gaps down: the open 90
        (0, 1, 87.0, None),  # never reached
        (0, -1, 104.0, (1, 104.0)),
        (0, -1, 99.0, (1, 100.0)),  # sell limit below the open: the better open
        (0, -1, 106.0, (3, 106.0)),
        (2, -1, 95.0, (3, 100.0)),  # placed on day 2 (close 91); day 3 gaps up to 100
        (0, -1, 113.0, None),
    ],
)
def test_limit_orders_fill_at_the_limit_or_the_better_open(placed, quantity, price, expected):
    res, ids = run(BARS, {placed: lambda ctx: ctx.order("X", quantity, limit=price)})
    row = order(res, ids[placed])
    assert (row["order_type"], row["limit_price"], row["stop_price"]) == ("limit", price, None)
    if expected is None:
        assert fills(res) == []
        assert (row["status"], row["reason"], row["ts_closed"]) == ("open", None, None)
    else:
        assert fills(res) == [(day(expected[0]), expected[1], 1.0)]
        assert (row["status"], row["avg_fill_price"], row["ts_closed"]) == ("filled", expected[1], day(expected[0]))


@pytest.mark.parametrize(
    ("placed", "quantity", "price", "expected"),
    [
        (0, 1, 104.0, (1, 104.0)),  # high 105 reaches the stop
        (0, 1, 98.0, (1, 100.0)),  # already through the stop at the open: the worse open
        (0, 1, 106.0, (3, 106.0)),
        (2, 1, 95.0, (3, 100.0)),  # placed on day 2; day 3 gaps up through it: the worse open 100
        (0, 1, 113.0, None),
        (0, -1, 96.0, (1, 96.0)),
        (1, -1, 93.0, (2, 90.0)),  # placed on day 1; day 2 gaps down through it: the worse open 90
        (0, -1, 85.0, None),
    ],
)
def test_stop_orders_fill_at_the_stop_or_the_worse_open(placed, quantity, price, expected):
    res, ids = run(BARS, {placed: lambda ctx: ctx.order("X", quantity, stop=price)})
    row = order(res, ids[placed])
    assert (row["order_type"], row["stop_price"], row["limit_price"]) == ("stop", price, None)
    if expected is None:
        assert fills(res) == []
        assert row["status"] == "open"
    else:
        assert fills(res) == [(day(expected[0]), expected[1], 1.0)]
        assert row["status"] == "filled"


@pytest.mark.parametrize("execution", ["next_open", "close"])
def test_price_orders_never_match_the_bar_they_were_decided_on(execution):
    # Day 0's low (99) is below the limit and its high (101) above the stop, but both orders are placed after
    # day 0 is complete: they first meet day 1.
    def place(ctx):
        return ctx.order("X", 1, limit=99.5), ctx.order("X", 1, stop=100.5)

    res, ids = run(BARS, {0: place}, execution=execution)
    limit_id, stop_id = ids[0]
    assert fills(res, limit_id) == [(day(1), 99.5, 1.0)]
    assert fills(res, stop_id) == [(day(1), 100.5, 1.0)]


@pytest.mark.parametrize(
    ("quantity", "stop", "limit", "rows", "expected"),
    [
        # buy: triggers at max(open 100, stop 104) = 104 <= limit 105 -> fills in the trigger bar
        (1, 104.0, 105.0, [(100.0, 105.0, 95.0, 100.0, 1e6)], (1, 104.0)),
        # buy: gaps to 106 > limit 105; the trigger is the open, so the low 104.5 came after it: fills at 105
        (
            1,
            104.0,
            105.0,
            [(106.0, 108.0, 104.5, 107.0, 1e6), (106.0, 106.5, 104.0, 105.0, 1e6)],
            (1, 105.0),
        ),
        # buy: gaps to 106 > limit 105 and never comes back to it (low 105.5): rests, day 2 at min(106, 105)
        (
            1,
            104.0,
            105.0,
            [(106.0, 108.0, 105.5, 107.0, 1e6), (106.0, 106.5, 104.0, 105.0, 1e6)],
            (2, 105.0),
        ),
        # buy: intrabar trigger at 104 (open 100), limit 103 below it; the close 102.5 follows the trigger
        (1, 104.0, 103.0, [(100.0, 105.0, 95.0, 102.5, 1e6)], (1, 103.0)),
        # ... with the close 103.5 above the limit it is unknown whether 103 traded after the trigger: rests
        (1, 104.0, 103.0, [(100.0, 105.0, 95.0, 103.5, 1e6), (103.5, 104.0, 102.0, 103.0, 1e6)], (2, 103.0)),
        # sell: triggers at min(open 100, stop 96) = 96 >= limit 95.5
        (-1, 96.0, 95.5, [(100.0, 105.0, 95.0, 100.0, 1e6)], (1, 96.0)),
        # sell: gaps to 94 < limit 95.5; rests; day 2 high 96 -> max(93, 95.5) = 95.5
        (-1, 96.0, 95.5, [(94.0, 95.0, 92.0, 93.0, 1e6), (93.0, 96.0, 92.0, 95.0, 1e6)], (2, 95.5)),
        # never triggered
        (1, 120.0, 121.0, [(100.0, 105.0, 95.0, 100.0, 1e6)], None),
    ],
)
def test_stop_limit_fills_in_the_trigger_bar_only_if_the_trigger_price_meets_the_limit(
    quantity, stop, limit, rows, expected
):
    res, ids = run(make_bars([FLAT, *rows]), {0: lambda ctx: ctx.order("X", quantity, stop=stop, limit=limit)})
    row = order(res, ids[0])
    assert (row["order_type"], row["stop_price"], row["limit_price"]) == ("stop_limit", stop, limit)
    if expected is None:
        assert fills(res) == []
        assert row["status"] == "open"
    else:
        assert fills(res) == [(day(expected[0]), expected[1], 1.0)]


def test_a_triggered_stop_limit_keeps_resting_as_a_limit_below_its_stop():
    # Triggered on day 1 (gap to 106 > limit 105); on day 2 the price is back under the stop (high 103.5), which
    # would not trigger a fresh stop, but the order is now a limit 105: it fills at the open 103.
    rows = [FLAT, (106.0, 108.0, 105.5, 107.0, 1e6), (103.0, 103.5, 102.0, 103.0, 1e6)]
    res, _ = run(make_bars(rows), {0: lambda ctx: ctx.order("X", 1, stop=104.0, limit=105.0)})
    assert fills(res) == [(day(2), 103.0, 1.0)]


def test_a_trailing_stop_is_tested_against_the_old_level_before_the_bar_moves_it():
    # Sell, 5 below the highest price. Reference: the last close at submission (100) -> level 95.
    # Day 1 (low 99) is tested against 95: no fill, though its own high 110 then lifts the level to 105.
    # Day 2's low 104 touches 105 -> fills at min(open 108, 105) = 105.
    rows = [FLAT, (100.0, 110.0, 99.0, 109.0, 1e6), (108.0, 108.0, 104.0, 105.0, 1e6)]
    res, ids = run(make_bars(rows), {0: lambda ctx: ctx.order("X", -1, trail_amount=5.0)})
    assert fills(res) == [(day(2), 105.0, 1.0)]
    assert order(res, ids[0])["order_type"] == "trailing_stop"


def test_a_trailing_stop_gapped_through_fills_at_the_worse_open():
    rows = [FLAT, (100.0, 110.0, 99.0, 109.0, 1e6), (103.0, 104.0, 100.0, 101.0, 1e6)]  # level 105, opens 103
    res, _ = run(make_bars(rows), {0: lambda ctx: ctx.order("X", -1, trail_amount=5.0)})
    assert fills(res) == [(day(2), 103.0, 1.0)]


def test_a_buy_trailing_percent_stop_trails_the_low():
    # Buy (covering a short), 25% above the lowest price. Reference 100 -> level 125. Day 1 (high 100) misses,
    # then its low 80 moves the level to 80 x 1.25 = 100. Day 2's high 101 touches -> max(open 96, 100) = 100.
    rows = [FLAT, (99.0, 100.0, 80.0, 91.0, 1e6), (96.0, 101.0, 95.0, 100.0, 1e6)]
    res, _ = run(make_bars(rows), {0: lambda ctx: ctx.order("X", 1, trail_percent=0.25)})
    assert fills(res) == [(day(2), 100.0, 1.0)]


def test_an_untriggered_trailing_stop_reports_its_current_level_as_the_stop_price():
    rows = [FLAT, (107.0, 110.0, 106.0, 109.0, 1e6)]  # level 95 -> 105 after day 1
    res, ids = run(make_bars(rows), {0: lambda ctx: ctx.order("X", -1, trail_amount=5.0)})
    row = order(res, ids[0])
    assert (row["status"], row["stop_price"]) == ("open", 105.0)


# ------------------------------------------------------------------------------------------------- brackets
def test_bracket_legs_work_from_the_bar_after_the_entry_fills_and_form_an_oco_pair():
    rows = [
        FLAT,
        (100.0, 112.0, 90.0, 100.0, 1e6),  # entry fills at the open 100; both exits would touch, but not yet
        FLAT,
        (100.0, 111.0, 99.0, 110.0, 1e6),  # take-profit 110 touches: max(100, 110)
    ]
    res, ids = run(make_bars(rows), {0: lambda ctx: ctx.bracket("X", 10, stop_loss=95.0, take_profit=110.0)})
    entry, sl, tp = ids[0]
    assert fills(res) == [(day(1), 100.0, 10.0), (day(3), 110.0, 10.0)]
    assert res.fills["order_id"].to_list() == [entry, tp]
    assert order(res, tp)["status"] == "filled"
    assert (order(res, sl)["status"], order(res, sl)["reason"]) == ("cancelled", f"OCO: order {tp} filled")
    legs = res.orders.filter(res.orders["order_id"].is_in([sl, tp])).sort("order_id")
    assert legs.select("side", "order_type", "quantity", "stop_price", "limit_price").rows() == [
        ("sell", "stop", 10.0, 95.0, None),
        ("sell", "limit", 10.0, None, 110.0),
    ]
    assert res.positions["position_qty"].to_list() == [0.0, 10.0, 10.0, 0.0]
    assert res.trades.select("status", "entry_price", "exit_price", "pnl").rows() == [("closed", 100.0, 110.0, 100.0)]


@pytest.mark.parametrize(("policy", "winner", "price"), [(None, "sl", 95.0), ("take_profit", "tp", 110.0)])
def test_when_both_bracket_legs_touch_the_policy_picks_one(policy, winner, price):
    rows = [FLAT, FLAT, (100.0, 112.0, 90.0, 100.0, 1e6)]
    kwargs = {} if policy is None else {"both_touched": policy}
    res, ids = run(make_bars(rows), {0: lambda ctx: ctx.bracket("X", 10, stop_loss=95.0, take_profit=110.0)}, **kwargs)
    _, sl, tp = ids[0]
    won, lost = (sl, tp) if winner == "sl" else (tp, sl)
    assert fills(res)[-1] == (day(2), price, 10.0)
    assert order(res, won)["status"] == "filled"
    assert (order(res, lost)["status"], order(res, lost)["reason"]) == ("cancelled", f"OCO: order {won} filled")
    assert res.positions["position_qty"][-1] == 0.0


def test_a_short_bracket_takes_profit_below_the_entry():
    rows = [FLAT, FLAT, (100.0, 101.0, 89.0, 90.0, 1e6)]
    res, ids = run(make_bars(rows), {0: lambda ctx: ctx.bracket("X", -5, stop_loss=105.0, take_profit=90.0)})
    _, sl, _ = ids[0]
    # short 5 at the day 1 open 100; day 2's low 89 reaches the buy limit 90: min(100, 90)
    assert fills(res) == [(day(1), 100.0, 5.0), (day(2), 90.0, 5.0)]
    assert order(res, sl)["status"] == "cancelled"
    assert res.trades.select("direction", "pnl").rows() == [("short", 50.0)]


def test_bracket_legs_are_cancelled_with_an_entry_that_filled_nothing():
    rows = [FLAT, FLAT, FLAT]

    def place(ctx):
        return ctx.bracket("X", 10, stop_loss=40.0, take_profit=120.0, limit=50.0)

    res, ids = run(make_bars(rows), {0: place, 1: lambda ctx: ctx.cancel(ctx.open_orders()[0])})
    entry, sl, tp = ids[0]
    assert ids[1] is True
    assert (order(res, entry)["status"], order(res, entry)["reason"]) == ("cancelled", "cancelled by the strategy")
    for leg in (sl, tp):
        assert order(res, leg)["status"] == "cancelled"
        assert order(res, leg)["reason"] == f"its bracket entry {entry} filled nothing"
    assert res.fills.is_empty()


def test_bracket_legs_work_for_the_quantity_the_entry_filled():
    # 10% of a 100-unit bar: the IOC entry for 25 fills 10 and its rest is cancelled; the legs sell 10.
    thin = (100.0, 101.0, 99.0, 100.0, 100.0)
    rows = [thin, thin, (100.0, 101.0, 89.0, 90.0, 1000.0)]

    def place(ctx):
        return ctx.bracket("X", 25, stop_loss=95.0, take_profit=120.0, tif="ioc")

    res, ids = run(make_bars(rows), {0: place}, participation=0.1)
    entry, sl, tp = ids[0]
    assert (order(res, entry)["status"], order(res, entry)["filled_quantity"]) == ("partially_filled", 10.0)
    assert order(res, sl)["quantity"] == order(res, tp)["quantity"] == 10.0
    assert fills(res, sl) == [(day(2), 95.0, 10.0)]
    assert res.positions["position_qty"][-1] == 0.0


def test_a_bracket_under_close_execution_enters_at_the_close_and_exits_from_the_next_bar():
    rows = [FLAT, (100.0, 111.0, 99.0, 110.0, 1e6)]
    res, ids = run(
        make_bars(rows), {0: lambda ctx: ctx.bracket("X", 10, stop_loss=95.0, take_profit=110.0)}, execution="close"
    )
    entry, sl, tp = ids[0]
    assert fills(res) == [(day(0), 100.0, 10.0), (day(1), 110.0, 10.0)]
    assert res.fills["order_id"].to_list() == [entry, tp]
    assert [order(res, i)["status"] for i in (entry, sl, tp)] == ["filled", "cancelled", "filled"]
    assert order(res, sl)["reason"] == f"OCO: order {tp} filled"
    assert res.positions["position_qty"][-1] == 0.0


def test_a_bracket_under_close_execution_does_not_test_its_legs_against_the_entry_bar():
    # Day 0's range (99..101) holds both exits (stop 99.5, target 100.5), but the legs work from day 1 only;
    # day 1 reaches neither, day 2 hits the stop at 99.5.
    rows = [FLAT, (100.0, 100.4, 99.6, 100.0, 1e6), (100.0, 100.2, 98.0, 99.0, 1e6)]
    res, ids = run(
        make_bars(rows), {0: lambda ctx: ctx.bracket("X", 10, stop_loss=99.5, take_profit=100.5)}, execution="close"
    )
    entry, sl, _ = ids[0]
    assert fills(res) == [(day(0), 100.0, 10.0), (day(2), 99.5, 10.0)]
    assert res.fills["order_id"].to_list() == [entry, sl]


@pytest.mark.parametrize(
    ("quantity", "stop_loss", "take_profit"), [(1, 110.0, 90.0), (1, 100.0, 100.0), (-1, 90.0, 110.0)]
)
def test_a_bracket_with_its_exits_on_the_wrong_side_is_an_order_error(quantity, stop_loss, take_profit):
    def place(ctx):
        with pytest.raises(ml4t.OrderError, match="bracket needs stop_loss") as info:
            ctx.bracket("X", quantity, stop_loss=stop_loss, take_profit=take_profit)
        assert (info.value.argument, info.value.symbol) == ("stop_loss", "X")
        assert ctx.open_orders() == []

    run(BARS, {0: place})


# ---------------------------------------------------------------------------------------------------- OCO
def test_an_oco_fill_cancels_the_other_orders_of_its_group():
    rows = [FLAT, (100.0, 101.0, 94.0, 96.0, 1e6), (100.0, 120.0, 99.0, 110.0, 1e6)]

    def place(ctx):
        return ctx.order("X", 1, limit=95.0, oco="range"), ctx.order("X", 1, stop=105.0, oco="range")

    res, ids = run(make_bars(rows), {0: place})
    limit_id, stop_id = ids[0]
    assert fills(res) == [(day(1), 95.0, 1.0)]
    assert (order(res, stop_id)["status"], order(res, stop_id)["reason"]) == (
        "cancelled",
        f"OCO: order {limit_id} filled",
    )
    assert order(res, stop_id)["ts_closed"] == day(1)


@pytest.mark.parametrize(("policy", "winner", "price"), [(None, 1, 105.0), ("take_profit", 0, 95.0)])
def test_an_oco_pair_touching_together_follows_the_both_touched_policy(policy, winner, price):
    rows = [FLAT, (100.0, 106.0, 94.0, 100.0, 1e6)]  # reaches the buy limit 95 and the buy stop 105

    def place(ctx):
        return ctx.order("X", 1, limit=95.0, oco="k"), ctx.order("X", 1, stop=105.0, oco="k")

    kwargs = {} if policy is None else {"both_touched": policy}
    res, ids = run(make_bars(rows), {0: place}, **kwargs)
    assert fills(res) == [(day(1), price, 1.0)]
    assert res.fills["order_id"].to_list() == [ids[0][winner]]
    assert order(res, ids[0][1 - winner])["status"] == "cancelled"


def test_in_an_oco_group_of_two_limits_the_earlier_order_wins_and_other_groups_are_independent():
    rows = [FLAT, (100.0, 101.0, 90.0, 95.0, 1e6)]

    def place(ctx):
        return (
            ctx.order("X", 1, limit=98.0, oco="a"),
            ctx.order("X", 2, limit=97.0, oco="a"),
            ctx.order("X", 3, limit=96.0, oco="b"),
        )

    res, ids = run(make_bars(rows), {0: place})
    _, second, other = ids[0]
    assert fills(res) == [(day(1), 98.0, 1.0), (day(1), 96.0, 3.0)]
    assert order(res, second)["status"] == "cancelled"
    assert order(res, other)["status"] == "filled"


def test_tags_are_kept_on_orders_fills_and_on_fill():
    class Tagged(Strategy):
        def __init__(self):
            self.seen = []

        def on_bar(self, ctx, bars):
            if not ctx.open_orders() and not ctx.positions:
                ctx.order("X", 3, tag="entry")

        def on_fill(self, ctx, fills):
            self.seen.extend(fills)

    strategy = Tagged()
    res = Engine(make_bars([FLAT, FLAT]), strategy).run()
    assert res.orders["tag"].to_list() == ["entry"]
    (fill,) = strategy.seen
    assert (fill.tag, fill.symbol, fill.side, fill.quantity, fill.price) == ("entry", "X", "buy", 3.0, 100.0)

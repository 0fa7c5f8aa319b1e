"""Accounts (cash, margin), cost models, contract multipliers, order latency and corporate actions, end to end
through ``Engine.run()`` against hand-computed cash, fills and fees."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from tests.event.scenario import FLAT, HOUR, cash, day, fills, make_bars, order, panel, run

import ml4t.costs as costs


def flat_at(price: float, n: int = 2, volume: float = 1e6) -> list[tuple[float, float, float, float, float]]:
    return [(price, price, price, price, volume)] * n


# ------------------------------------------------------------------------------------------------ accounts
def test_a_cash_account_rejects_an_unaffordable_fill_and_changes_nothing():
    res, ids = run(make_bars([FLAT, FLAT, FLAT]), {0: lambda ctx: ctx.order("X", 101)})
    row = order(res, ids[0])
    assert (row["status"], row["filled_quantity"], row["ts_closed"]) == ("rejected", 0.0, day(1))
    assert row["reason"] == "insufficient cash: the fill costs 10100.00 with fees, free cash is 10000.00"
    assert res.fills.is_empty()
    assert res.equity["cash"].to_list() == [10_000.0] * 3


@pytest.mark.parametrize(("quantity", "status"), [(99, "filled"), (100, "rejected")])
def test_a_cash_account_counts_the_commission_and_never_resizes(quantity, status):
    # 99 x 100 + 1% = 9,999 fits in 10,000; 100 x 100 + 1% = 10,100 does not, and is not cut to 99.
    res, ids = run(make_bars([FLAT, FLAT]), {0: lambda ctx: ctx.order("X", quantity)}, commission=costs.Percent(0.01))
    row = order(res, ids[0])
    assert row["status"] == status
    assert cash(res) == (1.0 if status == "filled" else 10_000.0)


def test_rejections_are_per_fill_in_submission_order():
    def place(ctx):
        return ctx.order("X", 60), ctx.order("X", 50), ctx.order("X", 40)

    res, ids = run(make_bars([FLAT, FLAT]), {0: place})
    a, b, c = ids[0]
    # 6,000 is paid, 5,000 no longer fits in the 4,000 left, 4,000 fits exactly
    assert [order(res, i)["status"] for i in (a, b, c)] == ["filled", "rejected", "filled"]
    assert cash(res) == 0.0


@pytest.mark.parametrize(("sell_first", "a_status"), [(True, "filled"), (False, "rejected")])
def test_orders_of_all_symbols_at_one_timestamp_match_in_submission_order(sell_first, a_status):
    # All 10,000 in B (100 x 100). Selling B and buying 100 A at one timestamp: A's bar sorts first, but the
    # orders match in submission order, so a sale submitted first funds the purchase; a purchase submitted
    # first finds no cash and is rejected (and the sale still fills).
    data = panel({"A": [FLAT] * 3, "B": [FLAT] * 3})

    def switch(ctx):
        if sell_first:
            sell = ctx.order("B", -100)
            buy = ctx.order("A", 100)
        else:
            buy = ctx.order("A", 100)
            sell = ctx.order("B", -100)
        return sell, buy

    res, ids = run(data, {0: lambda ctx: ctx.order("B", 100), 1: switch})
    sell_id, buy_id = ids[1]
    assert order(res, sell_id)["status"] == "filled"
    assert order(res, buy_id)["status"] == a_status
    assert res.fills["order_id"].to_list()[1:] == ([sell_id, buy_id] if sell_first else [sell_id])
    assert cash(res) == (0.0 if sell_first else 10_000.0)


def test_a_cash_account_collateralizes_shorts_in_full():
    rows = [FLAT, FLAT, FLAT, (90.0, 91.0, 89.0, 90.0, 1e6)]
    seen = []
    res, ids = run(
        make_bars(rows),
        {
            0: lambda ctx: ctx.order("X", -10),  # day 1: +1,000 cash, free cash 1,000 + 1,000 - 2,000 = 0
            1: lambda ctx: (seen.append(ctx.free_cash), ctx.order("X", -1))[1],  # no free cash left: rejected
            2: lambda ctx: ctx.order("X", 10),  # covers at 90
        },
        init_cash=1_000.0,
    )
    assert seen == [0.0]
    assert order(res, ids[1])["status"] == "rejected"
    assert order(res, ids[1])["reason"].startswith("insufficient free cash to collateralize the short")
    assert fills(res) == [(day(1), 100.0, 10.0), (day(3), 90.0, 10.0)]
    assert cash(res) == 1_100.0


def test_a_margin_account_allows_gross_exposure_up_to_leverage_times_equity():
    def place(ctx):
        return ctx.order("X", 15), ctx.order("X", 6)

    # 15 x 100 = 1,500 <= 2 x 1,000: accepted, cash -500. Another 600 would make 2,100 > 2 x 1,000.
    res, ids = run(make_bars([FLAT, FLAT]), {0: place}, init_cash=1_000.0, account="margin")
    first, second = ids[0]
    assert order(res, first)["status"] == "filled"
    assert order(res, second)["status"] == "rejected"
    assert order(res, second)["reason"].startswith("leverage limit: gross exposure 2100.00 would exceed 2")
    assert cash(res) == -500.0
    res, ids = run(make_bars([FLAT, FLAT]), {0: place}, init_cash=1_000.0, account="margin", leverage=3.0)
    assert [order(res, i)["status"] for i in ids[0]] == ["filled", "filled"]
    assert cash(res) == -1_100.0


@pytest.mark.parametrize(("account", "status"), [("cash", "rejected"), ("margin", "filled")])
def test_a_short_needs_full_collateral_in_cash_but_only_margin_in_margin(account, status):
    # Shorting 15 x 100 with 1,000: a cash account must reserve 3,000 (proceeds and as much again); a 2x margin
    # account sees gross 1,500 <= 2,000.
    res, ids = run(make_bars([FLAT, FLAT]), {0: lambda ctx: ctx.order("X", -15)}, init_cash=1_000.0, account=account)
    assert order(res, ids[0])["status"] == status


# --------------------------------------------------------------------------------------------- commissions
def test_percent_commission_is_charged_on_traded_value():
    res, _ = run(
        make_bars([FLAT, (102.0, 103.0, 101.0, 102.0, 1e6)]),
        {0: lambda ctx: ctx.order("X", 10)},
        commission=costs.Percent(0.001),
    )
    assert res.fills["fee"].to_list() == [pytest.approx(1.02)]
    assert cash(res) == pytest.approx(10_000.0 - 1_020.0 - 1.02)


@pytest.mark.parametrize(
    ("quantity", "price", "fee"),
    [
        (100, 100.0, 1.0),  # 0.005 x 100 = 0.5, raised to the minimum 1.0
        (1000, 10.0, 5.0),  # 0.005 x 1,000 = 5.0
        (10, 5.0, 0.5),  # 0.05 -> minimum 1.0, but the cap 1% of 50 = 0.5 wins over the minimum
    ],
)
def test_per_share_commission_has_a_minimum_and_a_cap_that_wins(quantity, price, fee):
    res, _ = run(
        make_bars(flat_at(price)),
        {0: lambda ctx: ctx.order("X", quantity)},
        commission=costs.PerShare(0.005, minimum=1.0, maximum_rate=0.01),
        init_cash=100_000.0,
    )
    assert res.fills["fee"].to_list() == [pytest.approx(fee)]


def test_per_order_commission_is_charged_per_fill_of_a_split_order():
    thin = (100.0, 101.0, 99.0, 100.0, 100.0)
    res, _ = run(
        make_bars([thin] * 4),
        {0: lambda ctx: ctx.order("X", 25)},
        commission=costs.PerOrder(2.5),
        participation=0.1,
    )
    assert res.fills.select("quantity", "fee").rows() == [(10.0, 2.5), (10.0, 2.5), (5.0, 2.5)]
    assert cash(res) == 10_000.0 - 2_500.0 - 7.5


@pytest.mark.parametrize(("quantity", "fee"), [(5, 5.0), (10, 10.0), (50, 25.0), (200, 20.0)])
def test_tiered_commission_charges_the_whole_value_at_its_tiers_rate(quantity, fee):
    # value 500 and 1,000 (bound inclusive) pay 1%, 5,000 pays 0.5%, 20,000 pays 0.1%
    tiers = costs.Tiered([(1_000.0, 0.01), (10_000.0, 0.005), (math.inf, 0.001)])
    res, _ = run(make_bars([FLAT, FLAT]), {0: lambda ctx: ctx.order("X", quantity)}, commission=tiers, init_cash=1e5)
    assert res.fills["fee"].to_list() == [pytest.approx(fee)]


# ------------------------------------------------------------------------------------------------ slippage
SLIP_BAR = (100.0, 102.0, 98.0, 101.0, 10_000.0)


@pytest.mark.parametrize(
    ("model", "quantity", "price"),
    [
        (costs.Bps(50), 10, 100.5),
        (costs.Bps(50), -10, 99.5),
        (costs.Bps(500), 10, 102.0),  # 105 capped at the bar's high
        (costs.Bps(500), -10, 98.0),  # 95 floored at the bar's low
        (costs.HalfSpread(20), 10, 100.1),  # half of 20 bps
        (costs.VolumeImpact(0.1, 0.5), 100, 101.0),  # 0.1 x sqrt(100 / 10,000) = 1%
        (costs.VolumeImpact(0.1, 1.0), -1000, 99.0),  # 0.1 x (1,000 / 10,000) = 1%
    ],
)
def test_slippage_moves_the_price_against_the_trader_within_the_bar(model, quantity, price):
    res, _ = run(make_bars([FLAT, SLIP_BAR]), {0: lambda ctx: ctx.order("X", quantity)}, slippage=model, init_cash=1e6)
    (fill,) = res.fills.select("fill_price", "slippage").rows()
    assert fill[0] == pytest.approx(price)
    assert fill[1] == pytest.approx(abs(price - 100.0) * abs(quantity))


def test_commission_is_charged_on_the_slipped_price():
    res, _ = run(
        make_bars([FLAT, SLIP_BAR]),
        {0: lambda ctx: ctx.order("X", 10)},
        slippage=costs.Bps(50),
        commission=costs.Percent(0.01),
    )
    assert res.fills["fee"].to_list() == [pytest.approx(0.01 * 10 * 100.5)]
    assert cash(res) == pytest.approx(10_000.0 - 1_005.0 - 10.05)


@pytest.mark.parametrize(
    ("quantity", "prices", "bar", "unslipped", "price"),
    [
        # buy limit 99 (low 98 reaches it) at min(open 100, 99) = 99; +1% would be 99.99: capped at the limit
        (10, {"limit": 99.0}, SLIP_BAR, 99.0, 99.0),
        (-10, {"limit": 101.0}, SLIP_BAR, 101.0, 101.0),  # sell limit 101: 100.99 floored at the limit
        (10, {"limit": 105.0}, SLIP_BAR, 100.0, 101.0),  # fills at the open 100; +1% = 101 stays within the limit
        # stop-limit: triggers at the stop 104 (within the limit 104.5); 104 + 1% = 105.04, capped at 104.5
        (10, {"stop": 104.0, "limit": 104.5}, (100.0, 106.0, 98.0, 101.0, 10_000.0), 104.0, 104.5),
    ],
)
def test_slippage_never_pushes_a_limit_fill_beyond_its_limit(quantity, prices, bar, unslipped, price):
    res, _ = run(
        make_bars([FLAT, bar]),
        {0: lambda ctx: ctx.order("X", quantity, **prices)},
        slippage=costs.Bps(100),
        commission=costs.Percent(0.01),
        init_cash=1e6,
    )
    (fill,) = res.fills.select("fill_price", "slippage", "fee").rows()
    assert fill[0] == pytest.approx(price)
    assert fill[1] == pytest.approx(abs(price - unslipped) * abs(quantity))
    assert fill[2] == pytest.approx(0.01 * abs(quantity) * price)  # commission on the capped price


# --------------------------------------------------------------------------------------------- multipliers
def test_a_contract_multiplier_scales_value_cash_fees_and_pnl():
    rows = [
        (4000.0, 4005.0, 3995.0, 4000.0, 1e6),
        (4000.0, 4015.0, 3995.0, 4010.0, 1e6),
        (4020.0, 4025.0, 4015.0, 4020.0, 1e6),
    ]
    res, _ = run(
        make_bars(rows, symbol="ES"),
        {0: lambda ctx: ctx.order("ES", 2), 1: lambda ctx: ctx.order("ES", -2)},
        multipliers={"ES": 50.0},
        commission=costs.Percent(0.0001),
        init_cash=1e6,
    )
    # buy: 2 x 4,000 x 50 = 400,000, fee 40; sell: 2 x 4,020 x 50 = 402,000, fee 40.2
    assert res.fills["fee"].to_list() == [pytest.approx(40.0), pytest.approx(40.2)]
    assert res.equity["cash"].to_list() == pytest.approx([1e6, 599_960.0, 1_001_919.8])
    assert res.positions["position_value"].to_list() == pytest.approx([0.0, 2 * 4010 * 50, 0.0])
    assert res.equity["equity"][1] == pytest.approx(599_960.0 + 401_000.0)
    assert res.trades["pnl"].to_list() == [pytest.approx(20 * 2 * 50 - 80.2)]


# ------------------------------------------------------------------------------------------------- latency
T10 = dt.datetime(2024, 1, 2, 10, tzinfo=dt.UTC)
HOURLY = [(100.0 + i, 101.0 + i, 99.0 + i, 100.5 + i, 1e6) for i in range(4)]  # opens 100..103, closes 100.5..


@pytest.mark.parametrize(
    ("latency", "execution", "when", "price"),
    [
        (None, "next_open", 1, 101.0),
        ("200ms", "next_open", 2, 102.0),  # arrives after the 11:00 bar started (10:00): 12:00 is the first
        ("30m", "next_open", 2, 102.0),  # arrives 10:30: the 12:00 bar starts at 11:00, after it
        ("1h", "next_open", 2, 102.0),  # arrives 11:00: the 12:00 bar starts then
        (dt.timedelta(minutes=61), "next_open", 3, 103.0),
        (None, "close", 0, 100.5),
        ("1h", "close", 1, 101.5),  # close execution: the first bar stamped at or after arrival
    ],
)
def test_order_latency_delays_the_first_bar_an_order_can_trade_in(latency, execution, when, price):
    res, _ = run(
        make_bars(HOURLY, start=T10, step=HOUR),
        {0: lambda ctx: ctx.order("X", 1)},
        latency=latency,
        execution=execution,
    )
    assert fills(res) == [(T10 + when * HOUR, price, 1.0)]


def test_an_order_can_be_cancelled_before_it_reaches_the_market():
    res, ids = run(
        make_bars(HOURLY, start=T10, step=HOUR),
        {0: lambda ctx: ctx.order("X", 1), 1: lambda ctx: ctx.cancel(0)},
        latency="90m",  # arrives 11:30; cancelled at 11:00
    )
    assert ids[1] is True
    assert order(res, 0)["status"] == "cancelled"
    assert res.fills.is_empty()


# ----------------------------------------------------------------------------------------- corporate actions
def test_a_split_scales_the_position_and_resting_orders_and_a_dividend_pays_cash():
    rows = [FLAT, FLAT, (50.0, 51.0, 49.0, 50.0, 1e6), (50.0, 51.0, 49.0, 50.0, 1e6)]
    data = make_bars(rows, split=[1.0, 1.0, 2.0, 1.0], dividend=[0.0, 0.0, 0.0, 0.25])

    def place(ctx):
        return (
            ctx.order("X", 10),
            ctx.order("X", -10, limit=200.0),
            ctx.order("X", -10, stop=90.0),
            ctx.order("X", -10, trail_amount=10.0),
        )

    res, ids = run(data, {0: place})
    _, limit, stop, trail = ids[0]
    assert fills(res) == [(day(1), 100.0, 10.0)]
    assert res.positions["position_qty"].to_list() == [0.0, 10.0, 20.0, 20.0]
    assert (order(res, limit)["quantity"], order(res, limit)["limit_price"]) == (20.0, 100.0)
    assert (order(res, stop)["quantity"], order(res, stop)["stop_price"]) == (20.0, 45.0)
    # trailing: 100 - 10 -> day 1's high 101 -> level 91; split: 50.5 - 5 = 45.5; day 2's high 51 -> 46
    assert (order(res, trail)["quantity"], order(res, trail)["stop_price"]) == (20.0, 46.0)
    # the split keeps value (10 x 100 = 20 x 50); the dividend pays 20 x 0.25 = 5 on day 3
    assert res.equity["equity"].to_list() == [10_000.0, 10_000.0, 10_000.0, 10_005.0]
    assert cash(res) == 9_005.0
    assert res.meta["dividends"] == 5.0


def test_a_short_pays_the_dividend():
    data = make_bars([FLAT, FLAT, FLAT], dividend=[0.0, 0.0, 1.0])
    res, _ = run(data, {0: lambda ctx: ctx.order("X", -10)})
    assert cash(res) == 10_000.0 + 1_000.0 - 10.0
    assert res.meta["dividends"] == -10.0

"""Accounts never go silently insolvent (issue #10): reducing orders are never refused for cash, a reversal is
a close plus an open, maintenance margin liquidates, equity at or below zero is reported, values stay finite,
and rejections carry a groupable ``reason_code`` and are summarized at the end of a run."""

from __future__ import annotations

import math
import warnings

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.event.scenario import FLAT, cash, day, fills, make_bars, order, panel, run

import ml4t.costs as costs
from ml4t.errors import ConfigError, DataError, InsolvencyWarning, RejectionWarning


def flat(price: float) -> tuple[float, float, float, float, float]:
    return (price, price, price, price, 1e6)


# ------------------------------------------------------------------------ reducing orders never refused for cash
def test_a_cash_account_covers_a_losing_short_it_cannot_pay_from_free_cash():
    # 2,000: 10 A at 100 (free 1,000), short 10 X at 100 (free 1,000 + 1,000 - 2,000 = 0). X trades at 210: the
    # cover costs 2,100 > the 2,000 it releases, yet the account is healthy (equity 900): it must go through.
    data = panel({"A": [FLAT] * 4, "X": [FLAT, FLAT, flat(210.0), flat(210.0)]})
    res, ids = run(
        data,
        {0: lambda ctx: (ctx.order("A", 10), ctx.order("X", -10)), 2: lambda ctx: ctx.order("X", 10)},
        init_cash=2_000.0,
    )
    row = order(res, ids[2])
    assert (row["status"], row["reason_code"]) == ("filled", None)
    assert fills(res, ids[2]) == [(day(3), 210.0, 10.0)]
    assert cash(res) == 2_000.0 - 1_000.0 + 1_000.0 - 2_100.0  # the account owes the cover's shortfall
    assert res.equity["equity"][-1] == 900.0


@pytest.mark.parametrize("account", ["cash", "margin"])
@settings(max_examples=60, deadline=None)
@given(
    entry=st.floats(10.0, 200.0),
    move=st.floats(0.2, 5.0),
    quantity=st.integers(1, 50),
    short=st.booleans(),
    fraction=st.floats(0.05, 1.0),
    fee=st.floats(0.0, 0.05),
)
def test_an_order_that_only_reduces_a_position_is_never_rejected(account, entry, move, quantity, short, fraction, fee):
    """Property: whatever the price did (here a gap between the decision and the fill), an order that reduces
    or closes a position is never refused, in either account."""
    later = entry * move
    rows = [flat(entry), flat(entry), flat(later), flat(later)]
    sign = -1 if short else 1
    reduce = max(1, int(quantity * fraction))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsolvencyWarning)
        res, ids = run(
            make_bars(rows),
            {0: lambda ctx: ctx.order("X", sign * quantity), 1: lambda ctx: ctx.order("X", -sign * reduce)},
            init_cash=2.0 * entry * quantity * (1 + fee),
            account=account,
            commission=costs.Percent(fee),
        )
    assert order(res, ids[0])["status"] == "filled"
    assert order(res, ids[1])["status"] == "filled"
    at_fill = res.positions.filter(pl.col("ts_event") == day(2))["position_qty"][0]
    assert at_fill == sign * (quantity - reduce)


# ------------------------------------------------------------------------------------ reversal = close + open
def test_a_reversal_the_account_cannot_open_still_closes():
    # Long 10 at 100 with all 1,000. Selling 30 closes the 10 (+1,000 free) and would short 20, which needs 2,000
    # of free collateral: the open is refused, the close goes through; the order ends partially filled.
    res, ids = run(
        make_bars([FLAT] * 4),
        {0: lambda ctx: ctx.order("X", 10), 1: lambda ctx: ctx.order("X", -30)},
        init_cash=1_000.0,
    )
    row = order(res, ids[1])
    assert (row["status"], row["filled_quantity"], row["reason_code"]) == ("partially_filled", 10.0, "short_collateral")
    assert row["reason"].startswith("insufficient free cash to collateralize the short")
    assert fills(res, ids[1]) == [(day(2), 100.0, 10.0)]
    assert res.positions["position_qty"][-1] == 0.0
    assert cash(res) == 1_000.0


def test_a_margin_reversal_beyond_the_leverage_limit_still_closes():
    res, ids = run(
        make_bars([FLAT] * 4),
        {0: lambda ctx: ctx.order("X", 15), 1: lambda ctx: ctx.order("X", -50)},
        init_cash=1_000.0,
        account="margin",
    )
    row = order(res, ids[1])
    assert (row["status"], row["filled_quantity"], row["reason_code"]) == ("partially_filled", 15.0, "leverage_limit")
    assert res.positions["position_qty"][-1] == 0.0


def test_a_reversal_the_account_can_afford_fills_whole():
    res, ids = run(
        make_bars([FLAT] * 4),
        {0: lambda ctx: ctx.order("X", 10), 1: lambda ctx: ctx.order("X", -15)},
        init_cash=1_000.0,
    )
    assert order(res, ids[1])["status"] == "filled"
    assert res.positions["position_qty"][-1] == -5.0


# ----------------------------------------------------------------------------------- maintenance margin calls
@pytest.mark.parametrize(("execution", "when", "price"), [("next_open", day(3), 58.0), ("close", day(2), 60.0)])
def test_a_margin_account_below_maintenance_is_liquidated(execution, when, price):
    # 20 at 100 on 1,000 at 2x: cash -1,000. At 60 equity is 200 < 0.25 x 1,200: margin call at day 2's close.
    rows = [FLAT, FLAT, flat(60.0), (58.0, 59.0, 57.0, 58.0, 1e6), flat(58.0)]
    res, _ = run(
        make_bars(rows), {0: lambda ctx: ctx.order("X", 20)}, init_cash=1_000.0, account="margin", execution=execution
    )
    forced = res.orders.filter(pl.col("reason_code") == "margin_call")
    assert forced.height == 1
    row = forced.row(0, named=True)
    assert (row["side"], row["quantity"], row["status"], row["ts_submitted"]) == ("sell", 20.0, "filled", day(2))
    assert row["reason"].startswith("margin call")
    assert fills(res, row["order_id"]) == [(when, price, 20.0)]
    assert res.positions["position_qty"][-1] == 0.0
    assert res.equity["equity"][-1] == -1_000.0 + 20 * price


def test_a_forced_order_never_trades_more_than_the_position_left():
    # The strategy's resting stop (placed first) takes 10 of the 20 in the bar the forced sale fills in: the
    # margin call sells only the 10 left, never opening a short.
    rows = [FLAT, FLAT, flat(60.0), (58.0, 59.0, 57.0, 58.0, 1e6), flat(58.0)]
    res, ids = run(
        make_bars(rows),
        {0: lambda ctx: ctx.order("X", 20), 1: lambda ctx: ctx.order("X", -10, stop=57.5)},
        init_cash=1_000.0,
        account="margin",
    )
    forced = res.orders.filter(pl.col("reason_code") == "margin_call").row(0, named=True)
    assert (forced["status"], forced["filled_quantity"]) == ("filled", 10.0)
    assert order(res, ids[1])["status"] == "filled"
    assert res.positions["position_qty"][-1] == 0.0


def test_a_cash_account_short_whose_loss_eats_its_collateral_is_liquidated():
    # Short 10 at 100 on 1,000: cash 2,000. At 170 equity is 300 < 0.25 x 1,700: the short is covered.
    rows = [FLAT, FLAT, flat(150.0), flat(170.0), flat(175.0), flat(175.0)]
    res, _ = run(make_bars(rows), {0: lambda ctx: ctx.order("X", -10)}, init_cash=1_000.0)
    forced = res.orders.filter(pl.col("reason_code") == "margin_call")
    assert forced["side"].to_list() == ["buy"]
    assert fills(res, forced["order_id"][0]) == [(day(4), 175.0, 10.0)]
    assert res.positions["position_qty"][-1] == 0.0


def test_a_cash_account_with_longs_only_is_never_called():
    rows = [FLAT, FLAT, flat(1.0), flat(1.0)]
    res, _ = run(make_bars(rows), {0: lambda ctx: ctx.order("X", 100)}, init_cash=10_000.0)
    assert res.orders.filter(pl.col("reason_code") == "margin_call").is_empty()


def test_maintenance_margin_is_validated():
    with pytest.raises(ConfigError, match="maintenance_margin"):
        run(make_bars([FLAT] * 2), {}, maintenance_margin=1.5)
    with pytest.raises(ConfigError, match="maintenance_margin"):
        run(make_bars([FLAT] * 2), {}, account="margin", leverage=5.0, maintenance_margin=0.25)


def test_equity_below_zero_is_reported_when_it_happens():
    # A gap: short 10 at 100 on 1,000, then X opens at 300. Equity -1,000 at day 2; the call covers at day 3.
    rows = [FLAT, FLAT, flat(300.0), flat(300.0)]
    with pytest.warns(InsolvencyWarning, match="2024-01-03") as caught:
        res, _ = run(make_bars(rows), {0: lambda ctx: ctx.order("X", -10)}, init_cash=1_000.0)
    assert len([w for w in caught if w.category is InsolvencyWarning]) == 1
    assert res.insolvent_at == day(2)
    assert res.equity["equity"][-1] == -1_000.0
    healthy, _ = run(make_bars([FLAT] * 3), {0: lambda ctx: ctx.order("X", 1)})
    assert healthy.insolvent_at is None


# -------------------------------------------------------------------------------------------- finite values
@pytest.mark.parametrize("account", ["cash", "margin"])
@pytest.mark.parametrize("quantity", [1e307, -1e307])
def test_a_fill_whose_value_is_not_finite_is_rejected(account, quantity):
    res, ids = run(make_bars([FLAT] * 3), {0: lambda ctx: ctx.order("X", quantity)}, account=account)
    row = order(res, ids[0])
    assert (row["status"], row["reason_code"]) == ("rejected", "non_finite")
    assert res.equity["equity"].to_list() == [10_000.0] * 3


@pytest.mark.parametrize("init_cash", [1e308, 1e16])
def test_init_cash_beyond_the_bound_is_refused(init_cash):
    with pytest.raises(ConfigError, match="init_cash"):
        run(make_bars([FLAT] * 2), {}, init_cash=init_cash)


@pytest.mark.parametrize("price", [1e-308, 1e-13])
def test_subnormal_and_tiny_prices_are_refused_by_the_data_layer(price):
    with pytest.raises(DataError, match="open"):
        make_bars([(price, 1.0, price, 1.0, 1.0)] * 2)


# --------------------------------------------------------------------------------- reason codes and summary
def test_orders_carry_a_groupable_reason_code():
    def place(ctx):
        return (
            ctx.order("X", 1000),  # insufficient cash
            ctx.order("X", 1, tif="ioc", limit=50.0),  # not fillable in its first bar
            ctx.order("X", 1, limit=50.0),  # cancelled below
            ctx.order("X", 1),  # fills
        )

    res, ids = run(make_bars([FLAT] * 3), {0: place, 1: lambda ctx: ctx.cancel(ctx.open_orders()[0])})
    codes = [order(res, i)["reason_code"] for i in ids[0]]
    assert codes == ["insufficient_cash", "ioc_unfilled", "cancelled_by_strategy", None]
    assert res.orders.schema["reason_code"] == pl.String


def test_many_rejections_are_summarized_once_by_reason_code():
    actions = {i: (lambda ctx: ctx.order("X", 1000)) for i in range(12)}
    with pytest.warns(RejectionWarning, match=r"12 orders were rejected.*insufficient_cash: 12") as caught:
        res, _ = run(make_bars([FLAT] * 14), actions)
    assert len([w for w in caught if w.category is RejectionWarning]) == 1
    assert res.orders.group_by("reason_code").len().rows() == [("insufficient_cash", 12)]


def test_a_few_rejections_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res, _ = run(make_bars([FLAT] * 4), {0: lambda ctx: ctx.order("X", 1000)})
    assert res.orders["reason_code"].to_list() == ["insufficient_cash"]
    assert math.isfinite(res.equity["equity"][-1])

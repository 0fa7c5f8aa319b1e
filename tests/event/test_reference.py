"""The event engine against the slow plain-Python reference (tests/event/reference.py) on random bars and random
market, limit and stop orders on one symbol: every fill (bar, price, quantity, fee), every final status and
the final cash must agree, under both execution modes, with a percent commission and a cash account whose
rejections are exercised by small starting cash."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.event.reference import Bar, Request, simulate
from tests.event.scenario import T0, make_bars, run

import ml4t.costs as costs

PRICES = [90.0 + 0.5 * k for k in range(41)]  # a coarse grid, so limits and stops often equal a bar's high or low


@st.composite
def bar_lists(draw):
    n = draw(st.integers(2, 12))
    out = []
    for _ in range(n):
        open_ = draw(st.sampled_from(PRICES[8:-8]))
        high = open_ + 0.5 * draw(st.integers(0, 8))
        low = open_ - 0.5 * draw(st.integers(0, 8))
        close = low + 0.5 * draw(st.integers(0, round((high - low) / 0.5)))
        out.append(Bar(open_, high, low, close))
    return out


@st.composite
def scenarios(draw):
    bars = draw(bar_lists())
    n = len(bars)
    requests = []
    for _ in range(draw(st.integers(0, 10))):
        at = draw(st.integers(0, n - 1))
        quantity = float(draw(st.integers(1, 40)) * draw(st.sampled_from([1, -1])))
        kind = draw(st.sampled_from(["market", "limit", "stop"]))
        price = None if kind == "market" else draw(st.sampled_from(PRICES))
        requests.append(Request(at, quantity, kind, price))
    requests.sort(key=lambda r: r.at)  # engine ids follow submission order
    return bars, requests


def submit(request):
    def action(ctx):
        if request.kind == "market":
            return ctx.order("X", request.quantity)
        return ctx.order("X", request.quantity, **{request.kind: request.price})

    return action


@pytest.mark.filterwarnings("ignore::ml4t.errors.RejectionWarning")  # ten refused orders are a valid scenario
@settings(max_examples=150)
@given(
    scenario=scenarios(),
    init_cash=st.sampled_from([500.0, 2_000.0, 10_000.0]),
    rate=st.sampled_from([0.0, 0.001, 0.01]),
    execution=st.sampled_from(["next_open", "close"]),
)
def test_engine_matches_the_reference(scenario, init_cash, rate, execution):
    bars, requests = scenario
    expected = simulate(bars, requests, init_cash=init_cash, rate=rate, execution=execution)

    actions = {}
    for request in requests:
        previous = actions.get(request.at)
        here = submit(request)
        actions[request.at] = here if previous is None else (lambda ctx, a=previous, b=here: (a(ctx), b(ctx)))
    data = make_bars([(b.open, b.high, b.low, b.close, 1e6) for b in bars])
    res, _ = run(data, actions, init_cash=init_cash, commission=costs.Percent(rate), execution=execution)

    day = ((pl.col("ts_event") - T0).dt.total_days()).cast(pl.Int64)
    got = res.fills.select("order_id", day.alias("bar"), "fill_price", "quantity", "fee").rows()
    assert len(got) == len(expected.fills), (got, expected.fills)
    for g, e in zip(got, expected.fills, strict=True):
        assert g[:2] == e[:2], (got, expected.fills)
        for a, b in zip(g[2:], e[2:], strict=True):
            assert abs(a - b) <= 1e-9 * max(1.0, abs(b)), (got, expected.fills)
    assert res.orders.sort("order_id")["status"].to_list() == expected.status
    assert abs(res.equity["cash"][-1] - expected.cash) <= 1e-9 * max(1.0, abs(expected.cash))
    assert res.positions["position_qty"][-1] == expected.position

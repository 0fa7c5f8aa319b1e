"""The shape and bookkeeping of an event-mode ``Result``: fixed schemas, every order closed with a final status,
fills that add up to what the orders report, cash conservation, equity = cash + marked positions, and trades
whose PnL adds up to the equity change.

The runs are a seeded random strategy placing every order type and time in force on three symbols (one
listed late), with costs, participation, dividends and rejections, so the invariants are checked on runs
that exercise everything at once.
"""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import polars as pl
import pytest
from tests.event.scenario import FLAT, T0, day, make_bars, run

import ml4t.costs as costs
from ml4t._run_report import MANY_REJECTIONS
from ml4t.data import bars
from ml4t.errors import RejectionWarning
from ml4t.event import Engine, Strategy
from ml4t.result import EQUITY_SCHEMA, FILLS_SCHEMA, ORDER_STATUSES, ORDERS_SCHEMA, POSITIONS_SCHEMA, TRADES_SCHEMA

N_BARS = 40


def random_bars(seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    for k, symbol in enumerate(("A", "B", "C")):
        start = 0 if symbol != "C" else 10  # C lists on day 10
        n = N_BARS - start
        close = 50.0 * (k + 1) * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
        open_ = np.r_[close[0], close[:-1]] * np.exp(rng.normal(0, 0.005, n))
        high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.02, n))
        low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.02, n))
        dividend = np.where(rng.uniform(size=n) < 0.05, 0.5, 0.0)
        frames.append(
            pl.DataFrame(
                {
                    "ts_event": [T0 + dt.timedelta(days=start + i) for i in range(n)],
                    "symbol": symbol,
                    "open": open_,
                    "high": high,
                    "low": low,
                    "close": close,
                    "volume": rng.uniform(50, 500, n).round(),
                    "dividend": dividend,
                }
            )
        )
    return pl.concat(frames)


class RandomTrader(Strategy):
    """Every bar, maybe one random order on each symbol that has a bar: any type, any TIF, either side."""

    def __init__(self, seed: int, brackets: bool) -> None:
        self.rng = np.random.default_rng(seed)
        self.brackets = brackets

    def on_bar(self, ctx, bars):
        rng = self.rng
        for bar in bars:
            if rng.uniform() < 0.4:
                continue
            s, close = bar.symbol, bar.close
            qty = float(rng.integers(1, 60)) * (1 if rng.uniform() < 0.6 else -1)
            tif = str(rng.choice(["gtc", "gtc", "day", "ioc", "fok"]))
            kind = rng.integers(0, 8)
            if kind == 0:
                ctx.order(s, qty, tif=tif)
            elif kind == 1:
                ctx.order(s, qty, limit=close * (1 - 0.01 * np.sign(qty)), tif=tif)
            elif kind == 2:
                ctx.order(s, qty, stop=close * (1 + 0.01 * np.sign(qty)), tif=tif)
            elif kind == 3:
                stop = close * (1 + 0.01 * np.sign(qty))
                ctx.order(s, qty, stop=stop, limit=stop * (1 + 0.002 * np.sign(qty)), tif=tif)
            elif kind == 4:
                ctx.order(s, qty, trail_percent=0.02, tif=tif)
            elif kind == 5 and self.brackets:
                sign = np.sign(qty)
                ctx.bracket(s, qty, stop_loss=close * (1 - 0.03 * sign), take_profit=close * (1 + 0.03 * sign))
            elif kind == 6:
                ctx.order(s, qty, limit=close * 0.99, oco=("pair", s, ctx.now_ns))
                ctx.order(s, qty, stop=close * 1.01, oco=("pair", s, ctx.now_ns))
            elif kind == 7 and ctx.open_orders(s):
                ctx.cancel(ctx.open_orders(s)[0])


CONFIGS = [
    (0, {"execution": "next_open", "account": "cash"}),
    (1, {"execution": "next_open", "account": "margin", "leverage": 3.0}),
    (2, {"execution": "close", "account": "cash"}),
    (3, {"execution": "close", "account": "margin"}),
    (4, {"execution": "next_open", "account": "cash", "latency": "1h", "multipliers": {"B": 10.0}}),
]


@pytest.fixture(
    scope="module", params=CONFIGS, ids=[f"seed{c[0]}-{c[1]['execution']}-{c[1]['account']}" for c in CONFIGS]
)
def scenario(request):
    seed, settings = request.param
    raw = random_bars(seed)
    strategy = RandomTrader(seed, brackets=True)  # brackets work under both execution modes
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RejectionWarning)
        res = Engine(
            bars(raw),
            strategy,
            init_cash=20_000.0,
            commission=costs.PerShare(0.01, minimum=1.0),
            slippage=costs.Bps(5),
            participation=0.2,
            **settings,
        ).run()
    # A random trader provokes rejections; from MANY_REJECTIONS on, the run summarizes them in one warning.
    n_rejected = res.orders.filter(pl.col("status") == "rejected").height
    assert [w.category for w in caught] == ([RejectionWarning] if n_rejected >= MANY_REJECTIONS else [])
    return raw, res, settings


def test_every_frame_has_its_schema(scenario):
    _, res, _ = scenario
    for frame, schema in [
        (res.equity, EQUITY_SCHEMA),
        (res.positions, POSITIONS_SCHEMA),
        (res.orders, ORDERS_SCHEMA),
        (res.fills, FILLS_SCHEMA),
        (res.trades, TRADES_SCHEMA),
    ]:
        assert dict(frame.schema) == schema


def test_the_scenario_exercises_every_status_and_order_type(scenario):
    _, res, _ = scenario
    statuses = set(res.orders["status"])
    assert statuses <= ORDER_STATUSES
    assert {"filled", "cancelled"} <= statuses
    types = {"market", "limit", "stop", "stop_limit", "trailing_stop"}
    assert set(res.orders["order_type"]) == types
    assert res.fills.height > 20


def test_every_order_has_a_final_status_consistent_with_its_fills(scenario):
    _, res, _ = scenario
    by_order = res.fills.group_by("order_id").agg(
        pl.col("quantity").sum().alias("q"), (pl.col("quantity") * pl.col("fill_price")).sum().alias("v")
    )
    orders = res.orders.join(by_order, on="order_id", how="left").with_columns(pl.col("q", "v").fill_null(0.0))
    for row in orders.iter_rows(named=True):
        assert row["q"] == pytest.approx(row["filled_quantity"], abs=1e-9), row
        assert row["filled_quantity"] <= row["quantity"] * (1 + 1e-9), row
        if row["q"] > 0:
            assert row["avg_fill_price"] == pytest.approx(row["v"] / row["q"], rel=1e-12), row
        else:
            assert row["avg_fill_price"] is None, row
        status = row["status"]
        if status == "filled":
            assert row["filled_quantity"] == row["quantity"], row
        elif status == "partially_filled":
            assert 0 < row["filled_quantity"] < row["quantity"], row
        elif status in ("cancelled", "expired", "rejected"):
            assert row["filled_quantity"] == 0.0, row
        if status == "open":
            assert (row["ts_closed"], row["reason"]) == (None, None), row
        else:
            assert row["ts_closed"] is not None and row["ts_closed"] >= row["ts_submitted"], row
        if status in ("cancelled", "expired", "rejected", "partially_filled"):
            assert row["reason"], row
        if status == "filled":
            assert row["reason"] is None, row


def test_fills_lie_inside_their_bar_after_the_decision(scenario):
    raw, res, _ = scenario
    joined = res.fills.join(
        raw.select("ts_event", "symbol", "high", "low").with_columns(pl.col("ts_event").dt.cast_time_unit("ns")),
        on=["ts_event", "symbol"],
        how="left",
    ).join(res.orders.select("order_id", "ts_submitted"), on="order_id")
    assert joined["high"].null_count() == 0
    assert (joined["fill_price"] <= joined["high"] * (1 + 1e-12)).all()
    assert (joined["fill_price"] >= joined["low"] * (1 - 1e-12)).all()
    assert (joined["fee"] >= 0).all() and (joined["slippage"] >= 0).all()
    assert (joined["ts_event"] >= joined["ts_submitted"]).all()


def test_cash_is_conserved(scenario):
    _, res, settings = scenario
    mult = pl.col("symbol").replace_strict(settings.get("multipliers", {}), default=1.0, return_dtype=pl.Float64)
    value = pl.col("quantity") * pl.col("fill_price") * mult
    signed = pl.when(pl.col("side") == "sell").then(value).otherwise(-value)
    flows = res.fills.select(signed.sum().alias("trades"), pl.col("fee").sum().alias("fees")).row(0)
    expected = res.init_cash + flows[0] - flows[1] + res.meta["dividends"]
    assert res.equity["cash"][-1] == pytest.approx(expected, rel=1e-12)
    assert res.meta["dividends"] != 0.0


def test_positions_are_dense_net_fills_and_equity_is_cash_plus_their_value(scenario):
    _, res, _ = scenario
    n_ts = res.equity.height
    assert n_ts == N_BARS
    assert res.positions.height == 3 * n_ts
    assert res.positions.select("ts_event", "symbol").rows() == sorted(
        res.positions.select("ts_event", "symbol").rows()
    )
    value = res.positions.group_by("ts_event").agg(pl.col("position_value").sum()).sort("ts_event")
    assert (res.equity["ts_event"] == value["ts_event"]).all()
    np.testing.assert_allclose(
        res.equity["equity"].to_numpy(), (res.equity["cash"] + value["position_value"]).to_numpy(), rtol=1e-12
    )
    signed = pl.when(pl.col("side") == "buy").then(pl.col("quantity")).otherwise(-pl.col("quantity"))
    net = dict(res.fills.group_by("symbol").agg(signed.sum()).rows())
    final = res.positions.filter(pl.col("ts_event") == res.equity["ts_event"][-1])
    for symbol, qty in final.select("symbol", "position_qty").rows():
        assert qty == pytest.approx(net.get(symbol, 0.0), abs=1e-9)
    # C lists on day 10: no mark and no position before
    before = res.positions.filter((pl.col("symbol") == "C") & (pl.col("ts_event") < day(10)))
    assert before["market_price"].is_nan().all() and (before["position_value"] == 0).all()


def test_trade_pnl_adds_up_to_the_equity_change(scenario):
    _, res, _ = scenario
    assert set(res.trades["status"]) <= {"open", "closed"}
    total = res.trades["pnl"].sum() + res.meta["dividends"]
    assert total == pytest.approx(res.equity["equity"][-1] - res.init_cash, rel=1e-9, abs=1e-6)
    metrics = res.metrics.row(0, named=True)
    assert metrics["final_equity"] == pytest.approx(res.equity["equity"][-1])
    assert metrics["trade_count"] == res.trades.filter(pl.col("status") == "closed").height
    assert metrics["n_bars"] == N_BARS


def test_meta_records_the_settings():
    res, _ = run(
        make_bars([FLAT, FLAT]), {}, commission=costs.Percent(0.001), participation=0.5, session_tz="Europe/London"
    )
    assert res.meta["mode"] == "event"
    assert res.meta["commission"] == "Percent(rate=0.001)"
    assert (res.meta["participation"], res.meta["session_tz"], res.meta["execution"]) == (
        0.5,
        "Europe/London",
        "next_open",
    )
    assert res.periods_per_year is not None
    assert repr(res).startswith("Result(2 bars")

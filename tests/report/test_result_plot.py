"""``result.plot()``: the run's figure, checked on its data: rows, trace roles, marker counts equal to the fills
and unfilled orders, hover texts carrying the reasons, downsampled series that keep their extremes, weights
that stack to the exposure, and every kind of Result (vectorized, event, promoted, portfolio, equity only,
never trading, ruined) plotting."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.report import plot_runs as runs

from ml4t import Result
from ml4t.datasets import synthetic_bars
from ml4t.errors import ConfigError
from ml4t.report import plot_result
from ml4t.report._result import TOP_WEIGHTS


def traces(fig: Any, role: str) -> list[Any]:
    return [t for t in fig.data if (t.meta or {}).get("role") == role]


def one(fig: Any, role: str) -> Any:
    found = traces(fig, role)
    assert len(found) == 1, [t.name for t in fig.data]
    return found[0]


def naive(ts: pl.Series) -> np.ndarray:
    return ts.dt.replace_time_zone(None).to_numpy()


def ns(values: Any) -> list[np.datetime64]:
    """Drawn times (datetime64 of any unit, or datetime) as datetime64[ns]."""
    return [np.datetime64(v, "ns") for v in values]


def roles(fig: Any) -> list[str]:
    return [t.meta["role"] for t in fig.data]


# ------------------------------------------------------------------------------------------- rows and traces
def test_a_vectorized_run_has_price_fills_equity_drawdown_and_its_weight():
    result = runs.vectorized()
    fig = result.plot()
    assert fig.layout.meta["rows"] == ["price", "equity", "drawdown", "exposure"]
    assert roles(fig) == ["price", "buys", "sells", "equity", "init_cash", "drawdown", "weight"]
    assert one(fig, "price").type == "candlestick"  # 400 bars, fewer than the default max_points
    assert fig.layout.hovermode == "x unified"
    assert all(axis.rangeslider.visible is False for axis in (fig.layout.xaxis, fig.layout.xaxis2))
    assert 600 <= fig.layout.height <= 1000
    # every trace is on the row its role belongs to (rows share the x axis)
    axes = {t.meta["role"]: t.yaxis for t in fig.data}
    assert axes["price"] == axes["buys"] == "y"
    assert axes["equity"] == axes["init_cash"] == "y2"
    assert axes["drawdown"] == "y3"
    assert axes["weight"] == "y4"


def test_candlesticks_are_the_bars_ohlc():
    result = runs.vectorized()
    candles = one(result.plot(), "price")
    bars = result.bars.frame
    for field in ("open", "high", "low", "close"):
        assert np.array_equal(np.asarray(getattr(candles, field)), bars[field].to_numpy())
    assert np.array_equal(np.asarray(candles.x), naive(bars["ts_event"]))


def test_fills_are_markers_one_per_fill_with_their_time_price_and_hover():
    result = runs.scripted()
    fig = result.plot()
    buys, sells = one(fig, "buys"), one(fig, "sells")
    fills = result.fills.filter(pl.col("side") == "buy").sort("ts_event", "fill_id")
    assert (buys.meta["count"], buys.meta["shown"], len(buys.x)) == (2, 2, 2)
    assert buys.name == "buys (2)" and sells.name == "sells (0)" and len(sells.x) == 0
    assert buys.marker.symbol == "triangle-up" and sells.marker.symbol == "triangle-down"
    assert list(buys.y) == [99.5, 100.0] == fills["fill_price"].to_list()
    assert np.array_equal(np.asarray(buys.x), naive(fills["ts_event"]))
    assert "buy 2 @ 99.5" in buys.text[0] and "order 3" in buys.text[0] and "fee 0" in buys.text[0]
    assert "slippage 0" in buys.text[0] and "2024-01-02 21:00:00" in buys.text[0]


def test_every_unfilled_order_is_an_x_marker_whose_hover_gives_status_and_reason():
    result = runs.scripted()
    fig = result.plot()
    orders = result.orders
    for status in ("rejected", "cancelled", "expired"):
        trace = one(fig, status)
        expected = orders.filter(pl.col("status") == status)
        assert trace.meta["count"] == len(trace.x) == expected.height == 1
        assert trace.marker.symbol == "x" and trace.name == f"{status} (1)"
        row = expected.row(0, named=True)
        assert status in trace.text[0]
        assert row["reason"] in trace.text[0] and f"reason_code {row['reason_code']}" in trace.text[0]
        assert f"order {row['order_id']}" in trace.text[0]
        # drawn when the order closed
        assert trace.x[0] == naive(pl.Series([row["ts_closed"]]))[0]
    # at its limit when it has one, else the price then (the rejected market order: the close of bar 1)
    assert one(fig, "cancelled").y[0] == 50.0
    assert one(fig, "rejected").y[0] == 100.0


def test_rejections_of_a_shared_account_are_all_marked():
    result = runs.cash_sharing()
    fig = result.plot()
    symbol = fig.layout.meta["symbol"]
    rejected = result.orders.filter((pl.col("status") == "rejected") & (pl.col("symbol") == symbol))
    assert rejected.height > 10
    trace = one(fig, "rejected")
    assert trace.meta["count"] == len(trace.x) == rejected.height
    assert all("insufficient_cash" in text for text in trace.text)


def test_stop_and_limit_levels_run_from_submission_to_close_or_the_end():
    result = runs.scripted()
    fig = result.plot()
    stop = one(fig, "stop_levels")
    # one segment: start, end, gap; the stop is still open, so it runs to the last bar
    assert list(stop.y[:2]) == [95.0, 95.0] and np.isnan(stop.y[2])
    order = result.orders.filter(pl.col("order_type") == "stop").row(0, named=True)
    assert ns(stop.x[:2]) == [naive(pl.Series([order["ts_submitted"]]))[0], naive(result.equity["ts_event"])[-1]]
    assert stop.x[2] is None
    assert "stop-loss" in stop.text[0]
    limits = one(fig, "limit_levels")
    expected = result.orders.filter(pl.col("limit_price").is_not_null()).sort("ts_submitted")
    assert limits.meta["count"] == expected.height == 3
    assert sorted(limits.y[0::3]) == sorted(expected["limit_price"].to_list())
    ends = naive(expected["ts_closed"])
    assert sorted(ns(limits.x[1::3])) == sorted(ends)


def test_the_demo_strategys_stop_orders_are_drawn_each_one():
    result = runs.with_stops()
    fig = result.plot()
    stops = result.orders.filter(pl.col("order_type") == "stop")
    assert stops.height > 3
    trace = one(fig, "stop_levels")
    assert trace.meta["count"] == stops.height == len(trace.x) // 3
    cancelled = result.orders.filter(pl.col("status") == "cancelled").height
    assert one(fig, "cancelled").meta["count"] == cancelled


def test_margin_calls_are_marked_and_a_ruined_run_plots():
    result = runs.ruined()
    assert result.insolvent_at is not None
    fig = result.plot()
    calls = one(fig, "margin_calls")
    forced = result.orders.filter(pl.col("reason_code") == "margin_call")
    assert calls.meta["count"] == forced.height == 1
    assert "margin_call" in calls.text[0] and "margin call" in calls.text[0]
    # drawdown is a fraction: the account lost everything, ruin is absorbing
    assert min(one(fig, "drawdown").y) == -1.0
    assert one(fig, "drawdown").y[-1] == -1.0


# ------------------------------------------------------------------------------------------ the other kinds
def test_a_run_without_orders_plots_with_empty_marker_traces():
    fig = runs.never_trades().plot()
    assert (one(fig, "buys").meta["count"], one(fig, "sells").meta["count"]) == (0, 0)
    assert list(one(fig, "weight").y) == [0.0] * len(one(fig, "weight").y)


def test_a_result_from_an_equity_curve_has_only_equity_and_drawdown():
    fig = runs.equity_only().plot()
    assert fig.layout.meta["rows"] == ["equity", "drawdown"]
    assert roles(fig) == ["equity", "init_cash", "drawdown"]


def test_a_promoted_run_draws_the_same_fills_as_the_vectorized_one():
    a, b = runs.vectorized().plot(), runs.promoted().plot()
    for role in ("buys", "sells"):
        assert np.array_equal(np.asarray(one(a, role).x), np.asarray(one(b, role).x))
        assert np.allclose(one(a, role).y, one(b, role).y, rtol=1e-12)


def test_without_bars_the_price_is_the_mark():
    result = pickle.loads(pickle.dumps(runs.vectorized()))  # pickling drops the bars
    assert result.bars is None
    fig = result.plot()
    price = one(fig, "price")
    assert price.type == "scatter" and price.name == "mark A000"
    marks = result.positions["market_price"].to_numpy()
    assert np.array_equal(np.asarray(price.y), marks)  # 400 marks: all drawn
    assert traces(fig, "price_high") == []


# ------------------------------------------------------------------------------------------ symbol choice
def test_a_portfolio_shows_the_symbol_with_most_fills_and_says_so():
    result = runs.portfolio()
    fig = result.plot()
    counts = dict(result.fills.group_by("symbol").len().iter_rows())
    best = max(sorted(counts), key=lambda s: counts[s])
    assert fig.layout.meta["symbol"] == best
    assert f"{best} (most fills of 13 symbols" in fig.layout.title.text
    other = sorted(set(result.bars.symbols) - {best})[0]
    chosen = result.plot(symbol=other)
    assert chosen.layout.meta["symbol"] == other
    fills = result.fills.filter((pl.col("symbol") == other) & (pl.col("side") == "buy"))
    assert one(chosen, "buys").meta["count"] == fills.height


def test_an_unknown_symbol_is_a_config_error_with_the_closest():
    with pytest.raises(ConfigError, match="did you mean 'A000'") as caught:
        runs.vectorized().plot(symbol="a000")
    assert (caught.value.argument, caught.value.symbol) == ("symbol", "a000")
    with pytest.raises(ConfigError, match="none"):
        runs.equity_only().plot(symbol="A000")


@pytest.mark.parametrize("bad", [3, 0, -5, 2.5, True, "100"])
def test_max_points_must_be_an_integer_of_at_least_four(bad):
    with pytest.raises(ConfigError, match="max_points") as caught:
        plot_result(runs.vectorized(), max_points=bad)
    assert caught.value.argument == "max_points"


# ------------------------------------------------------------------------------------------ downsampling
def test_past_max_points_the_close_is_downsampled_inside_a_band_keeping_the_extremes():
    result = runs.vectorized()
    fig = result.plot(max_points=40)
    price = one(fig, "price")
    assert price.type == "scatter" and len(price.x) <= 42
    bars = result.bars.frame
    close, high, low = (bars[c].to_numpy() for c in ("close", "high", "low"))
    assert close.max() in price.y and close.min() in price.y
    assert close[0] == price.y[0] and close[-1] == price.y[-1]
    band_high, band_low = one(fig, "price_high"), one(fig, "price_low")
    assert max(band_high.y) == high.max() and min(band_low.y) == low.min()
    assert all(band_high.y >= price.y) and all(band_low.y <= price.y)
    assert band_low.fill == "tonexty"


def test_markers_past_max_points_are_capped_and_the_title_says_so():
    result = runs.cash_sharing()
    symbol = result.plot().layout.meta["symbol"]
    n = result.orders.filter((pl.col("status") == "rejected") & (pl.col("symbol") == symbol)).height
    fig = result.plot(max_points=8)
    trace = one(fig, "rejected")
    assert (trace.meta["count"], trace.meta["shown"], len(trace.x)) == (n, 8, 8)
    assert trace.name == f"rejected (8 of {n} shown)"
    assert "markers capped" in fig.layout.title.text and f"8 of {n} shown" in fig.layout.title.text


def _drawdown_reference(init_cash: float, equity: list[float]) -> list[float]:
    """Equity over its running peak (starting at init_cash) minus 1; -1 from the first bar at or below 0."""
    out, peak, ruined = [], init_cash, False
    for value in equity:
        ruined = ruined or value <= 0
        peak = max(peak, value)
        out.append(-1.0 if ruined else value / peak - 1.0)
    return out


@settings(max_examples=25, deadline=None)
@given(
    steps=st.lists(st.floats(-0.2, 0.2), min_size=5, max_size=400),
    max_points=st.integers(4, 60),
)
def test_downsampled_equity_and_drawdown_keep_the_extremes_and_the_values(steps, max_points):
    """Property: whatever the path and the budget, the drawn equity holds the highest and lowest equity, the
    drawn drawdown its deepest point, every drawn point is the value at its bar, and no series exceeds the
    budget (two per bucket, plus the ends)."""
    equity = list(1_000.0 * np.cumprod(1.0 + np.asarray(steps)))
    ts = synthetic_bars(1, len(equity), seed=1).frame["ts_event"]
    result = Result.from_equity(ts, equity, init_cash=1_000.0, periods_per_year=252)
    fig = result.plot(max_points=max_points)
    drawn, under = one(fig, "equity"), one(fig, "drawdown")
    assert len(drawn.x) <= max_points + 2 and len(under.x) <= max_points + 2
    assert max(equity) in drawn.y and min(equity) in drawn.y
    reference = _drawdown_reference(1_000.0, equity)
    assert min(under.y) == pytest.approx(min(reference), abs=1e-12)
    index = {t: i for i, t in enumerate(naive(ts))}
    for x, y in zip(drawn.x, drawn.y, strict=True):
        assert y == equity[index[x]]
    for x, y in zip(under.x, under.y, strict=True):
        assert y == pytest.approx(reference[index[x]], abs=1e-12)
    assert list(one(fig, "init_cash").y) == [1_000.0, 1_000.0]


# ------------------------------------------------------------------------------------------ exposure
def test_portfolio_weights_stack_to_the_net_exposure_with_the_smallest_as_other():
    result = runs.portfolio()
    fig = result.plot()
    weights = traces(fig, "weight")
    other = one(fig, "weight_other")
    held = result.weights.group_by("symbol").agg(pl.col("weight").fill_null(0.0).abs().mean().alias("m"))
    ranked = held.sort(["m", "symbol"], descending=[True, False])["symbol"].to_list()
    assert [t.name for t in weights] == ranked[:TOP_WEIGHTS]
    assert other.meta["symbols"] == ranked[TOP_WEIGHTS:] and other.name == f"other ({13 - TOP_WEIGHTS} symbols)"
    assert all(t.stackgroup == "weights" for t in [*weights, other])
    net, gross = one(fig, "net"), one(fig, "gross")
    stacked = np.sum([np.asarray(t.y) for t in [*weights, other]], axis=0)
    assert np.allclose(stacked, net.y, atol=1e-12)
    # the lines are the exposure frame's values at their bars, and keep its extremes
    exposure = result.exposure
    index = {t: i for i, t in enumerate(naive(exposure["ts_event"]))}
    rows = [index[x] for x in net.x]
    assert np.allclose(net.y, exposure["net"].to_numpy()[rows])
    assert np.allclose(gross.y, exposure["gross"].to_numpy()[rows])
    assert exposure["gross"].max() in gross.y
    # the other's band is the sum of the symbols it stands for
    wide = result.weights.pivot(on="symbol", index="ts_event", values="weight").fill_null(0.0)
    rest = wide.select(pl.sum_horizontal(other.meta["symbols"])).to_series().to_numpy()
    assert np.allclose(other.y, rest[rows])


def test_one_symbols_weight_is_its_position_value_over_equity():
    result = runs.vectorized()
    weight = one(result.plot(), "weight")
    expected = (result.positions["position_value"] / result.equity["equity"]).to_numpy()
    assert np.allclose(weight.y, expected)
    assert weight.name == "A000"


def test_one_symbols_account_of_a_panel_run_shows_that_symbol_alone():
    from ml4t.datasets import synthetic_bars
    from ml4t.demo import sma_cross
    from ml4t.vectorized import VectorizedStrategy

    bars = synthetic_bars(n_assets=3, n_bars=300, freq="1d", seed=5)
    own = VectorizedStrategy(sma_cross, execution="next_open").run_symbol(bars, "A002", fast=5, slow=20)
    assert own.bars is bars  # the run read the whole panel
    fig = own.plot()
    assert "A002" in fig.layout.title.text
    assert "symbols" not in fig.layout.title.text  # not "(most fills of 3 symbols...)"
    with pytest.raises(ConfigError, match="A002"):
        own.plot(symbol="A000")

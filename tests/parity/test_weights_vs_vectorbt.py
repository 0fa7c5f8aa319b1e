"""ml4t's weights mode against vectorbt's ``Portfolio.from_orders`` on target percents (issue #12's parity target).

``VectorizedStrategy(fn returning {"weights": pl.col("w")}, cash_sharing=True, order="auto",
execution="close")`` == ``vbt.Portfolio.from_orders(close=C, size=W, size_type="targetpercent", group_by=True,
cash_sharing=True, call_seq="auto", price=C, fees=, fixed_fees=, slippage=, size_granularity=lot_size,
init_cash=)`` to 1e-9: every fill in execution order, the equity curve, total return, Sharpe ratio and max
drawdown (vectorbt annualizes daily data with a 365-day year, so ml4t gets ``periods_per_year=365``), in ``run``
and in ``sweep``.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ml4t.vectorized import VectorizedStrategy

from .test_weights_reference_vs_vectorbt import VBT_REASONS, vectorbt_weights, zero_units
from .weights_panels import Panel, listings, panel_bars, random_weights, walk, weights_rule

vbt = pytest.importorskip("vectorbt")

pytestmark = [
    pytest.mark.filterwarnings(
        "ignore:The inplace keyword in DataFrame.rename is deprecated:pandas.errors.Pandas4Warning"
    ),
    pytest.mark.filterwarnings("ignore::ml4t.errors.Ml4tWarning"),
]

RTOL = 1e-9
INIT_CASH = 10_000.0


def assert_same(panel: Panel, *, with_rebalance: bool = False, **kw) -> None:
    strat = VectorizedStrategy(
        weights_rule(with_rebalance=with_rebalance),
        cash_sharing=True,
        order="auto",
        execution="close",
        init_cash=INIT_CASH,
        periods_per_year=365.0,
        **kw,
    )
    res = strat.run(panel.bars)
    pf = vectorbt_weights(
        panel.close,
        panel.weights,
        rebalance=panel.rebalance if with_rebalance else None,
        init_cash=INIT_CASH,
        freq="1D",
        **kw,
    )

    # every fill, in execution order (vectorbt writes its order records as the orders execute)
    rec = pf.order_records
    fills = res.fills.sort("ts_event", "fill_id")
    day0 = panel.bars.frame["ts_event"].min()
    bars_of = (fills["ts_event"] - day0).dt.total_days().to_list()
    assert list(zip(bars_of, fills["symbol"], fills["side"], strict=True)) == [
        (int(r["idx"]), f"S{int(r['col'])}", "buy" if r["side"] == 0 else "sell") for r in rec
    ]
    np.testing.assert_allclose(fills["quantity"].to_numpy(), rec["size"], rtol=RTOL)
    np.testing.assert_allclose(fills["fill_price"].to_numpy(), rec["price"], rtol=RTOL)
    np.testing.assert_allclose(fills["fee"].to_numpy(), rec["fees"], rtol=RTOL, atol=1e-9)

    # every refused order, with its reason (vectorbt's logs; the ignored ones are no order in ml4t)
    logs = pf.log_records
    logs = logs[(logs["res_status"] == 2) & ~zero_units(logs)]
    rejected = res.orders.filter(pl.col("status") == "rejected").sort("ts_closed", "symbol")
    refused = zip(
        (rejected["ts_closed"] - day0).dt.total_days().to_list(),
        rejected["symbol"],
        rejected["reason_code"],
        strict=True,
    )
    assert sorted(refused) == sorted(
        (int(r["idx"]), f"S{int(r['col'])}", VBT_REASONS[int(r["res_status_info"])]) for r in logs
    )

    value = pf.value().to_numpy()
    np.testing.assert_allclose(res.equity["equity"].to_numpy(), value, rtol=RTOL, atol=1e-9 * INIT_CASH)

    # metrics: the run's and the sweep's (one combination, the portfolio row)
    path = np.concatenate([[INIT_CASH], value])
    mdd = (path / np.maximum.accumulate(path) - 1).min()  # ml4t counts the initial cash as the first peak
    sweep = strat.sweep(panel.bars).metrics.filter(pl.col("scope") == "portfolio")
    for name, expected in (
        ("total_return", float(pf.total_return())),
        ("sharpe_ratio", float(pf.sharpe_ratio())),
        ("max_drawdown", float(mdd)),
    ):
        if not np.isfinite(expected):
            continue
        np.testing.assert_allclose(res.metrics[name], expected, rtol=RTOL, atol=1e-12, err_msg=name)
        np.testing.assert_allclose(sweep[name][0], expected, rtol=RTOL, atol=1e-12, err_msg=name)


def test_a_target_already_held_is_no_order():
    """Flat prices, the same weights every bar: vectorbt ignores the rounding-error orders after the first bar."""
    close = np.tile([43.57, 28.45, 17.09, 22.87], (6, 1))
    w = np.tile([0.01852941309882143, 0.06776529709762455, 0.5158594677955839, 0.38784582200797013], (6, 1))
    assert_same(panel_bars(close, w))


def test_equal_weights():
    rng = np.random.default_rng(11)
    close = walk(rng, 40, 4)
    assert_same(panel_bars(close, np.full(close.shape, 0.25)), fees=0.001)


def test_momentum_top_two_rebalanced_every_fifth_bar():
    rng = np.random.default_rng(12)
    close = walk(rng, 60, 6, vol=0.03)
    momentum = np.full(close.shape, np.nan)
    momentum[10:] = close[10:] / close[:-10] - 1
    rank = (-np.nan_to_num(momentum, nan=-np.inf)).argsort(axis=1).argsort(axis=1)
    w = np.where((rank < 2) & ~np.isnan(momentum), 0.5, 0.0)
    w[:10] = np.nan
    mask = np.zeros(close.shape, bool)
    mask[::5] = True
    assert_same(panel_bars(close, w, rebalance=mask), with_rebalance=True, fees=0.001, slippage=0.001)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    n_cols=st.integers(2, 5),
    n_bars=st.integers(5, 30),
    fees=st.sampled_from([0.0, 0.001, 0.01]),
    fixed_fees=st.sampled_from([0.0, 1.0, 25.0]),
    slippage=st.sampled_from([0.0, 0.002]),
    lot=st.sampled_from([None, None, 1.0, 0.5]),
    shorts=st.booleans(),
    p_nan=st.sampled_from([0.0, 0.3]),
    scale=st.sampled_from([0.5, 1.0, 1.6]),
    gaps=st.booleans(),
)
def test_random_weights(seed, n_cols, n_bars, fees, fixed_fees, slippage, lot, shorts, p_nan, scale, gaps):
    rng = np.random.default_rng(seed)
    close = walk(rng, n_bars, n_cols)
    if gaps:
        close = listings(rng, close)
    w = random_weights(rng, close.shape, p_nan, shorts, scale)
    w[np.isnan(close)] = np.nan
    assert_same(panel_bars(close, w), fees=fees, fixed_fees=fixed_fees, slippage=slippage, lot_size=lot)

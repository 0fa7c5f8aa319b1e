"""ml4t's weights mode (``VectorizedStrategy`` returning ``{"weights": ...}``) against the plain-Python reference.

The same random matrices (tests/parity/weights_panels.py) go through ml4t's public API with a shared account
and through ``weights_reference.simulate_weights``. Compared, to 1e-9 relative: every fill (bar, symbol, side,
quantity, fill price, fee), every rejected order with its reason code, the equity curve and the total return,
for the three call orders ("auto", "symbol", "pro_rata"), rebalance masks, leverage caps (setting and per-bar
signal), lot sizes, costs, listings and delistings, and both executions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ml4t.vectorized import VectorizedStrategy

from .weights_panels import Panel, listings, panel_bars, random_weights, shift, walk, weights_rule
from .weights_reference import FILLED, REJECTED, WeightsResult, simulate_weights

pytestmark = [
    pytest.mark.filterwarnings("ignore::ml4t.errors.Ml4tWarning"),
]

RTOL = 1e-9
INIT_CASH = 10_000.0


def run_both(
    panel: Panel, *, execution: str = "close", with_rebalance: bool = False, with_leverage: bool = False, **kw
) -> tuple[Any, WeightsResult]:
    """ml4t's run and the reference's on ``panel`` with the same settings (``kw``: ml4t setting names)."""
    strat = VectorizedStrategy(
        weights_rule(with_rebalance=with_rebalance, with_leverage=with_leverage),
        cash_sharing=True,
        execution=execution,
        init_cash=INIT_CASH,
        **kw,
    )
    res = strat.run(panel.bars)
    weights, rebalance, lev = panel.weights, panel.rebalance, panel.leverage
    if not with_rebalance:
        rebalance = None
    if not with_leverage:
        lev = None
    price = panel.close
    if execution == "next_open":
        weights, rebalance, lev = shift(weights, np.nan), shift(rebalance, False), shift(lev, np.nan)
        price = panel.open
    ref = simulate_weights(
        panel.close,
        weights,
        price=price,
        rebalance=rebalance,
        leverage=kw.get("leverage"),
        leverage_signal=lev,
        init_cash=INIT_CASH,
        order=kw.get("order", "pro_rata"),
        fees=kw.get("fees", 0.0),
        fixed_fees=kw.get("fixed_fees", 0.0),
        slippage=kw.get("slippage", 0.0),
        min_size=kw.get("min_size", 1e-8),
        lot_size=kw.get("lot_size"),
    )
    return res, ref


def assert_same(panel: Panel, **kw) -> tuple[Any, WeightsResult]:
    res, ref = run_both(panel, **kw)
    symbols = panel.symbols
    day0 = panel.bars.frame["ts_event"].min()

    def bar_of(ts: pl.Series) -> list[int]:
        return ((ts - day0).dt.total_days()).to_list()

    # Fills in execution order: by bar, then as the account executed them (fill_id).
    fills = res.fills.sort("ts_event", "fill_id")
    assert list(zip(bar_of(fills["ts_event"]), fills["symbol"], fills["side"], strict=True)) == [
        (o.bar, symbols[o.col], o.side) for o in ref.fills
    ]
    if ref.fills:
        np.testing.assert_allclose(fills["quantity"].to_numpy(), [o.size for o in ref.fills], rtol=RTOL)
        np.testing.assert_allclose(fills["fill_price"].to_numpy(), [o.price for o in ref.fills], rtol=RTOL)
        np.testing.assert_allclose(fills["fee"].to_numpy(), [o.fees for o in ref.fills], rtol=RTOL, atol=1e-9)

    # Rejected orders, with their reason codes (ignored near-zero orders change nothing and are no order).
    rejected = res.orders.filter(pl.col("status") == REJECTED).sort("ts_closed", "symbol")
    expected = sorted(
        ((o.bar, symbols[o.col], o.reason) for o in ref.orders if o.status == REJECTED), key=lambda x: x[:2]
    )
    assert (
        list(zip(bar_of(rejected["ts_closed"]), rejected["symbol"], rejected["reason_code"], strict=True)) == expected
    )
    assert res.orders.filter(pl.col("status") == FILLED).height == len(ref.fills)

    np.testing.assert_allclose(res.equity["equity"].to_numpy(), ref.equity[:, 0], rtol=RTOL, atol=1e-9 * INIT_CASH)

    # positions, and the weights the Result derives from them, on every bar a symbol has
    has_bar = ~np.isnan(panel.close)
    held = _wide(res.positions, "position_qty", symbols)
    np.testing.assert_allclose(held[has_bar], ref.position[has_bar], rtol=RTOL, atol=1e-9)
    solvent = has_bar & (ref.equity > 0)
    weight = _wide(res.weights, "weight", symbols)
    expected = ref.position * panel.close / ref.equity
    np.testing.assert_allclose(weight[solvent], expected[solvent], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(res.equity["cash"].to_numpy(), ref.cash[:, 0], rtol=RTOL, atol=1e-9 * INIT_CASH)
    np.testing.assert_allclose(res.metrics["total_return"], ref.equity[-1, 0] / INIT_CASH - 1, rtol=RTOL, atol=1e-12)
    return res, ref


def _wide(frame: pl.DataFrame, column: str, symbols: list[str]) -> np.ndarray:
    """A (ts_event, symbol) frame's column as a bars x symbols array (NaN where it has no row)."""
    wide = frame.pivot(on="symbol", index="ts_event", values=column).sort("ts_event")
    return wide.select(pl.col(s) if s in wide.columns else pl.lit(None).alias(s) for s in symbols).to_numpy()


def _panel(seed: int, n_bars: int, n_cols: int, *, p_nan=0.2, shorts=True, scale=1.0, gaps=True, every=None):
    rng = np.random.default_rng(seed)
    close = walk(rng, n_bars, n_cols)
    if gaps:
        close = listings(rng, close)
    open_ = close * np.exp(rng.normal(0.0, 0.01, close.shape))
    w = random_weights(rng, close.shape, p_nan, shorts, scale)
    w[np.isnan(close)] = np.nan  # a bar that does not exist carries no signal
    rebalance = None
    if every is not None:
        rebalance = np.zeros(close.shape, bool)
        rebalance[::every] = True
    lev = np.where(rng.random(close.shape) < 0.3, rng.choice([0.5, 1.0, 1.5], close.shape), np.nan)
    lev[np.isnan(close)] = np.nan
    return panel_bars(close, w, open_=open_, rebalance=rebalance, leverage=lev)


costs = st.fixed_dictionaries(
    {
        "fees": st.sampled_from([0.0, 0.001, 0.01]),
        "fixed_fees": st.sampled_from([0.0, 1.0, 25.0]),
        "slippage": st.sampled_from([0.0, 0.002]),
    }
)


# ---------------------------------------------------------------------------------------------------------------
# Named cases
# ---------------------------------------------------------------------------------------------------------------


def test_equal_weights_every_bar():
    rng = np.random.default_rng(1)
    close = walk(rng, 30, 4)
    assert_same(panel_bars(close, np.full(close.shape, 0.25)), order="auto", fees=0.001)


@pytest.mark.parametrize("order", ["auto", "pro_rata"])  # (in symbol order these sizes are exactly 0)
def test_a_target_already_held_is_no_order(order):
    """Flat prices and the same weights every bar: after the first bar each order is a rounding error away from
    zero units, which vectorbt ignores (a size within 1e-12 of zero): nothing is traded and nothing is refused."""
    close = np.tile([43.57, 28.45, 17.09, 22.87], (6, 1))
    w = np.tile([0.01852941309882143, 0.06776529709762455, 0.5158594677955839, 0.38784582200797013], (6, 1))
    res, ref = assert_same(panel_bars(close, w), order=order)
    assert {o.bar for o in ref.orders} == {0}
    assert res.orders.height == 4
    # the case is one: after the first bar the targets' units are a rounding error away from the positions
    value = float(ref.equity[0, 0])  # flat prices: the value every bar
    raw = w[1] * value / close[1] - ref.position[1]
    assert np.any(raw != 0) and np.all(np.abs(raw) <= 1e-9 * np.abs(ref.position[1]))


@pytest.mark.parametrize("order", ["auto", "symbol", "pro_rata"])
def test_each_call_order_on_a_shortage(order):
    """Weights summing to 1.2 with fees: buys need more cash than there is on every rebalance."""
    rng = np.random.default_rng(2)
    close = walk(rng, 25, 5)
    w = rng.dirichlet(np.ones(5), 25) * 1.2
    assert_same(panel_bars(close, w), order=order, fees=0.002, fixed_fees=1.0)


def test_rebalance_mask_and_drift():
    panel = _panel(3, 30, 4, p_nan=0.0, shorts=False, gaps=False, every=5)
    _, ref = assert_same(panel, order="auto", with_rebalance=True, fees=0.001)
    assert {o.bar for o in ref.orders} <= set(range(0, 30, 5))


def test_leverage_setting_and_signal():
    panel = _panel(4, 20, 3, p_nan=0.0, scale=2.0)
    assert_same(panel, order="auto", leverage=1.0)
    assert_same(panel, order="pro_rata", leverage=2.0, with_leverage=True)


def test_lot_size_and_min_size():
    panel = _panel(5, 20, 3)
    assert_same(panel, order="auto", lot_size=5.0, min_size=1.0, fees=0.001)


def test_listings_and_delistings_next_open():
    panel = _panel(6, 25, 4)
    assert_same(panel, order="pro_rata", execution="next_open", fees=0.001, slippage=0.002)


# ---------------------------------------------------------------------------------------------------------------
# Random matrices
# ---------------------------------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    n_cols=st.integers(2, 5),
    n_bars=st.integers(5, 25),
    costs=costs,
    lot=st.sampled_from([None, None, 1.0, 0.5]),
    order=st.sampled_from(["auto", "symbol", "pro_rata"]),
    execution=st.sampled_from(["close", "next_open"]),
    shorts=st.booleans(),
    p_nan=st.sampled_from([0.0, 0.3]),
    scale=st.sampled_from([0.5, 1.0, 1.6]),
    gaps=st.booleans(),
    every=st.sampled_from([None, 1, 3]),
    leverage=st.sampled_from([None, None, 0.8, 1.5]),
    with_leverage=st.booleans(),
)
def test_random_weights(
    seed, n_cols, n_bars, costs, lot, order, execution, shorts, p_nan, scale, gaps, every, leverage, with_leverage
):
    panel = _panel(seed, n_bars, n_cols, p_nan=p_nan, shorts=shorts, scale=scale, gaps=gaps, every=every)
    kw = dict(costs, order=order, execution=execution, lot_size=lot, leverage=leverage)
    assert_same(panel, with_rebalance=every is not None, with_leverage=with_leverage, **kw)

"""The weights reference simulator (tests/parity/weights_reference.py) against vectorbt's ``from_orders``.

``order="auto"`` is ``Portfolio.from_orders(close=C, size=W, size_type="targetpercent", group_by=True,
cash_sharing=True, call_seq="auto", price=C, ...)``; ``order="symbol"`` the same with ``call_seq="default"``.
A rebalance mask is fed to vectorbt as NaN weights (NaN size: vectorbt leaves the column alone). Compared, to
1e-9 relative: every filled order in execution order (bar, column, side, size, price, fees), every rejected order
with its reason (vectorbt's logs), positions, cash and the equity curve (``pf.value()``).

vectorbt compiles its simulation once per argument type signature (~20 s), so ``_vectorbt`` always passes the
same types: 2-D float64 arrays for every number, plain Python values for the rest.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from . import weights_panels
from .weights_reference import FILLED, IGNORED, REJECTED, WeightsResult, simulate_weights

vbt = pytest.importorskip("vectorbt")

RTOL = 1e-9

# vectorbt 1.2.0's OrderStatusInfo (vectorbt/portfolio/enums.py) -> ml4t's reason codes.
VBT_REASONS = {
    4: "no_equity",
    6: "short_collateral",
    7: "insufficient_cash",
    11: "cant_cover_fees",
    12: "below_min_size",
}
VBT_FILLED, VBT_IGNORED = 0, 1


def _f2d(x, shape):
    return np.ascontiguousarray(np.broadcast_to(np.asarray(np.nan if x is None else x, dtype=np.float64), shape))


def vectorbt_weights(close, weights, *, order="auto", rebalance=None, price=None, cash_sharing=True, **kw):
    """vectorbt's ``from_orders`` on target percents, with one fixed argument type signature (one group of all
    columns with ``cash_sharing``, else every column its own account)."""
    close = np.asarray(close, dtype=np.float64)
    shape = close.shape
    size = np.array(np.broadcast_to(np.asarray(weights, dtype=np.float64), shape))
    if rebalance is not None:
        size[~np.broadcast_to(np.asarray(rebalance, dtype=bool), shape)] = np.nan
    lot = kw.pop("lot_size", None)
    return vbt.Portfolio.from_orders(
        close=close,
        size=np.ascontiguousarray(size),
        size_type="targetpercent",
        price=_f2d(close if price is None else price, shape),
        fees=_f2d(kw.pop("fees", 0.0), shape),
        fixed_fees=_f2d(kw.pop("fixed_fees", 0.0), shape),
        slippage=_f2d(kw.pop("slippage", 0.0), shape),
        min_size=_f2d(kw.pop("min_size", 1e-8), shape),
        size_granularity=_f2d(lot, shape),
        init_cash=float(kw.pop("init_cash", 100.0)),
        group_by=True if cash_sharing else None,
        cash_sharing=cash_sharing,
        call_seq={"auto": "auto", "symbol": "default"}[order],
        log=True,
        **kw,
    )


def assert_same(close, weights, **kw) -> WeightsResult:
    """Run the reference and vectorbt on the same inputs and compare everything; return the reference's result."""
    ref = simulate_weights(close, weights, **kw)
    pf = vectorbt_weights(close, weights, **kw)
    scale = float(kw.get("init_cash", 100.0))

    # Filled orders, in execution order (vectorbt's order records are written as orders execute).
    rec = pf.order_records
    fills = ref.fills
    if not kw.get("cash_sharing", True):  # vectorbt simulates one account after the other
        fills = sorted(fills, key=lambda o: o.col)
    assert [(o.bar, o.col, o.side) for o in fills] == [
        (int(r["idx"]), int(r["col"]), "buy" if r["side"] == 0 else "sell") for r in rec
    ]
    if fills:
        for name in ("size", "price", "fees"):
            np.testing.assert_allclose(
                [getattr(o, name) for o in fills], rec[name], rtol=RTOL, atol=1e-12 * scale, err_msg=name
            )

    # Every order that was filled or rejected, with its reason (vectorbt logs the ignored ones too: a NaN size,
    # a NaN price, a size within 1e-12 of zero; those change nothing and are no order in ml4t; and see
    # zero_units).
    logs = pf.log_records
    logs = logs[(logs["res_status"] != VBT_IGNORED) & ~zero_units(logs)]
    placed = ref.placed if kw.get("cash_sharing", True) else sorted(ref.placed, key=lambda o: o.col)
    assert [(o.bar, o.col, o.status, o.reason) for o in placed] == [
        (
            int(r["idx"]),
            int(r["col"]),
            FILLED if r["res_status"] == VBT_FILLED else REJECTED,
            "" if r["res_status"] == VBT_FILLED else VBT_REASONS[int(r["res_status_info"])],
        )
        for r in logs
    ]

    np.testing.assert_allclose(ref.position, pf.assets().to_numpy(), rtol=RTOL, atol=1e-9)
    np.testing.assert_allclose(ref.cash, _2d(pf.cash().to_numpy()), rtol=RTOL, atol=1e-9 * scale)
    np.testing.assert_allclose(ref.equity, _2d(pf.value().to_numpy()), rtol=RTOL, atol=1e-9 * scale)
    return ref


def zero_units(logs) -> np.ndarray:
    """vectorbt's refusals of targets already held: its no-equity refusals of targets that need no trade
    (``size * value / val_price - position`` is exactly 0: vectorbt refuses before sizing), and its refusals
    of a rounding error of a target already held (the units within vectorbt's own tolerance of the position,
    refused below ``min_size`` or for want of cash). For ml4t and the reference such a target is no order."""
    with np.errstate(invalid="ignore", divide="ignore"):
        position = logs["position"]
        units = logs["req_size"] * logs["value"] / logs["val_price"] - position
        after = position + units
        held = np.abs(units) <= np.maximum(1e-9 * np.maximum(np.abs(after), np.abs(position)), 1e-12)
    return ((logs["res_status_info"] == 4) & (units == 0)) | ((logs["res_status"] != VBT_FILLED) & held)


def _2d(a):
    return a[:, None] if a.ndim == 1 else a


@pytest.fixture(scope="module", autouse=True)
def _warm_vectorbt():
    """Compile vectorbt's simulation and reductions once for the module."""
    close = np.array([[10.0, 20.0], [11.0, 19.0], [12.0, 21.0]])
    assert_same(close, np.array([[0.5, 0.5], [0.2, 0.8], [np.nan, 0.1]]))
    assert_same(close, np.array([[0.5, 0.5], [0.2, 0.8], [np.nan, 0.1]]), cash_sharing=False)


# ---------------------------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------------------------


def _walk(rng: np.random.Generator, n_bars: int, n_cols: int, vol: float = 0.04) -> np.ndarray:
    return 50.0 * np.exp(np.cumsum(rng.normal(0.0, vol, (n_bars, n_cols)), axis=0))


def _weights(rng: np.random.Generator, shape: tuple[int, int], p_nan: float, shorts: bool, scale: float) -> np.ndarray:
    low = -0.8 if shorts else 0.0
    w = rng.uniform(low, 1.0, shape) * scale / shape[1] * 2
    w[rng.random(shape) < 0.15] = 0.0
    w[rng.random(shape) < p_nan] = np.nan
    return w


costs = st.fixed_dictionaries(
    {
        "fees": st.sampled_from([0.0, 0.001, 0.01]),
        "fixed_fees": st.sampled_from([0.0, 1.0, 25.0]),
        "slippage": st.sampled_from([0.0, 0.002]),
    }
)
lots = st.sampled_from([None, None, 1.0, 0.5, 10.0])


# ---------------------------------------------------------------------------------------------------------------
# Named cases
# ---------------------------------------------------------------------------------------------------------------


def test_equal_weights_buy_at_the_close():
    close = np.array([[10.0, 20.0, 40.0], [11.0, 18.0, 44.0], [12.0, 19.0, 40.0]])
    ref = assert_same(close, np.full(close.shape, 1 / 3), init_cash=900.0)
    first = [o for o in ref.fills if o.bar == 0]
    assert [o.size for o in first] == pytest.approx([30.0, 15.0, 7.5])


def test_auto_sells_before_buys_so_the_sells_fund_the_buys():
    close = np.array([[10.0, 10.0], [10.0, 20.0], [10.0, 20.0]])
    w = np.array([[1.0, 0.0], [0.0, 1.0], [np.nan, np.nan]])
    ref = assert_same(close, w, init_cash=1000.0)
    assert [(o.bar, o.col, o.side) for o in ref.fills] == [(0, 0, "buy"), (1, 0, "sell"), (1, 1, "buy")]
    assert ref.position[1, 1] == pytest.approx(50.0)


def test_symbol_order_buys_before_it_sells_and_the_buy_is_cut_to_the_cash():
    close = np.array([[10.0, 10.0], [10.0, 20.0]])
    w = np.array([[0.0, 1.0], [1.0, 0.0]])
    ref = assert_same(close, w, init_cash=1000.0, order="symbol")
    # bar 1: value 2000; column 0 wants 200 units for 2000 but cash is 0 -> rejected, then column 1 sells
    assert [(o.col, o.status, o.reason) for o in ref.orders if o.bar == 1] == [
        (0, REJECTED, "insufficient_cash"),
        (1, FILLED, ""),
    ]


def test_nan_weights_leave_the_position_to_drift():
    close = np.array([[10.0, 10.0], [20.0, 10.0], [40.0, 10.0]])
    w = np.array([[0.5, 0.5], [np.nan, np.nan], [np.nan, 0.5]])
    ref = assert_same(close, w, init_cash=1000.0)
    assert ref.position[2, 0] == 50.0  # never traded after bar 0
    assert ref.equity[2, 0] == pytest.approx(50 * 40 + ref.position[2, 1] * 10 + ref.cash[2, 0])


def test_rebalance_mask_is_nan_weights():
    rng = np.random.default_rng(3)
    close = _walk(rng, 20, 3)
    w = _weights(rng, close.shape, 0.0, False, 1.0)
    mask = np.zeros(close.shape, bool)
    mask[::5] = True
    ref = assert_same(close, w, rebalance=mask, init_cash=10_000.0, fees=0.001)
    assert {o.bar for o in ref.orders} <= {0, 5, 10, 15}


def test_shorts_and_weights_above_one():
    close = np.array([[10.0, 20.0], [12.0, 18.0], [9.0, 25.0], [11.0, 20.0]])
    w = np.array([[1.5, -0.5], [1.5, -0.5], [-1.0, 1.0], [0.0, 0.0]])
    ref = assert_same(close, w, init_cash=1000.0, fees=0.001, slippage=0.001)
    assert ref.position[0, 1] < 0
    assert ref.position[3].tolist() == [0.0, 0.0]


def test_listing_and_delisting_place_no_order_without_a_price():
    nan = np.nan
    close = np.array([[nan, 10.0], [nan, 11.0], [5.0, 12.0], [6.0, nan], [7.0, nan]])
    w = np.full(close.shape, 0.5)
    ref = assert_same(close, w, init_cash=1000.0)
    assert {(o.bar, o.col) for o in ref.orders if o.col == 0} == {(2, 0), (3, 0), (4, 0)}
    assert not [o for o in ref.orders if o.col == 1 and o.bar >= 3]
    # the delisted column is valued at its last price
    assert ref.value[3, 0] == pytest.approx(ref.cash[2, 0] + ref.position[2, 0] * 6.0 + ref.position[2, 1] * 12.0)


def test_lot_size_floors_every_order():
    close = np.array([[33.0, 7.0], [35.0, 6.5], [30.0, 8.0]])
    w = np.array([[0.6, 0.4], [0.3, 0.7], [0.5, 0.5]])
    ref = assert_same(close, w, init_cash=1000.0, lot_size=5.0, fees=0.001)
    assert all(o.size % 5.0 == 0 for o in ref.fills)


def test_fixed_fees_reject_small_sales_and_min_size_rejects_small_orders():
    close = np.array([[10.0, 10.0], [10.0, 10.01], [10.0, 10.0]])
    w = np.array([[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]])
    ref = assert_same(close, w, init_cash=1000.0, min_size=0.1)
    assert any(o.reason == "below_min_size" for o in ref.orders)
    close2 = np.array([[10.0, 10.0], [10.0, 10.1]])
    ref2 = assert_same(close2, np.array([[0.5, 0.5], [0.5, 0.5]]), init_cash=1000.0, fixed_fees=5.0)
    assert any(o.reason == "cant_cover_fees" for o in ref2.orders)


def test_no_equity_rejects_every_target_in_call_order():
    close = np.array([[10.0, 10.0, 10.0], [10.0, 40.0, 10.0], [10.0, 40.0, 10.0]])
    w = np.array([[2.0, -1.0, 0.0], [np.nan, np.nan, np.nan], [0.5, 0.5, 0.5]])
    ref = assert_same(close, w, init_cash=1000.0)
    assert ref.value[2, 0] == pytest.approx(-2000.0)
    # a flat column targeted at 0 needs no trade: vectorbt refuses it anyway, here it is no order
    w0 = w.copy()
    w0[2, 2] = 0.0
    assert [o.col for o in assert_same(close, w0, init_cash=1000.0).orders if o.bar == 2] == [0, 1]
    # approximate order values -3000, 3000, -1000: the refusals come in that sorted order
    assert [(o.col, o.status, o.reason) for o in ref.orders if o.bar == 2] == [
        (0, REJECTED, "no_equity"),
        (2, REJECTED, "no_equity"),
        (1, REJECTED, "no_equity"),
    ]


# ---------------------------------------------------------------------------------------------------------------
# Random weight matrices
# ---------------------------------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    n_cols=st.integers(2, 5),
    n_bars=st.integers(5, 25),
    costs=costs,
    lot=lots,
    order=st.sampled_from(["auto", "symbol"]),
    shorts=st.booleans(),
    p_nan=st.sampled_from([0.0, 0.3]),
    scale=st.sampled_from([0.5, 1.0, 1.6]),
    listings=st.booleans(),
    rebalance_every=st.sampled_from([None, 1, 3]),
)
def test_random_weights(seed, n_cols, n_bars, costs, lot, order, shorts, p_nan, scale, listings, rebalance_every):
    rng = np.random.default_rng(seed)
    close = _walk(rng, n_bars, n_cols)
    if listings:
        close = weights_panels.listings(rng, close, first=0)
    w = _weights(rng, close.shape, p_nan, shorts, scale)
    rebalance = None
    if rebalance_every is not None:
        rebalance = np.zeros(close.shape, bool)
        rebalance[::rebalance_every] = True
    init_cash = float(rng.choice([1_000.0, 10_000.0]))
    assert_same(close, w, order=order, rebalance=rebalance, lot_size=lot, init_cash=init_cash, **costs)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31), n_cols=st.integers(1, 4), costs=costs, lot=lots, shorts=st.booleans())
def test_separate_accounts(seed, n_cols, costs, lot, shorts):
    """Without cash sharing every column is its own account with its own initial cash."""
    rng = np.random.default_rng(seed)
    close = weights_panels.listings(rng, _walk(rng, 15, n_cols), first=0)
    w = _weights(rng, close.shape, 0.2, shorts, n_cols * 0.6)
    assert_same(close, w, cash_sharing=False, lot_size=lot, init_cash=1_000.0, **costs)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31), costs=costs)
def test_next_open_emulation(seed, costs):
    """Fill at the next open = weights shifted one bar, priced at the open (vectorbt's way too)."""
    rng = np.random.default_rng(seed)
    close = _walk(rng, 15, 3)
    open_ = close * np.exp(rng.normal(0, 0.01, close.shape))
    w = _weights(rng, close.shape, 0.2, True, 1.0)
    shifted = np.vstack([np.full((1, 3), np.nan), w[:-1]])
    assert_same(close, shifted, price=open_, init_cash=10_000.0, **costs)


# ---------------------------------------------------------------------------------------------------------------
# Rules vectorbt does not have: the reference against the contract's own statements
# ---------------------------------------------------------------------------------------------------------------


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31), n_cols=st.integers(2, 5), lot=lots)
def test_pro_rata_without_a_shortage_is_auto(seed, n_cols, lot):
    """Long weights summing to at most 0.9, every symbol rebalanced every bar, leave cash to spare on every bar:
    nothing to share, the two agree."""
    rng = np.random.default_rng(seed)
    close = _walk(rng, 15, n_cols)
    w = rng.dirichlet(np.ones(n_cols), close.shape[0]) * rng.uniform(0.0, 0.9, (close.shape[0], 1))
    a = simulate_weights(close, w, order="auto", init_cash=10_000.0, fees=0.001, lot_size=lot)
    p = simulate_weights(close, w, order="pro_rata", init_cash=10_000.0, fees=0.001, lot_size=lot)
    assert a.orders == p.orders
    np.testing.assert_array_equal(a.equity, p.equity)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    n_cols=st.integers(2, 5),
    fees=st.sampled_from([0.0, 0.001, 0.01]),
    fixed_fees=st.sampled_from([0.0, 1.0]),
    slippage=st.sampled_from([0.0, 0.002]),
)
def test_pro_rata_shares_a_shortage_in_proportion_to_need(seed, n_cols, fees, fixed_fees, slippage):
    """Buys that together need more than the free cash each get the same fraction of what they asked for (by
    cost), spend no more than the free cash in total, and no symbol is favoured by its position."""
    rng = np.random.default_rng(seed)
    close = _walk(rng, 2, n_cols)
    w0 = np.full(n_cols, 0.5 / n_cols)  # half the cash invested at bar 0
    w1 = w0 * rng.uniform(2.5, 3.5, n_cols)  # more of every symbol, 125% to 175% of equity: a shortage
    w = np.vstack([w0, w1])
    kw = {"fees": fees, "fixed_fees": fixed_fees, "slippage": slippage, "init_cash": 10_000.0}
    ref = simulate_weights(close, w, order="pro_rata", **kw)
    cash_before = ref.cash[0, 0]
    bar1 = [o for o in ref.orders if o.bar == 1]
    assert all(o.side == "buy" and o.status == FILLED for o in bar1)
    spent = [o.size * o.price + o.fees for o in bar1]
    assert sum(spent) <= cash_before * (1 + 1e-9)
    need = {}
    for o in bar1:
        units = w1[o.col] * ref.value[1, 0] / close[1, o.col] - ref.position[0, o.col]
        need[o.col] = units * close[1, o.col] * (1 + slippage) * (1 + fees) + fixed_fees
    ratios = [s / need[o.col] for s, o in zip(spent, bar1, strict=True)]
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-9)
    # relabelling the columns relabels the orders: no symbol is favoured by its name
    perm = rng.permutation(n_cols)
    again = simulate_weights(close[:, perm], w[:, perm], order="pro_rata", **kw)
    by_col = {perm[o.col]: o.size for o in again.orders if o.bar == 1}
    np.testing.assert_allclose([by_col[o.col] for o in bar1], [o.size for o in bar1], rtol=1e-9)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31), n_cols=st.integers(2, 5), cap=st.sampled_from([0.5, 0.8, 1.0]))
def test_leverage_scales_the_targets_down_to_the_cap(seed, n_cols, cap):
    """Long targets rebalanced every bar at zero cost: gross exposure is min(sum of weights, cap) and every
    position is its weight times the same scale (a cap of at most 1 keeps every buy affordable)."""
    rng = np.random.default_rng(seed)
    close = _walk(rng, 12, n_cols)
    w = rng.uniform(0.0, 1.5, close.shape)
    ref = simulate_weights(close, w, leverage=cap, init_cash=10_000.0, order="auto")
    exposure = ref.position * close / ref.value
    scale = np.minimum(1.0, cap / w.sum(axis=1))
    np.testing.assert_allclose(exposure, w * scale[:, None], rtol=1e-9, atol=1e-12)


def test_leverage_caps_a_long_short_book():
    close = np.array([[10.0, 20.0], [10.0, 20.0]])
    w = np.array([[1.5, -1.5], [3.0, -1.0]])
    ref = simulate_weights(close, w, leverage=2.0, init_cash=1000.0)
    assert ref.position[0].tolist() == pytest.approx([100.0, -50.0])  # 1.0 and -1.0 of equity
    assert ref.position[1].tolist() == pytest.approx([150.0, -25.0])  # 1.5 and -0.5: gross 2


def test_leverage_signal_overrides_the_setting_and_columns_left_alone_count():
    close = np.array([[10.0, 10.0], [10.0, 10.0]])
    w = np.array([[0.8, np.nan], [np.nan, 0.8]])
    lev = np.array([[np.nan, np.nan], [1.0, np.nan]])
    ref = simulate_weights(close, w, leverage=5.0, leverage_signal=lev, init_cash=1000.0)
    assert ref.position[0].tolist() == pytest.approx([80.0, 0.0])  # 0.8 <= 5
    # bar 1: column 0 (left alone) is 0.8 of equity, so column 1 may have only 1.0 - 0.8
    assert ref.position[1, 1] == pytest.approx(20.0)
    assert not math.isnan(ref.equity[1, 0])
    assert [o.status for o in ref.orders] == [FILLED, FILLED]
    assert IGNORED not in {o.status for o in ref.orders}

"""The reference simulator (tests/parity/reference.py) against vectorbt's ``Portfolio.from_signals``.

Every comparison: the same filled orders (bar, col, side, size, price, fees), the same attempted-but-not-filled
orders with the same reason (vectorbt's order logs), the same positions, cash and equity curve (``pf.value()``)
and the same number of closed and open exit trades, all to 1e-9 relative.

vectorbt compiles its simulation once per argument *type* signature (~20 s each), so every call goes through
``_vectorbt`` which always passes the same types: 2-D float64 arrays for all numbers, 2-D bool arrays for all
four signal arrays, and plain Python scalars for the enum-like settings.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ml4t.datasets import synthetic_bars

from .reference import FILLED, RefResult, simulate

vbt = pytest.importorskip("vectorbt")

RTOL = 1e-9

# vectorbt 1.2.0's order-status-info enum (vectorbt/portfolio/enums.py, OrderStatusInfoT) -> the reference's reasons.
VBT_REASONS = {
    0: "size is nan",
    1: "price is nan",
    2: "valuation price is nan",
    5: "size is zero",
    6: "no cash to short",
    7: "no cash",
    8: "no open position",
    11: "cannot cover fees",
    12: "below min size",
}
VBT_STATUS = {0: FILLED, 1: "ignored", 2: "rejected"}

N_BARS = 60


# ---------------------------------------------------------------------------------------------------------------
# Running vectorbt with one fixed argument-type signature
# ---------------------------------------------------------------------------------------------------------------


def _f2d(x, shape):
    return np.ascontiguousarray(np.broadcast_to(np.asarray(np.nan if x is None else x, dtype=np.float64), shape))


def _b2d(x, shape):
    return np.ascontiguousarray(np.broadcast_to(np.asarray(False if x is None else x, dtype=np.bool_), shape))


def _vectorbt(close, entries, exits, **kw):
    close = np.asarray(close, dtype=np.float64)
    shape = close.shape
    cash_sharing = kw.pop("cash_sharing", False)
    price = kw.pop("price", None)
    return vbt.Portfolio.from_signals(
        close,
        _b2d(entries, shape),
        _b2d(exits, shape),
        short_entries=_b2d(kw.pop("short_entries", None), shape),
        short_exits=_b2d(kw.pop("short_exits", None), shape),
        open=_f2d(kw.pop("open", None), shape),
        high=_f2d(kw.pop("high", None), shape),
        low=_f2d(kw.pop("low", None), shape),
        price=_f2d(close if price is None else price, shape),
        size=_f2d(kw.pop("size", np.inf), shape),
        size_type=kw.pop("size_type", "amount"),
        fees=_f2d(kw.pop("fees", 0.0), shape),
        fixed_fees=_f2d(kw.pop("fixed_fees", 0.0), shape),
        slippage=_f2d(kw.pop("slippage", 0.0), shape),
        min_size=_f2d(kw.pop("min_size", 1e-8), shape),
        sl_stop=_f2d(kw.pop("sl_stop", np.nan), shape),
        tp_stop=_f2d(kw.pop("tp_stop", np.nan), shape),
        sl_trail=bool(kw.pop("sl_trail", False)),
        stop_entry_price=kw.pop("stop_entry_price", "close"),
        accumulate=bool(kw.pop("accumulate", False)),
        init_cash=float(kw.pop("init_cash", 100.0)),
        cash_sharing=cash_sharing,
        group_by=True if cash_sharing else None,
        log=True,
        **kw,
    )


def assert_same(close, entries, exits, **kw) -> RefResult:
    """Run both simulators on the same inputs and compare everything; return the reference's result."""
    ref = simulate(close, entries, exits, **kw)
    pf = _vectorbt(close, entries, exits, **kw)
    n_cols = np.asarray(close).shape[1]
    scale = float(kw.get("init_cash", 100.0))

    # Filled orders.
    rec = np.sort(pf.order_records, order=["col", "idx"])
    fills = sorted(ref.fills, key=lambda o: (o.col, o.bar))
    assert [(o.col, o.bar, o.side) for o in fills] == [
        (int(r["col"]), int(r["idx"]), "buy" if r["side"] == 0 else "sell") for r in rec
    ]
    if fills:
        for name in ("size", "price", "fees"):
            ours = [getattr(o, name) for o in fills]
            np.testing.assert_allclose(ours, rec[name], rtol=RTOL, atol=1e-12, err_msg=name)

    # Every order vectorbt processed, with its status and reason (vectorbt's logs hold the rejected ones too).
    logs = np.sort(pf.log_records, order=["col", "idx"])
    attempted = sorted(ref.orders, key=lambda o: (o.col, o.bar))
    assert [(o.col, o.bar, o.status, o.reason) for o in attempted] == [
        (
            int(r["col"]),
            int(r["idx"]),
            VBT_STATUS[int(r["res_status"])],
            "" if r["res_status"] == 0 else VBT_REASONS[int(r["res_status_info"])],
        )
        for r in logs
    ]

    # Positions, cash and equity.
    np.testing.assert_allclose(ref.position, pf.assets().to_numpy(), rtol=RTOL, atol=1e-9)
    np.testing.assert_allclose(ref.cash, _2d(pf.cash().to_numpy()), rtol=RTOL, atol=1e-9 * scale)
    np.testing.assert_allclose(ref.equity, _2d(pf.value().to_numpy()), rtol=RTOL, atol=1e-9 * scale)

    # Exit trades: closed and open per column.
    trades = pf.trades.values
    closed = np.bincount(trades["col"][trades["status"] == 1], minlength=n_cols)
    still_open = np.bincount(trades["col"][trades["status"] == 0], minlength=n_cols)
    np.testing.assert_array_equal(ref.closed_trades, closed)
    np.testing.assert_array_equal(ref.open_trades, still_open)
    return ref


def _2d(a):
    return a[:, None] if a.ndim == 1 else a


@pytest.fixture(scope="module", autouse=True)
def _warm_vectorbt():
    """Compile vectorbt's simulation (and the order/trade/value reductions) once for the whole module."""
    close = np.linspace(10.0, 20.0, 6)[:, None]
    entries = np.array([[True], [False], [False], [False], [False], [False]])
    exits = np.array([[False], [False], [True], [False], [False], [False]])
    assert_same(close, entries, exits)


# ---------------------------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------------------------


def _ohlc(n_cols: int, seed: int, n_bars: int = N_BARS):
    bars = synthetic_bars(n_cols, n_bars, "1d", seed)
    return tuple(bars.wide(f).drop("ts_event").to_numpy() for f in ("open", "high", "low", "close"))


def _walk(n_cols: int, seed: int, n_bars: int = N_BARS, vol: float = 0.03) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 50.0 * np.exp(np.cumsum(rng.normal(0.0, vol, (n_bars, n_cols)), axis=0))


def _gappy_ohlc(n_cols: int, seed: int, n_bars: int = N_BARS, gap_vol: float = 0.02):
    """OHLC bars whose open jumps away from the previous close, so stops are often gapped through."""
    rng = np.random.default_rng(seed)
    prev_close = 50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, (n_bars, n_cols)), axis=0))
    o = prev_close * np.exp(rng.normal(0.0, gap_vol, prev_close.shape))
    c = o * np.exp(rng.normal(0.0, 0.02, o.shape))
    h = np.maximum(o, c) * np.exp(np.abs(rng.normal(0.0, 0.01, o.shape)))
    lo = np.minimum(o, c) * np.exp(-np.abs(rng.normal(0.0, 0.01, o.shape)))
    return o, h, lo, c


def _moving_average(close: np.ndarray, window: int) -> np.ndarray:
    out = np.full_like(close, np.nan)
    csum = np.cumsum(close, axis=0)
    out[window - 1 :] = (csum[window - 1 :] - np.vstack([np.zeros((1, close.shape[1])), csum[:-window]])) / window
    return out


def _crossovers(close: np.ndarray, fast: int = 5, slow: int = 15):
    f, s = _moving_average(close, fast), _moving_average(close, slow)
    above = np.nan_to_num(f - s) > 0
    prev = np.vstack([np.zeros((1, close.shape[1]), bool), above[:-1]])
    valid = ~np.isnan(s)
    return above & ~prev & valid, ~above & prev & valid


def _shift(signal: np.ndarray, k: int = 1) -> np.ndarray:
    """Signals decided on bar t acted on at bar t + k."""
    out = np.zeros_like(signal)
    out[k:] = signal[:-k]
    return out


def signals(n_cols: int, n_bars: int = N_BARS):
    return hnp.arrays(np.bool_, (n_bars, n_cols), elements=st.booleans())


fee_rates = st.sampled_from([0.0, 0.001, 0.01]) | st.floats(0.0, 0.02)
fixed_fee_amounts = st.sampled_from([0.0, 0.5]) | st.floats(0.0, 2.0)
slippages = st.sampled_from([0.0, 0.001]) | st.floats(0.0, 0.02)
seeds = st.integers(0, 2**32 - 1)


# ---------------------------------------------------------------------------------------------------------------
# Hand-checked behaviour of the reference itself
# ---------------------------------------------------------------------------------------------------------------


def test_all_cash_buy_size_formula():
    close = np.array([[10.0], [11.0]])
    ref = assert_same(close, [[True], [False]], [[False], [False]], fees=0.01, fixed_fees=1.0, slippage=0.02)
    (fill,) = ref.fills
    assert fill.size == pytest.approx((100.0 - 1.0) / 1.01 / (10.0 * 1.02), rel=1e-12)
    assert fill.price == pytest.approx(10.2, rel=1e-12)
    assert fill.fees == pytest.approx(100.0 - 99.0 / 1.01, rel=1e-12)
    assert ref.cash[-1, 0] == 0.0
    assert ref.equity[-1, 0] == pytest.approx(fill.size * 11.0, rel=1e-12)  # the open position is not closed
    assert (ref.closed_trades[0], ref.open_trades[0]) == (0, 1)


def test_conflicting_signals_are_dropped_and_flat_exits_ignored():
    close = np.array([[10.0], [11.0], [12.0], [13.0]])
    entries = [[True], [False], [True], [False]]
    exits = [[True], [True], [False], [False]]
    ref = assert_same(close, entries, exits)
    # bar 0: entry+exit -> nothing; bar 1: exit while flat -> nothing; bar 2: entry.
    assert [(o.bar, o.side) for o in ref.orders] == [(2, "buy")]


def test_opposite_entry_reverses_the_whole_position():
    close = np.array([[10.0], [10.0], [8.0], [9.0]])
    ref = assert_same(
        close,
        [[True], [False], [False], [False]],
        [[False]] * 4,
        short_entries=[[False], [False], [True], [False]],
    )
    buy, sell = ref.fills
    # Sells the 10 units held plus the largest short the 80 of proceeds can back: 10 more.
    assert sell.size == pytest.approx(buy.size + 80.0 / 8.0)
    assert ref.position[-1, 0] == pytest.approx(-10.0)
    assert (ref.closed_trades[0], ref.open_trades[0]) == (1, 1)


def test_long_and_short_entry_on_one_bar_are_both_dropped():
    close = np.full((3, 1), 10.0)
    ref = assert_same(close, [[True]] * 3, [[False]] * 3, short_entries=[[True], [False], [False]])
    assert [(o.bar, o.side) for o in ref.orders] == [(1, "buy")]


def test_orders_that_cannot_pay_their_fees_are_rejected_with_a_reason():
    close = np.array([[10.0], [10.0], [10.0]])
    ref = assert_same(close, [[True], [False], [False]], [[False], [True], [False]], fixed_fees=150.0)
    assert [(o.bar, o.status, o.reason) for o in ref.orders] == [(0, "rejected", "cannot cover fees")]


def test_orders_below_min_size_are_rejected():
    close = np.array([[10.0], [10.0]])
    ref = assert_same(close, [[True], [False]], [[False], [False]], size=0.5, min_size=1.0)
    assert [(o.status, o.reason) for o in ref.orders] == [("rejected", "below min size")]


def test_percent_size_cannot_reverse_in_either_simulator():
    close = np.full((3, 1), 10.0)
    kw = dict(short_entries=[[False], [True], [False]], size=0.5, size_type="percent")
    with pytest.raises(ValueError, match="reversal"):
        simulate(close, [[True], [False], [False]], [[False]] * 3, **kw)
    with pytest.raises(ValueError, match="reversal"):
        _vectorbt(close, [[True], [False], [False]], [[False]] * 3, **kw)


# ---------------------------------------------------------------------------------------------------------------
# Parity
# ---------------------------------------------------------------------------------------------------------------


def test_long_only_crossovers_on_synthetic_bars():
    *_, close = _ohlc(3, seed=11, n_bars=250)
    entries, exits = _crossovers(close)
    ref = assert_same(close, entries, exits, fees=0.001)
    assert ref.closed_trades.sum() >= 5


@settings(max_examples=40)
@given(
    data=st.data(),
    seed=seeds,
    fees=fee_rates,
    fixed_fees=fixed_fee_amounts,
    slippage=slippages,
    n_cols=st.integers(1, 2),
)
def test_long_short_signals_with_costs(data, seed, fees, fixed_fees, slippage, n_cols):
    close = _walk(n_cols, seed)
    le, lx, se, sx = (data.draw(signals(n_cols)) for _ in range(4))
    assert_same(close, le, lx, short_entries=se, short_exits=sx, fees=fees, fixed_fees=fixed_fees, slippage=slippage)


@settings(max_examples=30)
@given(
    data=st.data(),
    seed=seeds,
    sl=st.sampled_from([np.nan, 0.02, 0.05]),
    tp=st.sampled_from([np.nan, 0.03, 0.1]),
    trail=st.booleans(),
    entry_price=st.sampled_from(["close", "fillprice"]),
    with_ohlc=st.booleans(),
    slippage=slippages,
)
def test_stops(data, seed, sl, tp, trail, entry_price, with_ohlc, slippage):
    o, h, lo, c = _ohlc(2, seed % 10_000)
    ohlc = dict(open=o, high=h, low=lo) if with_ohlc else {}
    le, se = (data.draw(signals(2)) for _ in range(2))
    lx = data.draw(signals(2))
    assert_same(
        c,
        le,
        lx,
        short_entries=se,
        sl_stop=sl,
        tp_stop=tp,
        sl_trail=trail,
        stop_entry_price=entry_price,
        slippage=slippage,
        fees=0.001,
        **ohlc,
    )


def test_stops_trigger_in_both_directions_with_gaps():
    o, h, lo, c = _gappy_ohlc(3, seed=5, n_bars=300)
    rng = np.random.default_rng(5)
    le, se = rng.random(c.shape) < 0.05, rng.random(c.shape) < 0.05
    for trail in (False, True):
        ohlc = dict(open=o, high=h, low=lo)
        ref = assert_same(c, le, None, short_entries=se, sl_stop=0.03, tp_stop=0.04, sl_trail=trail, **ohlc)
        stop_exits = [f for f in ref.fills if not le[f.bar, f.col] and not se[f.bar, f.col]]
        assert len(stop_exits) >= 10
        assert any(f.price == o[f.bar, f.col] for f in stop_exits)  # some bar gapped through its stop


def test_per_bar_stops_and_sizes():
    o, h, lo, c = _ohlc(2, seed=3, n_bars=200)
    rng = np.random.default_rng(3)
    le, lx = rng.random(c.shape) < 0.1, rng.random(c.shape) < 0.05
    sl = np.where(rng.random(c.shape) < 0.5, 0.02, np.nan)
    tp = rng.uniform(0.01, 0.08, c.shape)
    size = rng.uniform(0.1, 3.0, c.shape)
    assert_same(c, le, lx, open=o, high=h, low=lo, sl_stop=sl, tp_stop=tp, size=size)


@settings(max_examples=30)
@given(
    data=st.data(),
    seed=seeds,
    size_type=st.sampled_from(["amount", "value", "percent"]),
    scalar_size=st.booleans(),
    fees=fee_rates,
    fixed_fees=fixed_fee_amounts,
)
def test_size_types(data, seed, size_type, scalar_size, fees, fixed_fees):
    close = _walk(2, seed)
    rng = np.random.default_rng(seed)
    caps = {"amount": 3.0, "value": 150.0, "percent": 1.0}
    size = rng.uniform(0.0, caps[size_type], close.shape)
    if scalar_size:
        everything = 1.0 if size_type == "percent" else np.inf  # an infinite percent of a short raises in both
        size = data.draw(st.sampled_from([everything, caps[size_type] / 2]), label="size")
    a, b, c = (data.draw(signals(2)) for _ in range(3))
    if size_type != "percent":
        sigs = dict(entries=a, exits=b, short_entries=c)
    elif data.draw(st.booleans(), label="short side"):
        # Percent cannot reverse a position (both simulators raise), so it trades one side only.
        sigs = dict(entries=None, exits=None, short_entries=a, short_exits=b)
    else:
        sigs = dict(entries=a, exits=b)
    assert_same(close, size=size, size_type=size_type, fees=fees, fixed_fees=fixed_fees, **sigs)


@settings(max_examples=30)
@given(
    data=st.data(),
    seed=seeds,
    size=st.sampled_from([np.inf, 1.0, 0.3]),
    size_type=st.sampled_from(["amount", "value", "percent"]),
    fees=fee_rates,
    slippage=slippages,
    with_stops=st.booleans(),
)
def test_accumulate(data, seed, size, size_type, fees, slippage, with_stops):
    close = _walk(1, seed)
    if size_type == "value" and np.isfinite(size):
        size *= 40.0
    if size_type == "percent" and np.isinf(size):
        size = 1.0
    le, lx, se, sx = (data.draw(signals(1)) for _ in range(4))
    stops = dict(sl_stop=0.05, tp_stop=0.05) if with_stops else {}
    assert_same(
        close,
        le,
        lx,
        short_entries=se,
        short_exits=sx,
        size=size,
        size_type=size_type,
        fees=fees,
        slippage=slippage,
        accumulate=True,
        **stops,
    )


@settings(max_examples=30)
@given(data=st.data(), seed=seeds, fees=fee_rates, fixed_fees=fixed_fee_amounts, size=st.sampled_from([np.inf, 1.0]))
def test_cash_sharing_three_columns(data, seed, fees, fixed_fees, size):
    close = _walk(3, seed)
    le, lx, se, sx = (data.draw(signals(3)) for _ in range(4))
    ref = assert_same(
        close,
        le,
        lx,
        short_entries=se,
        short_exits=sx,
        cash_sharing=True,
        init_cash=300.0,
        fees=fees,
        fixed_fees=fixed_fees,
        size=size,
        sl_stop=0.1,
    )
    assert ref.cash.shape == (N_BARS, 1)
    assert ref.equity.shape == (N_BARS, 1)


def test_cash_sharing_spends_cash_in_column_order():
    close = np.full((2, 3), 10.0)
    ref = assert_same(close, [[True, True, True], [False] * 3], None, cash_sharing=True, init_cash=300.0)
    # The first column buys with all 300, the others find no cash.
    assert [(o.col, o.status, o.reason) for o in ref.orders] == [
        (0, "filled", ""),
        (1, "rejected", "no cash"),
        (2, "rejected", "no cash"),
    ]


@settings(max_examples=25)
@given(data=st.data(), seed=st.integers(0, 10_000), fees=fee_rates, slippage=slippages, with_stops=st.booleans())
def test_next_open_emulation(data, seed, fees, slippage, with_stops):
    o, h, lo, c = _ohlc(2, seed)
    le, lx, se = (data.draw(signals(2)) for _ in range(3))
    stops = dict(open=o, high=h, low=lo, sl_stop=0.03, tp_stop=0.05, stop_entry_price="fillprice") if with_stops else {}
    ref = assert_same(
        c, _shift(le), _shift(lx), short_entries=_shift(se), price=o, fees=fees, slippage=slippage, **stops
    )
    if not with_stops:
        for f in ref.fills:
            assert f.price == pytest.approx(o[f.bar, f.col] * (1 + slippage if f.side == "buy" else 1 - slippage))


def test_next_open_crossovers_on_synthetic_bars():
    o, _, _, c = _ohlc(3, seed=21, n_bars=250)
    entries, exits = _crossovers(c)
    ref = assert_same(c, _shift(entries), _shift(exits), price=o, fees=0.0005, slippage=0.0005)
    assert all(f.bar > 0 for f in ref.fills)

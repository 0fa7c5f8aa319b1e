"""The kernel's portfolio side of issue #12, driven through ``ml4t._core`` with the ten kernel arrays built
directly (``ml4t._kernel.inputs.KERNEL_KEYS`` order): weights mode against vectorbt's
``Portfolio.from_orders(size_type="targetpercent", call_seq="auto")``, the call order of a shared account in
signal mode against vectorbt's ``from_signals(call_seq="auto")``, pro-rata cash, the leverage cap and lot sizes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ml4t._kernel.inputs import KERNEL_KEYS, simulator
from ml4t.settings import VectorizedSettings

vbt = pytest.importorskip("vectorbt")

pytestmark = pytest.mark.filterwarnings(
    "ignore:The inplace keyword in DataFrame.rename is deprecated:pandas.errors.Pandas4Warning"
)
_BOOLS = {"entries", "exits", "short_entries", "short_exits", "rebalance"}


def _arrays(**given: np.ndarray) -> tuple[np.ndarray, ...]:
    """The ten kernel arrays, ``(n_symbols, n_bars)`` each, from ``(n_bars, n_symbols)`` inputs (vectorbt's
    layout); absent keys are (0, 0) arrays."""
    out = []
    for key in KERNEL_KEYS:
        a = given.get(key)
        if a is None:
            out.append(np.zeros((0, 0), dtype=bool if key in _BOOLS else np.float64))
        else:
            out.append(np.ascontiguousarray(a.T, dtype=bool if key in _BOOLS else np.float64))
    return tuple(out)


def _run(close: np.ndarray, s: VectorizedSettings, **given: np.ndarray) -> dict:
    prices = np.ascontiguousarray(close.T)
    ts = np.arange(close.shape[0], dtype=np.int64) * 86_400_000_000_000
    return simulator(s).run((prices, prices, prices, prices), _arrays(**given), True, ts)


def _positions(raw: dict, n_symbols: int) -> np.ndarray:
    return np.asarray(raw["positions"]).reshape(-1, n_symbols)


def _prices(rng: np.random.Generator, n_bars: int, n_symbols: int) -> np.ndarray:
    return 20.0 * np.exp(np.cumsum(rng.normal(0.0, 0.03, (n_bars, n_symbols)), axis=0))


def _weights(rng: np.random.Generator, n_bars: int, n_symbols: int, shorts: bool) -> np.ndarray:
    w = rng.uniform(-0.4 if shorts else 0.0, 0.6, (n_bars, n_symbols))
    w[rng.random((n_bars, n_symbols)) < 0.3] = np.nan
    return w


def _vbt_orders(close, w, *, fees, fixed_fees, slippage, lot_size, init_cash):
    frame = pd.DataFrame(close, index=pd.date_range("2020-01-01", periods=len(close), freq="D"))
    return vbt.Portfolio.from_orders(
        close=frame,
        size=pd.DataFrame(w, index=frame.index),
        size_type="targetpercent",
        group_by=True,
        cash_sharing=True,
        call_seq="auto",
        price=frame,
        fees=fees,
        fixed_fees=fixed_fees,
        slippage=slippage,
        size_granularity=np.nan if lot_size is None else lot_size,
        init_cash=init_cash,
        freq="1D",
    )


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    n_symbols=st.integers(1, 5),
    shorts=st.booleans(),
    fees=st.sampled_from([0.0, 0.001, 0.01]),
    fixed_fees=st.sampled_from([0.0, 1.0]),
    slippage=st.sampled_from([0.0, 0.002]),
    lot_size=st.sampled_from([None, 1.0, 0.5]),
)
def test_weights_mode_equals_vectorbt_target_percent(seed, n_symbols, shorts, fees, fixed_fees, slippage, lot_size):
    rng = np.random.default_rng(seed)
    n_bars = 30
    close, w = _prices(rng, n_bars, n_symbols), _weights(rng, n_bars, n_symbols, shorts)
    s = VectorizedSettings(
        order="auto", fees=fees, fixed_fees=fixed_fees, slippage=slippage, lot_size=lot_size, init_cash=10_000.0
    )
    raw = _run(close, s, weights=w)
    pf = _vbt_orders(
        close, w, fees=fees, fixed_fees=fixed_fees, slippage=slippage, lot_size=lot_size, init_cash=10_000.0
    )
    np.testing.assert_allclose(raw["equity"], pf.value().to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(_positions(raw, n_symbols), pf.assets().to_numpy(), rtol=1e-9, atol=1e-9)
    rec = pf.orders.records
    fills = np.asarray(raw["fill_quantity"])
    assert len(fills) == len(rec)
    # vectorbt's records are by column then bar; ours in execution order: compare as sorted (bar, symbol) rows
    day = raw["fill_ts"] // 86_400_000_000_000
    ours = sorted(zip(day, raw["fill_symbol"], fills, raw["fill_price"], raw["fill_fee"], strict=True))
    theirs = sorted(zip(rec["idx"], rec["col"], rec["size"], rec["price"], rec["fees"], strict=True))
    for a, b in zip(ours, theirs, strict=True):
        assert (a[0], a[1]) == (b[0], b[1])
        np.testing.assert_allclose(a[2:], b[2:], rtol=1e-9, atol=1e-12)


def test_weights_leave_a_symbol_alone_where_null_or_not_rebalancing():
    close = np.array([[10.0, 20.0], [12.0, 18.0], [12.0, 18.0], [15.0, 18.0]])
    w = np.array([[0.5, 0.5], [0.5, 0.5], [np.nan, 0.25], [0.5, 0.5]])
    rebalance = np.array([[True, True], [False, False], [True, True], [True, False]])
    raw = _run(close, VectorizedSettings(order="auto", init_cash=1000.0), weights=w, rebalance=rebalance)
    pos = _positions(raw, 2)
    assert pos[1].tolist() == [50.0, 25.0]  # bar 1 does not rebalance: drifts
    assert pos[2, 0] == 50.0 and pos[2, 1] == pytest.approx(0.25 * 1050.0 / 18.0)  # A null: left alone
    assert pos[3, 1] == pos[2, 1]  # B does not rebalance at bar 3


def test_the_leverage_cap_scales_the_targets_by_the_least_per_bar_cap():
    close = np.full((2, 3), 10.0)
    w = np.array([[0.5, 0.5, 0.5], [np.nan, np.nan, np.nan]])
    lev = np.array([[np.nan, 1.2, 0.9], [np.nan, np.nan, np.nan]])
    raw = _run(close, VectorizedSettings(order="auto", init_cash=1000.0, leverage=2.0), weights=w, leverage=lev)
    assert _positions(raw, 3)[0] * 10.0 == pytest.approx([300.0, 300.0, 300.0])  # 1.5 gross scaled to 0.9
    raw = _run(close, VectorizedSettings(order="auto", init_cash=1000.0, leverage=0.6), weights=w)
    assert _positions(raw, 3)[0] * 10.0 == pytest.approx([200.0, 200.0, 200.0])  # the setting's cap


def test_an_account_without_equity_rejects_its_targets_as_data():
    close = np.array([[10.0, 10.0], [10.0, 40.0]])
    w = np.array([[1.0, -1.0], [0.5, 0.5]])
    raw = _run(close, VectorizedSettings(order="auto", init_cash=1000.0), weights=w)
    assert raw["equity"][1] < 0
    rejected = [raw["order_reason_code_values"][c] for c in raw["order_reason_code"][-2:]]
    assert rejected == ["no_equity", "no_equity"]


def test_lot_sizes_floor_every_fill_in_signal_mode_too():
    close = np.array([[7.3, 11.0], [7.5, 11.2], [7.4, 11.9]])
    entries = np.array([[True, True], [False, False], [False, False]])
    raw = _run(close, VectorizedSettings(order="symbol", init_cash=1000.0, lot_size=5.0, fees=0.001), entries=entries)
    quantities = np.asarray(raw["fill_quantity"])
    assert len(quantities) == 1 and quantities[0] % 5.0 == 0.0  # all in: 1000 / 7.3 / 1.001 -> 135
    assert quantities[0] == 135.0


def test_pro_rata_gives_simultaneous_all_in_entries_equal_cash():
    close = np.array([[10.0, 20.0, 40.0], [11.0, 19.0, 42.0]])
    entries = np.array([[True, True, True], [False, False, False]])
    spent = {}
    for order in ("pro_rata", "symbol", "auto"):
        raw = _run(close, VectorizedSettings(order=order, init_cash=900.0), entries=entries)
        filled = np.asarray(raw["fill_quantity"]) * np.asarray(raw["fill_price"])
        spent[order] = dict(zip(np.asarray(raw["fill_symbol"]).tolist(), filled.tolist(), strict=True))
    assert spent["pro_rata"] == pytest.approx({0: 300.0, 1: 300.0, 2: 300.0})
    assert spent["symbol"] == {0: 900.0}  # alphabetical cash priority: the first symbol takes everything
    assert spent["auto"] == {0: 900.0}  # all-in orders tie on an infinite value: column order


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**16), n_symbols=st.integers(2, 4), size=st.sampled_from([np.inf, 30.0]))
def test_auto_order_in_signal_mode_equals_vectorbt_call_seq_auto(seed, n_symbols, size):
    rng = np.random.default_rng(seed)
    n_bars = 40
    close = _prices(rng, n_bars, n_symbols)
    le, lx, se, sx = (rng.random((n_bars, n_symbols)) < 0.15 for _ in range(4))
    s = VectorizedSettings(order="auto", fees=0.001, init_cash=1000.0, size=size)
    raw = _run(close, s, entries=le, exits=lx, short_entries=se, short_exits=sx)
    frame = pd.DataFrame(close, index=pd.date_range("2020-01-01", periods=n_bars, freq="D"))
    pf = vbt.Portfolio.from_signals(
        close=frame,
        entries=le,
        exits=lx,
        short_entries=se,
        short_exits=sx,
        size=size,
        fees=0.001,
        init_cash=1000.0,
        group_by=True,
        cash_sharing=True,
        call_seq="auto",
        freq="1D",
    )
    np.testing.assert_allclose(raw["equity"], pf.value().to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(_positions(raw, n_symbols), pf.assets().to_numpy(), rtol=1e-9, atol=1e-9)


def test_kernel_signals_are_the_ten_arrays_in_kernel_order():
    assert KERNEL_KEYS == (
        "entries",
        "exits",
        "short_entries",
        "short_exits",
        "size",
        "sl_stop",
        "tp_stop",
        "weights",
        "rebalance",
        "leverage",
    )


@pytest.mark.parametrize("execution", ["close", "next_open"])
def test_a_weights_sweep_equals_each_combinations_run(execution):
    """The one-pass sweep statistics (with the fast-forward over flat bars) of every combination equal its
    detailed run; targets start late and leave gaps so flat stretches are skipped."""
    rng = np.random.default_rng(3)
    n_bars, n_symbols, n_combos = 60, 3, 3
    close = _prices(rng, n_bars, n_symbols)
    per_combo = []
    for c in range(n_combos):
        w = _weights(rng, n_bars, n_symbols, shorts=c == 1)
        w[: 10 + 5 * c] = np.nan
        w[30:40] = 0.0 if c == 2 else np.nan
        per_combo.append(w)
    s = VectorizedSettings(execution=execution, fees=0.001, lot_size=1.0, init_cash=10_000.0)
    stacked = np.concatenate([w.T for w in per_combo])  # (n_combos * n_symbols, n_bars)
    arrays = list(_arrays())
    arrays[KERNEL_KEYS.index("weights")] = np.ascontiguousarray(stacked)
    prices = np.ascontiguousarray(close.T)
    stats = simulator(s).sweep((prices, prices, prices, prices), tuple(arrays), True, n_blocks=4)
    for c, w in enumerate(per_combo):
        raw = _run(close, s, weights=w)
        assert stats["final_equity"][c] == raw["equity"][-1]
        assert stats["total_return"][c] == pytest.approx(raw["equity"][-1] / 10_000.0 - 1.0, rel=1e-12)

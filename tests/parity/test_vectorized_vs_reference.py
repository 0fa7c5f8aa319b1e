"""ml4t's vectorized kernel against the slow plain-Python reference simulator (tests/parity/reference.py,
itself held equal to vectorbt by test_reference_vs_vectorbt.py) on random signals and random settings.

The reference is cheap to call, so this explores many more configurations than the vectorbt parity tests:
every fill, every rejection and its reason, positions, cash and equity, and trade counts, with long and
short signals, fees, fixed fees, slippage, stops (including per-bar levels with accumulation), sizing modes,
cash sharing and next-open execution.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.parity.reference import simulate
from tests.parity.settings_draws import costs_and_execution, sizing

from ml4t.data import bars
from ml4t.datasets import synthetic_bars
from ml4t.vectorized import VectorizedStrategy

# Random all-in strategies provoke many rejections and, with shorts, insolvency: the runs say so in an
# ml4t.errors.Ml4tWarning (tested in tests/event/test_solvency.py); parity is about the numbers.
pytestmark = pytest.mark.filterwarnings("ignore::ml4t.errors.Ml4tWarning")

REASONS = {  # ml4t's reject messages -> the reference's
    "no cash available": "no cash",
    "no free cash to short with": "no cash to short",
    "cash cannot cover the fees": "cannot cover fees",
    "affordable size is below the minimum order size": "below min size",
    "no open position to close": "no open position",
}
KEYS = ("entries", "exits", "short_entries", "short_exits")


@st.composite
def scenarios(draw: st.DrawFn) -> dict:
    n_assets = draw(st.integers(1, 3))
    n_bars = draw(st.integers(5, 60))
    seed = draw(st.integers(0, 2**16))
    p = draw(st.sampled_from([0.05, 0.2, 0.5]))
    keys = draw(st.sampled_from([KEYS[:2], KEYS[::2], KEYS]))
    kw: dict = {**costs_and_execution(draw), "cash_sharing": draw(st.booleans()) and n_assets > 1, **sizing(draw)}
    kw["order"] = "symbol"  # the reference spends shared cash in column order (vectorbt's default call_seq)
    stops = draw(st.sampled_from(["none", "fixed", "trail", "per_bar"]))
    return {"n_assets": n_assets, "n_bars": n_bars, "seed": seed, "p": p, "keys": keys, "kw": kw, "stops": stops}


def _run_both(sc: dict) -> None:
    base = synthetic_bars(sc["n_assets"], sc["n_bars"], "1d", seed=sc["seed"]).frame
    rng = np.random.default_rng(sc["seed"])
    extra = {k: rng.random(base.height) < sc["p"] for k in KEYS}
    extra["sl"] = np.where(rng.random(base.height) < 0.5, rng.uniform(0.01, 0.1, base.height), np.nan)
    universe = bars(
        base.drop("ts_arrival")
        .rename({"ts_event": "timestamp"})
        .with_columns([pl.Series(k, v) for k, v in extra.items()])
    )
    kw = dict(sc["kw"])
    ref_kw = {k: v for k, v in kw.items() if k not in ("execution", "order")}
    rule_extra: dict[str, pl.Expr] = {}
    if sc["stops"] == "fixed":
        kw |= {"sl_stop": 0.03, "tp_stop": 0.05}
        ref_kw |= {"sl_stop": 0.03, "tp_stop": 0.05}
    elif sc["stops"] == "trail":
        kw |= {"sl_stop": 0.04, "sl_trail": True}
        ref_kw |= {"sl_stop": 0.04, "sl_trail": True}
    elif sc["stops"] == "per_bar":
        rule_extra["sl_stop"] = pl.col("sl")
    kw["stop_entry_price"] = "close"

    def rule():
        return {k: pl.col(k) for k in sc["keys"]} | rule_extra

    res = VectorizedStrategy(rule, init_cash=10_000.0, **kw).run(universe)

    def wide(col: str) -> np.ndarray:
        return (
            universe.frame.pivot(on="symbol", index="ts_event", values=col).sort("ts_event").drop("ts_event").to_numpy()
        )

    signals = {k: wide(k).astype(bool) for k in sc["keys"]}
    ohlc = {f: wide(f) for f in ("open", "high", "low", "close")}
    if kw["execution"] == "next_open":
        signals = {k: np.vstack([np.zeros((1, v.shape[1]), bool), v[:-1]]) for k, v in signals.items()}
        ref_kw["price"] = ohlc["open"]
    if sc["stops"] == "per_bar":
        sl = wide("sl")
        ref_kw["sl_stop"] = (
            np.vstack([np.full((1, sl.shape[1]), np.nan), sl[:-1]]) if kw["execution"] == "next_open" else sl
        )
    ref = simulate(
        ohlc["close"],
        signals.get("entries", False),
        signals.get("exits", False),
        short_entries=signals.get("short_entries"),
        short_exits=signals.get("short_exits"),
        open=ohlc["open"],
        high=ohlc["high"],
        low=ohlc["low"],
        init_cash=10_000.0,
        stop_entry_price="close",
        **ref_kw,
    )

    symbols = universe.symbols
    ts = universe.frame["ts_event"].unique(maintain_order=True).to_list()
    theirs = sorted(((o.bar, o.col, o.side, o.size, o.price, o.fees) for o in ref.fills), key=lambda r: (r[0], r[1]))
    ours = res.fills.select(
        pl.col("ts_event").map_elements(ts.index, return_dtype=pl.Int64),
        pl.col("symbol").map_elements(symbols.index, return_dtype=pl.Int64),
        "side",
        "quantity",
        "fill_price",
        "fee",
    ).rows()
    ours = sorted(ours, key=lambda r: (r[0], r[1]))
    assert [r[:3] for r in ours] == [r[:3] for r in theirs]
    np.testing.assert_allclose(
        np.array([r[3:] for r in ours]).reshape(-1, 3),
        np.array([r[3:] for r in theirs]).reshape(-1, 3),
        rtol=1e-9,
        atol=1e-9,
    )
    rejected_ref = sorted((o.bar, o.col, o.reason) for o in ref.rejections if o.status == "rejected")
    rejected = res.orders.filter(pl.col("status") == "rejected")
    rejected_ours = sorted(
        zip(
            rejected["ts_closed"].map_elements(ts.index, return_dtype=pl.Int64).to_list(),  # the bar it was refused
            rejected["symbol"].map_elements(symbols.index, return_dtype=pl.Int64).to_list(),
            [REASONS[r] for r in rejected["reason"]],
            strict=True,
        )
    )
    assert rejected_ours == rejected_ref
    np.testing.assert_allclose(res.equity["equity"].to_numpy(), ref.equity.sum(axis=1), rtol=1e-9)
    np.testing.assert_allclose(res.equity["cash"].to_numpy(), ref.cash.sum(axis=1), rtol=1e-9, atol=1e-6)
    pos = res.positions.sort("ts_event", "symbol")["position_qty"].to_numpy().reshape(len(ts), len(symbols))
    np.testing.assert_allclose(pos, ref.position, rtol=1e-9, atol=1e-9)
    assert res.trades.height == int(ref.trade_count.sum())


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_random_configurations(sc):
    _run_both(sc)


@pytest.mark.parametrize("stops", ["none", "fixed", "trail", "per_bar"])
def test_accumulation_with_stops(stops):
    sc = {
        "n_assets": 2,
        "n_bars": 80,
        "seed": 11,
        "p": 0.2,
        "keys": KEYS,
        "stops": stops,
        "kw": {
            "fees": 0.001,
            "fixed_fees": 0.0,
            "slippage": 0.0,
            "cash_sharing": False,
            "execution": "close",
            "size": 10.0,
            "accumulate": True,
        },
    }
    _run_both(sc)

"""Realistic promotion of a weights strategy: the event-driven ``WeightsFollower`` (``ml4t.promotion._weights``)
trading target-weight arrays through ``ctx.order_target_weights`` (issue #12).

Under fills at the decision bar's close, fractional units and no costs, the follower must hold exactly what the
weights rule of the vectorized mode (common contract, section 3) holds: checked by Hypothesis against a
plain-Python reference written from the rule (random weights with NaN, rebalance flags, shorts, per-bar and
setting leverage caps, symbols listed and delisted at different dates). Then the realistic part: symbols without
a bar are never ordered and their targets are recorded as skipped, a delisted symbol keeps its last mark, and the
cash buffer keeps next-open fills affordable. Through ``ml4t.promote`` a panel-scope momentum strategy's realistic
run under close fills equals its vectorized run, and over listings with costs and next-open fills ``compare`` reports
the gap per symbol.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ml4t
import ml4t.costs
from ml4t.data import bars
from ml4t.datasets import synthetic_bars
from ml4t.event import Engine
from ml4t.promotion._weights import NO_BAR, WeightsFollower
from ml4t.settings import VectorizedSettings

EMPTY_BOOL = np.zeros((0, 0), dtype=bool)
EMPTY_F64 = np.zeros((0, 0))


def reference(
    close: np.ndarray, weights: np.ndarray, rebalance: np.ndarray, leverage: np.ndarray, cap: float | None, cash: float
) -> tuple[np.ndarray, np.ndarray]:
    """Positions ``(n_sym, n_bars)`` and equity ``(n_bars,)`` of the weights rule with fills at the close, no
    costs and fractional units; ``close`` is NaN where a symbol has no bar (such a symbol is not ordered and
    counts in the cap at its last close, like every symbol without a target)."""
    n_sym, n_bars = close.shape
    pos = np.zeros(n_sym)
    last = np.full(n_sym, np.nan)
    positions, equity = np.zeros((n_sym, n_bars)), np.zeros(n_bars)
    for b in range(n_bars):
        last = np.where(np.isnan(close[:, b]), last, close[:, b])
        held = np.where(pos != 0, pos * np.nan_to_num(last), 0.0)
        value = cash + held.sum()
        target = {
            i: weights[i, b]
            for i in range(n_sym)
            if not math.isnan(weights[i, b]) and rebalance[i, b] and not math.isnan(close[i, b])
        }
        caps = [x for x in leverage[:, b] if not math.isnan(x)]
        limit = min(caps) if caps else cap
        if target and value > 0:
            gross = sum(abs(w) for w in target.values())
            alone = sum(abs(held[i]) for i in range(n_sym) if i not in target) / value
            if limit is not None and gross > 0 and alone + gross > limit:
                target = {i: w * max(0.0, limit - alone) / gross for i, w in target.items()}
            for i, w in target.items():
                units = w * value / close[i, b]
                cash -= (units - pos[i]) * close[i, b]
                pos[i] = units
        positions[:, b] = pos
        equity[b] = cash + np.where(pos != 0, pos * np.nan_to_num(last), 0.0).sum()
    return positions, equity


def universe(n_sym: int, n_bars: int, seed: int, listed: list[tuple[int, int]]) -> ml4t.data.Bars:
    """Synthetic bars, symbol ``i`` existing on bars ``listed[i][0] .. listed[i][1] - 1``."""
    frame = synthetic_bars(n_sym, n_bars, "1d", seed=seed).frame.drop("ts_arrival")
    bar = pl.int_range(pl.len()).over("symbol")
    symbols = sorted(frame["symbol"].unique().to_list())
    keep = pl.lit(False)
    for s, (start, end) in zip(symbols, listed, strict=True):
        keep = keep | ((pl.col("symbol") == s) & (bar >= start) & (bar < end))
    return bars(frame.filter(keep))


def close_matrix(data: ml4t.data.Bars) -> tuple[np.ndarray, np.ndarray]:
    """``(n_sym, n_bars)`` closes (NaN where no bar) and the timeline (int64 ns)."""
    wide = data.frame.pivot(on="symbol", index="ts_event", values="close").sort("ts_event")
    symbols = sorted(c for c in wide.columns if c != "ts_event")
    return wide.select(symbols).to_numpy().T.astype(np.float64), wide["ts_event"].cast(pl.Int64).to_numpy()


def follow(
    data: ml4t.data.Bars,
    weights: np.ndarray,
    rebalance: np.ndarray = EMPTY_BOOL,
    caps: np.ndarray = EMPTY_F64,
    *,
    cash_buffer: float = 0.0,
    vectorized: VectorizedSettings | None = None,
    **engine: object,
) -> tuple[ml4t.Result, WeightsFollower]:
    _, ts = close_matrix(data)
    follower = WeightsFollower(
        weights, rebalance, caps, ts, vectorized or VectorizedSettings(), cash_buffer=cash_buffer
    )
    return Engine(data, follower, **engine).run(), follower


@st.composite
def scenarios(draw: st.DrawFn) -> dict:
    n_sym, n_bars = draw(st.integers(1, 4)), draw(st.integers(3, 40))
    listed = []
    for _ in range(n_sym):
        start = draw(st.integers(0, n_bars - 1))
        listed.append((start, draw(st.integers(start + 1, n_bars))))
    listed[0] = (0, listed[0][1])  # the timeline starts with the first bar
    return {
        "n_sym": n_sym,
        "n_bars": n_bars,
        "seed": draw(st.integers(0, 2**16)),
        "listed": listed,
        "p_nan": draw(st.sampled_from([0.0, 0.3, 0.8])),
        "p_rebalance": draw(st.sampled_from([None, 0.2, 0.7])),
        "short": draw(st.booleans()),
        "cap": draw(st.sampled_from([None, 0.5, 1.0, 2.0])),
        "per_bar_cap": draw(st.booleans()),
    }


@settings(max_examples=40, deadline=None)
@given(sc=scenarios())
def test_the_follower_holds_what_the_weights_rule_holds_with_close_fills(sc):
    data = universe(sc["n_sym"], sc["n_bars"], sc["seed"], sc["listed"])
    close, _ = close_matrix(data)
    n_sym, n_bars = close.shape
    rng = np.random.default_rng(sc["seed"])
    weights = rng.uniform(-0.6 if sc["short"] else 0.0, 0.6, (n_sym, n_bars))
    weights[rng.random((n_sym, n_bars)) < sc["p_nan"]] = np.nan
    rebalance = EMPTY_BOOL if sc["p_rebalance"] is None else rng.random((n_sym, n_bars)) < sc["p_rebalance"]
    leverage = EMPTY_F64
    if sc["per_bar_cap"]:
        leverage = np.where(rng.random((n_sym, n_bars)) < 0.5, rng.uniform(0.2, 1.5, (n_sym, n_bars)), np.nan)
    result, _ = follow(
        data,
        weights,
        rebalance,
        leverage,
        vectorized=VectorizedSettings(leverage=sc["cap"]),
        execution="close",
        fractional=True,
        account="margin",
        leverage=50.0,
        init_cash=1e6,
    )
    positions, equity = reference(
        close,
        weights,
        np.ones_like(weights, dtype=bool) if not rebalance.size else rebalance,
        np.full_like(weights, np.nan) if not leverage.size else leverage,
        sc["cap"],
        1e6,
    )
    assert (result.orders["status"] == "filled").all()
    np.testing.assert_allclose(result.equity["equity"].to_numpy(), equity, rtol=1e-9)
    got = result.positions.pivot(on="symbol", index="ts_event", values="position_qty").sort("ts_event")
    symbols = sorted(c for c in got.columns if c != "ts_event")
    np.testing.assert_allclose(got.select(symbols).to_numpy().T, positions, rtol=1e-9, atol=1e-9)


# ---------------------------------------------------------------------------------------- listings, delistings
def _listed_panel() -> ml4t.data.Bars:
    # A000 trades on bars 0..5 (delisted after 5), A001 on 0..9, A002 lists at bar 3
    return universe(3, 10, seed=7, listed=[(0, 6), (0, 10), (3, 10)])


@pytest.mark.parametrize("execution", ["close", "next_open"])
def test_a_symbol_without_a_bar_is_never_ordered_and_its_targets_are_recorded(execution):
    data = _listed_panel()
    close, ts = close_matrix(data)
    weights = np.full(close.shape, 0.3)
    result, follower = follow(data, weights, execution=execution, init_cash=1e6)
    orders = result.orders.with_columns(pl.col("ts_submitted").cast(pl.Int64))
    for sym, symbol in enumerate(("A000", "A001", "A002")):
        submitted = np.searchsorted(ts, orders.filter(pl.col("symbol") == symbol)["ts_submitted"].to_numpy())
        assert not np.isnan(close[sym, submitted]).any()  # every order decided on one of the symbol's own bars
    skipped = follower.skipped_targets()
    skipped_at = {
        (s, int(np.searchsorted(ts, t)))
        for s, t in skipped.select("symbol", pl.col("ts_event").cast(pl.Int64)).iter_rows()
    }
    assert skipped_at == {("A002", b) for b in range(3)} | {("A000", b) for b in range(6, 10)}
    assert set(skipped["reason"]) == {NO_BAR}
    assert skipped.filter(pl.col("symbol") == "A002")["quantity"].is_null().all()  # no price before the listing
    assert skipped.filter(pl.col("symbol") == "A000")["quantity"].is_not_null().all()
    # A000 keeps its position at its last close after its delisting
    a = result.positions.filter(pl.col("symbol") == "A000").sort("ts_event")
    assert a["position_qty"][5:].n_unique() == 1
    assert (a["market_price"][5:] == close[0, 5]).all()
    if execution == "next_open":  # the order decided at A000's last bar waits for a bar that never comes
        last = result.orders.filter((pl.col("symbol") == "A000") & (pl.col("ts_submitted").cast(pl.Int64) == ts[5]))
        assert last["status"].to_list() in ([], ["open"])


def test_a_weight_of_zero_after_the_delisting_cannot_close_the_position():
    data = _listed_panel()
    close, _ = close_matrix(data)
    weights = np.full(close.shape, np.nan)
    weights[:2, 0] = 0.3  # A002 lists at bar 3
    weights[0, 8] = 0.0  # close A000 at bar 8: it has no bar then
    result, follower = follow(data, weights, execution="close", init_cash=1e6)
    assert follower.skipped_targets().select("symbol", "side", "reason").rows() == [("A000", "sell", NO_BAR)]
    a = result.positions.filter(pl.col("symbol") == "A000")
    assert a["position_qty"][-1] == a["position_qty"][0] > 0


def test_only_rebalance_bars_trade_and_positions_drift_between_them():
    data = universe(2, 8, seed=3, listed=[(0, 8), (0, 8)])
    close, _ = close_matrix(data)
    weights = np.full(close.shape, 0.4)
    rebalance = np.zeros(close.shape, dtype=bool)
    rebalance[:, [0, 4]] = True
    result, _ = follow(data, weights, rebalance, execution="close", fractional=True, init_cash=1e6)
    days = np.searchsorted(close_matrix(data)[1], result.orders["ts_submitted"].cast(pl.Int64).to_numpy())
    assert sorted(set(days.tolist())) == [0, 4]
    held = result.positions.pivot(on="symbol", index="ts_event", values="position_qty").sort("ts_event")
    assert held["A000"][1:4].n_unique() == 1  # units drift with prices: no trade between rebalances


def test_the_cash_buffer_keeps_fully_invested_next_open_rebalances_affordable():
    data = universe(4, 60, seed=11, listed=[(0, 60)] * 4)
    close, _ = close_matrix(data)
    weights = np.full(close.shape, 0.25)  # fully invested, rebalanced every 5 bars
    rebalance = np.zeros(close.shape, dtype=bool)
    rebalance[:, ::5] = True
    engine = {"commission": ml4t.costs.Percent(0.001), "init_cash": 1e6}
    tight, _ = follow(data, weights, rebalance, cash_buffer=0.0, **engine)
    buffered, _ = follow(data, weights, rebalance, cash_buffer=0.02, **engine)
    assert (tight.orders["status"] == "rejected").any()
    assert (buffered.orders["status"] == "filled").all()
    assert float(buffered.equity["cash"].min()) > 0


def test_the_follower_refuses_arrays_of_another_shape():
    data = universe(2, 5, seed=1, listed=[(0, 5), (0, 5)])
    _, ts = close_matrix(data)
    with pytest.raises(ml4t.ConfigError, match="rebalance must be") as info:
        WeightsFollower(
            np.zeros((2, 5)), np.ones((2, 4), dtype=bool), EMPTY_F64, ts, VectorizedSettings(), cash_buffer=0
        )
    assert info.value.argument == "rebalance"


def test_a_signal_strategy_promotes_realistically_over_listings_and_delistings():
    data = _listed_panel()
    close, ts = close_matrix(data)
    strategy = ml4t.vectorized.VectorizedStrategy(
        lambda: {"entries": pl.col("close") > 0, "exits": pl.col("close") < 0}, cash_sharing=True, size=10.0
    )
    result = ml4t.promote(strategy, data).run(execution="close")
    decided = np.searchsorted(ts, result.orders["ts_submitted"].cast(pl.Int64).to_numpy())
    rows = [("A000", "A001", "A002").index(s) for s in result.orders["symbol"]]
    assert not np.isnan(close[rows, decided]).any()
    assert sorted(set(result.orders["symbol"])) == ["A000", "A001", "A002"]


# ------------------------------------------------------------------------------------------- through promote()
def _momentum(k: int, lookback: int) -> dict:
    score = pl.col("close").pct_change(lookback).over("symbol")
    rank = score.rank("ordinal", descending=True).over("ts_event")
    return {"weights": pl.when(score.is_null()).then(None).when(rank <= k).then(0.9 / k).otherwise(0.0)}


def _momentum_strategy(**settings: object) -> ml4t.vectorized.VectorizedStrategy:
    return ml4t.vectorized.VectorizedStrategy(
        _momentum, scope="panel", cash_sharing=True, rebalance=5, init_cash=1e6, **settings
    )


def test_promote_follows_a_weights_strategy_like_the_vectorized_run_under_close_fills():
    data = universe(5, 80, seed=5, listed=[(0, 80)] * 5)
    strategy = _momentum_strategy()
    vectorized = strategy.run(data, k=2, lookback=10)
    realistic = ml4t.promote(strategy, data, k=2, lookback=10).run(execution="close", fractional=True, cash_buffer=0.0)
    assert realistic.meta["promotion"] == "realistic"
    assert vectorized.fills.height > 20
    np.testing.assert_allclose(realistic.equity["equity"].to_numpy(), vectorized.equity["equity"].to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(
        realistic.positions["position_qty"].to_numpy(),
        vectorized.positions["position_qty"].to_numpy(),
        rtol=1e-9,
        atol=1e-9,
    )
    gap = ml4t.compare(vectorized, realistic)
    assert gap.symbols["max_abs_weight_difference"].max() < 1e-9


def test_promote_a_weights_strategy_over_listings_with_realistic_settings_and_compare():
    data = universe(4, 80, seed=9, listed=[(0, 80), (0, 50), (20, 80), (0, 80)])
    strategy = _momentum_strategy(fees=0.001)
    vectorized = strategy.run(data, k=2, lookback=10)
    realistic = ml4t.promote(strategy, data, k=2, lookback=10).run(commission=ml4t.costs.Percent(0.001))
    close, ts = close_matrix(data)
    decided = np.searchsorted(ts, realistic.orders["ts_submitted"].cast(pl.Int64).to_numpy())
    rows = [["A000", "A001", "A002", "A003"].index(s) for s in realistic.orders["symbol"]]
    assert not np.isnan(close[rows, decided]).any()
    assert realistic.fills.height > 10
    gap = ml4t.compare(vectorized, realistic)
    assert gap.symbols["symbol"].to_list() == ["A000", "A001", "A002", "A003"]
    assert gap.symbols["mean_abs_weight_difference"].max() > 0  # next open and whole units: a gap to report
    final = float(realistic.equity["equity"][-1]) - float(vectorized.equity["equity"][-1])
    assert float(gap.attribution["amount"][-1]) == pytest.approx(final)

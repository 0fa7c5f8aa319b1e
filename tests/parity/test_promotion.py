"""Promotion: a vectorized strategy run on the event engine (``ml4t.promote``) against the vectorized run.

Under the strategy's own settings the two must produce identical orders, fills, positions and equity
(DESIGN.md §1, §5). Hypothesis draws random signal streams (long and short), fees, fixed fees, slippage, sizing
modes, stops and both execution settings over several symbols sharing one account.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ml4t
from ml4t.data import bars
from ml4t.datasets import synthetic_bars
from ml4t.vectorized import VectorizedStrategy

KEYS = ("entries", "exits", "short_entries", "short_exits")
FILL_COLUMNS = ("ts_event", "symbol", "side", "quantity", "fill_price", "fee", "slippage")


@st.composite
def scenarios(draw: st.DrawFn) -> dict:
    kw: dict = {
        "fees": draw(st.sampled_from([0.0, 0.001, 0.01])),
        "fixed_fees": draw(st.sampled_from([0.0, 1.0, 500.0])),
        "slippage": draw(st.sampled_from([0.0, 0.002])),
        "execution": draw(st.sampled_from(["close", "next_open"])),
        "cash_sharing": True,
    }
    sizing = draw(st.sampled_from(["all", "amount", "value", "accumulate"]))
    if sizing == "amount":
        kw["size"] = draw(st.sampled_from([1.0, 30.0]))
    elif sizing == "value":
        kw |= {"size": 2_000.0, "size_type": "value"}
    elif sizing == "accumulate":
        kw |= {"size": 10.0, "accumulate": True}
    stops = draw(st.sampled_from(["none", "fixed", "trail", "per_bar"]))
    if stops == "fixed":
        kw |= {"sl_stop": 0.03, "tp_stop": 0.05}
    elif stops == "trail":
        kw |= {"sl_stop": 0.04, "sl_trail": True}
    return {
        "n_assets": draw(st.integers(1, 4)),
        "n_bars": draw(st.integers(5, 80)),
        "seed": draw(st.integers(0, 2**16)),
        "p": draw(st.sampled_from([0.05, 0.2, 0.5])),
        "keys": draw(st.sampled_from([KEYS[:2], KEYS[::2], KEYS])),
        "per_bar_stops": stops == "per_bar",
        "kw": kw,
    }


def _universe(sc: dict) -> ml4t.data.Bars:
    base = synthetic_bars(sc["n_assets"], sc["n_bars"], "1d", seed=sc["seed"]).frame
    rng = np.random.default_rng(sc["seed"])
    extra = {k: rng.random(base.height) < sc["p"] for k in KEYS}
    extra["sl"] = np.where(rng.random(base.height) < 0.5, rng.uniform(0.01, 0.1, base.height), np.nan)
    return bars(base.drop("ts_arrival").with_columns([pl.Series(k, v) for k, v in extra.items()]))


def assert_same_run(vectorized: ml4t.Result, event: ml4t.Result) -> None:
    """Identical fills, order statuses and reasons, positions and equity (1e-9 relative where float)."""
    v, e = vectorized.fills.select(FILL_COLUMNS), event.fills.select(FILL_COLUMNS)
    assert v.select("ts_event", "symbol", "side").rows() == e.select("ts_event", "symbol", "side").rows()
    for column in ("quantity", "fill_price", "fee", "slippage"):
        np.testing.assert_allclose(e[column].to_numpy(), v[column].to_numpy(), rtol=1e-9, atol=1e-9, err_msg=column)
    statuses = ("symbol", "side", "status", "reason")
    assert vectorized.orders.select(statuses).rows() == event.orders.select(statuses).rows()
    np.testing.assert_allclose(event.equity["equity"].to_numpy(), vectorized.equity["equity"].to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(
        event.equity["cash"].to_numpy(), vectorized.equity["cash"].to_numpy(), rtol=1e-9, atol=1e-6
    )
    np.testing.assert_allclose(
        event.positions["position_qty"].to_numpy(),
        vectorized.positions["position_qty"].to_numpy(),
        rtol=1e-9,
        atol=1e-9,
    )
    assert event.trades.height == vectorized.trades.height


@settings(max_examples=120, deadline=None)
@given(scenarios())
def test_a_promoted_run_reproduces_the_vectorized_run(sc):
    universe = _universe(sc)
    extra = {"sl_stop": pl.col("sl")} if sc["per_bar_stops"] else {}

    def rule():
        return {k: pl.col(k) > 0 for k in sc["keys"]} | extra

    strategy = VectorizedStrategy(rule, init_cash=10_000.0, **sc["kw"])
    assert_same_run(strategy.run(universe), ml4t.promote(strategy, universe).run())


def test_a_sweep_promotes_its_best_combination():
    universe = synthetic_bars(3, 400, seed=11)

    def sma(fast: int, slow: int) -> dict:
        f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
        return {"entries": f > s, "exits": f < s}

    strategy = VectorizedStrategy(sma, execution="next_open", fees=0.001, cash_sharing=True)
    sweep = strategy.sweep(universe, fast=[5, 10], slow=[30, 50])
    top = sweep.best("total_return", n=1).row(0, named=True)
    promoted = sweep.promote(fast=top["fast"], slow=top["slow"])
    result = promoted.run()
    assert_same_run(sweep.result(fast=top["fast"], slow=top["slow"]), result)
    assert result.meta["mode"] == "event"
    assert result.meta["params"] == {"fast": top["fast"], "slow": top["slow"]}
    assert result.metrics["total_return"][0] == pytest.approx(top["total_return"], rel=1e-9)


def test_promotion_refuses_what_it_cannot_reproduce():
    universe = synthetic_bars(2, 50, seed=1)
    rule = lambda: {"entries": pl.col("close") > 0}  # noqa: E731
    with pytest.raises(ml4t.ConfigError, match="cash_sharing=True") as info:
        ml4t.promote(VectorizedStrategy(rule), universe)
    assert info.value.argument == "cash_sharing"
    gappy = bars(
        universe.frame.drop("ts_arrival").filter(~((pl.col("symbol") == "A001") & (pl.int_range(pl.len()) == 7)))
    )
    with pytest.raises(ml4t.ConfigError, match="a bar for every symbol") as info:
        ml4t.promote(VectorizedStrategy(rule, cash_sharing=True), gappy)
    assert info.value.symbol == "A001"
    with pytest.raises(ml4t.ConfigError, match="VectorizedStrategy"):
        ml4t.promote(rule, universe)

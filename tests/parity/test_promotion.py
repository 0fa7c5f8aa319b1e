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
from tests.parity.settings_draws import costs_and_execution, sizing

import ml4t
import ml4t.costs
from ml4t.data import bars
from ml4t.datasets import synthetic_bars
from ml4t.vectorized import VectorizedStrategy

# Random all-in strategies provoke many rejections and, with shorts, insolvency: the runs say so in an
# ml4t.errors.Ml4tWarning (tested in tests/event/test_solvency.py); parity is about the numbers.
pytestmark = pytest.mark.filterwarnings("ignore::ml4t.errors.Ml4tWarning")

KEYS = ("entries", "exits", "short_entries", "short_exits")
FILL_COLUMNS = ("ts_event", "symbol", "side", "quantity", "fill_price", "fee", "slippage")


@st.composite
def scenarios(draw: st.DrawFn) -> dict:
    kw: dict = {**costs_and_execution(draw), **sizing(draw), "cash_sharing": True}
    kw["order"] = draw(st.sampled_from(["pro_rata", "auto", "symbol"]))  # the bar's sequence, in both modes
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
    # one convention in both modes: ts_submitted is the decision bar, ts_closed the fill (or rejection) bar, and
    # an order that did not fill has a null avg_fill_price
    statuses = ("ts_submitted", "ts_closed", "symbol", "side", "status", "reason")
    assert vectorized.orders.select(statuses).rows() == event.orders.select(statuses).rows()
    v_avg, e_avg = vectorized.orders["avg_fill_price"], event.orders["avg_fill_price"]
    assert v_avg.is_null().to_list() == e_avg.is_null().to_list() == (vectorized.orders["status"] != "filled").to_list()
    np.testing.assert_allclose(e_avg.drop_nulls().to_numpy(), v_avg.drop_nulls().to_numpy(), rtol=1e-9)
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
    # a symbol with a missing bar: the exact promotion trades it (tests/parity/test_promotion_portfolio.py),
    # and so does the realistic one (tests/parity/test_promotion_weights.py)
    with pytest.raises(ml4t.ConfigError, match="VectorizedStrategy"):
        ml4t.promote(rule, universe)


def _sma(fast: int, slow: int) -> dict:
    f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
    return {"entries": f > s, "exits": f < s}


@pytest.mark.parametrize(("execution", "sl_stop"), [("close", None), ("close", 0.05), ("next_open", None)])
def test_the_realistic_follower_trades_like_the_kernel_when_its_assumptions_hold(execution, sl_stop):
    """The follower trades the signals with ordinary orders (costs models, reject-not-resize). With fixed
    sizes, a percent commission equal to the fees, no slippage and nothing refused, it fills exactly as the
    vectorized kernel does, stops included: an independent check of both paths. (Under next-open execution
    with stops they differ by design: see the next test.)"""
    universe = synthetic_bars(3, 600, seed=5)
    strategy = VectorizedStrategy(
        _sma, execution=execution, size=50.0, fees=0.001, sl_stop=sl_stop, cash_sharing=True, init_cash=1e6
    )
    vectorized = strategy.run(universe, fast=10, slow=40)
    realistic = ml4t.promote(strategy, universe, fast=10, slow=40).run(
        commission=ml4t.costs.Percent(0.001), fractional=True, cash_buffer=0.0
    )
    assert realistic.meta["promotion"] == "realistic"
    # Within one timestamp the event engine fills working stops before the close-execution orders placed at
    # the close, the kernel in symbol order: compare in (time, symbol) order.
    order = ["ts_event", "symbol", "side"]
    v = vectorized.fills.select(FILL_COLUMNS).sort(order, maintain_order=True)
    e = realistic.fills.select(FILL_COLUMNS).sort(order, maintain_order=True)
    assert v.select("ts_event", "symbol", "side").rows() == e.select("ts_event", "symbol", "side").rows()
    for column in ("quantity", "fill_price", "fee"):
        np.testing.assert_allclose(e[column].to_numpy(), v[column].to_numpy(), rtol=1e-12, err_msg=column)
    np.testing.assert_allclose(realistic.equity["equity"].to_numpy(), vectorized.equity["equity"].to_numpy(), rtol=1e-9)


def test_compare_reports_the_reality_gap_and_attributes_it():
    universe = synthetic_bars(2, 500, seed=8)
    strategy = VectorizedStrategy(_sma, execution="next_open", fees=0.001, cash_sharing=True, init_cash=100_000)
    vectorized = strategy.run(universe, fast=10, slow=40)
    realistic = ml4t.promote(strategy, universe, fast=10, slow=40).run(
        commission=ml4t.costs.PerShare(0.01, minimum=1.0), slippage=ml4t.costs.Bps(10), participation=0.05
    )
    gap = ml4t.compare(vectorized, realistic)
    assert gap.labels == ("vectorized", "event (realistic)")
    row = gap.table.filter(pl.col("metric") == "total_return").row(0)
    assert row[1] == pytest.approx(vectorized.metrics["total_return"][0])
    assert row[2] == pytest.approx(realistic.metrics["total_return"][0])
    assert row[3] == pytest.approx(row[2] - row[1])
    amounts = dict(gap.attribution.iter_rows())
    pnl = (realistic.equity["equity"][-1] - realistic.init_cash) - (
        vectorized.equity["equity"][-1] - vectorized.init_cash
    )
    assert amounts["total (P&L)"] == pytest.approx(pnl)
    assert sum(v for k, v in amounts.items() if k != "total (P&L)") == pytest.approx(pnl)
    assert amounts["slippage"] == pytest.approx(-realistic.fills["slippage"].sum() + vectorized.fills["slippage"].sum())
    assert amounts["slippage"] < 0  # 10 bps against the trader, none in the vectorized run
    text = str(gap)
    assert "reality gap: vectorized -> event (realistic)" in text and "commission" in text
    same = ml4t.compare(vectorized, ml4t.promote(strategy, universe, fast=10, slow=40).run())
    assert (same.table["difference"].abs() <= 1e-9 * same.table["vectorized"].abs().clip(lower_bound=1.0)).all()
    with pytest.raises(ml4t.ConfigError, match=r"ml4t\.Result"):
        ml4t.compare(vectorized, "realistic")


def test_next_open_with_stops_the_event_engine_exits_at_the_open_before_an_intrabar_stop():
    """The vectorized kernel (vectorbt's convention) checks a bar's stops before the order its signals place at
    that bar's open; in time the open comes first, so the event engine fills the exit at the open and the stop
    never triggers. Every differing fill is such a bar: the kernel's stop exit against the follower's exit at
    the open, on the same bar."""
    universe = synthetic_bars(3, 600, seed=5)
    strategy = VectorizedStrategy(
        _sma, execution="next_open", size=50.0, fees=0.001, sl_stop=0.05, cash_sharing=True, init_cash=1e6
    )
    vectorized = strategy.run(universe, fast=10, slow=40)
    realistic = ml4t.promote(strategy, universe, fast=10, slow=40).run(
        commission=ml4t.costs.Percent(0.001), fractional=True, cash_buffer=0.0
    )
    keys = ["ts_event", "symbol", "side", "quantity"]
    v = vectorized.fills.select([*keys, "fill_price"])
    e = realistic.fills.select([*keys, "fill_price"])
    assert v.select(keys).rows() == e.select(keys).rows()
    gap = (pl.col("fill_price") - pl.col("fill_price_event")).abs() > 1e-12 * pl.col("fill_price")
    differ = v.join(e, on=keys, suffix="_event").filter(gap)  # stop levels may differ in the last bit
    assert differ.height > 0
    opens = universe.frame.select("ts_event", "symbol", "open", "low")
    checked = differ.join(opens, on=["ts_event", "symbol"])
    assert checked.height == differ.height
    assert (checked["fill_price_event"] == checked["open"]).all()  # the event engine: the exit at the open
    assert (checked["fill_price"] < checked["open"]).all()  # the kernel: the stop, below the open, same bar

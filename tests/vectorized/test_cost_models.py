"""Cost models in the vectorized mode: the same ``ml4t.costs`` models as the event engine, of which the
``fees`` / ``fixed_fees`` / ``slippage`` floats are shorthands (one cost path, issue #11)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from tests.event.scenario import Script

import ml4t.costs as costs
from ml4t.datasets import synthetic_bars
from ml4t.errors import ConfigError
from ml4t.event import Engine
from ml4t.vectorized import VectorizedStrategy


def _cross(fast: int, slow: int):
    f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
    return {"entries": f > s, "exits": f < s}


def _same_fills(a, b) -> None:
    for column in ("quantity", "fill_price", "fee"):
        assert a.fills[column].to_list() == b.fills[column].to_list(), column
    assert a.equity["equity"].to_list() == b.equity["equity"].to_list()


@pytest.mark.parametrize(
    ("floats", "models"),
    [
        ({"fees": 0.01}, {"commission": costs.Percent(0.01)}),
        ({"fixed_fees": 2.5}, {"commission": costs.PerOrder(2.5)}),
        ({"slippage": 0.01}, {"slippage": costs.Bps(100)}),
    ],
)
def test_the_floats_are_shorthands_for_the_models(floats, models):
    universe = synthetic_bars(1, 300, "1d", seed=3)
    a = VectorizedStrategy(_cross, init_cash=10_000.0, **floats).run(universe, fast=5, slow=20)
    b = VectorizedStrategy(_cross, init_cash=10_000.0, **models).run(universe, fast=5, slow=20)
    assert a.fills.height > 4
    _same_fills(a, b)


def test_an_all_in_entry_under_per_share_buys_what_the_cash_pays_for(tiny, by_signal):
    # Entry at bar 1's close 11: q * 11 + max(0.05 q, 1) <= 1000, so q = 1000 / 11.05; exit at bar 3's close 9.
    per_share = costs.PerShare(0.05, minimum=1.0)
    res = VectorizedStrategy(by_signal, commission=per_share, init_cash=1000.0).run(tiny)
    q = 1000.0 / 11.05
    assert res.fills["quantity"].to_list() == pytest.approx([q, q], rel=1e-12)
    assert res.fills["fee"].to_list() == pytest.approx([0.05 * q, 0.05 * q], rel=1e-12)
    assert res.equity["cash"][-1] == pytest.approx(q * 9.0 - 0.05 * q, rel=1e-12)
    # The minimum binds for a small account: q * 11 + 1 <= 10, so q = 9 / 11.
    small = VectorizedStrategy(by_signal, commission=per_share, init_cash=10.0).run(tiny)
    assert small.fills["quantity"][0] == pytest.approx(9.0 / 11.0, rel=1e-12)
    assert small.fills["fee"][0] == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize(
    "commission",
    [costs.PerShare(0.02, minimum=1.5, maximum_rate=0.01), costs.Tiered([(1_000.0, 0.004), (float("inf"), 0.001)])],
)
def test_a_sweep_with_a_cost_model_charges_what_the_event_engine_charges_on_the_same_trades(commission):
    universe = synthetic_bars(1, 300, "1d", seed=5)
    strat = VectorizedStrategy(
        _cross, commission=commission, slippage=costs.Bps(10), size=25.0, execution="next_open", init_cash=1e5
    )
    sweep = strat.sweep(universe, fast=[5, 8], slow=[20, 30])
    for row in sweep.metrics.iter_rows(named=True):
        result = sweep.result(fast=row["fast"], slow=row["slow"])
        assert row["total_return"] == pytest.approx(result.metrics["total_return"][0], rel=1e-12)
    vectorized = sweep.result(fast=5, slow=20)
    fills = vectorized.fills
    assert fills.height > 4
    # The same orders in the event engine: each placed at the bar before its fill, filled at the next open.
    stamps = universe.frame["ts_event"].to_list()
    signed = np.where(fills["side"].to_numpy() == "buy", 1.0, -1.0) * fills["quantity"].to_numpy()
    symbol = universe.symbols[0]

    def place(quantity: float):
        return lambda ctx: ctx.order(symbol, quantity)

    actions = {stamps.index(ts) - 1: place(float(q)) for ts, q in zip(fills["ts_event"].to_list(), signed, strict=True)}
    event = Engine(universe, Script(actions), init_cash=1e5, commission=commission, slippage=costs.Bps(10)).run()
    assert event.fills["fill_price"].to_list() == pytest.approx(fills["fill_price"].to_list(), rel=1e-12)
    assert event.fills["fee"].to_list() == pytest.approx(fills["fee"].to_list(), rel=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "argument", "words"),
    [
        ({"commission": costs.PerShare(0.005), "fees": 0.001}, "commission", ("commission", "fees")),
        ({"commission": costs.Percent(0.001), "fixed_fees": 1.0}, "commission", ("commission", "fixed_fees")),
        ({"commission": 0.001}, "commission", ("commission model",)),
        ({"slippage": costs.VolumeImpact(0.1)}, "slippage", ("volume", "event engine")),
        ({"fees": 1.5}, "fees", ("fees",)),
    ],
)
def test_cost_mistakes_are_config_errors_naming_the_arguments(kwargs, argument, words):
    with pytest.raises(ConfigError) as caught:
        VectorizedStrategy(_cross, **kwargs)
    assert caught.value.argument == argument
    for word in words:
        assert word in str(caught.value)

"""Exact promotion of what issue #12 adds: symbols that list and delist at different dates, the sequence of a
shared account's orders within a bar, and target weights. Under the strategy's own settings the promoted run
(``Engine._run_promoted``: the kernel's own group step on the event engine's ledger) must equal the vectorized
run: orders, fills, positions and equity.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from tests.parity.test_promotion import assert_same_run

import ml4t
from ml4t._assemble import assemble
from ml4t._kernel.inputs import KERNEL_KEYS, simulator
from ml4t._kernel.signals import panel_of
from ml4t.data import Bars, bars
from ml4t.datasets import synthetic_bars
from ml4t.event import Engine, Strategy
from ml4t.settings import VectorizedSettings
from ml4t.vectorized import VectorizedStrategy

pytestmark = pytest.mark.filterwarnings("ignore::ml4t.errors.Ml4tWarning")


def _listed(seed: int, p: float = 0.1) -> Bars:
    """Four symbols: A001 lists at bar 15, A002 delists after bar 45, A003 misses every 9th bar."""
    base = synthetic_bars(4, 60, "1d", seed=seed).frame.drop("ts_arrival")
    rng = np.random.default_rng(seed)
    i = pl.int_range(pl.len()).over("symbol")
    kept = base.filter(
        ~(
            ((pl.col("symbol") == "A001") & (i < 15))
            | ((pl.col("symbol") == "A002") & (i > 45))
            | ((pl.col("symbol") == "A003") & (i % 9 == 4))
        )
    )
    flags = {k: rng.random(kept.height) < p for k in ("le", "lx", "se", "sx")}
    return bars(kept.with_columns([pl.Series(k, v) for k, v in flags.items()]))


def _signals():
    return {
        "entries": pl.col("le"),
        "exits": pl.col("lx"),
        "short_entries": pl.col("se"),
        "short_exits": pl.col("sx"),
    }


@pytest.mark.parametrize("order", ["pro_rata", "auto", "symbol"])
@pytest.mark.parametrize("execution", ["close", "next_open"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_symbols_listing_and_delisting_promote_exactly(order, execution, seed):
    universe = _listed(seed)
    assert np.isnan(panel_of(universe).prices[3]).any(), "the panel has symbols without a bar at some times"
    strategy = VectorizedStrategy(_signals, cash_sharing=True, execution=execution, order=order, fees=0.001, size=50.0)
    vectorized = strategy.run(universe)
    promoted = ml4t.promote(strategy, universe).run()
    assert vectorized.fills.height > 10
    assert_same_run(vectorized, promoted)
    # no order where a symbol has no bar
    first = universe.frame.filter(pl.col("symbol") == "A001")["ts_event"].min()
    assert vectorized.orders.filter((pl.col("symbol") == "A001") & (pl.col("ts_closed") < first)).height == 0


def _weights_run(universe: Bars, s: VectorizedSettings, weights: np.ndarray) -> tuple[ml4t.Result, ml4t.Result]:
    """The vectorized and the promoted run of target ``weights`` ``(n_symbols, n_bars)``."""
    panel = panel_of(universe)
    arrays = []
    for key in KERNEL_KEYS:
        if key == "weights":
            arrays.append(np.ascontiguousarray(weights))
        else:
            bools = key in ("entries", "exits", "short_entries", "short_exits", "rebalance")
            arrays.append(np.zeros((0, 0), dtype=bool if bools else np.float64))
    signals = tuple(arrays)
    ts = panel.ts.dt.epoch("ns").to_numpy()
    raw = simulator(s).run(panel.prices, signals, True, ts)
    vectorized = assemble(raw, list(panel.symbols), init_cash=s.init_cash, periods_per_year=252.0, meta={})
    engine = Engine(universe, Strategy(), init_cash=s.init_cash, execution=s.execution, periods_per_year=252.0)
    promoted = engine._run_promoted(simulator(s), panel.prices, signals, np.ascontiguousarray(ts))
    return vectorized, promoted


@pytest.mark.parametrize("order", ["pro_rata", "auto", "symbol"])
@pytest.mark.parametrize("execution", ["close", "next_open"])
@pytest.mark.parametrize("seed", [4, 5])
def test_a_weights_strategy_promotes_exactly(order, execution, seed):
    universe = _listed(seed)
    rng = np.random.default_rng(seed)
    n_symbols, n_bars = len(universe.symbols), panel_of(universe).n_bars
    weights = rng.uniform(-0.2, 0.5, (n_symbols, n_bars))
    weights[rng.random((n_symbols, n_bars)) < 0.4] = np.nan
    s = VectorizedSettings(
        cash_sharing=True,
        execution=execution,
        order=order,
        fees=0.001,
        fixed_fees=1.0,
        slippage=0.001,
        lot_size=1.0,
        leverage=1.5,
        init_cash=100_000.0,
    )
    vectorized, promoted = _weights_run(universe, s, weights)
    assert vectorized.fills.height > 20
    assert_same_run(vectorized, promoted)

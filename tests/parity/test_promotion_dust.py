"""Realistic promotion of a multi-symbol all-in strategy (``cash_sharing=True``): the follower keeps a cash buffer,
and what the buffer leaves must not be spent on dust positions that the vectorized run never holds (they block
the big re-entry when the symbol's turn comes). Shaped like the real case (NVDA/ORCL/YHOO, overlapping level
signals, one account): synthetic bars, signals the test writes.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ml4t
import ml4t.costs
from ml4t.data import bars
from ml4t.datasets import synthetic_bars
from ml4t.vectorized import VectorizedStrategy

ROUND_TRIP = ("symbol", "direction", "ts_entry", "ts_exit")

# The all-in vectorized run rejects a symbol's entry while another symbol holds the shared cash (vectorbt's
# semantics: the order is attempted, "no cash available"), so the run's rejection summary is expected here.
pytestmark = pytest.mark.filterwarnings("ignore::ml4t.errors.RejectionWarning")


def _universe(n_assets: int, n_bars: int, seed: int, p_flip: float) -> ml4t.data.Bars:
    """Bars with level ``long`` flags: each symbol's flag flips with probability ``p_flip`` per bar, so the
    symbols' holding periods overlap the way moving-average regimes of several stocks do."""
    base = synthetic_bars(n_assets, n_bars, "1d", seed=seed).frame.drop("ts_arrival")
    rng = np.random.default_rng(seed)
    flips = rng.random((n_assets, n_bars)) < p_flip
    level = (np.cumsum(flips, axis=1) % 2 == 1).T.ravel()  # frame rows are (ts_event, symbol) ordered
    return bars(base.with_columns(pl.Series("long", level)))


def _level() -> dict:
    return {"entries": pl.col("long"), "exits": ~pl.col("long")}


def _runs(universe: ml4t.data.Bars, execution: str = "close", **run: object) -> tuple[ml4t.Result, ml4t.Result]:
    # the follower's orders reach the engine in symbol order: compared with the vectorized run in that order
    strategy = VectorizedStrategy(
        _level, execution=execution, fees=0.001, cash_sharing=True, init_cash=1e6, order="symbol"
    )
    realistic = ml4t.promote(strategy, universe).run(commission=ml4t.costs.Percent(0.001), **run)
    return strategy.run(universe), realistic


def _round_trips(result: ml4t.Result) -> list[tuple]:
    return result.trades.select(ROUND_TRIP).sort("ts_entry", "symbol").rows()


def test_an_all_in_follower_opens_no_dust_position_beside_the_all_in_one():
    universe = _universe(3, 300, seed=4, p_flip=0.08)
    vectorized, realistic = _runs(universe)
    # the vectorized run: one all-in position at a time, every other entry rejected for cash
    assert (vectorized.orders.filter(pl.col("status") == "rejected")["reason"] == "no cash available").all()
    entries = realistic.trades.join(
        realistic.equity.select(pl.col("ts_event").alias("ts_entry"), "equity"), on="ts_entry", how="left"
    )
    value = entries["quantity"] * entries["entry_price"]
    assert entries.height > 10
    smallest = float((value / entries["equity"]).min())  # equity at the fill bar's close: near the value
    assert smallest > 0.5, f"a dust entry worth {smallest:.2%} of equity"
    skipped = realistic.meta["skipped_entries"]
    assert skipped.height > 0
    assert skipped.columns == ["ts_event", "symbol", "side", "quantity", "value", "equity", "reason"]
    assert (skipped["value"] < 0.5 * 0.98 * skipped["equity"]).all()  # half the all-in size, fees aside
    assert set(skipped["reason"].to_list()) == {"dust: below min_entry of the all-in size"}
    outcomes = {row[0]: row[1:] for row in ml4t.compare(vectorized, realistic).orders.iter_rows()}
    assert outcomes["skipped (not placed)"] == (0, skipped.height)


# a universe whose flags never turn on (no flip in 150 bars: about 1 in 10,000 draws at p_flip=0.03) places no
# order: both runs are empty and equal, and the run's NoOrdersWarning is expected, not a failure
@pytest.mark.filterwarnings("ignore::ml4t.errors.NoOrdersWarning")
@settings(max_examples=60, deadline=None)
@given(
    n_assets=st.integers(2, 4),
    seed=st.integers(0, 2**16),
    p_flip=st.sampled_from([0.03, 0.1, 0.3]),
    fractional=st.booleans(),
    execution=st.sampled_from(["close", "next_open"]),
)
def test_the_all_in_follower_takes_the_vectorized_round_trips(n_assets, seed, p_flip, fractional, execution):
    """With the same fees, the follower takes exactly the vectorized run's round trips (symbol, direction,
    entry, exit): one all-in position at a time, the next symbol entering when the account is free (under
    next-open execution in the same bar as the exit that frees it, when the exit comes first in symbol order,
    as in the kernel). Sizes differ by the cash buffer, whole units and, under next-open, the sizing price
    (the decision bar's close, not the open: an entry the gap to the open makes unaffordable is rejected, a
    real difference; a 10% buffer keeps the synthetic gaps inside it)."""
    universe = _universe(n_assets, 150, seed, p_flip)
    vectorized, realistic = _runs(universe, execution, fractional=fractional, cash_buffer=0.1)
    assert realistic.orders.filter(pl.col("status") == "rejected").height == 0
    assert _round_trips(realistic) == _round_trips(vectorized)
    # and the orders that filled were decided and filled at the same bars in both modes
    when = ("ts_submitted", "ts_closed", "symbol", "side")
    filled = [
        r.orders.filter(pl.col("status") == "filled").select(when).sort(when).rows() for r in (vectorized, realistic)
    ]
    assert filled[0] == filled[1]


def test_min_entry_zero_keeps_the_old_behaviour_and_bad_values_are_refused():
    universe = _universe(3, 300, seed=4, p_flip=0.08)
    strategy = VectorizedStrategy(_level, fees=0.001, cash_sharing=True, init_cash=1e6)
    promoted = ml4t.promote(strategy, universe)
    loose = promoted.run(commission=ml4t.costs.Percent(0.001), min_entry=0.0)
    assert loose.meta["skipped_entries"].filter(pl.col("reason").str.starts_with("dust")).height == 0
    assert loose.trades.height > strategy.run(universe).trades.height  # dust round trips beside the big ones
    assert promoted.run(commission=ml4t.costs.Percent(0.001), min_entry=np.float32(0.5)).trades.height > 0
    for bad in (-0.1, 1.5, float("nan"), True, np.True_, "0.5", None):
        with pytest.raises(ml4t.ConfigError) as info:
            promoted.run(commission=ml4t.costs.Percent(0.001), min_entry=bad)
        assert info.value.argument == "min_entry"


def test_an_all_in_entry_of_one_whole_unit_is_not_dust_when_the_account_buys_no_more():
    """Dust is measured against the all-in entry of an account holding nothing else, not against equity: with
    1,000 of cash, a price of 495 and whole units, one unit (49.5% of equity) is all the account can buy."""
    base = synthetic_bars(1, 10, "1d", seed=0).frame.drop("ts_arrival")
    flat = base.with_columns(pl.lit(495.0).alias(c) for c in ("open", "high", "low", "close"))
    universe = bars(flat.with_columns(pl.Series("long", [False, False] + [True] * 8)))
    strategy = VectorizedStrategy(_level, fees=0.001, init_cash=1_000.0)
    realistic = ml4t.promote(strategy, universe).run(commission=ml4t.costs.Percent(0.001))
    assert realistic.trades.select("quantity", "ts_entry").rows() == [(1.0, flat["ts_event"][2])]
    assert realistic.meta["skipped_entries"].height == 0

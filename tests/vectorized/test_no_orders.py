"""A run or sweep that never trades says so (``NoOrdersWarning``), with a hint naming what never fired."""

from __future__ import annotations

import warnings

import polars as pl
import pytest

from ml4t.datasets import synthetic_bars
from ml4t.errors import NoOrdersWarning
from ml4t.vectorized import VectorizedStrategy


@pytest.fixture
def panel():
    return synthetic_bars(3, 60, seed=1)


def test_a_run_that_never_orders_names_the_keys_that_never_fired(panel):
    rule = VectorizedStrategy(lambda: {"entries": pl.col("close") < 0, "exits": pl.col("close") > 0})
    with pytest.warns(NoOrdersWarning, match="'entries' was never true") as record:
        result = rule.run(panel)
    assert result.orders.height == 0
    assert len(record) == 1 and "'exits'" not in str(record[0].message)  # exits fired (while flat)


def test_signals_that_fired_without_an_order_get_the_conflict_hint(panel):
    both = pl.col("close") > 0  # an entry and an exit on every bar: both dropped
    with pytest.warns(NoOrdersWarning, match="fired, but none became an order"):
        VectorizedStrategy(lambda: {"entries": both, "exits": both}).run(panel)


def test_weights_null_everywhere_warn():
    b = synthetic_bars(2, 30, seed=2)
    with pytest.warns(NoOrdersWarning, match="'weights' was zero or null on every bar"):
        VectorizedStrategy(lambda: {"weights": pl.lit(None, dtype=pl.Float64)}, cash_sharing=True).run(b)


def test_weights_zero_everywhere_warn_like_null():
    """A cross-section of a time series that Polars computed inside each date (all null, so the top-k
    weights are 0 everywhere) is the commonest way to a silent panel strategy."""
    b = synthetic_bars(3, 30, seed=2)
    rank = pl.col("close").pct_change(5).rank("ordinal").over("ts_event")  # ml4t: ignore[VEC004]
    weights = pl.when(rank <= 1).then(1.0).otherwise(0.0)
    with pytest.warns(NoOrdersWarning, match="'weights' was zero or null on every bar"):
        VectorizedStrategy(lambda: {"weights": weights}, scope="panel", cash_sharing=True).run(b)


def test_a_run_that_orders_does_not_warn(panel):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = VectorizedStrategy(lambda: {"entries": pl.col("close") > 0}).run(panel)
    assert result.orders.height > 0


def test_a_sweep_warns_once_when_no_combination_traded(panel):
    rule = VectorizedStrategy(lambda level: {"entries": pl.col("close") < level})
    with pytest.warns(NoOrdersWarning, match="no combination of the sweep traded") as record:
        rule.sweep(panel, level=[-3.0, -2.0, -1.0])
    assert len([w for w in record if issubclass(w.category, NoOrdersWarning)]) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sweep = rule.sweep(panel, level=[-1.0, 1e9])  # one combination trades: no warning
    assert sweep.metrics["trade_count"].sum() + sweep.metrics["open_trade_count"].sum() > 0


def test_the_scope_hint_is_given_in_symbol_scope_only(panel):
    never = lambda: {"entries": pl.col("close") < 0}  # noqa: E731
    with pytest.warns(NoOrdersWarning, match="needs scope='panel'"):
        VectorizedStrategy(never).run(panel)
    with pytest.warns(NoOrdersWarning) as record:
        VectorizedStrategy(never, scope="panel").run(panel)
    assert "scope=" not in str(record[0].message)

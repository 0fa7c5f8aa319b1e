"""ml4t.run_many (issue #17, first part): a batch of event-driven and promoted runs, in order, each Result the same
bit for bit as the run alone, here, on a thread pool or on a spawning process pool."""

from __future__ import annotations

import concurrent.futures as cf
import functools

import polars as pl
import pytest

import ml4t
from ml4t.costs import PerShare
from ml4t.datasets import synthetic_bars
from ml4t.errors import ConfigError
from ml4t.event import BarBatch, Context, Engine, Strategy
from ml4t.vectorized import VectorizedStrategy

BARS = synthetic_bars(3, 300, "1d", seed=9)


class Cross(Strategy):
    """Buy 10 shares when the fast average is above the slow one, sell when below."""

    def __init__(self, fast: int, slow: int) -> None:
        self.indicators = {"fast": pl.col("close").rolling_mean(fast), "slow": pl.col("close").rolling_mean(slow)}

    def on_bar(self, ctx: Context, bars: BarBatch) -> None:
        for bar in bars:
            held = ctx.position(bar.symbol)
            if bar.fast > bar.slow and held == 0:
                ctx.order(bar.symbol, 10)
            elif bar.fast < bar.slow and held > 0:
                ctx.order(bar.symbol, -held)


def cross(fast: int, slow: int) -> dict[str, pl.Expr]:
    f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
    return {"entries": f > s, "exits": f < s}


def _runs() -> list:
    strategy = VectorizedStrategy(cross, fees=0.001, cash_sharing=True, size=0.3, size_type="percent")
    promoted = ml4t.promote(strategy, BARS, fast=5, slow=40)
    return [
        Engine(BARS, Cross(5, 30), commission=PerShare(0.01)),
        promoted,
        functools.partial(promoted.run, commission=PerShare(0.005)),
        Engine(BARS, Cross(10, 60)),
    ]


def _assert_same(a, b) -> None:
    for name in ("equity", "orders", "fills", "positions", "trades", "metrics"):
        assert getattr(a, name).equals(getattr(b, name)), name


@pytest.fixture(scope="module")
def alone() -> list:
    return [ml4t.run_many([run])[0] for run in _runs()]


@pytest.mark.parametrize("where", ["here", "threads", "processes"])
def test_every_run_gives_its_own_result_in_order_wherever_it_runs(alone, where):
    if where == "here":
        results = ml4t.run_many(_runs())
    elif where == "threads":
        with cf.ThreadPoolExecutor(2) as pool:
            results = ml4t.run_many(_runs(), executor=pool)
    else:
        with ml4t.spawn_pool(2) as pool:
            results = ml4t.run_many(_runs(), executor=pool)
    assert len(results) == len(alone)
    for got, want in zip(results, alone, strict=True):
        _assert_same(got, want)
    assert not results[0].orders.equals(results[3].orders)  # the runs differ: the order is checked


def test_a_run_that_is_not_one_is_refused_before_anything_runs():
    with pytest.raises(ConfigError, match=r"runs\[1\]") as caught:
        ml4t.run_many([Engine(BARS, Cross(5, 30)), "not a run"])
    assert caught.value.argument == "runs"
    with pytest.raises(ConfigError, match="runs must be a list"):
        ml4t.run_many(Engine(BARS, Cross(5, 30)))  # type: ignore[arg-type]


def test_a_callable_that_returns_something_else_is_named():
    with pytest.raises(ConfigError, match=r"runs\[0\] returned a int"):
        ml4t.run_many([lambda: 3])


def test_a_forking_pool_is_refused_for_runs_too():
    import multiprocessing

    pool = cf.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
    try:
        with pytest.raises(ConfigError, match="forks its workers"):
            ml4t.run_many(_runs(), executor=pool)
    finally:
        pool.shutdown()

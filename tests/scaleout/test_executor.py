"""Sweeps on an executor's workers (issue #17, first part): the same answer as this process's kernel, bit for bit.

A ThreadPoolExecutor and a ProcessPoolExecutor that spawns (ml4t.spawn_pool) run the sweep's pieces; the metrics
and the overfitting statistics equal the local sweep's to the bit, in grid order; a fork-context pool is refused
with the reason; a piece whose worker fails is run again once; with the cache on, the pieces' blocks are stored
and a rerun reads them.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os

import polars as pl
import pytest
from tests.bitwise import assert_same_sweep

import ml4t
import ml4t._executor as executor_module
from ml4t.cache import Store
from ml4t.datasets import synthetic_bars
from ml4t.errors import ConfigError
from ml4t.vectorized import VectorizedStrategy

BARS = synthetic_bars(3, 400, "1d", seed=5)
GRID = {"fast": list(range(2, 30)), "slow": [40, 60, 80, 100, 120]}  # 140 combinations


def cross(fast: int, slow: int) -> dict[str, pl.Expr]:
    f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
    return {"entries": f > s, "exits": f < s}


@pytest.fixture(autouse=True)
def _small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(executor_module, "PIECE_FLOOR_SECONDS", 0.0)  # four pieces per worker, however little work


@pytest.mark.parametrize("settings", [{}, {"cash_sharing": True, "fees": 0.001, "size": 0.3, "size_type": "percent"}])
def test_a_thread_pool_gives_the_local_sweep_bit_for_bit(settings):
    strategy = VectorizedStrategy(cross, **settings)
    local = strategy.sweep(BARS, progress=False, **GRID)
    with cf.ThreadPoolExecutor(2) as pool:
        remote = strategy.sweep(BARS, progress=False, executor=pool, **GRID)
    assert_same_sweep(local, remote)


def test_a_spawning_process_pool_gives_the_local_sweep_bit_for_bit():
    strategy = VectorizedStrategy(cross, fees=0.001)
    local = strategy.sweep(BARS, progress=False, **GRID)
    with ml4t.spawn_pool(2) as pool:
        remote = strategy.sweep(BARS, progress=False, executor=pool, **GRID)
    assert_same_sweep(local, remote)


def test_a_forking_process_pool_is_refused_with_the_reason_and_the_fix():
    pool = cf.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
    try:
        with pytest.raises(ConfigError, match="forks its workers") as caught:
            VectorizedStrategy(cross).sweep(BARS, progress=False, executor=pool, **GRID)
        assert caught.value.argument == "executor" and "spawn" in str(caught.value)
    finally:
        pool.shutdown()


@pytest.mark.parametrize("bad", ["Ray", "processes", 4, object()])
def test_an_executor_that_is_not_one_is_a_config_error_naming_it_and_the_accepted_ones(bad):
    with pytest.raises(ConfigError) as caught:
        VectorizedStrategy(cross).sweep(BARS, progress=False, executor=bad, **GRID)
    assert caught.value.argument == "executor"
    assert "dask.distributed.Client" in str(caught.value) and "'ray'" in str(caught.value)


def test_executor_ray_without_ray_installed_says_how_to_install_it(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError, as where it is not installed
    for run in (
        lambda: VectorizedStrategy(cross).sweep(BARS, progress=False, executor="ray", **GRID),
        lambda: ml4t.run_many([lambda: None], executor="ray"),
    ):
        with pytest.raises(ConfigError, match=r"pip install 'ml4t\[ray\]'") as caught:
            run()
        assert caught.value.argument == "executor"


def test_threads_per_task_are_the_cpus_shared_by_a_pools_workers_and_one_on_a_cluster():
    cpus = os.cpu_count() or 1
    with cf.ThreadPoolExecutor(2) as pool:
        assert executor_module.Pool(pool, 2).threads_per_task == max(1, cpus // 2)
        assert executor_module.Pool(pool, 4 * cpus).threads_per_task == 1
    assert executor_module.DaskPool(None, 2).threads_per_task == 1  # a Dask worker thread, a Ray task: one CPU


class FailsOnce(cf.ThreadPoolExecutor):
    """A pool whose first task (a piece, a fold) fails as a lost worker would (an OSError): it must run again."""

    def __init__(self) -> None:
        super().__init__(2)
        self.failed = False
        self.submitted = 0

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
        self.submitted += 1
        if not self.failed:
            self.failed = True

            def broken(*_a, **_k):
                raise OSError("the worker went away")

            return super().submit(broken)
        return super().submit(fn, *args, **kwargs)


def test_a_piece_whose_worker_fails_is_run_again_and_the_answer_is_the_same():
    strategy = VectorizedStrategy(cross)
    with FailsOnce() as pool:
        remote = strategy.sweep(BARS, progress=False, executor=pool, **GRID)
        pieces = len(executor_module.Pool(pool, 2).cut(range(140)))
        assert pool.submitted == pieces + 1
    assert_same_sweep(strategy.sweep(BARS, progress=False, **GRID), remote)


def test_an_ml4t_error_on_a_worker_is_raised_as_is_not_retried():
    def bad(fast: int, slow: int) -> dict[str, pl.Expr]:
        return {"entries": pl.col("close") > pl.col("no_such_column").rolling_mean(fast), "exits": pl.lit(False)}

    with cf.ThreadPoolExecutor(2) as pool, pytest.raises(ConfigError, match="no_such_column"):
        VectorizedStrategy(bad).sweep(BARS, progress=False, executor=pool, fast=[3, 5], slow=[10])


def test_with_the_cache_the_pieces_blocks_are_stored_and_a_rerun_reads_them(tmp_path, monkeypatch):
    import ml4t.vectorized._result_cache as result_cache

    monkeypatch.setattr(result_cache, "BLOCK", 32)
    store = Store(tmp_path, max_bytes=1 << 30)
    strategy = VectorizedStrategy(cross)
    with cf.ThreadPoolExecutor(2) as pool:
        cold = strategy.sweep(BARS, progress=False, executor=pool, cache=store, **GRID)
        warm = strategy.sweep(BARS, progress=False, executor=pool, cache=store, **GRID)
    assert (cold.cache.results.hits, cold.cache.results.misses) == (0, 5)
    assert (warm.cache.results.hits, warm.cache.results.misses) == (5, 0)
    local = strategy.sweep(BARS, progress=False, **GRID)
    assert_same_sweep(local, cold)
    assert_same_sweep(local, warm)


def test_spawn_pool_checks_its_argument():
    with pytest.raises(ConfigError, match="workers"):
        ml4t.spawn_pool(0)

"""Sweeps and batches of runs on a Dask cluster (issue #17): a LocalCluster of two worker processes on this machine,
started and stopped by the tests; the same answers as this process, bit for bit."""

from __future__ import annotations

import pytest

distributed = pytest.importorskip("distributed")

from tests.bitwise import assert_same_sweep as _assert_same  # noqa: E402
from tests.scaleout.test_executor import BARS, GRID, cross  # noqa: E402
from tests.scaleout.test_run_many import _assert_same as _same_result  # noqa: E402
from tests.scaleout.test_run_many import _runs  # noqa: E402
from tests.scaleout.test_walk_forward import BARS as WF_BARS  # noqa: E402
from tests.scaleout.test_walk_forward import GRID as WF_GRID  # noqa: E402
from tests.scaleout.test_walk_forward import SPLITS, assert_same_walk  # noqa: E402

import ml4t  # noqa: E402
from ml4t.cache import Store  # noqa: E402
from ml4t.validate import walk_forward_sweep  # noqa: E402
from ml4t.vectorized import VectorizedStrategy  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=40
    )
    with distributed.Client(cluster, timeout="60s") as c:
        yield c
    cluster.close(timeout=60)


def test_a_sweep_on_a_dask_cluster_is_the_local_sweep_bit_for_bit(client, monkeypatch):
    import ml4t._executor as executor_module

    monkeypatch.setattr(executor_module, "PIECE_FLOOR_SECONDS", 0.0)
    scattered = []
    share = executor_module.DaskPool.share
    monkeypatch.setattr(executor_module.DaskPool, "share", lambda self, v: scattered.append(v) or share(self, v))
    strategy = VectorizedStrategy(cross, fees=0.001)
    local = strategy.sweep(BARS, progress=False, **GRID)
    remote = strategy.sweep(BARS, progress=False, executor=client, **GRID)
    _assert_same(local, remote)
    assert len(scattered) == 1 and scattered[0] is BARS  # the bars went to the cluster once, for every piece


def test_a_batch_of_runs_on_a_dask_cluster_gives_each_runs_own_result_in_order(client):
    alone = ml4t.run_many(_runs())
    remote = ml4t.run_many(_runs(), executor=client)
    for got, want in zip(remote, alone, strict=True):
        _same_result(got, want)


def test_a_notebook_defined_signal_function_runs_on_dask(client):
    """Dask pickles functions by value when they cannot be imported by name (cloudpickle), so a signal function
    defined in a cell, here inside the test, runs on its workers (a ProcessPoolExecutor could not)."""

    def local_cross(fast: int, slow: int):
        import polars as pl

        f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
        return {"entries": f > s, "exits": f < s}

    strategy = VectorizedStrategy(local_cross)
    _assert_same(
        strategy.sweep(BARS, progress=False, fast=[3, 5], slow=[40]),
        strategy.sweep(BARS, progress=False, executor=client, fast=[3, 5], slow=[40]),
    )


def _lost(*_args):
    raise ConnectionError("the worker went away")


def test_a_piece_lost_on_dask_is_raised_after_the_running_pieces_stored_their_blocks(client, tmp_path, monkeypatch):
    import ml4t._executor as executor_module
    import ml4t.vectorized._result_cache as result_cache
    from ml4t.cache import Store

    monkeypatch.setattr(executor_module, "PIECE_FLOOR_SECONDS", 0.0)
    monkeypatch.setattr(result_cache, "BLOCK", 16)
    submit = executor_module.DaskPool._submit

    def losing(self, task, *args):  # the piece holding combination 0 is lost, its retry too
        return submit(self, _lost if 0 in args[-1] else task, *args)

    monkeypatch.setattr(executor_module.DaskPool, "_submit", losing)
    store = Store(tmp_path, max_bytes=1 << 30)
    strategy = VectorizedStrategy(cross)
    with pytest.raises(ConnectionError, match="went away"):
        strategy.sweep(BARS, progress=False, executor=client, cache=store, **GRID)
    monkeypatch.setattr(executor_module.DaskPool, "_submit", submit)
    resumed = strategy.sweep(BARS, progress=False, executor=client, cache=store, **GRID)
    assert resumed.cache.results.misses >= 1  # the lost piece's blocks
    assert resumed.cache.results.hits + resumed.cache.results.misses == 9  # 140 combinations in blocks of 16
    _assert_same(strategy.sweep(BARS, progress=False, **GRID), resumed)


def test_walk_forward_folds_on_a_dask_cluster_are_the_local_walk_forward(client, monkeypatch, tmp_path):
    import ml4t._executor as executor_module

    scattered = []
    share = executor_module.DaskPool.share
    monkeypatch.setattr(executor_module.DaskPool, "share", lambda self, v: scattered.append(v) or share(self, v))
    store = Store(tmp_path / "cache", max_bytes=10**9)
    strategy = VectorizedStrategy(cross, fees=0.001)
    local = walk_forward_sweep(strategy, WF_BARS, SPLITS, progress=False, cache=store, **WF_GRID)
    remote = walk_forward_sweep(strategy, WF_BARS, SPLITS, progress=False, cache=store, executor=client, **WF_GRID)
    assert_same_walk(local, remote)
    assert len(scattered) == 1 and scattered[0] is WF_BARS  # the bars went to the cluster once, for every fold
    assert [s.cache.results.hits for s in remote.sweeps] == [s.cache.results.misses for s in local.sweeps]

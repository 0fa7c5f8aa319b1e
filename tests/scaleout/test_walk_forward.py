"""Walk-forward folds on an executor's workers (issue #17): each fold's whole job (its training sweep, the chosen
combination's run up to its test block's end) runs as one task, the folds come back in order, and the
WalkForwardResult is the local one bit for bit: every fold's parameters, reasons and returns, the stitched series
and its metrics, the folds' sweeps and runs. With the cache on, the folds on the workers use the caller's store
and their reports come back, so a rerun on the workers reads what the local run stored."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest
from tests.scaleout.test_executor import FailsOnce

import ml4t
from ml4t.cache import Store
from ml4t.datasets import synthetic_bars
from ml4t.errors import ConfigError, NoOrdersWarning
from ml4t.validate import walk_forward, walk_forward_sweep
from ml4t.vectorized import VectorizedStrategy

BARS = synthetic_bars(2, 360, "1d", seed=11)
GRID = {"fast": [3, 5, 8, 13], "slow": [30, 60]}
SPLITS = walk_forward(BARS, train=120, test=40)


def cross(fast: int, slow: int) -> dict[str, pl.Expr]:
    f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
    return {"entries": f > s, "exits": f < s}


def never(fast: int, slow: int) -> dict[str, pl.Expr]:
    """Trades nothing: every fold stays flat, with its reason."""
    return {"entries": pl.col("close") < 0, "exits": pl.col("close") < 0}


def _same_frame(a: pl.DataFrame, b: pl.DataFrame) -> None:
    assert a.schema == b.schema
    assert a.equals(b, null_equal=True)
    for name, dtype in a.schema.items():
        if dtype == pl.Float64:
            bits = [f[name].fill_null(0.0).to_numpy().view(np.uint64) for f in (a, b)]
            assert np.array_equal(*bits), name


def assert_same_walk(a, b) -> None:
    """Two WalkForwardResults are the same, bit for bit, down to each fold's sweep and run."""
    for name in ("folds", "returns", "equity", "metrics"):
        _same_frame(getattr(a, name), getattr(b, name))
    assert (a.params, a.metric, a.periods_per_year) == (b.params, b.metric, b.periods_per_year)
    assert len(a.sweeps) == len(b.sweeps) == len(a.results) == len(b.results)
    for x, y in zip(a.sweeps, b.sweeps, strict=True):
        _same_frame(x.metrics, y.metrics)
    for x, y in zip(a.results, b.results, strict=True):
        assert (x is None) == (y is None)
        if x is not None:
            for name in ("equity", "orders", "fills", "trades", "positions"):
                _same_frame(getattr(x, name), getattr(y, name))


@pytest.fixture(scope="module")
def pool():
    with ml4t.spawn_pool(2) as p:
        yield p


@pytest.mark.parametrize("settings", [{}, {"cash_sharing": True, "fees": 0.001, "size": 0.3, "size_type": "percent"}])
def test_walk_forward_folds_on_a_spawning_pool_are_the_local_walk_forward(pool, settings):
    strategy = VectorizedStrategy(cross, **settings)
    local = walk_forward_sweep(strategy, BARS, SPLITS, progress=False, **GRID)
    remote = walk_forward_sweep(strategy, BARS, SPLITS, progress=False, executor=pool, **GRID)
    assert len(SPLITS) >= 4 and local.folds["fast"].n_unique() > 1  # several folds, not all the same choice
    assert_same_walk(local, remote)


def test_flat_folds_keep_their_reason_on_the_workers(pool):
    strategy = VectorizedStrategy(never)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoOrdersWarning)  # the training sweeps never trade: the point here
        local = walk_forward_sweep(strategy, BARS, SPLITS, progress=False, **GRID)
        remote = walk_forward_sweep(strategy, BARS, SPLITS, progress=False, executor=pool, **GRID)
    assert local.folds["reason"].null_count() == 0
    assert_same_walk(local, remote)


def test_a_worker_folds_warnings_reach_the_caller(pool):
    """A warning of a fold's run (here: all-cash orders of two symbols sharing one account, rejected for cash)
    is raised in the caller as the local run raises it, in fold order, not lost on a worker."""
    strategy = VectorizedStrategy(cross, cash_sharing=True, fees=0.001)
    with warnings.catch_warnings(record=True) as local:
        warnings.simplefilter("always")
        walk_forward_sweep(strategy, BARS, SPLITS, progress=False, **GRID)
    with warnings.catch_warnings(record=True) as remote:
        warnings.simplefilter("always")
        walk_forward_sweep(strategy, BARS, SPLITS, progress=False, executor=pool, **GRID)
    assert local, "the case must warn locally"
    assert [(type(w.message), str(w.message)) for w in remote] == [(type(w.message), str(w.message)) for w in local]


def test_the_folds_on_the_workers_use_the_callers_cache_and_report_it(pool, tmp_path):
    store = Store(tmp_path / "cache", max_bytes=10**9)
    strategy = VectorizedStrategy(cross)
    cold = walk_forward_sweep(strategy, BARS, SPLITS, progress=False, cache=store, **GRID)
    warm = walk_forward_sweep(strategy, BARS, SPLITS, progress=False, cache=store, executor=pool, **GRID)
    assert_same_walk(cold, warm)
    for local, remote in zip(cold.sweeps, warm.sweeps, strict=True):
        assert local.cache is not None and remote.cache is not None
        assert local.cache.results.misses > 0 and local.cache.results.hits == 0
        assert remote.cache.results.hits == local.cache.results.misses and remote.cache.results.misses == 0


@pytest.fixture
def _configured_cache(tmp_path):
    import ml4t.cache

    ml4t.cache.configure(dir=tmp_path / "configured", enabled=True)
    yield
    ml4t.cache._config._reset()


@pytest.mark.usefixtures("_configured_cache")
def test_the_cache_on_the_workers_is_the_one_the_caller_configured(pool, tmp_path):
    """``cache=None`` follows ``ml4t.cache.configure`` in the caller's process, which a worker never ran."""
    walked = walk_forward_sweep(VectorizedStrategy(cross), BARS, SPLITS[:2], progress=False, executor=pool, **GRID)
    assert all(s.cache is not None and s.cache.results.misses > 0 for s in walked.sweeps)
    assert any((tmp_path / "configured").rglob("*.parquet"))


@pytest.mark.parametrize("bad", ["processes", 2])
def test_an_executor_that_is_not_one_is_refused_before_any_fold_runs(bad):
    with pytest.raises(ConfigError) as caught:
        walk_forward_sweep(VectorizedStrategy(cross), BARS, SPLITS, progress=False, executor=bad, **GRID)
    assert caught.value.argument == "executor"


def test_the_callers_bar_counts_the_folds_finished_on_the_workers(pool, monkeypatch, capsys):
    from ml4t import _progress

    monkeypatch.setattr(_progress, "DELAY", 0.0)
    monkeypatch.delenv(_progress.ENV, raising=False)
    walk_forward_sweep(VectorizedStrategy(cross), BARS, SPLITS, executor=pool, **GRID)
    err = capsys.readouterr().err
    assert "walk-forward" in err and f"{len(SPLITS)}/{len(SPLITS)}" in err and "folds" in err
    assert "combos" not in err, "a fold's sweep shows no bar of its own, on a worker or here"


def test_a_fold_whose_worker_fails_is_run_again_and_the_answer_is_the_same():
    strategy = VectorizedStrategy(cross)
    with FailsOnce() as failing:
        remote = walk_forward_sweep(strategy, BARS, SPLITS, progress=False, executor=failing, **GRID)
    assert failing.submitted == len(SPLITS) + 1
    assert_same_walk(walk_forward_sweep(strategy, BARS, SPLITS, progress=False, **GRID), remote)

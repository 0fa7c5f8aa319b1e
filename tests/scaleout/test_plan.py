"""A sweep on an executor is planned before it runs (issue #17): the parameters that choose indicators are found,
the combinations reading one indicator are put together so a worker computes it once, the pieces come back in
any order and the sweep is still the local one bit for bit, its cache blocks stored as they complete, and each
task's kernel runs on the threads the task was given."""

from __future__ import annotations

import concurrent.futures as cf
import threading
import time
from functools import partial

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.bitwise import assert_same_sweep as _assert_same
from tests.scaleout.test_executor import BARS

import ml4t._executor as executor_module
import ml4t.vectorized._distribute as distribute
from ml4t._kernel.signals import Grid
from ml4t.cache import Store
from ml4t.settings import VectorizedSettings
from ml4t.vectorized import VectorizedStrategy


def zscore(z: float, window: int, hold: float) -> dict[str, pl.Expr]:
    """``window`` chooses the indicators; ``z`` and ``hold`` only the thresholds on them."""
    c = pl.col("close")
    score = (c - c.rolling_mean(window)) / c.rolling_std(window)
    return {"entries": score < -z, "exits": score > z * hold}


ZGRID = {"z": [0.5, 1.0, 1.5, 2.0], "window": [10, 20, 30, 40, 50], "hold": [0.0, 0.5, 1.0]}  # 60, window fastest-ish


def _grid(fn, grids) -> Grid:
    return Grid.build(fn, grids)


def test_the_parameters_that_choose_indicators_are_found():
    assert distribute.indicator_axes(zscore, _grid(zscore, ZGRID), VectorizedSettings()) == [1]

    def two(fast: int, slow: int, gap: float) -> dict[str, pl.Expr]:
        f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
        return {"entries": f > s * (1 + gap), "exits": f < s}

    grid = _grid(two, {"fast": [2, 3], "slow": [10, 20, 30], "gap": [0.0, 0.01]})
    assert distribute.indicator_axes(two, grid, VectorizedSettings()) == [0, 1]
    one_value = _grid(two, {"fast": [2], "slow": [10, 20], "gap": [0.0, 0.01]})
    assert distribute.indicator_axes(two, one_value, VectorizedSettings()) == [1]


def test_the_combinations_reading_one_indicator_are_put_together_in_grid_order():
    grid = _grid(zscore, ZGRID)
    order = distribute.order_by_indicators(grid, range(len(grid.combos)), [1])
    assert sorted(order) == list(range(len(grid.combos)))
    windows = [grid.combos[i][1] for i in order]
    assert windows == sorted(windows, key=ZGRID["window"].index)  # grouped, in the grid's order of windows
    for w in ZGRID["window"]:  # inside a group: grid order
        group = [i for i in order if grid.combos[i][1] == w]
        assert group == sorted(group)


def test_the_indicator_axis_with_more_values_goes_first_and_unknown_leaves_keep_grid_order():
    grid = _grid(zscore, {"z": [1.0, 2.0], "window": [10, 20, 30], "hold": [0.0, 1.0]})
    order = distribute.order_by_indicators(grid, range(12), [0, 1])  # window has 3 values, z 2: window first
    assert [grid.combos[i][1] for i in order] == [10] * 4 + [20] * 4 + [30] * 4
    assert [grid.combos[i][0] for i in order[:4]] == [1.0, 1.0, 2.0, 2.0]
    assert distribute.order_by_indicators(grid, [5, 1, 7], None) == [5, 1, 7]
    assert distribute.order_by_indicators(grid, [5, 1, 7], []) == [5, 1, 7]


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 4), min_size=1, max_size=4),
    axes=st.lists(st.integers(0, 3), max_size=4, unique=True),
    data=st.data(),
)
def test_the_order_is_a_permutation_sorted_by_the_axes_then_grid_order(sizes, axes, data):
    names = [f"p{k}" for k in range(len(sizes))]

    def fn(**_: int) -> dict[str, pl.Expr]:
        return {"entries": pl.lit(True), "exits": pl.lit(False)}

    fn.__signature__ = __import__("inspect").Signature(  # type: ignore[attr-defined]
        [__import__("inspect").Parameter(n, __import__("inspect").Parameter.KEYWORD_ONLY) for n in names]
    )
    grid = Grid(tuple(names), [tuple(c) for c in np.ndindex(*sizes)])
    axes = [k for k in axes if k < len(sizes)]
    todo = data.draw(st.lists(st.integers(0, len(grid.combos) - 1), unique=True))
    order = distribute.order_by_indicators(grid, todo, axes)
    assert sorted(order) == sorted(todo)
    ranked = sorted(axes, key=lambda k: -sizes[k])
    keys = [(tuple(grid.combos[i][k] for k in ranked), todo.index(i)) for i in order]
    assert keys == sorted(keys)


CALLS: list[int] = []
LOCK = threading.Lock()


def _counted_mean(window: int, s: pl.Series) -> pl.Series:
    with LOCK:
        CALLS.append(window)  # ml4t: ignore[REP003] (the test counts the computations)
    return s.rolling_mean(window)


def counted(z: float, window: int) -> dict[str, pl.Expr]:
    """An indicator that counts how often it is computed (per window, per symbol)."""
    mean = pl.col("close").map_batches(partial(_counted_mean, window), return_dtype=pl.Float64)
    score = pl.col("close") - mean
    return {"entries": score < -z, "exits": score > z}


def test_a_worker_computes_each_indicator_of_its_piece_once_not_every_indicator(monkeypatch):
    monkeypatch.setattr(executor_module, "PIECE_FLOOR_SECONDS", 0.0)
    grids = {"z": [0.1 * k for k in range(1, 9)], "window": [5, 10, 15, 20, 25, 30, 35, 40]}  # 64, window last
    strategy = VectorizedStrategy(counted)
    local = strategy.sweep(BARS, progress=False, **grids)
    with cf.ThreadPoolExecutor(2) as pool:
        pieces = executor_module.Pool(pool, 2).cut(range(64))
        CALLS.clear()
        remote = strategy.sweep(BARS, progress=False, executor=pool, **grids)
    _assert_same(local, remote)
    symbols = len(BARS.symbols)
    computed = len(CALLS)  # the plan's probes call the signal function but compute nothing
    # grid order would give every piece all 8 windows: 8 pieces x 8 windows; grouped, a window is computed by
    # the one piece holding it, or two when a cut falls inside its group
    assert len(pieces) == 8
    assert computed <= (8 + len(pieces) - 1) * symbols
    assert computed < len(pieces) * 8 * symbols


class OutOfOrder(cf.ThreadPoolExecutor):
    """A pool whose first task finishes last."""

    def __init__(self) -> None:
        super().__init__(2)
        self.first = True

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
        if self.first:
            self.first = False

            def late(*a, **k):
                time.sleep(0.5)
                return fn(*a, **k)

            return super().submit(late, *args, **kwargs)
        return super().submit(fn, *args, **kwargs)


def test_pieces_that_finish_out_of_order_give_the_local_sweep_and_store_every_block(tmp_path, monkeypatch):
    import ml4t.vectorized._result_cache as result_cache

    monkeypatch.setattr(executor_module, "PIECE_FLOOR_SECONDS", 0.0)
    monkeypatch.setattr(result_cache, "BLOCK", 16)
    store = Store(tmp_path, max_bytes=1 << 30)
    strategy = VectorizedStrategy(zscore, fees=0.001)
    local = strategy.sweep(BARS, progress=False, **ZGRID)
    with OutOfOrder() as pool:
        cold = strategy.sweep(BARS, progress=False, executor=pool, cache=store, **ZGRID)
    assert (cold.cache.results.hits, cold.cache.results.misses) == (0, 4)
    warm = strategy.sweep(BARS, progress=False, cache=store, **ZGRID)
    assert (warm.cache.results.hits, warm.cache.results.misses) == (4, 0)
    _assert_same(local, cold)
    _assert_same(local, warm)


class Recorder:
    """The strategy's kernel, recording the threads each call was given."""

    def __init__(self, inner) -> None:
        self.inner, self.threads = inner, []

    def __getattr__(self, name):
        method = getattr(self.inner, name)

        def call(*args, **kwargs):
            self.threads.append(kwargs.get("threads"))
            return method(*args, **kwargs)

        return call


def test_each_task_runs_the_kernel_on_the_cpus_it_was_given(monkeypatch):
    monkeypatch.setattr(executor_module, "PIECE_FLOOR_SECONDS", 0.0)
    monkeypatch.setattr(executor_module.os, "cpu_count", lambda: 8)
    strategy = VectorizedStrategy(zscore)
    recorder = Recorder(strategy._simulator)
    monkeypatch.setattr(strategy, "_simulator", recorder)
    with cf.ThreadPoolExecutor(2) as pool:
        strategy.sweep(BARS, progress=False, executor=pool, **ZGRID)
    assert recorder.threads and set(recorder.threads) == {4}  # 8 CPUs shared by 2 workers
    recorder.threads.clear()
    strategy.sweep(BARS, progress=False, **ZGRID)
    assert set(recorder.threads) == {0}  # here: every core


@pytest.mark.parametrize("leaves", [None])
def test_expressions_whose_leaves_are_unknown_keep_the_grid_order(monkeypatch, leaves):
    monkeypatch.setattr(distribute, "leaves_of", lambda signals: leaves)
    assert distribute.indicator_axes(zscore, _grid(zscore, ZGRID), VectorizedSettings()) is None


CHILD_STUCK = """
import concurrent.futures as cf
from ml4t.datasets import synthetic_bars
from ml4t.vectorized import VectorizedStrategy
from tests.scaleout.test_plan import zscore, ZGRID

class Stuck(cf.Executor):
    '''Takes every task and never runs it (a cluster whose workers are all busy elsewhere).'''
    def __init__(self):
        self.futures = []
    def submit(self, fn, /, *args, **kwargs):
        future = cf.Future()
        self.futures.append(future)
        if len(self.futures) == 1:
            print("waiting", flush=True)
        return future

stuck = Stuck()
try:
    VectorizedStrategy(zscore).sweep(synthetic_bars(1, 200, "1d", seed=2), progress=False, executor=stuck, **ZGRID)
except KeyboardInterrupt:
    print("cancelled", sum(f.cancelled() for f in stuck.futures), "of", len(stuck.futures), flush=True)
    raise
"""


def test_ctrl_c_while_waiting_for_the_workers_stops_at_once_and_cancels_the_pieces() -> None:
    import signal
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD_STUCK], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "waiting"
    time.sleep(0.5)  # the other piece is submitted within microseconds: Ctrl-C comes while the sweep waits
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=120)
    assert child.returncode == -signal.SIGINT, err
    assert "KeyboardInterrupt" in err
    cancelled, _, total = out.split()[1:]
    assert int(total) >= 1 and cancelled == total, out


class LosesTheLastPiece(cf.ThreadPoolExecutor):
    """A pool whose worker running the last piece is lost every time (the retry too)."""

    def __init__(self, last: list[int]) -> None:
        super().__init__(2)
        self.last = last

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
        if list(args[-1]) == self.last:

            def lost(*_a, **_k):
                raise ConnectionError("the worker went away")

            return super().submit(lost)
        return super().submit(fn, *args, **kwargs)


def test_after_a_lost_worker_a_rerun_resumes_from_the_blocks_that_finished(tmp_path, monkeypatch):
    import ml4t.vectorized._result_cache as result_cache

    monkeypatch.setattr(executor_module, "PIECE_FLOOR_SECONDS", 0.0)
    monkeypatch.setattr(result_cache, "BLOCK", 15)
    store = Store(tmp_path, max_bytes=1 << 30)
    strategy = VectorizedStrategy(zscore)
    grid = _grid(zscore, ZGRID)
    order = distribute.order_by_indicators(grid, range(60), [1])
    last = executor_module.Pool(None, 2).cut(order)[-1]
    with LosesTheLastPiece(last) as pool, pytest.raises(ConnectionError, match="went away"):
        strategy.sweep(BARS, progress=False, executor=pool, cache=store, **ZGRID)
    with cf.ThreadPoolExecutor(2) as pool:
        resumed = strategy.sweep(BARS, progress=False, executor=pool, cache=store, **ZGRID)
    blocks_lost = {i // 15 for i in last}
    done = {b for b in range(4) if not any(i // 15 == b for i in last)}
    assert resumed.cache.results.hits == len(done) and resumed.cache.results.misses == len(blocks_lost)
    assert resumed.cache.results.hits >= 1
    _assert_same(strategy.sweep(BARS, progress=False, **ZGRID), resumed)


def test_pieces_are_four_per_worker_unless_too_little_work_but_never_fewer_than_the_workers():
    pool = executor_module.Pool(None, 2)
    floor = executor_module.PIECE_FLOOR_SECONDS
    assert [len(p) for p in pool.cut(range(100))] == [13] * 7 + [9]  # no estimate: 4 per worker
    assert len(pool.cut(range(2500), seconds_each=10 * floor / 2500)) == 8  # 10 floors of work: 4 per worker
    assert len(pool.cut(range(2500), seconds_each=3 * floor / 2500)) == 3  # 3 floors: 3 pieces
    assert len(pool.cut(range(2500), seconds_each=1e-12)) == 2  # almost nothing: one per worker
    wide = executor_module.Pool(None, 128)
    assert len(wide.cut(range(100_000), seconds_each=1e-6)) == 128  # 0.1 s of work on 128 workers: one each
    assert len(wide.cut(range(50), seconds_each=1.0)) == 50  # fewer combinations than workers: one each
    assert [i for piece in wide.cut(range(50), seconds_each=1.0) for i in piece] == list(range(50))


def test_a_walk_forward_fold_on_a_worker_runs_its_sweep_on_the_cpus_its_task_was_given(monkeypatch):
    import ml4t.vectorized._strategy as strategy_module
    from ml4t.validate import walk_forward, walk_forward_sweep

    monkeypatch.setattr(executor_module.os, "cpu_count", lambda: 8)
    recorders: list[Recorder] = []
    make = strategy_module.simulator
    monkeypatch.setattr(strategy_module, "simulator", lambda s: recorders.append(Recorder(make(s))) or recorders[-1])
    strategy = VectorizedStrategy(zscore)
    with cf.ThreadPoolExecutor(2) as pool:
        walk_forward_sweep(
            strategy, BARS, walk_forward(BARS, train=150, test=60), executor=pool, progress=False, **ZGRID
        )
    sweeps = [t for r in recorders for t in r.threads if t is not None]  # the folds' runs pass no threads
    assert sweeps and set(sweeps) == {4}  # 8 CPUs shared by 2 workers
    assert executor_module.kernel_threads() == 0  # nothing left behind in this thread

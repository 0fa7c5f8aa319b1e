"""What distributing a sweep costs, and what it would give on more machines (issue #17):
``python -m bench.distributed [--repeat N] [--skip-ray]``.

The same sweep run by this process's kernel (``executor=None``: rayon on every core), on a Dask ``LocalCluster`` of
2 worker processes of one thread each, on a local Ray of 2 CPUs (when Ray is installed) and on ``ml4t.spawn_pool(2)``,
each timed as the median of ``--repeat`` runs after one untimed run (the clusters and the pool are started once,
outside the timings; their starts are timed apart). Every result is checked equal to the local sweep's.
Workloads: W2 (1 asset x 5,000 daily bars, fast 2..51 x slow 10, 14, ..., 206 = 2,500 combinations) and 100,000
combinations on the same bars (fast 2..401 x slow 10, 14, ..., 1,006).

On one machine of 2 cores no executor is expected to beat the kernel, which already uses both cores: the rows
measure the overhead of distribution. From them the model below estimates a cluster of N nodes of this machine's
kind (2 cores each), measured on the Dask cluster:

- ``c1``: seconds of one core per combination (a piece of 5,000 combinations run here on one thread);
- ``f``: the fixed cost of one piece on a worker (a piece of one combination sent to the cluster and back: the
  scheduler's round trip, the worker preparing the panel and the grid, the statistics pickled back);
- ``a``: the sweep's serial part on the caller (preparing, planning the pieces, every row's metrics from the
  pieces' statistics, grid order), timed on its own;
- the time on ``w`` workers: ``a + rounds * (f + piece * c1)`` with the pieces the planner cuts for ``w`` workers
  (``rounds`` = pieces per worker, rounded up); the data goes to each worker once (a few hundred kB here, left
  out). The model is checked against the measured 2-worker Dask time, then evaluated for ``w = 2 N``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import platform
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from bench.vectorized import FEES, INIT_CASH, SWEEP_BARS, SWEEP_FAST, SWEEP_SLOW, _sma_cross
from ml4t import spawn_pool
from ml4t._executor import Pool
from ml4t.datasets import synthetic_bars
from ml4t.vectorized import VectorizedStrategy
from ml4t.vectorized._distribute import indicator_axes, order_by_indicators, piece_stats
from ml4t.vectorized._overfit import RowStats
from ml4t.vectorized._strategy import _in_grid_order
from ml4t.vectorized._sweep import sweep_metrics

WIDE = {"fast": range(2, 402), "slow": range(10, 1010, 4)}  # 400 x 250 = 100,000 combinations
NODES = (16, 64)


def _median(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    out = fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.distributed")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-ray", action="store_true", help="leave out the Ray rows")
    args = parser.parse_args(argv)
    with open("/proc/cpuinfo") as info:
        cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), "?")
    now = dt.datetime.now(dt.UTC)  # ml4t: ignore[REP001] (when the benchmark ran, printed; not a backtest)
    print(f"{now:%Y-%m-%d %H:%M} UTC; {os.cpu_count()} CPUs ({cpu}); Python {platform.python_version()}")
    print(f"command: python -m bench.distributed --repeat {args.repeat}; medians of {args.repeat} runs")
    bars = synthetic_bars(1, SWEEP_BARS, "1d", seed=1)
    strategy = VectorizedStrategy(_sma_cross, execution="close", fees=FEES, init_cash=INIT_CASH)
    workloads = {"W2 2,500 combinations": {"fast": SWEEP_FAST, "slow": SWEEP_SLOW}, "100,000 combinations": WIDE}
    local = {}  # measured first, with no cluster idling beside it
    for label, grid in workloads.items():
        local[label] = _median(partial(strategy.sweep, bars, progress=False, **grid), args.repeat)
        print(f"{label}: local kernel {local[label][0] * 1e3:8.1f} ms")
    for name, start in _executors(args.skip_ray):
        took, (pool, close) = _timed(start)
        print(f"{name}: started in {took * 1e3:.0f} ms")
        try:
            for label, grid in workloads.items():
                run = partial(strategy.sweep, bars, progress=False, executor=pool, **grid)
                took, got = _median(run, args.repeat)
                assert got.metrics.equals(local[label][1].metrics), name
                print(f"  {label:<24} {took * 1e3:8.1f} ms  ({took / local[label][0]:.2f}x the local kernel)")
                if name.startswith("Dask") and label.startswith("100,000"):
                    _estimate(strategy, bars, pool, took, args.repeat)
        finally:
            close()


def _executors(skip_ray: bool) -> list[tuple[str, Callable[[], tuple[Any, Callable[[], None]]]]]:
    """The executors to compare, each as how to start it (giving the executor and how to stop it): one runs at a
    time, so no idle cluster takes CPU from another's measurement."""
    out: list[tuple[str, Callable[[], tuple[Any, Callable[[], None]]]]] = []
    try:
        import distributed
    except ImportError:
        print("Dask rows left out: pip install 'ml4t[dask]'")
    else:

        def dask() -> tuple[Any, Callable[[], None]]:
            cluster = distributed.LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=40
            )
            client = distributed.Client(cluster)
            return client, lambda: (client.close(), cluster.close())

        out.append(("Dask LocalCluster of 2 workers x 1 thread", dask))
    if not skip_ray:
        try:
            import ray
        except ImportError:
            print("Ray rows left out: pip install 'ml4t[ray]'")
        else:

            def start_ray() -> tuple[Any, Callable[[], None]]:
                ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
                return "ray", ray.shutdown

            out.append(("local Ray of 2 CPUs", start_ray))

    def processes() -> tuple[Any, Callable[[], None]]:
        pool = spawn_pool(2)
        list(pool.map(abs, range(4)))  # the processes up (their imports done)
        return pool, pool.shutdown

    out.append(("spawn_pool(2)", processes))
    return out


def _estimate(strategy: VectorizedStrategy, bars: Any, client: Any, dask_100k: float, repeat: int) -> None:
    """The model of the module's docstring, measured part by part, checked against the 2-worker Dask time, and
    its estimate for NODES."""
    n = 400 * 250
    piece = 5_000
    here, _ = _median(lambda: piece_stats(strategy, WIDE, None, None, 1, bars, list(range(piece))), repeat)
    c1 = here / piece
    shared = client.scatter(bars, broadcast=True, hash=False)
    task = partial(piece_stats, strategy, WIDE, None, None, 1)
    f, _ = _median(lambda: client.submit(task, shared, [0], pure=False).result(), max(repeat, 5))
    caller, _ = _median(lambda: _caller_part(strategy, bars), repeat)

    def model(workers: int) -> float:
        pieces = Pool(None, workers).cut(range(n), c1)
        rounds = math.ceil(len(pieces) / workers)
        return caller + rounds * (f + len(pieces[0]) * c1)

    print(
        f"model: c1 = {c1 * 1e6:.1f} us of one core per combination, f = {f * 1e3:.1f} ms per piece, the caller's "
        f"serial part (plan, metrics of 100,000 rows, grid order) {caller * 1e3:.0f} ms; "
        f"for the 2 Dask workers it gives {model(2) * 1e3:.0f} ms, measured {dask_100k * 1e3:.0f} ms"
    )
    for nodes in NODES:
        print(f"  estimate on {nodes} nodes of 2 cores ({2 * nodes} workers): {model(2 * nodes) * 1e3:.0f} ms")


def _caller_part(strategy: VectorizedStrategy, bars: Any) -> None:
    """What the caller of a distributed 100,000-combination sweep does itself: prepare, plan the pieces, build
    every row's metrics from the pieces' statistics and put them in grid order (the statistics themselves are
    computed once, outside the timing)."""
    prep = strategy._prepare(bars, WIDE, None, None, None)
    grid = prep.grid
    planned = order_by_indicators(
        grid, range(len(grid.combos)), indicator_axes(strategy.signal_fn, grid, strategy.settings)
    )
    pieces = Pool(None, 2).cut(planned, 1.0)
    stats = _STATS.get("wide")
    if stats is None:
        stats = _STATS["wide"] = [piece_stats(strategy, WIDE, None, None, 0, bars, p) for p in pieces]
    parts = [
        sweep_metrics(st, grid, p, prep.panel, strategy.settings, prep.ppy) for st, p in zip(stats, pieces, strict=True)
    ]
    kept = [RowStats.of(st) for st in stats]
    _in_grid_order(parts[::-1], kept[::-1], pieces[::-1], prep.rows, prep.n_blocks)


_STATS: dict[str, Any] = {}


if __name__ == "__main__":
    main()

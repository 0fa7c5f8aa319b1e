"""What distributing a sweep costs (issue #17, first part): ``python -m bench.distributed [--repeat N]``.

The same sweep run by this process's kernel (``executor=None``: rayon on every core), on a ThreadPoolExecutor of
2 threads, and on ``ml4t.spawn_pool(2)`` (2 spawned processes), each timed as the median of ``--repeat`` runs
after one untimed run (the process pool is started once, outside the timings, and its start is timed apart).
The results are checked equal to the local sweep's. Workloads: W2 (1 asset x 5,000 daily bars, fast 2..51 x
slow 10, 14, ..., 206 = 2,500 combinations) and the same with fast 2..201 (10,000 combinations). On one machine
of 2 cores the pools are not expected to beat the kernel, which already uses both cores: the rows measure the
overhead of distribution (sending the strategy and the bars with each piece, preparing the panel on the worker,
pickling the statistics back), from which the piece size is chosen and the time on more machines estimated.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import datetime as dt
import os
import platform
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from bench.vectorized import FEES, INIT_CASH, SWEEP_BARS, SWEEP_FAST, SWEEP_SLOW, _sma_cross
from ml4t import spawn_pool
from ml4t.datasets import synthetic_bars
from ml4t.vectorized import VectorizedStrategy

WIDE_FAST = range(2, 202)  # 200 windows x SWEEP_SLOW's 50 = 10,000 combinations


def _median(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    out = fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.distributed")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    with open("/proc/cpuinfo") as info:
        cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), "?")
    now = dt.datetime.now(dt.UTC)  # ml4t: ignore[REP001] (when the benchmark ran, printed; not a backtest)
    print(f"{now:%Y-%m-%d %H:%M} UTC; {os.cpu_count()} CPUs ({cpu}); Python {platform.python_version()}")
    print(f"command: python -m bench.distributed --repeat {args.repeat}; medians of {args.repeat} runs")
    bars = synthetic_bars(1, SWEEP_BARS, "1d", seed=1)
    strategy = VectorizedStrategy(_sma_cross, execution="close", fees=FEES, init_cash=INIT_CASH)
    start = time.perf_counter()
    processes = spawn_pool(2)
    processes.submit(int, 0).result()  # both processes need not be up: the first answers after its import
    list(processes.map(abs, range(4)))
    print(f"spawn_pool(2) started in {(time.perf_counter() - start) * 1e3:.0f} ms")
    threads = cf.ThreadPoolExecutor(2)
    try:
        for label, fast in (("W2 2,500 combinations", SWEEP_FAST), ("10,000 combinations", WIDE_FAST)):
            grid = {"fast": fast, "slow": SWEEP_SLOW}
            local, reference = _median(partial(strategy.sweep, bars, progress=False, **grid), args.repeat)
            print(f"{label}: local kernel {local * 1e3:8.1f} ms")
            for name, pool in (("thread pool of 2", threads), ("spawn_pool(2)", processes)):
                run = partial(strategy.sweep, bars, progress=False, executor=pool, **grid)
                took, got = _median(run, args.repeat)
                assert got.metrics.equals(reference.metrics), name
                print(f"  {name:<18} {took * 1e3:8.1f} ms  ({took / local:.2f}x the local time)")
    finally:
        processes.shutdown()
        threads.shutdown()


if __name__ == "__main__":
    main()

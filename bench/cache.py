"""What the sweep's leaf cache saves (issue #16): ``python -m bench.cache [--repeat N]``.

Two workloads, each timed cache off, cold (an empty cache) and again, as the median of ``--repeat`` runs in this
process after one untimed warm-up run (every cold run gets a fresh temporary cache directory; nothing is written
outside it):

* ``W2`` - the sweep of ``bench/vectorized.py``: 1 asset x 5,000 daily bars, SMA cross, fast 2..51 x slow 10, 14,
  ..., 206 = 2,500 combinations (89 distinct moving averages). Timed off, cold, and warm (the identical sweep
  rerun on the cache the cold run filled). Its leaves are Polars' rolling means, which Polars computes in about
  0.1 ms each: the cache cannot pay there, and the rows show what it costs.
* ``features`` - 20 assets x 5,000 daily bars whose entry indicators are what Polars cannot vectorize: a rolling
  Hurst exponent (rescaled range over three scales of the window) and a rolling 90% quantile, both NumPy
  functions over sliding windows called through ``map_batches`` (keyed by their bytecode), 4 windows each; entry
  when the Hurst exponent is above ``h`` and the close above the previous bar's quantile; exit when the close is
  below its ``n``-bar mean. Grid: window 4 x h 2 x n 3 = 24 combinations. Timed off, cold (grid ``n`` in 10, 20,
  40), and the rerun with ONLY THE EXIT RULE CHANGED (``n`` in 15, 30, 60, on the cache the cold run filled: the
  indicator leaves hit, the exit averages miss); the ratio cold / rerun is the issue's goal (>= 10x). Also the
  identical rerun (warm) and the share of its time spent reading leaf entries (``Store.get``).

Every cached sweep's metrics are checked equal to the uncached sweep's. Printed: the date, the machine, the
command, one row per measurement (median milliseconds, the cache's summary line) and the ratios.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl
from numpy.lib.stride_tricks import sliding_window_view

from bench.vectorized import FEES, INIT_CASH, SWEEP_BARS, SWEEP_FAST, SWEEP_SLOW, _sma_cross
from ml4t.cache import Store
from ml4t.datasets import synthetic_bars
from ml4t.vectorized import VectorizedStrategy

FEATURE_SYMBOLS, FEATURE_BARS = 20, 5_000
WINDOWS = (60, 120, 180, 240)
THRESHOLDS = (0.55, 0.65)
EXITS_COLD, EXITS_CHANGED = (10, 20, 40), (15, 30, 60)
REPEAT = 3
_READS: list[tuple[float, float]] = []  # (start, end) of the leaf reads of the sweep being timed


# ----------------------------------------------------------------------------------------- the features
def _hurst(close: np.ndarray, window: int) -> np.ndarray:
    """Rolling Hurst exponent of log returns: the slope of log(R/S) on log(scale) over scales window/4,
    window/2 and window, each R/S averaged over the non-overlapping blocks of the window (NaN during warm-up)."""
    returns = np.diff(np.log(close), prepend=np.nan)
    out = np.full(len(close), np.nan)
    if len(close) <= window:
        return out
    windows = sliding_window_view(returns[1:], window)  # row i: the returns ending at bar i + window
    scales = (window // 4, window // 2, window)
    logs = []
    for scale in scales:
        blocks = windows[:, : (window // scale) * scale].reshape(len(windows), -1, scale)
        deviations = np.cumsum(blocks - blocks.mean(axis=2, keepdims=True), axis=2)
        spread = deviations.max(axis=2) - deviations.min(axis=2)
        sd = blocks.std(axis=2)
        logs.append(np.log(np.mean(spread / np.where(sd > 0, sd, np.nan), axis=1)))
    x = np.log(np.array(scales, dtype=float))
    y = np.column_stack(logs)
    slope = ((x - x.mean()) * (y - y.mean(axis=1, keepdims=True))).sum(axis=1) / ((x - x.mean()) ** 2).sum()
    out[window:] = slope
    return out


def _quantile(close: np.ndarray, window: int) -> np.ndarray:
    """Rolling 90% quantile of the close over ``window`` bars (NaN during warm-up)."""
    out = np.full(len(close), np.nan)
    if len(close) >= window:
        out[window - 1 :] = np.quantile(sliding_window_view(close, window), 0.9, axis=1)
    return out


def _feature(function: Callable[[np.ndarray, int], np.ndarray], window: int) -> pl.Expr:
    return pl.col("close").map_batches(
        lambda s: pl.Series(function(s.to_numpy(), window)), return_dtype=pl.Float64, is_elementwise=False
    )


def features(window: int, h: float, n: int) -> dict[str, pl.Expr]:
    hurst = _feature(_hurst, window)
    above = pl.col("close") > _feature(_quantile, window).shift(1)
    return {"entries": (hurst > h) & above, "exits": pl.col("close") < pl.col("close").rolling_mean(n)}


# ------------------------------------------------------------------------------------------ measuring
class _TimedStore(Store):
    """A Store that records when its reads of leaf entries (the ``indicators`` level) run; a chunk's reads
    overlap on threads, so their wall time is the union of the intervals (:func:`_covered`)."""

    def get(self, level: str, key: str) -> Any:
        start = time.perf_counter()
        try:
            return super().get(level, key)
        finally:
            if level == "indicators":
                _READS.append((start, time.perf_counter()))


def _covered(intervals: list[tuple[float, float]]) -> float:
    """The seconds covered by at least one of ``intervals``."""
    total, end = 0.0, float("-inf")
    for start, stop in sorted(intervals):
        if stop > end:
            total += stop - max(start, end)
            end = stop
    return total


def _timed(run: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    out = run(*args)
    return time.perf_counter() - start, out


def _median(rows: list[tuple[float, ...]]) -> tuple[float, ...]:
    """The row of the median first value."""
    return sorted(rows)[len(rows) // 2]


def _check(plain: Any, cached: Any, what: str) -> None:
    if not plain.metrics.equals(cached.metrics):
        raise SystemExit(f"{what}: the cached sweep's metrics differ from the uncached sweep's")


def _row(name: str, seconds: float, note: str = "") -> None:
    print(f"  {name:<38} {seconds * 1e3:9.1f} ms  {note}")


def _leaves_only(on: bool) -> None:
    """Keep the results level out of the sweeps (``on``) or let it in, as the leaf tests do."""
    if on:
        VectorizedStrategy._result_cache = lambda *args: None  # type: ignore[method-assign]
    else:
        VectorizedStrategy._result_cache = _RESULT_CACHE  # type: ignore[method-assign]


_RESULT_CACHE = VectorizedStrategy._result_cache


def w2(repeat: int) -> None:
    bars = synthetic_bars(1, SWEEP_BARS, "1d", seed=1)
    strategy = VectorizedStrategy(_sma_cross, execution="close", fees=FEES, init_cash=INIT_CASH)

    def run(cache: Any) -> Any:
        return strategy.sweep(bars, cache=cache, progress=False, fast=SWEEP_FAST, slow=SWEEP_SLOW)

    plain = run(False)  # warm-up
    off = statistics.median(_timed(run, False)[0] for _ in range(repeat))
    rows = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as folder:
            store = Store(folder, max_bytes=1 << 34)
            cold, first = _timed(run, store)
            warm, again = _timed(run, store)
            _leaves_only(True)
            try:
                leaves, third = _timed(run, store)
            finally:
                _leaves_only(False)
            for name, got in (("cold", first), ("warm", again), ("warm, leaves only", third)):
                _check(plain, got, f"W2 {name}")
            rows.append((cold, warm, leaves, first, again, third))
    cold, warm, leaves = (statistics.median(r[k] for r in rows) for k in range(3))
    first, again, third = rows[0][3:]
    print(f"W2: 1 asset x {SWEEP_BARS:,} daily bars, {len(SWEEP_FAST) * len(SWEEP_SLOW):,} combinations")
    _row("cache off", off)
    _row("cold (empty cache)", cold, _summary(first))
    _row("warm (identical rerun)", warm, _summary(again))
    _row("warm, leaves only (results level off)", leaves, _summary(third))
    print(f"  warm / off {warm / off:.2f}x; leaves only / off {leaves / off:.2f}x; cold / off {cold / off:.2f}x")


def _summary(sweep: Any) -> str:
    """The cache's line of the sweep, per level that looked anything up."""
    return str(sweep.cache.summary().removeprefix("cache: "))


def feature_sweep(repeat: int) -> None:
    bars = synthetic_bars(FEATURE_SYMBOLS, FEATURE_BARS, "1d", seed=1)
    strategy = VectorizedStrategy(features, fees=FEES, init_cash=INIT_CASH)

    def run(cache: Any, exits: tuple[int, ...]) -> Any:
        return strategy.sweep(bars, cache=cache, progress=False, window=WINDOWS, h=THRESHOLDS, n=exits)

    run(False, EXITS_COLD)  # warm-up
    offs = [_timed(run, False, EXITS_COLD) for _ in range(repeat)]
    off, plain = sorted(offs, key=lambda r: r[0])[len(offs) // 2]
    plain_changed = run(False, EXITS_CHANGED)
    rows = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as folder:
            store = _TimedStore(folder, max_bytes=1 << 34)
            cold, first = _timed(run, store, EXITS_COLD)
            _READS.clear()
            changed, second = _timed(run, store, EXITS_CHANGED)
            reads = _covered(_READS)
            warm, third = _timed(run, store, EXITS_CHANGED)
            _check(plain, first, "features cold")
            _check(plain_changed, second, "features, exit changed")
            _check(plain_changed, third, "features warm")
            rows.append((cold, changed, reads, warm, first, second, third))
    cold = statistics.median(r[0] for r in rows)
    changed, reads = _median([(r[1], r[2]) for r in rows])
    warm = statistics.median(r[3] for r in rows)
    first, second, third = rows[0][4:]
    n = len(WINDOWS) * len(THRESHOLDS) * len(EXITS_COLD)
    print(
        f"features: {FEATURE_SYMBOLS} assets x {FEATURE_BARS:,} daily bars, {n} combinations "
        f"(Hurst and quantile via map_batches, windows {', '.join(map(str, WINDOWS))})"
    )
    _row("cache off", off)
    _row("cold (empty cache)", cold, _summary(first))
    _row("rerun, only the exit rule changed", changed, _summary(second))
    print(f"  {'':<38} {'':>12}  leaf reads {reads * 1e3:.1f} ms = {reads / changed:.0%} of the rerun")
    _row("warm (identical rerun)", warm, _summary(third))
    print(f"  cold / exit-changed rerun {cold / changed:.1f}x (goal >= 10x); off / rerun {off / changed:.1f}x")


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cache", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=REPEAT, help="runs per measurement (the median is shown)")
    parser.add_argument("--only", choices=("w2", "features"), help="run one workload")
    args = parser.parse_args(argv)
    os.environ.setdefault("ML4T_PROGRESS", "0")
    print(
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} CPUs ({_cpu()}); Python "
        f"{platform.python_version()}, Polars {pl.__version__}"
    )
    print(f"command: python -m bench.cache {' '.join(argv if argv is not None else sys.argv[1:])}".rstrip())
    print(f"medians of {args.repeat} runs")
    if args.only in (None, "w2"):
        w2(args.repeat)
    if args.only in (None, "features"):
        feature_sweep(args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())

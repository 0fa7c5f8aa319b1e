"""Scaling rows (issue #18): how time and peak memory grow with the size of the work. ``python -m bench.scaling``.

Rows (each point in its own fresh interpreter, timed once after an untimed warm-up on a small input):

* ``combinations`` - an SMA(fast)/SMA(slow) crossover sweep on 1 asset x 5,000 daily bars, 0.1% fees (the W2
  sweep of ``bench/vectorized.py``), at 100, 1,000 and 10,000 combinations (10 x 10, 25 x 40, 100 x 100
  windows). ml4t's ``VectorizedStrategy.sweep`` against vectorbt's ``Portfolio.from_signals`` with one column
  per combination; both give total return and Sharpe per combination.
* ``bars`` - 100 combinations (fast 20..200 x slow 240..1,140) of the same crossover on 1 asset of one-minute
  bars, 1 bp fees, at 5,000, 50,000, 250,000 and 1,000,000 bars; ml4t against vectorbt.
* ``event`` - the event engine against symbols: bench/event.py's panel crossover (SMA(20)/SMA(100) per symbol
  in Python, next-open fills, one shared account) on 100, 500, 1,000, 2,000 and 5,000 symbols x 2,520 daily bars;
  ml4t's ``Engine`` against backtesting.py (one single-asset ``Backtest`` per symbol, in sequence).

The symbols row of the sweep (symbols x 2,520 x 100 combinations) is ``bench/symbols.py``'s, not repeated here.

Peak memory is the process's resident high-water mark during the timed call (reset after the inputs are
built, as in ``bench/harness.py``). A point whose resident memory passes ``MEMORY_CAP`` or whose time passes
``TIME_CAP`` is killed by the parent and reported as such; once a peer is killed or over time at one size, its
larger sizes of that row are skipped.

    python -m bench.scaling                 # every row
    python -m bench.scaling bars event      # only these rows
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

MEMORY_CAP = 8 * 2**30  # bytes of resident memory
TIME_CAP = 180.0  # seconds for one point, setup included
COMBO_BARS, COMBO_FEES = 5_000, 0.001
COMBO_GRIDS = {100: (10, 10), 1_000: (25, 40), 10_000: (100, 100)}  # combinations -> (n fast, n slow)
BARS_SIZES = (5_000, 50_000, 250_000, 1_000_000)
BARS_FAST, BARS_SLOW, BARS_FEES = range(20, 220, 20), range(240, 1240, 100), 0.0001
EVENT_SYMBOLS, EVENT_BARS = (100, 500, 1_000, 2_000, 5_000), 2_520

ROWS: dict[str, tuple[list[int], list[str]]] = {
    "combinations": (list(COMBO_GRIDS), ["ml4t", "vectorbt"]),
    "bars": (list(BARS_SIZES), ["ml4t", "vectorbt"]),
    "event": (list(EVENT_SYMBOLS), ["ml4t", "backtesting.py"]),
}


def _windows(row: str, size: int) -> tuple[list[int], list[int]]:
    if row == "combinations":
        n_fast, n_slow = COMBO_GRIDS[size]
        return list(range(2, 2 + n_fast)), list(range(10, 10 + 4 * n_slow, 4))
    return list(BARS_FAST), list(BARS_SLOW)


def _sweep_point(row: str, engine: str, size: int) -> tuple[Callable[[], Any], Callable[[], Any]]:
    """(warm-up, timed call) of a sweep point."""
    from bench.vectorized import INIT_CASH, _sma_cross, _vbt_close, _vbt_crossover
    from ml4t.datasets import synthetic_bars

    n_bars, freq, vbt_freq, fees = (
        (COMBO_BARS, "1d", "1D", COMBO_FEES) if row == "combinations" else (size, "1m", "1min", BARS_FEES)
    )
    fast, slow = _windows(row, size)
    if engine == "vectorbt":
        close = _vbt_close(n_bars, freq)
        f, s = np.repeat(np.array(fast), len(slow)), np.tile(np.array(slow), len(fast))
        warm = close.iloc[: max(slow) + 100]
        return (
            lambda: _vbt_crossover(warm, f[:4], s[:4], vbt_freq, fees),
            lambda: _vbt_crossover(close, f, s, vbt_freq, fees),
        )
    from ml4t.vectorized import VectorizedStrategy

    bars = synthetic_bars(1, n_bars, freq, seed=1)
    strategy = VectorizedStrategy(_sma_cross, execution="close", fees=fees, init_cash=INIT_CASH)
    small = synthetic_bars(1, 2_000, freq, seed=1)
    return (
        lambda: strategy.sweep(small, fast=fast[:2], slow=slow[:2], progress=False),
        lambda: strategy.sweep(bars, fast=fast, slow=slow, progress=False).metrics,
    )


def _event_point(engine: str, size: int) -> tuple[Callable[[], Any], Callable[[], Any]]:
    from bench.event import PANEL_FAST, PANEL_SLOW, backtesting_run, ml4t_run, pandas_frames, panel_bars

    bars = panel_bars(size, EVENT_BARS)
    if engine == "ml4t":
        small = panel_bars(2, 300)
        return lambda: ml4t_run(small, "panel"), lambda: ml4t_run(bars, "panel")
    os.environ["TQDM_DISABLE"] = "1"  # backtesting.py wraps its loop in tqdm when tqdm is installed
    frames, small_frames = pandas_frames(bars), pandas_frames(panel_bars(1, 300))
    return (
        lambda: backtesting_run(small_frames, "cross", PANEL_FAST, PANEL_SLOW),
        lambda: backtesting_run(frames, "cross", PANEL_FAST, PANEL_SLOW),
    )


def _measure(row: str, engine: str, size: int) -> dict[str, Any]:
    """Runs in the child: build the inputs and warm up (not timed), then one timed call."""
    from bench.harness import _peak_rss_mb, _reset_peak_rss

    warm, call = _event_point(engine, size) if row == "event" else _sweep_point(row, engine, size)
    warm()
    reset = _reset_peak_rss()
    t0 = time.perf_counter()
    call()
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "peak_mb": _peak_rss_mb() if reset else float("nan")}


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_point(row: str, engine: str, size: int) -> dict[str, Any]:
    """One point in a fresh interpreter, killed past ``MEMORY_CAP`` or ``TIME_CAP``."""
    code = f"import json, bench.scaling as s; print(json.dumps(s._measure({row!r}, {engine!r}, {size})))"
    point: dict[str, Any] = {"row": row, "engine": engine, "size": size}
    with subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    ) as proc:
        start, peak = time.monotonic(), 0
        while proc.poll() is None:
            peak = max(peak, _rss(proc.pid))
            over = "memory" if peak > MEMORY_CAP else "time" if time.monotonic() - start > TIME_CAP else None
            if over:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                cap = f"{MEMORY_CAP / 2**20:,.0f} MB" if over == "memory" else f"{TIME_CAP:.0f} s"
                return {**point, "error": f"killed at {cap}"}
            time.sleep(0.02)
        out, err = proc.communicate()
    if proc.returncode != 0:
        return {**point, "error": (err.strip().splitlines() or ["failed"])[-1][:80]}
    return {**point, **json.loads(out.strip().splitlines()[-1])}


def _unit(row: str) -> str:
    return {"combinations": "combinations", "bars": "bars", "event": "symbols"}[row]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scaling", description=__doc__.split("\n\n")[0])
    parser.add_argument("rows", nargs="*", help=f"rows to run, of {', '.join(ROWS)} (default: every row)")
    parser.add_argument("--only", metavar="ENGINE", help="run only this engine (e.g. ml4t: skip the peers)")
    args = parser.parse_args(argv)
    unknown = [row for row in args.rows if row not in ROWS]
    if unknown:
        parser.error(f"unknown row {unknown[0]!r}; the rows are {', '.join(ROWS)}")
    rows = args.rows or list(ROWS)
    print("| row | size | engine | time | peak MB | ml4t speedup |\n|---|---:|---|---:|---:|---:|")
    for row in rows:
        sizes, engines = ROWS[row]
        stopped: set[str] = set()
        for size in sizes:
            points = {}
            for engine in engines:
                if args.only is not None and engine != args.only:
                    continue
                if engine in stopped:
                    points[engine] = {
                        "row": row,
                        "engine": engine,
                        "size": size,
                        "error": "skipped (smaller size failed)",
                    }
                    continue
                points[engine] = run_point(row, engine, size)
                if "error" in points[engine]:
                    stopped.add(engine)
            ours = points.get("ml4t", {"error": "not run"})
            for engine, p in points.items():
                if "error" in p:
                    print(f"| {row} | {size:,} {_unit(row)} | {engine} | {p['error']} | | |", flush=True)
                    continue
                speed = ""
                if engine != "ml4t" and "error" not in ours:
                    speed = f"{p['seconds'] / ours['seconds']:.1f}x"
                took, peak = f"{p['seconds']:.3f} s", f"{p['peak_mb']:,.0f}"
                print(f"| {row} | {size:,} {_unit(row)} | {engine} | {took} | {peak} | {speed} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Wide universes: how a sweep scales with the number of symbols: ``python -m bench.symbols``.

The workload (issue #18's row "sweep, 500 symbols x 2,520 x 100 combinations"): ``synthetic_bars(n, 2520,
"1d", seed=1)`` for n in 50, 100, 200, 500 symbols, an SMA crossover (long while SMA(fast) > SMA(slow), flat once
below; fast 5, 10, ..., 50 x slow 60, 80, ..., 240 = 100 combinations, 20 distinct moving averages) swept with
``VectorizedStrategy.sweep`` in symbol scope, fill at the close, 0.1% fees, progress bar off.

Each symbol count runs in its own interpreter. Setup (not timed) builds the bars; each timed repeat sweeps a
fresh copy of them (``copy.copy``: ``Bars.panel`` is cached on a Bars, so every repeat pays for the layout, like
``bench/vectorized.py``'s ``_cold``). Printed per symbol count: the median and range of the repeats, the time
per symbol, the peak resident memory during the timed repeats (the high-water mark reset after setup, as in
``bench/harness.py``), and the median of each phase, timed by wrapping the sweep's own steps in the child:

* ``panel``   - ``Bars.panel()`` (the kernel's layout: timeline, OHLC arrays, each symbol's rows);
* ``leaves``  - ``compile_chunk`` (compiling the chunk and evaluating its distinct Polars leaves on every symbol);
* ``kernel``  - the Rust kernel's sweep of the compiled chunk;
* ``metrics`` - the metrics frame of the kernel's statistics (one row per combination and symbol, plus one per
  combination for the portfolio).

``--rule breakout`` sweeps a channel breakout instead (fast: the entry channel, slow: the exit channel): the
workload on which a one-query evaluation across symbols (``.over("symbol")``) was first measured (issue #18). The
rolling sums' last bits then differed from one query per symbol because Polars' default engine (streaming in
2.1) cut each symbol's query into one morsel per thread; with the in-memory engine the leaves use now,
``.over("symbol")`` on the rows in symbol order gave the same bits for the rolling means, sums, stds and maxima
tried, but it was not faster (500 symbols x 20 moving averages, CPU s: 0.61-0.63 over, 0.47-0.48 group_by,
0.49-0.62 one query per symbol): the time is Polars' rolling kernels themselves (the same 20 averages of one
1.26M-row Series take 0.36 s), so one query per symbol stayed.
``--python PATH`` runs the children with another interpreter (an interpreter whose environment imports another
checkout's ``ml4t``, e.g. that checkout's ``.venv/bin/python``, measures the code before a change); ``--sizes
50,500`` and ``--repeat N`` narrow the run; ``--cpu`` times the children's CPU time (all threads) instead of the
wall clock, steadier on a shared machine; ``--json`` prints the raw measurements.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

N_BARS = 2520
SIZES = (50, 100, 200, 500)
FAST = list(range(5, 55, 5))  # 10 windows
SLOW = list(range(60, 260, 20))  # 10 windows
REPEAT = 5
PHASES = ("panel", "leaves", "kernel", "metrics")


def sma_cross(fast: int, slow: int) -> dict[str, Any]:
    import polars as pl

    f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
    return {"entries": f > s, "exits": f < s}


def breakout(fast: int, slow: int) -> dict[str, Any]:
    """A channel breakout: long on a close above the highest close of the last ``fast`` bars, flat on a close
    below the lowest of the last ``slow``. Its leaves (rolling max / min, shifted) give the same values bit for
    bit under ``.over("symbol")`` on all symbols' rows as one query per symbol; the SMA crossover's rolling sums
    do not (Polars 2.1 sums in another order under ``over``)."""
    import polars as pl

    close = pl.col("close")
    return {"entries": close > close.rolling_max(fast).shift(1), "exits": close < close.rolling_min(slow).shift(1)}


RULES = {"sma": sma_cross, "breakout": breakout}


def _timed(
    phases: dict[str, float], name: str, fn: Callable[..., Any], clock: Callable[[], float] = time.perf_counter
) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t = clock()
        try:
            return fn(*args, **kwargs)
        finally:
            phases[name] += clock() - t

    return wrapper


def child(n_symbols: int, repeat: int, rule: str = "sma", cpu: bool = False) -> dict[str, Any]:
    """One symbol count, measured in this process (``cpu``: the process's CPU time, all threads, not the
    wall clock)."""
    import ml4t.data._bars as bars_module
    import ml4t.vectorized._strategy as strategy_module
    from bench.harness import _peak_rss_mb, _reset_peak_rss
    from ml4t.datasets import synthetic_bars
    from ml4t.vectorized import VectorizedStrategy

    phases = dict.fromkeys(PHASES, 0.0)
    clock = time.process_time if cpu else time.perf_counter
    strategy_module.compile_chunk = _timed(phases, "leaves", strategy_module.compile_chunk, clock)
    strategy_module.sweep_metrics = _timed(phases, "metrics", strategy_module.sweep_metrics, clock)
    strategy_module.VectorizedStrategy._sweep_programs = _timed(  # type: ignore[method-assign]
        phases, "kernel", strategy_module.VectorizedStrategy._sweep_programs, clock
    )
    bars_module.Bars.panel = _timed(phases, "panel", bars_module.Bars.panel, clock)  # type: ignore[method-assign]

    bars = synthetic_bars(n_symbols, N_BARS, "1d", seed=1)
    strategy = VectorizedStrategy(RULES[rule], execution="close", fees=0.001, init_cash=100_000)
    reset = _reset_peak_rss()
    times: list[float] = []
    per_phase: dict[str, list[float]] = {name: [] for name in PHASES}
    rows = 0
    for _ in range(repeat):
        for name in PHASES:
            phases[name] = 0.0
        cold = copy.copy(bars)
        t = clock()
        sweep = strategy.sweep(cold, fast=FAST, slow=SLOW, progress=False)
        times.append(clock() - t)
        rows = sweep.metrics.height
        for name in PHASES:
            per_phase[name].append(phases[name])
    return {
        "symbols": n_symbols,
        "rule": rule,
        "clock": "cpu" if cpu else "wall",
        "bars": N_BARS,
        "combinations": len(FAST) * len(SLOW),
        "rows": rows,
        "times_s": times,
        "phases_s": per_phase,
        "peak_mb": _peak_rss_mb() if reset else float("nan"),
    }


def _run(python: str, n_symbols: int, repeat: int, rule: str, cpu: bool = False) -> dict[str, Any]:
    root = Path(__file__).resolve().parent.parent
    args = f"{n_symbols}, {repeat}, {rule!r}" + (", cpu=True" if cpu else "")
    code = f"import json, bench.symbols as b; print(json.dumps(b.child({args})))"
    proc = subprocess.run([python, "-c", code], capture_output=True, text=True, check=False, cwd=root)
    if proc.returncode != 0:
        raise SystemExit(f"{n_symbols} symbols failed:\n{proc.stderr}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def table(results: list[dict[str, Any]]) -> str:
    header = "| symbols | median s | range s | ms per symbol | peak MB | " + " | ".join(PHASES) + " |"
    lines = [header, "|" + "|".join("---" for _ in header.split("|")[1:-1]) + "|"]
    for r in results:
        med = statistics.median(r["times_s"])
        phases = " | ".join(f"{statistics.median(r['phases_s'][name]):.3f}" for name in PHASES)
        lines.append(
            f"| {r['symbols']} | {med:.3f} | {min(r['times_s']):.3f}-{max(r['times_s']):.3f} | "
            f"{med / r['symbols'] * 1e3:.2f} | {r['peak_mb']:.0f} | {phases} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.symbols", description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable, help="the interpreter of the children")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="symbol counts, comma-separated")
    parser.add_argument("--repeat", type=int, default=REPEAT, help="timed sweeps per symbol count")
    parser.add_argument("--rule", choices=sorted(RULES), default="sma", help="the crossover's averages")
    parser.add_argument("--json", action="store_true", help="print the raw measurements as JSON lines too")
    parser.add_argument("--cpu", action="store_true", help="time the children's CPU time, not the wall clock")
    args = parser.parse_args(argv)
    results = [_run(args.python, int(n), args.repeat, args.rule, args.cpu) for n in args.sizes.split(",")]
    combos = len(FAST) * len(SLOW)
    clock = "CPU s of all threads" if args.cpu else "s"
    print(f"# {args.rule} sweep of {combos} combinations x {N_BARS} daily bars, by symbols (phases: medians, {clock})")
    print(table(results))
    if args.json:
        for r in results:
            print(json.dumps(r))


if __name__ == "__main__":
    main()

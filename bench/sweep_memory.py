"""Measure a sweep's memory per combination: ``python -m bench.sweep_memory``.

Each configuration runs in a fresh subprocess and reports, in bytes per combination, the peak resident
memory above the process's memory just before the sweep (``ru_maxrss``: Polars and the Rust kernel allocate
outside Python, so tracemalloc would miss most of it) and the memory the finished ``Sweep`` keeps. Running
one configuration with one chunk and with small chunks separates what a combination costs while its chunk
is being simulated from what its result row costs afterwards. The constants of
``ml4t.vectorized._memory`` were written from this script's output.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def _one(n_fast: int, n_slow: int, n_symbols: int, chunk: int | None) -> dict[str, float]:
    import polars as pl

    from ml4t.datasets import synthetic_bars
    from ml4t.vectorized import VectorizedStrategy

    def rule(fast: int, slow: int) -> dict[str, pl.Expr]:
        f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
        return {"entries": f > s, "exits": f < s}

    bars = synthetic_bars(n_symbols, 500, "1d", seed=1)
    strategy = VectorizedStrategy(rule)
    strategy.sweep(bars, fast=[2], slow=[3])  # warm caches and lazy imports
    before = _rss()
    sweep = strategy.sweep(bars, chunk_size=chunk, fast=list(range(2, 2 + n_fast)), slow=list(range(100, 100 + n_slow)))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"n": len(sweep), "chunk": chunk or len(sweep), "rows": sweep.metrics.height, "peak": peak - before}


def main() -> None:
    """Fit ``peak = fixed + per_row * rows + per_chunk_combination * chunk`` by least squares."""
    import numpy as np

    configs = [
        (100, 100, 1, 1000),
        (200, 200, 1, 1000),
        (300, 300, 1, 1000),
        (200, 200, 1, 10000),
        (200, 200, 1, 40000),
        (100, 100, 4, 1000),
        (200, 200, 4, 1000),
        (200, 200, 4, 10000),
    ]
    rows = []
    for config in configs:
        args = json.dumps(list(config))
        code = f"import json, bench.sweep_memory as b; print(json.dumps(b._one(*json.loads({args!r}))))"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        print(config, result, flush=True)
        rows.append(result)
    design = np.array([[1.0, r["rows"], r["chunk"]] for r in rows])
    peak = np.array([r["peak"] for r in rows], dtype=float)
    (fixed, per_row, per_chunk), *_ = np.linalg.lstsq(design, peak, rcond=None)
    print(f"fixed {fixed / 1e6:.1f} MB, per result row {per_row:.0f} B, per combination in a chunk {per_chunk:.0f} B")


if __name__ == "__main__":
    main()

"""What the sweep's progress counter costs the kernel: ``python -m bench.progress [--pairs N]``.

The workload is the 2,500-combination sweep of ``bench/vectorized.py`` (1 asset, 5,000 daily bars, SMA
crossover, fast 2..51 x slow 10, 14, ..., 206), compiled once (not timed). Timed: the kernel call
``SignalSimulator.sweep_programs`` over the whole grid, in two ways:

* ``without`` - called directly on the main thread with no counter (the kernel touches no atomic);
* ``with`` - as ``VectorizedStrategy.sweep`` calls it: through ``ml4t._progress.run_counted`` on a worker
  thread with a live ``_core.Progress`` (one Relaxed ``fetch_add`` and two loads per combination), the
  main thread polling it at 10 Hz and drawing a tqdm bar (shown at once; the child's stderr is discarded).

Each measurement runs in a fresh interpreter (median of ``REPEAT`` calls after one warm-up call); the two
kinds alternate, pair by pair, with the order flipped every other pair, so drift on a shared machine hits
both alike. Printed: each pair's seconds and ratio (with / without), and the median ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from functools import partial
from typing import Any

REPEAT = 3


def _inputs() -> tuple[Any, int]:
    """The W2 kernel call with its inputs bound, and its number of combinations."""
    from bench.vectorized import FEES, INIT_CASH, SWEEP_BARS, SWEEP_FAST, SWEEP_SLOW, _sma_cross
    from ml4t._kernel.inputs import number_bounds, simulator
    from ml4t._kernel.signals import Grid, compile_chunk, panel_of
    from ml4t.datasets import synthetic_bars
    from ml4t.vectorized import VectorizedStrategy
    from ml4t.vectorized._overfit import cscv_blocks

    strategy = VectorizedStrategy(_sma_cross, execution="close", fees=FEES, init_cash=INIT_CASH)
    panel = panel_of(synthetic_bars(1, SWEEP_BARS, "1d", seed=1))
    grid = Grid.build(_sma_cross, {"fast": list(SWEEP_FAST), "slow": list(SWEEP_SLOW)})
    indices = list(range(len(grid.combos)))
    compiled = compile_chunk(_sma_cross, panel, grid, indices, 1 << 40, strategy.settings)
    assert compiled is not None and not isinstance(compiled, int), "the W2 rule compiles"
    call = partial(
        simulator(strategy.settings).sweep_programs,
        panel.prices,
        compiled.programs,
        compiled.values,
        compiled.valid,
        cash_sharing=strategy.settings.cash_sharing,
        bounds=[b for _, b in number_bounds(strategy.settings).values()],
        n_blocks=cscv_blocks(panel.n_bars),
    )
    return call, len(indices)


def measure(kind: str) -> float:
    """Median seconds of the kernel call, ``with`` or ``without`` the counter (runs in the child)."""
    from ml4t import _core, _progress

    call, n = _inputs()
    _progress.DELAY = 0.0

    def once() -> float:
        t = time.perf_counter()
        if kind == "without":
            call()
        else:
            counter = _core.Progress()
            with _progress.bar(True, total=n, unit="combos", desc="sweep") as shown:
                _progress.run_counted(call, counter, shown)
            assert counter.done == n
        return time.perf_counter() - t

    once()  # warm-up: page in the inputs, start rayon's pool
    return statistics.median(once() for _ in range(REPEAT))


def _child(kind: str) -> float:
    out = subprocess.run(
        [sys.executable, "-m", "bench.progress", "--child", kind],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        check=True,
    ).stdout
    return float(json.loads(out.strip().splitlines()[-1])["seconds"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.progress", description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=7, help="fresh-process pairs (default 7)")
    parser.add_argument("--child", choices=["with", "without"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps({"seconds": measure(args.child)}))
        return 0
    ratios = []
    print("pair  without_s  with_s  ratio")
    for k in range(args.pairs):
        order = ("without", "with") if k % 2 == 0 else ("with", "without")
        seconds = {kind: _child(kind) for kind in order}
        ratios.append(seconds["with"] / seconds["without"])
        print(f"{k:4d}  {seconds['without']:9.4f}  {seconds['with']:6.4f}  {ratios[-1]:.4f}", flush=True)
    print(f"median ratio (with / without): {statistics.median(ratios):.4f} over {args.pairs} pairs")
    return 0


if __name__ == "__main__":
    sys.exit(main())

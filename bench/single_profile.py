"""Where the time of one full single run goes: per-phase timers over ``VectorizedStrategy.run`` + ``.metrics``.

The workload is bench/vectorized.py's ``single`` row (1 asset, 1,000,000 one-minute bars, SMA(60)/SMA(240)
crossover, close execution, 1 bp fees, all cash in; the former SMA(10)/SMA(50) at 0.1% is its fee-drained row,
``--fast 10 --slow 50 --fees 0.001``) or, with ``--bars``/``--fast``/``--slow``/``--fees``,
another one of the same shape. Every repeat runs on a fresh copy of the bars (as the bench row does), then
reads ``Result.metrics``; the script prints the median and range (min..max) in ms of each phase over the
repeats, and the end-to-end time.

The phases are measured by wrapping the functions that do them where their callers look them up (module
attributes of ``ml4t``; the kernel through a proxy of the strategy's simulator), so nothing of the library is
changed and a wrapped function that does not exist (renamed, or not yet written) is simply not reported.
Nested phases are listed indented under their parent; a parent's time includes them. The Result's frames are
built on first access (``ml4t._shape.FrameBuilder``): their rows, marked "(lazy)", are also counted inside the
phase that first read them (``report_run`` reads the orders, the metrics the positions, fills and trades).

    python -m bench.single_profile                  # the bench row, 7 repeats
    python -m bench.single_profile --repeat 11 --cprofile   # plus a cProfile of one more run
    python -m bench.single_profile --cpu            # CPU time per phase (a busy machine's fairer clock)
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import functools
import importlib
import pstats
import statistics
import time
import warnings
from collections import defaultdict
from collections.abc import Callable
from typing import Any

# (module, attribute, label, depth): wrapped in this order; depth indents the report
PHASES: list[tuple[str, str, str, int]] = [
    ("ml4t.vectorized._strategy", "lint_before_run", "lint", 0),
    ("ml4t.vectorized._strategy", "panel_of", "panel layout", 0),
    ("ml4t.vectorized._strategy", "evaluate", "signal evaluation", 0),
    ("ml4t.vectorized._strategy", "kernel_signals", "kernel inputs", 0),
    ("ml4t.vectorized._strategy", "assemble", "assemble Result", 0),
    ("ml4t._assemble", "_equity_frame", "equity frame", 1),
    ("ml4t._assemble", "Result", "Result checks", 1),
    ("ml4t._assemble", "report_run", "report_run", 1),
    ("ml4t.vectorized._strategy", "warn_if_no_orders", "warn_if_no_orders", 0),
    ("ml4t.result", "summary", "metrics (summary)", 0),
    ("ml4t.metrics._summary", "_return_statistics", "return statistics", 1),
    ("ml4t.metrics._summary", "activity_statistics", "activity_statistics", 1),
    ("ml4t.metrics._summary", "trade_statistics", "trade_statistics", 1),
    # built on first access (ml4t._shape.FrameBuilder): counted inside the phase that first reads them
    ("ml4t._assemble", "_positions_frame", "positions frame (lazy)", 0),
    ("ml4t._assemble", "_orders_frame", "orders frame (lazy)", 0),
    ("ml4t._assemble", "_fills_frame", "fills frame (lazy)", 0),
    ("ml4t._assemble", "round_trips", "round trips (lazy)", 0),
]

_clock = time.perf_counter
"""The clock of every phase: wall time, or with ``--cpu`` the process's CPU time (all its threads), which a
machine shared with other work disturbs much less (but it counts a multi-threaded phase's threads' sum)."""
_times: dict[str, list[float]] = defaultdict(list)
_current: dict[str, float] = defaultdict(float)


def _timed(label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = _clock()
        try:
            return fn(*args, **kwargs)
        finally:
            _current[label] += _clock() - t0

    return wrapper


class _Simulator:
    """The strategy's compiled simulator with ``run`` timed as the kernel phase."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def run(self, *args: Any, **kwargs: Any) -> Any:
        return _timed("Rust kernel", self._inner.run)(*args, **kwargs)


def _install() -> list[tuple[str, int]]:
    order = []
    for module_name, attr, label, depth in PHASES:
        module = importlib.import_module(module_name)
        if not hasattr(module, attr):
            continue
        setattr(module, attr, _timed(label, getattr(module, attr)))
        order.append((label, depth))
        if label == "kernel inputs":
            order.append(("Rust kernel", 0))
    return order


def _setup(n_bars: int, fast: int, slow: int, fees: float) -> tuple[Any, Any]:
    from bench.vectorized import INIT_CASH, _sma_cross
    from ml4t.datasets import synthetic_bars
    from ml4t.vectorized import VectorizedStrategy

    bars = synthetic_bars(1, n_bars, "1m", seed=1)
    strat = VectorizedStrategy(_sma_cross, execution="close", fees=fees, init_cash=INIT_CASH)
    return strat, bars


def main() -> None:
    from bench.vectorized import SINGLE_BARS, SINGLE_FAST, SINGLE_FEES, SINGLE_SLOW

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--bars", type=int, default=SINGLE_BARS)
    parser.add_argument("--fast", type=int, default=SINGLE_FAST)
    parser.add_argument("--slow", type=int, default=SINGLE_SLOW)
    parser.add_argument("--fees", type=float, default=SINGLE_FEES)
    parser.add_argument("--cpu", action="store_true", help="time CPU (process_time), not wall time")
    parser.add_argument("--cprofile", action="store_true", help="also print a cProfile of one more run")
    args = parser.parse_args()
    global _clock
    _clock = time.process_time if args.cpu else time.perf_counter
    warnings.simplefilter("ignore")  # the degenerate bench row warns about its rejections on every run

    strat, bars = _setup(args.bars, args.fast, args.slow, args.fees)
    order = _install()
    object.__setattr__(strat, "_simulator", _Simulator(strat._simulator))
    _ = strat.run(copy.copy(bars), fast=args.fast, slow=args.slow).metrics  # warm-up, not reported
    totals: list[float] = []
    result = None
    for _ in range(args.repeat):
        _current.clear()
        fresh = copy.copy(bars)
        t0 = _clock()
        result = strat.run(fresh, fast=args.fast, slow=args.slow)
        _ = result.metrics  # the timed access
        totals.append(_clock() - t0)
        for label, _depth in order:
            _times[label].append(_current.get(label, 0.0))
    assert result is not None
    counts = result.orders["status"].value_counts().sort("status").rows()
    print(
        f"{args.bars:,} bars, SMA({args.fast})/SMA({args.slow}), fees {args.fees}: {result.orders.height:,} orders "
        f"({', '.join(f'{s} {n:,}' for s, n in counts)}), {result.fills.height:,} fills, "
        f"{result.trades.height:,} trades; {args.repeat} repeats"
    )
    print(f"{'phase':<28} {'median ms':>10} {'range ms':>16}   ({'CPU' if args.cpu else 'wall'} time)")
    for label, depth in order:
        values = [t * 1e3 for t in _times[label]]
        name = "  " * depth + label
        print(f"{name:<28} {statistics.median(values):>10.1f} {min(values):>7.1f}..{max(values):<7.1f}")
    ms = [t * 1e3 for t in totals]
    print(f"{'run + metrics (end to end)':<28} {statistics.median(ms):>10.1f} {min(ms):>7.1f}..{max(ms):<7.1f}")
    if args.cprofile:
        profile = cProfile.Profile()
        profile.enable()
        _ = strat.run(copy.copy(bars), fast=args.fast, slow=args.slow).metrics
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()

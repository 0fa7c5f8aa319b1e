"""Vectorized-mode workloads: ml4t's ``VectorizedStrategy`` against vectorbt on identical data and rules.

Both workloads trade an SMA crossover on one asset: long while SMA(fast) > SMA(slow), flat once
SMA(fast) < SMA(slow) (state-based signals, not crossing events; bars where either average is still
undefined give no signal), fill at the bar's close, proportional fees, all cash in (``size=inf``),
100,000 initial cash. Each engine runs in its own process (the harness gives every workload a fresh
interpreter) and both see the same ``synthetic_bars`` data.

* ``single`` - 1 asset, 1,000,000 one-minute bars, SMA(60)/SMA(240) (a one-hour against a four-hour average)
  and 1 bp (0.01%) fees, an intraday cost of a liquid future or large-cap stock. It trades like a strategy:
  5,204 orders, every one filled, 2,602 round trips, equity 100,000 -> 216,166 (issue #18). Rate is bars/s.
* ``single fee-drained`` - the same bars with the former parameters, SMA(10)/SMA(50) and 0.1% fees: ~27,000
  round trips wear equity down to about zero, and 74,974 of 98,632 orders are then rejected as below the
  minimum size (23,658 filled). Kept, ml4t only, on purpose: it measures a full ``Result`` whose orders table is
  mostly rejections (rejected orders are data), which no other row exercises.
* ``sweep`` - 1 asset, 5,000 daily bars, fast window in 2..51 x slow window in 10, 14, ..., 206 = 2,500
  combinations (every pair, including fast >= slow), each producing a total return and a Sharpe ratio.
  Rate is combos/s.

Timed (``run``), for both engines: signal generation (the moving averages and the comparisons), the
simulation, and computing total return and Sharpe ratio for every run/combination.

Not timed (``setup``):

* generating the synthetic bars, and for vectorbt converting the close column to a pandas Series
  (vectorbt's input format; ml4t takes the ``Bars`` object as is);
* constructing the ``VectorizedStrategy`` (configuration only);
* vectorbt's numba JIT compilation: its first call compiles for ~20-25 s, so ``setup`` runs the same
  pipeline once on a tiny input with the same dtypes and array ranks (1-D close, 1-D signals for
  ``single``; 2-D signals for ``sweep``), and ``run`` then measures warm performance. The harness reports
  the best of ``repeat`` runs on top of that.

vectorbt's close Series gets a tz-naive index holding the UTC wall-clock stamps. With the tz-aware
``datetime64[ns, UTC]`` index that ``Bars.wide`` produces, vectorbt 1.2 on pandas 3 spends ~1 s per result
wrap on 1M rows (its shape check calls ``np.asarray(index)``, which materialises one ``Timestamp`` object
per row) and the ``single`` run takes ~20 s instead of ~0.3 s; stripping the zone does not change the work,
so vectorbt is measured at its best here.

The Sharpe ratios of the two engines need not match digit for digit: vectorbt annualises with its default
``year_freq="365 days"`` (525,600 one-minute periods, 365 days per year), whatever ml4t's calendar
convention is. That is a constant factor per workload and does not affect the timings.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

import numpy as np

from bench.harness import Workload, workload

SINGLE_BARS = 1_000_000
SINGLE_FAST, SINGLE_SLOW = 60, 240
SINGLE_FEES = 0.0001  # 1 bp a side
DRAINED_FAST, DRAINED_SLOW = 10, 50  # with FEES: the fee-drained single run (see the module docstring)
SWEEP_BARS = 5_000
SWEEP_FAST = range(2, 52)  # 50 windows
SWEEP_SLOW = range(10, 210, 4)  # 50 windows: 10, 14, ..., 206
SWEEP_COMBOS = len(SWEEP_FAST) * len(SWEEP_SLOW)  # 2,500
FEES = 0.001  # the sweep's fees (and the fee-drained single run's)
INIT_CASH = 100_000

SINGLE_GROUP = "single 1M 1m bars"
DRAINED_GROUP = "single 1M 1m fee-drained"
SWEEP_GROUP = "sweep 2500 x 5000"


def _sma_cross(fast: int, slow: int) -> dict[str, Any]:
    import polars as pl

    f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
    return {"entries": f > s, "exits": f < s}


def _vbt_close(n_bars: int, freq: str) -> Any:
    """The synthetic close of asset A000 as a pandas Series with a tz-naive (UTC wall-clock) index."""
    from ml4t.datasets import synthetic_bars

    close = synthetic_bars(1, n_bars, freq, seed=1).wide("close").to_pandas().set_index("ts_event")["A000"]
    close.index = close.index.tz_localize(None)  # see the module docstring: tz-aware costs vectorbt ~60x
    return close


def _vbt_crossover(close: Any, fast: Any, slow: Any, freq: str, fees: float = FEES) -> tuple[Any, Any]:
    """The whole vectorbt pipeline: moving averages, signals, simulation, total return and Sharpe.

    ``fast``/``slow`` are ints (one run, 1-D outputs) or equal-length int arrays (one column each).
    """
    import vectorbt as vbt
    from numba.core.errors import NumbaPendingDeprecationWarning

    with warnings.catch_warnings():
        # vectorbt 1.2's own kernels take reflected lists, which Numba warns about when it compiles them (a
        # fresh environment, no Numba cache yet): the peer's concern, not this benchmark's
        warnings.simplefilter("ignore", NumbaPendingDeprecationWarning)
        fast_ma = vbt.MA.run(close, fast, short_name="fast")
        slow_ma = vbt.MA.run(close, slow, short_name="slow")
        entries = fast_ma.ma_above(slow_ma)
        exits = fast_ma.ma_below(slow_ma)
        # A 1-D close broadcasts against 2-D signal DataFrames (pandas objects are required for that).
        pf = vbt.Portfolio.from_signals(
            close, entries, exits, fees=fees, init_cash=INIT_CASH, size=np.inf, freq=freq
        )  # price defaults to close: fill at the bar's close
        return pf.total_return(), pf.sharpe_ratio()


def _sweep_grid() -> tuple[np.ndarray, np.ndarray]:
    """Every (fast, slow) pair as two aligned arrays of 2,500 windows (fast-major, like a product)."""
    fast = np.repeat(np.array(SWEEP_FAST), len(SWEEP_SLOW))
    slow = np.tile(np.array(SWEEP_SLOW), len(SWEEP_FAST))
    return fast, slow


def _ml4t_single_setup(fees: float = SINGLE_FEES) -> Any:
    """The single-run workloads' inputs (not timed): one asset, 1M one-minute bars, the crossover strategy."""
    from ml4t.datasets import synthetic_bars
    from ml4t.vectorized import VectorizedStrategy

    bars = synthetic_bars(1, SINGLE_BARS, "1m", seed=1)
    return VectorizedStrategy(_sma_cross, execution="close", fees=fees, init_cash=INIT_CASH), bars


def _cold(bars: Any) -> Any:
    """A fresh Bars over the same frame (a copy caches nothing: it is rebuilt from the frame, universe and
    freq), so every timed repeat pays for the kernel layout ml4t caches on a Bars (``Bars.panel``); vectorbt
    keeps nothing between calls either."""
    return copy.copy(bars)


@workload
def vectorized_single_vectorbt() -> Workload:
    """vectorbt: SMA(60)/SMA(240) crossover, 1 bp fees, on 1,000,000 one-minute bars, total return and Sharpe."""

    def setup() -> Any:
        close = _vbt_close(SINGLE_BARS, "1m")
        # Warm-up (not timed): the first vectorbt call JIT-compiles its numba kernels (~20 s). Same
        # pipeline, same dtypes, 1-D like the real run, on 200 bars, so run() measures warm performance.
        _vbt_crossover(close.iloc[:300], SINGLE_FAST, SINGLE_SLOW, "1min", SINGLE_FEES)
        return close

    def run(close: Any) -> tuple[float, float]:
        total_return, sharpe = _vbt_crossover(close, SINGLE_FAST, SINGLE_SLOW, "1min", SINGLE_FEES)
        return float(total_return), float(sharpe)

    return Workload(setup, run, items=SINGLE_BARS, unit="bars", group=SINGLE_GROUP, engine="vectorbt")


@workload
def vectorized_single_ml4t() -> Workload:
    """ml4t: the same crossover through ``VectorizedStrategy.run``."""
    setup = _ml4t_single_setup

    def run(state: Any) -> tuple[float, float]:
        strat, bars = state
        bars = _cold(bars)
        res = strat.run(bars, fast=SINGLE_FAST, slow=SINGLE_SLOW)
        return res.metrics["total_return"], res.metrics["sharpe_ratio"]

    return Workload(setup, run, items=SINGLE_BARS, unit="bars", group=SINGLE_GROUP, engine="ml4t")


@workload
def vectorized_single_ml4t_frames() -> Workload:
    """ml4t: the same run with every frame of the ``Result`` built (orders, fills, positions, trades and the
    equity), as a user who reads them all pays. The ``ml4t`` row builds only what its metrics read: the other
    frames are built on first access."""
    setup = _ml4t_single_setup

    def run(state: Any) -> tuple[float, float]:
        strat, bars = state
        res = strat.run(_cold(bars), fast=SINGLE_FAST, slow=SINGLE_SLOW)
        for frame in (res.orders, res.fills, res.positions, res.trades, res.equity):
            assert frame.height > 0
        return res.metrics["total_return"], res.metrics["sharpe_ratio"]

    return Workload(setup, run, items=SINGLE_BARS, unit="bars", group=SINGLE_GROUP, engine="ml4t frames")


@workload
def vectorized_single_ml4t_metrics() -> Workload:
    """ml4t: the same crossover computing only total return and Sharpe (a one-combination sweep), the
    like-for-like comparison with vectorbt's run, which also builds no trade, order or position tables.
    The ``ml4t`` row above builds the full ``Result`` (orders, fills, positions, trades, every metric)."""
    setup = _ml4t_single_setup

    def run(state: Any) -> tuple[float, float]:
        strat, bars = state
        bars = _cold(bars)
        row = strat.sweep(bars, fast=SINGLE_FAST, slow=SINGLE_SLOW).metrics
        return row["total_return"][0], row["sharpe_ratio"][0]

    return Workload(setup, run, items=SINGLE_BARS, unit="bars", group=SINGLE_GROUP, engine="ml4t metrics")


@workload
def vectorized_single_drained_ml4t() -> Workload:
    """ml4t: the fee-drained single run (SMA(10)/SMA(50), 0.1% fees), a full ``Result`` of mostly rejected orders."""

    def setup() -> Any:
        return _ml4t_single_setup(FEES)

    def run(state: Any) -> tuple[float, float]:
        strat, bars = state
        res = strat.run(_cold(bars), fast=DRAINED_FAST, slow=DRAINED_SLOW)
        return res.metrics["total_return"], res.metrics["sharpe_ratio"]

    return Workload(setup, run, items=SINGLE_BARS, unit="bars", group=DRAINED_GROUP, engine="ml4t")


def single_parity() -> dict[str, Any]:
    """The single run's check (not timed): ml4t's and vectorbt's total returns on the same bars and rules, and
    ml4t's order counts by status. ``python -m bench.vectorized`` prints it."""
    strat, bars = _ml4t_single_setup()
    res = strat.run(bars, fast=SINGLE_FAST, slow=SINGLE_SLOW)
    total_vbt, _ = _vbt_crossover(_vbt_close(SINGLE_BARS, "1m"), SINGLE_FAST, SINGLE_SLOW, "1min", SINGLE_FEES)
    ours = float(res.metrics["total_return"][0])
    return {
        "ml4t_total_return": ours,
        "vectorbt_total_return": float(total_vbt),
        "difference": abs(ours - float(total_vbt)),
        "orders": dict(res.orders.group_by("status").len().sort("status").rows()),
        "round_trips": res.trades.height,
    }


if __name__ == "__main__":
    print(single_parity())


@workload
def vectorized_sweep_vectorbt() -> Workload:
    """vectorbt: 2,500 (fast, slow) crossovers on 5,000 daily bars as 2,500 columns of one portfolio."""

    def setup() -> Any:
        close = _vbt_close(SWEEP_BARS, "1d")
        fast, slow = _sweep_grid()
        # Warm-up (not timed): compile vectorbt's numba kernels for the 2-D (many-column) case on 300 bars
        # and 4 combinations, so run() measures warm performance.
        _vbt_crossover(close.iloc[:300], fast[:4], slow[:4], "1D")
        return close, fast, slow

    def run(state: Any) -> tuple[Any, Any]:
        close, fast, slow = state
        # Series indexed by (fast_window, slow_window), one entry per combination.
        return _vbt_crossover(close, fast, slow, "1D")

    return Workload(setup, run, items=SWEEP_COMBOS, unit="combos", group=SWEEP_GROUP, engine="vectorbt")


@workload
def vectorized_sweep_ml4t() -> Workload:
    """ml4t: the same 2,500 combinations through ``VectorizedStrategy.sweep``."""
    from ml4t.datasets import synthetic_bars
    from ml4t.vectorized import VectorizedStrategy

    def setup() -> Any:
        bars = synthetic_bars(1, SWEEP_BARS, "1d", seed=1)
        strat = VectorizedStrategy(_sma_cross, execution="close", fees=FEES, init_cash=INIT_CASH)
        return strat, bars

    def run(state: Any) -> Any:
        strat, bars = state
        bars = _cold(bars)
        sweep = strat.sweep(bars, fast=SWEEP_FAST, slow=SWEEP_SLOW)
        # One row per combination: fast, slow, total_return, sharpe_ratio, ...
        return sweep.metrics.select("fast", "slow", "total_return", "sharpe_ratio")

    return Workload(setup, run, items=SWEEP_COMBOS, unit="combos", group=SWEEP_GROUP, engine="ml4t")

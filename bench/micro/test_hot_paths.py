"""The hot paths of issue #18, one benchmark each, on inputs built once per module (not timed).

* ``test_sweep_kernel`` - the sweep kernel alone: ``SignalSimulator.sweep_programs`` on a compiled chunk whose
  leaves are already evaluated (2,000 SMA-crossover combinations x 5,000 daily bars, one thread so the rate is
  per core and the other process on a shared machine matters less). Rate: ns per bar-combination.
* ``test_numba_loop`` - the floor ``test_sweep_kernel`` is measured against (issue #18's "plain numba loop on
  precomputed signals", ``bench/micro/numba_loop.py``): the same 2,000 crossovers' entries and exits evaluated
  beforehand (not timed), simulated all-in long with the fee, keeping the return moments, total return, maximum
  drawdown and trade count. One thread. Rate: ns per bar-combination.
* ``test_compile_chunk`` - ``compile_chunk`` on 1,000 combinations: calling the signal function per
  combination, serializing the expressions, compiling them in Rust, evaluating the 65 distinct leaves (the
  moving averages) with Polars. Rate: us per combination.
* ``test_assemble`` - a single run's ``Result`` from the kernel's raw records, with its metrics (``assemble``
  then ``Result.metrics``): 250,000 one-minute bars, SMA(60)/SMA(240), 1 bp fees (bench/vectorized.py's
  single run, shorter). Rate: ns per bar.
* ``test_event_step_cross`` / ``test_event_step_idle`` - a whole event run of 5,000 one-minute bars (building
  the engine, the loop with bench/event.py's per-bar SMA crossover in Python or a strategy that does nothing,
  the Result): an engine step plus its share of the fixed costs. Rate: us per bar.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

FEES, INIT_CASH = 0.001, 100_000
KERNEL_BARS, KERNEL_FAST, KERNEL_SLOW = 5_000, range(2, 42), range(10, 210, 4)  # 40 x 50 = 2,000 combinations
COMPILE_BARS, COMPILE_FAST, COMPILE_SLOW = 5_000, range(2, 42), range(10, 110, 4)  # 40 x 25 = 1,000
ASSEMBLE_BARS, ASSEMBLE_FAST, ASSEMBLE_SLOW, ASSEMBLE_FEES = 250_000, 60, 240, 0.0001
EVENT_BARS = 5_000


def sma_cross(fast: int, slow: int) -> dict[str, pl.Expr]:
    f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
    return {"entries": f > s, "exits": f < s}


def _sweep_inputs(n_bars: int, fast: range, slow: range) -> tuple[Any, Any, Any, list[int]]:
    from ml4t._kernel.signals import Grid, panel_of
    from ml4t.datasets import synthetic_bars
    from ml4t.vectorized import VectorizedStrategy

    strategy = VectorizedStrategy(sma_cross, execution="close", fees=FEES, init_cash=INIT_CASH)
    panel = panel_of(synthetic_bars(1, n_bars, "1d", seed=1))
    grid = Grid.build(sma_cross, {"fast": fast, "slow": slow})
    return strategy, panel, grid, list(range(len(grid.combos)))


@pytest.fixture(scope="module")
def kernel_inputs() -> dict[str, Any]:
    from ml4t._kernel.inputs import number_bounds
    from ml4t._kernel.signals import compile_chunk
    from ml4t.vectorized._overfit import cscv_blocks

    strategy, panel, grid, indices = _sweep_inputs(KERNEL_BARS, KERNEL_FAST, KERNEL_SLOW)
    compiled = compile_chunk(sma_cross, panel, grid, indices, 2**62, strategy.settings)
    assert compiled is not None and not isinstance(compiled, int), "the crossover compiles"
    return {
        "call": strategy._simulator.sweep_programs,
        "args": (panel.prices, compiled.programs, compiled.values, compiled.valid),
        "kwargs": {
            "cash_sharing": strategy.settings.cash_sharing,
            "bounds": [b for _, b in number_bounds(strategy.settings).values()],
            "n_blocks": cscv_blocks(panel.n_bars),
            "threads": 1,
        },
        "items": len(indices) * panel.n_bars * len(panel.symbols),
    }


def test_sweep_kernel(benchmark: Any, rate: Any, kernel_inputs: dict[str, Any]) -> None:
    k = kernel_inputs
    stats = benchmark(k["call"], *k["args"], **k["kwargs"])
    assert len(stats["total_return"]) >= len(KERNEL_FAST) * len(KERNEL_SLOW)
    rate(k["items"], "ns per bar-combination", 1e9)


def test_numba_loop(benchmark: Any, rate: Any) -> None:
    import numpy as np

    from bench.micro.numba_loop import sweep_loop
    from ml4t.datasets import synthetic_bars

    close = synthetic_bars(1, KERNEL_BARS, "1d", seed=1).frame["close"].to_numpy()
    grid = [(f, s) for f in KERNEL_FAST for s in KERNEL_SLOW]
    means = {w: pl.Series(close).rolling_mean(w).to_numpy() for w in {*KERNEL_FAST, *KERNEL_SLOW}}
    with np.errstate(invalid="ignore"):  # NaN warm-up rows compare False, as the kernel reads a null
        entries = np.stack([means[f] > means[s] for f, s in grid])
        exits = np.stack([means[f] < means[s] for f, s in grid])
    sweep_loop(close[:50], entries[:2, :50], exits[:2, :50], FEES, INIT_CASH)  # compile (not timed)
    out = benchmark(sweep_loop, close, entries, exits, FEES, INIT_CASH)
    assert out.shape == (len(grid), 5) and out[:, 4].sum() > 0
    rate(len(grid) * KERNEL_BARS, "ns per bar-combination", 1e9)


def test_compile_chunk(benchmark: Any, rate: Any) -> None:
    from ml4t._kernel.signals import compile_chunk

    strategy, panel, grid, indices = _sweep_inputs(COMPILE_BARS, COMPILE_FAST, COMPILE_SLOW)
    compiled = benchmark(compile_chunk, sma_cross, panel, grid, indices, 2**62, strategy.settings)
    assert compiled is not None and not isinstance(compiled, int)
    assert compiled.values.shape[1] == len({*COMPILE_FAST, *COMPILE_SLOW})  # one leaf per distinct window
    rate(len(indices), "us per combination", 1e6)


@pytest.fixture(scope="module")
def raw_records() -> dict[str, Any]:
    from ml4t._kernel.signals import Grid, evaluate, panel_of
    from ml4t.datasets import synthetic_bars
    from ml4t.vectorized import VectorizedStrategy

    bars = synthetic_bars(1, ASSEMBLE_BARS, "1m", seed=1)
    strategy = VectorizedStrategy(sma_cross, execution="close", fees=ASSEMBLE_FEES, init_cash=INIT_CASH)
    panel = panel_of(bars)
    grid = Grid.build(sma_cross, {"fast": ASSEMBLE_FAST, "slow": ASSEMBLE_SLOW})
    signals = evaluate(sma_cross, panel, grid, [0], strategy.settings)
    arrays = strategy._arrays(signals, grid, [0], panel)
    ts = panel.ts.dt.epoch("ns").to_numpy()
    raw = strategy._simulator.run(panel.prices, arrays, cash_sharing=True, ts=ts, symbol=None)
    return {"raw": raw, "symbols": list(panel.symbols), "ppy": bars.periods_per_year}


def test_assemble(benchmark: Any, rate: Any, raw_records: dict[str, Any]) -> None:
    from ml4t._assemble import assemble

    def build() -> Any:
        result = assemble(
            raw_records["raw"],
            raw_records["symbols"],
            init_cash=INIT_CASH,
            periods_per_year=raw_records["ppy"],
            meta={"mode": "vectorized"},
        )
        return result, result.metrics

    result, metrics = benchmark(build)
    assert result.orders.height > 1_000 and (result.orders["status"] == "filled").all()  # trades, no rejection
    assert metrics.height == 1
    rate(ASSEMBLE_BARS, "ns per bar", 1e9)


@pytest.mark.parametrize("strategy", ["cross", "idle"])
def test_event_step(benchmark: Any, rate: Any, strategy: str) -> None:
    from bench.event import ml4t_run, single_bars

    bars = single_bars(EVENT_BARS)
    entries, exits = benchmark(ml4t_run, bars, {"cross": "single", "idle": "idle"}[strategy])
    assert (entries > 10) if strategy == "cross" else (entries == exits == 0)
    rate(EVENT_BARS, "us per bar", 1e6)

"""A compiled chunk's leaves are each symbol's own Series computation, bit for bit, whatever the threads.

The reference is Polars' Series API on one symbol's own rows (``Series.rolling_mean`` and friends run the
kernel on the whole column): the leaves of :func:`ml4t._kernel.leaves.evaluate_leaves`, scattered to the
``(n_symbols, n_leaves, n_bars)`` layout, must equal it bit for bit, NaN where the symbol has no bar or the leaf
is null, and ``valid`` exactly where the leaf is not null. Polars' default engine (streaming in 2.1) cut a frame
into one morsel per thread, which changed a rolling sum's last bits with the number of cores: a child process
with more Polars threads than the machine's cores gives the same bytes.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from ml4t._kernel.signals import CompiledChunk, Grid, compile_chunk, panel_of
from ml4t.data import bars
from ml4t.datasets import synthetic_bars
from ml4t.settings import VectorizedSettings

WINDOWS = [3, 7, 50]


def rule(fast: int, slow: int) -> dict[str, pl.Expr]:
    close = pl.col("close")
    f, s = close.rolling_mean(fast), close.rolling_std(slow)
    return {"entries": f > close.rolling_max(slow).shift(1), "exits": (f < s) | (pl.col("volume").cum_sum() < 0)}


def _ragged(n_bars: int = 400) -> object:
    """Three symbols on a common timeline, one missing bars in the middle and one with a null close."""
    frame = synthetic_bars(3, n_bars, "1d" if n_bars < 10_000 else "1m", seed=7).frame
    gap = pl.int_range(pl.len()).is_between(3 * n_bars // 2, 7 * n_bars // 4)
    frame = frame.filter(~((pl.col("symbol") == frame["symbol"][1]) & gap))
    frame = frame.with_columns(
        close=pl.when((pl.col("symbol") == frame["symbol"][2]) & (pl.int_range(pl.len()) == 2 * n_bars))
        .then(None)
        .otherwise(pl.col("close"))
    )
    return bars(frame)


def _compiled(b: object) -> CompiledChunk:
    panel = panel_of(b)  # type: ignore[arg-type]
    grid = Grid.build(rule, {"fast": WINDOWS, "slow": WINDOWS})
    chunk = compile_chunk(rule, panel, grid, range(len(grid.combos)), 1 << 30, VectorizedSettings())
    assert isinstance(chunk, CompiledChunk)
    return chunk


def _reference(b: object) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per leaf (its serialized plan), the ``(n_symbols, n_bars)`` values and validity from the Series API."""
    panel = panel_of(b)  # type: ignore[arg-type]
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    close = pl.col("close")
    plans = {
        "volume.cum_sum": (pl.col("volume").cum_sum(), lambda _c, v: v.cum_sum()),
        "close": (close, lambda c, _v: c),
    }
    for w in WINDOWS:
        plans[f"mean{w}"] = (close.rolling_mean(w), lambda c, _v, w=w: c.rolling_mean(w))
        plans[f"std{w}"] = (close.rolling_std(w), lambda c, _v, w=w: c.rolling_std(w))
        plans[f"max{w}"] = (close.rolling_max(w).shift(1), lambda c, _v, w=w: c.rolling_max(w).shift(1))
    for expr, series_fn in plans.values():
        values = np.full((len(panel.symbols), panel.n_bars), np.nan)
        valid = np.zeros((len(panel.symbols), panel.n_bars), dtype=bool)
        for s, (frame, rows) in enumerate(zip(panel.frames, panel.rows, strict=True)):
            got = series_fn(frame["close"], frame["volume"]).cast(pl.Float64)
            values[s, rows] = got.to_numpy()
            valid[s, rows] = got.is_not_null().to_numpy()
        out[expr.meta.serialize(format="json")] = (values, valid)
    return out


def _by_plan(chunk: CompiledChunk) -> dict[str, tuple[bytes, bytes]]:
    return {
        plan: (chunk.values[:, i].tobytes(), chunk.valid[:, i].tobytes())
        for i, plan in enumerate(chunk.programs.leaves())
    }


@pytest.mark.parametrize("n_bars", [400, 70_000])
def test_each_leaf_is_its_symbols_own_series_computation_bit_for_bit(n_bars):
    """400 bars: a part's leaves converted as one block; 70,000: one column at a time (a long part)."""
    b = _ragged(n_bars)
    chunk = _compiled(b)
    reference = _reference(b)
    got = _by_plan(chunk)
    assert set(got) <= set(reference) and len(got) == 3 * len(WINDOWS) + 1
    for plan, (values, valid) in got.items():
        assert (values, valid) == tuple(a.tobytes() for a in reference[plan]), plan


def test_the_leaves_do_not_depend_on_polars_threads():
    """More Polars threads than rows per thread would split a streaming query into several morsels."""
    code = (
        "import json, sys; sys.path.insert(0, 'tests/vectorized'); import test_leaves as t; "
        "c = t._compiled(t._ragged()); "
        "print(json.dumps({p: [v.hex(), k.hex()] for p, (v, k) in t._by_plan(c).items()}))"
    )
    root = Path(__file__).resolve().parents[2]
    here = {p: [v.hex(), k.hex()] for p, (v, k) in _by_plan(_compiled(_ragged())).items()}
    for threads in ("1", "5"):
        env = {**os.environ, "POLARS_MAX_THREADS": threads}
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=root)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout.strip().splitlines()[-1]) == here, threads


def test_a_long_panel_scope_part_gives_the_plain_paths_sweep(monkeypatch):
    """Panel scope evaluates the leaves once on the long frame (here 75,000 rows: converted one column at a
    time, scattered by each row's symbol and bar): the sweep equals the plain path's, where Polars evaluates
    every expression whole."""
    import ml4t.vectorized._strategy as strategy_module
    from ml4t.vectorized import VectorizedStrategy

    def ranked(lookback: int, k: int) -> dict[str, pl.Expr]:
        mom = pl.col("close") / pl.col("close").rolling_mean(lookback).over("symbol") - 1
        top = mom.rank(descending=True).over("ts_event") <= k
        return {"entries": top, "exits": ~top}

    b = _ragged(25_000)
    strategy = VectorizedStrategy(ranked, scope="panel", execution="close", fees=0.001)
    grid = {"lookback": [5, 50], "k": [1, 2]}
    compiled = compile_chunk(ranked, panel_of(b), Grid.build(ranked, grid), [0, 1, 2, 3], 1 << 30, strategy.settings)  # type: ignore[arg-type]
    assert isinstance(compiled, CompiledChunk)  # the sweep below takes the compiled path
    got = strategy.sweep(b, progress=False, **grid).metrics
    monkeypatch.setattr(strategy_module, "compile_chunk", lambda *args, **kwargs: None)
    assert got["trade_count"].min() > 0 and got.equals(strategy.sweep(b, progress=False, **grid).metrics)

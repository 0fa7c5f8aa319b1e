"""The compiled signal path on portfolio-weight expressions: ``python -m bench.compiled_signals``.

Two measurements of 100 combinations of a top-k weight, ``when(rank <= k).then(1 / k).otherwise(0)``:

* ``eval`` - one long panel frame (``N_SYMBOLS`` x ``N_BARS`` rows, one per bar and symbol), the rank a
  cross-sectional one (``score.rank().over("ts_event")``). *Plain*: Polars evaluates the 100 expressions
  and they are laid out as the kernel's f64 values + validity (what a sweep of the plain path, or of the
  compiled path before issue #12 where each whole ``when`` was one leaf per combination, hands the kernel).
  *Compiled*: the 100 expressions compile around ONE leaf (the rank), Polars evaluates it once, and the
  kernel evaluates the 100 programs from it (here through ``SignalPrograms.evaluate``, which also copies
  each result out to NumPy; inside a sweep the kernel evaluates into per-group scratch instead).
  Reported: seconds (median of ``REPEAT``, the two paths interleaved) and the bytes of leaf arrays.
* ``sweep`` - ``VectorizedStrategy.sweep`` of the same shape of rule in symbol scope (a ``when`` on a
  momentum score, with a value per k; it drives ``sl_stop``, a number key every kernel has), compiled against the
  plain path forced by making ``compile_chunk`` answer "not compilable". Same metrics asserted equal.

Timings on a shared machine are noisy; the leaf bytes are exact.
"""

from __future__ import annotations

import io
import statistics
import time
from typing import Any

import numpy as np
import polars as pl

N_SYMBOLS, N_BARS, N_COMBOS, REPEAT = 200, 1260, 100, 3


def _panel() -> pl.DataFrame:
    rng = np.random.default_rng(0)
    n = N_SYMBOLS * N_BARS
    return pl.DataFrame(
        {
            "ts_event": np.repeat(np.arange(N_BARS), N_SYMBOLS),
            "symbol": np.tile(np.arange(N_SYMBOLS), N_BARS),
            "score": rng.normal(size=n),
        }
    )


def _weights() -> list[pl.Expr]:
    rank = pl.col("score").rank("ordinal").over("ts_event")
    return [pl.when(rank <= k).then(1.0 / k).otherwise(0.0).alias(f"w{k}") for k in range(1, N_COMBOS + 1)]


def _kernel_arrays(frame: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    values = np.ascontiguousarray(frame.select(pl.all().cast(pl.Float64)).to_numpy().T)
    valid = np.ascontiguousarray(frame.select(pl.all().is_not_null()).to_numpy().T)
    return values, valid


def _plain(frame: pl.DataFrame, exprs: list[pl.Expr]) -> tuple[np.ndarray, np.ndarray]:
    return _kernel_arrays(frame.select(exprs))


def _compiled(frame: pl.DataFrame, exprs: list[pl.Expr]) -> tuple[np.ndarray, int]:
    from ml4t import _core

    slots = [(c, 4) for c in range(len(exprs))]
    programs = _core.SignalPrograms(pl.struct(exprs).meta.serialize(format="json"), slots, len(exprs))
    leaves = [pl.Expr.deserialize(io.StringIO(j), format="json") for j in programs.leaves()]
    evaluated = frame.select(leaf.alias(f"l{i}") for i, leaf in enumerate(leaves))
    values, valid = _kernel_arrays(evaluated)
    dtypes = [str(dt) for dt in evaluated.dtypes]
    assert all(row[4] is False for row in programs.result_types(dtypes)), "every program compiles"
    out = np.empty((len(exprs), frame.height))
    for c in range(len(exprs)):
        out[c] = programs.evaluate(c, 4, values, valid)[0]
    return out, values.nbytes + valid.nbytes


def evaluation() -> dict[str, Any]:
    frame, exprs = _panel(), _weights()
    plain_t, compiled_t = [], []
    for _ in range(REPEAT):
        t = time.perf_counter()
        pv, pk = _plain(frame, exprs)
        plain_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        cv, leaf_bytes = _compiled(frame, exprs)
        compiled_t.append(time.perf_counter() - t)
    assert np.array_equal(np.where(pk, pv, np.nan), cv, equal_nan=True)
    return {
        "rows": frame.height,
        "combinations": len(exprs),
        "plain_s": statistics.median(plain_t),
        "compiled_s": statistics.median(compiled_t),
        "plain_leaf_bytes": pv.nbytes + pk.nbytes,
        "compiled_leaf_bytes": leaf_bytes,
    }


def sweep() -> dict[str, Any]:
    import ml4t.vectorized._strategy as strategy_module
    from ml4t.datasets import synthetic_bars
    from ml4t.vectorized import VectorizedStrategy

    def rule(k: int) -> dict[str, pl.Expr]:
        close = pl.col("close")
        momentum = close / close.shift(20) - 1  # one leaf: a division by a column stays with Polars
        return {
            "entries": momentum > 0,
            "exits": momentum < 0,
            "sl_stop": pl.when(momentum > 0.002 * k).then(0.5 / k).otherwise(0.9),
        }

    bars = synthetic_bars(20, 2520, "1d", seed=3)
    strategy = VectorizedStrategy(rule)
    grid = list(range(1, N_COMBOS + 1))
    original = strategy_module.compile_chunk
    times: dict[str, list[float]] = {"compiled": [], "plain": []}
    results = {}
    for _ in range(3):
        for name in ("compiled", "plain"):
            strategy_module.compile_chunk = original if name == "compiled" else (lambda *a, **k: None)
            t = time.perf_counter()
            results[name] = strategy.sweep(bars, k=grid).metrics
            times[name].append(time.perf_counter() - t)
    strategy_module.compile_chunk = original
    assert results["compiled"].equals(results["plain"])
    return {"symbols": 20, "bars": 2520, "combinations": len(grid), **{f"{n}_s": min(t) for n, t in times.items()}}


def main() -> None:
    for name, fn in (("eval", evaluation), ("sweep", sweep)):
        print(name, fn())


if __name__ == "__main__":
    main()

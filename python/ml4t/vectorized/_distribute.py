"""A sweep on an executor's workers (issue #17): plan the pieces, then run them.

``sweep(..., executor=...)`` with a ``concurrent.futures.Executor``, a ``dask.distributed.Client`` or ``"ray"``
(:mod:`ml4t._executor`) plans its work before it runs any of it:

1. **Which parameters choose indicators.** The signal function is called for one combination, then once more
   per parameter with that parameter alone changed; a parameter whose change changes the compiled leaves (the
   distinct Polars sub-expressions the kernel reads: a moving average's window) is an *indicator axis*; one
   that changes only the elementwise top (a threshold, a stop) is not. Expressions outside the compiled subset
   name no leaves: then every parameter counts as one, and the plan keeps the grid's order.
2. **Order.** The combinations still to simulate are sorted by their indicator axes' values (the axis with the
   most values first; ties keep grid order), so the combinations reading one indicator sit together and a
   piece's worker computes each indicator it needs once, instead of every worker computing nearly all of them.
   With axes ``A`` (``a`` values) and ``B`` (``b``), ``P`` pieces compute about ``a + P * b`` leaves with ``A``
   first and ``b + P * a`` with ``B`` first: the axis with more values goes first.
3. **Pieces.** That order is cut into contiguous pieces (:meth:`ml4t._executor.Pool.cut`): about
   ``PIECES_PER_WORKER`` per worker, fewer when a piece would hold under ``PIECE_FLOOR_SECONDS`` of work
   (estimated from the bars per combination), never fewer than the workers.
4. **Run.** The bars go to the cluster once (:meth:`ml4t._executor.Pool.share`); each piece runs
   :func:`piece_stats` on a worker: the same preparation, chunks and kernel as a local sweep, the kernel's
   threads bounded to the CPUs the task was given (:attr:`ml4t._executor.Pool.threads_per_task`). Pieces come
   back as they finish; the sweep stores each cache block as soon as its combinations are all back and puts
   the rows in grid order at the end. Every combination is simulated on its own, so the statistics are the
   local sweep's bit for bit, whatever the order, the pieces or the workers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from ml4t import _core, _progress
from ml4t._kernel.keys import call_signal_fn
from ml4t._kernel.signals import Grid, leaves_of
from ml4t.data import Bars
from ml4t.settings import VectorizedSettings
from ml4t.vectorized._result_cache import concat


class _Sweeping(Protocol):
    """What a worker needs of a ``VectorizedStrategy`` (named structurally: this module is imported by it)."""

    def _prepare(
        self, bars: Bars, grids: Mapping[str, Any], chunk_size: int | None, memory_budget: Any, store: None
    ) -> Any: ...

    def _simulate(
        self, prep: Any, todo: Sequence[int], counter: _core.Progress, shown: _progress.Bar, threads: int = 0
    ) -> Iterator[tuple[list[int], dict[str, Any]]]: ...


__all__ = ["indicator_axes", "order_by_indicators", "piece_stats"]


def indicator_axes(fn: Callable[..., Any], grid: Grid, settings: VectorizedSettings) -> list[int] | None:
    """The positions of the grid's parameters whose values change the compiled leaves, or None when the leaves
    cannot be known (expressions outside the compiled subset). Costs one signal call per parameter."""
    base = grid.combos[0]
    leaves = leaves_of(call_signal_fn(fn, dict(zip(grid.names, base, strict=True)), settings))
    if leaves is None:
        return None
    axes = []
    for k, name in enumerate(grid.names):
        other = next((c[k] for c in grid.combos if c[k] != base[k]), None)
        if other is None:
            continue  # a parameter of one value chooses nothing
        changed = leaves_of(call_signal_fn(fn, {**dict(zip(grid.names, base, strict=True)), name: other}, settings))
        if changed is None:
            return None
        if changed != leaves:
            axes.append(k)
    return axes


def order_by_indicators(grid: Grid, todo: Sequence[int], axes: Sequence[int] | None) -> list[int]:
    """``todo`` (combination indices) sorted by the values of the indicator ``axes`` (each axis's values in the
    order the grid gives them), the axis with the most values first; ties, and everything when ``axes`` is None
    or empty, keep grid order."""
    if not axes:
        return list(todo)
    values = {k: list(dict.fromkeys(c[k] for c in grid.combos)) for k in axes}
    positions = []
    for k in sorted(axes, key=lambda k: -len(values[k])):  # stable: equal counts keep the grid's axis order
        rank = {v: r for r, v in enumerate(values[k])}
        positions.append(np.fromiter((rank[grid.combos[i][k]] for i in todo), dtype=np.int64, count=len(todo)))
    order = np.lexsort([np.arange(len(todo)), *reversed(positions)])  # lexsort's last key is the primary one
    return [todo[int(i)] for i in order]


def piece_stats(
    strategy: _Sweeping,
    grids: Mapping[str, Any],
    chunk_size: int | None,
    memory_budget: int | float | str | None,
    threads: int,
    bars: Bars,
    piece: Sequence[int],
) -> dict[str, np.ndarray]:
    """On a worker: the kernel's statistics of the combinations ``piece`` (indices into the grid of ``grids``,
    in the piece's order) of the sweep on ``bars``: the local sweep's preparation, chunks and kernel, on at most
    ``threads`` threads; no cache and no progress bar (the caller keeps both)."""
    prep = strategy._prepare(bars, grids, chunk_size, memory_budget, None)
    with _progress.bar(False, total=len(piece), unit="combos", desc="sweep") as shown:
        parts = [stats for _, stats in strategy._simulate(prep, piece, _core.Progress(), shown, threads)]
    return concat(parts)

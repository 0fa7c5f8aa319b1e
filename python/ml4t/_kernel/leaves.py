"""Evaluating a compiled chunk's distinct Polars leaves on the bars (:func:`evaluate_leaves`).

The compiler (:func:`ml4t._kernel.signals.compile_chunk`) reduces a chunk's signal expressions to programs
over a set of distinct Polars expressions, its leaves (a moving average of one window, a rank). Each leaf is
evaluated like :func:`ml4t._kernel.signals.evaluate`'s expressions: per symbol on that symbol's own rows
(``scope="symbol"``), or once on the long frame of all symbols (``scope="panel"``, the nested windows lifted by
:func:`ml4t._kernel.panel_scope.stage_windows`). The values are laid out ``(n_symbols, n_leaves, n_bars)`` on
the common timeline (Float64, NaN where a symbol has no bar) with a validity array (``False`` where the leaf is
null or the symbol has no bar): the programs are elementwise, so they hold on the scattered leaves. With a
cache, each leaf (its values on every part) is read from it or evaluated and stored
(:mod:`ml4t._kernel.leaf_cache`); the arrays are the same bit for bit.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol

import numpy as np
import polars as pl

from ml4t._kernel.keys import describe, rebalance_mask
from ml4t._kernel.leaf_cache import ENGINE, LeafCache
from ml4t._kernel.panel_scope import stage_windows
from ml4t.data._panel import Panel
from ml4t.errors import ConfigError

__all__ = ["collect", "evaluate_leaves", "parts_of"]

_LEAF_BATCH_BYTES = 16 << 20
"""The Polars frame of compiled leaves evaluated at once on a long part (:func:`evaluate_leaves`): two leaves of
a million bars (64 MB held eight, and their NumPy block as much again, on top of the chunk's leaves)."""
_LONG_PART = 1 << 16
"""Rows from which a part's leaves are converted to NumPy one column at a time (:func:`_scatter`)."""


class Grid(Protocol):
    """What an error message needs of the sweep's grid (:class:`ml4t._kernel.signals.Grid`)."""

    def params(self, index: int) -> dict[str, Any]: ...


def evaluate_leaves(
    leaf_json: Sequence[str],
    panel: Panel,
    scope: str,
    hidden: Sequence[str],
    fn: Callable[..., Any],
    grid: Grid,
    indices: Sequence[int],
    cache: LeafCache | None = None,
) -> tuple[np.ndarray, np.ndarray, list[str]] | None:
    """``(values, valid, types)`` of the leaves ``leaf_json`` (serialized Polars expressions): ``(n_symbols,
    n_leaves, n_bars)`` Float64 values and their validity, and each leaf's Polars type name. ``hidden``: the
    rebalance columns the leaves may read. None when a leaf does not round-trip through Polars' JSON exactly,
    is not numeric or boolean, or its type differs between symbols (the plain path decides). ``fn``,
    ``grid`` and ``indices`` name the chunk in errors."""
    n_sym, n_bars, n_leaves = len(panel.symbols), panel.n_bars, len(leaf_json)
    try:
        parsed = [pl.Expr.deserialize(io.StringIO(j), format="json") for j in leaf_json]
    except pl.exceptions.PolarsError:
        return None  # a leaf Polars cannot round-trip through JSON (e.g. a NaN literal): use the plain path
    if any(e.meta.serialize(format="json") != j for e, j in zip(parsed, leaf_json, strict=True)):
        return None  # Polars' JSON reader lands some float literals an ulp off (1 / 11): the plain path is exact
    leaves = [e.alias(f"leaf{i}") for i, e in enumerate(parsed)]
    values = np.full((n_sym, n_leaves, n_bars), np.nan)
    valid = np.zeros((n_sym, n_leaves, n_bars), dtype=bool)
    # (symbol, bar, leaf) views: a part's rows scatter to their (symbol, bar) cells in one assignment
    values_at, valid_at = values.transpose(0, 2, 1), valid.transpose(0, 2, 1)
    dtype_names: list[str] | None = None
    leaf_keys = cache.leaf_keys(leaf_json, parsed) if cache is not None and n_leaves else None
    stages, leaves = stage_windows(leaves) if scope == "panel" and leaf_keys is None else ([], leaves)

    parts: Iterable[tuple[pl.DataFrame, int | np.ndarray, np.ndarray, str | None]] = parts_of(panel, scope, hidden)
    if leaf_keys is not None and cache is not None:
        parts = listed = list(parts)  # every part at once: one lookup and one store per leaf, whatever the symbols

        def compute(which: list[int]) -> list[pl.DataFrame]:
            chosen = [leaves[i] for i in which]
            lifted, chosen = stage_windows(chosen) if scope == "panel" else ([], chosen)
            return [collect(frame, lifted, chosen, fn, grid, indices, symbol) for frame, _, _, symbol in listed]

        masks = {name: rebalance_mask(panel.ts, name)[panel.long_bar] for name in hidden}
        heights = [frame.height for frame, _, _, _ in parts]
        got = cache.evaluate(panel, scope, masks, heights, leaf_keys, parsed, leaf_json, compute)
        if got is None:
            return None
        dtype_names = got.types
        start = 0
        for (_, sym, bar, _), height in zip(parts, heights, strict=True):
            values_at[sym, bar] = got.values[start : start + height]
            valid_at[sym, bar] = got.valid[start : start + height]
            start += height
        parts = []
    for frame, sym, bar, symbol in parts:
        # a long part's leaves in batches of about _LEAF_BATCH_BYTES, each copied out one leaf at a time: the
        # leaves' arrays are the chunk's memory, Polars' frames of them only a bounded extra (the lifted
        # windows of panel scope are read by every leaf, so those leaves stay in one query)
        step = max(1, _LEAF_BATCH_BYTES // (8 * max(frame.height, 1))) if not stages else max(n_leaves, 1)
        names: list[str] = []
        for first in range(0, n_leaves, step):
            result = collect(frame, stages, leaves[first : first + step], fn, grid, indices, symbol, validity=True)
            dtypes = result.dtypes[: result.width // 2]
            if any(not (dt.is_numeric() or dt in (pl.Boolean, pl.Null)) for dt in dtypes):
                return None
            names += [str(dt) for dt in dtypes]
            _scatter(result, values_at, valid_at, sym, bar, first)
            del result
        if dtype_names is not None and names != dtype_names:
            return None  # a leaf's type differs between symbols: let Polars decide
        dtype_names = names
    return values, valid, dtype_names or []


def _scatter(
    result: pl.DataFrame,
    values_at: np.ndarray,
    valid_at: np.ndarray,
    sym: int | np.ndarray,
    bar: np.ndarray,
    first: int,
) -> None:
    """Write the leaves ``first, first + 1, ...`` of one part (``result``: one column per leaf, then one validity
    column per leaf, one row per row of the part) to their cells of the ``(symbol, bar, leaf)`` views. A short
    part in one conversion of the values (Float64, a null is NaN) and one of the validity, not two per column
    (each costs ~10 us of overhead, which was most of a 2,520-row part's time); a long one column by column, so
    that the NumPy copy in flight is one leaf's, not the block's."""
    k = result.width // 2
    full = isinstance(sym, int) and len(bar) == values_at.shape[1]  # every bar of the timeline: a plain slice
    if result.height >= _LONG_PART:
        columns = result.get_columns()
        for i, (column, ok) in enumerate(zip(columns[:k], columns[k:], strict=True), first):
            if column.dtype != pl.Float64:
                column = column.cast(pl.Float64)
            values_at[sym, slice(None) if full else bar, i] = column.to_numpy()
            valid_at[sym, slice(None) if full else bar, i] = ok.to_numpy()
        return
    leaves, head, tail = slice(first, first + k), result[:, :k], result[:, k:]
    if any(dt != pl.Float64 for dt in head.dtypes):
        head = head.select(pl.all().cast(pl.Float64))
    block, valid = head.to_numpy(), tail.to_numpy()
    values_at[sym, slice(None) if full else bar, leaves] = block
    valid_at[sym, slice(None) if full else bar, leaves] = valid


def parts_of(
    panel: Panel, scope: str, hidden: Sequence[str]
) -> Iterator[tuple[pl.DataFrame, int | np.ndarray, np.ndarray, str | None]]:
    """The frames the expressions are evaluated on, each with where its rows go: ``(frame, symbol index,
    timeline index, symbol name)``. ``scope="symbol"``: each symbol's own rows (symbol index and name are
    one); ``scope="panel"``: the long frame of all symbols once (per row indices; no one symbol). The hidden
    rebalance columns ``hidden`` are added to the frames, their values taken on the common timeline."""
    masks = {name: rebalance_mask(panel.ts, name) for name in hidden}
    if scope == "panel":
        frame = panel.long.with_columns(pl.Series(name, m[panel.long_bar]) for name, m in masks.items())
        yield frame, panel.long_symbol, panel.long_bar, None
        return
    for s, (frame, rows) in enumerate(zip(panel.frames, panel.rows, strict=True)):
        own = frame.with_columns(pl.Series(name, m[rows]) for name, m in masks.items()) if masks else frame
        yield own, s, rows, panel.symbols[s]


def collect(
    frame: pl.DataFrame,
    stages: list[list[pl.Expr]],
    exprs: list[pl.Expr],
    fn: Callable[..., Any],
    grid: Grid,
    indices: Sequence[int],
    symbol: str | None,
    *,
    validity: bool = False,
) -> pl.DataFrame:
    """``exprs`` evaluated on ``frame`` (after the lifted windows ``stages``), one column each, followed with
    ``validity`` by each one's ``is_not_null`` in the same query (one call into Polars per part, not one for the
    leaves and one per conversion); a Polars error is a ConfigError naming the signal function, a combination
    and the ``symbol``."""
    try:
        query = _query(frame, stages, exprs)
        if validity:
            query = query.select(pl.all(), pl.all().is_not_null().name.suffix("\x1fvalid"))
        return query.collect(engine=ENGINE)
    except pl.exceptions.PolarsError as exc:
        raise _named(exc, frame, fn, grid, indices, symbol) from exc


def _query(frame: pl.DataFrame, stages: list[list[pl.Expr]], exprs: list[pl.Expr]) -> pl.LazyFrame:
    # with_columns broadcasts scalars (a constant signal) and rejects other lengths (a ShapeError); the lifted
    # windows of panel scope (`stages`) come first, then the expressions that read them. The caller collects
    # with the in-memory engine, which evaluates each expression on the whole column: Polars' default engine
    # (streaming in 2.1) splits a frame into one morsel per thread, and a rolling sum restarted at a morsel's
    # edge differs in its last bits, so the values would depend on the machine's cores (POLARS_MAX_THREADS)
    query = frame.lazy()
    for stage in stages:
        query = query.with_columns(stage)
    start = frame.width + sum(len(stage) for stage in stages)
    return query.with_columns(exprs).select(pl.nth(range(start, start + len(exprs))))


def _named(
    exc: pl.exceptions.PolarsError,
    frame: pl.DataFrame,
    fn: Callable[..., Any],
    grid: Grid,
    indices: Sequence[int],
    symbol: str | None,
) -> ConfigError:
    """The ConfigError of a Polars error evaluating ``fn``'s expressions on ``symbol``'s frame."""
    if isinstance(exc, pl.exceptions.ColumnNotFoundError):
        missing = str(exc).splitlines()[0]
        return ConfigError(
            f"{_name(fn)} uses a column the bars do not have ({missing}); available: "
            f"{[c for c in frame.columns if not c.startswith('__ml4t_')]}",
            argument="signals",
            symbol=symbol,
        )
    first = grid.params(indices[0])
    return ConfigError(
        f"evaluating {_name(fn)} failed for a combination near {describe(fn, first)}: "
        f"{type(exc).__name__}: {str(exc).splitlines()[0]}",
        argument="signals",
        symbol=symbol,
    )


def _name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__name__", repr(fn))

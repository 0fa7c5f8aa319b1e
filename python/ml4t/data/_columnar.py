"""Per-symbol NumPy blocks: the cheap, read-only array layout engines and :class:`PITData` read from.

A frame is sorted once by ``symbol`` then by its time keys, each column is converted to one NumPy array
(``bases``), and every symbol gets zero-copy slices of those arrays (``views``); ``offsets`` delimit the
symbols' rows in the bases, in universe order, and ``pit`` is the Rust point-in-time index over
``ts_arrival`` that answers "how many rows of each symbol have arrived by now". The base arrays are marked
read-only, so every slice is a
read-only view too (writing raises ``ValueError``, and NumPy refuses to make a view of a read-only base
writeable again).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from ml4t._core import PitIndex

__all__ = ["SymbolBlocks", "build_blocks"]

_EMPTY_I64 = np.empty(0, dtype=np.int64)
_EMPTY_I64.flags.writeable = False
_EMPTY_F64 = np.empty(0, dtype=np.float64)
_EMPTY_F64.flags.writeable = False


class SymbolBlocks:
    """``views[symbol][name]`` is a read-only 1-D array: int64 ns for time columns, float64 otherwise.

    ``bases[name]`` holds every symbol's rows (symbol ``universe[g]`` at ``offsets[g]:offsets[g + 1]``),
    ``index[symbol]`` is ``g``, and ``pit`` counts arrived rows per symbol.
    """

    __slots__ = ("bases", "fields", "index", "offsets", "pit", "time_columns", "views")

    def __init__(
        self,
        views: dict[str, dict[str, np.ndarray]],
        bases: dict[str, np.ndarray],
        offsets: np.ndarray,
        time_columns: tuple[str, ...],
        fields: tuple[str, ...],
    ) -> None:
        self.views = views
        self.bases = bases
        self.offsets = offsets
        self.index = {symbol: g for g, symbol in enumerate(views)}
        self.time_columns = time_columns
        self.fields = fields
        self.pit = PitIndex(bases["ts_arrival"], offsets)


def _readonly(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def build_blocks(
    frame: pl.DataFrame,
    universe: Sequence[str],
    *,
    time_columns: Sequence[str],
    order_by: Sequence[str],
    fields: Sequence[str],
) -> SymbolBlocks:
    """Slice ``frame`` into per-symbol read-only arrays, rows ordered by ``order_by`` within a symbol.

    ``time_columns`` (``TS_DTYPE``) become int64 ns; ``fields`` (numeric or boolean) become float64 with
    NaN for nulls. Symbols of ``universe`` without rows get empty arrays. ``universe`` must be sorted and
    contain every symbol of ``frame`` (so the bases' symbol order is the universe's).
    """
    if list(universe) != sorted(universe):
        raise AssertionError("build_blocks: universe must be sorted")
    ordered = frame.sort(["symbol", *order_by], maintain_order=True)
    counts = ordered.group_by("symbol", maintain_order=True).len()
    bounds: dict[str, tuple[int, int]] = {}
    start = 0
    for symbol, count in counts.iter_rows():
        bounds[symbol] = (start, start + count)
        start += count
    bases: dict[str, np.ndarray] = {}
    for name in time_columns:
        bases[name] = _readonly(np.ascontiguousarray(ordered[name].cast(pl.Int64).to_numpy(), dtype=np.int64))
    for name in fields:
        values = ordered[name].cast(pl.Float64).fill_null(float("nan")).to_numpy()
        bases[name] = _readonly(np.ascontiguousarray(values, dtype=np.float64))
    missing = set(bounds) - set(universe)
    if missing:
        raise AssertionError(f"build_blocks: symbols outside the universe: {sorted(missing)[:5]}")
    views: dict[str, dict[str, np.ndarray]] = {}
    offsets = np.zeros(len(universe) + 1, dtype=np.int64)
    for g, symbol in enumerate(universe):
        lo, hi = bounds.get(symbol, (int(offsets[g]), int(offsets[g])))
        offsets[g + 1] = hi
        if hi > lo:
            views[symbol] = {name: base[lo:hi] for name, base in bases.items()}
        else:
            views[symbol] = {name: _EMPTY_I64 if name in time_columns else _EMPTY_F64 for name in bases}
    return SymbolBlocks(views, bases, _readonly(offsets), tuple(time_columns), tuple(fields))

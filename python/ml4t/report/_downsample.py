"""Display downsampling: min/max buckets, so a plot of a million bars stays a few thousand points.

The rule: a series of ``n`` points longer than ``max_points`` is cut into ``max_points // 2`` buckets of equal
length (in points, in time order); each bucket keeps the index of its smallest and of its largest value, in
time order (one index when they coincide), and the first and last points are always kept. So every peak and
every trough of the curve survives (a drawdown's bottom is never smoothed away), which an average or a stride
would lose. NaN values are skipped when a bucket has any other value; a bucket of NaN keeps its first point
(so a gap stays a gap). Only what is drawn is downsampled; the ``Result`` keeps every bar.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

__all__ = ["DEFAULT_MAX_POINTS", "downsampled", "minmax_indices"]

DEFAULT_MAX_POINTS = 4000
"""Points per drawn series unless a caller asks otherwise: enough for a full-width screen, small enough that
a report of a million-bar run stays a few MB."""


def minmax_indices(values: np.ndarray, max_points: int = DEFAULT_MAX_POINTS) -> np.ndarray:
    """The sorted indices of ``values`` (1-D, float) to draw: all of them when there are at most
    ``max_points``, else each bucket's min and max plus the first and last (see the module docstring)."""
    y = np.asarray(values, dtype=np.float64)
    n = y.shape[0]
    if max_points < 4:
        raise ValueError(f"max_points must be at least 4, got {max_points}")
    if n <= max_points:
        return np.arange(n, dtype=np.int64)
    n_buckets = max_points // 2
    edges = np.linspace(0, n, n_buckets + 1).astype(np.int64)
    width = int(np.max(np.diff(edges)))
    # pad every bucket to the widest one; padding never wins a min or a max
    starts = edges[:-1]
    offsets = np.arange(width)
    index = starts[:, None] + offsets[None, :]
    inside = index < edges[1:, None]
    index = np.minimum(index, n - 1)
    block = y[index]
    missing = np.isnan(block) | ~inside
    low = np.where(missing, np.inf, block).argmin(axis=1)
    high = np.where(missing, -np.inf, block).argmax(axis=1)
    rows = np.arange(n_buckets)
    picks = np.concatenate([index[rows, low], index[rows, high], [0, n - 1]])
    return np.unique(picks)


def downsampled(ts: pl.Series, values: np.ndarray, max_points: int) -> tuple[list[Any], np.ndarray]:
    """The points of a line over ``ts`` to draw: the times and values at :func:`minmax_indices`."""
    keep = minmax_indices(values, max_points)
    return ts.gather(keep).to_list(), values[keep]

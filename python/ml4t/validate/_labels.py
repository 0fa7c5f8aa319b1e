""":func:`forward_returns`: the label frame of supervised learning on bars, with the time each label is about.

A label reads the future by construction: the return from a bar to a later bar. It belongs to *training* (the
``y`` of a model fitted on a walk-forward or cpcv training set, purged by its ``label_end``), never to a
strategy's rules, where it would be lookahead.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from ml4t._time import TS_DTYPE
from ml4t.errors import ConfigError, DataError
from ml4t.validate._timeline import Length, fail_at, parse_length, read_dataset

__all__ = ["forward_returns"]


def forward_returns(bars: Any, horizon: int | str | Any, *, price: str = "close") -> pl.DataFrame:
    """The forward return of every row over ``horizon``, per symbol: the label frame of a model on bars.

    A label reads the future by construction (it is about ``label_end``, after the row's ``ts_event``): use it as
    the target of a model trained on a split's training rows, never inside a strategy's rules. Purge on it with
    ``walk_forward(..., purge="label_end")`` / ``cpcv(..., purge="label_end")`` on this frame (its rows are the
    input's rows, in the same order, so the split positions index the features too).

    Parameters
    ----------
    bars:
        ``ml4t.data.Bars``, or a Polars DataFrame with ``ts_event``, ``ts_arrival`` (UTC, ``ts_event``
        ascending), the ``price`` column and optionally ``symbol`` (one ``ts_event`` per symbol at most).
    horizon:
        An int ``k >= 1``: the symbol's ``k``-th next row. A duration (``"5d"``, a timedelta): the price at
        ``ts_event + horizon``, i.e. the symbol's last row at or before that time (as-of).
    price:
        The price column (positive and finite where not null).

    Returns
    -------
    polars.DataFrame
        One row per input row, in its order: ``ts_event, ts_arrival, [symbol,] label, label_end``.
        ``label = price(label_end) / price - 1``, null when not known within the data (the horizon runs past
        the symbol's last row) or a price is null. ``label_end`` is the time the label is about: the ``k``-th
        next row's ``ts_event`` (past the symbol's last row: its last ``ts_event`` plus its median spacing for
        each row beyond), or ``ts_event + horizon``; never null, so purging works on every row.
    """
    frame, tl = read_dataset(bars, argument="bars")
    length = parse_length(horizon, argument="horizon")
    if price not in frame.columns:
        raise ConfigError(f"no price column {price!r}; the data have {frame.columns}", argument="price", column=price)
    if not frame.schema[price].is_numeric():
        raise ConfigError(
            f"price column {price!r} is {frame.schema[price]}, not numeric", argument="price", column=price
        )
    series = frame[price].cast(pl.Float64)
    values = series.fill_null(np.nan).to_numpy()
    has_symbol = "symbol" in frame.columns
    if has_symbol:
        codes = frame["symbol"].cast(pl.String).rank("dense").cast(pl.Int64).to_numpy() - 1
    else:
        codes = np.zeros(frame.height, dtype=np.int64)
    bad = np.flatnonzero((series.is_not_null() & ~(series.is_finite() & (series > 0))).to_numpy())
    first = f" (first {values[int(bad[0])]!r})" if bad.size else ""
    message = f"prices must be positive and finite; {bad.size} row(s) are not{first}"
    fail_at(bad, message, tl.event, tl.symbol, argument="bars", column=price)
    label = np.full(frame.height, np.nan)
    label_end = np.empty(frame.height, dtype=np.int64)
    for rows in np.split(np.argsort(codes, kind="stable"), np.cumsum(np.bincount(codes))[:-1]):
        _symbol_labels(rows, tl.event[rows], values[rows], length, tl.step, label, label_end, tl.symbol_of)
    out = frame.select(pl.col("ts_event").cast(TS_DTYPE), pl.col("ts_arrival").cast(TS_DTYPE))
    if has_symbol:
        out = out.with_columns(frame["symbol"].cast(pl.String))
    return out.with_columns(
        pl.Series("label", label, dtype=pl.Float64, nan_to_null=True),
        pl.Series("label_end", label_end).cast(TS_DTYPE),
    )


def _symbol_labels(
    rows: np.ndarray,
    events: np.ndarray,
    prices: np.ndarray,
    horizon: Length,
    step: int,
    label: np.ndarray,
    label_end: np.ndarray,
    symbol_of: Any,
) -> None:
    """Fill ``label`` and ``label_end`` at one symbol's ``rows`` (ascending, so in time order)."""
    same = np.flatnonzero(np.diff(events) == 0)
    if same.size:
        row = int(rows[same[0] + 1])
        raise DataError(
            "two rows of one symbol share a ts_event: its forward return is ambiguous",
            argument="bars",
            column="ts_event",
            symbol=symbol_of(row),
            timestamp=int(events[same[0]]),
        )
    last = events.size - 1
    if horizon.kind == "bars":
        ahead = np.arange(events.size) + horizon.value
        own_step = int(np.median(np.diff(events))) if events.size > 1 else step
        label_end[rows] = events[np.minimum(ahead, last)] + np.maximum(ahead - last, 0) * own_step
        known = ahead <= last
    else:
        ends = horizon.later(events)
        label_end[rows] = ends
        ahead = np.searchsorted(events, ends, side="right") - 1
        known = ends <= events[last]
    label[rows[known]] = prices[ahead[known]] / prices[known] - 1.0

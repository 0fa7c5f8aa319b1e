"""Model vintages: the training cut-off of the model that made each prediction (for :func:`ml4t.data.signals`).

A model retrained over time has several vintages. ``signals(..., train_end=)`` takes the cut-off in one of
three forms, and this module turns the two per-row forms into one ``train_end`` per row:

* one datetime: every row was made by the same model (kept as a scalar by :class:`ml4t.data.Signals`);
* a column name: each row carries the training cut-off of the model that made it;
* a vintage table (a DataFrame with ``ts_available``, when a model could first be used, and ``train_end``):
  each row gets the vintage that was available when the row arrived, the latest ``ts_available <=
  ts_arrival`` (the row's own arrival, before any embargo). A row arriving before every vintage has no model
  and is a :class:`ml4t.DataError`.

Per row, a prediction cannot arrive before its model's training window ended (``ts_arrival < train_end``:
the model did not exist yet, so the row used the future; :class:`ml4t.LeakageError`, never allowed), and, as
with one datetime, a prediction about an event inside its model's training window (``ts_event <= train_end +
embargo``) is in-sample (``signals`` raises unless ``allow_in_sample``).
"""

from __future__ import annotations

import sys
from typing import Any

import polars as pl

from ml4t._ns import format_ns
from ml4t._time import TS_DTYPE
from ml4t.data._normalize import coerce_frame, first_offender, rows_text, to_utc
from ml4t.data._validate import check_no_null_times
from ml4t.errors import DataError, LeakageError

__all__ = ["TRAIN_END", "check_model_existed", "is_vintage_table", "lookup_vintages", "vintage_table"]

TRAIN_END = "train_end"
"""The reserved column of a canonical signal frame holding each row's training cut-off."""

_TABLE_COLUMNS = ("ts_available", TRAIN_END)


def is_vintage_table(value: Any) -> bool:
    """True for a Polars (eager or lazy) or pandas DataFrame."""
    if isinstance(value, (pl.DataFrame, pl.LazyFrame)):
        return True
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(value, pd.DataFrame)


def vintage_table(table: Any, *, tz: str | None) -> pl.DataFrame:
    """The vintage table as ``ts_available, train_end`` (``TS_DTYPE``), sorted by ``ts_available``.

    Other columns (a model id, a score) are ignored. An empty table, a missing column, a null time, two
    vintages available at the same instant (which one made a row arriving then?) and a vintage available
    before its own training window ended are :class:`ml4t.DataError` naming the column and the time.
    """
    frame = coerce_frame(table, index_name="ts_available")
    missing = [name for name in _TABLE_COLUMNS if name not in frame.columns]
    if missing:
        raise DataError(
            f"the vintage table has no column {missing[0]!r}; it needs ts_available (when each model could "
            f"first be used) and train_end (the end of its training window), and has {frame.columns}",
            argument="train_end",
            column=missing[0],
        )
    if frame.height == 0:
        raise DataError("the vintage table is empty", argument="train_end")
    # to_utc and the row checks name a symbol; a vintage has none
    frame = frame.select(*_TABLE_COLUMNS).with_columns(pl.lit(None, dtype=pl.String).alias("symbol"))
    times = {name: to_utc(frame, name, tz=tz) for name in _TABLE_COLUMNS}
    for name, series in times.items():
        try:
            check_no_null_times(frame, series, name)
        except DataError as exc:
            raise exc.replace(argument="train_end") from None
    frame = pl.DataFrame([*times.values(), frame["symbol"]]).sort("ts_available")
    count, stamp, _ = first_offender(frame, pl.col("ts_available").is_duplicated(), "ts_available")
    if count:
        raise DataError(
            f"{rows_text(count)} of the vintage table share a ts_available: which model made a prediction "
            "arriving then? give each vintage its own time",
            argument="train_end",
            column="ts_available",
            timestamp=stamp,
        )
    count, stamp, _ = first_offender(frame, pl.col("ts_available") < pl.col(TRAIN_END), "ts_available")
    if count:
        raise DataError(
            f"{rows_text(count)} of the vintage table are available before their training window ended "
            "(ts_available < train_end): such a model cannot exist",
            argument="train_end",
            column="ts_available",
            timestamp=stamp,
        )
    return frame.select(*_TABLE_COLUMNS)


def lookup_vintages(frame: pl.DataFrame, table: pl.DataFrame) -> pl.Series:
    """Each row's ``train_end``: that of the latest vintage with ``ts_available <= ts_arrival`` (``frame``
    has ``ts_event``, ``ts_arrival`` (before any embargo) and ``symbol``; ``table`` is a
    :func:`vintage_table`). A row arriving before the first vintage is a DataError naming its symbol and
    ``ts_event`` (the first such row in time order)."""
    first_ns = table["ts_available"].cast(pl.Int64)[0]
    count, stamp, symbol = first_offender(frame, pl.col("ts_arrival").cast(pl.Int64) < first_ns)
    if count:
        raise DataError(
            f"{rows_text(count)} arrive before the first model vintage was available "
            f"({format_ns(first_ns)}): no model could have made them; add the vintage that did, or "
            "drop the rows",
            argument="train_end",
            column="ts_arrival",
            symbol=symbol,
            timestamp=stamp,
        )
    order = "__vintage_row"
    joined = (
        frame.select("ts_arrival")
        .with_row_index(order)
        .sort("ts_arrival")
        .join_asof(table, left_on="ts_arrival", right_on="ts_available", strategy="backward")
        .sort(order)
    )
    return joined[TRAIN_END].cast(TS_DTYPE)


def check_model_existed(frame: pl.DataFrame, *, column: str) -> None:
    """Refuse rows whose prediction arrived before its model's training window ended (``ts_arrival <
    train_end``; ``frame`` has ``ts_event``, ``ts_arrival`` before any embargo, ``symbol`` and ``train_end``):
    the model that made them did not exist yet, so they were made with the future (LeakageError, not
    something ``allow_in_sample`` can keep)."""
    count, stamp, symbol = first_offender(frame, pl.col("ts_arrival") < pl.col(TRAIN_END))
    if count:
        late = frame.filter(pl.col("ts_arrival") < pl.col(TRAIN_END)).sort("ts_event", "symbol")
        arrival, cut = (late[name].cast(pl.Int64)[0] for name in ("ts_arrival", TRAIN_END))
        raise LeakageError(
            f"{rows_text(count)} arrive before the training window of the model that made them ended "
            f"(ts_arrival < train_end; the first arrives at {format_ns(arrival)}, its model trained until "
            f"{format_ns(cut)}): that model did not exist yet, so the prediction used the "
            "future",
            argument="train_end",
            column=column,
            symbol=symbol,
            timestamp=stamp,
        )

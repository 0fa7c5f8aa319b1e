"""Wide frames: a date x symbol frame of closes (as skfolio, yfinance and vectorbt users hold prices) turned
into the long frame :func:`ml4t.data.bars` validates.

A wide frame has one timestamp column (or a pandas ``DatetimeIndex``) and one numeric column per symbol, named
by the symbol (the name is kept exactly: ``"BRK.B"`` stays ``"BRK.B"``). Each non-missing cell becomes one
close-only bar; a missing cell (null, or NaN, pandas' missing value) is *no bar*: before a listing, after a
delisting, a gap. No row is made for it, and no price is carried forward into it.

It is recognised without being asked (``wide=None``) when no column is named ``symbol``, ``close``, ``open``,
``high`` or ``low`` (case-insensitively) and every column but the timestamp holds numbers; ``wide="close"``
asks for it explicitly (needed when a ticker is spelt like one of those names, e.g. ``LOW`` or ``OPEN``), and
then every column but the timestamp is a symbol and a column that is not numeric is an error naming it.
"""

from __future__ import annotations

from typing import Literal

import polars as pl

from ml4t.data._normalize import snake_case
from ml4t.errors import ConfigError, DataError

__all__ = ["WIDE_FIELDS", "from_wide", "maybe_wide"]

#: What the cells of a wide frame may hold. Only closes: a wide frame has one number per (date, symbol).
WIDE_FIELDS = ("close",)
_TIMESTAMPS = ("timestamp", "ts_event", "datetime", "date", "time")
_LONG_MARKERS = ("symbol", "close", "open", "high", "low")


def maybe_wide(frame: pl.DataFrame, wide: str | None) -> bool:
    """Whether :func:`from_wide` would read ``frame`` as wide (or refuse it as neither long nor wide): asked to,
    or no column named like a long frame's ``symbol`` / price columns."""
    return wide is not None or not any(snake_case(name) in _LONG_MARKERS for name in frame.columns)


def from_wide(
    frame: pl.DataFrame, *, wide: Literal["close"] | None, timestamp: str | None, symbol: str | None
) -> tuple[pl.DataFrame, str | None]:
    """``(long frame, timestamp column)`` when ``frame`` is wide (or ``wide=`` says it is), else
    ``(frame, timestamp)`` unchanged. The long frame has the timestamp column, ``symbol`` and ``close``."""
    if wide is not None and wide not in WIDE_FIELDS:
        raise ConfigError(f"wide must be 'close' (a frame of closes) or None, got {wide!r}", argument="wide")
    if not maybe_wide(frame, wide):
        return frame, timestamp
    time = _time_column(frame, timestamp)
    if time is None:
        if wide is None:
            return frame, timestamp  # neither: the long pipeline names the missing timestamp and columns
        raise DataError(
            f"a wide frame needs one timestamp column (one of {list(_TIMESTAMPS)}, a pandas DatetimeIndex, or "
            f"timestamp=); the frame has {frame.columns}",
            argument="frame",
            column="timestamp",
        )
    values = [name for name in frame.columns if name != time]
    odd = [name for name in values if not frame.schema[name].is_numeric()]
    if not values or odd:
        if wide is None and not values:
            return frame, timestamp
        detail = "no symbol column" if not values else f"the column(s) {odd} are not numeric ({frame.schema[odd[0]]})"
        raise DataError(
            "the frame is neither long bars (a 'close' column, and 'symbol' for several assets) nor a wide "
            f"date x symbol frame of closes ({detail}); it has {frame.columns}",
            argument="frame",
            column=odd[0] if odd else None,
        )
    if symbol is not None:
        raise ConfigError(
            f"symbol={symbol!r} was given but the frame is wide: its columns {_preview(values)} name the symbols",
            argument="symbol",
        )
    empty = [name for name in values if frame[name].cast(pl.Float64).fill_nan(None).null_count() == frame.height]
    if empty:
        raise DataError(
            f"the wide frame's column has no value at any timestamp, so the symbol has no bar ({len(empty)} "
            "such column(s)); drop it",
            argument="frame",
            column=empty[0],
            symbol=empty[0],
        )
    long = (
        frame.lazy()
        .unpivot(index=time, on=values, variable_name="symbol", value_name="close")
        .with_columns(pl.col("close").cast(pl.Float64).fill_nan(None))
        .filter(pl.col("close").is_not_null())
        .collect()
    )
    return long, time


def _time_column(frame: pl.DataFrame, timestamp: str | None) -> str | None:
    """The timestamp column's name as the frame spells it: ``timestamp=`` (matched like the long pipeline
    does), else the one column named like a timestamp, else the one temporal column; None when not found."""
    if timestamp is not None:
        for name in frame.columns:
            if name == timestamp or snake_case(name) == snake_case(timestamp):
                return name
        raise DataError(
            f"timestamp column {timestamp!r} not found; the frame has {frame.columns}",
            argument="timestamp",
            column=timestamp,
        )
    named = [name for name in frame.columns if snake_case(name) in _TIMESTAMPS]
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        raise DataError(
            f"ambiguous timestamp: the frame has several candidate columns {named}; name the one to use with "
            "timestamp=",
            argument="timestamp",
            column=named[0],
        )
    temporal = [name for name, dtype in frame.schema.items() if dtype.is_temporal()]
    return temporal[0] if len(temporal) == 1 else None


def _preview(names: list[str], limit: int = 5) -> str:
    return "[" + ", ".join(names[:limit]) + (", ...]" if len(names) > limit else "]")

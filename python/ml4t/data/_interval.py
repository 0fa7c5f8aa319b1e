"""Bar intervals: the ``ts_start`` column of :class:`ml4t.data.Bars`.

A bar stamped ``ts_event = t`` covers ``(ts_start, t]``: its open is the first price after ``ts_start``, its
close the last one at ``t``. The engines match an order against a bar only if the order reached the market at
or before the bar's ``ts_start`` (DESIGN.md section 3), so ``ts_start`` decides which open a decision can get.

How ``ts_start`` is set, in this order:

* the frame has a ``ts_start`` column (e.g. ``Bars.frame`` read back): it is kept, converted like
  ``ts_event`` and checked (never null, never after ``ts_event``, never before the symbol's previous bar);
* date-only bars (``Date`` values, ``"2020-01-02"`` strings, or naive datetimes all at midnight as pandas and
  yfinance give daily data): the session open of their date in ``tz``. With ``session_close`` the session
  opens at ``session_open`` (default ``"09:30"``, US equities); an open at or after the close is an overnight
  session that opened the previous day (``session_open="18:00", session_close="17:00"`` for CME futures).
  Without ``session_close`` the date's bar is stamped at local midnight and starts there too (a zero-length
  interval: the day's trading all comes after the stamp);
* any other bar: ``t - freq``, where ``freq`` is ``freq=`` when given, else the symbol's most common spacing
  (the whole frame's when the symbol has a single bar), but never before the symbol's previous bar (bars of
  one symbol do not overlap, so irregular data starts at its previous bar's stamp). A frame in which no
  symbol has two bars and no ``freq=`` is given gets zero-length intervals (``ts_start = t``).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from ml4t._time import NS_PER_DAY, TS_DTYPE
from ml4t.data._normalize import parse_session_close
from ml4t.data._validate import _raise_if
from ml4t.errors import ConfigError

__all__ = ["DEFAULT_SESSION_OPEN", "check_starts", "is_midnight_naive", "regular_starts", "session_open_ns"]

DEFAULT_SESSION_OPEN = dt.time(9, 30)


def is_midnight_naive(series: pl.Series) -> bool:
    """Naive datetimes that are all at midnight (how pandas, yfinance, skfolio and arch give daily data)."""
    dtype = series.dtype
    if not isinstance(dtype, pl.Datetime) or dtype.time_zone is not None:
        return False
    values = series.drop_nulls()
    return values.len() > 0 and bool((values.dt.truncate("1d") == values).all())


def session_open_ns(session_open: str | dt.time | None, close_ns: int | None) -> int | None:
    """Nanoseconds after local midnight at which a date-only bar's session opens (None: the stamp itself)."""
    if session_open is not None and close_ns is None:
        raise ConfigError("session_open needs session_close (date-only bars)", argument="session_open")
    if close_ns is None:
        return None
    if session_open is None:
        open_ns = parse_session_close(DEFAULT_SESSION_OPEN)
    else:
        try:
            open_ns = parse_session_close(session_open)
        except ConfigError as exc:
            message = exc.message.replace("session_close", "session_open")
            raise exc.replace(message=message, argument="session_open") from None
    assert open_ns is not None
    # An open at or after the close is an overnight session (futures, FX): it opened the previous day.
    return open_ns - NS_PER_DAY if open_ns >= close_ns else open_ns


def regular_starts(frame: pl.DataFrame, freq_ns: int | None) -> pl.Expr:
    """``max(t - freq, previous t)`` per symbol (see the module docstring); ``frame`` is sorted within symbols."""
    ts = pl.col("ts_event").cast(pl.Int64)
    if freq_ns is None:
        gaps = frame.select(pl.col("symbol"), ts.diff().over("symbol").alias("gap")).drop_nulls("gap")
        counts = gaps.filter(pl.col("gap") > 0).group_by("symbol", "gap").len()
        best = counts.sort(["symbol", "len", "gap"], descending=[False, True, False]).unique("symbol", keep="first")
        overall = counts.group_by("gap").agg(pl.col("len").sum()).sort(["len", "gap"], descending=[True, False])
        fallback = int(overall["gap"][0]) if overall.height else 0
        mapping = dict(zip(best["symbol"].to_list(), best["gap"].to_list(), strict=True))
        length = pl.col("symbol").replace_strict(mapping, default=fallback, return_dtype=pl.Int64)
    else:
        length = pl.lit(freq_ns, dtype=pl.Int64)
    start = pl.max_horizontal(ts - length, ts.shift(1).over("symbol"))
    return start.cast(TS_DTYPE).alias("ts_start")


def check_starts(frame: pl.DataFrame) -> None:
    """``ts_start`` is never null, never after ``ts_event``, never before the symbol's previous bar."""
    start = pl.col("ts_start")
    if frame["ts_start"].is_null().any():
        _raise_if(frame, start.is_null(), "null bar starts", "ts_start")
    _raise_if(frame, start > pl.col("ts_event"), "ts_start is after ts_event (a bar ends at its stamp)", "ts_start")
    _raise_if(
        frame,
        start < pl.col("ts_event").shift(1).over("symbol"),
        "ts_start is before the symbol's previous bar (bars of one symbol do not overlap)",
        "ts_start",
    )

"""The timeline the splitters of :mod:`ml4t.validate` cut: a validated dataset's times, lengths and label horizons.

A dataset is a Polars DataFrame with ``ts_event`` and ``ts_arrival`` (Datetime, UTC, no nulls, ``ts_event``
ascending, ``ts_arrival >= ts_event``) and optionally ``symbol`` (a panel: several rows per timestamp), or an
``ml4t.data.Bars`` / ``Signals`` (their ``.frame``). Row positions refer to that frame's order.

Times inside are int64 nanoseconds UTC. The *timeline* is the ascending distinct ``ts_event`` values; because
``ts_event`` is sorted, the rows of the timestamps ``times[a:b]`` are the contiguous rows
``first_row[a]:first_row[b]``, so every block of time is a slice of rows.

Lengths (:class:`Length`) are an int, a number of distinct timestamps ("bars"), a duration (a string such as
``"5d"`` or a ``timedelta``, :func:`ml4t._time.parse_duration`), or calendar months and years (``"6mo"``,
``"3y"``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Literal, overload

import numpy as np
import polars as pl

from ml4t._time import format_duration, parse_duration
from ml4t._validate import is_integer
from ml4t.data import Bars, Signals
from ml4t.errors import ConfigError, DataError

__all__ = ["Length", "Timeline", "fail_at", "label_ends", "parse_length", "read_dataset"]


_CALENDAR = re.compile(r"^\s*(\d+)\s*(mo|y)\s*$")


@dataclass(frozen=True)
class Length:
    """A length of time: ``kind="bars"`` counts distinct timestamps, ``kind="time"`` is int64 nanoseconds,
    ``kind="months"`` calendar months (``"6mo"``, ``"3y"``: a month later is the same day of the next month,
    clamped to its last day, in UTC)."""

    kind: Literal["bars", "time", "months"]
    value: int

    def __str__(self) -> str:
        if self.kind == "time":
            return format_duration(self.value)
        if self.kind == "months":
            return f"{self.value // 12}y" if self.value and self.value % 12 == 0 else f"{self.value}mo"
        return f"{self.value} bar" if self.value == 1 else f"{self.value} bars"

    @overload
    def later(self, ns: int, times: int = 1) -> int: ...
    @overload
    def later(self, ns: np.ndarray, times: int = 1) -> np.ndarray: ...
    def later(self, ns: int | np.ndarray, times: int = 1) -> int | np.ndarray:
        """``ns`` (int64 ns, a scalar or an array) moved by ``times`` of this length (negative: earlier); for
        lengths of time only (bars are positions on a timeline, not times)."""
        if self.kind == "time":
            return ns + times * self.value
        assert self.kind == "months", "a length in bars has no time"
        moved = (
            pl.Series(np.atleast_1d(np.asarray(ns, dtype=np.int64)))
            .cast(pl.Datetime("ns", "UTC"))
            .dt.offset_by(f"{times * self.value}mo")
            .cast(pl.Int64)
            .to_numpy()
        )
        return int(moved[0]) if isinstance(ns, (int, np.integer)) else moved


def parse_length(value: object, *, argument: str, minimum: int = 1) -> Length:
    """``value`` as a :class:`Length`: an int (NumPy's too, not a bool) of at least ``minimum`` bars, a
    calendar length (``"6mo"``, ``"2y"``), or a duration (string or timedelta) of at least ``minimum``
    nanoseconds; anything else is a ConfigError naming ``argument``."""
    if is_integer(value):
        if value < minimum:
            raise ConfigError(
                f"{argument} must be at least {minimum} bar{'' if minimum == 1 else 's'}, got {value!r}",
                argument=argument,
            )
        return Length("bars", int(value))
    calendar = _CALENDAR.match(value.lower()) if isinstance(value, str) else None
    if calendar is not None:
        months = int(calendar.group(1)) * (12 if calendar.group(2) == "y" else 1)
        if months < minimum:
            raise ConfigError(f"{argument} must be a positive length, got {value!r}", argument=argument)
        return Length("months", months)
    if isinstance(value, (str, dt.timedelta)):
        ns = parse_duration(value, argument=argument)
        if ns < minimum:
            raise ConfigError(f"{argument} must be a positive duration, got {value!r}", argument=argument)
        return Length("time", ns)
    raise ConfigError(
        f"{argument} must be a number of bars (int), a duration (e.g. '5d' or a timedelta) or a calendar length "
        f"('6mo', '2y'), got {value!r}",
        argument=argument,
    )


@dataclass(frozen=True, eq=False)
class Timeline:
    """The times of a validated dataset (see the module docstring), as int64 ns arrays.

    Attributes
    ----------
    event, arrival:
        Each row's ``ts_event`` and ``ts_arrival``.
    times:
        The distinct ``ts_event`` values, ascending.
    index:
        Each row's position in ``times``.
    first_row:
        ``len(times) + 1`` row positions: the rows of ``times[t]`` are ``first_row[t]:first_row[t + 1]``.
    symbol:
        Each row's symbol when the dataset has a ``symbol`` column (for error messages), else None.
    """

    event: np.ndarray
    arrival: np.ndarray
    times: np.ndarray
    index: np.ndarray
    first_row: np.ndarray
    symbol: pl.Series | None

    @property
    def n_rows(self) -> int:
        return int(self.event.size)

    @property
    def n_times(self) -> int:
        return int(self.times.size)

    @property
    def step(self) -> int:
        """The median spacing of consecutive timestamps (ns, rounded down); 0 with a single timestamp."""
        return int(np.median(np.diff(self.times))) if self.times.size > 1 else 0

    def at(self, ns: int) -> int:
        """The position in ``times`` of the first timestamp at or after ``ns``."""
        return int(np.searchsorted(self.times, ns, side="left"))

    def symbol_of(self, row: int) -> str | None:
        return None if self.symbol is None else str(self.symbol[row])


def read_dataset(data: object, *, argument: str = "data") -> tuple[pl.DataFrame, Timeline]:
    """The frame of ``data`` (a Polars DataFrame, ``Bars`` or ``Signals``) and its :class:`Timeline`.

    Raises a ConfigError for another type, and a DataError naming the column (and the symbol and timestamp of
    the first offending row) for a missing time column, a time column that is not a tz-aware UTC Datetime, a
    null time, ``ts_event`` out of ascending order, or ``ts_arrival < ts_event``.
    """
    if isinstance(data, (Bars, Signals)):
        frame = data.frame
    elif isinstance(data, pl.DataFrame):
        frame = data
    else:
        raise ConfigError(
            f"{argument} must be a Polars DataFrame with ts_event and ts_arrival, or ml4t Bars or Signals; "
            f"got {type(data).__name__}",
            argument=argument,
        )
    if frame.height == 0:
        raise DataError(f"{argument} has no rows", argument=argument)
    symbol = frame["symbol"].cast(pl.String) if "symbol" in frame.columns else None
    event = _time_column(frame, "ts_event", argument)
    arrival = _time_column(frame, "ts_arrival", argument)
    back = np.flatnonzero(np.diff(event) < 0) + 1
    if back.size:
        row = int(back[0])
        fail_at(
            back,
            f"ts_event must be ascending (row {row} is earlier than row {row - 1}); sort the rows by time, e.g. "
            "frame.sort('ts_event', 'symbol'), and use the same order for the features and labels",
            event,
            symbol,
            argument=argument,
            column="ts_event",
        )
    early = np.flatnonzero(arrival < event)
    fail_at(
        early,
        f"ts_arrival is before ts_event in {early.size} row(s): information cannot arrive before the time it is about",
        event,
        symbol,
        argument=argument,
        column="ts_arrival",
    )
    times, first, index = np.unique(event, return_index=True, return_inverse=True)
    first_row = np.append(first, event.size).astype(np.int64)
    return frame, Timeline(event, arrival, times, index.astype(np.int64), first_row, symbol)


def fail_at(
    rows: np.ndarray, message: str, event: np.ndarray, symbol: pl.Series | None, *, argument: str, column: str
) -> None:
    """Raise a DataError with ``message`` naming the first of the offending ``rows`` (positions): its symbol
    and ``ts_event``; nothing when there are none."""
    if rows.size:
        row = int(rows[0])
        raise DataError(
            message,
            argument=argument,
            column=column,
            symbol=None if symbol is None else str(symbol[row]),
            timestamp=int(event[row]),
        )


def _time_column(frame: pl.DataFrame, column: str, argument: str) -> np.ndarray:
    """A UTC Datetime column as int64 ns (a DataError when absent, of another dtype or with nulls)."""
    if column not in frame.columns:
        raise DataError(
            f"{argument} has no {column!r} column; it has {frame.columns}", argument=argument, column=column
        )
    return utc_ns(frame[column], argument=argument)


def utc_ns(series: pl.Series, *, argument: str) -> np.ndarray:
    """A tz-aware UTC Datetime series without nulls as int64 ns; a DataError naming ``argument`` and the
    column otherwise."""
    dtype = series.dtype
    column = series.name
    if not isinstance(dtype, pl.Datetime):
        raise DataError(f"{column!r} must be a Datetime column in UTC, got {dtype}", argument=argument, column=column)
    if dtype.time_zone != "UTC":
        what = "naive (no time zone)" if dtype.time_zone is None else f"in time zone {dtype.time_zone!r}"
        raise DataError(
            f"{column!r} is {what}; ml4t's times are UTC (convert with .dt.replace_time_zone('UTC') for naive UTC "
            "times or .dt.convert_time_zone('UTC'))",
            argument=argument,
            column=column,
        )
    nulls = series.is_null()
    if nulls.any():
        row = int(nulls.arg_max() or 0)
        raise DataError(f"{column!r} has {nulls.sum()} null(s), first in row {row}", argument=argument, column=column)
    return series.cast(pl.Datetime("ns", "UTC")).cast(pl.Int64).to_numpy().astype(np.int64, copy=False)


def label_ends(purge: Any, frame: pl.DataFrame, timeline: Timeline) -> tuple[np.ndarray, str]:
    """Each row's label end (int64 ns: ``ts_event`` plus the label horizon ``purge``) and a description of the
    horizon for reprs.

    ``purge`` is None (horizon 0: the label is about ``ts_event`` itself), an int ``k >= 0`` (the ``ts_event``
    ``k`` distinct timestamps later on the timeline, extended past its last timestamp by its median step), a
    duration, or the name of a column holding each row's label end (a UTC Datetime, never null, never before
    the row's ``ts_event``). A string that names a column of the frame is read as a column, else as a duration.
    """
    if purge is None:
        return timeline.event.copy(), "None"
    if isinstance(purge, str) and purge in frame.columns:
        ends = utc_ns(frame[purge], argument="purge")
        early = np.flatnonzero(ends < timeline.event)
        message = f"the label end is before the row's ts_event in {early.size} row(s)"
        fail_at(early, message, timeline.event, timeline.symbol, argument="purge", column=purge)
        return ends, repr(purge)
    if isinstance(purge, str):
        try:
            length = parse_length(purge, argument="purge", minimum=0)
        except ConfigError:
            raise ConfigError(
                f"purge {purge!r} is neither a column of the data (it has {frame.columns}) nor a duration (e.g. '5d')",
                argument="purge",
                column=purge,
            ) from None
    else:
        length = parse_length(purge, argument="purge", minimum=0)
    if length.kind == "bars":
        return timeline_shift(timeline, length.value), str(length)
    return length.later(timeline.event), str(length)


def timeline_shift(timeline: Timeline, k: int) -> np.ndarray:
    """Each row's ``ts_event`` ``k`` distinct timestamps later; past the last timestamp, the last one plus
    the median step for each timestamp beyond it."""
    last = timeline.n_times - 1
    target = timeline.index + k
    beyond = np.maximum(target - last, 0)
    ends: np.ndarray = timeline.times[np.minimum(target, last)] + beyond * timeline.step
    return ends

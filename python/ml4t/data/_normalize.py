"""Input coercion shared by :func:`ml4t.data.bars` and :func:`ml4t.data.signals`.

Everything here runs once, at the edge: pandas frames are converted to Polars exactly once, column names
are normalised, and timestamp columns are turned into ``pl.Datetime("ns", "UTC")`` (``TS_DTYPE``).

Timezone rules (the design contract, section 3):

* tz-aware input in any zone is converted to UTC; passing ``tz=`` as well is a :class:`ConfigError`,
  because the data already says which zone it is in and ml4t never re-interprets it silently;
* naive datetimes are rejected with a :class:`DataError` unless ``tz=`` is given, in which case they are
  localized to ``tz`` and converted to UTC; local times that do not exist or are ambiguous on a DST
  change are rejected, never guessed;
* date-only values (``pl.Date`` or ``"2020-01-02"`` strings) are naive too. They are stamped at local
  midnight of their date in ``tz``, or at ``session_close`` local time when it is given.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
import zoneinfo
from typing import Any

import polars as pl

from ml4t._time import INT64_MAX, NS_PER_SECOND, TS_DTYPE
from ml4t.errors import ConfigError, DataError, Ml4tError

__all__ = [
    "cast_ns",
    "check_shift",
    "coerce_frame",
    "first_offender",
    "normalize_names",
    "parse_session_close",
    "parse_tz",
    "rows_text",
    "snake_case",
    "to_utc",
    "with_original_column",
]

_TIME_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")


def coerce_frame(frame: Any, *, index_name: str = "timestamp") -> pl.DataFrame:
    """A Polars DataFrame from a Polars or pandas DataFrame (converted once with ``pl.from_pandas``).

    A pandas ``DatetimeIndex`` (or a ``MultiIndex``, or any named index) becomes ordinary columns; an
    unnamed ``DatetimeIndex`` is named ``index_name``. An unnamed default index is dropped.
    """
    if isinstance(frame, pl.DataFrame):
        return frame
    if isinstance(frame, pl.LazyFrame):
        return frame.collect()
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(frame, pd.DataFrame):
        if isinstance(frame.columns, pd.MultiIndex):
            first = frame.columns[0] if len(frame.columns) else ()
            raise DataError(
                f"the frame's columns are a MultiIndex ({list(frame.columns.names)}, e.g. {first!r}), as yfinance "
                "gives several tickers; select one field first (e.g. frame['Close'], a date x symbol frame of "
                "closes) or stack it into a long frame with a symbol column",
                argument="frame",
            )
        index = frame.index
        if isinstance(index, (pd.MultiIndex, pd.DatetimeIndex)) or index.name is not None:
            if isinstance(index, pd.DatetimeIndex) and index.name is None:
                if index_name in frame.columns:
                    raise DataError(
                        f"the frame has both a DatetimeIndex and a column named {index_name!r}; "
                        "name the index or pass the timestamp column explicitly",
                        argument="frame",
                        column=index_name,
                    )
                frame = frame.rename_axis(index_name)
            frame = frame.reset_index()
        return pl.from_pandas(frame)
    raise DataError(f"expected a polars or pandas DataFrame, got {type(frame).__name__}", argument="frame")


def snake_case(name: str) -> str:
    """``"Adj Close"`` -> ``"adj_close"``, ``"OpenInterest"`` -> ``"open_interest"``, ``"ts_event"`` unchanged."""
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", str(name))
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    text = re.sub(r"[^0-9A-Za-z]+", "_", text)
    return text.strip("_").lower()


def normalize_names(frame: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, str]]:
    """Rename every column to snake_case; returns the frame and ``{new_name: original_name}``.

    Two columns that normalise to one name are a DataError.
    """
    seen: dict[str, str] = {}
    for name in frame.columns:
        new = snake_case(name)
        if not new:
            raise DataError("column name has no letters or digits", argument="frame", column=name)
        if new in seen:
            raise DataError(
                f"columns {seen[new]!r} and {name!r} both normalise to {new!r}; rename one",
                argument="frame",
                column=name,
            )
        seen[new] = name
    return frame.rename({old: new for new, old in seen.items() if old != new}), seen


def with_original_column(exc: Ml4tError, originals: dict[str, str]) -> Ml4tError:
    """The same error, naming the user's original column (e.g. ``'Date'`` instead of ``'ts_event'``)."""
    original = originals.get(exc.column) if exc.column is not None else None
    if original is None or original == exc.column:
        return exc
    return exc.replace(column=original)


def parse_tz(tz: str | dt.tzinfo | None) -> str | None:
    """An IANA zone name from a string or a ``zoneinfo.ZoneInfo`` / ``datetime.UTC``; unknown -> ConfigError."""
    if tz is None:
        return None
    if isinstance(tz, zoneinfo.ZoneInfo):
        return tz.key
    if tz is dt.UTC:
        return "UTC"
    if not isinstance(tz, str):
        raise ConfigError(f"tz must be an IANA zone name such as 'America/New_York', got {tz!r}", argument="tz")
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"unknown time zone {tz!r}", argument="tz") from exc
    return tz


def parse_session_close(value: str | dt.time | None) -> int | None:
    """``"16:00"``, ``"16:00:00"`` or a naive ``datetime.time`` -> nanoseconds after local midnight."""
    if value is None:
        return None
    if isinstance(value, str):
        match = _TIME_RE.match(value)
        if match is None:
            raise ConfigError(f"session_close must look like 'HH:MM[:SS]', got {value!r}", argument="session_close")
        hour, minute, second = (int(part) if part else 0 for part in match.groups())
        if hour > 23 or minute > 59 or second > 59:
            raise ConfigError(f"session_close {value!r} is not a time of day", argument="session_close")
        value = dt.time(hour, minute, second)
    if not isinstance(value, dt.time):
        raise ConfigError(
            f"session_close must be 'HH:MM[:SS]' or a datetime.time, got {value!r}", argument="session_close"
        )
    if value.tzinfo is not None:
        raise ConfigError("session_close is a local time in tz=; give it without a tzinfo", argument="session_close")
    seconds = value.hour * 3600 + value.minute * 60 + value.second
    return seconds * NS_PER_SECOND + value.microsecond * 1_000


def first_offender(frame: pl.DataFrame, mask: pl.Expr | pl.Series, ts: str = "ts_event") -> tuple[int, Any, str | None]:
    """(count, first timestamp in time order, its symbol) of the rows where ``mask`` is true.

    The timestamp is int64 ns when the column is ``TS_DTYPE`` (exact in messages), else the raw value.
    Ties on the timestamp are broken by symbol, so the report is deterministic.
    """
    bad = frame.filter(mask)
    if bad.height == 0:
        return 0, None, None
    first = bad.sort([ts, "symbol"], nulls_last=True).head(1)
    symbol = first["symbol"].item()
    stamp: Any
    if first.schema[ts] == TS_DTYPE:
        stamp = first[ts].cast(pl.Int64).item()
    else:
        value = first[ts].item()
        stamp = value.isoformat() if isinstance(value, dt.datetime) else str(value)
    return bad.height, stamp, symbol


def rows_text(count: int) -> str:
    """``"1 row"``, ``"3 rows"``."""
    return f"{count} row" if count == 1 else f"{count} rows"


def _parse_strings(series: pl.Series, column: str) -> pl.Series:
    """Strings -> Date when every value is date-only, else Datetime (aware if they carry offsets)."""
    try:
        return series.str.strip_chars().str.to_date(strict=True, exact=True)
    except (pl.exceptions.ComputeError, pl.exceptions.InvalidOperationError):
        pass
    try:
        # parsed in microseconds first: Polars wraps a nanosecond parse of a year outside 1677-2262 around
        # silently; an out-of-range value is returned as is, and to_utc's cast_ns reports it
        wide = series.str.strip_chars().str.to_datetime(time_unit="us", strict=True)
        if wide.cast(pl.Datetime("ns", wide.dtype.time_zone), strict=False).null_count() > wide.null_count():  # type: ignore[attr-defined]
            return wide
        return series.str.strip_chars().str.to_datetime(time_unit="ns", strict=True)
    except (pl.exceptions.ComputeError, pl.exceptions.InvalidOperationError) as exc:
        raise DataError(
            "cannot parse the timestamp strings as dates or datetimes (use ISO-8601, e.g. '2020-01-02 16:00:00')",
            column=column,
        ) from exc


def parse_time_of_day(series: pl.Series, column: str) -> pl.Series | None:
    """A ``pl.Time`` series from Time or ``HH:MM[:SS]`` strings; None when the column is not a time of day."""
    if series.dtype == pl.Time:
        return series
    if series.dtype != pl.String:
        return None
    values = series.drop_nulls()
    if values.len() == 0 or not values.str.contains(r"^\s*\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*$").all():
        return None
    fmt = "%H:%M:%S%.f" if values.str.count_matches(":").max() == 2 else "%H:%M"
    try:
        return series.str.strip_chars().str.to_time(fmt, strict=True)
    except (pl.exceptions.ComputeError, pl.exceptions.InvalidOperationError) as exc:
        raise DataError("cannot parse the values as times of day (HH:MM[:SS])", column=column) from exc


def parse_date(series: pl.Series) -> pl.Series | None:
    """A ``pl.Date`` series from Date or date-only strings; None when the column is not date-only."""
    if series.dtype == pl.Date:
        return series
    if series.dtype != pl.String:
        return None
    try:
        return series.str.strip_chars().str.to_date(strict=True, exact=True)
    except (pl.exceptions.ComputeError, pl.exceptions.InvalidOperationError):
        return None


NS_RANGE_TEXT = "1677-09-21 to 2262-04-11 (the range of int64 nanoseconds)"


def cast_ns(frame: pl.DataFrame, series: pl.Series, column: str, dtype: pl.DataType) -> pl.Series:
    """``series`` cast to a nanosecond ``dtype``; values outside :data:`NS_RANGE_TEXT` (e.g. year 3000),
    which Polars would refuse with a raw error, are a DataError naming the column, symbol and first one."""
    out = series.cast(dtype, strict=False)
    lost = out.is_null() & series.is_not_null()
    if lost.any():
        probe = frame.select(pl.col("symbol"), series.alias("__ts"))
        count, stamp, symbol = first_offender(probe, lost, "__ts")
        raise DataError(
            f"timestamps outside {NS_RANGE_TEXT} in {rows_text(count)}", column=column, symbol=symbol, timestamp=stamp
        )
    return out


def check_shift(frame: pl.DataFrame, times: pl.Series, ns: int, *, argument: str, column: str) -> None:
    """Refuse to add the duration ``ns`` to ``times`` (``TS_DTYPE``) where the sum would pass 2262-04-11:
    Polars would silently wrap it around to 1677."""
    if ns <= 0 or times.is_empty():
        return
    late = times.cast(pl.Int64) > INT64_MAX - ns
    if late.any():
        probe = frame.select(pl.col("symbol"), times.alias("__ts"))
        count, stamp, symbol = first_offender(probe, late, "__ts")
        raise DataError(
            f"adding {argument} carries {rows_text(count)} past 2262-04-11 (the end of int64 nanoseconds)",
            argument=argument,
            column=column,
            symbol=symbol,
            timestamp=stamp,
        )


def to_utc(
    frame: pl.DataFrame,
    column: str,
    *,
    tz: str | None,
    session_close_ns: int | None = None,
) -> pl.Series:
    """``frame[column]`` as ``TS_DTYPE`` following the module's timezone rules.

    ``frame`` must have a String ``symbol`` column so that errors can name the symbol and the first
    offending timestamp in time order.
    """
    series = frame[column]
    if series.dtype == pl.String:
        series = _parse_strings(series, column)
    dtype = series.dtype
    date_only = dtype == pl.Date
    if session_close_ns is not None and not date_only:
        raise ConfigError(
            f"session_close only applies to date-only timestamps; column {column!r} has dtype {dtype}",
            argument="session_close",
            column=column,
        )
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        if tz is not None:
            raise ConfigError(
                f"tz={tz!r} was given but column {column!r} is already tz-aware ({dtype.time_zone}); "
                "ml4t never re-interprets aware timestamps: drop tz=",
                argument="tz",
                column=column,
            )
        return cast_ns(frame, series.dt.convert_time_zone("UTC"), column, TS_DTYPE).rename(column)
    if not (date_only or isinstance(dtype, pl.Datetime)):
        raise DataError(
            f"timestamp column has dtype {dtype}; expected datetimes, dates or ISO-8601 strings", column=column
        )
    probe = frame.select(pl.col("symbol"), series.alias("__ts"))
    if tz is None:
        kind = "date-only" if date_only else "naive"
        count, stamp, symbol = first_offender(probe, pl.col("__ts").is_not_null(), "__ts")
        raise DataError(
            f"timestamps are {kind} (no time zone) in {rows_text(count)}; pass tz= (e.g. tz='America/New_York') "
            "to localize them, or give tz-aware timestamps",
            column=column,
            symbol=symbol,
            timestamp=stamp,
        )
    local = cast_ns(frame, series, column, pl.Datetime("ns"))
    if date_only and session_close_ns:
        local = local + pl.Series([session_close_ns], dtype=pl.Duration("ns"))
    aware = local.dt.replace_time_zone(tz, ambiguous="null", non_existent="null")
    lost = aware.is_null() & local.is_not_null()
    if lost.any():
        probe = frame.select(pl.col("symbol"), local.alias("__ts"))
        count, stamp, symbol = first_offender(probe, lost, "__ts")
        raise DataError(
            f"local times that do not exist or are ambiguous in {tz} (a DST change) in {rows_text(count)}; "
            "give tz-aware timestamps for these rows",
            column=column,
            symbol=symbol,
            timestamp=stamp,
        )
    return aware.dt.convert_time_zone("UTC").cast(TS_DTYPE).rename(column)

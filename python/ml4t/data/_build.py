"""The validation pipeline of :func:`ml4t.data.bars`: a user's OHLCV frame in, the canonical frame out.

It returns plain values (:class:`Canonical`) and never imports :class:`ml4t.data.Bars`, which wraps them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, NamedTuple

import polars as pl

from ml4t._time import parse_duration
from ml4t.data._interval import check_starts, is_midnight_naive, regular_starts, session_open_ns
from ml4t.data._normalize import (
    check_shift,
    coerce_frame,
    normalize_names,
    parse_date,
    parse_session_close,
    parse_time_of_day,
    parse_tz,
    snake_case,
    to_utc,
    with_original_column,
)
from ml4t.data._validate import (
    REQUIRED_COLUMNS,
    check_arrivals,
    check_numeric,
    check_ohlcv,
    check_required,
    check_symbols,
    check_timestamps,
    with_close_only_columns,
)
from ml4t.data._wide import from_wide
from ml4t.errors import ConfigError, DataError, Ml4tError

__all__ = ["KEY_COLUMNS", "TIMESTAMP_CANDIDATES", "Canonical", "attach_symbol", "canonical", "infer_freq_ns"]

TIMESTAMP_CANDIDATES = ("timestamp", "ts_event", "datetime", "date", "time")
KEY_COLUMNS = ("ts_event", "ts_arrival", "ts_start", "symbol")


class Canonical(NamedTuple):
    """What :class:`ml4t.data.Bars` holds: the canonical long frame, the sorted universe, the declared ``freq``."""

    frame: pl.DataFrame
    symbols: tuple[str, ...]
    freq_ns: int | None


def canonical(
    frame: Any,
    *,
    tz: str | dt.tzinfo | None = None,
    label: Literal["right", "left"] = "right",
    symbol: str | None = None,
    freq: dt.timedelta | str | int | None = None,
    session_close: str | dt.time | None = None,
    session_open: str | dt.time | None = None,
    latency: dt.timedelta | str | None = None,
    timestamp: str | None = None,
    wide: Literal["close"] | None = None,
) -> Canonical:
    """The validated, canonical frame, universe and declared bar length of :func:`ml4t.data.bars` (whose
    docstring states the rules); every problem is a DataError or ConfigError."""
    if label not in ("right", "left"):
        raise ConfigError(f"label must be 'right' or 'left', got {label!r}", argument="label")
    tz_name = parse_tz(tz)
    close_ns = parse_session_close(session_close)
    open_ns = session_open_ns(session_open, close_ns)
    if close_ns is not None and label == "left":
        raise ConfigError(
            "session_close stamps dates at their close already; it cannot be combined with label='left'",
            argument="session_close",
        )
    freq_ns = None if freq is None else parse_duration(freq, argument="freq")
    if freq_ns == 0:
        raise ConfigError("freq must be a positive duration", argument="freq")
    latency_ns = None if latency is None else parse_duration(latency, argument="latency")

    df = coerce_frame(frame)
    if df.height == 0 or df.width == 0:
        raise DataError("the frame is empty; bars need at least one row", argument="frame")
    df, timestamp = from_wide(df, wide=wide, timestamp=timestamp, symbol=symbol)
    if df.height == 0:
        raise DataError("the wide frame has no value; bars need at least one", argument="frame")
    df, originals = normalize_names(df)
    try:
        return _build(
            df,
            originals,
            tz_name=tz_name,
            label=label,
            symbol=symbol,
            freq_ns=freq_ns,
            close_ns=close_ns,
            open_ns=open_ns,
            latency_ns=latency_ns,
            timestamp=timestamp,
        )
    except Ml4tError as exc:
        raise with_original_column(exc, originals) from None


def _build(
    df: pl.DataFrame,
    originals: dict[str, str],
    *,
    tz_name: str | None,
    label: str,
    symbol: str | None,
    freq_ns: int | None,
    close_ns: int | None,
    open_ns: int | None,
    latency_ns: int | None,
    timestamp: str | None,
) -> Canonical:
    df = attach_symbol(df, symbol)
    df, close_only = with_close_only_columns(df)
    check_required(df)
    df, source = _resolve_timestamp(df, timestamp, originals)
    originals["ts_event"] = source
    dates = _dates(df["ts_event"])
    if dates is not None:
        df = df.with_columns(dates)
    df = df.with_columns(to_utc(df, "ts_event", tz=tz_name, session_close_ns=close_ns))
    df = check_symbols(df)
    check_timestamps(df, "ts_event")

    if label == "left":
        if freq_ns is None:
            freq_ns = infer_freq_ns(df)
            if freq_ns is None:
                raise ConfigError(
                    "label='left' needs the bar length to shift open times to close times; no symbol has two "
                    "bars to infer it from, so pass freq=",
                    argument="freq",
                )
        check_shift(df, df["ts_event"], freq_ns, argument="freq", column="ts_event")
        df = df.with_columns(pl.col("ts_event") + pl.duration(nanoseconds=freq_ns, time_unit="ns"))

    if "ts_arrival" in df.columns:
        if latency_ns is not None:
            raise ConfigError(
                "the frame has a ts_arrival column and latency= was given; use one of them", argument="latency"
            )
        if label == "left":
            raise ConfigError("a frame with a ts_arrival column must use label='right'", argument="label")
        df = df.with_columns(to_utc(df, "ts_arrival", tz=tz_name))
    else:
        check_shift(df, df["ts_event"], latency_ns or 0, argument="latency", column="ts_event")
        delay = pl.duration(nanoseconds=latency_ns or 0, time_unit="ns")
        df = df.with_columns((pl.col("ts_event") + delay).alias("ts_arrival"))
    check_arrivals(df)

    if "ts_start" in df.columns:
        # kept from an earlier Bars.frame: aware starts stay as they are even when tz= localizes ts_event
        dtype = df.schema["ts_start"]
        aware = isinstance(dtype, pl.Datetime) and dtype.time_zone is not None
        df = df.with_columns(to_utc(df, "ts_start", tz=None if aware else tz_name))
    elif dates is not None and label == "right":
        df = df.with_columns(
            to_utc(df.with_columns(dates.alias("ts_start")), "ts_start", tz=tz_name, session_close_ns=open_ns)
        )
    else:
        df = df.with_columns(regular_starts(df, freq_ns))
    check_starts(df)

    df = check_numeric(df, REQUIRED_COLUMNS)
    check_ohlcv(df, close_only=close_only)

    extras = [c for c in df.columns if c not in (*KEY_COLUMNS, *REQUIRED_COLUMNS)]
    df = df.select(*KEY_COLUMNS, *REQUIRED_COLUMNS, *extras)
    if not _is_canonical(df):
        df = df.sort(["ts_event", "symbol"], maintain_order=True)
    symbols = tuple(sorted(df["symbol"].unique().to_list()))
    return Canonical(df, symbols, freq_ns)


def infer_freq_ns(frame: pl.DataFrame) -> int | None:
    """The most common spacing (int ns) between consecutive timestamps within symbols; ties -> the shorter."""
    gaps = frame.select(pl.col("ts_event").cast(pl.Int64).diff().over("symbol").alias("gap"))["gap"].drop_nulls()
    gaps = gaps.filter(gaps > 0)
    if gaps.len() == 0:
        return None
    counts = gaps.value_counts(name="n")
    best = counts.sort(["n", "gap"], descending=[True, False]).row(0)
    return int(best[0])


def _dates(series: pl.Series) -> pl.Series | None:
    """The timestamps as ``pl.Date`` when they are date-only (dates, date strings, naive midnights), else None."""
    if is_midnight_naive(series):
        return series.dt.date()
    return parse_date(series)


def _is_canonical(df: pl.DataFrame) -> bool:
    """Already sorted by (ts_event, symbol)? Sorting is skipped then (cheaper than sorting 1M rows)."""
    ts, sym = pl.col("ts_event"), pl.col("symbol")
    later = (ts > ts.shift(1)) | ((ts == ts.shift(1)) & (sym > sym.shift(1)))
    return bool(df.select(later.slice(1).all())[0, 0])


def attach_symbol(df: pl.DataFrame, symbol: str | None) -> pl.DataFrame:
    """Add a constant ``symbol`` column to a single-asset frame (default ``"asset"``).

    ``symbol=`` given while the frame has a symbol column is a ConfigError: the data already names its assets.
    """
    if "symbol" in df.columns:
        if symbol is not None:
            raise ConfigError(
                f"symbol={symbol!r} was given but the frame has a symbol column; drop one of them",
                argument="symbol",
                column="symbol",
            )
        return df
    name = "asset" if symbol is None else symbol
    if not isinstance(name, str) or not name:
        raise ConfigError(f"symbol must be a non-empty string, got {name!r}", argument="symbol")
    return df.with_columns(pl.lit(name, dtype=pl.String).alias("symbol"))


def _resolve_timestamp(df: pl.DataFrame, timestamp: str | None, originals: dict[str, str]) -> tuple[pl.DataFrame, str]:
    """Rename the timestamp column to ``ts_event`` (combining ``date`` + ``time`` when they are split).

    Returns the frame and the user's name for the source column(s), used in error messages.
    """
    if timestamp is not None:
        name = timestamp if timestamp in df.columns else snake_case(timestamp)
        if name not in df.columns:
            raise DataError(
                f"timestamp column {timestamp!r} not found; the frame has {df.columns}",
                argument="timestamp",
                column=timestamp,
            )
        if name != "ts_event" and "ts_event" in df.columns:
            raise DataError(
                f"timestamp={timestamp!r} was given but the frame also has a ts_event column; drop one",
                argument="timestamp",
                column="ts_event",
            )
        return df.rename({name: "ts_event"}), originals.get(name, name)
    present = [c for c in TIMESTAMP_CANDIDATES if c in df.columns]
    if not present:
        raise DataError(
            f"no timestamp column; expected one of {list(TIMESTAMP_CANDIDATES)} (or a pandas DatetimeIndex), "
            f"the frame has {df.columns}; name it with timestamp=",
            argument="frame",
            column="timestamp",
        )
    if present == ["date", "time"]:
        date = parse_date(df["date"])
        time = parse_time_of_day(df["time"], originals.get("time", "time"))
        if date is not None and time is not None:
            combined = pl.select(date.alias("d"), time.alias("t")).select(
                pl.col("d").dt.combine(pl.col("t"), time_unit="ns").alias("ts_event")
            )["ts_event"]
            frame = df.with_columns(combined).drop("date", "time").select("ts_event", pl.exclude("ts_event"))
            return frame, f"{originals.get('date', 'date')}+{originals.get('time', 'time')}"
    if len(present) > 1:
        raise DataError(
            f"ambiguous timestamp: the frame has several candidate columns {present}; "
            "name the one to use with timestamp=",
            argument="timestamp",
            column=present[0],
        )
    return df.rename({present[0]: "ts_event"}), originals.get(present[0], present[0])

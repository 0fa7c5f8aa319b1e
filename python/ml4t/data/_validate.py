"""Validation of bar frames. Every check raises :class:`DataError`; nothing is ever repaired.

Each error names the column, the symbol and the first offending timestamp in time order (ties broken by
symbol), and counts the offending rows, so a user can find every bad row without a debugger. The checks run
on a frame whose ``ts_event`` is already ``TS_DTYPE`` and whose ``symbol`` is String, in input order.
"""

from __future__ import annotations

import polars as pl

from ml4t.data._normalize import first_offender, rows_text
from ml4t.errors import DataError

__all__ = [
    "PRICE_COLUMNS",
    "REQUIRED_COLUMNS",
    "check_arrivals",
    "check_numeric",
    "check_ohlcv",
    "check_required",
    "check_symbols",
    "check_no_null_times",
    "check_timestamps",
    "with_close_only_columns",
]

PRICE_COLUMNS = ("open", "high", "low", "close")
#: Accepted prices lie in [MIN_PRICE, MAX_PRICE]: normal floats far from both ends of the float range, so
#: quantities (cash / price) and values (quantity x price) stay finite for any accepted ``init_cash``.
MIN_PRICE = 1e-12
MAX_PRICE = 1e15
REQUIRED_COLUMNS = (*PRICE_COLUMNS, "volume")
#: The columns close-only bars do not have: held as nulls (NaN in arrays), never made up from the close.
RANGE_COLUMNS = ("open", "high", "low")


def _raise_if(frame: pl.DataFrame, mask: pl.Expr | pl.Series, message: str, column: str, ts: str = "ts_event") -> None:
    count, stamp, symbol = first_offender(frame, mask, ts)
    if count:
        raise DataError(f"{message} in {rows_text(count)}", column=column, symbol=symbol, timestamp=stamp)


def with_close_only_columns(frame: pl.DataFrame) -> tuple[pl.DataFrame, bool]:
    """Close-only bars: a ``close`` column, and ``open``, ``high`` and ``low`` all missing (absent, or null/NaN
    on every row, as in a close-only ``Bars.frame``). Returns the frame with those three as Float64 nulls (and
    ``volume`` as nulls when it is absent too) and True; any other frame unchanged and False (when only some of
    open/high/low are missing, ``check_required`` or ``check_ohlcv`` names them)."""
    if "close" not in frame.columns or frame.height == 0:
        return frame, False
    if not all(name not in frame.columns or _missing_everywhere(frame[name]) for name in RANGE_COLUMNS):
        return frame, False
    absent = [*RANGE_COLUMNS, *(["volume"] if "volume" not in frame.columns else [])]
    return frame.with_columns(pl.lit(None, dtype=pl.Float64).alias(name) for name in absent), True


def _missing_everywhere(series: pl.Series) -> bool:
    if series.null_count() == series.len():
        return True
    return series.dtype.is_float() and bool((series.is_null() | series.is_nan()).all())


def check_required(frame: pl.DataFrame, required: tuple[str, ...] = REQUIRED_COLUMNS) -> None:
    """Every required column is present (names are already snake_case)."""
    missing = [name for name in required if name not in frame.columns]
    if missing:
        raise DataError(
            f"missing required column(s) {missing}; the frame has {frame.columns} "
            "(names are matched case-insensitively, e.g. 'Close' -> 'close'; bars with a close and none of "
            "open/high/low are close-only bars; a date x symbol frame of closes is read with wide='close'; "
            "see ml4t.data.bars)",
            argument="frame",
            column=missing[0],
        )


def check_symbols(frame: pl.DataFrame) -> pl.DataFrame:
    """``symbol`` is String (Categorical/Enum are cast) and never null."""
    dtype = frame.schema["symbol"]
    if isinstance(dtype, (pl.Categorical, pl.Enum)):
        frame = frame.with_columns(pl.col("symbol").cast(pl.String))
    elif dtype != pl.String:
        count, stamp, _ = first_offender(frame, pl.lit(True), "ts_event")
        raise DataError(
            f"symbol column has dtype {dtype}; expected strings (tickers) in {rows_text(count)}",
            column="symbol",
            timestamp=stamp,
        )
    _raise_if(frame, pl.col("symbol").is_null(), "null symbols", "symbol")
    return frame


def check_no_null_times(frame: pl.DataFrame, times: pl.Series, column: str) -> None:
    """No null timestamps in ``times`` (aligned with ``frame``). A null has no time to report, so the error
    names the input row number and the symbol."""
    nulls = times.is_null()
    if nulls.any():
        first_row = int(nulls.arg_true()[0])
        raise DataError(
            f"null timestamps in {rows_text(int(nulls.sum()))} (first at row {first_row} of the input)",
            column=column,
            symbol=frame["symbol"][first_row],
        )


def check_timestamps(frame: pl.DataFrame, column: str = "ts_event") -> None:
    """No null timestamps; no duplicated (timestamp, symbol); strictly increasing within each symbol.

    Different symbols may be interleaved or grouped in any way: only the order within a symbol matters.
    """
    check_no_null_times(frame, frame[column], column)
    previous = pl.col(column).shift(1).over("symbol")
    unsorted = pl.col(column) <= previous
    count, stamp, symbol = first_offender(frame, unsorted, column)
    if count:
        # Strictly increasing within every symbol implies no duplicates, so this (hashing) check only runs
        # when something is out of order, to give the more specific message.
        _raise_if(frame, pl.struct(column, "symbol").is_duplicated(), "duplicated (timestamp, symbol)", column)
        after = (
            frame.with_columns(previous.alias("__previous"))
            .filter(unsorted & (pl.col("symbol") == symbol) & (pl.col(column).cast(pl.Int64) == stamp))["__previous"]
            .head(1)
            .item()
        )
        raise DataError(
            f"timestamps must be strictly increasing within each symbol; {rows_text(count)} at or before the "
            f"previous timestamp of their symbol (the first follows {after.isoformat()}); ml4t never reorders "
            "a symbol's bars, sort them first",
            column=column,
            symbol=symbol,
            timestamp=stamp,
        )


def check_arrivals(frame: pl.DataFrame) -> None:
    """``ts_arrival`` is never null, never before ``ts_event`` and never decreases within a symbol."""
    nulls = frame["ts_arrival"].is_null()
    if nulls.any():
        _raise_if(frame, nulls, "null arrival times", "ts_arrival")
    _raise_if(frame, pl.col("ts_arrival") < pl.col("ts_event"), "ts_arrival is before ts_event", "ts_arrival")
    _raise_if(
        frame,
        pl.col("ts_arrival") < pl.col("ts_arrival").shift(1).over("symbol"),
        "ts_arrival decreases within the symbol (a bar would arrive before the bar it follows)",
        "ts_arrival",
    )


def check_numeric(frame: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    """Each column is numeric (ints, floats, decimals) and is cast to Float64; strings/bools are rejected."""
    casts = []
    for name in columns:
        dtype = frame.schema[name]
        if not dtype.is_numeric():
            count, stamp, symbol = first_offender(frame, pl.lit(True), "ts_event")
            raise DataError(
                f"column has dtype {dtype}; expected numbers (all {rows_text(count)} are affected)",
                column=name,
                symbol=symbol,
                timestamp=stamp,
            )
        casts.append(pl.col(name).cast(pl.Float64))
    return frame.with_columns(casts)


def check_ohlcv(frame: pl.DataFrame, *, close_only: bool = False) -> None:
    """Prices finite and in [MIN_PRICE, MAX_PRICE], ``low <= open, close <= high``, volume finite and non-negative.

    ``close_only``: only the close is checked (open/high/low are nulls), and a volume that is null on every row
    (absent) is allowed; one given on some rows only must be given on all."""
    prices = ("close",) if close_only else PRICE_COLUMNS
    for name in prices:
        col = pl.col(name)
        _raise_if(frame, col.is_null() | col.is_nan() | col.is_infinite(), f"null, NaN or infinite {name}", name)
    for name in prices:
        _raise_if(frame, pl.col(name) <= 0, f"non-positive {name}", name)
    for name in prices:
        out_of_range = (pl.col(name) < MIN_PRICE) | (pl.col(name) > MAX_PRICE)
        _raise_if(frame, out_of_range, f"{name} outside [{MIN_PRICE:g}, {MAX_PRICE:g}]", name)
    volume = pl.col("volume")
    if close_only:
        if frame["volume"].null_count() < frame.height:
            _raise_if(
                frame,
                volume.is_null() | volume.is_nan() | volume.is_infinite(),
                "null, NaN or infinite volume",
                "volume",
            )
            _raise_if(frame, volume < 0, "negative volume", "volume")
        return
    high, low = pl.col("high"), pl.col("low")
    _raise_if(frame, high < low, "high < low", "high")
    _raise_if(frame, (pl.col("open") < low) | (pl.col("open") > high), "open outside [low, high]", "open")
    _raise_if(frame, (pl.col("close") < low) | (pl.col("close") > high), "close outside [low, high]", "close")
    _raise_if(
        frame, volume.is_null() | volume.is_nan() | volume.is_infinite(), "null, NaN or infinite volume", "volume"
    )
    _raise_if(frame, volume < 0, "negative volume", "volume")

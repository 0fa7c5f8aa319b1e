""":func:`load_bars`: read OHLCV bars from Parquet or CSV files into validated :class:`Bars`."""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
from pathlib import Path
from typing import Literal

import polars as pl

from ml4t._validate import check_bool
from ml4t.data._bars import Bars, bars
from ml4t.data._normalize import first_offender, rows_text, snake_case
from ml4t.data._validate import PRICE_COLUMNS, check_ohlcv
from ml4t.errors import ConfigError, DataError, Ml4tError

__all__ = ["load_bars"]

_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".txt": "csv"}
_TIME_OF_DAY = re.compile(r"^\s*\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*$")


def load_bars(
    path: str | os.PathLike[str],
    *,
    format: Literal["csv", "parquet"] | None = None,
    tz: str | dt.tzinfo | None = None,
    label: Literal["right", "left"] = "right",
    symbol: str | None = None,
    adjust: bool = False,
    session_close: str | dt.time | None = None,
    session_open: str | dt.time | None = None,
    freq: dt.timedelta | str | None = None,
    latency: dt.timedelta | str | None = None,
) -> Bars:
    """Load bars from a Parquet or CSV file and validate them with :func:`ml4t.data.bars`.

    Parameters
    ----------
    path:
        The file. ``format`` comes from the suffix (``.parquet``/``.pq``; ``.csv``/``.txt`` are CSV) unless
        ``format=`` is given.
    symbol:
        The asset of a single-asset file without a ``symbol`` column; defaults to the file stem
        (``nvda-1999-2014.txt`` -> ``"nvda-1999-2014"``).
    adjust:
        For Yahoo-style files (``Date,Open,High,Low,Close,Adj Close,Volume``): multiply open, high, low and
        close by ``adj_close / close``, turning them into split- and dividend-adjusted prices. Volume is left
        unchanged (it is not split-adjusted). ``adj_close`` is kept and then equals the adjusted close.
        ``adjust=True`` without an ``Adj Close`` column is a ConfigError.
    tz, label, session_close, session_open, freq, latency:
        As in :func:`ml4t.data.bars`. Date-only files need ``tz=``; they are stamped at local midnight of
        each date unless ``session_close`` is given.

    CSV files whose data rows have exactly one field more than the header, with a ``HH:MM[:SS]`` second
    field (``Date,Open,...`` over rows ``2006-01-02,09:01:00,3602.00,...``), are read as a split date and
    time and combined. Validation errors name the file, column, symbol and first offending timestamp.
    """
    check_bool("adjust", adjust)
    if not isinstance(path, (str, os.PathLike)):
        raise ConfigError(f"path must be a file path, got {type(path).__name__}", argument="path")
    file = Path(path)
    if not file.is_file():
        raise DataError(f"no such file: {str(file)!r}", argument="path")
    kind = format if format is not None else _FORMATS.get(file.suffix.lower())
    if kind not in ("csv", "parquet"):
        raise ConfigError(
            f"cannot tell the format of {file.name!r}; pass format='csv' or format='parquet'", argument="format"
        )
    frame = _read_csv(file) if kind == "csv" else _read_parquet(file)
    names = {snake_case(c) for c in frame.columns}
    if adjust and "adj_close" not in names:
        raise ConfigError(
            f"adjust=True needs an 'Adj Close' column; {file.name!r} has {frame.columns}", argument="adjust"
        )
    if symbol is None and "symbol" not in names:
        symbol = file.stem
    try:
        loaded = bars(
            frame,
            tz=tz,
            label=label,
            symbol=symbol,
            freq=freq,
            session_close=session_close,
            session_open=session_open,
            latency=latency,
        )
        return _adjust(loaded) if adjust else loaded
    except Ml4tError as exc:
        raise exc.replace(message=f"{file.name}: {exc.message}") from None


def _read_parquet(file: Path) -> pl.DataFrame:
    try:
        return pl.read_parquet(file)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DataError(f"cannot read {str(file)!r} as Parquet: {exc}", argument="path") from exc


def _read_csv(file: Path) -> pl.DataFrame:
    with file.open("r", newline="", encoding="utf-8-sig") as handle:
        rows = csv.reader(handle)
        header = next(rows, None)
        first = next(rows, None)
    if not header or first is None:
        raise DataError(f"{str(file)!r} has no data rows", argument="path")
    options: dict[str, object] = {"infer_schema_length": None}
    if len(first) == len(header) + 1 and _TIME_OF_DAY.match(first[1]):
        # Header one field short: the first header field names a date, the rows split it into date and time.
        names = [header[0], "Time" if "time" not in {snake_case(h) for h in header} else "_time", *header[1:]]
        options.update(has_header=False, skip_rows=1, new_columns=names)
        options["schema_overrides"] = {names[0]: pl.String, names[1]: pl.String}
    try:
        return pl.read_csv(file, **options)  # type: ignore[arg-type]
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DataError(f"cannot read {str(file)!r} as CSV: {exc}", argument="path") from exc


def _adjust(loaded: Bars) -> Bars:
    """Multiply open/high/low/close by ``adj_close / close`` (volume unchanged)."""
    frame = loaded._frame
    adj = pl.col("adj_close")
    if not frame.schema["adj_close"].is_numeric():
        raise DataError(f"adj_close has dtype {frame.schema['adj_close']}; expected numbers", column="adj_close")
    bad = adj.is_null() | adj.cast(pl.Float64).is_nan() | adj.cast(pl.Float64).is_infinite() | (adj <= 0)
    count, stamp, symbol = first_offender(frame, bad)
    if count:
        raise DataError(
            f"cannot adjust: null, non-finite or non-positive adj_close in {rows_text(count)}",
            column="adj_close",
            symbol=symbol,
            timestamp=stamp,
        )
    factor = pl.col("adj_close").cast(pl.Float64) / pl.col("close")
    adjusted = frame.with_columns(*[(pl.col(name) * factor).alias(name) for name in PRICE_COLUMNS])
    check_ohlcv(adjusted)
    return Bars._from_canonical(adjusted, loaded._symbols, loaded._freq_ns)

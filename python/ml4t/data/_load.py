""":func:`load_bars`: read OHLCV bars from Parquet or CSV files into validated :class:`Bars`.

One file, a list of files or a glob pattern: each file is read and validated on its own (so every error names
its file), a file without a ``symbol`` column holds the symbol of its name (the stem), and the files' bars are
then put together in the canonical (``ts_event``, ``symbol``) order. Two files holding one symbol are an error:
nothing is merged or overwritten silently.
"""

from __future__ import annotations

import csv
import datetime as dt
import glob
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import polars as pl

from ml4t._validate import check_bool
from ml4t.data._bars import Bars, bars
from ml4t.data._normalize import first_offender, rows_text, snake_case
from ml4t.data._validate import PRICE_COLUMNS, check_ohlcv
from ml4t.data._wide import maybe_wide
from ml4t.errors import ConfigError, DataError, Ml4tError

__all__ = ["load_bars"]

_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".txt": "csv"}
_TIME_OF_DAY = re.compile(r"^\s*\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*$")


def load_bars(
    path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
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
    wide: Literal["close"] | None = None,
) -> Bars:
    """Load bars from Parquet or CSV files and validate them with :func:`ml4t.data.bars`.

    Parameters
    ----------
    path:
        A file, a list of files, or a glob pattern (``"prices/*.csv"``, ``"data/**/*.parquet"``; matches are
        taken in sorted order). Each file's ``format`` comes from its suffix (``.parquet``/``.pq``;
        ``.csv``/``.txt`` are CSV) unless ``format=`` is given. A pattern that matches no file is a
        DataError naming the pattern; two files holding the same symbol are a DataError naming both files.
        An existing file whose name contains ``*``, ``?`` or ``[`` is read as that file, not as a pattern.
    symbol:
        The asset of a single-asset file without a ``symbol`` column; defaults to the file stem
        (``nvda-1999-2014.txt`` -> ``"nvda-1999-2014"``). With several files every file without a
        ``symbol`` column is named by its stem, and ``symbol=`` is a ConfigError.
    adjust:
        For Yahoo-style files (``Date,Open,High,Low,Close,Adj Close,Volume``): multiply open, high, low and
        close by ``adj_close / close``, turning them into split- and dividend-adjusted prices. Volume is left
        unchanged (it is not split-adjusted). ``adj_close`` is kept and then equals the adjusted close.
        ``adjust=True`` without an ``Adj Close`` column is a ConfigError.
    tz, label, session_close, session_open, freq, latency, wide:
        As in :func:`ml4t.data.bars`; the same options apply to every file. Date-only files need ``tz=``; they
        are stamped at local midnight of each date unless ``session_close`` is given. A file may be a wide date x
        symbol frame of closes: its columns name the symbols, and no symbol comes from its file name.

    Notes
    -----
    CSV files whose data rows have exactly one field more than the header, with a ``HH:MM[:SS]`` second
    field (``Date,Open,...`` over rows ``2006-01-02,09:01:00,3602.00,...``), are read as a split date and
    time and combined. Validation errors name the file, column, symbol and first offending timestamp.

    The files' symbols may start and end at different dates (listings, delistings): each keeps the bars its
    file has, and no bar is made for a symbol before its first row or after its last. Close-only files
    (see :func:`ml4t.data.bars`) cannot be mixed with files that have open, high and low.
    """
    check_bool("adjust", adjust)
    files = _files(path)
    if len(files) > 1 and symbol is not None:
        raise ConfigError(
            f"symbol={symbol!r} cannot name the bars of {len(files)} files; each file without a symbol column is "
            "named by its file name (stem)",
            argument="symbol",
        )
    options = {
        "tz": tz,
        "label": label,
        "freq": freq,
        "session_close": session_close,
        "session_open": session_open,
        "latency": latency,
        "wide": wide,
    }
    loaded = [(file, _load_file(file, format=format, symbol=symbol, adjust=adjust, **options)) for file in files]
    return loaded[0][1] if len(loaded) == 1 else _combine(loaded)


def _files(path: object) -> list[Path]:
    """The files ``path`` names: one file, a list of files or a glob pattern."""
    if isinstance(path, (str, os.PathLike)):
        text = os.fspath(path)
        if not isinstance(text, str):
            raise ConfigError(f"path must be a str path, got {type(text).__name__}", argument="path")
        if glob.has_magic(text) and not Path(text).is_file():
            matches = sorted(Path(m) for m in glob.glob(text, recursive=True) if Path(m).is_file())
            if not matches:
                raise DataError(f"no file matches the pattern {text!r}", argument="path")
            return matches
        return [_existing(Path(text))]
    if isinstance(path, Sequence) and not isinstance(path, bytes):
        if not path:
            raise ConfigError("path is an empty list; give at least one file", argument="path")
        for item in path:
            if not isinstance(item, (str, os.PathLike)):
                raise ConfigError(f"path must be file paths, got {type(item).__name__} in the list", argument="path")
        files = [_existing(Path(item)) for item in path]
        seen: dict[Path, Path] = {}
        for file in files:
            key = file.resolve()
            if key in seen:
                raise ConfigError(f"the file {str(file)!r} is listed twice", argument="path")
            seen[key] = file
        return files
    raise ConfigError(
        f"path must be a file path, a list of file paths or a glob pattern, got {type(path).__name__}",
        argument="path",
    )


def _existing(file: Path) -> Path:
    if not file.is_file():
        raise DataError(f"no such file: {str(file)!r}", argument="path")
    return file


def _load_file(file: Path, *, format: str | None, symbol: str | None, adjust: bool, **options: Any) -> Bars:
    """One file's validated bars; an error names the file."""
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
    if symbol is None and "symbol" not in names and not maybe_wide(frame, options["wide"]):
        symbol = file.stem
    try:
        loaded = bars(frame, symbol=symbol, **options)
        return _adjust(loaded) if adjust else loaded
    except Ml4tError as exc:
        raise exc.replace(message=f"{file.name}: {exc.message}") from None


def _combine(loaded: list[tuple[Path, Bars]]) -> Bars:
    """The bars of several files as one :class:`Bars`: symbols unique across files, canonical order."""
    owner: dict[str, Path] = {}
    for file, part in loaded:
        for sym in part._symbols:
            if sym in owner:
                raise DataError(
                    f"the symbol is in two files, {str(owner[sym])!r} and {str(file)!r}; give each symbol one file",
                    argument="path",
                    symbol=sym,
                )
            owner[sym] = file
    kinds = {part.close_only for _, part in loaded}
    if len(kinds) > 1:
        close_only = next(file for file, part in loaded if part.close_only)
        with_ohlc = next(file for file, part in loaded if not part.close_only)
        raise DataError(
            f"{close_only.name!r} has close prices only while {with_ohlc.name!r} has open, high and low; "
            "load them separately (close-only bars support execution='close' only)",
            argument="path",
        )
    try:
        frame = pl.concat([part._frame for _, part in loaded], how="diagonal_relaxed")
    except pl.exceptions.PolarsError as exc:
        raise DataError(f"the files' extra columns do not fit together: {exc}", argument="path") from None
    frame = frame.sort(["ts_event", "symbol"], maintain_order=True)
    first = loaded[0][1]
    return Bars._from_canonical(frame, tuple(sorted(owner)), first._freq_ns)


def _read_parquet(file: Path) -> pl.DataFrame:
    try:
        return pl.read_parquet(file, glob=False)  # the path is one file, whatever its name
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DataError(f"cannot read {str(file)!r} as Parquet: {exc}", argument="path") from exc


def _read_csv(file: Path) -> pl.DataFrame:
    with file.open("r", newline="", encoding="utf-8-sig") as handle:
        rows = csv.reader(handle)
        header = next(rows, None)
        first = next(rows, None)
    if not header or first is None:
        raise DataError(f"{str(file)!r} has no data rows", argument="path")
    options: dict[str, object] = {"infer_schema_length": None, "glob": False}  # the path is one file
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
    check_ohlcv(adjusted, close_only=loaded.close_only)
    return Bars._from_canonical(adjusted, loaded._symbols, loaded._freq_ns)

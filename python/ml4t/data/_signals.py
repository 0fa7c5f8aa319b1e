""":func:`signals` and :class:`Signals`: ML predictions and other signal columns, with their arrival times.

Every row has ``ts_event`` (the time the value is about) and ``ts_arrival`` (the earliest time a strategy may
see it). Arrival is never assumed: it comes from a column or from an explicit delay. An ``embargo`` is added to
every arrival, and a ``train_end`` marks the model's training window: predictions about events at or before
``train_end + embargo`` are in-sample and raise :class:`ml4t.LeakageError` unless ``allow_in_sample=True``.
Predictions of a model retrained over time carry the cut-off of their own model vintage, row by row (a column
or a vintage table, :mod:`ml4t.data._vintage`), and the same rule applies to each row.

The stored frame is sorted by (``ts_arrival``, ``ts_event``, ``symbol``): the order in which the values
become visible. Columns: ``ts_event, ts_arrival, symbol, <value columns...>, in_sample``, and ``train_end``
(each row's model's training cut-off) when the cut-offs are per row. Signals own the
layouts ml4t's engines read (:meth:`Signals.stream`, :meth:`Signals.until`) and a :meth:`Signals.fingerprint`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import numpy as np
import polars as pl

from ml4t._time import TS_DTYPE, format_duration, format_ns, from_ns, parse_duration, to_ns
from ml4t._validate import check_bool
from ml4t.data._build import attach_symbol
from ml4t.data._columnar import SymbolBlocks, build_blocks
from ml4t.data._fingerprint import frame_fingerprint
from ml4t.data._normalize import check_shift, coerce_frame, first_offender, parse_tz, rows_text, to_utc
from ml4t.data._stream import SignalStream, signal_stream
from ml4t.data._validate import check_no_null_times, check_symbols
from ml4t.data._vintage import TRAIN_END, check_model_existed, is_vintage_table, lookup_vintages, vintage_table
from ml4t.errors import ConfigError, DataError, LeakageError

__all__ = ["BEST", "Signals", "running_argmax", "signals"]

BEST = "__best"

_RESERVED = ("ts_event", "ts_arrival", "symbol", "in_sample", TRAIN_END)


def signals(
    frame: Any,
    *,
    ts_event: str = "ts_event",
    ts_arrival: str | dt.timedelta | int | None = None,
    symbol: str | None = None,
    embargo: dt.timedelta | str | None = None,
    train_end: dt.datetime | str | pl.DataFrame | None = None,
    tz: str | dt.tzinfo | None = None,
    allow_in_sample: bool = False,
) -> Signals:
    """Wrap predictions or any signal columns as point-in-time :class:`Signals`.

    Parameters
    ----------
    frame:
        Polars or pandas DataFrame (a pandas ``DatetimeIndex`` becomes the ``ts_event`` column). Column names
        are kept as given (they are the names strategies ask for).
    ts_event:
        Column holding the time each value is about.
    ts_arrival:
        A column of arrival times, or a delay (timedelta, int ns or a string such as ``"0s"``, ``"15m"``)
        added to ``ts_event``. When None, a column named ``ts_arrival`` must exist: arrival is never assumed.
        A string names a column when the frame has one of that name, else it is parsed as a delay.
    symbol:
        The asset of a frame without a ``symbol`` column (default ``"asset"``).
    embargo:
        A duration added to every arrival (e.g. the time to recompute features), and to ``train_end``.
    train_end:
        End of the training window of the model that made the predictions, in one of three forms
        (:mod:`ml4t.data._vintage`):

        * one tz-aware datetime or ISO string with offset: one model made every row;
        * the name of a column of the frame (``train_end="train_end"``): each row's own model's cut-off, for
          predictions of a model retrained over time (what :func:`ml4t.validate.fit_predict` returns);
        * a vintage table, a DataFrame with ``ts_available`` (when a model could first be used) and
          ``train_end``: each row is taken to come from the latest vintage available at its ``ts_arrival``
          (before the embargo); a row arriving before every vintage is a DataError.

        A string names a column when the frame has one of that name, else it is parsed as a datetime. Any row
        with ``ts_event <= train_end + embargo`` (its own model's ``train_end``) raises
        :class:`ml4t.LeakageError` naming the first such row, unless ``allow_in_sample``. With per-row cut-offs,
        a row that arrives before its own model's training window ended (``ts_arrival < train_end``: that
        model did not exist yet) is a LeakageError that ``allow_in_sample`` does not lift; one datetime is not
        checked so (it describes one model, whose backfilled history is in-sample). Per-row cut-offs are kept
        in the frame's ``train_end`` column.
    tz:
        Time zone of naive or date-only time columns (date-only values are stamped at local midnight).
    allow_in_sample:
        Keep in-sample rows instead of raising; they are flagged ``in_sample = True``.

    Notes
    -----
    Every column other than the time and symbol columns is a value column and must be numeric or boolean;
    nulls are allowed (they read as NaN). Duplicated (symbol, ts_event, ts_arrival) rows and arrivals before
    their event are :class:`ml4t.DataError`.
    """
    check_bool("allow_in_sample", allow_in_sample)
    tz_name = parse_tz(tz)
    embargo_ns = 0 if embargo is None else parse_duration(embargo, argument="embargo")
    df = coerce_frame(frame, index_name=ts_event)
    if df.height == 0 or df.width == 0:
        raise DataError("the signal frame is empty", argument="frame")
    if ts_event not in df.columns:
        raise DataError(
            f"no ts_event column {ts_event!r}; the frame has {df.columns}; name it with ts_event=",
            argument="ts_event",
            column=ts_event,
        )
    df = attach_symbol(df, symbol)
    cut_column, cut_ns, table = _train_end_source(df, train_end, tz_name)
    arrival_column, delay_ns = _arrival_source(df, ts_arrival)
    time_columns = {ts_event, *(name for name in (arrival_column, cut_column) if name)}
    values = [c for c in df.columns if c not in time_columns and c != "symbol"]
    for name in values:
        if name in _RESERVED:
            hint = " or pass train_end='train_end' if it holds each row's training cut-off" if name == TRAIN_END else ""
            raise DataError(
                f"a value column may not be named {name!r} (reserved); rename it{hint}", argument="frame", column=name
            )
    if not values:
        raise DataError("the frame has no value columns besides the time and symbol columns", argument="frame")

    event = to_utc(df, ts_event, tz=tz_name)
    check_no_null_times(df, event, ts_event)
    if arrival_column is not None:
        arrival = to_utc(df, arrival_column, tz=tz_name)
        check_no_null_times(df, arrival, arrival_column)
    else:
        check_shift(df, event, delay_ns, argument="ts_arrival", column=ts_event)
        arrival = event + pl.Series([delay_ns], dtype=pl.Duration("ns"))
    cuts: list[pl.Series] = []
    if cut_column is not None:
        cuts.append(to_utc(df, cut_column, tz=tz_name).alias(TRAIN_END))
        check_no_null_times(df, cuts[0], cut_column)
    df = check_symbols(df.select(event.alias("ts_event"), arrival.alias("ts_arrival"), "symbol", *values, *cuts))
    arrival_label = arrival_column or "ts_arrival"

    count, stamp, sym = first_offender(df, pl.col("ts_arrival") < pl.col("ts_event"))
    if count:
        raise DataError(
            f"ts_arrival is before ts_event in {rows_text(count)}: a value cannot arrive before the time it is about",
            column=arrival_label,
            symbol=sym,
            timestamp=stamp,
        )
    if table is not None:
        df = df.with_columns(lookup_vintages(df, table).alias(TRAIN_END))
    if TRAIN_END in df.columns:
        check_model_existed(df, column=cut_column or "ts_arrival")
    if embargo_ns:
        check_shift(df, df["ts_arrival"], embargo_ns, argument="embargo", column=arrival_label)
        df = df.with_columns(pl.col("ts_arrival") + pl.duration(nanoseconds=embargo_ns, time_unit="ns"))
    count, stamp, sym = first_offender(df, pl.struct("symbol", "ts_event", "ts_arrival").is_duplicated())
    if count:
        raise DataError(
            f"duplicated (symbol, ts_event, ts_arrival) in {rows_text(count)}",
            column=ts_event,
            symbol=sym,
            timestamp=stamp,
        )
    for name in values:
        dtype = df.schema[name]
        if not (dtype.is_numeric() or dtype == pl.Boolean):
            count, stamp, sym = first_offender(df, pl.lit(True))
            raise DataError(
                f"value column has dtype {dtype}; signals must be numeric or boolean",
                column=name,
                symbol=sym,
                timestamp=stamp,
            )

    per_row = TRAIN_END in df.columns
    in_sample = pl.lit(False)
    if cut_ns is not None or per_row:
        cut = pl.col(TRAIN_END).cast(pl.Int64) + embargo_ns if per_row else pl.lit((cut_ns or 0) + embargo_ns)
        in_sample = pl.col("ts_event").cast(pl.Int64) <= cut
        count, stamp, sym = first_offender(df, in_sample)
        if count and not allow_in_sample:
            first = df.filter(in_sample).sort("ts_event", "symbol").select(cut)[0, 0]
            whose = " (that of the model which made the first of them)" if per_row else ""
            raise LeakageError(
                f"in-sample predictions would pose as out-of-sample: {rows_text(count)} with ts_event <= "
                f"train_end + embargo = {format_ns(first)}{whose}; drop them, or pass allow_in_sample=True to "
                "keep them flagged in the in_sample column",
                argument="train_end",
                column=ts_event,
                symbol=sym,
                timestamp=stamp,
            )
    df = (
        df.with_columns(in_sample.alias("in_sample"))
        .select("ts_event", "ts_arrival", "symbol", *values, "in_sample", *([TRAIN_END] if per_row else []))
        .sort(["ts_arrival", "ts_event", "symbol"], maintain_order=True)
    )
    return Signals._from_canonical(df, tuple(values), embargo_ns, cut_ns)


def _train_end_source(
    df: pl.DataFrame, train_end: Any, tz: str | None
) -> tuple[str | None, int | None, pl.DataFrame | None]:
    """(cut-off column, None, None), (None, one cut-off in ns, None) or (None, None, vintage table)."""
    if train_end is None:
        return None, None, None
    if isinstance(train_end, str) and train_end in df.columns:
        return train_end, None, None
    if is_vintage_table(train_end):
        return None, None, vintage_table(train_end, tz=tz)
    try:
        return None, to_ns(train_end, argument="train_end"), None
    except ConfigError as exc:
        if not isinstance(train_end, str):
            raise
        raise ConfigError(
            f"train_end={train_end!r} is neither a column of the frame ({df.columns}) nor an ISO-8601 timestamp "
            "with an offset",
            argument="train_end",
        ) from exc


def _arrival_source(df: pl.DataFrame, ts_arrival: str | dt.timedelta | int | None) -> tuple[str | None, int]:
    """(arrival column, 0) or (None, delay in ns)."""
    if ts_arrival is None:
        if "ts_arrival" in df.columns:
            return "ts_arrival", 0
        raise DataError(
            "no ts_arrival column: arrival is never assumed; pass ts_arrival= with a column name or a delay "
            "such as '0s' (available at the event time) or '15m'",
            argument="ts_arrival",
            column="ts_arrival",
        )
    if isinstance(ts_arrival, str) and ts_arrival in df.columns:
        return ts_arrival, 0
    if "ts_arrival" in df.columns:
        raise DataError(
            f"the frame has a ts_arrival column and ts_arrival={ts_arrival!r} gives a delay; use one of them",
            argument="ts_arrival",
            column="ts_arrival",
        )
    try:
        return None, parse_duration(ts_arrival, argument="ts_arrival")
    except ConfigError as exc:
        raise DataError(
            f"ts_arrival={ts_arrival!r} is neither a column of the frame ({df.columns}) nor a delay such as '0s'",
            argument="ts_arrival",
            column=str(ts_arrival),
        ) from exc


def running_argmax(events: np.ndarray) -> np.ndarray:
    """``out[i]`` = index of the greatest ``events[:i + 1]``, ties -> the later index (read-only int64).

    A row attains the running maximum when its value equals the cumulative max up to it; the answer for a
    prefix is the last such row, because any later increase of the maximum is itself such a row.
    """
    if events.size == 0:
        out = np.empty(0, dtype=np.int64)
    else:
        holders = np.where(events == np.maximum.accumulate(events), np.arange(events.size), -1)
        out = np.maximum.accumulate(holders).astype(np.int64)
    out.flags.writeable = False
    return out


class Signals:
    """Validated, immutable signal values with arrival times (see the module docstring)."""

    __slots__ = ("_cache", "_cut_ns", "_embargo_ns", "_frame", "_values")

    _frame: pl.DataFrame
    _values: tuple[str, ...]
    _embargo_ns: int
    _cut_ns: int | None
    _cache: dict[str, Any]

    def __init__(self, frame: Any, **options: Any) -> None:
        built = signals(frame, **options)
        for name in Signals.__slots__:
            object.__setattr__(self, name, getattr(built, name))

    @classmethod
    def _from_canonical(
        cls, frame: pl.DataFrame, values: tuple[str, ...], embargo_ns: int, cut_ns: int | None
    ) -> Signals:
        self = object.__new__(cls)
        object.__setattr__(self, "_frame", frame)
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "_embargo_ns", embargo_ns)
        object.__setattr__(self, "_cut_ns", cut_ns)
        object.__setattr__(self, "_cache", {})
        return self

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Signals is immutable; build a new one with ml4t.data.signals()")

    def __reduce__(self) -> tuple[Any, ...]:
        return (Signals._from_canonical, (self._frame, self._values, self._embargo_ns, self._cut_ns))

    @property
    def frame(self) -> pl.DataFrame:
        """``ts_event, ts_arrival, symbol, <values...>, in_sample`` (plus ``train_end`` with per-row cut-offs)
        sorted by (ts_arrival, ts_event, symbol); ``ts_arrival`` already includes the embargo, ``train_end``
        does not."""
        return self._frame.clone()

    @property
    def symbols(self) -> list[str]:
        """Symbols with at least one row, sorted."""
        return sorted(self._frame["symbol"].unique().to_list())

    @property
    def columns(self) -> list[str]:
        """The value column names."""
        return list(self._values)

    @property
    def embargo(self) -> dt.timedelta:
        """The embargo added to every arrival (zero when none was given)."""
        return dt.timedelta(microseconds=self._embargo_ns / 1_000)

    @property
    def train_end(self) -> dt.datetime | None:
        """End of the model's training window, or None without one.

        With per-row cut-offs (model vintages) it is the latest of them among these rows (None when there
        are no rows): no model behind these signals was trained on anything later. The cut-off of each row is
        the frame's ``train_end`` column; :attr:`vintages` summarises them."""
        if TRAIN_END in self._frame.columns:
            latest = self._frame[TRAIN_END].cast(pl.Int64).max()
            return None if latest is None else from_ns(cast(int, latest))
        return None if self._cut_ns is None else from_ns(self._cut_ns)

    @property
    def vintages(self) -> pl.DataFrame | None:
        """One row per model vintage behind these signals, by ``train_end``: ``train_end``, ``rows``,
        ``in_sample_rows``, ``first_ts_event``, ``last_ts_event``, ``first_ts_arrival`` (embargo included).
        One row for a single ``train_end`` (none when there are no signal rows); None without a
        training window."""
        if TRAIN_END in self._frame.columns:
            cut = pl.col(TRAIN_END)
        elif self._cut_ns is not None:
            cut = pl.lit(self._cut_ns).cast(TS_DTYPE)
        else:
            return None
        return (
            self._frame.group_by(cut.alias(TRAIN_END))
            .agg(
                pl.len().cast(pl.Int64).alias("rows"),
                pl.col("in_sample").sum().cast(pl.Int64).alias("in_sample_rows"),
                pl.col("ts_event").min().alias("first_ts_event"),
                pl.col("ts_event").max().alias("last_ts_event"),
                pl.col("ts_arrival").min().alias("first_ts_arrival"),
            )
            .sort(TRAIN_END)
        )

    def __len__(self) -> int:
        return self._frame.height

    def until(self, ts: dt.datetime | str | int) -> Signals:
        """The signals a strategy could have seen at ``ts``: rows with ``ts_arrival <= ts`` (the embargo and
        the training window, one or per row, kept); used to truncate data for lookahead audits, like
        :meth:`Bars.until`."""
        cut = to_ns(ts, argument="ts")
        frame = self._frame.filter(pl.col("ts_arrival").cast(pl.Int64) <= cut)
        return Signals._from_canonical(frame, self._values, self._embargo_ns, self._cut_ns)

    def stream(self) -> SignalStream:
        """For ml4t's event engine: the rows in visibility order as read-only arrays (:mod:`ml4t.data._stream`)."""
        return signal_stream(self._frame, self._values)

    def fingerprint(self) -> str:
        """A 128-bit hash of these signals as 32 hex digits: equal for equal signals (every column's values,
        ``ts_arrival`` and ``in_sample`` included, the column names and dtypes, the embargo and ``train_end``)
        in any process, different when any of them differs (:mod:`ml4t.data._fingerprint`). Cached."""
        digest = self._cache.get("fingerprint")
        if digest is None:
            digest = self._cache["fingerprint"] = frame_fingerprint(
                self._frame, kind="signals", embargo_ns=self._embargo_ns, train_end_ns=self._cut_ns
            )
        return cast(str, digest)

    def _blocks(self) -> SymbolBlocks:
        """Per-symbol read-only arrays in visibility order (ts_arrival, ts_event), plus ``best``: for each
        prefix, the index of the row with the greatest ts_event (ties -> the later arrival)."""
        blocks = self._cache.get("blocks")
        if blocks is None:
            blocks = build_blocks(
                self._frame,
                self.symbols,
                time_columns=("ts_event", "ts_arrival"),
                order_by=("ts_arrival", "ts_event"),
                fields=self._values,
            )
            for views in blocks.views.values():
                views[BEST] = running_argmax(views["ts_event"])
            self._cache["blocks"] = blocks
        return blocks

    def __repr__(self) -> str:
        n_in = int(self._frame["in_sample"].sum())
        parts = [f"{len(self.symbols)} symbols", f"{self._frame.height:,} rows", f"columns={list(self._values)}"]
        if self._embargo_ns:
            parts.append(f"embargo={format_duration(self.embargo)}")
        if TRAIN_END in self._frame.columns:
            cuts = self._frame[TRAIN_END].cast(pl.Int64)
            latest = "" if cuts.is_empty() else f", latest {format_ns(cast(int, cuts.max()))}"
            n = cuts.n_unique()
            parts.append(f"train_end=per row ({n} vintage{'' if n == 1 else 's'}{latest})")
        elif self._cut_ns is not None:
            parts.append(f"train_end={format_ns(self._cut_ns)}")
        if n_in:
            parts.append(f"in_sample_rows={n_in}")
        return f"Signals({', '.join(parts)})"

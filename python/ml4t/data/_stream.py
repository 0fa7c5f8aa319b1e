"""The event engine's layouts of bars and signals: one row per record, in the order the engine delivers them.

* :class:`BarStream` (:meth:`ml4t.data.Bars.stream`): the bars ordered by (``ts_arrival``, ``symbol``), every
  column as one read-only array: what the Rust loop is built from and what each ``BarBatch`` slices;
* :class:`SignalStream` (:meth:`ml4t.data.Signals.stream`): the signal rows in their stored order
  (``ts_arrival``, ``ts_event``, ``symbol``), the values as float64 (null -> NaN);
* :func:`split_events`: the stock splits of the bars (the ``split`` column), for the round-trip table.

Times are int64 ns UTC everywhere; the arrays are read-only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import overload

import numpy as np
import polars as pl

from ml4t.errors import ConfigError

__all__ = ["BarStream", "SignalStream", "SymbolNames", "bar_stream", "signal_stream", "split_events"]

_KEYS = ("ts_event", "ts_arrival", "ts_start", "symbol")


@dataclass(frozen=True)
class BarStream:
    """The bars ordered by arrival then symbol.

    ``columns`` is what a strategy reads: ``ts_event``, ``ts_arrival`` and ``ts_start`` as int64 ns, every
    numeric column as float64 (null -> NaN), every other column with its own dtype (bool, ``str`` objects,
    ``datetime64[D]``; datetimes as int64 ns UTC; with a null, an object array holding None). ``names`` is the
    symbol of each row (a :class:`SymbolNames`: looked up from ``symbol_index`` when read, not one string per
    row), ``symbol_index`` its position in the universe, ``session`` the calendar date (days since the epoch,
    int32) of its ``ts_event`` in the session time zone, for DAY orders.
    """

    columns: dict[str, np.ndarray]
    names: SymbolNames
    symbol_index: np.ndarray
    session: np.ndarray


class SymbolNames(Sequence[str]):
    """The symbol of each row of a stream as a sequence of ``str``, read from the rows' integer codes
    (``index``, positions in ``universe``): a row or a slice of rows is looked up when asked for, so a stream
    of millions of bars holds one code per row instead of one string object per row (issue #18)."""

    __slots__ = ("_index", "_universe")

    def __init__(self, index: np.ndarray, universe: Sequence[str]) -> None:
        self._index = index
        self._universe = np.array(list(universe), dtype=object)

    def __len__(self) -> int:
        return len(self._index)

    def __eq__(self, other: object) -> bool:
        """Equal to a list of the same names (as the list it stands for would be), or to the same names."""
        if isinstance(other, SymbolNames):
            other = other[:]
        return isinstance(other, list) and self[:] == other

    __hash__ = None  # type: ignore[assignment]

    @overload
    def __getitem__(self, row: int) -> str: ...
    @overload
    def __getitem__(self, row: slice) -> list[str]: ...
    def __getitem__(self, row: int | slice) -> str | list[str]:
        if isinstance(row, slice):
            names: list[str] = self._universe.take(self._index[row]).tolist()
            return names
        name: str = self._universe[self._index[row]]
        return name


@dataclass(frozen=True)
class SignalStream:
    """The signal rows in visibility order: ``columns`` holds ``ts_event`` (int64 ns) and every value column
    (float64, null -> NaN), ``names`` the symbol of each row, ``ts_arrival`` its arrival (int64 ns)."""

    columns: dict[str, np.ndarray]
    names: list[str]
    ts_arrival: np.ndarray


def _readonly(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def bar_stream(frame: pl.DataFrame, symbols: Sequence[str], fields: Sequence[str], session_tz: str) -> BarStream:
    """The stream of a canonical bar frame (sorted by (``ts_event``, ``symbol``)); ``fields`` are its numeric
    columns. An unknown ``session_tz`` is a ConfigError."""
    # sorted by (ts_event, symbol): also by (ts_arrival, symbol) under a constant latency
    if frame.height and (frame["ts_arrival"] - frame["ts_event"]).n_unique() > 1:
        frame = frame.sort(["ts_arrival", "symbol"], maintain_order=True)
    try:
        session = frame["ts_event"].dt.convert_time_zone(session_tz).dt.date().cast(pl.Int32).to_numpy()
    except pl.exceptions.PolarsError as error:
        raise ConfigError(f"unknown session_tz {session_tz!r}: {error}", argument="session_tz") from None
    columns = {
        name: _readonly(frame[name].cast(pl.Int64).to_numpy()) for name in ("ts_event", "ts_arrival", "ts_start")
    }
    for name in fields:
        columns[name] = _readonly(np.ascontiguousarray(frame[name].cast(pl.Float64).fill_null(math.nan).to_numpy()))
    columns.update(_other_columns(frame, fields))
    index = _readonly(frame["symbol"].cast(pl.Enum(list(symbols))).to_physical().cast(pl.Int64).to_numpy())
    return BarStream(
        columns=columns,
        names=SymbolNames(index, symbols),
        symbol_index=index,
        session=_readonly(np.ascontiguousarray(session, dtype=np.int32)),
    )


def _other_columns(frame: pl.DataFrame, fields: Sequence[str]) -> dict[str, np.ndarray]:
    """The columns that are not numbers (booleans, strings, dates...), for the strategy only, in the frame's row
    order: arrays of their own dtype, datetimes as int64 ns UTC like ``ts_event``."""
    schema = frame.schema
    other = [name for name in schema if name not in _KEYS and name not in fields]
    if not other:
        return {}
    values = frame.select(
        pl.col(name).dt.cast_time_unit("ns").cast(pl.Int64) if isinstance(schema[name], pl.Datetime) else name
        for name in other
    )
    return {name: _readonly(values[name].to_numpy()) for name in other}


def signal_stream(frame: pl.DataFrame, values: Sequence[str]) -> SignalStream:
    """The stream of a canonical signal frame (sorted by (``ts_arrival``, ``ts_event``, ``symbol``))."""
    columns = {"ts_event": _readonly(frame["ts_event"].cast(pl.Int64).to_numpy())}
    for name in values:
        columns[name] = _readonly(frame[name].cast(pl.Float64).fill_null(math.nan).to_numpy())
    arrivals = _readonly(np.ascontiguousarray(frame["ts_arrival"].cast(pl.Int64).to_numpy()))
    return SignalStream(columns=columns, names=frame["symbol"].to_list(), ts_arrival=arrivals)


def split_events(frame: pl.DataFrame) -> dict[str, list[tuple[int, float]]]:
    """``symbol -> [(ts_event ns, ratio), ...]`` of the bars' splits (the ``split`` column: finite, positive and
    not 1), in time order."""
    if "split" not in frame.columns:
        return {}
    rows = (
        frame.lazy()
        .select("symbol", pl.col("ts_event").cast(pl.Int64), pl.col("split").cast(pl.Float64))
        .filter(pl.col("split").is_finite() & (pl.col("split") > 0) & (pl.col("split") != 1.0))
        .collect()
    )
    out: dict[str, list[tuple[int, float]]] = {}
    for symbol, ts, ratio in rows.iter_rows():
        out.setdefault(symbol, []).append((ts, ratio))
    return out

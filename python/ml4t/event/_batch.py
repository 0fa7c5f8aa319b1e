"""What the strategy receives at one timestamp: the bars, signals, fills and timers that arrived then.

A :class:`BarBatch` is a window onto the run's bar columns (read-only NumPy arrays ordered by arrival, then
symbol), so building one per timestamp costs two integers, and a field is a zero-copy slice aligned with
``bars.symbols``. Iterating gives one :class:`Bar` per symbol for strategies written symbol by symbol.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from ml4t._time import from_ns
from ml4t.errors import DataError

__all__ = ["Bar", "BarBatch", "Event", "Fill", "SignalBatch", "Timer"]


class _Rows:
    """A window ``[lo, hi)`` onto aligned read-only columns (one row per symbol or record): the shared part of
    :class:`BarBatch` and :class:`SignalBatch`."""

    __slots__ = ("_columns", "_hi", "_lo", "_names")
    _what = "column"

    def __init__(self, columns: Mapping[str, np.ndarray], names: Sequence[str], lo: int, hi: int) -> None:
        self._columns = columns
        self._names = names
        self._lo = lo
        self._hi = hi

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self._columns[name][self._lo : self._hi]
        except KeyError:
            raise DataError(
                f"unknown {self._what}; available: {sorted(self._columns)}",
                argument=self._what.split()[-1],
                column=name,
            ) from None

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(self._names[self._lo : self._hi])

    def __len__(self) -> int:
        return self._hi - self._lo

    def __bool__(self) -> bool:
        return self._hi > self._lo


class BarBatch(_Rows):
    """The bars that arrived at one timestamp, one per symbol (``symbols``), in symbol order.

    ``bars["close"]`` (or ``bars.close``) is a read-only array aligned with ``bars.symbols``. Every column of
    the bars works, and every indicator of the strategy: numbers as float64 (null -> NaN), ``ts_event`` and
    ``ts_arrival`` (and other datetimes) as int64 ns UTC, booleans as bool, strings as ``str`` objects, dates as
    ``datetime64[D]``; a non-numeric column with a null is an object array holding None there.
    ``bars.get("AAPL")`` is that symbol's :class:`Bar` or None; ``for bar in bars`` iterates them.
    ``bars.index`` gives the symbols' positions in the universe for array-style strategies.
    """

    __slots__ = ("_index",)
    _what = "bar field"

    def __init__(
        self, columns: Mapping[str, np.ndarray], names: Sequence[str], index: np.ndarray, lo: int, hi: int
    ) -> None:
        # Assigned directly rather than through super().__init__: one BarBatch is built per timestamp.
        self._columns = columns
        self._names = names
        self._index = index
        self._lo = lo
        self._hi = hi

    def __getattr__(self, field: str) -> np.ndarray:
        if field.startswith("_"):
            raise AttributeError(field)
        try:
            return self._columns[field][self._lo : self._hi]
        except KeyError:
            raise AttributeError(f"BarBatch has no field {field!r}; available: {sorted(self._columns)}") from None

    @property
    def index(self) -> np.ndarray:
        """Each bar's symbol as its position in the universe (``ctx.symbols``): a read-only int64 array, handy
        for keeping per-symbol state in arrays (``self.state[bars.index]``)."""
        return self._index[self._lo : self._hi]

    @property
    def fields(self) -> list[str]:
        return sorted(self._columns)

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._names[self._lo : self._hi]

    def __iter__(self) -> Iterator[Bar]:
        for row in range(self._lo, self._hi):
            yield Bar(self, row)

    def get(self, symbol: str) -> Bar | None:
        """The bar of ``symbol`` at this timestamp, None if it has none."""
        names = self._names[self._lo : self._hi]  # one lookup of the window's names, then a list search
        try:
            return Bar(self, self._lo + names.index(symbol))
        except ValueError:
            return None

    def __repr__(self) -> str:
        return f"BarBatch({len(self)} bars: {', '.join(self.symbols[:5])}{', ...' if len(self) > 5 else ''})"


class Bar:
    """One symbol's bar: ``bar.symbol``, ``bar.ts_event`` (int64 ns), ``bar.close``, ``bar.<column>``,
    ``bar.<indicator>``: Python scalars (float, bool, str, ``datetime.date``...) of the batch's columns."""

    __slots__ = ("_batch", "_row")

    def __init__(self, batch: BarBatch, row: int) -> None:
        self._batch = batch
        self._row = row

    @property
    def symbol(self) -> str:
        return self._batch._names[self._row]

    def __getattr__(self, field: str) -> Any:
        if field.startswith("_"):
            raise AttributeError(field)
        try:
            column = self._batch._columns[field]
        except KeyError:
            raise AttributeError(f"Bar has no field {field!r}; available: {sorted(self._batch._columns)}") from None
        return column.item(self._row)

    def __getitem__(self, field: str) -> Any:
        return self.__getattr__(field)

    def __repr__(self) -> str:
        c = self._batch._columns
        return (
            f"Bar({self.symbol} {from_ns(int(c['ts_event'][self._row])).isoformat()} o={c['open'][self._row]:g} "
            f"h={c['high'][self._row]:g} l={c['low'][self._row]:g} c={c['close'][self._row]:g})"
        )


class SignalBatch(_Rows):
    """The signal rows that arrived at one timestamp: ``symbols``, ``ts_event`` and each value column
    (``signals["score"]``), aligned, in arrival order. Use ``ctx.data.signal(name, symbol)`` for the freshest
    visible value of a symbol."""

    __slots__ = ()
    _what = "signal column"

    def __repr__(self) -> str:
        return f"SignalBatch({len(self)} rows)"


class Fill(NamedTuple):
    """One execution of one of the strategy's orders."""

    order_id: int
    ts_event: int
    symbol: str
    side: str
    quantity: float
    price: float
    fee: float
    slippage: float
    tag: str | None


class Timer(NamedTuple):
    """A timer that fired: its id, its ``name`` and the time it was set for (int64 ns)."""

    timer_id: int
    name: str | None
    ts: int


class Event:
    """Everything that happened at one timestamp (``on_event``'s argument): ``bars``, ``signals`` (empty
    batches when none arrived), ``fills`` (executions since the previous event) and ``timers``."""

    __slots__ = ("bars", "fills", "signals", "timers", "ts")

    def __init__(self, ts: int, bars: BarBatch, signals: SignalBatch, fills: list[Fill], timers: list[Timer]) -> None:
        self.ts = ts
        self.bars = bars
        self.signals = signals
        self.fills = fills
        self.timers = timers

    @property
    def time(self) -> dt.datetime:
        return from_ns(self.ts)

    def __repr__(self) -> str:
        return (
            f"Event({from_ns(self.ts).isoformat()}: {len(self.bars)} bars, {len(self.signals)} signals, "
            f"{len(self.fills)} fills, {len(self.timers)} timers)"
        )

""":class:`PITData`: the as-of view of bars and signals a strategy receives.

The one guarantee: nothing a :class:`PITData` returns has ``ts_arrival > now``. A row whose arrival equals
``now`` exactly is visible. The clock only moves forward (:meth:`PITData.advance_to`), and there is no
method that peeks.

How it stays cheap enough to call once per bar: every symbol's rows live in read-only NumPy arrays ordered
by arrival (built once per :class:`Bars` / :class:`Signals` and shared), and the visible rows of a symbol
are always a prefix whose length (the *cursor*) is the number of rows with ``ts_arrival <= now``. That
count comes from the one implementation of the visibility rule, the Rust ``PitIndex``
(``core/src/pit.rs``), which the event engine uses too: a binary search per symbol, or one call for every
symbol at once. ``latest`` and ``history`` are therefore a lookup, a count and a slice: no Polars, no copies.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl

from ml4t._time import format_ns, from_ns, to_ns
from ml4t._validate import is_integer
from ml4t.data._bars import Bars, _preview
from ml4t.data._signals import BEST, Signals
from ml4t.errors import ConfigError, DataError

__all__ = ["PITData"]

_EMPTY = np.empty(0, dtype=np.float64)
_EMPTY.flags.writeable = False


class PITData:
    """The point-in-time view: bars (and optionally signals) with ``ts_arrival <= now``.

    Parameters
    ----------
    bars:
        The bars; their universe is ``.symbols``.
    signals:
        Optional signal values. Their symbols need not be in the bars' universe (e.g. a market-wide
        signal), but bar methods only accept the bars' symbols.
    now:
        The clock: tz-aware datetime, ISO-8601 string with an offset, or int64 ns UTC.

    Notes
    -----
    Arrays returned are read-only (writing raises ``ValueError``). ``history`` returns *up to* ``n`` values:
    fewer when less history is visible, an empty array when nothing is.
    """

    __slots__ = ("_bar_blocks", "_bar_fields", "_bar_views", "_bars", "_now", "_sig_blocks", "_sig_fields", "_symbols")

    def __init__(
        self, bars: Bars, signals: Signals | None = None, *, now: dt.datetime | str | int | np.integer
    ) -> None:
        if not isinstance(bars, Bars):
            raise ConfigError(f"bars must be ml4t.data.Bars, got {type(bars).__name__}", argument="bars")
        if signals is not None and not isinstance(signals, Signals):
            raise ConfigError(f"signals must be ml4t.data.Signals, got {type(signals).__name__}", argument="signals")
        self._bars = bars
        self._now = _clock_ns(now, "now")
        self._bar_blocks = bars._blocks()
        self._bar_views = self._bar_blocks.views
        self._bar_fields = frozenset(self._bar_blocks.fields)
        self._symbols = tuple(bars._symbols)
        self._sig_blocks = None if signals is None else signals._blocks()
        self._sig_fields: frozenset[str] = (
            frozenset() if self._sig_blocks is None else frozenset(self._sig_blocks.fields)
        )

    # ------------------------------------------------------------------------------------------ clock
    @property
    def now(self) -> dt.datetime:
        """The clock as a tz-aware UTC datetime (microsecond precision; ``now_ns`` is exact)."""
        return from_ns(self._now)

    @property
    def now_ns(self) -> int:
        """The clock as int64 nanoseconds UTC."""
        return self._now

    def advance_to(self, ts: dt.datetime | str | int | np.integer) -> None:
        """Move the clock forward to ``ts`` (in place). Equal is a no-op; backwards is a ConfigError."""
        ns = ts if type(ts) is int else _clock_ns(ts, "ts")
        if ns < self._now:
            raise ConfigError(
                f"the clock only moves forward: now is {format_ns(self._now)}", argument="ts", timestamp=ns
            )
        self._now = ns

    @property
    def symbols(self) -> list[str]:
        """The bars' universe, sorted; ``latest(field)`` arrays are aligned with it."""
        return list(self._symbols)

    # ------------------------------------------------------------------------------------------- bars
    def _cursor(self, symbol: str) -> int:
        g = self._bar_blocks.index.get(symbol)
        if g is None:
            raise DataError(
                f"unknown symbol; known symbols: {_preview(self._symbols)}", argument="symbol", symbol=symbol
            )
        return self._bar_blocks.pit.count(g, self._now)

    def _check_field(self, field: str) -> None:
        if field not in self._bar_fields:
            raise DataError(f"unknown bar field; available: {sorted(self._bar_fields)}", argument="field", column=field)

    def latest(self, field: str, symbol: str | None = None) -> float | np.ndarray | None:
        """The last visible bar's ``field``: a float for one symbol (None if it has no visible bar yet), or
        without ``symbol`` a read-only float64 array aligned with ``symbols`` (NaN where nothing is visible)."""
        self._check_field(field)
        if symbol is not None:
            cursor = self._cursor(symbol)
            return self._bar_views[symbol][field].item(cursor - 1) if cursor else None
        blocks = self._bar_blocks
        counts = blocks.pit.counts(self._now)
        out = np.full(len(self._symbols), math.nan)
        arrived = counts > 0
        if arrived.any():
            out[arrived] = blocks.bases[field][(blocks.offsets[:-1] + counts - 1)[arrived]]
        out.flags.writeable = False
        return out

    def history(self, field: str, n: int, symbol: str | None = None) -> np.ndarray | dict[str, np.ndarray]:
        """The last up-to-``n`` visible values of ``field`` in time order (a read-only view; fewer than ``n``
        when less history is visible). Without ``symbol``: a dict ``symbol -> array`` over ``symbols``."""
        _check_n(n)
        self._check_field(field)
        if symbol is not None:
            cursor = self._cursor(symbol)
            return self._bar_views[symbol][field][max(0, cursor - n) : cursor]
        counts = self._bar_blocks.pit.counts(self._now).tolist()
        return {
            sym: self._bar_views[sym][field][max(0, c - n) : c] for sym, c in zip(self._symbols, counts, strict=True)
        }

    def times(self, n: int, symbol: str) -> np.ndarray:
        """The ``ts_event`` (int64 ns UTC) of the bars ``history(field, n, symbol)`` returns."""
        _check_n(n)
        cursor = self._cursor(symbol)
        return self._bar_views[symbol]["ts_event"][max(0, cursor - n) : cursor]

    def frame(self, symbol: str | None = None) -> pl.DataFrame:
        """The visible bars as a Polars frame (for notebooks; engines use ``history``/``latest``)."""
        visible = pl.col("ts_arrival").cast(pl.Int64) <= self._now
        if symbol is not None:
            self._cursor(symbol)
            visible = visible & (pl.col("symbol") == symbol)
        return self._bars._frame.filter(visible)

    # ---------------------------------------------------------------------------------------- signals
    def _sig(self, name: str, symbol: str) -> tuple[dict[str, np.ndarray] | None, int]:
        if name not in self._sig_fields:
            raise DataError(
                f"unknown signal column; available: {sorted(self._sig_fields)}", argument="name", column=name
            )
        blocks = self._sig_blocks
        g = None if blocks is None else blocks.index.get(symbol)
        if blocks is None or g is None:
            if symbol not in self._bar_views:
                raise DataError(
                    "unknown symbol (neither in the bars nor in the signals)", argument="symbol", symbol=symbol
                )
            return None, 0
        return blocks.views[symbol], blocks.pit.count(g, self._now)

    def signal(self, name: str, symbol: str) -> float | None:
        """The value of the visible row with the greatest ``ts_event`` (ties -> the later arrival), so a
        late revision about an older event never replaces fresher information.

        None when it is missing: nothing visible yet, or that row's value is null or NaN. This is the one
        convention for a missing value, shared with :func:`ml4t.data.align_signals` (null there), so a
        strategy tests ``value is None`` in both modes and a missing prediction never compares as a number.
        (Arrays, as from :meth:`signal_history`, hold NaN: NumPy has no null.)"""
        views, cursor = self._sig(name, symbol)
        if views is None or cursor == 0:
            return None
        value = float(views[name][views[BEST][cursor - 1]])
        return None if math.isnan(value) else value

    def signal_history(self, name: str, n: int, symbol: str) -> np.ndarray:
        """The last up-to-``n`` visible values of ``name`` in arrival order (read-only; empty when none)."""
        _check_n(n)
        views, cursor = self._sig(name, symbol)
        if views is None:
            return _EMPTY
        return views[name][max(0, cursor - n) : cursor]

    def __repr__(self) -> str:
        return (
            f"PITData(now={format_ns(self._now)}, {len(self._symbols)} symbols, "
            f"fields={sorted(self._bar_fields)}, signals={sorted(self._sig_fields)})"
        )


def _clock_ns(value: dt.datetime | str | int | np.integer, argument: str) -> int:
    """int64 ns from a tz-aware datetime, an ISO string, a Python int or a NumPy integer (e.g. an element of
    ``Bars.arrays(symbol)["ts_arrival"]``)."""
    if isinstance(value, np.integer):
        return int(value)
    return to_ns(value, argument=argument)


def _check_n(n: int) -> None:
    if not is_integer(n) or n <= 0:
        raise ConfigError(f"n must be a positive integer, got {n!r}", argument="n")

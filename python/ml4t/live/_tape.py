"""What a live session has received so far: the bars and signals of every feed message, kept as ``Bars`` and
``Signals`` (the strategy's ``ctx.data`` reads them) and as the event engine's stream (what the Rust loop and
each ``BarBatch`` read).

Each data message holds the records that arrive at one time, later than everything before it, so the stream
of what has arrived (ordered by arrival, then symbol) only grows at its end: the rows appended to the engine
are the stream's new tail, and the rows it already holds keep their positions. The strategy's indicators are
computed again on each symbol's whole history after every message (per symbol, in time order, exactly as a
backtest computes them on all the bars): a causal indicator (rolling, EWM, shifts into the past) has the same
value at a row whatever follows it, so a replay sees the backtest's numbers bit for bit. The cost grows with the
history (each message recomputes it): fine for daily and minute bars over a session; an indicator over
millions of rows would want an incremental evaluator (not built).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from ml4t._time import TS_DTYPE, format_ns
from ml4t.data import Bars, Signals
from ml4t.data._received import received_bars, received_signals
from ml4t.data._stream import BarStream, SignalStream
from ml4t.errors import DataError
from ml4t.live._wire import Message

__all__ = ["Tape"]

_BAR_TIMES = ("ts_event", "ts_arrival", "ts_start")
_PRICES = ("open", "high", "low", "close", "volume")
_BAR_REQUIRED = (*_BAR_TIMES, "symbol", *_PRICES)
_SIGNAL_REQUIRED = ("ts_event", "ts_arrival", "symbol")
_SIGNAL_BOOKKEEPING = ("in_sample", "train_end")


class Tape:
    """The records of a session so far (see the module's doc). ``add(message)`` takes one data message and
    returns the rows it added to the stream, ``[lo, hi)`` of bars and of signals."""

    def __init__(
        self, symbols: Sequence[str], indicators: Mapping[str, pl.Expr], session_tz: str, freq_ns: int | None
    ) -> None:
        self.symbols = tuple(symbols)
        self._known = frozenset(symbols)
        self._indicators = dict(indicators)
        self._session_tz = session_tz
        self._freq_ns = freq_ns
        self._bar_frame: pl.DataFrame | None = None
        self._signal_frame: pl.DataFrame | None = None
        self.raw_bars: Bars | None = None
        """Every bar received, as received (None before the first bar)."""
        self.bars: Bars | None = None
        """:attr:`raw_bars` with the strategy's indicators."""
        self.signals: Signals | None = None
        """Every signal row received (None before the first)."""
        self.stream: BarStream | None = None
        self.signal_stream: SignalStream | None = None

    def add(self, messages: Sequence[Message]) -> tuple[int, int, int, int]:
        """Take the records of the data ``messages`` (in feed order); return ``(bar_lo, bar_hi, signal_lo,
        signal_hi)``: the rows of :attr:`stream` and :attr:`signal_stream` that are new. Several messages
        taken at once cost one rebuild (a replay reading a backlog takes it in one go)."""
        bar_lo = len(self.stream.symbol_index) if self.stream is not None else 0
        sig_lo = len(self.signal_stream.ts_arrival) if self.signal_stream is not None else 0
        bars = self._merged(messages, "bars", _BAR_REQUIRED)
        if bars is not None:
            part = bars.with_columns(pl.col(name).cast(pl.Int64).cast(TS_DTYPE) for name in _BAR_TIMES)
            self._bar_frame = _grow(self._bar_frame, part, "bars", messages[0].ts)
            frame = self._bar_frame.sort(["ts_event", "symbol"], maintain_order=True)
            self.raw_bars = raw = received_bars(frame, self.symbols, self._freq_ns)
            self.bars = raw.with_indicators(self._indicators) if self._indicators else raw
            self.stream = self.bars.stream(self._session_tz)
        signals = self._merged(messages, "signals", _SIGNAL_REQUIRED)
        if signals is not None:
            times = ("ts_event", "ts_arrival")
            part = signals.with_columns(pl.col(name).cast(pl.Int64).cast(TS_DTYPE) for name in times)
            if "in_sample" not in part.columns:
                part = part.with_columns(in_sample=pl.lit(value=False))
            self._signal_frame = _grow(self._signal_frame, part, "signals", messages[0].ts)
            frame = self._signal_frame
            values = tuple(name for name in frame.columns if name not in (*_SIGNAL_REQUIRED, *_SIGNAL_BOOKKEEPING))
            self.signals = received_signals(frame, values)
            self.signal_stream = self.signals.stream()
        bar_hi = len(self.stream.symbol_index) if self.stream is not None else 0
        sig_hi = len(self.signal_stream.ts_arrival) if self.signal_stream is not None else 0
        return bar_lo, bar_hi, sig_lo, sig_hi

    def engine_columns(self, lo: int, hi: int) -> dict[str, Any]:
        """Keyword arguments of ``EventEngine.append_bars`` for stream rows ``[lo, hi)``."""
        stream = self.stream
        assert stream is not None
        columns = stream.columns
        out: dict[str, Any] = {name: columns[name][lo:hi] for name in (*_BAR_TIMES, *_PRICES)}
        out["symbol"] = stream.symbol_index[lo:hi]
        out["session"] = stream.session[lo:hi]
        for name in ("split", "dividend"):
            out[name] = columns[name][lo:hi] if name in columns else None
        return out

    def _merged(self, messages: Sequence[Message], what: str, required: Sequence[str]) -> pl.DataFrame | None:
        """The ``what`` (bars or signals) of ``messages`` as one frame, each message's checked first: the
        required columns, one length, symbols of the universe, every record arriving at the message's time."""
        merged: dict[str, list[Any]] = {}
        names: list[str] | None = None
        for message in messages:
            columns = getattr(message, what)
            if not columns:
                continue
            ts = message.ts
            missing = [name for name in required if name not in columns]
            if missing:
                raise DataError(
                    f"a feed message's {what} lack the column {missing[0]!r}",
                    argument=what,
                    timestamp=ts,
                    column=missing[0],
                )
            if names is None:
                names = list(columns)
            elif list(columns) != names:
                raise DataError(
                    f"a feed message's {what} have the columns {list(columns)}, earlier ones had {names}",
                    argument=what,
                    timestamp=ts,
                )
            lengths = {len(v) for v in columns.values()}
            if len(lengths) != 1:
                raise DataError(
                    f"a feed message's {what} are columns of lengths {sorted(lengths)}", argument=what, timestamp=ts
                )
            unknown = sorted({str(s) for s in columns["symbol"]} - self._known)
            if unknown:
                raise DataError(
                    f"a feed message's {what} name a symbol outside the session's universe {list(self.symbols)[:5]}",
                    argument=what,
                    symbol=unknown[0],
                    timestamp=ts,
                )
            if any(a != ts for a in columns["ts_arrival"]):
                raise DataError(
                    f"a feed message at {format_ns(ts)} holds {what} arriving at another time",
                    argument=what,
                    timestamp=ts,
                )
            for name, values in columns.items():
                merged.setdefault(name, []).extend(values)
        if not merged:
            return None
        try:
            return pl.DataFrame(merged, strict=False)
        except (pl.exceptions.PolarsError, TypeError, ValueError) as error:
            raise DataError(
                f"feed messages' {what} do not make columns: {error}", argument=what, timestamp=messages[0].ts
            ) from None


def _grow(frame: pl.DataFrame | None, part: pl.DataFrame, what: str, ts: int) -> pl.DataFrame:
    """``frame`` with ``part``'s rows at its end, ``part`` cast to ``frame``'s schema (a feed sends numbers as it
    has them: an integer volume, a column that is null so far)."""
    if frame is None:
        return _floats(part)
    if part.columns != frame.columns:
        raise DataError(
            f"a feed message's {what} have the columns {part.columns}, earlier ones had {frame.columns}",
            argument=what,
            timestamp=ts,
        )
    try:
        return pl.concat([frame, _floats(part).cast(frame.schema)], how="vertical", rechunk=False)
    except pl.exceptions.PolarsError as error:
        raise DataError(
            f"a feed message's {what} do not fit the earlier columns' types: {error}", argument=what, timestamp=ts
        ) from None


def _floats(part: pl.DataFrame) -> pl.DataFrame:
    """Numeric value columns as float64 (a feed may send ``100`` for ``100.0``); null-only columns too."""
    keep = {*_BAR_TIMES, "symbol", "in_sample", "train_end"}
    return part.with_columns(
        pl.col(name).cast(pl.Float64)
        for name, dtype in part.schema.items()
        if name not in keep and (dtype.is_numeric() or dtype == pl.Null)
    )

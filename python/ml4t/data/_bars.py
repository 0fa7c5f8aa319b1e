"""The :class:`Bars` container: validated OHLCV bars in one canonical long frame.

Conventions (the design contract, section 3):

* every timestamp is ``pl.Datetime("ns", "UTC")``; a bar stamped ``ts_event = t`` is complete at ``t``
  (its open, high, low, close and volume are knowable at ``t``, not before);
* ``ts_arrival`` is the earliest time a strategy may see the bar: ``ts_event + latency``;
* ``ts_start`` is where the bar's interval begins: the bar covers ``(ts_start, ts_event]``, and an order is
  matched against it only if it reached the market at or before ``ts_start`` (``ml4t.data._interval``);
* the stored frame is sorted by (``ts_event``, ``symbol``). That order is canonical: how the input
  interleaved its symbols is layout, not data, so it is normalised; within a symbol nothing is ever
  reordered, because unsorted input is rejected by :func:`ml4t.data.bars`;
* ``symbols`` is the universe: every symbol of the input, in sorted order. :meth:`Bars.until` keeps it
  even for symbols that have no bar yet, so views of truncated data align with the full data.

Build one with :func:`ml4t.data.bars` or :func:`ml4t.data.load_bars`.

Bars own every layout ml4t's engines read, so no engine reaches into the stored frame: :meth:`Bars.panel`
(the vectorized kernel's), :meth:`Bars.stream` (the event engine's), :meth:`Bars.splits`,
:meth:`Bars.with_indicators`; and :meth:`Bars.fingerprint` identifies the data for caches and run specs.
Layouts are cached on the (immutable) ``Bars`` where they are reused.

Columns come in two kinds. **Given** columns arrive with the data (OHLCV, the corporate actions ``split`` and
``dividend``, and any extra column of the input: :attr:`Bars.precomputed` lists the extras). **Computed**
columns were attached with a recorded builder (:meth:`Bars.with_features`, :meth:`Bars.with_indicators`,
:func:`ml4t.data.align_signals`; :attr:`Bars.features`): every derivation (``until``, ``between``,
``select``) recomputes them on its own rows (:mod:`ml4t.data._features`), so a feature of truncated bars
never saw a row after the cut. That is what the lookahead audit relies on to verify them.
"""

from __future__ import annotations

import datetime as dt
import statistics
import types
from collections.abc import Iterable, Mapping
from typing import Any, Literal, cast

import numpy as np
import polars as pl

from ml4t._time import NS_PER_YEAR, format_duration, from_ns, to_ns
from ml4t.data._build import KEY_COLUMNS, canonical, infer_freq_ns
from ml4t.data._columnar import SymbolBlocks, build_blocks
from ml4t.data._features import Builder, ExprStep, Step, attach, feature_steps, replay
from ml4t.data._fingerprint import frame_fingerprint
from ml4t.data._panel import Panel, build_panel
from ml4t.data._stream import BarStream, bar_stream, split_events
from ml4t.errors import ConfigError, DataError

__all__ = ["BAR_FIELDS", "Bars", "bars"]

BAR_FIELDS = ("open", "high", "low", "close", "volume", "split", "dividend")
"""The fields the data layer itself defines for a bar: OHLCV and the corporate actions ``split`` and
``dividend`` (``ml4t.event.Engine`` applies them on their ex-date). Each is about its own bar."""


class Bars:
    """Validated, immutable OHLCV bars of one or more symbols (see the module docstring for conventions).

    ``Bars(frame, **options)`` is the same as ``ml4t.data.bars(frame, **options)``.
    """

    __slots__ = ("_cache", "_frame", "_freq_ns", "_steps", "_symbols")

    _frame: pl.DataFrame
    _symbols: tuple[str, ...]
    _freq_ns: int | None
    _steps: tuple[Step, ...]
    _cache: dict[str, Any]

    def __init__(self, frame: Any, **options: Any) -> None:
        built = bars(frame, **options)
        self._init(built._frame, built._symbols, built._freq_ns, ())

    def _init(
        self, frame: pl.DataFrame, symbols: tuple[str, ...], freq_ns: int | None, steps: tuple[Step, ...]
    ) -> None:
        object.__setattr__(self, "_frame", frame)
        object.__setattr__(self, "_symbols", symbols)
        object.__setattr__(self, "_freq_ns", freq_ns)
        object.__setattr__(self, "_steps", steps)
        object.__setattr__(self, "_cache", {})

    @classmethod
    def _from_canonical(
        cls, frame: pl.DataFrame, symbols: tuple[str, ...], freq_ns: int | None, steps: tuple[Step, ...] = ()
    ) -> Bars:
        """Wrap a frame that is already validated and canonical (internal: no checks); ``steps``: the recorded
        builders of its computed columns (:mod:`ml4t.data._features`)."""
        self = object.__new__(cls)
        self._init(frame, symbols, freq_ns, steps)
        return self

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Bars is immutable; build a new one with ml4t.data.bars()")

    def __reduce__(self) -> tuple[Any, ...]:
        # the builders pickle with the bars: a function by reference (see ml4t.data._features)
        return (Bars._from_canonical, (self._frame, self._symbols, self._freq_ns, self._steps))

    # ----------------------------------------------------------------------------------------- views
    @property
    def frame(self) -> pl.DataFrame:
        """The long frame: ``ts_event, ts_arrival, ts_start, symbol, open, high, low, close, volume, <extras...>``,
        sorted by (``ts_event``, ``symbol``)."""
        return self._frame.clone()

    @property
    def symbols(self) -> list[str]:
        """The universe, sorted."""
        return list(self._symbols)

    @property
    def fields(self) -> list[str]:
        """Numeric columns a strategy can read: open, high, low, close, volume and numeric extras."""
        return self._field_names()

    @property
    def features(self) -> Mapping[str, object]:
        """The computed columns, read-only: ``column -> what computes it`` (a Polars expression or a function
        given to :meth:`with_features` or :meth:`with_indicators`, or the ``Signals`` it was aligned from by
        :func:`ml4t.data.align_signals`), in column order. Every derivation recomputes them on its own rows."""
        return types.MappingProxyType({n: src for step in self._steps for n, src in step.sources().items()})

    @property
    def precomputed(self) -> list[str]:
        """The given columns that are not bar fields: neither a key (``ts_event``, ``ts_arrival``, ``ts_start``,
        ``symbol``), nor OHLCV or ``split`` / ``dividend`` (:data:`BAR_FIELDS`), nor computed by a recorded
        builder (:attr:`features`). Their values came with the data, so truncating the rows cannot recompute
        them: a value about a row may have been computed from later rows (a forward return), and the lookahead
        audit cannot tell (it lists them as ``unverified_columns``)."""
        computed = {n for step in self._steps for n in step.names}
        return [c for c in self._frame.columns if c not in (*KEY_COLUMNS, *BAR_FIELDS) and c not in computed]

    @property
    def close_only(self) -> bool:
        """True for close-only bars (no open, high or low: see :func:`ml4t.data.bars`): close execution only."""
        if "close_only" not in self._cache:
            frame = self._frame
            self._cache["close_only"] = frame.height > 0 and frame["open"].null_count() == frame.height
        return bool(self._cache["close_only"])

    @property
    def has_volume(self) -> bool:
        """False when the bars have no volume (close-only bars given without a ``volume`` column): volume
        participation and volume-based slippage then have nothing to read."""
        if "has_volume" not in self._cache:
            frame = self._frame
            self._cache["has_volume"] = frame.height == 0 or frame["volume"].null_count() < frame.height
        return bool(self._cache["has_volume"])

    def _field_names(self) -> list[str]:
        return [name for name, dtype in self._frame.schema.items() if name not in KEY_COLUMNS and dtype.is_numeric()]

    def __len__(self) -> int:
        return self._frame.height

    @property
    def start(self) -> dt.datetime | None:
        """The first ``ts_event`` (tz-aware UTC), None when there are no rows."""
        return None if self._frame.height == 0 else from_ns(int(self._frame["ts_event"].cast(pl.Int64)[0]))

    @property
    def end(self) -> dt.datetime | None:
        """The last ``ts_event`` (tz-aware UTC), None when there are no rows."""
        return None if self._frame.height == 0 else from_ns(int(self._frame["ts_event"].cast(pl.Int64)[-1]))

    @property
    def freq(self) -> dt.timedelta | None:
        """The bar length: ``freq=`` when it was given, else the most common spacing between consecutive
        bars within symbols (ties -> the shorter). None when no symbol has two bars."""
        ns = self._freq_ns if self._freq_ns is not None else self._inferred_freq_ns()
        return None if ns is None else dt.timedelta(microseconds=ns / 1_000)

    def _inferred_freq_ns(self) -> int | None:
        if "freq" not in self._cache:
            self._cache["freq"] = infer_freq_ns(self._frame)
        freq: int | None = self._cache["freq"]
        return freq

    @property
    def periods_per_year(self) -> float | None:
        """Bars actually observed per year: per symbol ``(n_bars - 1) / span_in_years`` (Julian years,
        ``NS_PER_YEAR``), the median across symbols with at least two bars; None when not inferable.

        Because it counts the bars the data really has, session-limited intraday data (e.g. 390 one-minute
        bars per weekday, ~102k a year without holidays, ~98k with an exchange calendar) and 24/7 data
        (525,960 minutes a year) are both right, unlike a fixed 365-day year. The estimate uses the span from
        the first to the last bar, so it is accurate for samples covering whole weeks and years.
        """
        if "ppy" not in self._cache:
            stats = (  # lazy over two columns: the eager group_by took ~150 MB more at 5M rows (issue #18)
                self._frame.lazy()
                .select("symbol", "ts_event")
                .group_by("symbol")
                .agg(
                    pl.len().alias("n"),
                    (pl.col("ts_event").max() - pl.col("ts_event").min()).dt.total_nanoseconds().alias("span"),
                )
                .filter((pl.col("n") >= 2) & (pl.col("span") > 0))
                .collect()
            )
            rates = [(n - 1) / (span / NS_PER_YEAR) for n, span in stats.select("n", "span").iter_rows()]
            self._cache["ppy"] = float(statistics.median(rates)) if rates else None
        ppy: float | None = self._cache["ppy"]
        return ppy

    def wide(self, field: str) -> pl.DataFrame:
        """``ts_event`` then one column per symbol (in ``symbols`` order) holding ``field``; null where a
        symbol has no bar at that timestamp."""
        if field in ("ts_event", "symbol") or field not in self._frame.columns:
            available = [c for c in self._frame.columns if c not in ("ts_event", "symbol")]
            raise DataError(
                f"unknown field {field!r}; available: {available}",
                argument="field",
                column=field,
            )
        return self._frame.pivot(
            on="symbol", index="ts_event", values=field, on_columns=list(self._symbols), maintain_order=True
        )

    def arrays(self, symbol: str) -> dict[str, np.ndarray]:
        """Read-only NumPy arrays of one symbol's bars in time order: ``ts_event``, ``ts_arrival`` and
        ``ts_start`` as int64 ns UTC, every numeric field as float64. Zero-copy views of a cache built once per
        ``Bars``."""
        self._check_symbol(symbol)
        return dict(self._blocks().views[symbol])

    # ------------------------------------------------------------------------------------ derivation
    def until(self, ts: dt.datetime | str | int) -> Bars:
        """The bars a strategy could have seen at ``ts``: rows with ``ts_arrival <= ts``. The universe and a
        declared ``freq`` are kept; used to truncate data for lookahead audits. Computed columns
        (:attr:`features`) are recomputed from these rows alone, aligned signals from ``signals.until(ts)``."""
        cut = to_ns(ts, argument="ts")
        return self._derive(pl.col("ts_arrival").cast(pl.Int64) <= cut, self._symbols, cut)

    def between(self, start: dt.datetime | str | int | None = None, end: dt.datetime | str | int | None = None) -> Bars:
        """The bars with ``start <= ts_event <= end`` (either bound may be None: open). The universe and a
        declared ``freq`` are kept; used to cut training and test windows (``ml4t.validate``). Computed columns
        (:attr:`features`) are recomputed from these rows alone."""
        lo = None if start is None else to_ns(start, argument="start")
        hi = None if end is None else to_ns(end, argument="end")
        if lo is not None and hi is not None and lo > hi:
            raise ConfigError(
                f"start ({from_ns(lo).isoformat()}) is after end ({from_ns(hi).isoformat()})", argument="start"
            )
        event = pl.col("ts_event").cast(pl.Int64)
        keep = pl.lit(value=True)
        if lo is not None:
            keep = keep & (event >= lo)
        if hi is not None:
            keep = keep & (event <= hi)
        return self._derive(keep, self._symbols, None)

    def select(self, symbols: str | Iterable[str]) -> Bars:
        """The bars of some symbols (the new universe); an unknown symbol is a DataError. Computed columns
        (:attr:`features`) are recomputed on these symbols' rows (a cross-sectional rank ranks among them)."""
        if not isinstance(symbols, (str, Iterable)):
            raise ConfigError(f"symbols must be a symbol or a list of symbols, got {symbols!r}", argument="symbols")
        wanted = [symbols] if isinstance(symbols, str) else list(symbols)
        if not wanted:
            raise ConfigError("select() needs at least one symbol", argument="symbols")
        for symbol in wanted:
            self._check_symbol(symbol)
        universe = tuple(sorted(set(wanted)))
        return self._derive(pl.col("symbol").is_in(universe), universe, None)

    def _derive(self, keep: pl.Expr, symbols: tuple[str, ...], cut: int | None) -> Bars:
        """The rows ``keep`` selects of the given columns, with every computed column recomputed on them."""
        if not self._steps:
            return Bars._from_canonical(self._frame.filter(keep), symbols, self._freq_ns)
        computed = [n for step in self._steps for n in step.names]
        given = self._frame.drop(computed).filter(keep)
        return Bars._from_canonical(replay(given, self._steps, cut), symbols, self._freq_ns, self._steps)

    def _attach(self, step: Step, given: Mapping[str, pl.Series] | None = None) -> Bars:
        """These bars plus a new step's columns (``given``: some of them already computed), the step recorded
        (``ml4t.data`` only: ``align_signals``)."""
        frame, recorded = attach(self._frame, step, given)
        return Bars._from_canonical(frame, self._symbols, self._freq_ns, (*self._steps, recorded))

    def _check_symbol(self, symbol: str) -> None:
        if symbol not in self._blocks().views:
            raise DataError(
                f"unknown symbol; known symbols: {_preview(self._symbols)}", argument="symbol", symbol=symbol
            )

    def _blocks(self) -> SymbolBlocks:
        blocks = self._cache.get("blocks")
        if blocks is None:
            fields = self._field_names()
            blocks = build_blocks(
                self._frame,
                self._symbols,
                time_columns=("ts_event", "ts_arrival", "ts_start"),
                order_by=("ts_event",),
                fields=fields,
            )
            self._cache["blocks"] = blocks
        return blocks

    # ------------------------------------------------------------------------- layouts for ml4t's engines
    def panel(self) -> Panel:
        """For ml4t's vectorized kernel: every symbol on the common timeline, ``(n_symbols, n_bars)`` OHLC
        arrays (:mod:`ml4t.data._panel`). Built once per ``Bars``, then cached."""
        panel = self._cache.get("panel")
        if panel is None:
            panel = self._cache["panel"] = build_panel(self._frame.clone(), self._symbols)
        return cast(Panel, panel)

    def stream(self, session_tz: str) -> BarStream:
        """For ml4t's event engine: the bars ordered by (``ts_arrival``, ``symbol``) as read-only arrays, with
        each bar's session date in ``session_tz`` (:mod:`ml4t.data._stream`)."""
        return bar_stream(self._frame, self._symbols, self._field_names(), session_tz)

    def splits(self) -> dict[str, list[tuple[int, float]]]:
        """For ml4t's engines: ``symbol -> [(ts_event ns, ratio), ...]`` of the ``split`` column's splits."""
        return split_events(self._frame)

    def with_features(self, *builders: Builder, **named: Builder) -> Bars:
        """These bars plus feature columns computed by recorded builders, which every derivation recomputes on
        its own rows: ``until(cut)`` computes them only from the rows that arrived by the cut (so
        ``ml4t.audit.lookahead`` verifies every decision that reads them), ``between`` and ``select`` on their
        rows; ``with_indicators`` and ``align_signals`` keep them.

        >>> bars.with_features(ret_5=pl.col("close").pct_change(5), z=zscore, rank=rank_across_symbols)

        Parameters
        ----------
        builders:
            Polars expressions with an alias (``pl.col("close").pct_change().alias("ret")``), or functions
            ``fn(frame) -> columns`` (see ``named``) whose output names the columns.
        named:
            ``name=builder``: a Polars expression, evaluated per symbol in time order (``expr.over("symbol")``,
            like :meth:`with_indicators`); or a function ``fn(frame)`` of the canonical long frame (every
            symbol, sorted by (``ts_event``, ``symbol``), with the columns of the builders before it) returning
            one column (a Series or a one-column DataFrame), for cross-sectional features such as a rank
            across symbols (``pl.col("ret").rank().over("ts_event")``). A positional function returns a
            DataFrame or a mapping ``name -> Series`` of new columns. A function returns one value per row of
            the frame, in its order.

        Notes
        -----
        Builders run in order (positional first), each seeing the columns of those before it. A name that is
        already a column, a builder that raises or returns the wrong number of rows, or something that is
        neither an expression nor a callable is a ConfigError naming ``features`` and the column. Functions
        pickle by reference: a ``lambda`` or a local function makes these bars unpicklable by the standard
        ``pickle`` (not by cloudpickle, which Dask and Ray use); a module-level function does not.
        """
        bars = self
        for step in feature_steps(builders, named):
            bars = bars._attach(step)
        return bars

    def with_indicators(self, exprs: Mapping[str, pl.Expr], *, computed: Mapping[str, pl.Series] | None = None) -> Bars:
        """For ml4t's event engine: these bars plus the columns ``name -> Polars expression``, each evaluated
        per symbol in time order (a strategy's indicators), recorded like :meth:`with_features`' (recomputed by
        every derivation). A name that is already a column, a value that is not an expression, or an
        expression that fails is a ConfigError naming ``indicators``.

        ``computed``: values of some of the indicators already computed on these same bars (ml4t's cache
        passes the columns it read back, :mod:`ml4t.event._indicator_cache`), one Series of the bars' height
        each, in the frame's row order; they are used as given instead of evaluating their expressions (the
        caller vouches for them), and recorded with their expressions like the rest, so every derivation
        recomputes them. A name that is not an indicator, a value that is not a Series or has another
        height is a ConfigError naming ``computed``."""
        given = _computed_indicators(computed, exprs, self._frame.height)
        if not exprs:
            return self
        clash = sorted(set(exprs) & set(self._frame.columns))
        if clash:
            raise ConfigError("an indicator has the name of a bar column", argument="indicators", column=clash[0])
        for name, expr in exprs.items():
            if not isinstance(expr, pl.Expr):
                raise ConfigError(
                    f"indicators must map names to Polars expressions, got {type(expr).__name__}",
                    argument="indicators",
                    column=name,
                )
        names = tuple(exprs)
        step = ExprStep(
            names=names, dtypes=(), argument="indicators", exprs=tuple(e.alias(n) for n, e in exprs.items())
        )
        return self._attach(step, given)

    def fingerprint(self) -> str:
        """A 128-bit hash of these bars as 32 hex digits: equal for equal bars (every column's values, the
        column names and dtypes, the universe and the declared ``freq``) in any process, different when any
        of them differs (:mod:`ml4t.data._fingerprint`). Computed once per ``Bars``, then cached."""
        digest = self._cache.get("fingerprint")
        if digest is None:
            digest = self._cache["fingerprint"] = frame_fingerprint(
                self._frame, kind="bars", symbols=self._symbols, freq_ns=self._freq_ns
            )
        return cast(str, digest)

    def to_parts(self) -> tuple[pl.DataFrame, dict[str, Any]]:
        """What :meth:`from_parts` rebuilds these bars from, e.g. to save them beside a result: the stored
        frame (as :attr:`frame`) and, as JSON values, what the fingerprint covers beyond it: ``symbols`` (the
        universe, which may name symbols without rows) and ``freq_ns`` (the declared bar length in ns, None
        when it is inferred)."""
        return self._frame.clone(), {"symbols": list(self._symbols), "freq_ns": self._freq_ns}

    @classmethod
    def from_parts(cls, frame: pl.DataFrame, *, symbols: Iterable[str], freq_ns: int | None) -> Bars:
        """Bars rebuilt from :meth:`to_parts`, with the same :meth:`fingerprint`. The frame is validated again
        like any input (:func:`bars`); a symbol of the frame missing from ``symbols`` is a DataError. Recorded
        builders are not part of the parts: their columns come back as given columns (:attr:`precomputed`)."""
        built = canonical(frame, freq=freq_ns)
        universe = tuple(sorted(set(symbols)))
        missing = sorted(set(built.symbols) - set(universe))
        if missing:
            raise DataError("the frame has a symbol outside the universe", argument="symbols", symbol=missing[0])
        return cls._from_canonical(built.frame, universe, built.freq_ns)

    def __repr__(self) -> str:
        span = f"{self.start.isoformat()} .. {self.end.isoformat()}" if self.start and self.end else "empty"
        freq = self.freq
        extras = self._frame.columns[len(KEY_COLUMNS) + 5 :]
        return (
            f"Bars({len(self._symbols)} symbols {_preview(self._symbols)}, {self._frame.height:,} rows, "
            f"{span}, freq={format_duration(freq)}{', close-only' if self.close_only else ''}"
            f"{', extras=' + str(extras) if extras else ''})"
        )


def bars(
    frame: Any,
    *,
    tz: str | dt.tzinfo | None = None,
    label: Literal["right", "left"] = "right",
    symbol: str | None = None,
    freq: dt.timedelta | str | None = None,
    session_close: str | dt.time | None = None,
    session_open: str | dt.time | None = None,
    latency: dt.timedelta | str | None = None,
    timestamp: str | None = None,
    wide: Literal["close"] | None = None,
) -> Bars:
    """Validate OHLCV bars and store them canonically as :class:`Bars`.

    Parameters
    ----------
    frame:
        A Polars or pandas DataFrame in long format: a timestamp, ``symbol``, ``open``, ``high``, ``low``,
        ``close``, ``volume``, plus any extra columns (kept). Names are matched case-insensitively and
        normalised to snake_case (``Adj Close`` -> ``adj_close``, ``OpenInterest`` -> ``open_interest``).
        A pandas ``DatetimeIndex`` becomes the timestamp column. A frame that already has ``ts_arrival``
        or ``ts_start`` (e.g. ``Bars.frame``) keeps those arrival times and bar starts.

        **Close-only bars**: a ``close`` and none of ``open``/``high``/``low`` (``volume`` optional). The
        missing columns are held as nulls (NaN in every array layout), never made up from the close, and
        :attr:`Bars.close_only` is True. They support close execution only: the vectorized mode with
        ``execution="close"`` and no stops (``execution="next_open"`` or ``sl_stop``/``tp_stop`` is a
        ConfigError saying why); the event engine with ``execution="close"`` and market orders (its stop
        and limit orders, which trigger on the high and low, are an OrderError; without a volume column,
        ``participation`` and ``VolumeImpact`` slippage are a ConfigError).

        **Wide frames**: a date x symbol frame of closes (skfolio, yfinance, vectorbt): one timestamp column
        (or a pandas ``DatetimeIndex``) and one numeric column per symbol, named by the symbol. Each cell is
        one close-only bar; a null or NaN cell is no bar (before a listing, after a delisting, a gap): no
        row is made for it, no price carried into it. A column without any value is a DataError. See
        ``wide``.
    tz:
        Time zone of naive or date-only timestamps, which are otherwise rejected. Naive datetimes that are
        all at midnight (daily data from pandas, yfinance, skfolio, arch) are date-only. Aware timestamps are
        converted to UTC, and giving ``tz`` for them is a ConfigError (never re-interpreted).
    label:
        ``"right"`` (default): stamps are bar close times. ``"left"``: stamps are open times and are shifted
        to the close by the bar length ``freq``, because a bar stamped ``t`` must be complete at ``t``.
    symbol:
        Name of the asset of a single-asset frame without a ``symbol`` column (default ``"asset"``).
    freq:
        The bar length (timedelta or ``"1m"``, ``"1d"``...). Used to shift ``label="left"`` stamps and
        reported by ``Bars.freq``; inferred as the most common spacing within symbols when not given.
    session_close:
        For date-only timestamps: the local time (``"16:00"`` or a ``datetime.time``) at which a daily bar is
        complete. Without it, dates are stamped at local midnight of the date in ``tz`` (see Notes).
    session_open:
        With ``session_close``: the local time at which a daily bar's session opens, its ``ts_start``
        (default ``"09:30"``, US equities). An open at or after the close is an overnight session that
        opened the day before (``"18:00"`` with a ``"17:00"`` close). An order can take a daily bar's open
        only if it reached the market by then.
    latency:
        Feed latency added to every bar: ``ts_arrival = ts_event + latency`` (default 0).
    timestamp:
        Name of the timestamp column. Otherwise the one of ``timestamp``, ``ts_event``, ``datetime``,
        ``date``, ``time`` present; separate ``date`` and time-of-day ``time`` columns are combined.
        Several candidates present is ambiguous: a DataError asks for ``timestamp=``.
    wide:
        ``"close"``: ``frame`` is a wide frame of closes (every column but the timestamp is a symbol). By
        default (None) a frame is read as wide when no column is named ``symbol``, ``close``, ``open``,
        ``high`` or ``low`` and every column but the timestamp is numeric; give ``wide="close"`` when a
        ticker has one of those names (``LOW``, ``OPEN``). A frame that is neither long nor wide is a
        DataError naming its columns; ``symbol=`` with a wide frame is a ConfigError.

    Notes
    -----
    Why midnight is the safe default for date-only bars: the bar of date D stamped at D 00:00 is visible
    from the start of D, hours before its real close, but the earliest an order placed on it can fill is
    the next bar, which opens on D+1: after D's close and after everything that arrived during D. A signal
    arriving during D can therefore only wait for the next bar; it is never paired with a price from before
    its arrival, and no decision trades on D's values before they exist. Stamping at the close instead (say
    16:00) is exact for bar-only strategies, but a signal arriving at 12:00 on D would then see bar D-1 as
    the latest and could fill at D's open (09:30), a price from before the signal existed. Give
    ``session_close`` when the daily bars are not mixed with intraday arrivals, or when you want each bar
    visible exactly at its close.

    Every bar has an interval ``(ts_start, ts_event]`` (the ``ts_start`` column; rules in
    ``ml4t.data._interval``): date-only bars start at their session open (``session_open``, or the stamp when
    there is no ``session_close``), other bars at ``ts_event - freq`` (``freq=`` or the symbol's most common
    spacing), never before the symbol's previous bar. Orders fill only against bars that start after they
    reached the market.

    Every problem raises :class:`ml4t.DataError` naming the column, the symbol and the first offending
    timestamp in time order, with the count of offending rows; nothing is repaired, dropped or reordered
    within a symbol.
    """
    return Bars._from_canonical(
        *canonical(
            frame,
            tz=tz,
            label=label,
            symbol=symbol,
            freq=freq,
            session_close=session_close,
            session_open=session_open,
            latency=latency,
            timestamp=timestamp,
            wide=wide,
        )
    )


def _preview(symbols: tuple[str, ...] | list[str], limit: int = 5) -> str:
    shown = ", ".join(symbols[:limit])
    return f"[{shown}{', ...' if len(symbols) > limit else ''}]"


def _computed_indicators(computed: object, exprs: Mapping[str, object], height: int) -> dict[str, pl.Series]:
    """``with_indicators``' ``computed`` checked: indicator names to Series of ``height`` rows."""
    if computed is None:
        return {}
    if not isinstance(computed, Mapping):
        raise ConfigError(
            f"computed must be a mapping of indicator names to Series, got {type(computed).__name__}",
            argument="computed",
        )
    for name, series in computed.items():
        if name not in exprs:
            raise ConfigError(f"computed names {name!r}, which is not an indicator", argument="computed", column=name)
        if not isinstance(series, pl.Series):
            raise ConfigError(
                f"computed[{name!r}] must be a polars Series, got {type(series).__name__}",
                argument="computed",
                column=name,
            )
        if series.len() != height:
            raise ConfigError(
                f"computed[{name!r}] has {series.len()} rows, the bars {height}", argument="computed", column=name
            )
    return dict(computed)

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
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable
from typing import Any

import numpy as np
import polars as pl

from ml4t._time import NS_PER_YEAR, format_duration, from_ns, to_ns
from ml4t.data._columnar import SymbolBlocks, build_blocks
from ml4t.errors import ConfigError, DataError

__all__ = ["KEY_COLUMNS", "Bars"]

KEY_COLUMNS = ("ts_event", "ts_arrival", "ts_start", "symbol")


class Bars:
    """Validated, immutable OHLCV bars of one or more symbols (see the module docstring for conventions).

    ``Bars(frame, **options)`` is the same as ``ml4t.data.bars(frame, **options)``.
    """

    __slots__ = ("_cache", "_frame", "_freq_ns", "_symbols")

    _frame: pl.DataFrame
    _symbols: tuple[str, ...]
    _freq_ns: int | None
    _cache: dict[str, Any]

    def __init__(self, frame: Any, **options: Any) -> None:
        from ml4t.data._build import bars

        built = bars(frame, **options)
        self._init(built._frame, built._symbols, built._freq_ns)

    def _init(self, frame: pl.DataFrame, symbols: tuple[str, ...], freq_ns: int | None) -> None:
        object.__setattr__(self, "_frame", frame)
        object.__setattr__(self, "_symbols", symbols)
        object.__setattr__(self, "_freq_ns", freq_ns)
        object.__setattr__(self, "_cache", {})

    @classmethod
    def _from_canonical(cls, frame: pl.DataFrame, symbols: tuple[str, ...], freq_ns: int | None) -> Bars:
        """Wrap a frame that is already validated and canonical (internal: no checks)."""
        self = object.__new__(cls)
        self._init(frame, symbols, freq_ns)
        return self

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Bars is immutable; build a new one with ml4t.data.bars()")

    def __reduce__(self) -> tuple[Any, ...]:
        return (Bars._from_canonical, (self._frame, self._symbols, self._freq_ns))

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
            stats = (
                self._frame.group_by("symbol")
                .agg(
                    pl.len().alias("n"),
                    (pl.col("ts_event").max() - pl.col("ts_event").min()).dt.total_nanoseconds().alias("span"),
                )
                .filter((pl.col("n") >= 2) & (pl.col("span") > 0))
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
        declared ``freq`` are kept; used to truncate data for lookahead audits."""
        cut = to_ns(ts, argument="ts")
        frame = self._frame.filter(pl.col("ts_arrival").cast(pl.Int64) <= cut)
        return Bars._from_canonical(frame, self._symbols, self._freq_ns)

    def select(self, symbols: str | Iterable[str]) -> Bars:
        """The bars of some symbols (the new universe); an unknown symbol is a DataError."""
        if not isinstance(symbols, (str, Iterable)):
            raise ConfigError(f"symbols must be a symbol or a list of symbols, got {symbols!r}", argument="symbols")
        wanted = [symbols] if isinstance(symbols, str) else list(symbols)
        if not wanted:
            raise ConfigError("select() needs at least one symbol", argument="symbols")
        for symbol in wanted:
            self._check_symbol(symbol)
        universe = tuple(sorted(set(wanted)))
        frame = self._frame.filter(pl.col("symbol").is_in(universe))
        return Bars._from_canonical(frame, universe, self._freq_ns)

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

    def __repr__(self) -> str:
        span = f"{self.start.isoformat()} .. {self.end.isoformat()}" if self.start and self.end else "empty"
        freq = self.freq
        extras = self._frame.columns[len(KEY_COLUMNS) + 5 :]
        return (
            f"Bars({len(self._symbols)} symbols {_preview(self._symbols)}, {self._frame.height:,} rows, "
            f"{span}, freq={format_duration(freq)}{', extras=' + str(extras) if extras else ''})"
        )


def infer_freq_ns(frame: pl.DataFrame) -> int | None:
    """The most common spacing (int ns) between consecutive timestamps within symbols; ties -> the shorter."""
    gaps = frame.select(pl.col("ts_event").cast(pl.Int64).diff().over("symbol").alias("gap"))["gap"].drop_nulls()
    gaps = gaps.filter(gaps > 0)
    if gaps.len() == 0:
        return None
    counts = gaps.value_counts(name="n")
    best = counts.sort(["n", "gap"], descending=[True, False]).row(0)
    return int(best[0])


def _preview(symbols: tuple[str, ...] | list[str], limit: int = 5) -> str:
    shown = ", ".join(symbols[:limit])
    return f"[{shown}{', ...' if len(symbols) > limit else ''}]"

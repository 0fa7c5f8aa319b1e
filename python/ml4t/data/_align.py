""":func:`align_signals`: signal values joined onto bars by arrival, for the vectorized mode.

The event mode reads a signal at the current time with ``ctx.data.signal(name, symbol)``. A vectorized
strategy has no clock: its rules are expressions over bar columns. :func:`align_signals` gives it the same
view as columns: at a bar whose ``ts_arrival`` is ``t``, each signal column holds exactly what
``PITData(bars, signals, now=t).signal(name, symbol)`` returns there, so both modes see the same value at
every bar.

The rule (``PITData.signal``'s): among the symbol's signal rows with ``ts_arrival <= t``, the one with the
greatest ``ts_event`` wins, ties going to the later arrival. A late revision about an older event therefore
never replaces a fresher prediction, which is *not* what a plain as-of join on arrival ("the last row that
arrived") does. Here it is vectorized: within a symbol, in arrival order, only rows whose ``ts_event`` equals
the running maximum can ever be the answer (``running_argmax``'s holders); the last such row with
``ts_arrival <= t`` is the answer, which a backward as-of join on arrival finds.

The aligned columns are recorded with their source (:class:`AlignStep`, a step of :mod:`ml4t.data._features`),
so every derivation of the bars re-aligns them on its own rows: ``bars.until(cut)`` from
``signals.until(cut)``, the signal rows that had arrived by the cut. The lookahead audit therefore verifies
them like OHLCV, by arrival: if the signals' arrival times are truthful, no aligned value can come from the
future. Arrival times are the one thing it takes on trust: signals whose values were computed from later data
but stamped as arrived earlier (a forward return with ``ts_arrival = ts_event``) are a lie no truncation can
catch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from ml4t.data._bars import Bars, _preview
from ml4t.data._features import Step
from ml4t.data._signals import Signals
from ml4t.errors import ConfigError, DataError

__all__ = ["align_signals"]

_ROW = "__align_row"


def align_signals(
    bars: Bars,
    signals: Signals,
    *,
    columns: str | Sequence[str] | None = None,
    prefix: str = "",
) -> Bars:
    """The bars with one Float64 column per signal value column, aligned point-in-time by arrival.

    At a bar of ``symbol`` with ``ts_arrival = t``, column ``prefix + name`` holds the value of the
    symbol's signal row with ``ts_arrival <= t`` and the greatest ``ts_event`` (ties -> the later arrival):
    exactly ``PITData.signal(name, symbol)`` at ``now = t``, and so what ``ctx.data.signal`` returns when the
    event engine decides on that bar. A signal arriving exactly at ``t`` is visible at that bar; one arriving
    between two bars from the next bar on; one arriving after the last bar never. A missing value is null:
    nothing visible yet, or a visible value that is null or NaN (``PITData.signal`` returns None for both,
    the same convention), so ``pl.col("score") > 0.5`` is never true for a missing prediction (Polars orders
    NaN above every number; null compares as null). Booleans become 1.0 / 0.0.

    >>> scored = ml4t.data.align_signals(bars, ml4t.data.signals(preds, ts_arrival="15m", embargo="1d"))
    >>> VectorizedStrategy(lambda: {"entries": pl.col("score") > 0.5, "exits": pl.col("score") < 0})

    Parameters
    ----------
    bars:
        The bars to align to (``ml4t.data.Bars``). The result has the same rows, order, universe and
        ``freq``; a bar's feed latency delays what it sees, as in the event engine.
    signals:
        ``ml4t.data.Signals``. Its rules already hold: ``ts_arrival`` includes the ``embargo``, and
        predictions inside ``train_end + embargo`` raised ``LeakageError`` when the signals were built unless
        ``allow_in_sample=True`` kept them (they are then aligned like any other row). Every signal symbol
        must be in the bars' universe: a DataError names the first one that is not (filter the signal
        frame first; a market-wide signal has no bar to join onto, so give it to each symbol yourself).
    columns:
        The value columns to add (a name or a list); default all of ``signals.columns``.
    prefix:
        Prepended to each new column's name (e.g. ``"sig_"``). A new name equal to a bar column is a
        ConfigError.
    """
    if not isinstance(bars, Bars):
        raise ConfigError(f"bars must be ml4t.data.Bars, got {type(bars).__name__}", argument="bars")
    if not isinstance(signals, Signals):
        raise ConfigError(f"signals must be ml4t.data.Signals, got {type(signals).__name__}", argument="signals")
    names = _value_columns(signals, columns)
    if not isinstance(prefix, str):
        raise ConfigError(f"prefix must be a string, got {type(prefix).__name__}", argument="prefix")
    frame = bars._frame
    for name in names:
        if prefix + name in frame.columns:
            raise ConfigError(
                f"signal column {name!r} would be added as {prefix + name!r}, which is already a bar column; "
                "pass prefix= (e.g. prefix='sig_') or choose columns=",
                argument="columns" if not prefix else "prefix",
                column=prefix + name,
            )
    outside = sorted(set(signals._frame["symbol"].unique().to_list()) - set(bars._symbols))
    if outside:
        raise DataError(
            f"{len(outside)} signal symbol(s) are not in the bars' universe {_preview(bars._symbols)}; "
            "filter the signals to the bars' symbols first",
            argument="signals",
            symbol=outside[0],
        )
    step = AlignStep(
        names=tuple(prefix + name for name in names),
        dtypes=(),
        argument="signals",
        signals=signals,
        columns=names,
        prefix=prefix,
    )
    return bars._attach(step)


@dataclass(frozen=True, eq=False)
class AlignStep(Step):
    """The recorded alignment of ``columns`` of ``signals`` (named ``names``): recomputed on the rows of every
    derivation of the bars, from ``signals.until(cut)`` for ``Bars.until(cut)``."""

    signals: Signals | None = None
    columns: tuple[str, ...] = ()
    prefix: str = ""

    def sources(self) -> dict[str, object]:
        return dict.fromkeys(self.names, self.signals)

    def compute(self, frame: pl.DataFrame, cut: int | None) -> list[pl.Series]:
        assert self.signals is not None
        signals = self.signals if cut is None else self.signals.until(cut)
        return _aligned(frame, signals._frame, self.columns, self.prefix).get_columns()

    def describe(self) -> str:
        return f"the aligned signal columns {list(self.names)}"


def _value_columns(signals: Signals, columns: str | Sequence[str] | None) -> tuple[str, ...]:
    available = signals.columns
    if columns is None:
        return tuple(available)
    if not isinstance(columns, (str, Sequence)):
        raise ConfigError(
            f"columns must be a column name or a list of names, got {type(columns).__name__}", argument="columns"
        )
    wanted = [columns] if isinstance(columns, str) else list(columns)
    if not wanted:
        raise ConfigError("columns= is empty; leave it out to add every signal column", argument="columns")
    for name in wanted:
        if not isinstance(name, str) or name not in available:
            raise DataError(f"unknown signal column; available: {available}", argument="columns", column=str(name))
    if len(set(wanted)) != len(wanted):
        dup = next(name for name in wanted if wanted.count(name) > 1)
        raise ConfigError("a signal column is named twice in columns=", argument="columns", column=dup)
    return tuple(wanted)


def _aligned(bar_frame: pl.DataFrame, sig_frame: pl.DataFrame, names: tuple[str, ...], prefix: str) -> pl.DataFrame:
    """The new columns, one row per bar in the bars' order."""
    outputs = [prefix + name for name in names]
    # sig_frame is sorted by (ts_arrival, ts_event, symbol), so within a symbol rows are in visibility order.
    # A row is a candidate ("holder") when its ts_event equals the running maximum; of several holders arriving
    # at the same instant the last one (greatest ts_event) is the answer, so one per (symbol, ts_arrival) stays.
    event = pl.col("ts_event").cast(pl.Int64)
    holders = (
        sig_frame.lazy()
        .filter(event == event.cum_max().over("symbol"))
        .unique(subset=["symbol", "ts_arrival"], keep="last", maintain_order=True)
        .select(
            "symbol",
            "ts_arrival",
            *(
                pl.col(name).cast(pl.Float64).fill_nan(None).alias(out)
                for name, out in zip(names, outputs, strict=True)
            ),
        )
    )
    # A bar frame is sorted by (ts_event, symbol): also by arrival under one latency, not in general.
    left = bar_frame.lazy().select("ts_arrival", "symbol").with_row_index(_ROW).sort("ts_arrival", maintain_order=True)
    joined = left.join_asof(holders, on="ts_arrival", by="symbol", strategy="backward", check_sortedness=False)
    return joined.sort(_ROW).select(outputs).collect()

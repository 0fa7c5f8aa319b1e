"""The shape of a backtest's result: the schemas of its frames, and the container that checks them.

It sits below both ``ml4t.metrics``, which reads this shape, and :class:`ml4t.result.Result`, which is this
shape plus its metrics; so neither of those imports the other in a circle.

A result is a handful of Polars frames with fixed schemas (declared once, below) plus the
settings needed to read them. ``ml4t.metrics`` computes every statistic from this shape only, so the
vectorized and event-driven modes are measured by exactly the same code.

Frames and their rows:

``equity``    one row per bar timestamp: ``ts_event``, ``cash``, ``equity`` (cash + marked positions).
``positions`` one row per bar timestamp and symbol (dense, flat positions included), sorted by
              (``ts_event``, ``symbol``): ``position_qty`` (signed units), ``market_price`` (the mark),
              ``position_value`` (signed ``qty * price * multiplier``).
``orders``    one row per order ever submitted, with its final ``status`` and, when it did not fill,
              the ``reason`` (readable, may carry numbers) and its ``reason_code`` (a short stable
              snake_case code to group by, e.g. ``insufficient_cash``, ``short_collateral``,
              ``leverage_limit``, ``non_finite``, ``ioc_unfilled``, ``day_expired``, ``oco_cancelled``;
              null for a plain fill). Orders the engine placed itself to liquidate an account below its
              maintenance margin carry ``reason_code`` ``margin_call`` whatever their status. In a live
              session, ``risk_limit``: refused by a risk limit before it left; ``broker``: closed by the
              broker (cancelled, rejected or expired there).
              Statuses: ``filled``, ``partially_filled``, ``cancelled``, ``expired``, ``rejected``,
              ``open`` (still working when the data ended). ``ts_submitted`` is when the order
              was decided (the signal's bar in the vectorized mode: the bar before the fill under next-open
              execution), ``ts_closed`` when it reached its final status (the fill bar for a market order);
              ``avg_fill_price`` is null when nothing filled, in both modes; ``quantity`` is null for an
              all-in order refused before it was sized (the vectorized mode's "as much as the cash allows").
``fills``     one row per execution: ``quantity`` is positive, ``side`` says the direction; ``fee`` and
              ``slippage`` are costs in account currency (both >= 0).
``trades``    one row per round trip. ``status`` is ``closed`` or ``open``; an open trade is marked to
              the last price (``exit_price``) and has a null ``ts_exit``. ``pnl`` is net of fees and
              ``trade_return`` is ``pnl`` over the entry value.

``positions``, ``orders``, ``fills`` and ``trades`` may be given as builders (:data:`FrameBuilder`, a callable
returning the frame): built on first access, checked like a given frame, then kept. A ``positions`` builder
that is a :class:`DensePositions` (the engines' assembler hands one) also lends its dense arrays to
``exposure`` and ``exposure_means`` (what the metrics read), which then never build the positions frame.
``equity`` is always a frame. Pickles (and saved runs) build every frame, so they hold the same bytes
whatever was read before.

Frames derived from those (lazily, on first access, then cached; never pickled: recomputed on demand):

``weights``   one row per row of ``positions`` (dense in, dense out; sparse in, sparse out): ``ts_event``,
              ``symbol``, ``weight`` = ``position_value`` / the bar's ``equity``.
``exposure``  one row per row of ``equity``: ``long`` (sum of the positive position values), ``short`` (sum
              of the negative ones, <= 0), ``gross`` (sum of their absolute values), ``net`` (their sum), each
              over the bar's ``equity``, and ``n_positions`` (symbols with ``position_qty != 0``).
``turnover``  one row per bar with fills (a rebalance): ``buy_value``, ``sell_value``, ``traded_value``
              (their sum, ``quantity * fill_price``) and ``turnover`` = ``traded_value`` / the bar's ``equity``.

Every such fraction of equity follows one rule: a value of 0 is 0 whatever the equity (nothing held is
exposed to nothing); any other value is null when the equity is ``<= 0``, NaN or missing (a fraction of no
equity means nothing), never infinite. A symbol without a mark (``market_price`` null or NaN: no price yet,
before its listing) has a null weight; after its last bar its mark is carried (as ``equity`` carries it).
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Self, overload

import numpy as np
import polars as pl

from ml4t import _core
from ml4t._time import TS_DTYPE
from ml4t.errors import DataError

if TYPE_CHECKING:
    from ml4t.data import Bars

__all__ = [
    "EQUITY_SCHEMA",
    "EXPOSURE_SCHEMA",
    "FILLS_SCHEMA",
    "ORDERS_SCHEMA",
    "ORDER_STATUSES",
    "POSITIONS_SCHEMA",
    "TRADES_SCHEMA",
    "TURNOVER_SCHEMA",
    "WEIGHTS_SCHEMA",
    "DensePositions",
    "FrameBuilder",
    "ResultShape",
    "empty_frame",
]

F64 = pl.Float64()
STR = pl.String()

EQUITY_SCHEMA: dict[str, pl.DataType] = {"ts_event": TS_DTYPE, "cash": F64, "equity": F64}
POSITIONS_SCHEMA: dict[str, pl.DataType] = {
    "ts_event": TS_DTYPE,
    "symbol": STR,
    "position_qty": F64,
    "market_price": F64,
    "position_value": F64,
}
ORDERS_SCHEMA: dict[str, pl.DataType] = {
    "order_id": pl.Int64(),
    "ts_submitted": TS_DTYPE,
    "symbol": STR,
    "side": STR,
    "order_type": STR,
    "quantity": F64,
    "limit_price": F64,
    "stop_price": F64,
    "time_in_force": STR,
    "status": STR,
    "reason": STR,
    "reason_code": STR,
    "filled_quantity": F64,
    "avg_fill_price": F64,
    "ts_closed": TS_DTYPE,
    "tag": STR,
}
FILLS_SCHEMA: dict[str, pl.DataType] = {
    "fill_id": pl.Int64(),
    "order_id": pl.Int64(),
    "ts_event": TS_DTYPE,
    "symbol": STR,
    "side": STR,
    "quantity": F64,
    "fill_price": F64,
    "fee": F64,
    "slippage": F64,
}
TRADES_SCHEMA: dict[str, pl.DataType] = {
    "trade_id": pl.Int64(),
    "symbol": STR,
    "direction": STR,
    "status": STR,
    "ts_entry": TS_DTYPE,
    "ts_exit": TS_DTYPE,
    "quantity": F64,
    "entry_price": F64,
    "exit_price": F64,
    "fees": F64,
    "pnl": F64,
    "trade_return": F64,
}
WEIGHTS_SCHEMA: dict[str, pl.DataType] = {"ts_event": TS_DTYPE, "symbol": STR, "weight": F64}
EXPOSURE_SCHEMA: dict[str, pl.DataType] = {
    "ts_event": TS_DTYPE,
    "long": F64,
    "short": F64,
    "gross": F64,
    "net": F64,
    "n_positions": pl.Int64(),
}
TURNOVER_SCHEMA: dict[str, pl.DataType] = {
    "ts_event": TS_DTYPE,
    "buy_value": F64,
    "sell_value": F64,
    "traded_value": F64,
    "turnover": F64,
}
ORDER_STATUSES = frozenset({"filled", "partially_filled", "cancelled", "expired", "rejected", "open"})

_SCHEMAS = {
    "equity": EQUITY_SCHEMA,
    "positions": POSITIONS_SCHEMA,
    "orders": ORDERS_SCHEMA,
    "fills": FILLS_SCHEMA,
    "trades": TRADES_SCHEMA,
}


_LAZY = ("positions", "orders", "fills", "trades")
"""The frames a result may be given as builders (``equity`` is always a frame: every statistic reads it)."""


def _check_schema(name: str, frame: pl.DataFrame, schema: Mapping[str, pl.DataType]) -> None:
    if not isinstance(frame, pl.DataFrame):
        raise DataError(f"Result.{name} must be a polars DataFrame, got {type(frame).__name__}", argument=name)
    for column, dtype in schema.items():
        if column not in frame.columns:
            raise DataError(f"Result.{name} is missing a required column", argument=name, column=column)
        if frame.schema[column] != dtype:
            raise DataError(
                f"Result.{name} column has dtype {frame.schema[column]}, expected {dtype}",
                argument=name,
                column=column,
            )


def _check_frame(name: str, frame: pl.DataFrame) -> None:
    """What every frame ``name`` of a result must satisfy: its schema, and for ``orders`` the known statuses."""
    _check_schema(name, frame, _SCHEMAS[name])
    if name == "orders":
        statuses = set(frame["status"].unique().to_list()) - ORDER_STATUSES
        if statuses:
            raise DataError(
                f"Result.orders has unknown statuses {sorted(statuses)}", argument="orders", column="status"
            )


FrameBuilder = Callable[[], pl.DataFrame]
"""What builds one of a result's frames on first access: a callable without arguments (the engines hand one
per frame; it may read records the result does not otherwise keep)."""


class DensePositions(ABC):
    """A :data:`FrameBuilder` of ``positions`` that holds them as dense arrays: one row per row of ``equity``,
    one column per symbol, in the frame's row order (by ``ts_event``, then symbol). ``ResultShape.exposure``
    reads the arrays (one pass in the core, ``ml4t._core.exposure``) instead of building the frame; the two
    paths give the same bits (``tests/test_result.py``)."""

    @abstractmethod
    def __call__(self) -> pl.DataFrame:
        """The positions frame (:data:`POSITIONS_SCHEMA`)."""

    @abstractmethod
    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """``(position_qty, position_value)``, each ``(row of equity, symbol)``: the frame's columns of the
        same names, reshaped."""


class _Frame:
    """A frame of :class:`ResultShape` given either as a frame or as a :data:`FrameBuilder`: a builder is
    called on the first access (then checked like a given frame, and kept in its place), so a run whose user
    reads only ``metrics`` never builds the frames the metrics do not read. One mechanism for every lazy
    frame; what the result holds, pickles, saves, reports and prints is the same frame either way.

    A data descriptor as a dataclass field's default (the documented "descriptor-typed field"): the value
    lives in the instance's ``__dict__`` under the field's own name, so ``vars(result)`` and pickles keep
    their layout."""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> _Frame: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> pl.DataFrame: ...
    def __get__(self, obj: object | None, owner: type | None = None) -> pl.DataFrame | _Frame:
        if obj is None:
            # no class-level default: the dataclass sees a required field
            raise AttributeError(self._name)
        value: pl.DataFrame | FrameBuilder = obj.__dict__[self._name]
        if isinstance(value, pl.DataFrame):
            return value
        frame = value()
        _check_frame(self._name, frame)
        obj.__dict__[self._name] = frame
        return frame

    def __set__(self, obj: object, value: pl.DataFrame | FrameBuilder) -> None:
        if isinstance(value, pl.DataFrame):
            _check_frame(self._name, value)
        elif not callable(value):
            raise DataError(
                f"Result.{self._name} must be a polars DataFrame (or a builder of one), got {type(value).__name__}",
                argument=self._name,
            )
        obj.__dict__[self._name] = value


def _of_equity(value: pl.Series, equity: pl.Series, *, unknown: np.ndarray | None = None) -> pl.Series:
    """``value / equity`` as the module docstring states it (``ml4t._core.fraction_of_equity``, the rule's one
    copy): 0 for a value of 0, null for any other value when the equity is not positive (or NaN, or missing);
    null where the value is missing, or ``unknown`` (a mask). Named as ``value``."""
    v = np.ascontiguousarray(value.cast(pl.Float64).to_numpy(), dtype=np.float64)  # null: NaN, masked below
    e = np.ascontiguousarray(equity.cast(pl.Float64).to_numpy(), dtype=np.float64)
    out, none = _core.fraction_of_equity(v, e)
    null: np.ndarray | None = None
    if value.null_count():
        null = value.is_null().to_numpy()
    if unknown is not None:
        null = unknown if null is None else null | unknown
    rows = none if null is None else np.union1d(none, np.flatnonzero(null))
    return _nulled(value.name, out, rows)


def _nulled(name: str, values: np.ndarray, rows: np.ndarray) -> pl.Series:
    """``values`` as a Float64 series named ``name``, null at ``rows``."""
    return pl.Series(name, values, dtype=pl.Float64).scatter(rows, None)


def _bar_equity(equity: pl.DataFrame) -> pl.DataFrame:
    """``ts_event`` (flagged sorted: the shape checks it increases) and ``equity`` with NaN as null, so that
    ``equity > 0`` is false for it (Polars orders NaN above every number)."""
    return equity.select(pl.col("ts_event").set_sorted(), pl.col("equity").fill_nan(None))


def _aligned(left: pl.DataFrame, right: pl.DataFrame) -> bool:
    """Whether the two frames have the same ``ts_event`` row for row."""
    return left.height == right.height and left["ts_event"].equals(right["ts_event"])


def _side_by_side(left: pl.DataFrame, right: pl.DataFrame) -> pl.DataFrame:
    """``left`` with the other columns of ``right`` (one row per ``ts_event``) from its row of the same
    ``ts_event``, null where it has none: a left join keeping ``left``'s order, or, when the two are aligned
    row for row (a single symbol's positions and its bars), the columns side by side: the same frame without
    a join's work."""
    if _aligned(left, right):
        return left.hstack(right.drop("ts_event"))
    return left.join(right, on="ts_event", how="left", maintain_order="left")


def empty_frame(schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """An empty frame with the given schema (e.g. ``empty_frame(ORDERS_SCHEMA)``)."""
    return pl.DataFrame(schema=dict(schema))


@dataclass(frozen=True, eq=False)
class ResultShape:
    """What a backtest produced; see the module docstring for every frame's rows and columns.

    ``periods_per_year`` is the annualization factor the metrics use (inferred from the data's own
    calendar by the engines, or given); ``meta`` records the mode and settings that produced the run.
    Extra columns beyond the declared schema are allowed and kept.
    """

    equity: pl.DataFrame
    # descriptor-typed fields (``_Frame``): required at runtime (the descriptor has no class-level default),
    # read as ``pl.DataFrame``, given as a frame or a builder
    positions: _Frame = _Frame()
    orders: _Frame = _Frame()
    fills: _Frame = _Frame()
    trades: _Frame = _Frame()
    init_cash: float  # type: ignore[misc]  # mypy takes the descriptors for defaults; they are not
    periods_per_year: float | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    bars: Bars | None = field(default=None, repr=False)
    """The bars the run read (both engines set it; ``None`` for a result built from an equity curve, and after
    pickling, which keeps only their :attr:`data_fingerprint`). A reference, not a copy: plots draw prices
    from it, reports name its fingerprint."""

    def __post_init__(self) -> None:
        # the other frames are checked where they are set or built (``_Frame``)
        _check_frame("equity", self.equity)
        if not self.init_cash > 0:
            raise DataError(f"init_cash must be positive, got {self.init_cash!r}", argument="init_cash")
        if self.periods_per_year is not None and not self.periods_per_year > 0:
            raise DataError(
                f"periods_per_year must be positive, got {self.periods_per_year!r}", argument="periods_per_year"
            )
        ts = self.equity["ts_event"]
        if ts.null_count():
            raise DataError("Result.equity has null timestamps", argument="equity", column="ts_event")
        if len(ts) > 1:
            stamps = ts.to_physical().to_numpy()
            bad = np.flatnonzero(stamps[1:] <= stamps[:-1])  # one pass over the integers, no Series built
            if len(bad):
                raise DataError(
                    "Result.equity timestamps must be strictly increasing",
                    argument="equity",
                    column="ts_event",
                    timestamp=ts[int(bad[0]) + 1],
                )

    @classmethod
    def from_equity(
        cls,
        ts_event: pl.Series | Sequence[dt.datetime],
        equity: pl.Series | Sequence[float] | np.ndarray,
        *,
        init_cash: float | None = None,
        periods_per_year: float | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> Self:
        """A result from an equity curve alone (no orders, fills or trades), e.g. to measure a strategy that
        was simulated elsewhere. ``init_cash`` defaults to the first equity value, so the first return is 0."""
        ts = pl.Series("ts_event", ts_event)
        if len(ts) == 0:
            raise DataError("equity is empty", argument="equity")
        if ts.dtype != TS_DTYPE:
            if not isinstance(ts.dtype, pl.Datetime) or ts.dtype.time_zone is None:
                raise DataError(f"ts_event must be tz-aware datetimes, got dtype {ts.dtype}", argument="ts_event")
            ts = ts.dt.convert_time_zone("UTC").cast(TS_DTYPE)
        eq = pl.Series("equity", equity, dtype=pl.Float64)
        if len(eq) != len(ts):
            raise DataError(f"equity has {len(eq)} values but ts_event has {len(ts)}", argument="equity")
        if eq.is_nan().any() or eq.is_null().any():
            bad = int((eq.is_nan() | eq.is_null()).arg_true()[0])
            raise DataError("equity has NaN or null values", argument="equity", timestamp=ts[bad])
        frame = pl.DataFrame({"ts_event": ts, "cash": eq, "equity": eq})
        return cls(
            equity=frame,
            positions=empty_frame(POSITIONS_SCHEMA),
            orders=empty_frame(ORDERS_SCHEMA),
            fills=empty_frame(FILLS_SCHEMA),
            trades=empty_frame(TRADES_SCHEMA),
            init_cash=float(eq[0]) if init_cash is None else float(init_cash),
            periods_per_year=periods_per_year,
            meta=dict(meta or {}),
        )

    @property
    def returns(self) -> pl.DataFrame:
        """Simple returns per bar: ``ts_event``, ``return``. The first bar's return is measured from
        ``init_cash`` (so a run that loses on its first bar shows it).

        Ruin is absorbing: the return is ``equity[t] / equity[t-1] - 1`` while the previous equity is
        positive; the first bar whose equity is ``<= 0`` returns exactly -1 (the whole equity is lost), and
        every later bar's return is null (there is no equity left to measure a return on), whatever the
        equity does next. vectorbt divides by ``abs(previous equity)`` instead; see ``ml4t.metrics``."""
        eq = self.equity["equity"]
        prev = eq.shift(1, fill_value=self.init_cash)
        ruined = eq <= 0.0
        after_ruin = ruined.cum_max().shift(1, fill_value=False)
        frame = pl.DataFrame({"eq": eq, "prev": prev, "ruined": ruined, "after": after_ruin})
        ret = frame.select(
            pl.when(pl.col("after"))
            .then(None)
            .when(pl.col("ruined"))
            .then(-1.0)
            .otherwise(pl.col("eq") / pl.col("prev") - 1.0)
            .alias("return")
        ).to_series()
        return pl.DataFrame({"ts_event": self.equity["ts_event"], "return": ret})

    @cached_property
    def weights(self) -> pl.DataFrame:
        """Per-symbol weight over time (:data:`WEIGHTS_SCHEMA`): one row per row of ``positions``, in its
        order, ``weight = position_value / equity`` of the bar (see the module docstring for 0, null and
        listings). Wide, as one plots it: ``result.weights.pivot(on="symbol", index="ts_event")``."""
        rows = self.positions.select("ts_event", "symbol", "position_value", "market_price")
        joined = _side_by_side(rows, _bar_equity(self.equity))
        price = joined["market_price"]
        unpriced = (price.is_null() | price.is_nan()).fill_null(True).to_numpy()
        weight = _of_equity(joined["position_value"], joined["equity"], unknown=unpriced)
        return joined.select("ts_event", "symbol").with_columns(weight.alias("weight")).cast(pl.Schema(WEIGHTS_SCHEMA))

    @cached_property
    def exposure(self) -> pl.DataFrame:
        """Exposure over time (:data:`EXPOSURE_SCHEMA`): one row per bar (row of ``equity``), ``long``,
        ``short`` (<= 0), ``gross`` and ``net`` as fractions of the bar's equity, and ``n_positions``; a bar
        without rows in ``positions`` holds nothing (0 and 0). Read from the dense arrays of a
        :class:`DensePositions` builder when the positions frame is not built yet (the same bits)."""
        source = self.__dict__.get("positions")
        if isinstance(source, DensePositions):
            return self._exposure_of_arrays(*source.arrays())
        value = self.positions["position_value"].fill_null(0.0).to_numpy()
        held = self.positions["position_qty"].fill_null(0.0).to_numpy() != 0
        rows = pl.DataFrame(
            {
                # positions is sorted by ts_event (its documented layout): flag it for Polars' sorted fast paths
                "ts_event": self.positions["ts_event"].set_sorted(),
                "long": np.maximum(value, 0.0),
                "short": np.minimum(value, 0.0),
                "gross": np.abs(value),
                "n_positions": held.astype(np.int64),
            }
        )
        bars = _bar_equity(self.equity)
        # a row per bar already (one symbol, dense): the rows are the bars' sums
        per_bar = rows if _aligned(rows, bars) else rows.group_by("ts_event", maintain_order=True).agg(pl.all().sum())
        per_bar = _side_by_side(bars, per_bar).with_columns(
            pl.col("long", "short", "gross", "n_positions").fill_null(0)
        )
        equity = per_bar["equity"]
        return pl.DataFrame(
            [
                per_bar["ts_event"],
                *(_of_equity(per_bar[c], equity) for c in ("long", "short", "gross")),
                _of_equity(per_bar["long"] + per_bar["short"], equity).alias("net"),
                per_bar["n_positions"],
            ]
        ).cast(pl.Schema(EXPOSURE_SCHEMA))

    def _exposure_of_arrays(self, qty: np.ndarray, value: np.ndarray) -> pl.DataFrame:
        """:attr:`exposure` from dense ``(row of equity, symbol)`` quantities and values, in one pass in the
        core (``ml4t._core.exposure``: the rows above, summed per bar in Polars' order, and the fraction
        rule)."""
        fractions, none, held = _core.exposure(*self._dense_inputs(qty, value))
        names = ("long", "short", "gross", "net")
        return pl.DataFrame(
            [
                self.equity["ts_event"].set_sorted(),
                *(_nulled(name, f, rows) for name, f, rows in zip(names, fractions, none, strict=True)),
                pl.Series("n_positions", held, dtype=pl.Int64),
            ]
        ).cast(pl.Schema(EXPOSURE_SCHEMA))

    def _dense_inputs(self, qty: np.ndarray, value: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
        """The core's arguments: quantities and values flat (row-major), symbols per row, the bars' equity."""
        equity = np.ascontiguousarray(self.equity["equity"].cast(pl.Float64).to_numpy(), dtype=np.float64)
        flat_qty = np.ascontiguousarray(qty, dtype=np.float64).ravel()
        return flat_qty, np.ascontiguousarray(value, dtype=np.float64).ravel(), qty.shape[1], equity

    def exposure_means(self) -> dict[str, float]:
        """The means over bars (rows of ``equity``) of :attr:`exposure`'s columns, as ``ml4t.metrics`` reads
        them: ``exposure`` (the fraction of bars with ``n_positions > 0``), ``avg_gross_exposure`` and
        ``avg_net_exposure`` (the means of ``gross`` and ``net``, a null skipped), ``avg_n_positions``; NaN
        without bars (or without any fraction). From a :class:`DensePositions` builder's arrays in one pass in
        the core (``ml4t._core.exposure_means``), neither the positions frame nor the exposure frame built,
        unless :attr:`exposure` is already computed; the same bits either way (the core sums in Polars'
        order)."""
        source = self.__dict__.get("positions")
        if "exposure" not in self.__dict__ and isinstance(source, DensePositions):
            means: dict[str, float] = _core.exposure_means(*self._dense_inputs(*source.arrays()))
            return means
        row = self.exposure.select(
            (pl.col("n_positions") > 0).cast(pl.Float64).mean().alias("exposure"),
            pl.col("gross").mean().alias("avg_gross_exposure"),
            pl.col("net").mean().alias("avg_net_exposure"),
            pl.col("n_positions").cast(pl.Float64).mean().alias("avg_n_positions"),
        ).row(0, named=True)
        return {k: float("nan") if v is None else float(v) for k, v in row.items()}

    @cached_property
    def turnover(self) -> pl.DataFrame:
        """Turnover per rebalance (:data:`TURNOVER_SCHEMA`): one row per bar with fills, in time order.

        Two-sided, as pyfolio's ``get_turnover(..., denominator="portfolio_value")``: buys and sells both
        count, so moving the whole equity from one symbol to another is a turnover of 2 (one-sided turnover,
        as mutual funds report it, is ``min(buy_value, sell_value) / equity``). A fill belongs to the bar that
        contains it, the first bar stamped at or after it (a bar covers ``(previous stamp, stamp]``); the
        denominator is that bar's ``equity`` (at its close). A fill after the last bar keeps its own time and
        has no equity (null turnover). Contract multipliers are not in ``fills`` and are not applied."""
        fills = self.fills.select(
            pl.col("ts_event"),
            pl.col("side"),
            (pl.col("quantity") * pl.col("fill_price")).abs().alias("value"),
        ).sort("ts_event", maintain_order=True)
        bars = _bar_equity(self.equity).select(pl.col("ts_event").alias("bar"), "equity")
        value = pl.col("value")
        per_bar = (
            fills.join_asof(bars, left_on="ts_event", right_on="bar", strategy="forward")
            .group_by(pl.coalesce("bar", "ts_event").alias("ts_event"), maintain_order=True)
            .agg(
                value.filter(pl.col("side") == "buy").sum().alias("buy_value"),
                value.filter(pl.col("side") == "sell").sum().alias("sell_value"),
                value.sum().alias("traded_value"),
                pl.col("equity").first(),
            )
        )
        turnover = _of_equity(per_bar["traded_value"], per_bar["equity"]).alias("turnover")
        return per_bar.with_columns(turnover).select(list(TURNOVER_SCHEMA)).cast(pl.Schema(TURNOVER_SCHEMA))

    def __getstate__(self) -> dict[str, Any]:
        """The frames and settings only: what is derived from them (``weights``, ``exposure``, ``turnover``,
        ``metrics``: every cached property) is recomputed on demand, so a pickle is the same bytes whatever
        was looked at before. The ``bars`` are left out (a result travels without its data); their
        fingerprint is kept (:attr:`data_fingerprint`)."""
        cls = type(self)
        state = {k: v for k, v in vars(self).items() if not isinstance(getattr(cls, k, None), cached_property)}
        state.update({name: getattr(self, name) for name in _LAZY})  # every frame built, whatever was read
        state["_data_fingerprint"] = self.data_fingerprint
        state["bars"] = None
        return state

    @property
    def data_fingerprint(self) -> str | None:
        """The fingerprint of the bars the run read (:meth:`ml4t.data.Bars.fingerprint`: 32 hex digits that
        identify their content in any process), or None when unknown (a result built from an equity curve)."""
        if self.bars is not None:
            return self.bars.fingerprint()
        known: str | None = vars(self).get("_data_fingerprint")
        return known

    @property
    def insolvent_at(self) -> dt.datetime | None:
        """The first ``ts_event`` at which equity was zero or below (the account was insolvent; the bar at
        which ``returns`` records ruin), or None. Both engines also warn (``ml4t.errors.InsolvencyWarning``)
        at the end of such a run."""
        eq = self.equity
        bad = eq.filter(pl.col("equity") <= 0)
        return None if bad.is_empty() else bad["ts_event"][0]

    def __repr__(self) -> str:
        n = self.equity.height
        if n == 0:
            return "Result(empty)"
        first, last = self.equity["ts_event"][0], self.equity["ts_event"][-1]
        final = self.equity["equity"][-1]
        return (
            f"Result({n} bars {first} .. {last}, init_cash={self.init_cash:,.2f}, final equity={final:,.2f}, "
            f"{self.orders.height} orders, {self.fills.height} fills, {self.trades.height} trades)"
        )

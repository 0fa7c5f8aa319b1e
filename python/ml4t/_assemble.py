"""The one assembler of an ``ml4t.Result``, for both modes, from the one record shape the Rust core produces
(``crate::records``: ``EventEngine.results()`` and ``SignalSimulator.run()`` return the same dict); then
what the run must say out loud (``ml4t._run_report``).

The records' columns mean the same in both modes: times are ``ts_event`` nanoseconds (UTC), symbols are
indices into ``symbols``, ``positions`` and ``marks`` are row-major ``(row, symbol)`` with one row per
equity row (or empty: the event engine sends its positions sparse, ``position_bar_end``, ``position_row``,
``position_symbol`` and ``position_qty``, and its bar stream's symbol codes and closes as ``bar_marks``;
:func:`_position_arrays` makes them dense, the same values), ``last_marks`` are the marks after the last
row, NaN marks a price or quantity that does not apply (it becomes null in the orders table), an
order's ``ts_closed`` is null while it is open (``order_is_closed``), and a text column ``x`` comes as
codes into ``x_values`` (its distinct texts, None first). An order's ``ts_submitted`` is when it was decided (in
the vectorized mode the signal's bar: the fill bar under close execution, the bar before under next-open),
so a promoted run gives the same frames as the vectorized one.

What differs between the modes comes in as explicit inputs, not code paths: the event engine's ``bar_marks``
(positions sparse, see above), contract ``multipliers``
(scale position values and trade P&L; default 1), stock ``splits`` (``round_trips`` adjusts open trades),
order ``tags`` (``order_id -> tag``), and the ``init_cash`` and ``meta`` the caller states.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from ml4t import _core
from ml4t._roundtrips import round_trips
from ml4t._run_report import report_run
from ml4t._shape import DensePositions
from ml4t._time import TS_DTYPE
from ml4t.result import EQUITY_SCHEMA, FILLS_SCHEMA, ORDERS_SCHEMA, POSITIONS_SCHEMA, Result

if TYPE_CHECKING:
    from ml4t.data import Bars

__all__ = ["assemble"]


def _ts(values: Any) -> pl.Series:
    return pl.Series(values, dtype=pl.Int64).cast(TS_DTYPE)


def _text(raw: Mapping[str, Any], key: str) -> pl.Series:
    return pl.Series(raw[f"{key}_values"], dtype=pl.String).gather(raw[key])


def _side(buy: np.ndarray) -> pl.Series:
    """``"buy"``/``"sell"`` per row of a boolean array: gathered from the two texts, one pass over codes."""
    return _SIDES.gather(np.asarray(buy, dtype=np.uint8))


_SIDES = pl.Series(["sell", "buy"], dtype=pl.String)


def _equity_frame(raw: Mapping[str, Any]) -> pl.DataFrame:
    frame = pl.DataFrame({"ts_event": _ts(raw["ts"]), "cash": raw["cash"], "equity": raw["equity"]})
    return frame.cast(pl.Schema(EQUITY_SCHEMA))


def _position_arrays(
    raw: Mapping[str, Any], n_sym: int, bar_marks: tuple[np.ndarray, np.ndarray] | None
) -> tuple[np.ndarray, np.ndarray]:
    """``(positions, marks)``, each ``(row, symbol)``: the records' dense arrays, or, given the bar stream's
    ``bar_marks`` (symbol codes, closes), the event engine's sparse history made dense
    (``_core.dense_positions``)."""
    n = len(raw["ts"])
    if bar_marks is None:
        return raw["positions"].reshape(n, n_sym), raw["marks"].reshape(n, n_sym)
    bar_symbol, bar_close = bar_marks
    positions, marks = _core.dense_positions(
        raw["position_bar_end"], raw["position_row"], raw["position_symbol"], raw["position_qty"], n_sym,
        bar_symbol, bar_close,
    )  # fmt: skip
    return positions.reshape(n, n_sym), marks.reshape(n, n_sym)


def _position_values(
    raw: Mapping[str, Any], n_sym: int, multipliers: np.ndarray | None, bar_marks: tuple[np.ndarray, np.ndarray] | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(positions, marks, values)``, each ``(row, symbol)``: :func:`_position_arrays` and the signed value
    of each position (position x mark x multiplier; a missing mark values it at 0)."""
    pos, marks = _position_arrays(raw, n_sym, bar_marks)
    value = np.nan_to_num(marks)  # value = position x mark (x multiplier), computed in place: one array
    np.multiply(pos, value, out=value)
    if multipliers is not None:
        np.multiply(value, multipliers, out=value)
    return pos, marks, value


class _Positions(DensePositions):
    """``Result.positions``: one row per (equity row, symbol), in that order, built on first access; until
    then ``Result.exposure`` reads its dense arrays (``ml4t._shape.DensePositions``)."""

    def __init__(
        self,
        raw: Mapping[str, Any],
        names: pl.Series,
        multipliers: np.ndarray | None,
        bar_marks: tuple[np.ndarray, np.ndarray] | None,
    ) -> None:
        self._raw, self._names, self._multipliers, self._bar_marks = raw, names, multipliers, bar_marks

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        pos, _, value = _position_values(self._raw, len(self._names), self._multipliers, self._bar_marks)
        return pos, value

    def __call__(self) -> pl.DataFrame:
        return _positions_frame(self._raw, self._names, self._multipliers, self._bar_marks)


def _positions_frame(
    raw: Mapping[str, Any],
    names: pl.Series,
    multipliers: np.ndarray | None,
    bar_marks: tuple[np.ndarray, np.ndarray] | None = None,
) -> pl.DataFrame:
    """``Result.positions``: one row per (equity row, symbol), in that order."""
    ts = raw["ts"]
    n_sym = len(names)
    pos, marks, value = _position_values(raw, n_sym, multipliers, bar_marks)
    n = len(ts)
    return pl.DataFrame(
        {
            "ts_event": _ts(np.repeat(ts, n_sym)),
            "symbol": names.gather(np.tile(np.arange(n_sym, dtype=np.uint32), n)),
            "position_qty": pos.ravel(),
            "market_price": marks.ravel(),
            "position_value": value.ravel(),
        }
    ).cast(pl.Schema(POSITIONS_SCHEMA))


def _orders_frame(raw: Mapping[str, Any], names: pl.Series, tags: Mapping[int, str]) -> pl.DataFrame:
    """The orders table; its texts come from codes (``side`` from a boolean, the rest from ``x_values``), and
    ``tag`` is all null unless the caller tagged orders."""
    order_ids = raw["order_id"]
    if tags:
        tag = pl.Series([tags.get(int(i)) for i in order_ids], dtype=pl.String)
    else:
        tag = pl.Series([None], dtype=pl.String).gather(np.zeros(len(order_ids), dtype=np.uint32))
    return pl.DataFrame(
        {
            "order_id": order_ids,
            "ts_submitted": _ts(raw["order_ts"]),
            "symbol": names.gather(raw["order_symbol"]),
            "side": _side(raw["order_buy"]),
            "order_type": _text(raw, "order_type"),
            "quantity": raw["order_quantity"],
            "limit_price": raw["order_limit"],
            "stop_price": raw["order_stop"],
            "time_in_force": _text(raw, "order_tif"),
            "status": _text(raw, "order_status"),
            "reason": _text(raw, "order_reason"),
            "reason_code": _text(raw, "order_reason_code"),
            "filled_quantity": raw["order_filled"],
            "avg_fill_price": raw["order_avg_price"],
            "ts_closed": _ts(raw["order_closed"]).scatter(np.flatnonzero(~raw["order_is_closed"]), None),
            "tag": tag,
        },
        schema_overrides=ORDERS_SCHEMA,
    ).with_columns(pl.col("quantity", "limit_price", "stop_price", "avg_fill_price").fill_nan(None))


def _fills_frame(raw: Mapping[str, Any], names: pl.Series) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "fill_id": np.arange(len(raw["fill_order"]), dtype=np.int64),
            "order_id": raw["fill_order"],
            "ts_event": _ts(raw["fill_ts"]),
            "symbol": names.gather(raw["fill_symbol"]),
            "side": _side(raw["fill_buy"]),
            "quantity": raw["fill_quantity"],
            "fill_price": raw["fill_price"],
            "fee": raw["fill_fee"],
            "slippage": raw["fill_slippage"],
        }
    ).cast(pl.Schema(FILLS_SCHEMA))


def assemble(
    raw: Mapping[str, Any],
    symbols: Sequence[str],
    *,
    init_cash: float,
    periods_per_year: float | None,
    meta: Mapping[str, Any],
    multipliers: np.ndarray | None = None,
    splits: Mapping[str, list[tuple[int, float]]] | None = None,
    tags: Mapping[int, str] | None = None,
    bars: Bars | None = None,
    bar_marks: tuple[np.ndarray, np.ndarray] | None = None,
) -> Result:
    """The ``Result`` of the records ``raw`` over ``symbols`` (see the module docstring). Only ``equity`` is
    built here; ``positions``, ``orders``, ``fills`` and ``trades`` are handed to the Result as builders over
    ``raw`` (``ml4t._shape.FrameBuilder``), built on first access: a caller that reads only ``metrics``
    builds only what the metrics read (``positions`` as a ``DensePositions``, whose arrays the exposure reads,
    so not even that frame)."""
    names = pl.Series(list(symbols), dtype=pl.String)
    last_marks = {s: float(m) for s, m in zip(symbols, raw["last_marks"], strict=True)}
    per_symbol = None if multipliers is None else {s: float(m) for s, m in zip(symbols, multipliers, strict=True)}

    def trades() -> pl.DataFrame:
        # reads the result's fills frame (built once, whichever is read first); ``result`` is bound below
        return round_trips(result.fills, last_marks, per_symbol, splits=splits)

    result = Result(
        equity=_equity_frame(raw),
        positions=_Positions(raw, names, multipliers, bar_marks),
        orders=lambda: _orders_frame(raw, names, tags or {}),
        fills=lambda: _fills_frame(raw, names),
        trades=trades,
        init_cash=init_cash,
        periods_per_year=periods_per_year,
        meta=dict(meta),
        bars=bars,
    )
    report_run(result, stacklevel=4)
    return result

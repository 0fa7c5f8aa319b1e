"""``ml4t._roundtrips.round_trips`` (the Rust core's ``core/src/trades.rs``) against a slow, obvious reference:
the Python loop it replaced, fill by fill, written from the documented rules (the module docstring). The
two must agree bit for bit on every column, over random fills with partial exits, reversals, fills within
the ledger's tolerance of the position, several symbols, contract multipliers and splits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from ml4t._roundtrips import round_trips
from ml4t._time import TS_DTYPE
from ml4t.result import FILLS_SCHEMA, TRADES_SCHEMA


def _is_close(a: float, b: float) -> bool:
    """The ledger's tolerance (``core/src/portfolio/float.rs``: 1e-9 relative, 1e-12 absolute)."""
    return a == b or abs(a - b) <= max(1e-9 * max(abs(a), abs(b)), 1e-12)


def reference_round_trips(
    fills: pl.DataFrame,
    marks: Mapping[str, float],
    multipliers: Mapping[str, float] | None = None,
    splits: Mapping[str, Sequence[tuple[int, float]]] | None = None,
) -> pl.DataFrame:
    """Trades from ``fills`` (the ``Result.fills`` schema, in execution order). ``marks`` maps a symbol to
    its last price, used for trades still open; ``multipliers`` (default 1) scale PnL and entry value.
    ``splits`` maps a symbol to its ``(ts_event ns, ratio)`` splits in time order: a split applies before
    fills stamped at or after it, scaling an open trade's quantity up and its entry price down (value kept);
    the trade reports post-split units."""
    rows: list[dict[str, object]] = []
    columns = fills.select(pl.col("ts_event").cast(pl.Int64), "side", "quantity", "fill_price", "fee")
    records = list(columns.iter_rows())
    by_symbol: dict[str, list[int]] = {}
    for i, name in enumerate(fills["symbol"].to_list()):
        by_symbol.setdefault(name, []).append(i)
    for name, rows_of_symbol in by_symbol.items():
        symbol = (name,)
        mult = 1.0 if multipliers is None else multipliers.get(name, 1.0)
        position = entry_price = entry_fees = 0.0
        entry_ts = None
        pending = list((splits or {}).get(name, ()))
        for ts, side, qty, price, fee in (records[i] for i in rows_of_symbol):
            while pending and pending[0][0] <= ts:
                ratio = pending.pop(0)[1]
                position, entry_price = position * ratio, entry_price / ratio
            signed = qty if side == "buy" else -qty
            if position != 0.0 and (signed > 0) != (position > 0):
                # the ledger books a fill within tolerance of the position as exactly flat (float.rs `add`)
                flat = _is_close(qty, abs(position))
                closed = abs(position) if flat else min(qty, abs(position))
                share = closed / abs(position)
                exit_fees = fee * closed / qty
                fees = entry_fees * share + exit_fees
                direction = 1.0 if position > 0 else -1.0
                pnl = (price - entry_price) * closed * direction * mult - fees
                rows.append(
                    _trade(symbol[0], direction, "closed", entry_ts, ts, closed, entry_price, price, fees, pnl, mult)
                )
                entry_fees -= entry_fees * share
                position += closed if position < 0 else -closed
                if flat or _is_close(position, 0.0):
                    position, entry_fees, entry_ts = 0.0, 0.0, None
                remainder = 0.0 if flat else qty - closed
                if remainder > 0:  # a reversal opens the other side with the rest of the fill
                    position, entry_price, entry_fees, entry_ts = (
                        remainder * (1 if signed > 0 else -1),
                        price,
                        fee - exit_fees,
                        ts,
                    )
                continue
            if position == 0.0:
                entry_ts, entry_price = ts, price
            else:
                entry_price = (entry_price * abs(position) + price * qty) / (abs(position) + qty)
            position += signed
            entry_fees += fee
        for _, ratio in pending:
            position, entry_price = position * ratio, entry_price / ratio
        if position != 0.0:
            mark = marks[symbol[0]]
            direction = 1.0 if position > 0 else -1.0
            pnl = (mark - entry_price) * abs(position) * direction * mult - entry_fees
            rows.append(
                _trade(
                    symbol[0],
                    direction,
                    "open",
                    entry_ts,
                    None,
                    abs(position),
                    entry_price,
                    mark,
                    entry_fees,
                    pnl,
                    mult,
                )
            )
    frame = pl.DataFrame(rows, schema={k: v for k, v in TRADES_SCHEMA.items() if k != "trade_id"}, orient="row")
    frame = frame.with_columns(pl.col("ts_entry", "ts_exit").cast(TS_DTYPE))
    return (
        frame.sort("ts_entry", "symbol", maintain_order=True)
        .with_row_index("trade_id")
        .with_columns(pl.col("trade_id").cast(pl.Int64))
        .select(list(TRADES_SCHEMA))
    )


def _trade(
    symbol: str,
    direction: float,
    status: str,
    entry_ts: object,
    exit_ts: object,
    qty: float,
    entry_price: float,
    exit_price: float,
    fees: float,
    pnl: float,
    multiplier: float = 1.0,
) -> dict[str, object]:
    return {
        "symbol": symbol,
        "direction": "long" if direction > 0 else "short",
        "status": status,
        "ts_entry": entry_ts,
        "ts_exit": exit_ts,
        "quantity": qty,
        "entry_price": entry_price,
        "exit_price": exit_price,
        "fees": fees,
        "pnl": pnl,
        "trade_return": pnl / (entry_price * qty * multiplier),
    }


_QTY = st.sampled_from([1.0, 2.0, 3.0, 0.5, 0.1, 0.2, 0.30000000000000004, 7.25, 1e-3, 1.0 + 1e-12, 3.0 - 1e-13])


@st.composite
def _fills(draw: st.DrawFn) -> tuple[pl.DataFrame, dict[str, float], dict[str, float], dict[str, list]]:
    symbols = ["A", "B", "C"][: draw(st.integers(1, 3))]
    n = draw(st.integers(0, 40))
    rows = []
    for i in range(n):
        rows.append(
            {
                "fill_id": i,
                "order_id": i,
                "ts_event": 1_000 * (i // draw(st.integers(1, 2))),
                "symbol": draw(st.sampled_from(symbols)),
                "side": draw(st.sampled_from(["buy", "sell"])),
                "quantity": draw(_QTY),
                "fill_price": draw(st.floats(1.0, 200.0)),
                "fee": draw(st.sampled_from([0.0, 0.01, 0.37, 1.0])),
                "slippage": 0.0,
            }
        )
    fills = pl.DataFrame(rows, schema={**FILLS_SCHEMA, "ts_event": pl.Int64}, orient="row")
    fills = fills.with_columns(pl.col("ts_event").cast(TS_DTYPE))
    marks = {s: draw(st.floats(1.0, 200.0)) for s in symbols}
    multipliers = {s: draw(st.sampled_from([1.0, 50.0, 0.1])) for s in symbols}
    splits = {
        s: [
            (1_000 * k, draw(st.sampled_from([2.0, 0.5, 3.0])))
            for k in sorted(draw(st.sets(st.integers(0, 30), max_size=3)))
        ]
        for s in symbols
    }
    return fills, marks, multipliers, splits


@given(_fills(), st.booleans(), st.booleans())
def test_round_trips_agree_with_the_reference_bit_for_bit(case, with_multipliers, with_splits) -> None:
    fills, marks, multipliers, splits = case
    mult = multipliers if with_multipliers else None
    split = splits if with_splits else None
    ours = round_trips(fills, marks, mult, splits=split)
    reference = reference_round_trips(fills, marks, mult, splits=split)
    assert ours.schema == reference.schema
    assert ours.equals(reference, null_equal=True)

"""Round-trip trades from fills: one implementation for both modes.

A trade opens when a position leaves zero and closes each time a fill reduces it (vectorbt's "exit
trades"): a partial exit closes a trade for the part sold, and a reversal closes the old trade and opens a
new one. Entry price is the volume-weighted average of the entries; fees are allocated pro rata to the
quantity (the entry fills' fees by the share of the position closed, the exit fill's by the share of the
fill that closed it). ``pnl`` is net of those fees and ``trade_return`` is ``pnl`` over the entry value.
A position still open at the end is an ``open`` trade marked at the last price.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from ml4t._time import TS_DTYPE
from ml4t.result import TRADES_SCHEMA

__all__ = ["round_trips"]


def _is_close(a: float, b: float) -> bool:
    """The ledger's tolerance (``core/src/portfolio/float.rs``: 1e-9 relative, 1e-12 absolute)."""
    return a == b or abs(a - b) <= max(1e-9 * max(abs(a), abs(b)), 1e-12)


def round_trips(
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
    rows = _Trades()
    columns = fills.select(pl.col("ts_event").cast(pl.Int64), pl.col("side") == "buy", "quantity", "fill_price", "fee")
    records = list(zip(*(column.to_list() for column in columns.iter_columns()), strict=True))
    by_symbol: dict[str, list[int]] = {}
    for i, name in enumerate(fills["symbol"].to_list()):
        by_symbol.setdefault(name, []).append(i)
    for name, rows_of_symbol in by_symbol.items():
        symbol = (name,)
        mult = 1.0 if multipliers is None else multipliers.get(name, 1.0)
        position = entry_price = entry_fees = 0.0
        entry_ts = None
        pending = list((splits or {}).get(name, ()))
        for ts, buy, qty, price, fee in (records[i] for i in rows_of_symbol):
            while pending and pending[0][0] <= ts:
                ratio = pending.pop(0)[1]
                position, entry_price = position * ratio, entry_price / ratio
            signed = qty if buy else -qty
            if position != 0.0 and (signed > 0) != (position > 0):
                # the ledger books a fill within tolerance of the position as exactly flat (float.rs `add`)
                flat = _is_close(qty, abs(position))
                closed = abs(position) if flat else min(qty, abs(position))
                share = closed / abs(position)
                exit_fees = fee * closed / qty
                fees = entry_fees * share + exit_fees
                direction = 1.0 if position > 0 else -1.0
                pnl = (price - entry_price) * closed * direction * mult - fees
                rows.add(symbol[0], direction, "closed", entry_ts, ts, closed, entry_price, price, fees, pnl, mult)
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
            rows.add(
                symbol[0], direction, "open", entry_ts, None, abs(position), entry_price, mark, entry_fees, pnl, mult
            )
    frame = pl.DataFrame(rows.columns, schema={k: v for k, v in TRADES_SCHEMA.items() if k != "trade_id"})
    frame = frame.with_columns(pl.col("ts_entry", "ts_exit").cast(TS_DTYPE))
    return (
        frame.sort("ts_entry", "symbol", maintain_order=True)
        .with_row_index("trade_id")
        .with_columns(pl.col("trade_id").cast(pl.Int64))
        .select(list(TRADES_SCHEMA))
    )


class _Trades:
    """The trades found so far, column by column (the ``TRADES_SCHEMA`` columns but ``trade_id``)."""

    def __init__(self) -> None:
        self.columns: dict[str, list[object]] = {k: [] for k in TRADES_SCHEMA if k != "trade_id"}

    def add(
        self,
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
    ) -> None:
        c = self.columns
        c["symbol"].append(symbol)
        c["direction"].append("long" if direction > 0 else "short")
        c["status"].append(status)
        c["ts_entry"].append(entry_ts)
        c["ts_exit"].append(exit_ts)
        c["quantity"].append(qty)
        c["entry_price"].append(entry_price)
        c["exit_price"].append(exit_price)
        c["fees"].append(fees)
        c["pnl"].append(pnl)
        c["trade_return"].append(pnl / (entry_price * qty * multiplier))

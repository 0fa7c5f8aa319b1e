"""Round-trip trades from fills: one implementation for both modes, in the Rust core (``core/src/trades.rs``).

A trade opens when a position leaves zero and closes each time a fill reduces it (vectorbt's "exit
trades"): a partial exit closes a trade for the part sold, and a reversal closes the old trade and opens a
new one. Entry price is the volume-weighted average of the entries; fees are allocated pro rata to the
quantity (the entry fills' fees by the share of the position closed, the exit fill's by the share of the
fill that closed it). ``pnl`` is net of those fees and ``trade_return`` is ``pnl`` over the entry value.
A position still open at the end is an ``open`` trade marked at the last price. A fill within the ledger's
tolerance of the position (``core/src/portfolio/float.rs``) closes it exactly, as the ledger books it.

This module turns the fills frame into the core's columns (symbols as codes) and its answer into the
``Result.trades`` frame, ordered by entry time (then symbol, then the order they closed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl

from ml4t import _core
from ml4t._time import TS_DTYPE
from ml4t.result import TRADES_SCHEMA

__all__ = ["round_trips"]

_DIRECTIONS = pl.Series(["short", "long"], dtype=pl.String)
_STATUSES = pl.Series(["closed", "open"], dtype=pl.String)


def round_trips(
    fills: pl.DataFrame,
    marks: Mapping[str, float],
    multipliers: Mapping[str, float] | None = None,
    splits: Mapping[str, Sequence[tuple[int, float]]] | None = None,
) -> pl.DataFrame:
    """Trades from ``fills`` (the ``Result.fills`` schema, in execution order). ``marks`` maps a symbol to
    its last price, used for trades still open (KeyError for a symbol with an open trade and no mark);
    ``multipliers`` (default 1) scale PnL and entry value. ``splits`` maps a symbol to its
    ``(ts_event ns, ratio)`` splits in time order: a split applies before fills stamped at or after it,
    scaling an open trade's quantity up and its entry price down (value kept); the trade reports post-split
    units."""
    names = fills["symbol"].unique(maintain_order=True)
    codes = fills["symbol"].replace_strict(names, np.arange(names.len(), dtype=np.uint32), return_dtype=pl.UInt32)
    per_symbol = names.to_list()
    raw = _core.round_trips(
        np.asarray(codes.to_numpy(), dtype=np.uint32),  # (an empty one comes back as objects)
        fills["ts_event"].cast(pl.Int64).to_numpy(),
        (fills["side"] == "buy").to_numpy(),
        fills["quantity"].to_numpy(),
        fills["fill_price"].to_numpy(),
        fills["fee"].to_numpy(),
        np.array([marks.get(name, np.nan) for name in per_symbol], dtype=np.float64),
        np.array([(multipliers or {}).get(name, 1.0) for name in per_symbol], dtype=np.float64),
        [list((splits or {}).get(name, ())) for name in per_symbol],
    )
    still_open = raw["open"]
    missing = [per_symbol[i] for i in raw["symbol"][still_open] if per_symbol[i] not in marks]
    if missing:
        raise KeyError(missing[0])  # an open trade needs its symbol's last price
    ts_exit = pl.Series(raw["ts_exit"], dtype=pl.Int64).cast(TS_DTYPE)
    frame = pl.DataFrame(
        {
            "symbol": names.gather(raw["symbol"]),
            "direction": _DIRECTIONS.gather(raw["long"].astype(np.uint8)),
            "status": _STATUSES.gather(still_open.astype(np.uint8)),
            "ts_entry": pl.Series(raw["ts_entry"], dtype=pl.Int64).cast(TS_DTYPE),
            "ts_exit": ts_exit.scatter(np.flatnonzero(still_open), None),
            **{k: raw[k] for k in ("quantity", "entry_price", "exit_price", "fees", "pnl", "trade_return")},
        },
        schema={k: v for k, v in TRADES_SCHEMA.items() if k != "trade_id"},
    )
    return (
        frame.sort("ts_entry", "symbol", maintain_order=True)
        .with_row_index("trade_id")
        .with_columns(pl.col("trade_id").cast(pl.Int64))
        .select(list(TRADES_SCHEMA))
    )

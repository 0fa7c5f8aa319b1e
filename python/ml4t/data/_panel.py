"""The vectorized kernel's layout of bars: :class:`Panel`, built by :meth:`ml4t.data.Bars.panel`.

The panel puts every symbol on the common timeline of all symbols (the distinct ``ts_event`` values, in
order): ``(n_symbols, n_bars)`` OHLC arrays holding NaN where a symbol has no bar. It also keeps each symbol's
own rows (the frame ``scope="symbol"`` expressions are evaluated on) and where each of them sits on the
timeline, and the long frame of all symbols (the frame ``scope="panel"`` expressions are evaluated on, one row
per existing bar and symbol in (``ts_event``, ``symbol``) order) with each row's (symbol, timeline bar) cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

__all__ = ["Panel", "build_panel"]


@dataclass(frozen=True)
class Panel:
    """Bars laid out for the kernel: a common timeline and ``(n_symbols, n_bars)`` price arrays."""

    ts: pl.Series
    symbols: list[str]
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    frames: list[pl.DataFrame]  # per symbol, its own rows in time order
    rows: list[np.ndarray]  # per symbol, the timeline index of each of its rows
    long: pl.DataFrame  # every symbol's rows in (ts_event, symbol) order: the canonical frame itself
    long_symbol: np.ndarray  # per row of ``long``, the index of its symbol in ``symbols``
    long_bar: np.ndarray  # per row of ``long``, its timeline index

    @property
    def n_bars(self) -> int:
        return len(self.ts)

    @property
    def prices(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """OHLC as the kernel takes them."""
        return self.open, self.high, self.low, self.close


def build_panel(frame: pl.DataFrame, symbols: Sequence[str]) -> Panel:
    """The panel of a canonical bar frame (sorted by (``ts_event``, ``symbol``)) over the universe ``symbols``."""
    symbols = list(symbols)
    # the frame is sorted by (ts_event, symbol): its distinct timestamps are the timeline
    ts = frame["ts_event"] if len(symbols) == 1 else frame["ts_event"].set_sorted().unique(maintain_order=True)
    ts_ns = ts.cast(pl.Int64).to_numpy()
    fields = ("open", "high", "low", "close")
    shape = (len(symbols), len(ts))
    # one symbol has a bar at every timestamp (the timeline is its own): every cell is written below
    prices = {f: np.empty(shape) if len(symbols) == 1 else np.full(shape, np.nan) for f in fields}
    frames, rows = [], []
    # one pass over the frame for all symbols (not one filter per symbol); each part keeps the frame's order
    parts = frame.partition_by("symbol", maintain_order=True, as_dict=True) if len(symbols) > 1 else {}
    for s, sym in enumerate(symbols):
        own = parts.get((sym,), frame.clear()) if len(symbols) > 1 else frame
        # a symbol with a bar at every timestamp maps row i to bar i (a row copy); otherwise look its times up
        if own.height == len(ts):
            at = np.arange(len(ts))
            for f in fields:
                prices[f][s] = own[f].to_numpy()
        else:
            at = np.searchsorted(ts_ns, own["ts_event"].cast(pl.Int64).to_numpy())
            for f in fields:
                prices[f][s, at] = own[f].to_numpy()
        frames.append(own)
        rows.append(at)
    if len(symbols) == 1:  # the long frame is the one symbol's bars, one per timestamp
        long_symbol, long_bar = np.zeros(frame.height, dtype=np.int64), rows[0]
    else:
        index = {sym: s for s, sym in enumerate(symbols)}
        long_symbol = frame["symbol"].replace_strict(index, return_dtype=pl.Int64).to_numpy()
        long_bar = np.searchsorted(ts_ns, frame["ts_event"].cast(pl.Int64).to_numpy())
    return Panel(
        ts,
        symbols,
        prices["open"],
        prices["high"],
        prices["low"],
        prices["close"],
        frames,
        rows,
        frame,
        long_symbol,
        long_bar,
    )

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
    fields = ("open", "high", "low", "close")
    if len(symbols) == 1:  # one symbol has a bar at every timestamp: the timeline, the rows and the long frame
        at = np.arange(len(ts))
        o, h, lo, c = (np.array(frame[f].to_numpy(), dtype=np.float64).reshape(1, -1) for f in fields)
        return Panel(ts, symbols, o, h, lo, c, [frame], [at], frame, np.zeros(len(ts), np.int64), at)
    ts_ns = ts.cast(pl.Int64).to_numpy()
    index = {sym: s for s, sym in enumerate(symbols)}
    long_symbol = frame["symbol"].replace_strict(index, return_dtype=pl.Int64).to_numpy()
    long_bar = np.searchsorted(ts_ns, frame["ts_event"].cast(pl.Int64).to_numpy())
    shape = (len(symbols), len(ts))
    o, h, lo, c = (np.full(shape, np.nan) for _ in fields)
    for f, prices in zip(fields, (o, h, lo, c), strict=True):
        prices[long_symbol, long_bar] = frame[f].to_numpy()  # every row to its cell; NaN where a symbol has no bar
    # each symbol's own rows: one stable gather of the frame into symbol order (time order kept within a
    # symbol), then a zero-copy slice per symbol (not a filter or a partition per symbol)
    order = np.argsort(long_symbol, kind="stable")
    by_symbol = frame[order]
    bars_of = long_bar[order]
    ends = np.cumsum(np.bincount(long_symbol, minlength=len(symbols)))
    frames, rows = [], []
    for s, end in enumerate(ends.tolist()):
        start = int(ends[s - 1]) if s else 0
        frames.append(by_symbol.slice(start, end - start))
        # a symbol with a bar at every timestamp maps row i to bar i
        rows.append(np.arange(len(ts)) if end - start == len(ts) else bars_of[start:end])
    return Panel(ts, symbols, o, h, lo, c, frames, rows, frame, long_symbol, long_bar)

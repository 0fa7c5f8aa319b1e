"""``Bars`` and ``Signals`` of the records a live session has received (``ml4t.live._tape``), made without a
second validation: the tape checks each message's records as they arrive (columns, symbols, arrival times)
and the Rust engine checks their order and intervals; the frames here are the concatenation it keeps, in the
canonical layout (sorted by (``ts_event``, ``symbol``) for bars, in arrival order for signals)."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from ml4t.data._bars import Bars
from ml4t.data._signals import Signals

__all__ = ["received_bars", "received_signals"]


def received_bars(frame: pl.DataFrame, symbols: Sequence[str], freq_ns: int | None) -> Bars:
    """Bars over ``frame`` (canonical columns and order) for the universe ``symbols``; ``freq_ns`` the declared
    bar length (None: inferred)."""
    return Bars._from_canonical(frame, tuple(symbols), freq_ns)


def received_signals(frame: pl.DataFrame, values: Sequence[str]) -> Signals:
    """Signals over ``frame`` (``ts_event, ts_arrival, symbol, <values>, in_sample``), arrivals as received
    (an embargo, if any, was added before they were sent)."""
    return Signals._from_canonical(frame, tuple(values), 0, None)

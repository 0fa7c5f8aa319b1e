"""Datasets for the splitter tests: frames with ``ts_event`` / ``ts_arrival`` built from int nanoseconds."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
from hypothesis import strategies as st

BASE = 1_704_067_200_000_000_000  # 2024-01-01T00:00:00Z
HOUR = 3_600_000_000_000
DAY = 24 * HOUR


def ts(values: list[int] | np.ndarray, name: str) -> pl.Series:
    return pl.Series(name, np.asarray(values, dtype=np.int64)).cast(pl.Datetime("ns", "UTC"))


def frame(event: list[int], arrival: list[int] | None = None, symbol: list[str] | None = None, **extra) -> pl.DataFrame:
    """A dataset frame from int ns times (arrival defaults to the event time: zero latency)."""
    columns = [ts(event, "ts_event"), ts(event if arrival is None else arrival, "ts_arrival")]
    if symbol is not None:
        columns.append(pl.Series("symbol", symbol))
    out = pl.DataFrame(columns)
    return out.with_columns(
        ts(v, k) if k.startswith("ts_") or k == "label_end" else pl.Series(k, v) for k, v in extra.items()
    )


def daily(n: int, *, start: int = BASE) -> pl.DataFrame:
    """One symbol, ``n`` daily rows, zero latency."""
    return frame([start + i * DAY for i in range(n)])


def to_api(length: tuple[str, int] | None) -> object:
    """A reference length ("bars", k) / ("time", ns) as the API takes it (int bars or a timedelta)."""
    if length is None:
        return None
    kind, value = length
    return value if kind == "bars" else dt.timedelta(microseconds=value // 1_000)


@st.composite
def panels(draw: st.DrawFn, min_times: int = 4, max_times: int = 24) -> tuple[list[int], list[int], list[str]]:
    """A random panel: irregular timestamps (gaps of 1-4 hours), 1-3 symbols present at random at each one,
    a random latency per row (0-3 half hours). Rows sorted by (ts_event, symbol)."""
    n = draw(st.integers(min_times, max_times))
    gaps = draw(st.lists(st.integers(1, 4), min_size=n - 1, max_size=n - 1))
    times = [BASE + HOUR * int(x) for x in np.concatenate([[0], np.cumsum(gaps, dtype=np.int64)])]
    names = ["A", "B", "C"][: draw(st.integers(1, 3))]
    event, arrival, symbol = [], [], []
    for t in times:
        present = sorted(draw(st.lists(st.sampled_from(names), min_size=1, max_size=len(names), unique=True)))
        for s in present:
            event.append(t)
            arrival.append(t + draw(st.integers(0, 3)) * HOUR // 2)
            symbol.append(s)
    return event, arrival, symbol


def horizons(n_rows: int) -> st.SearchStrategy[tuple[str, object] | None]:
    """A random label horizon: none, bars, a duration, or a column of per-row horizons (as offsets)."""
    return st.one_of(
        st.none(),
        st.tuples(st.just("bars"), st.integers(0, 4)),
        st.tuples(st.just("time"), st.integers(0, 8).map(lambda k: k * HOUR)),
        st.tuples(st.just("offsets"), st.lists(st.integers(0, 6), min_size=n_rows, max_size=n_rows)),
    )


def embargoes() -> st.SearchStrategy[tuple[str, int] | None]:
    return st.one_of(
        st.none(),
        st.tuples(st.just("bars"), st.integers(0, 3)),
        st.tuples(st.just("time"), st.integers(0, 6).map(lambda k: k * HOUR)),
    )

"""Symbols that start and end at different dates (listings, delistings, gaps): every layout of the data layer
holds exactly the bars the data has. No bar is made before a listing, after a delisting or in a gap: the panel
has NaN there, the stream, the per-symbol arrays and the point-in-time view have no row, ``wide`` has null.

Checked against a plain reference: the set of (day, symbol) cells that have a bar."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from ml4t.data import PITData, align_signals, bars, signals

UTC = dt.UTC
T0 = dt.datetime(2022, 1, 3, 21, tzinfo=UTC)
SYMBOLS = ("A", "B", "C", "D")


def _day(i: int) -> dt.datetime:
    return T0 + dt.timedelta(days=i)


def _price(i: int, j: int) -> float:
    return 10.0 * (j + 1) + i


def _long(present: list[list[bool]]) -> pl.DataFrame:
    """OHLCV rows of the present cells (``present[day][symbol]``), grouped by symbol."""
    rows = [
        {
            "timestamp": _day(i),
            "symbol": sym,
            "open": _price(i, j),
            "high": _price(i, j) + 1,
            "low": _price(i, j) - 1,
            "close": _price(i, j) + 0.5,
            "volume": 100.0,
        }
        for j, sym in enumerate(SYMBOLS)
        for i in range(len(present))
        if present[i][j]
    ]
    return pl.DataFrame(rows)


# listed late (B from day 3), delisted early (C until day 4), a gap (D misses days 2..3), A always there
LISTINGS = [[True, i >= 3, i <= 4, not 2 <= i <= 3] for i in range(8)]


def test_a_late_listing_an_early_delisting_and_a_gap_get_no_bars():
    b = bars(_long(LISTINGS))
    counts = dict(b.frame.group_by("symbol").len().iter_rows())
    assert counts == {"A": 8, "B": 5, "C": 5, "D": 6}
    panel = b.panel()
    assert panel.n_bars == 8
    assert np.isnan(panel.close[1, :3]).all() and not np.isnan(panel.close[1, 3:]).any()
    assert np.isnan(panel.close[2, 5:]).all() and np.isnan(panel.open[2, 5:]).all()
    assert np.isnan(panel.close[3, 2:4]).all()
    # the point-in-time view on day 2: B is not listed yet, C's history is its own, nothing padded
    view = PITData(b, now=_day(2))
    assert view.latest("close", "B") is None and len(view.history("close", 10, "B")) == 0
    assert view.history("close", 10, "D").tolist() == [_price(0, 3) + 0.5, _price(1, 3) + 0.5]
    # after C's delisting its latest bar stays its last real one (day 4), never a later made-up bar
    late = PITData(b, now=_day(7))
    assert late.times(10, "C")[-1] == int(_day(4).timestamp()) * 10**9
    assert len(late.history("close", 10, "C")) == 5


def test_a_truncated_view_keeps_a_symbol_that_is_not_listed_yet():
    b = bars(_long(LISTINGS)).until(_day(1))
    assert b.symbols == list(SYMBOLS)
    assert set(b.frame["symbol"]) == {"A", "C", "D"}
    assert b.arrays("B")["close"].size == 0


def test_signals_are_aligned_only_onto_bars_that_exist():
    b = bars(_long(LISTINGS))
    preds = pl.DataFrame(
        {"ts_event": [_day(i) for i in range(8)], "symbol": ["B"] * 8, "score": [float(i) for i in range(8)]}
    )
    aligned = align_signals(b, signals(preds, ts_arrival="0s"))
    own = aligned.frame.filter(pl.col("symbol") == "B")
    assert own.height == 5 and own["score"].to_list() == [3.0, 4.0, 5.0, 6.0, 7.0]
    assert aligned.frame.filter(pl.col("symbol") != "B")["score"].null_count() == 8 + 5 + 6


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(st.booleans(), min_size=4, max_size=4), min_size=1, max_size=9).filter(
        lambda rows: all(any(r[j] for r in rows) for j in range(4))
    ),
    st.sampled_from([0, 3600]),
)
def test_every_layout_has_exactly_the_bars_of_the_data(present, latency_s):
    b = bars(_long(present), latency=dt.timedelta(seconds=latency_s))
    cells = {(i, j) for i in range(len(present)) for j in range(4) if present[i][j]}
    days = sorted({i for i, _ in cells})

    # the long frame and the per-symbol arrays
    frame_cells = {(int((t - T0).days), SYMBOLS.index(s)) for t, s in b.frame.select("ts_event", "symbol").iter_rows()}
    assert frame_cells == cells and len(b) == len(cells)
    for j, sym in enumerate(SYMBOLS):
        assert b.arrays(sym)["close"].tolist() == [_price(i, j) + 0.5 for i in days if (i, j) in cells]

    # the panel: the timeline is the days with any bar; NaN exactly where a symbol has none
    panel = b.panel()
    assert panel.n_bars == len(days)
    for k, i in enumerate(days):
        for j in range(4):
            for field, expected in (("close", _price(i, j) + 0.5), ("open", _price(i, j)), ("low", _price(i, j) - 1)):
                got = getattr(panel, field)[j, k]
                assert (got == expected) if (i, j) in cells else math.isnan(got)

    # the stream: one row per bar, in (arrival, symbol) order
    stream = b.stream("UTC")
    rows = sorted(cells, key=lambda c: (c[0], c[1]))
    assert stream.names == [SYMBOLS[j] for _, j in rows]
    assert stream.columns["close"].tolist() == [_price(i, j) + 0.5 for i, j in rows]

    # wide: null where there is no bar
    wide = b.wide("close")
    for k, i in enumerate(days):
        for j, sym in enumerate(SYMBOLS):
            value = wide[sym][k]
            assert (value == _price(i, j) + 0.5) if (i, j) in cells else value is None

    # the point-in-time view at each day: as many bars per symbol as it had by then
    for i in days:
        view = PITData(b, now=_day(i) + dt.timedelta(seconds=latency_s))
        for j, sym in enumerate(SYMBOLS):
            seen = [d for d in days if d <= i and (d, j) in cells]
            assert len(view.history("close", 100, sym)) == len(seen)
            latest = view.latest("close", sym)
            assert latest == (_price(seen[-1], j) + 0.5 if seen else None)

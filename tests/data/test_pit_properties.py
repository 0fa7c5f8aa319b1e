"""Property tests of the point-in-time guarantee, each checked against a slow, obvious reference.

Invariant: for any arrival times and any sequence of clock values, ``PITData`` returns exactly the rows with
``ts_arrival <= now`` (never one with ``ts_arrival > now``): ``history(field, big_n)`` equals a plain-Python
filter of the input rows, and ``signal`` is the visible value with the greatest (ts_event, ts_arrival).
"""

from __future__ import annotations

from typing import NamedTuple

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from ml4t._time import TS_DTYPE
from ml4t.data import PITData, bars, signals

BASE = 1_600_000_000 * 1_000_000_000  # 2020-09-13 UTC, in ns
SECOND = 1_000_000_000
BIG_N = 10_000


class Row(NamedTuple):
    symbol: str
    event: int
    arrival: int
    value: float


def ns_series(values: list[int]) -> pl.Series:
    return pl.Series(values, dtype=pl.Int64).cast(TS_DTYPE)


@st.composite
def bar_rows(draw: st.DrawFn) -> list[Row]:
    """1-3 symbols, each with strictly increasing events and random, non-decreasing arrivals >= events."""
    rows: list[Row] = []
    for k, symbol in enumerate(["AAA", "BBB", "CCC"][: draw(st.integers(1, 3))]):
        events = sorted(draw(st.sets(st.integers(0, 120), max_size=12)))
        arrival = -1
        for i, event in enumerate(events):
            arrival = max(arrival, event + draw(st.integers(0, 40)))
            rows.append(Row(symbol, BASE + event * SECOND, BASE + arrival * SECOND, 100.0 * (k + 1) + i))
    return rows


@st.composite
def signal_rows(draw: st.DrawFn) -> list[Row]:
    """Random arrivals in any order, several per event allowed (revisions), unique per key."""
    keys = draw(
        st.sets(
            st.tuples(st.sampled_from(["AAA", "BBB"]), st.integers(0, 60), st.integers(0, 60)),
            min_size=1,
            max_size=25,
        )
    )
    return [Row(s, BASE + e * SECOND, BASE + (e + d) * SECOND, float(i)) for i, (s, e, d) in enumerate(sorted(keys))]


clocks = st.lists(
    st.tuples(st.integers(-5, 200), st.sampled_from([-1, 0, 1])).map(lambda t: BASE + t[0] * SECOND + t[1]),
    min_size=1,
    max_size=8,
).map(sorted)


@settings(max_examples=60, deadline=None)
@given(rows=bar_rows(), nows=clocks)
def test_bars_never_visible_before_arrival(rows: list[Row], nows: list[int]) -> None:
    if not rows:
        return
    frame = pl.DataFrame(
        {
            "ts_event": ns_series([r.event for r in rows]),
            "ts_arrival": ns_series([r.arrival for r in rows]),
            "symbol": [r.symbol for r in rows],
            **{name: [r.value for r in rows] for name in ("open", "high", "low", "close")},
            "volume": [1.0] * len(rows),
        }
    )
    pit = PITData(bars(frame), now=nows[0])
    for now in nows:
        pit.advance_to(now)
        for symbol in pit.symbols:
            visible = sorted((r for r in rows if r.symbol == symbol and r.arrival <= now), key=lambda r: r.event)
            assert pit.history("close", BIG_N, symbol).tolist() == [r.value for r in visible]
            assert pit.times(BIG_N, symbol).tolist() == [r.event for r in visible]
            assert pit.latest("close", symbol) == (visible[-1].value if visible else None)
        shown = pit.frame()
        assert shown.height == sum(r.arrival <= now for r in rows)
        assert (shown["ts_arrival"].cast(pl.Int64) <= now).all()


@settings(max_examples=60, deadline=None)
@given(rows=signal_rows(), nows=clocks)
def test_signals_never_visible_before_arrival(rows: list[Row], nows: list[int]) -> None:
    sig = signals(
        pl.DataFrame(
            {
                "ts_event": ns_series([r.event for r in rows]),
                "ts_arrival": ns_series([r.arrival for r in rows]),
                "symbol": [r.symbol for r in rows],
                "pred": [r.value for r in rows],
            }
        ).sample(fraction=1.0, shuffle=True, seed=0)
    )
    frame = pl.DataFrame(
        {
            "ts_event": ns_series([BASE, BASE]),
            "symbol": ["AAA", "BBB"],
            **{name: [1.0, 1.0] for name in ("open", "high", "low", "close", "volume")},
        }
    )
    pit = PITData(bars(frame), sig, now=nows[0])
    for now in nows:
        pit.advance_to(now)
        for symbol in ("AAA", "BBB"):
            visible = [r for r in rows if r.symbol == symbol and r.arrival <= now]
            in_arrival_order = sorted(visible, key=lambda r: (r.arrival, r.event))
            history = pit.signal_history("pred", BIG_N, symbol).tolist()
            assert history == [r.value for r in in_arrival_order]
            freshest = max(visible, key=lambda r: (r.event, r.arrival), default=None)
            assert pit.signal("pred", symbol) == (None if freshest is None else freshest.value)

"""The layouts the data layer hands ml4t's engines, each checked against a plain reference built from
``Bars.frame`` / ``Signals.frame`` row by row: ``Bars.panel`` (the vectorized kernel's), ``Bars.stream`` and
``Signals.stream`` (the event engine's), ``Bars.splits``, ``Bars.with_indicators`` and ``Signals.until``."""

from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ml4t.data import bars, signals
from ml4t.errors import ConfigError

START = dt.datetime(2021, 3, 1, 14, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
NS = 1_000_000_000


def _ns(value: dt.datetime) -> int:
    return int(value.timestamp()) * NS


@st.composite
def bar_frames(draw: st.DrawFn) -> pl.DataFrame:
    """1-3 symbols, each on its own subset of an hourly grid, with random feed delays that never make a
    symbol's arrivals decrease, a flag and a text column."""
    rows = []
    for k, symbol in enumerate(["AAA", "BBB", "CCC"][: draw(st.integers(1, 3))]):
        slots = sorted(draw(st.sets(st.integers(0, 30), min_size=1, max_size=8)))
        arrival = START - HOUR
        for i, slot in enumerate(slots):
            event = START + slot * HOUR
            arrival = max(arrival, event + draw(st.integers(0, 3)) * HOUR)
            price = 10.0 * (k + 1) + i
            rows.append((event, arrival, symbol, price, price + 1, price - 1, price + 0.5, 100.0 * i, i % 2 == 0))
    return pl.DataFrame(
        rows,
        schema=["timestamp", "ts_arrival", "symbol", "open", "high", "low", "close", "volume", "flag"],
        orient="row",
    ).with_columns(note=pl.concat_str(pl.col("symbol"), pl.lit("-"), pl.col("close").cast(pl.String)))


@settings(max_examples=40, deadline=None)
@given(bar_frames())
def test_the_panel_puts_every_symbol_on_the_common_timeline(frame):
    b = bars(frame)
    panel = b.panel()
    canonical = b.frame
    timeline = sorted(set(canonical["ts_event"].to_list()))
    assert panel.ts.to_list() == timeline and panel.n_bars == len(timeline)
    assert panel.symbols == b.symbols
    at = {(ts, s): row for ts, s, *row in canonical.select("ts_event", "symbol", "open", "high", "low", "close").rows()}
    for s, symbol in enumerate(b.symbols):
        own = canonical.filter(pl.col("symbol") == symbol)
        assert panel.frames[s].equals(own)
        assert [timeline[j] for j in panel.rows[s]] == own["ts_event"].to_list()
        for j, ts in enumerate(timeline):
            expected = at.get((ts, symbol), [math.nan] * 4)
            got = [panel.open[s, j], panel.high[s, j], panel.low[s, j], panel.close[s, j]]
            np.testing.assert_array_equal(got, expected)
    assert b.panel() is panel  # built once per Bars
    assert b.until(b.end).panel() is not panel  # a derived Bars builds its own


@settings(max_examples=40, deadline=None)
@given(bar_frames(), st.sampled_from(["UTC", "America/New_York", "Asia/Tokyo"]))
def test_the_bar_stream_is_the_frame_ordered_by_arrival_then_symbol(frame, session_tz):
    b = bars(frame)
    stream = b.stream(session_tz)
    reference = sorted(b.frame.rows(named=True), key=lambda r: (r["ts_arrival"], r["symbol"]))
    assert stream.names == [r["symbol"] for r in reference]
    assert stream.symbol_index.tolist() == [b.symbols.index(r["symbol"]) for r in reference]
    # the names are looked up from the codes (issue #18): row by row, by slice and by value, as the list
    expected = [r["symbol"] for r in reference]
    assert len(stream.names) == len(expected)
    assert [stream.names[i] for i in range(len(expected))] == expected
    assert stream.names[1:-1] == expected[1:-1] and stream.names[::-1] == expected[::-1]
    assert list(stream.names) == expected and stream.names != tuple(expected)
    for name in ("ts_event", "ts_arrival", "ts_start"):
        assert stream.columns[name].tolist() == [_ns(r[name]) for r in reference]
    for name in ("open", "high", "low", "close", "volume"):
        assert stream.columns[name].dtype == np.float64
        assert stream.columns[name].tolist() == [r[name] for r in reference]
    assert stream.columns["flag"].tolist() == [r["flag"] for r in reference]
    assert stream.columns["note"].tolist() == [r["note"] for r in reference]
    days = [(r["ts_event"].astimezone(ZoneInfo(session_tz)).date() - dt.date(1970, 1, 1)).days for r in reference]
    assert stream.session.tolist() == days
    assert sorted(stream.columns) == sorted([c for c in b.frame.columns if c != "symbol"])
    for array in (*stream.columns.values(), stream.symbol_index, stream.session):
        assert not array.flags.writeable


def test_a_bar_column_may_share_a_name_with_the_streams_own_arrays(make_frame):
    frame = make_frame().with_columns(session=pl.lit(7.0), names=pl.lit(1.0), symbol_index=pl.lit(2.0))
    stream = bars(frame).stream("UTC")
    assert stream.columns["session"].tolist() == [7.0] * frame.height  # the user's column, for the strategy
    assert stream.columns["names"].tolist() == [1.0] * frame.height
    assert len(set(stream.session.tolist())) == 5  # the engine's session dates are not replaced by it
    assert stream.symbol_index.tolist() == [0, 1] * 5


def test_an_unknown_session_time_zone_is_a_config_error(make_frame):
    with pytest.raises(ConfigError, match="unknown session_tz") as info:
        bars(make_frame()).stream("Mars/Olympus")
    assert info.value.argument == "session_tz"


def test_splits_lists_the_real_splits_per_symbol_in_time_order(make_frame):
    ratios = [1.0, 2.0, None, 0.5, 1.0, float("nan"), 1.0, 3.0, -1.0, 1.0]  # AAA's five bars, then BBB's
    b = bars(make_frame().with_columns(split=pl.Series(ratios)))
    ts = b.frame.filter(pl.col("symbol") == "AAA")["ts_event"].cast(pl.Int64).to_list()
    assert b.splits() == {"AAA": [(ts[1], 2.0), (ts[3], 0.5)], "BBB": [(ts[2], 3.0)]}
    assert bars(make_frame()).splits() == {}


def test_with_indicators_adds_columns_computed_per_symbol(make_frame):
    b = bars(make_frame())
    added = b.with_indicators({"prev": pl.col("close").shift(1), "big": pl.col("close") > 20})
    expected = b.frame.with_columns(
        prev=pl.col("close").shift(1).over("symbol"), big=(pl.col("close") > 20).over("symbol")
    )
    assert added.frame.equals(expected)
    assert added.symbols == b.symbols and added.freq == b.freq
    assert b.with_indicators({}) is b


@pytest.mark.parametrize(
    ("exprs", "message", "column"),
    [
        ({"close": pl.col("open")}, "has the name of a bar column", "close"),
        ({"x": 3}, "must map names to Polars expressions, got int", "x"),
        ({"x": pl.col("missing")}, "an indicator expression failed", "x"),
    ],
)
def test_a_bad_indicator_is_a_config_error_naming_it(make_frame, exprs, message, column):
    with pytest.raises(ConfigError, match=message) as info:
        bars(make_frame()).with_indicators(exprs)
    assert info.value.argument == "indicators" and info.value.column == column


prediction_rows = st.lists(
    st.tuples(st.sampled_from(["AAA", "BBB"]), st.integers(0, 40), st.integers(0, 6), st.none() | st.floats(-1, 1)),
    min_size=1,
    max_size=25,
    unique_by=lambda r: (r[0], r[1], r[2]),
)


def _predictions(rows):
    return pl.DataFrame(
        {
            "ts_event": [START + e * HOUR for _, e, _, _ in rows],
            "ts_arrival": [START + (e + d) * HOUR for _, e, d, _ in rows],
            "symbol": [s for s, _, _, _ in rows],
            "score": [v for _, _, _, v in rows],
        },
        schema_overrides={"score": pl.Float64},
    )


@settings(max_examples=40, deadline=None)
@given(prediction_rows, st.integers(-2, 50))
def test_signals_until_keeps_exactly_the_rows_arrived_by_then(rows, hours):
    embargo, train_end = dt.timedelta(minutes=5), START - HOUR
    s = signals(_predictions(rows), embargo=embargo, train_end=train_end)
    cut = START + hours * HOUR
    truncated = s.until(cut)
    expected = [r for r in s.frame.rows() if r[1] <= cut]
    assert truncated.frame.rows() == expected
    assert truncated.columns == s.columns and truncated.embargo == embargo and truncated.train_end == train_end
    assert s.until(_ns(cut)).frame.equals(truncated.frame)  # int ns, like Bars.until


@settings(max_examples=40, deadline=None)
@given(prediction_rows)
def test_the_signal_stream_is_the_frame_in_visibility_order(rows):
    s = signals(_predictions(rows))
    stream = s.stream()
    reference = s.frame.rows(named=True)
    assert [r["ts_arrival"] for r in reference] == sorted(r["ts_arrival"] for r in reference)
    assert stream.names == [r["symbol"] for r in reference]
    assert stream.ts_arrival.tolist() == [_ns(r["ts_arrival"]) for r in reference]
    assert stream.columns["ts_event"].tolist() == [_ns(r["ts_event"]) for r in reference]
    expected = [math.nan if r["score"] is None else r["score"] for r in reference]
    np.testing.assert_array_equal(stream.columns["score"], expected)
    assert sorted(stream.columns) == ["score", "ts_event"]
    for array in (*stream.columns.values(), stream.ts_arrival):
        assert not array.flags.writeable

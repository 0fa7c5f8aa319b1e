"""Bar intervals (``ts_start``) and date-only daily data as pandas/yfinance give it."""

from __future__ import annotations

import datetime as dt
import itertools
import pickle

import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ml4t import ConfigError, DataError
from ml4t.data import bars, load_bars

UTC = dt.UTC
NY = "America/New_York"


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def daily_pandas(n: int = 4) -> pd.DataFrame:
    """Daily OHLCV as yfinance gives it: a naive midnight DatetimeIndex named Date, capitalised columns."""
    index = pd.DatetimeIndex(pd.bdate_range("2020-01-02", periods=n), name="Date")
    base = [100.0 + i for i in range(n)]
    return pd.DataFrame(
        {
            "Open": base,
            "High": [b + 2 for b in base],
            "Low": [b - 2 for b in base],
            "Close": [b + 1 for b in base],
            "Volume": [1e6] * n,
        },
        index=index,
    )


def test_daily_bars_with_a_session_start_at_the_session_open():
    b = bars(daily_pandas(), tz=NY, session_close="16:00")
    first = b.frame.row(0, named=True)
    assert first["ts_event"] == utc(2020, 1, 2, 21) and first["ts_start"] == utc(2020, 1, 2, 14, 30)
    other = bars(daily_pandas(), tz=NY, session_close="17:00", session_open=dt.time(8))
    assert other.frame["ts_start"][0] == utc(2020, 1, 2, 13)


def test_an_open_at_or_after_the_close_is_an_overnight_session():
    futures = bars(daily_pandas(), tz="America/Chicago", session_close="16:00", session_open="17:00")
    assert futures.frame["ts_start"][1] == utc(2020, 1, 2, 23)  # 17:00 Chicago the day before Jan 3
    assert futures.frame["ts_start"][0] == utc(2020, 1, 1, 23)


def test_pandas_midnight_datetimes_are_date_only():
    frame = daily_pandas()
    with pytest.raises(DataError, match="date-only"):
        bars(frame)
    assert bars(frame, tz=NY).frame["ts_event"][0] == utc(2020, 1, 2, 5)
    assert bars(frame, tz=NY, session_close="16:00").frame["ts_event"][1] == utc(2020, 1, 3, 21)
    # a plain DatetimeIndex (unnamed) and a naive Polars Datetime column at midnight are date-only too
    assert bars(frame.rename_axis(None), tz=NY, session_close="16:00").frame["ts_event"][0] == utc(2020, 1, 2, 21)
    polars = pl.from_pandas(frame.reset_index())
    assert polars.schema["Date"] in (pl.Datetime("ns"), pl.Datetime("us"))
    assert bars(polars, tz=NY, session_close="16:00").frame["ts_start"][0] == utc(2020, 1, 2, 14, 30)


def test_naive_datetimes_with_a_time_of_day_are_not_date_only():
    frame = daily_pandas()
    frame.index = frame.index + pd.Timedelta(hours=16)
    with pytest.raises(ConfigError, match="session_close only applies to date-only") as info:
        bars(frame, tz=NY, session_close="16:00")
    assert info.value.argument == "session_close"


def test_load_bars_reads_date_only_files_with_a_session(tmp_path):
    path = tmp_path / "nvda.csv"
    daily_pandas().to_csv(path)
    b = load_bars(path, tz=NY, session_close="16:00", session_open="09:30")
    assert b.frame["ts_start"][0] == utc(2020, 1, 2, 14, 30) and b.symbols == ["nvda"]


def test_date_only_bars_without_a_session_start_at_their_stamp():
    b = bars(daily_pandas(), tz=NY)
    assert b.frame["ts_start"].to_list() == b.frame["ts_event"].to_list()


@pytest.mark.parametrize(
    ("options", "argument"),
    [
        ({"session_open": "09:30"}, "session_open"),
        ({"session_close": "16:00", "session_open": "9h"}, "session_open"),
        ({"session_close": "16:00", "session_open": "24:00"}, "session_open"),
    ],
)
def test_impossible_sessions_are_config_errors(options, argument):
    with pytest.raises(ConfigError) as info:
        bars(daily_pandas(), tz=NY, **options)
    assert info.value.argument == argument


def test_intraday_bars_start_one_bar_length_before_their_stamp_never_before_the_previous_bar(make_frame):
    minute = dt.timedelta(minutes=1)
    frame = make_frame(symbols=("AAA",), n=6, step=minute)
    # drop the third bar (a gap) and add a bar 20 s after the last one (irregular)
    frame = frame.filter(pl.int_range(pl.len()) != 2)
    last = frame.tail(1).with_columns(pl.col("timestamp") + pl.duration(seconds=20, time_unit="ns"))
    b = bars(pl.concat([frame, last]))
    ts = b.frame["ts_event"].to_list()
    assert b.frame["ts_start"].to_list() == [t - minute for t in ts[:-1]] + [ts[-2]]
    given_freq = bars(frame, freq="30s")
    assert given_freq.frame["ts_start"][0] == ts[0] - dt.timedelta(seconds=30)


def test_each_symbol_uses_its_own_bar_length(make_frame):
    hourly = make_frame(symbols=("AAA",), n=3, step=dt.timedelta(hours=1))
    daily = make_frame(symbols=("BBB",), n=3)
    b = bars(pl.concat([hourly, daily]))
    starts = {row["symbol"]: row["ts_event"] - row["ts_start"] for row in b.frame.iter_rows(named=True)}
    assert starts == {"AAA": dt.timedelta(hours=1), "BBB": dt.timedelta(days=1)}


def test_ts_start_survives_round_trips_and_bad_starts_are_refused(make_frame):
    b = bars(daily_pandas(), tz=NY, session_close="16:00")
    assert bars(b.frame).frame.equals(b.frame)
    assert pickle.loads(pickle.dumps(b)).frame.equals(b.frame)
    assert b.until(utc(2020, 1, 3, 21)).frame["ts_start"].len() == 2
    late = b.frame.with_columns(pl.col("ts_start") + dt.timedelta(hours=7))
    with pytest.raises(DataError, match="ts_start is after ts_event") as info:
        bars(late)
    assert info.value.column == "ts_start" and info.value.symbol == "asset"
    early = b.frame.with_columns(pl.col("ts_start") - dt.timedelta(days=2))
    with pytest.raises(DataError, match="previous bar"):
        bars(early)


@settings(max_examples=40, deadline=None)
@given(gaps=st.lists(st.integers(1, 5), min_size=1, max_size=12), freq=st.one_of(st.none(), st.integers(1, 6)))
def test_every_bar_starts_after_its_previous_bar_and_at_most_one_bar_length_before_its_stamp(gaps, freq):
    """Against an obvious reference: start = max(stamp - length, previous stamp)."""
    stamps = [utc(2020, 1, 1)]
    for gap in gaps:
        stamps.append(stamps[-1] + dt.timedelta(minutes=gap))
    frame = pl.DataFrame(
        {"timestamp": stamps, "open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0, "volume": 1.0}
    ).with_columns(pl.col("timestamp").cast(pl.Datetime("ns", "UTC")))
    b = bars(frame, freq=None if freq is None else dt.timedelta(minutes=freq))
    counts = {g: gaps.count(g) for g in gaps}
    common = min(counts, key=lambda g: (-counts[g], g))
    length = dt.timedelta(minutes=freq if freq is not None else common)
    expected = [stamps[0] - length] + [max(t - length, p) for p, t in itertools.pairwise(stamps)]
    assert b.frame["ts_start"].to_list() == expected

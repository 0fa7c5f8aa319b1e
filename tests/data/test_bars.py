"""``ml4t.data.bars`` conventions (time zones, labels, session close, latency, names) and the ``Bars`` API."""

from __future__ import annotations

import datetime as dt
import pickle

import numpy as np
import pandas as pd
import polars as pl
import pytest

from ml4t import ConfigError, DataError
from ml4t._time import TS_DTYPE, to_ns
from ml4t.data import Bars, bars

UTC = dt.UTC


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def stamps(b: Bars, column: str = "ts_event") -> list[dt.datetime]:
    return b.frame[column].to_list()


def test_canonical_schema_and_order(make_frame):
    frame = make_frame().with_columns(pl.lit(1, dtype=pl.Int64).alias("extra"), pl.col("volume").cast(pl.Int64))
    b = bars(frame)
    assert b.frame.columns == [
        "ts_event", "ts_arrival", "ts_start", "symbol", "open", "high", "low", "close", "volume", "extra",
    ]  # fmt: skip
    schema = b.frame.schema
    assert schema["ts_event"] == TS_DTYPE and schema["ts_arrival"] == TS_DTYPE and schema["ts_start"] == TS_DTYPE
    assert schema["symbol"] == pl.String and schema["volume"] == pl.Float64 and schema["extra"] == pl.Int64
    assert b.frame.select("ts_event", "symbol").equals(b.frame.select("ts_event", "symbol").sort("ts_event", "symbol"))
    assert b.frame["symbol"].to_list()[:4] == ["AAA", "BBB", "AAA", "BBB"]


def test_aware_input_in_any_zone_is_converted_to_utc(make_frame):
    frame = make_frame().with_columns(pl.col("timestamp").dt.convert_time_zone("Asia/Tokyo"))
    assert stamps(bars(frame))[0] == utc(2020, 1, 6, 21)


def test_naive_input_localized_with_tz(make_frame):
    frame = make_frame(symbols=("AAA",)).with_columns(pl.col("timestamp").dt.replace_time_zone(None))
    b = bars(frame, tz="America/New_York")  # 21:00 in New York (EST) is 02:00 UTC the next day
    assert stamps(b)[0] == utc(2020, 1, 7, 2)


def test_label_left_shifts_open_stamps_to_close(make_frame):
    frame = make_frame(symbols=("AAA",), step=dt.timedelta(minutes=5))
    assert stamps(bars(frame, label="left"))[0] == utc(2020, 1, 6, 21, 5)  # freq inferred: 5 minutes
    assert stamps(bars(frame, label="left", freq="1m"))[0] == utc(2020, 1, 6, 21, 1)
    shifted = bars(frame, label="left", freq=dt.timedelta(minutes=1), latency="1s")
    assert shifted.freq == dt.timedelta(minutes=1)
    assert shifted.frame.schema["ts_event"] == TS_DTYPE and shifted.frame.schema["ts_arrival"] == TS_DTYPE


def test_label_left_needs_freq_when_not_inferable(make_frame):
    with pytest.raises(ConfigError, match="freq=") as info:
        bars(make_frame(n=1), label="left")
    assert info.value.argument == "freq"


def test_label_must_be_left_or_right(make_frame):
    with pytest.raises(ConfigError, match="label"):
        bars(make_frame(), label="center")  # type: ignore[arg-type]


def test_date_only_needs_tz_and_is_stamped_at_local_midnight(make_frame):
    frame = make_frame(symbols=("AAA",)).with_columns(pl.col("timestamp").dt.date())
    with pytest.raises(DataError, match="date-only"):
        bars(frame)
    assert stamps(bars(frame, tz="America/New_York"))[0] == utc(2020, 1, 6, 5)
    strings = frame.with_columns(pl.col("timestamp").cast(pl.String))
    assert stamps(bars(strings, tz="America/New_York"))[0] == utc(2020, 1, 6, 5)


@pytest.mark.parametrize("close", ["16:00", "16:00:00", dt.time(16, 0)])
def test_session_close_stamps_dates_at_local_close(make_frame, close):
    frame = make_frame(symbols=("AAA",)).with_columns(pl.col("timestamp").dt.date())
    assert stamps(bars(frame, tz="America/New_York", session_close=close))[0] == utc(2020, 1, 6, 21)
    summer = frame.with_columns(pl.lit(dt.date(2020, 7, 6)).alias("timestamp")).head(1)
    assert stamps(bars(summer, tz="America/New_York", session_close=close))[0] == utc(2020, 7, 6, 20)


def test_session_close_only_for_date_only_input(make_frame):
    with pytest.raises(ConfigError) as info:
        bars(make_frame(), session_close="16:00")
    assert info.value.argument == "session_close"
    frame = make_frame().with_columns(pl.col("timestamp").dt.date())
    for bad in ["25:00", "4pm"]:
        with pytest.raises(ConfigError):
            bars(frame, tz="UTC", session_close=bad)


def test_latency_sets_arrival(make_frame):
    b = bars(make_frame(), latency="250ms")
    delay = b.frame.select(pl.col("ts_arrival") - pl.col("ts_event")).to_series().unique().to_list()
    assert delay == [dt.timedelta(milliseconds=250)]
    assert bars(make_frame()).frame["ts_arrival"].equals(bars(make_frame()).frame["ts_event"].alias("ts_arrival"))


def test_pandas_input_with_datetime_index(make_frame):
    frame = make_frame(symbols=("AAA",)).drop("symbol")
    pdf = frame.to_pandas().set_index("timestamp")
    pdf.index.name = None
    b = bars(pdf, symbol="AAA")
    assert b.frame.drop("ts_arrival").equals(bars(frame, symbol="AAA").frame.drop("ts_arrival"))
    naive = pdf.copy()
    naive.index = pd.DatetimeIndex(naive.index).tz_localize(None)
    assert stamps(bars(naive, tz="UTC"))[0] == utc(2020, 1, 6, 21)


def test_case_insensitive_snake_case_names(make_frame):
    frame = (
        make_frame()
        .rename(
            {"timestamp": "Date", "symbol": "Symbol", "open": "OPEN", "high": "High", "close": "Close", "low": "Low"}
        )
        .with_columns(pl.col("Close").alias("Adj Close"), pl.lit(7).alias("OpenInterest"))
    )
    b = bars(frame)
    assert b.frame.columns[-2:] == ["adj_close", "open_interest"]
    assert b.symbols == ["AAA", "BBB"]


def test_names_colliding_after_normalisation(make_frame):
    with pytest.raises(DataError, match="both normalise"):
        bars(make_frame().with_columns(pl.col("close").alias("Close")))


def test_separate_date_and_time_columns_are_combined(make_frame):
    frame = (
        make_frame(symbols=("AAA",))
        .with_columns(
            pl.col("timestamp").dt.date().cast(pl.String).alias("date"),
            pl.col("timestamp").dt.time().cast(pl.String).alias("time"),
        )
        .drop("timestamp")
    )
    assert stamps(bars(frame, tz="Europe/Berlin"))[0] == utc(2020, 1, 6, 20)
    with pytest.raises(DataError, match="naive"):
        bars(frame)


def test_single_asset_default_symbol(make_frame):
    assert bars(make_frame(symbols=("X",)).drop("symbol")).symbols == ["asset"]


def test_wide(make_frame):
    b = bars(make_frame(symbols=("AAA", "BBB")).filter(~((pl.col("symbol") == "BBB") & (pl.col("open") == 21.0))))
    wide = b.wide("close")
    assert wide.columns == ["ts_event", "AAA", "BBB"]
    assert wide.height == 5
    assert wide["BBB"].null_count() == 1 and wide["BBB"][1] is None
    assert wide["AAA"].to_list() == [10.5, 11.5, 12.5, 13.5, 14.5]
    with pytest.raises(DataError, match="unknown field") as info:
        b.wide("vwap")
    assert info.value.column == "vwap"


def test_freq_is_most_common_spacing_within_symbols(make_frame):
    frame = make_frame(symbols=("AAA",), n=6)
    frame = frame.filter(pl.int_range(pl.len()) != 3)  # gaps: 1d, 1d, 2d, 1d
    assert bars(frame).freq == dt.timedelta(days=1)
    assert bars(make_frame(n=1)).freq is None
    assert bars(make_frame(n=1)).periods_per_year is None


def test_periods_per_year_counts_observed_bars(make_frame):
    b = bars(make_frame(symbols=("AAA", "BBB"), n=101, step=dt.timedelta(minutes=1)))
    assert b.periods_per_year == pytest.approx(525_960.0)


def test_start_end_len_repr(make_frame):
    b = bars(make_frame())
    assert (b.start, b.end, len(b)) == (utc(2020, 1, 6, 21), utc(2020, 1, 10, 21), 10)
    assert "2 symbols" in repr(b) and "10 rows" in repr(b)


def test_until_keeps_universe_and_filters_on_arrival(make_frame):
    b = bars(make_frame(), latency="1h")
    cut = b.until(utc(2020, 1, 7, 22))
    assert len(cut) == 4 and cut.symbols == ["AAA", "BBB"]
    assert len(b.until(utc(2020, 1, 7, 21, 59, 59))) == 2
    empty = b.until(utc(2019, 1, 1))
    assert len(empty) == 0 and empty.symbols == ["AAA", "BBB"] and empty.start is None
    assert empty.wide("close").columns == ["ts_event", "AAA", "BBB"]
    with pytest.raises(ConfigError):
        b.until(dt.datetime(2020, 1, 7))  # naive  # noqa: DTZ001


def test_between_filters_on_event_time_inclusive_and_keeps_universe(make_frame):
    b = bars(make_frame(), latency="1h")
    window = b.between(utc(2020, 1, 7, 21), utc(2020, 1, 8, 21))
    assert len(window) == 4 and window.symbols == ["AAA", "BBB"]
    assert window.start == utc(2020, 1, 7, 21) and window.end == utc(2020, 1, 8, 21)
    assert len(b.between(start=utc(2020, 1, 10, 21))) == 2
    assert len(b.between(end="2020-01-06T21:00:00+00:00")) == 2
    assert len(b.between()) == len(b)
    with pytest.raises(ConfigError, match="is after end") as info:
        b.between(utc(2020, 1, 9), utc(2020, 1, 8))
    assert info.value.argument == "start"


def test_select(make_frame):
    b = bars(make_frame(symbols=("AAA", "BBB", "CCC")))
    assert b.select(["CCC", "AAA"]).symbols == ["AAA", "CCC"]
    assert len(b.select("BBB")) == 5
    with pytest.raises(DataError, match="unknown symbol") as info:
        b.select(["AAA", "ZZZ"])
    assert info.value.symbol == "ZZZ"


def test_arrays_are_read_only_numpy(make_frame):
    b = bars(make_frame(), latency="1s")
    arrays = b.arrays("BBB")
    assert arrays["ts_event"].dtype == np.int64 and arrays["close"].dtype == np.float64
    assert arrays["ts_event"][0] == to_ns(utc(2020, 1, 6, 21))
    assert (arrays["ts_arrival"] - arrays["ts_event"] == 1_000_000_000).all()
    assert arrays["close"].tolist() == [20.5, 21.5, 22.5, 23.5, 24.5]
    with pytest.raises(ValueError, match="read-only"):
        arrays["close"][0] = 0.0
    with pytest.raises(DataError):
        b.arrays("ZZZ")


def test_bars_is_immutable_and_pickles(make_frame):
    b = bars(make_frame())
    with pytest.raises(AttributeError):
        b.foo = 1  # type: ignore[attr-defined]
    b.frame.insert_column(0, pl.lit(1).alias("x"))  # a copy: the stored frame is untouched
    assert b.frame.columns[0] == "ts_event"
    assert pickle.loads(pickle.dumps(b)).frame.equals(b.frame)


def test_frame_round_trips_through_bars(make_frame):
    b = bars(make_frame(), latency="2s")
    again = bars(b.frame)
    assert again.frame.equals(b.frame)
    assert Bars(b.frame).frame.equals(b.frame)
    with pytest.raises(ConfigError):
        bars(b.frame, latency="1s")

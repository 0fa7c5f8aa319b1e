"""Every validation case of ``ml4t.data.bars``: the exception type, and a message naming the column, the
symbol and the first offending timestamp in time order (plus the count of offending rows)."""

from __future__ import annotations

import math
from typing import Any

import polars as pl
import pytest

from ml4t import ConfigError, DataError
from ml4t.data import bars

# The fixture frame is grouped by symbol: AAA is rows 0..4, BBB rows 5..9, daily from Mon 2020-01-06 21:00 UTC.
# Poisoning AAA's 4th bar (row 3, Jan 9) and BBB's 2nd (row 6, Jan 7) puts the first offender in *input*
# order on AAA, but the first in *time* order on BBB: errors must report BBB at Jan 7.
POISONED = (3, 6)
FIRST = "2020-01-07T21:00:00+00:00"


def poison(frame: pl.DataFrame, column: str, value: Any, rows: tuple[int, ...] = POISONED) -> pl.DataFrame:
    dtype = frame.schema[column]
    return (
        frame.with_row_index("_row")
        .with_columns(
            pl.when(pl.col("_row").is_in(list(rows)))
            .then(pl.lit(value, dtype=dtype))
            .otherwise(pl.col(column))
            .alias(column)
        )
        .drop("_row")
    )


def test_valid_frame_passes(make_frame):
    assert len(bars(make_frame())) == 10


def test_empty_frame(make_frame):
    with pytest.raises(DataError, match="empty") as info:
        bars(make_frame().head(0))
    assert info.value.argument == "frame"


def test_missing_required_column(make_frame, names_in):
    with pytest.raises(DataError, match="missing required column") as info:
        bars(make_frame().drop("volume"))
    names_in(info.value, column="volume")


def test_non_numeric_price_column(make_frame, names_in):
    frame = make_frame().with_columns(pl.col("close").cast(pl.String))
    with pytest.raises(DataError, match="dtype String") as info:
        bars(frame)
    names_in(info.value, column="close", symbol="AAA", timestamp="2020-01-06T21:00:00+00:00")


def test_non_numeric_volume_column(make_frame, names_in):
    frame = make_frame().with_columns((pl.col("volume") > 0).alias("volume"))
    with pytest.raises(DataError, match="dtype Boolean") as info:
        bars(frame)
    names_in(info.value, column="volume", symbol="AAA", timestamp="2020-01-06T21:00:00+00:00")


def test_null_symbols(make_frame, names_in):
    with pytest.raises(DataError, match="null symbols in 2 rows") as info:
        bars(poison(make_frame(), "symbol", None))
    names_in(info.value, column="symbol", timestamp=FIRST)


def test_naive_timestamps_rejected_without_tz(make_frame, names_in):
    frame = make_frame().with_columns(pl.col("timestamp").dt.replace_time_zone(None))
    with pytest.raises(DataError, match="naive") as info:
        bars(frame)
    names_in(info.value, column="timestamp", symbol="AAA", timestamp="2020-01-06T21:00:00")
    assert "tz=" in str(info.value)


def test_null_timestamps(make_frame, names_in):
    with pytest.raises(DataError, match="null timestamps in 2 rows") as info:
        bars(poison(make_frame(), "timestamp", None))
    names_in(info.value, column="timestamp", symbol="AAA")
    assert "row 3" in str(info.value)


def test_unsorted_timestamps_within_symbol(make_frame, names_in):
    frame = make_frame()
    order = [0, 1, 3, 2, 4, 5, 6, 7, 8, 9]  # AAA's Jan 9 comes before its Jan 8
    with pytest.raises(DataError, match="strictly increasing") as info:
        bars(frame[order])
    names_in(info.value, column="timestamp", symbol="AAA", timestamp="2020-01-08T21:00:00+00:00")
    assert "1 row" in str(info.value) and "follows 2020-01-09" in str(info.value)


def test_symbols_may_be_interleaved_in_any_order(make_frame):
    frame = make_frame()
    interleaved = frame[[5, 0, 1, 6, 7, 2, 8, 3, 9, 4]]  # each symbol still in time order
    assert bars(interleaved).frame.equals(bars(frame).frame)


def test_duplicated_timestamp_symbol(make_frame, names_in):
    frame = make_frame()
    frame = poison(frame, "timestamp", frame["timestamp"][6], rows=(7,))  # BBB's Jan 8 becomes a second Jan 7
    with pytest.raises(DataError, match=r"duplicated \(timestamp, symbol\) in 2 rows") as info:
        bars(frame)
    names_in(info.value, column="timestamp", symbol="BBB", timestamp=FIRST)


@pytest.mark.parametrize("column", ["open", "high", "low", "close"])
@pytest.mark.parametrize("value", [math.nan, None, math.inf, -math.inf], ids=["nan", "null", "inf", "-inf"])
def test_non_finite_prices(make_frame, names_in, column, value):
    with pytest.raises(DataError, match=f"null, NaN or infinite {column} in 2 rows") as info:
        bars(poison(make_frame(), column, value))
    names_in(info.value, column=column, symbol="BBB", timestamp=FIRST)


@pytest.mark.parametrize("column", ["open", "high", "low", "close"])
@pytest.mark.parametrize("value", [0.0, -5.0])
def test_non_positive_prices(make_frame, names_in, column, value):
    with pytest.raises(DataError, match=f"non-positive {column} in 2 rows") as info:
        bars(poison(make_frame(), column, value))
    names_in(info.value, column=column, symbol="BBB", timestamp=FIRST)


def test_high_below_low(make_frame, names_in):
    frame = make_frame().with_columns(
        pl.when(pl.int_range(pl.len()).is_in([3, 6, 8]))
        .then(pl.col("low") - 0.5)
        .otherwise(pl.col("high"))
        .alias("high")
    )
    with pytest.raises(DataError, match="high < low in 3 rows") as info:
        bars(frame)
    names_in(info.value, column="high", symbol="BBB", timestamp=FIRST)


def test_open_outside_range(make_frame, names_in):
    frame = make_frame()
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()).is_in(POISONED))
        .then(pl.col("high") + 0.5)
        .otherwise(pl.col("open"))
        .alias("open")
    )
    with pytest.raises(DataError, match=r"open outside \[low, high\] in 2 rows") as info:
        bars(frame)
    names_in(info.value, column="open", symbol="BBB", timestamp=FIRST)


def test_close_outside_range(make_frame, names_in):
    frame = make_frame()
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()).is_in(POISONED))
        .then(pl.col("low") - 0.5)
        .otherwise(pl.col("close"))
        .alias("close")
    )
    with pytest.raises(DataError, match=r"close outside \[low, high\] in 2 rows") as info:
        bars(frame)
    names_in(info.value, column="close", symbol="BBB", timestamp=FIRST)


def test_negative_volume(make_frame, names_in):
    with pytest.raises(DataError, match="negative volume in 2 rows") as info:
        bars(poison(make_frame(), "volume", -1.0))
    names_in(info.value, column="volume", symbol="BBB", timestamp=FIRST)


@pytest.mark.parametrize("value", [math.nan, None], ids=["nan", "null"])
def test_nan_volume(make_frame, names_in, value):
    with pytest.raises(DataError, match="null, NaN or infinite volume in 2 rows") as info:
        bars(poison(make_frame(), "volume", value))
    names_in(info.value, column="volume", symbol="BBB", timestamp=FIRST)


def test_zero_volume_is_valid(make_frame):
    assert len(bars(poison(make_frame(), "volume", 0.0))) == 10


def test_errors_name_the_users_column(make_frame, names_in):
    frame = (
        make_frame()
        .rename({"timestamp": "Date", "close": "Close"})
        .with_columns(pl.col("Date").dt.replace_time_zone(None))
    )
    with pytest.raises(DataError) as info:
        bars(frame)
    names_in(info.value, column="Date", symbol="AAA")
    frame = make_frame().rename({"close": "Close"}).with_columns(pl.col("Close").cast(pl.String))
    with pytest.raises(DataError) as info:
        bars(frame)
    names_in(info.value, column="Close", symbol="AAA")


def test_tz_given_for_aware_column_is_config_error(make_frame):
    with pytest.raises(ConfigError, match="already tz-aware") as info:
        bars(make_frame(), tz="America/New_York")
    assert info.value.argument == "tz"


def test_unknown_tz(make_frame):
    frame = make_frame().with_columns(pl.col("timestamp").dt.replace_time_zone(None))
    with pytest.raises(ConfigError, match="unknown time zone") as info:
        bars(frame, tz="Mars/Olympus")
    assert info.value.argument == "tz"


def test_nonexistent_local_time_on_dst_change(make_frame, names_in):
    frame = make_frame(symbols=("AAA",), n=1).with_columns(
        pl.lit("2020-03-08 02:30:00").str.to_datetime(time_unit="ns").alias("timestamp")
    )
    with pytest.raises(DataError, match="DST") as info:
        bars(frame, tz="America/New_York")
    names_in(info.value, column="timestamp", symbol="AAA", timestamp="2020-03-08T02:30:00")


def test_symbol_argument_with_symbol_column(make_frame):
    with pytest.raises(ConfigError, match="symbol column") as info:
        bars(make_frame(), symbol="XYZ")
    assert info.value.argument == "symbol"


def test_ambiguous_timestamp_columns(make_frame):
    frame = make_frame().with_columns(pl.col("timestamp").alias("datetime"))
    with pytest.raises(DataError, match="ambiguous timestamp"):
        bars(frame)
    assert len(bars(frame, timestamp="datetime")) == 10


def test_no_timestamp_column(make_frame):
    with pytest.raises(DataError, match="no timestamp column"):
        bars(make_frame().rename({"timestamp": "when"}))
    assert len(bars(make_frame().rename({"timestamp": "when"}), timestamp="when")) == 10


def test_unparseable_timestamp_strings(make_frame):
    frame = make_frame().with_columns(pl.lit("yesterday").alias("timestamp"))
    with pytest.raises(DataError, match="cannot parse"):
        bars(frame, tz="UTC")


def test_arrival_before_event_in_given_column(make_frame, names_in):
    frame = make_frame().with_columns(
        pl.when(pl.int_range(pl.len()).is_in(POISONED))
        .then(pl.col("timestamp") - pl.duration(seconds=1))
        .otherwise(pl.col("timestamp"))
        .alias("ts_arrival")
    )
    with pytest.raises(DataError, match="ts_arrival is before ts_event in 2 rows") as info:
        bars(frame)
    names_in(info.value, column="ts_arrival", symbol="BBB", timestamp=FIRST)

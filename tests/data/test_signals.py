"""``ml4t.data.signals``: arrival times, embargo, the training-window leakage check, validation."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from ml4t import ConfigError, DataError, LeakageError
from ml4t._time import TS_DTYPE, to_ns
from ml4t.data import Signals, signals

UTC = dt.UTC
T0 = dt.datetime(2021, 3, 1, 21, tzinfo=UTC)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


@pytest.fixture
def preds() -> pl.DataFrame:
    """Two symbols, three daily predictions each, arriving 30 minutes after the event."""
    events = [T0 + i * DAY for i in range(3)]
    return pl.DataFrame(
        {
            "ts_event": events * 2,
            "symbol": ["AAA"] * 3 + ["BBB"] * 3,
            "ts_arrival": [t + HOUR / 2 for t in events] * 2,
            "pred": [0.1, 0.2, 0.3, -0.1, -0.2, -0.3],
        }
    ).with_columns(pl.col("ts_event", "ts_arrival").cast(TS_DTYPE))


def ns_times(values: list[int]) -> pl.Series:
    return pl.Series(values, dtype=pl.Int64).cast(TS_DTYPE)


def test_arrival_column(preds):
    s = signals(preds)
    assert s.frame.columns == ["ts_event", "ts_arrival", "symbol", "pred", "in_sample"]
    assert (s.frame["ts_arrival"] - s.frame["ts_event"]).unique().to_list() == [HOUR / 2]
    assert s.symbols == ["AAA", "BBB"] and s.columns == ["pred"] and len(s) == 6
    assert s.frame["in_sample"].sum() == 0


def test_arrival_column_under_another_name(preds):
    s = signals(preds.rename({"ts_arrival": "published"}), ts_arrival="published")
    assert s.frame["ts_arrival"].equals(signals(preds).frame["ts_arrival"])


@pytest.mark.parametrize("delay", ["0s", "15m", dt.timedelta(minutes=15), 0])
def test_arrival_as_delay(preds, delay):
    s = signals(preds.drop("ts_arrival"), ts_arrival=delay)
    expected = dt.timedelta(minutes=15) if delay not in ("0s", 0) else dt.timedelta(0)
    assert (s.frame["ts_arrival"] - s.frame["ts_event"]).unique().to_list() == [expected]


def test_missing_arrival_is_never_assumed(preds):
    with pytest.raises(DataError, match="ts_arrival=") as info:
        signals(preds.drop("ts_arrival"))
    assert "'0s'" in str(info.value)
    with pytest.raises(DataError, match="neither a column"):
        signals(preds.drop("ts_arrival"), ts_arrival="published")
    with pytest.raises(DataError, match="use one of them"):
        signals(preds, ts_arrival="0s")


def test_arrival_before_event(preds, names_in):
    bad = preds.with_columns(
        pl.when(pl.int_range(pl.len()).is_in([2, 4]))
        .then(pl.col("ts_event") - pl.duration(nanoseconds=1))
        .otherwise(pl.col("ts_arrival"))
        .alias("ts_arrival")
    )
    with pytest.raises(DataError, match="before ts_event in 2 rows") as info:
        signals(bad)
    names_in(info.value, column="ts_arrival", symbol="BBB", timestamp=(T0 + DAY).isoformat())


def test_embargo_shifts_every_arrival(preds):
    s = signals(preds, embargo="1h")
    assert (s.frame["ts_arrival"] - s.frame["ts_event"]).unique().to_list() == [HOUR + HOUR / 2]
    assert s.embargo == HOUR
    assert signals(preds).embargo == dt.timedelta(0)


def test_train_end_boundary_is_in_sample(names_in):
    cut = to_ns(T0) + 3_600_000_000_000  # train_end + 1h embargo
    frame = pl.DataFrame({"ts_event": ns_times([cut, cut + 1]), "symbol": ["AAA", "BBB"], "pred": [1.0, 2.0]})
    with pytest.raises(LeakageError, match="1 row with ts_event <= train_end \\+ embargo") as info:
        signals(frame, ts_arrival="0s", train_end=T0, embargo="1h")
    names_in(info.value, column="ts_event", symbol="AAA", timestamp=(T0 + HOUR).isoformat())
    assert (T0 + HOUR).isoformat() in info.value.message  # the cut
    out = signals(frame.tail(1), ts_arrival="0s", train_end=T0, embargo="1h")  # 1 ns after the cut
    assert len(out) == 1 and out.train_end == T0 and not out.frame["in_sample"].any()


def test_train_end_without_embargo_and_as_string(preds):
    with pytest.raises(LeakageError):
        signals(preds, train_end=T0.isoformat())
    assert len(signals(preds, train_end=(T0 - dt.timedelta(microseconds=1)).isoformat())) == 6
    with pytest.raises(ConfigError):
        signals(preds, train_end="2021-03-01T21:00:00")  # naive


def test_allow_in_sample_keeps_and_flags_rows(preds):
    s = signals(preds, train_end=T0 + DAY, allow_in_sample=True)
    flagged = s.frame.filter("in_sample")
    assert flagged.height == 4 and flagged["ts_event"].max() == T0 + DAY
    assert "in_sample_rows=4" in repr(s)


def test_duplicates(preds, names_in):
    with pytest.raises(DataError, match=r"duplicated \(symbol, ts_event, ts_arrival\) in 2 rows") as info:
        signals(pl.concat([preds, preds.slice(4, 1)]))
    names_in(info.value, column="ts_event", symbol="BBB", timestamp=(T0 + DAY).isoformat())
    revised = preds.slice(4, 1).with_columns((pl.col("ts_arrival") + HOUR).cast(TS_DTYPE), pl.lit(9.0).alias("pred"))
    assert len(signals(pl.concat([preds, revised]))) == 7  # a revision arriving later is fine


def test_value_columns_must_be_numeric_or_bool(preds):
    s = signals(preds.with_columns((pl.col("pred") > 0).alias("long"), pl.lit(3).alias("rank")))
    assert s.columns == ["pred", "long", "rank"]
    with pytest.raises(DataError, match="numeric or boolean") as info:
        signals(preds.with_columns(pl.lit("up").alias("label")))
    assert info.value.column == "label"
    with pytest.raises(DataError, match="no value columns"):
        signals(preds.drop("pred"))
    with pytest.raises(DataError, match="reserved"):
        signals(preds.with_columns(pl.lit(True).alias("in_sample")))


def test_canonical_order_is_arrival_then_event(preds):
    late = preds.slice(0, 1).with_columns((pl.col("ts_arrival") + 5 * DAY).cast(TS_DTYPE), pl.lit(0.9).alias("pred"))
    s = signals(pl.concat([late, preds.reverse()]))
    keys = s.frame.select("ts_arrival", "ts_event", "symbol")
    assert keys.equals(keys.sort("ts_arrival", "ts_event", "symbol"))
    assert s.frame["pred"][-1] == 0.9


def test_naive_times_need_tz(preds):
    naive = preds.with_columns(pl.col("ts_event", "ts_arrival").dt.replace_time_zone(None))
    with pytest.raises(DataError, match="naive") as info:
        signals(naive)
    assert info.value.column == "ts_event"
    assert signals(naive, tz="UTC").frame.equals(signals(preds).frame)


def test_custom_event_column_single_asset_and_pandas(preds):
    one = preds.filter(pl.col("symbol") == "AAA").drop("symbol").rename({"ts_event": "asof"})
    s = signals(one, ts_event="asof", symbol="AAA")
    assert s.symbols == ["AAA"] and s.columns == ["pred"]
    pdf = one.to_pandas().set_index("asof")
    assert signals(pdf, ts_event="asof", symbol="AAA").frame.equals(s.frame)
    unnamed = pdf.copy()
    unnamed.index.name = None
    assert signals(unnamed, symbol="AAA").frame.equals(s.frame)
    with pytest.raises(DataError, match="no ts_event column"):
        signals(one)


def test_signals_is_immutable(preds):
    s = signals(preds)
    with pytest.raises(AttributeError):
        s.foo = 1  # type: ignore[attr-defined]
    assert Signals(preds).frame.equals(s.frame)

"""``ml4t.data.PITData`` edge cases: the visibility boundary, short history, the clock, read-only arrays, and
signals arriving between bars, after the last bar, together, and out of order."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest

from ml4t import ConfigError, DataError
from ml4t._time import TS_DTYPE, to_ns
from ml4t.data import PITData, bars, signals

UTC = dt.UTC
T0 = dt.datetime(2020, 1, 6, 21, tzinfo=UTC)  # the fixture's first bar
DAY = dt.timedelta(days=1)


def ns(value: dt.datetime) -> int:
    return to_ns(value)


@pytest.fixture
def daily(make_frame):
    """AAA and BBB, five daily bars each (closes AAA 10.5..14.5, BBB 20.5..24.5), arriving 1 s late."""
    return bars(make_frame(), latency="1s")


def sig_frame(rows: list[tuple[str, dt.datetime, dt.datetime, float]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["symbol", "ts_event", "ts_arrival", "pred"], orient="row").with_columns(
        pl.col("ts_event", "ts_arrival").cast(TS_DTYPE)
    )


def test_arrival_equal_to_now_is_visible_one_ns_before_is_not(daily):
    arrival = ns(T0) + 1_000_000_000
    assert PITData(daily, now=arrival).latest("close", "AAA") == 10.5
    assert PITData(daily, now=arrival - 1).latest("close", "AAA") is None


def test_history_shorter_than_n(daily):
    pit = PITData(daily, now=T0 + 2 * DAY + dt.timedelta(seconds=1))
    assert pit.history("close", 10, "AAA").tolist() == [10.5, 11.5, 12.5]
    assert pit.history("close", 2, "BBB").tolist() == [21.5, 22.5]
    assert pit.times(10, "AAA").tolist() == [ns(T0 + i * DAY) for i in range(3)]
    assert {k: v.tolist() for k, v in pit.history("close", 1).items()} == {"AAA": [12.5], "BBB": [22.5]}


def test_nothing_visible_yet(daily):
    pit = PITData(daily, now=T0)
    assert pit.latest("close", "AAA") is None
    assert np.isnan(pit.latest("close")).all()
    assert pit.history("close", 5, "AAA").size == 0 and pit.times(5, "AAA").size == 0
    assert pit.frame().height == 0


def test_symbol_with_no_visible_bar_while_others_have(make_frame):
    frame = make_frame().filter((pl.col("symbol") == "AAA") | (pl.col("open") >= 22.0))  # BBB starts on day 3
    pit = PITData(bars(frame), now=T0 + DAY)
    latest = pit.latest("close")
    assert pit.symbols == ["AAA", "BBB"] and latest[0] == 11.5 and math.isnan(latest[1])
    assert pit.latest("close", "BBB") is None and pit.history("close", 3, "BBB").size == 0
    pit.advance_to(T0 + 2 * DAY)
    assert pit.latest("close", "BBB") == 22.5


def test_advancing(daily):
    pit = PITData(daily, now=T0)
    pit.advance_to(T0 + DAY + dt.timedelta(seconds=1))
    assert pit.latest("close", "AAA") == 11.5 and pit.now == T0 + DAY + dt.timedelta(seconds=1)
    pit.advance_to(pit.now)  # equal: a no-op
    with pytest.raises(ConfigError, match="forward") as info:
        pit.advance_to(T0)
    assert info.value.argument == "ts" and info.value.timestamp == ns(T0)
    assert pit.latest("close", "AAA") == 11.5


def test_returned_arrays_are_read_only(daily):
    pit = PITData(daily, now=T0 + 4 * DAY + dt.timedelta(seconds=1))
    for array in (
        pit.history("close", 3, "AAA"),
        pit.times(3, "AAA"),
        pit.latest("close"),
        pit.history("open", 2)["BBB"],
    ):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 0.0
    view = pit.history("close", 3, "AAA")
    with pytest.raises(ValueError, match="WRITEABLE"):
        view.flags.writeable = True


def test_unknown_symbol_field_and_bad_n(daily):
    pit = PITData(daily, now=T0 + DAY)
    with pytest.raises(DataError, match="unknown symbol") as info:
        pit.latest("close", "ZZZ")
    assert info.value.symbol == "ZZZ"
    with pytest.raises(DataError, match="unknown bar field") as info:
        pit.history("vwap", 3, "AAA")
    assert info.value.column == "vwap"
    with pytest.raises(DataError):
        pit.latest("ts_arrival")
    for n in (0, -1, 2.5, True):
        with pytest.raises(ConfigError):
            pit.history("close", n, "AAA")  # type: ignore[arg-type]


def test_frame_is_the_visible_bars(daily):
    pit = PITData(daily, now=T0 + DAY + dt.timedelta(seconds=1))
    assert pit.frame().height == 4 and pit.frame("BBB")["close"].to_list() == [20.5, 21.5]
    assert (pit.frame()["ts_arrival"] <= pit.now).all()


def test_signals_arriving_between_bars_and_after_the_last_bar(daily):
    noon = dt.timedelta(hours=3)  # 21:00 + 3h: between two daily bars
    sig = signals(
        sig_frame(
            [
                ("AAA", T0, T0 + noon, 1.0),
                ("AAA", T0 + 4 * DAY, T0 + 10 * DAY, 2.0),  # long after the last bar
            ]
        )
    )
    pit = PITData(daily, sig, now=T0 + noon - dt.timedelta(microseconds=1))
    assert pit.signal("pred", "AAA") is None and pit.signal_history("pred", 5, "AAA").size == 0
    pit.advance_to(T0 + noon)
    assert pit.signal("pred", "AAA") == 1.0
    pit.advance_to(T0 + 9 * DAY)
    assert pit.signal("pred", "AAA") == 1.0 and pit.latest("close", "AAA") == 14.5
    pit.advance_to(T0 + 10 * DAY)
    assert pit.signal("pred", "AAA") == 2.0
    assert pit.signal_history("pred", 5, "AAA").tolist() == [1.0, 2.0]
    assert pit.signal("pred", "BBB") is None  # a bar symbol without signals


def test_several_predictions_arriving_at_once(daily):
    at = T0 + DAY + dt.timedelta(hours=2)
    sig = signals(sig_frame([("AAA", T0 + DAY, at, 0.3), ("AAA", T0 - DAY, at, 0.1), ("AAA", T0, at, 0.2)]))
    pit = PITData(daily, sig, now=at)
    assert pit.signal("pred", "AAA") == 0.3  # the greatest ts_event wins
    assert pit.signal_history("pred", 10, "AAA").tolist() == [0.1, 0.2, 0.3]  # ties on arrival: by ts_event


def test_out_of_order_arrival_does_not_replace_fresher_value(daily):
    sig = signals(
        sig_frame(
            [
                ("AAA", T0 + DAY, T0 + DAY, 0.5),  # fresh
                ("AAA", T0, T0 + 2 * DAY, 0.9),  # a late revision about an older event
                ("AAA", T0 + DAY, T0 + 3 * DAY, 0.7),  # a revision of the freshest event: replaces it
            ]
        )
    )
    pit = PITData(daily, sig, now=T0 + DAY)
    assert pit.signal("pred", "AAA") == 0.5
    pit.advance_to(T0 + 2 * DAY)
    assert pit.signal("pred", "AAA") == 0.5
    assert pit.signal_history("pred", 1, "AAA").tolist() == [0.9]  # arrival order
    pit.advance_to(T0 + 3 * DAY)
    assert pit.signal("pred", "AAA") == 0.7


def test_signal_only_symbol_and_errors(daily):
    sig = signals(sig_frame([("SPX", T0, T0, 4.0)]))
    pit = PITData(daily, sig, now=T0)
    assert pit.signal("pred", "SPX") == 4.0 and pit.symbols == ["AAA", "BBB"]
    with pytest.raises(DataError, match="unknown signal column") as info:
        pit.signal("alpha", "SPX")
    assert info.value.column == "alpha"
    with pytest.raises(DataError, match="unknown symbol") as info:
        pit.signal("pred", "ZZZ")
    assert info.value.symbol == "ZZZ"
    with pytest.raises(DataError, match="unknown signal column"):
        PITData(daily, now=T0).signal("pred", "AAA")
    with pytest.raises(ValueError, match="read-only"):
        pit.signal_history("pred", 1, "SPX")[0] = 1.0


def test_a_missing_signal_value_reads_as_none_like_no_value_yet(daily):
    """One convention with ``align_signals`` (null): a visible row whose value is null or NaN reads as None,
    as before any row arrived; ``signal_history`` (an array) keeps NaN."""
    for missing in (None, float("nan")):
        frame = sig_frame([("AAA", T0, T0, 1.0)]).with_columns(pl.lit(missing, dtype=pl.Float64).alias("pred"))
        pit = PITData(daily, signals(frame), now=T0)
        assert pit.signal("pred", "AAA") is None
        assert math.isnan(pit.signal_history("pred", 1, "AAA")[0])


def test_constructor_checks(daily):
    with pytest.raises(ConfigError):
        PITData(daily.frame, now=T0)  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        PITData(daily, now=dt.datetime(2020, 1, 1))  # noqa: DTZ001
    pit = PITData(daily, now=T0.isoformat())
    assert pit.now_ns == ns(T0) and "PITData(now=2020-01-06T21:00:00+00:00" in repr(pit)

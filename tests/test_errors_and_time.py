import datetime as dt

import pytest

import ml4t
from ml4t._time import format_duration, format_ns, from_ns, parse_duration, to_ns


def test_hierarchy_is_rooted_at_ml4t_error():
    for cls in (ml4t.DataError, ml4t.LeakageError, ml4t.ConfigError, ml4t.OrderError, ml4t.LintError):
        assert issubclass(cls, ml4t.Ml4tError)
    assert issubclass(ml4t.DataError, ValueError)


def test_error_message_names_its_context():
    err = ml4t.DataError("high < low in 2 rows", argument="frame", column="high", symbol="AAPL", timestamp=0)
    assert str(err) == (
        "high < low in 2 rows [argument 'frame', column 'high', symbol 'AAPL', first at 1970-01-01T00:00:00+00:00]"
    )
    assert (err.column, err.symbol, err.timestamp) == ("high", "AAPL", 0)
    assert str(ml4t.DataError("plain")) == "plain"


def test_to_ns_round_trips_and_rejects_naive():
    t = dt.datetime(2024, 3, 1, 14, 30, 0, 123456, tzinfo=dt.UTC)
    assert from_ns(to_ns(t)) == t
    assert to_ns("2024-03-01T09:30:00.123456-05:00") == to_ns(t)
    assert to_ns(5) == 5
    with pytest.raises(ml4t.ConfigError, match="naive"):
        to_ns(dt.datetime(2024, 3, 1))  # noqa: DTZ001 - naive on purpose
    with pytest.raises(ml4t.ConfigError, match="cannot parse"):
        to_ns("yesterday")


def test_format_ns_keeps_nanoseconds():
    assert format_ns(1) == "1970-01-01T00:00:00.000000001+00:00"
    assert format_ns(1_500) == "1970-01-01T00:00:00.000001500+00:00"
    assert format_ns(86_400 * 10**9) == "1970-01-02T00:00:00+00:00"


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("250ms", 250_000_000),
        ("5m", 300 * 10**9),
        ("5min", 300 * 10**9),
        ("1h", 3_600 * 10**9),
        ("1d", 86_400 * 10**9),
        ("0s", 0),
        ("1.5s", 1_500_000_000),
        (dt.timedelta(minutes=1), 60 * 10**9),
    ],
)
def test_parse_duration(text, ns):
    assert parse_duration(text) == ns


@pytest.mark.parametrize("bad", ["-1s", "5 parsecs", "", -3, True])
def test_parse_duration_rejects(bad):
    with pytest.raises(ml4t.ConfigError, match="argument 'embargo'"):
        parse_duration(bad, argument="embargo")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (dt.timedelta(days=1), "1d"),
        (dt.timedelta(weeks=2), "2w"),
        (60 * 10**9, "1m"),
        (90 * 10**9, "90s"),
        (250_000_000, "250ms"),
        (1, "1ns"),
        (0, "0s"),
        (None, "None"),
    ],
)
def test_format_duration(value, text):
    assert format_duration(value) == text
    if value:
        assert parse_duration(text) == parse_duration(value)


def test_replace_keeps_the_class_and_the_other_context():
    err = ml4t.LeakageError("too early", argument="signals", column="ts_event", symbol="X", timestamp=0)
    moved = err.replace(column="Date", message="prices.csv: too early")
    assert type(moved) is ml4t.LeakageError
    assert (moved.argument, moved.column, moved.symbol, moved.timestamp) == ("signals", "Date", "X", 0)
    assert str(moved).startswith("prices.csv: too early [argument 'signals', column 'Date'")

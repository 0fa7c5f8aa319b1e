"""Calendar lengths in the splitters and labels: ``"6mo"``, ``"3y"`` (a month is not a fixed duration)."""

import datetime as dt

import polars as pl
import pytest

from ml4t.errors import ConfigError
from ml4t.validate import forward_returns, walk_forward
from ml4t.validate._timeline import parse_length

UTC = dt.UTC


def _daily(start: dt.date, end: dt.date) -> pl.DataFrame:
    days = pl.date_range(start, end, "1d", eager=True)
    ts = days.cast(pl.Datetime("ns")).dt.replace_time_zone("UTC") + dt.timedelta(hours=21)
    return pl.DataFrame({"ts_event": ts, "ts_arrival": ts, "close": range(1, len(ts) + 1)}).with_columns(
        pl.col("close").cast(pl.Float64)
    )


def test_parse_length_reads_months_and_years():
    assert (parse_length("6mo", argument="x").kind, parse_length("6mo", argument="x").value) == ("months", 6)
    assert parse_length("3y", argument="x").value == 36 and str(parse_length("3y", argument="x")) == "3y"
    assert str(parse_length("18mo", argument="x")) == "18mo"
    with pytest.raises(ConfigError, match="positive length") as info:
        parse_length("0mo", argument="test")
    assert info.value.argument == "test"


def test_walk_forward_blocks_start_on_the_calendar_grid():
    data = _daily(dt.date(2019, 1, 31), dt.date(2021, 12, 31))
    splits = walk_forward(data, train="1y", test="6mo", mode="expanding")
    # test blocks start 1y after the first day, then every 6 calendar months from there (never drifting to
    # the 28th after February: each start is counted from the first), and end before the next one
    starts = [s.test_start for s in splits]
    expected = [dt.datetime(y, m, d, 21, tzinfo=UTC) for y, m, d in [(2020, 1, 31), (2020, 7, 31), (2021, 1, 31)]]
    assert starts == expected
    assert [s.test_end for s in splits] == [
        dt.datetime(2020, 7, 30, 21, tzinfo=UTC),
        dt.datetime(2021, 1, 30, 21, tzinfo=UTC),
        dt.datetime(2021, 7, 30, 21, tzinfo=UTC),
    ]
    rolling = walk_forward(data, train="6mo", test="3mo")
    first = rolling[0]
    assert first.train_start == dt.datetime(2019, 1, 31, 21, tzinfo=UTC)
    assert first.test_start == dt.datetime(2019, 7, 31, 21, tzinfo=UTC)
    assert rolling[1].train_start == dt.datetime(2019, 4, 30, 21, tzinfo=UTC)  # 6 months before Oct 31: Apr 30


def test_a_calendar_purge_and_label_horizon():
    data = _daily(dt.date(2020, 1, 1), dt.date(2020, 12, 31))
    labels = forward_returns(data, "1mo")
    row = labels.filter(pl.col("ts_event") == dt.datetime(2020, 1, 31, 21, tzinfo=UTC)).row(0, named=True)
    assert row["label_end"] == dt.datetime(2020, 2, 29, 21, tzinfo=UTC)  # clamped to the month's last day
    assert row["label"] == pytest.approx(60.0 / 31.0 - 1.0)  # close is the day number: Feb 29 is day 60
    splits = walk_forward(data, train="3mo", test="1mo", purge="1mo")
    for split in splits:
        # every kept training row's one-month label ended before the test block began
        last = data["ts_event"][int(split.train[-1])]
        assert last.month + 1 + 12 * last.year <= split.test_start.month + 12 * split.test_start.year
        assert split.purged > 0

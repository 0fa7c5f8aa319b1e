"""``ml4t.data.load_bars`` on small files written into ``tmp_path`` (never the shared sample data)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ml4t import ConfigError, DataError
from ml4t.data import bars, load_bars

UTC = dt.UTC

YAHOO = """Date,Open,High,Low,Close,Adj Close,Volume
1999-01-22,1.750000,1.953125,1.552083,1.640625,1.518424,67867200
1999-01-25,1.770833,1.833333,1.640625,1.812500,1.677496,12762000
1999-01-26,1.833333,1.869792,1.645833,1.671875,1.547346,8580000
"""

MINUTES = """Date,Open,High,Low,Close,Volume,OpenInterest
2006-01-02,09:01:00,3602.00,3603.00,3597.00,3599.00,5699,0
2006-01-02,09:02:00,3600.00,3601.00,3598.00,3599.00,894,0
2006-01-02,09:03:00,3599.00,3602.00,3598.00,3600.00,883,0
"""


@pytest.fixture
def yahoo(tmp_path: Path) -> Path:
    path = tmp_path / "nvda.csv"
    path.write_text(YAHOO)
    return path


def test_yahoo_csv(yahoo):
    b = load_bars(yahoo, tz="America/New_York")
    assert b.symbols == ["nvda"]
    assert b.frame.columns[-1] == "adj_close"
    assert b.frame["ts_event"][0] == dt.datetime(1999, 1, 22, 5, tzinfo=UTC)  # local midnight, EST
    assert b.frame["close"].to_list() == [1.640625, 1.8125, 1.671875]
    closed = load_bars(yahoo, tz="America/New_York", session_close="16:00", symbol="NVDA")
    assert closed.frame["ts_event"][0] == dt.datetime(1999, 1, 22, 21, tzinfo=UTC)
    assert closed.symbols == ["NVDA"]


def test_yahoo_csv_needs_tz(yahoo):
    with pytest.raises(DataError, match="date-only") as info:
        load_bars(yahoo)
    assert "nvda.csv" in str(info.value) and info.value.column == "Date"


def test_adjust_multiplies_prices_by_adj_close_ratio(yahoo):
    raw = load_bars(yahoo, tz="America/New_York").frame
    adjusted = load_bars(yahoo, tz="America/New_York", adjust=True).frame
    factor = raw["adj_close"] / raw["close"]
    for name in ("open", "high", "low", "close"):
        assert (adjusted[name] - raw[name] * factor).abs().max() < 1e-12
    assert adjusted["close"].to_list() == pytest.approx([1.518424, 1.677496, 1.547346], rel=1e-12)
    assert adjusted["volume"].equals(raw["volume"])


def test_adjust_without_adj_close_is_config_error(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("Date,Open,High,Low,Close,Volume\n2020-01-02,1,2,0.5,1.5,10\n")
    with pytest.raises(ConfigError, match="Adj Close") as info:
        load_bars(path, tz="UTC", adjust=True)
    assert info.value.argument == "adjust"


def test_split_date_time_minute_format(tmp_path):
    path = tmp_path / "fdax-min.txt"
    path.write_text(MINUTES)
    b = load_bars(path, tz="Europe/Berlin")
    assert b.symbols == ["fdax-min"]
    assert b.frame["ts_event"].to_list()[:2] == [
        dt.datetime(2006, 1, 2, 8, 1, tzinfo=UTC),
        dt.datetime(2006, 1, 2, 8, 2, tzinfo=UTC),
    ]
    assert b.frame.columns[-1] == "open_interest"
    assert b.frame["volume"].to_list() == [5699.0, 894.0, 883.0]
    assert b.freq == dt.timedelta(minutes=1)


def test_parquet_round_trip(tmp_path, make_frame):
    original = bars(make_frame(), latency="1s")
    path = tmp_path / "bars.parquet"
    original.frame.write_parquet(path)
    assert load_bars(path).frame.equals(original.frame)
    raw = tmp_path / "raw.pq"
    make_frame().write_parquet(raw)
    assert load_bars(raw).frame.equals(bars(make_frame()).frame)


def test_format_argument_overrides_suffix(tmp_path):
    path = tmp_path / "data.dat"
    path.write_text(YAHOO)
    with pytest.raises(ConfigError, match="format"):
        load_bars(path, tz="UTC")
    assert len(load_bars(path, format="csv", tz="UTC")) == 3


def test_missing_file_names_the_path(tmp_path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(DataError, match=r"nope\.csv") as info:
        load_bars(missing)
    assert info.value.argument == "path"


def test_validation_errors_name_the_file(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("Date,Open,High,Low,Close,Volume\n2020-01-02,1,2,3,1.5,10\n")
    with pytest.raises(DataError, match=r"bad.csv: high < low in 1 row") as info:
        load_bars(path, tz="UTC")
    assert info.value.symbol == "bad" and info.value.column == "High"

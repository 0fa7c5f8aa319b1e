"""``ml4t.data.load_bars`` on small files written into ``tmp_path`` (never the shared sample data)."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# ------------------------------------------------------------------------ several files, a glob pattern
def _ohlc_csv(path: Path, days: list[str], base: float) -> Path:
    rows = [f"{d},{base + i},{base + i + 1},{base + i - 0.5},{base + i + 0.5},{100 + i}" for i, d in enumerate(days)]
    path.write_text("Date,Open,High,Low,Close,Volume\n" + "\n".join(rows) + "\n")
    return path


JAN = ["2021-01-04", "2021-01-05", "2021-01-06", "2021-01-07"]


def test_a_list_of_files_names_each_symbol_by_its_file(tmp_path):
    a = _ohlc_csv(tmp_path / "aaa.csv", JAN, 10.0)
    b = _ohlc_csv(tmp_path / "bbb.csv", JAN[1:3], 50.0)  # lists a day later, delists two days early
    loaded = load_bars([b, str(a)], tz="UTC")
    assert loaded.symbols == ["aaa", "bbb"]
    single = {name: load_bars(path, tz="UTC").frame for name, path in (("aaa", a), ("bbb", b))}
    # the same rows as each file alone, in the canonical (ts_event, symbol) order, nothing added
    expected = pl.concat(single.values()).sort("ts_event", "symbol")
    assert loaded.frame.equals(expected)
    counts = dict(loaded.frame.group_by("symbol").len().iter_rows())
    assert counts == {"aaa": 4, "bbb": 2}


def test_a_glob_pattern_loads_the_matching_files_in_sorted_order(tmp_path):
    for name, base in (("msft", 1.0), ("aapl", 2.0), ("goog", 3.0)):
        _ohlc_csv(tmp_path / f"{name}.csv", JAN, base)
    (tmp_path / "notes.txt").write_text("not bars")
    loaded = load_bars(str(tmp_path / "*.csv"), tz="UTC")
    assert loaded.symbols == ["aapl", "goog", "msft"]
    assert loaded.frame.filter(pl.col("symbol") == "goog")["open"].to_list() == [3.0, 4.0, 5.0, 6.0]


def test_a_recursive_glob_and_parquet_files(tmp_path):
    (tmp_path / "x").mkdir()
    single = load_bars(_ohlc_csv(tmp_path / "x" / "ccc.csv", JAN, 7.0), tz="UTC")
    single.frame.drop("ts_arrival", "ts_start").write_parquet(tmp_path / "x" / "ccc.parquet")
    _ohlc_csv(tmp_path / "ddd.csv", JAN, 8.0)
    loaded = load_bars(str(tmp_path / "**" / "*.parquet"))
    keys = ("ts_event", "symbol", "open", "close")
    assert loaded.symbols == ["ccc"] and loaded.frame.select(keys).equals(single.frame.select(keys))


def test_an_empty_glob_is_an_error_naming_the_pattern(tmp_path):
    pattern = str(tmp_path / "*.parquet")
    with pytest.raises(DataError, match="no file matches") as info:
        load_bars(pattern)
    assert pattern in str(info.value) and info.value.argument == "path"


def test_an_existing_file_with_glob_characters_in_its_name_is_that_file(tmp_path):
    path = _ohlc_csv(tmp_path / "odd[1].csv", JAN, 5.0)
    assert load_bars(str(path), tz="UTC").symbols == ["odd[1]"]


def test_a_symbol_in_two_files_is_an_error_naming_both(tmp_path):
    _ohlc_csv(tmp_path / "spy.csv", JAN, 1.0)
    (tmp_path / "more").mkdir()
    _ohlc_csv(tmp_path / "more" / "spy.csv", JAN, 1.0)
    with pytest.raises(DataError, match="two files") as info:
        load_bars([tmp_path / "spy.csv", tmp_path / "more" / "spy.csv"], tz="UTC")
    message = str(info.value)
    assert info.value.symbol == "spy" and str(tmp_path / "more" / "spy.csv") in message
    assert str(tmp_path / "spy.csv") in message


def test_an_error_in_one_file_names_that_file(tmp_path):
    _ohlc_csv(tmp_path / "good.csv", JAN, 1.0)
    bad = tmp_path / "bad.csv"
    bad.write_text("Date,Open,High,Low,Close,Volume\n2021-01-04,1,2,0.5,3,10\n")  # close above high
    with pytest.raises(DataError, match="close outside") as info:
        load_bars(str(tmp_path / "*.csv"), tz="UTC")
    assert str(info.value).startswith("bad.csv: ") and info.value.symbol == "bad"


def test_symbol_with_several_files_is_a_config_error(tmp_path):
    files = [_ohlc_csv(tmp_path / f"{n}.csv", JAN, 1.0) for n in ("a", "b")]
    with pytest.raises(ConfigError, match="file name") as info:
        load_bars(files, tz="UTC", symbol="X")
    assert info.value.argument == "symbol"
    assert load_bars(files[:1], tz="UTC", symbol="X").symbols == ["X"]  # one file in a list: as one file


@pytest.mark.parametrize(
    ("path", "error", "match"),
    [([], ConfigError, "empty list"), ([1], ConfigError, "file paths"), (3, ConfigError, "glob pattern")],
)
def test_bad_path_arguments(path, error, match):
    with pytest.raises(error, match=match) as info:
        load_bars(path)
    assert info.value.argument == "path"


def test_the_same_file_listed_twice_is_a_config_error(tmp_path):
    a = _ohlc_csv(tmp_path / "a.csv", JAN, 1.0)
    with pytest.raises(ConfigError, match="listed twice"):
        load_bars([a, tmp_path / "." / "a.csv"], tz="UTC")


def test_close_only_files_cannot_be_mixed_with_ohlc_files(tmp_path):
    _ohlc_csv(tmp_path / "full.csv", JAN, 1.0)
    (tmp_path / "thin.csv").write_text("Date,Close\n2021-01-04,3\n2021-01-05,4\n")
    with pytest.raises(DataError, match="close prices only") as info:
        load_bars(str(tmp_path / "*.csv"), tz="UTC")
    assert "thin.csv" in str(info.value) and "full.csv" in str(info.value)
    thin = load_bars(tmp_path / "thin.csv", tz="UTC")
    assert thin.close_only


def test_files_with_different_extra_columns_are_put_together_with_nulls(tmp_path):
    _ohlc_csv(tmp_path / "a.csv", JAN[:2], 1.0)
    (tmp_path / "b.csv").write_text("Date,Open,High,Low,Close,Volume,Adj Close\n2021-01-04,1,2,0.5,1.5,10,1.4\n")
    loaded = load_bars(str(tmp_path / "*.csv"), tz="UTC")
    assert loaded.frame.filter(pl.col("symbol") == "a")["adj_close"].null_count() == 2
    assert loaded.frame.filter(pl.col("symbol") == "b")["adj_close"].to_list() == [1.4]


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.lists(st.booleans(), min_size=6, max_size=6).filter(any),
        min_size=1,
        max_size=5,
    )
)
def test_files_per_symbol_load_as_the_long_frame_of_all_of_them(listed):
    """Each symbol's bars (listed on some of six days) in its own file: the glob gives the bars of the long frame
    holding every file's rows, whatever the symbols' listing dates."""
    days = [f"2021-01-{d:02d}" for d in range(4, 10)]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for j, present in enumerate(listed):
            mine = [d for d, on in zip(days, present, strict=True) if on]
            _ohlc_csv(Path(folder) / f"s{j}.csv", mine, 10.0 * (j + 1))
            rows += [(d, f"s{j}", 10.0 * (j + 1) + i) for i, d in enumerate(mine)]
        loaded = load_bars(str(Path(folder) / "s*.csv"), tz="UTC")
    long = pl.DataFrame(rows, schema=["date", "symbol", "open"], orient="row").with_columns(
        (pl.col("open") + 1).alias("high"),
        (pl.col("open") - 0.5).alias("low"),
        (pl.col("open") + 0.5).alias("close"),
        pl.lit(100.0).alias("volume"),
    )
    expected = bars(long, tz="UTC")
    keys = ["ts_event", "ts_arrival", "symbol", "open", "high", "low", "close"]
    assert loaded.symbols == expected.symbols == [f"s{j}" for j in range(len(listed))]
    assert loaded.frame.select(keys).equals(expected.frame.select(keys))


def test_wide_files_name_their_symbols_by_their_columns(tmp_path):
    (tmp_path / "tech.csv").write_text("Date,AAPL,MSFT\n2021-01-04,10,20\n2021-01-05,11,\n")
    (tmp_path / "energy.csv").write_text("Date,XOM\n2021-01-05,50\n")
    loaded = load_bars(str(tmp_path / "*.csv"), tz="UTC")
    assert loaded.symbols == ["AAPL", "MSFT", "XOM"] and loaded.close_only
    assert dict(loaded.frame.group_by("symbol").len().iter_rows()) == {"AAPL": 2, "MSFT": 1, "XOM": 1}
    (tmp_path / "more.csv").write_text("Date,MSFT\n2021-01-06,21\n")
    with pytest.raises(DataError, match="two files") as info:
        load_bars(str(tmp_path / "*.csv"), tz="UTC")
    assert info.value.symbol == "MSFT"

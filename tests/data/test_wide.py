"""``ml4t.data.bars`` of a wide date x symbol frame of closes (skfolio, yfinance, vectorbt): every value cell
is one close-only bar, a missing cell (null or NaN) is no bar, and a frame that is neither long nor wide is
refused naming its columns."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ml4t import ConfigError, DataError
from ml4t.data import bars

UTC = dt.UTC
DAYS = [dt.datetime(2021, 3, 1, tzinfo=UTC) + dt.timedelta(days=i) for i in range(5)]


def _cells(frame: pl.DataFrame) -> list[tuple[dt.datetime, str, float]]:
    return list(frame.select("ts_event", "symbol", "close").iter_rows())


def test_a_pandas_frame_of_closes_is_read_as_wide_bars_with_missing_cells_as_no_bar():
    index = pd.date_range("2021-03-01", periods=5, freq="D", name="Date")
    wide = pd.DataFrame(
        {"AAPL": [1.0, 2.0, np.nan, 4.0, 5.0], "BRK.B": [np.nan, np.nan, 30.0, 40.0, np.nan]}, index=index
    )
    b = bars(wide, tz="UTC")
    assert b.symbols == ["AAPL", "BRK.B"]  # column names are the symbols, exactly as spelt
    assert b.close_only
    assert _cells(b.frame) == [
        (DAYS[0], "AAPL", 1.0),
        (DAYS[1], "AAPL", 2.0),
        (DAYS[2], "BRK.B", 30.0),
        (DAYS[3], "AAPL", 4.0),
        (DAYS[3], "BRK.B", 40.0),
        (DAYS[4], "AAPL", 5.0),
    ]
    # nothing invented: the open, high, low and volume the data does not have are nulls
    for name in ("open", "high", "low", "volume"):
        assert b.frame[name].null_count() == len(b)


def test_a_polars_wide_frame_treats_null_and_nan_alike():
    wide = pl.DataFrame({"date": [d.date() for d in DAYS[:3]], "X": [1.0, None, 3.0], "Y": [float("nan"), 2, 3.0]})
    b = bars(wide, tz="UTC")
    assert _cells(b.frame) == [(DAYS[0], "X", 1.0), (DAYS[1], "Y", 2.0), (DAYS[2], "X", 3.0), (DAYS[2], "Y", 3.0)]


def test_a_wide_frame_equals_the_long_close_only_frame_of_its_cells():
    wide = pl.DataFrame({"timestamp": DAYS[:3], "A": [1.0, 2.0, None], "B": [None, 5.0, 6.0]})
    long = pl.DataFrame(
        {"timestamp": [DAYS[0], DAYS[1], DAYS[1], DAYS[2]], "symbol": ["A", "A", "B", "B"], "close": [1.0, 2, 5, 6]}
    )
    assert bars(wide).fingerprint() == bars(long).fingerprint()


def test_wide_close_reads_tickers_named_like_price_columns():
    wide = pl.DataFrame({"timestamp": DAYS[:2], "LOW": [1.0, 2.0], "OPEN": [3.0, 4.0]})
    with pytest.raises(DataError, match="wide='close'"):
        bars(wide)  # LOW and OPEN look like a long frame's columns: not guessed
    b = bars(wide, wide="close")
    assert b.symbols == ["LOW", "OPEN"]
    assert b.frame.filter(pl.col("symbol") == "OPEN")["close"].to_list() == [3.0, 4.0]


def test_a_frame_that_is_neither_long_nor_wide_names_its_columns():
    odd = pl.DataFrame({"timestamp": DAYS[:2], "A": [1.0, 2.0], "sector": ["tech", "tech"]})
    with pytest.raises(DataError, match=r"neither long bars .* nor a wide") as info:
        bars(odd)
    assert "sector" in str(info.value) and info.value.column == "sector"
    with pytest.raises(DataError, match="not numeric"):
        bars(odd, wide="close")


def test_a_wide_frame_without_a_timestamp_is_refused_naming_its_columns():
    with pytest.raises(DataError, match="timestamp") as info:
        bars(pl.DataFrame({"A": [1.0], "B": [2.0]}), wide="close")
    assert "['A', 'B']" in str(info.value)


def test_symbol_with_a_wide_frame_is_a_config_error():
    with pytest.raises(ConfigError, match="wide") as info:
        bars(pl.DataFrame({"timestamp": DAYS[:1], "A": [1.0]}), symbol="A")
    assert info.value.argument == "symbol"


def test_wide_takes_closes_only():
    with pytest.raises(ConfigError, match="wide must be 'close'") as info:
        bars(pl.DataFrame({"timestamp": DAYS[:1], "A": [1.0]}), wide="open")  # type: ignore[arg-type]
    assert info.value.argument == "wide"


def test_a_column_without_any_value_is_refused_naming_the_symbol():
    wide = pl.DataFrame({"timestamp": DAYS[:2], "A": [1.0, 2.0], "DEAD": [None, float("nan")]})
    with pytest.raises(DataError, match="no value") as info:
        bars(wide)
    assert info.value.symbol == "DEAD"


def test_unsorted_dates_in_a_wide_frame_are_refused_not_reordered():
    wide = pl.DataFrame({"timestamp": [DAYS[1], DAYS[0]], "A": [1.0, 2.0]})
    with pytest.raises(DataError, match="strictly increasing") as info:
        bars(wide)
    assert info.value.symbol == "A"


def test_bad_closes_in_a_wide_frame_name_symbol_and_timestamp():
    wide = pl.DataFrame({"timestamp": DAYS[:3], "A": [1.0, 2.0, 3.0], "B": [1.0, -2.0, 3.0]})
    with pytest.raises(DataError, match="non-positive close") as info:
        bars(wide)
    assert info.value.symbol == "B" and "2021-03-02" in str(info.value)


@settings(max_examples=40, deadline=None)
@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=6),
        elements=st.one_of(st.just(math.nan), st.floats(0.5, 500.0)),
    )
)
def test_every_value_cell_is_one_bar_and_every_missing_cell_none(matrix):
    n_bars, n_symbols = matrix.shape
    names = [f"S{j}" for j in range(n_symbols)]
    wide = pl.DataFrame({"timestamp": [DAYS[0] + dt.timedelta(days=i) for i in range(n_bars)]})
    wide = wide.with_columns(pl.Series(name, matrix[:, j]) for j, name in enumerate(names))
    listed = [name for j, name in enumerate(names) if not np.isnan(matrix[:, j]).all()]
    if not listed or len(listed) < n_symbols:
        with pytest.raises(DataError):
            bars(wide)
        return
    b = bars(wide)
    expected = sorted(
        (DAYS[0] + dt.timedelta(days=i), names[j], float(matrix[i, j]))
        for i in range(n_bars)
        for j in range(n_symbols)
        if not np.isnan(matrix[i, j])
    )
    assert _cells(b.frame) == expected
    # the panel has the same cells on the timeline of the bars that exist; NaN where a symbol has no bar
    panel = b.panel()
    kept = [i for i in range(n_bars) if not np.isnan(matrix[i]).all()]
    np.testing.assert_array_equal(panel.close, matrix[kept].T)
    assert np.isnan(panel.open).all() and np.isnan(panel.high).all() and np.isnan(panel.low).all()


def test_a_pandas_frame_with_multiindex_columns_is_refused_with_the_way_out():
    index = pd.date_range("2021-03-01", periods=2, freq="D", name="Date")
    columns = pd.MultiIndex.from_product([["Close", "Open"], ["AAPL", "MSFT"]], names=["Price", "Ticker"])
    yfinance = pd.DataFrame(np.ones((2, 4)), index=index, columns=columns)
    with pytest.raises(DataError, match=r"MultiIndex .*frame\['Close'\]") as info:
        bars(yfinance, tz="UTC")
    assert info.value.argument == "frame"
    assert bars(yfinance["Close"], tz="UTC").symbols == ["AAPL", "MSFT"]

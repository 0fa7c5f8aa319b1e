"""forward_returns: checked against a plain-Python reference on random panels, its label_end against the
splitters' own horizon, and its bad input."""

from __future__ import annotations

import itertools
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.validate.datasets import BASE, DAY, HOUR, daily, frame, panels

from ml4t.data import bars
from ml4t.errors import ConfigError, DataError
from ml4t.validate import forward_returns, walk_forward


def _reference(event, symbol, price, horizon):
    """label and label_end per row, one row at a time: the symbol's k-th next row, or the price as of
    ts_event + duration; null past the symbol's data."""
    labels, ends = [], []
    for i, (e, s) in enumerate(zip(event, symbol, strict=True)):
        mine = [j for j in range(len(event)) if symbol[j] == s]
        later = [j for j in mine if event[j] > e]
        if horizon[0] == "bars":
            k = horizon[1]
            if len(later) >= k:
                target = later[k - 1]
                labels.append(price[target] / price[i] - 1)
                ends.append(event[target])
            else:
                diffs = sorted(event[b] - event[a] for a, b in itertools.pairwise(mine))
                own = int(np.median(diffs)) if diffs else None
                labels.append(None)
                ends.append(event[mine[-1]] + (k - len(later)) * own)
        else:
            end = e + horizon[1]
            ends.append(end)
            if end > event[mine[-1]]:
                labels.append(None)
            else:
                asof = max((j for j in mine if event[j] <= end), key=lambda j: event[j])
                labels.append(price[asof] / price[i] - 1)
    return labels, ends


@settings(max_examples=60, deadline=None)
@given(
    panel=panels(min_times=2, max_times=20),
    data=st.data(),
    horizon=st.one_of(
        st.tuples(st.just("bars"), st.integers(1, 4)),
        st.tuples(st.just("time"), st.integers(1, 9).map(lambda k: k * HOUR)),
    ),
)
def test_forward_returns_match_a_plain_reference(panel, data, horizon):
    event, arrival, symbol = panel
    if horizon[0] == "bars":  # a symbol with one row has no spacing of its own: give each two or more
        counts = {s: symbol.count(s) for s in symbol}
        if min(counts.values()) < 2:
            return
    price = data.draw(st.lists(st.floats(1.0, 100.0), min_size=len(event), max_size=len(event)))
    df = frame(event, arrival, symbol, close=price)
    out = forward_returns(df, horizon[1] if horizon[0] == "bars" else f"{horizon[1] // HOUR}h")
    labels, ends = _reference(event, symbol, price, horizon)
    assert out.columns == ["ts_event", "ts_arrival", "symbol", "label", "label_end"]
    assert out["symbol"].to_list() == symbol
    assert out["ts_arrival"].equals(df["ts_arrival"])
    got = out["label"].to_list()
    assert [g is None for g in got] == [x is None for x in labels]
    assert all(g is None or math.isclose(g, x, rel_tol=1e-12, abs_tol=1e-15) for g, x in zip(got, labels, strict=True))
    assert out["label_end"].cast(pl.Int64).to_list() == ends


def test_label_end_is_the_splitters_horizon():
    labels = forward_returns(daily(30).with_columns(close=pl.int_range(1, 31).cast(pl.Float64)), 3)
    by_column = walk_forward(labels, train=10, test=5, purge="label_end")
    by_bars = walk_forward(labels, train=10, test=5, purge=3)
    assert [s.train.tolist() for s in by_column] == [s.train.tolist() for s in by_bars]
    assert [s.purged for s in by_column] == [2, 2, 2, 2]
    assert labels["label"][0] == pytest.approx(4 / 1 - 1)
    assert labels["label"].null_count() == 3


def test_bars_are_labelled_in_their_own_row_order():
    df = pl.concat(
        [
            daily(6).with_columns(symbol=pl.lit(s), close=pl.Series([float(i + k) for i in range(6)]))
            for s, k in (("B", 10), ("A", 1))
        ]
    ).with_columns(open=pl.col("close"), high=pl.col("close"), low=pl.col("close"), volume=1.0)
    b = bars(df)
    out = forward_returns(b, 1)
    assert out.height == len(b) and out["symbol"].to_list() == b.frame["symbol"].to_list()
    assert out.filter(pl.col("symbol") == "A")["label"].to_list()[:2] == [pytest.approx(1.0), pytest.approx(0.5)]


def test_a_single_series_without_symbol():
    out = forward_returns(daily(4).with_columns(close=pl.Series([1.0, 2.0, 4.0, 8.0])), "2d")
    assert out.columns == ["ts_event", "ts_arrival", "label", "label_end"]
    assert out["label"].to_list() == [3.0, 3.0, None, None]
    assert out["label_end"].cast(pl.Int64).to_list() == [BASE + (i + 2) * DAY for i in range(4)]


def test_null_prices_give_null_labels():
    out = forward_returns(daily(4).with_columns(close=pl.Series([1.0, None, 4.0, 8.0])), 1)
    assert out["label"].to_list() == [None, None, 1.0, None]


def test_docstring_says_a_label_reads_the_future():
    doc = forward_returns.__doc__ or ""
    assert "reads the future" in doc and "never inside a strategy" in doc


@pytest.mark.parametrize(
    ("change", "horizon", "kind", "argument", "column"),
    [
        (lambda d: d, 0, ConfigError, "horizon", None),
        (lambda d: d, "0h", ConfigError, "horizon", None),
        (lambda d: d.drop("close"), 1, ConfigError, "price", "close"),
        (lambda d: d.with_columns(close=pl.lit("x")), 1, ConfigError, "price", "close"),
        (lambda d: d.with_columns(close=pl.Series([1.0, -1.0, 1.0, 1.0])), 1, DataError, "bars", "close"),
        (lambda d: d.with_columns(close=pl.Series([1.0, float("nan"), 1.0, 1.0])), 1, DataError, "bars", "close"),
        (
            lambda d: d.with_columns(ts_event=pl.col("ts_event").dt.replace_time_zone(None)),
            1,
            DataError,
            "bars",
            "ts_event",
        ),
    ],
)
def test_bad_input(change, horizon, kind, argument, column):
    df = change(daily(4).with_columns(close=pl.lit(1.0), symbol=pl.lit("X")))
    with pytest.raises(kind) as error:
        forward_returns(df, horizon)
    assert (error.value.argument, error.value.column) == (argument, column)
    if kind is DataError and column == "close":
        assert (error.value.symbol, error.value.timestamp) == ("X", BASE + DAY)


def test_duplicate_timestamps_of_a_symbol_are_ambiguous():
    df = frame([BASE, BASE, BASE + DAY], symbol=["X", "X", "X"], close=[1.0, 2.0, 3.0])
    with pytest.raises(DataError, match="share a ts_event") as error:
        forward_returns(df, 1)
    assert (error.value.symbol, error.value.timestamp) == ("X", BASE)

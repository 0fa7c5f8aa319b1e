"""Every column of the bars reaches ``on_bar`` with its dtype: numbers as float64 (as before), booleans as bool,
strings as str, dates as dates; and so do the strategy's indicators, whatever their dtype. Each value is checked
against the row of ``bars.frame`` it came from."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.event.scenario import frame

import ml4t
from ml4t.event import Engine, Strategy


class Recorder(Strategy):
    """Keeps, per timestamp, the symbols and the arrays of ``fields``, and each bar's attribute values."""

    def __init__(self, fields):
        self.fields = fields
        self.batches = []
        self.bars = []

    def on_bar(self, ctx, bars):
        self.batches.append((ctx.now_ns, bars.symbols, {f: bars[f] for f in self.fields}))
        for bar in bars:
            self.bars.append((ctx.now_ns, bar.symbol, {f: getattr(bar, f) for f in self.fields}, bar["sector"]))


def labelled(symbols=("A", "B"), n=4, **kwargs):
    rows = [(100.0 + i, 101.0 + i, 99.0, 100.0 + i, 1e6) for i in range(n)]
    parts = []
    for k, symbol in enumerate(symbols):
        parts.append(
            frame(rows, symbol=symbol).with_columns(
                flag=pl.Series([(i + k) % 2 == 0 for i in range(n)]),
                sector=pl.lit(f"sector-{symbol}"),
                listed=pl.lit(dt.date(2000 + k, 1, 1)),
                rank=pl.Series([i * 10 + k for i in range(n)], dtype=pl.Int32),
            )
        )
    return ml4t.data.bars(pl.concat(parts), **kwargs)


def test_boolean_string_and_date_columns_reach_on_bar_with_their_dtype():
    data = labelled()
    strategy = Recorder(["flag", "sector", "listed", "rank", "close"])
    Engine(data, strategy).run()
    expected = {
        (int(ts.timestamp()) * 10**9, s): (flag, sector, listed, float(rank), close)
        for ts, s, flag, sector, listed, rank, close in data.frame.select(
            "ts_event", "symbol", "flag", "sector", "listed", "rank", "close"
        ).iter_rows()
    }
    assert len(strategy.batches) == 4
    for now, symbols, arrays in strategy.batches:
        assert arrays["flag"].dtype == np.bool_
        assert arrays["rank"].dtype == np.float64  # numbers stay float64, as every numeric field
        assert arrays["close"].dtype == np.float64
        assert arrays["listed"].dtype == np.dtype("datetime64[D]")
        for column in arrays.values():
            assert not column.flags.writeable
        got = list(zip(*(arrays[f].tolist() for f in ("flag", "sector", "listed", "rank", "close")), strict=True))
        assert got == [expected[(now, s)] for s in symbols]
    assert len(strategy.bars) == 8
    for now, symbol, values, by_key in strategy.bars:
        assert tuple(values.values()) == expected[(now, symbol)]
        assert type(values["flag"]) is bool and type(values["sector"]) is str and type(by_key) is str
        assert type(values["listed"]) is dt.date


def test_the_bar_batch_lists_every_column():
    class Fields(Strategy):
        def on_bar(self, ctx, bars):
            self.fields = bars.fields

    fields = Fields()
    Engine(labelled(), fields).run()
    assert {"flag", "sector", "listed", "rank", "close", "ts_event"} <= set(fields.fields)


def test_columns_stay_aligned_when_arrival_order_differs_from_event_order():
    # B's bars arrive two hours late: at each arrival the batch holds one symbol's bar, possibly of an earlier
    # event time than A's, and each value must still be that bar's own.
    data = labelled()
    late = data.frame.with_columns(
        ts_arrival=pl.when(pl.col("symbol") == "B")
        .then(pl.col("ts_event") + pl.duration(hours=2))
        .otherwise(pl.col("ts_event"))
    )
    data = ml4t.data.Bars._from_canonical(late, ("A", "B"), None)
    strategy = Recorder(["flag", "sector", "ts_event"])
    Engine(data, strategy).run()
    truth = {
        (int(ts.timestamp()) * 10**9, s): (flag, sector)
        for ts, s, flag, sector in late.select("ts_event", "symbol", "flag", "sector").iter_rows()
    }
    assert [symbols for _, symbols, _ in strategy.batches] == [("A",), ("B",)] * 4
    for _, symbols, arrays in strategy.batches:
        for i, symbol in enumerate(symbols):
            assert (arrays["flag"][i], arrays["sector"][i]) == truth[(int(arrays["ts_event"][i]), symbol)]


def test_a_null_in_a_boolean_or_string_column_arrives_as_none():
    data = ml4t.data.bars(
        frame([(100.0, 101.0, 99.0, 100.0, 1e6)] * 3).with_columns(
            flag=pl.Series([True, None, False]), sector=pl.Series(["x", None, "y"])
        )
    )
    strategy = Recorder(["flag", "sector"])
    Engine(data, strategy).run()
    assert [arrays["flag"].tolist() for _, _, arrays in strategy.batches] == [[True], [None], [False]]
    assert [arrays["sector"].tolist() for _, _, arrays in strategy.batches] == [["x"], [None], ["y"]]


class Labels(Strategy):
    indicators: ClassVar = {
        "up": (pl.col("close") > pl.col("close").shift(1)).fill_null(False),
        "regime": pl.when(pl.col("close") > 101).then(pl.lit("high")).otherwise(pl.lit("low")),
        "count": pl.col("close").cum_count(),
    }

    def __init__(self):
        self.seen = []

    def on_bar(self, ctx, bars):
        bar = bars.get("X")
        self.seen.append((bars["up"].dtype, bars["regime"].tolist(), bar.up, bar.regime, bar.count))


def test_indicators_keep_their_dtype():
    closes = [100.0, 102.0, 101.0, 103.0]
    data = ml4t.data.bars(frame([(c, c, c, c, 1e6) for c in closes]))
    strategy = Labels()
    Engine(data, strategy).run()
    assert strategy.seen == [
        (np.bool_, ["low"], False, "low", 1.0),
        (np.bool_, ["high"], True, "high", 2.0),
        (np.bool_, ["low"], False, "low", 3.0),
        (np.bool_, ["high"], True, "high", 4.0),
    ]


@settings(max_examples=15, deadline=None)
@given(
    flags=st.lists(st.booleans(), min_size=2, max_size=6),
    words=st.lists(st.text(min_size=0, max_size=3), min_size=6, max_size=6),
)
def test_every_bar_sees_its_own_row(flags, words):
    n = len(flags)
    rows = frame([(100.0, 101.0, 99.0, 100.0, 1e6)] * n, symbol="A")
    other = frame([(50.0, 51.0, 49.0, 50.0, 1e6)] * n, symbol="B")
    data = ml4t.data.bars(
        pl.concat(
            [
                rows.with_columns(flag=pl.Series(flags), sector=pl.Series(words[:n])),
                other.with_columns(flag=pl.Series([not f for f in flags]), sector=pl.Series(words[-n:])),
            ]
        )
    )
    strategy = Recorder(["flag", "sector"])
    Engine(data, strategy).run()
    reference = {
        (int(ts.timestamp()) * 10**9, s): (f, w)
        for ts, s, f, w in data.frame.select("ts_event", "symbol", "flag", "sector").iter_rows()
    }
    seen = {(now, s): (v["flag"], v["sector"]) for now, s, v, _ in strategy.bars}
    assert seen == reference


def test_unknown_fields_still_say_so():
    class Look(Strategy):
        def on_bar(self, ctx, bars):
            with pytest.raises(ml4t.DataError, match="unknown bar field"):
                bars["nope"]
            with pytest.raises(AttributeError, match="no field 'nope'"):
                _ = bars.get("A").nope

    Engine(labelled(), Look()).run()

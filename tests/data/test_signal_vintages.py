"""Model vintages in ``ml4t.data.signals``: a per-row ``train_end`` (a column or a vintage table), the per-row
in-sample guard, the "model did not exist yet" rule, and the per-row cut-offs carried by ``until``, pickling,
``fingerprint`` and ``repr``.

The properties check the code against slow references written from the rules: the vintage of a row is the
latest ``ts_available <= ts_arrival``; a row is in-sample when ``ts_event <= its train_end + embargo``; the
first offender is the least (ts_event, symbol).
"""

from __future__ import annotations

import datetime as dt
import pickle
from typing import Any

import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ml4t import ConfigError, DataError, LeakageError
from ml4t._time import TS_DTYPE, format_ns, to_ns
from ml4t.data import Signals, align_signals, bars, signals

UTC = dt.UTC
T0 = dt.datetime(2021, 1, 4, tzinfo=UTC)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


def H(i: int) -> dt.datetime:
    return T0 + i * HOUR


def frame_of(rows: list[tuple[str, int, int, float]], cuts: list[int] | None = None) -> pl.DataFrame:
    """``rows`` of (symbol, event hour, arrival hour, value); ``cuts``: a per-row ``train_end`` hour column."""
    data: dict[str, Any] = {
        "symbol": [r[0] for r in rows],
        "ts_event": [H(r[1]) for r in rows],
        "ts_arrival": [H(r[2]) for r in rows],
        "pred": [r[3] for r in rows],
    }
    if cuts is not None:
        data["train_end"] = [H(c) for c in cuts]
    return pl.DataFrame(data).with_columns(pl.col(c).cast(TS_DTYPE) for c in data if c.startswith(("ts_", "train")))


def table_of(vintages: list[tuple[int, int]]) -> pl.DataFrame:
    """(ts_available hour, train_end hour) pairs."""
    return pl.DataFrame({"ts_available": [H(a) for a, _ in vintages], "train_end": [H(c) for _, c in vintages]})


# --- slow references, written from the rules ---------------------------------------------------------------


def reference_vintage(arrival: int, vintages: list[tuple[int, int]]) -> int | None:
    """The train_end hour of the latest vintage available at ``arrival`` (None: no model yet)."""
    best: tuple[int, int] | None = None
    for available, cut in vintages:
        if available <= arrival and (best is None or available > best[0]):
            best = (available, cut)
    return None if best is None else best[1]


def first_of(offenders: list[tuple[int, str]]) -> tuple[int, str]:
    """The first offender as the guard orders rows: by ts_event, then symbol."""
    return min(offenders)


# --- generators ------------------------------------------------------------------------------------------------

SYMBOLS = ("AAA", "BBB")


@st.composite
def predictions(draw: st.DrawFn) -> list[tuple[str, int, int, float]]:
    """Unique (symbol, ts_event) rows with arrival >= event."""
    keys = draw(st.lists(st.tuples(st.sampled_from(SYMBOLS), st.integers(0, 40)), min_size=1, max_size=12, unique=True))
    return [(s, e, e + draw(st.integers(0, 6)), float(i)) for i, (s, e) in enumerate(keys)]


@st.composite
def vintage_tables(draw: st.DrawFn) -> list[tuple[int, int]]:
    """Distinct ts_available, each at or after its train_end."""
    available = draw(st.lists(st.integers(-5, 45), min_size=1, max_size=5, unique=True))
    return [(a, a - draw(st.integers(0, 10))) for a in available]


# --- properties ------------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(rows=predictions(), vintages=vintage_tables(), embargo=st.integers(0, 3))
def test_vintage_lookup_and_the_per_row_guard_match_the_reference(rows, vintages, embargo):
    frame, table = frame_of(rows), table_of(vintages)
    cuts = [reference_vintage(arrival, vintages) for _, _, arrival, _ in rows]
    if any(c is None for c in cuts):
        orphans = [(e, s) for (s, e, _, _), c in zip(rows, cuts, strict=True) if c is None]
        with pytest.raises(DataError, match="before the first model vintage") as info:
            signals(frame, train_end=table, embargo=f"{embargo}h")
        event, symbol = first_of(orphans)
        assert (info.value.symbol, info.value.timestamp, info.value.argument) == (symbol, to_ns(H(event)), "train_end")
        return
    inside = {(s, e) for (s, e, _, _), c in zip(rows, cuts, strict=True) if c is not None and e <= c + embargo}
    if inside:
        with pytest.raises(LeakageError, match=f"{len(inside)} rows? with ts_event <= train_end") as info:
            signals(frame, train_end=table, embargo=f"{embargo}h")
        event, symbol = first_of([(e, s) for s, e in inside])
        assert (info.value.symbol, info.value.timestamp) == (symbol, to_ns(H(event)))
        assert (info.value.argument, info.value.column) == ("train_end", "ts_event")
    kept = signals(frame, train_end=table, embargo=f"{embargo}h", allow_in_sample=True)
    got = {(r["symbol"], r["pred"]): r for r in kept.frame.iter_rows(named=True)}
    for (s, e, _, value), cut in zip(rows, cuts, strict=True):
        row = got[(s, value)]
        assert row["train_end"] == H(cut)  # type: ignore[arg-type]
        assert row["in_sample"] == ((s, e) in inside)


@settings(max_examples=60, deadline=None)
@given(rows=predictions(), data=st.data(), embargo=st.integers(0, 3), allow=st.booleans())
def test_a_train_end_column_is_checked_row_by_row_like_the_reference(rows, data, embargo, allow):
    cuts = [data.draw(st.integers(e - 8, a + 1)) for _, e, a, _ in rows]
    frame = frame_of(rows, cuts)
    unborn = [(e, s) for (s, e, a, _), c in zip(rows, cuts, strict=True) if a < c]
    inside = {(s, e) for (s, e, _, _), c in zip(rows, cuts, strict=True) if e <= c + embargo}
    if unborn:  # the model did not exist yet: refused even with allow_in_sample
        with pytest.raises(LeakageError, match="did not exist yet") as info:
            signals(frame, train_end="train_end", embargo=f"{embargo}h", allow_in_sample=allow)
        event, symbol = first_of(unborn)
        assert (info.value.symbol, info.value.timestamp, info.value.column) == (symbol, to_ns(H(event)), "train_end")
        return
    if inside and not allow:
        with pytest.raises(LeakageError, match="in-sample") as info:
            signals(frame, train_end="train_end", embargo=f"{embargo}h")
        event, symbol = first_of([(e, s) for s, e in inside])
        assert (info.value.symbol, info.value.timestamp) == (symbol, to_ns(H(event)))
        return
    out = signals(frame, train_end="train_end", embargo=f"{embargo}h", allow_in_sample=allow)
    flagged = {(r["symbol"], r["ts_event"]) for r in out.frame.filter("in_sample").iter_rows(named=True)}
    assert flagged == {(s, H(e)) for s, e in inside}
    # the stored cut-off is the row's own, without the embargo; the arrival carries the embargo
    stored = {(r["symbol"], r["ts_event"]): (r["train_end"], r["ts_arrival"]) for r in out.frame.iter_rows(named=True)}
    for (s, e, a, _), c in zip(rows, cuts, strict=True):
        assert stored[(s, H(e))] == (H(c), H(a + embargo))


@settings(max_examples=40, deadline=None)
@given(rows=predictions(), data=st.data())
def test_one_train_end_per_row_equal_to_the_scalar_decides_like_the_scalar(rows, data):
    cut = data.draw(st.integers(-5, 45))
    frame = frame_of(rows)
    scalar = signals(frame, train_end=H(cut), allow_in_sample=True)
    if any(a < cut for _, _, a, _ in rows):  # per row, the model must exist at arrival; one scalar is not checked
        return
    column = frame.with_columns(pl.lit(H(cut)).cast(TS_DTYPE).alias("cut"))
    per_row = signals(column, train_end="cut", allow_in_sample=True)
    assert per_row.frame.drop("train_end").equals(scalar.frame)
    assert per_row.train_end == scalar.train_end == H(cut)


# --- examples --------------------------------------------------------------------------------------------------

ROWS = [("AAA", 10, 11, 0.1), ("AAA", 20, 21, 0.2), ("BBB", 20, 22, 0.3), ("AAA", 30, 31, 0.4)]
VINTAGES = [(0, -1), (21, 15), (30, 25)]  # (ts_available, train_end) hours


def test_each_row_gets_the_latest_vintage_available_at_its_arrival():
    s = signals(frame_of(ROWS), train_end=table_of(VINTAGES))
    got = dict(zip(s.frame["pred"].to_list(), s.frame["train_end"].to_list(), strict=True))
    # 11 -> vintage of 0; 21 -> vintage available at 21 exactly; 22 -> the same; 31 -> the one of 30
    assert got == {0.1: H(-1), 0.2: H(15), 0.3: H(15), 0.4: H(25)}
    assert s.frame.columns == ["ts_event", "ts_arrival", "symbol", "pred", "in_sample", "train_end"]


def test_the_scalar_form_keeps_its_frame_and_property():
    s = signals(frame_of(ROWS), train_end=H(0))
    assert s.frame.columns == ["ts_event", "ts_arrival", "symbol", "pred", "in_sample"]
    assert s.train_end == H(0) and f"train_end={format_ns(to_ns(H(0)))}" in repr(s)


def test_a_row_arriving_before_every_vintage_names_its_symbol_and_time():
    with pytest.raises(DataError, match=r"1 row arrive before the first model vintage") as info:
        signals(frame_of(ROWS), train_end=table_of([(12, 5), (30, 25)]))
    assert (info.value.symbol, info.value.timestamp, info.value.argument) == ("AAA", to_ns(H(10)), "train_end")


def test_an_in_sample_row_of_a_later_vintage_raises_naming_its_own_cut():
    # the vintage available at 31 was trained until 30: the row about 30 is in-sample for it
    with pytest.raises(LeakageError, match="1 row with ts_event <= train_end") as info:
        signals(frame_of(ROWS), train_end=table_of([(0, -1), (31, 30)]))
    assert (info.value.symbol, info.value.timestamp) == ("AAA", to_ns(H(30)))
    assert format_ns(to_ns(H(30))) in str(info.value) and "the model which made the first" in str(info.value)
    kept = signals(frame_of(ROWS), train_end=table_of([(0, -1), (31, 30)]), allow_in_sample=True)
    assert kept.frame.filter("in_sample")["pred"].to_list() == [0.4]
    assert "in_sample_rows=1" in repr(kept)


def test_a_prediction_arriving_before_its_model_ended_training_is_refused_even_when_in_sample_is_allowed():
    frame = frame_of(ROWS, cuts=[5, 15, 23, 25])  # BBB's row arrives at 22, its model trained until 23
    with pytest.raises(LeakageError, match="did not exist yet") as info:
        signals(frame, train_end="train_end", allow_in_sample=True)
    assert (info.value.symbol, info.value.timestamp, info.value.column) == ("BBB", to_ns(H(20)), "train_end")


@pytest.mark.parametrize(
    ("table", "column", "match"),
    [
        (table_of([(5, 1), (5, 2)]), "ts_available", "share a ts_available"),
        (table_of([(5, 1), (8, 9)]), "ts_available", "available before their training window ended"),
        (pl.DataFrame({"ts_available": [H(0)]}), "train_end", "no column 'train_end'"),
        (table_of([(5, 1)]).clear(), None, "empty"),
        (
            pl.DataFrame({"ts_available": [H(0), None], "train_end": [H(-1), H(1)]}).cast({"ts_available": TS_DTYPE}),
            "ts_available",
            "null timestamps",
        ),
    ],
)
def test_a_bad_vintage_table_is_a_data_error(table, column, match):
    with pytest.raises(DataError, match=match) as info:
        signals(frame_of(ROWS), train_end=table)
    assert (info.value.argument, info.value.column) == ("train_end", column)


def test_a_null_train_end_in_the_column_is_a_data_error():
    frame = frame_of(ROWS, cuts=[0, 0, 0, 0]).with_columns(
        pl.when(pl.col("pred") == 0.3).then(None).otherwise(pl.col("train_end")).alias("train_end")
    )
    with pytest.raises(DataError, match="null timestamps") as info:
        signals(frame, train_end="train_end")
    assert (info.value.column, info.value.symbol) == ("train_end", "BBB")


def test_train_end_strings_columns_and_value_columns():
    frame = frame_of(ROWS, cuts=[0, 0, 0, 0]).rename({"train_end": "model_cut"})
    s = signals(frame, train_end="model_cut")  # a column under another name, stored as train_end
    assert s.columns == ["pred"] and s.frame["train_end"].unique().to_list() == [H(0)]
    with pytest.raises(ConfigError, match="neither a column of the frame") as info:
        signals(frame, train_end="cutoff")
    assert info.value.argument == "train_end"
    with pytest.raises(DataError, match="pass train_end='train_end'"):
        signals(frame.rename({"model_cut": "train_end"}).with_columns(pl.lit(1.0).alias("train_end")))


def test_a_pandas_and_a_naive_vintage_table():
    naive = pd.DataFrame({"ts_available": [pd.Timestamp("2021-01-03")], "train_end": [pd.Timestamp("2021-01-02")]})
    frame = frame_of(ROWS).with_columns(pl.col("ts_event", "ts_arrival").dt.replace_time_zone(None))
    s = signals(frame, train_end=naive, tz="UTC")
    assert s.frame["train_end"].unique().to_list() == [dt.datetime(2021, 1, 2, tzinfo=UTC)]
    with pytest.raises(DataError, match="naive"):
        signals(frame_of(ROWS), train_end=naive)


def test_until_pickling_and_fingerprint_carry_the_per_row_cut_offs():
    s = signals(frame_of(ROWS), train_end=table_of(VINTAGES), embargo="1h")
    early = s.until(H(22))
    assert early.frame["train_end"].to_list() == [H(-1), H(15)]
    assert early.train_end == H(15) and s.train_end == H(25)
    back = pickle.loads(pickle.dumps(s))
    assert isinstance(back, Signals) and back.frame.equals(s.frame) and back.fingerprint() == s.fingerprint()
    moved = signals(frame_of(ROWS), train_end=table_of([(0, -1), (21, 14), (30, 25)]), embargo="1h")
    assert moved.frame.drop("train_end").equals(s.frame.drop("train_end"))
    assert moved.fingerprint() != s.fingerprint()
    scalar = signals(frame_of(ROWS), train_end=H(-1), embargo="1h")
    assert scalar.fingerprint() != s.fingerprint()


def test_vintages_summarise_the_models_behind_the_rows():
    s = signals(frame_of(ROWS), train_end=table_of(VINTAGES))
    table = s.vintages
    assert table is not None
    assert table.select("train_end", "rows", "in_sample_rows").rows() == [(H(-1), 1, 0), (H(15), 2, 0), (H(25), 1, 0)]
    assert table.row(1, named=True)["first_ts_event"] == H(20) and table.row(1, named=True)["first_ts_arrival"] == H(21)
    assert "train_end=per row (3 vintages, latest" in repr(s)
    assert signals(frame_of(ROWS)).vintages is None
    one = signals(frame_of(ROWS), train_end=H(0)).vintages
    assert one is not None and one.select("train_end", "rows").rows() == [(H(0), 4)]
    empty = s.until(H(0))
    assert empty.train_end is None and empty.vintages is not None and empty.vintages.height == 0


def test_vintaged_signals_align_like_the_same_rows_without_vintages():
    stamps = [H(i) for i in range(0, 40, 2)]
    b = bars(
        pl.DataFrame(
            {
                "timestamp": stamps * 2,
                "symbol": ["AAA"] * len(stamps) + ["BBB"] * len(stamps),
                "close": [10.0] * (2 * len(stamps)),
            }
        ).with_columns(pl.col("timestamp").cast(TS_DTYPE))
    )
    plain = align_signals(b, signals(frame_of(ROWS)))
    vintaged = align_signals(b, signals(frame_of(ROWS), train_end=table_of(VINTAGES)))
    assert vintaged.frame.equals(plain.frame)

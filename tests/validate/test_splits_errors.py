"""Bad input to walk_forward and cpcv: each a ConfigError or DataError naming the argument (and the column, the
symbol and the timestamp where one row is at fault)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from tests.validate.datasets import BASE, DAY, daily, frame

from ml4t.errors import ConfigError, DataError
from ml4t.validate import cpcv, walk_forward


def _raises(kind, call, *, argument, column=None, symbol=None, timestamp=None, match=None):
    with pytest.raises(kind, match=match) as error:
        call()
    assert error.value.argument == argument
    assert error.value.column == column
    assert error.value.symbol == symbol
    assert error.value.timestamp == timestamp
    return error.value


def test_data_of_another_type_or_without_rows():
    _raises(ConfigError, lambda: walk_forward(np.zeros(5), train=2, test=1), argument="data")
    _raises(DataError, lambda: cpcv(daily(3).head(0), n_groups=2, n_test_groups=1), argument="data")


def test_missing_time_columns():
    _raises(
        DataError,
        lambda: walk_forward(daily(5).drop("ts_arrival"), train=2, test=1),
        argument="data",
        column="ts_arrival",
    )


def test_times_must_be_utc_datetimes_without_nulls():
    naive = daily(5).with_columns(pl.col("ts_event").dt.replace_time_zone(None))
    _raises(DataError, lambda: walk_forward(naive, train=2, test=1), argument="data", column="ts_event", match="naive")
    paris = daily(5).with_columns(pl.col("ts_arrival").dt.convert_time_zone("Europe/Paris"))
    _raises(
        DataError,
        lambda: walk_forward(paris, train=2, test=1),
        argument="data",
        column="ts_arrival",
        match="Europe/Paris",
    )
    ints = daily(5).with_columns(pl.col("ts_event").cast(pl.Int64))
    _raises(DataError, lambda: walk_forward(ints, train=2, test=1), argument="data", column="ts_event")
    nulls = daily(5).with_columns(
        pl.when(pl.int_range(5) == 2).then(None).otherwise(pl.col("ts_arrival")).alias("ts_arrival")
    )
    _raises(
        DataError, lambda: walk_forward(nulls, train=2, test=1), argument="data", column="ts_arrival", match="row 2"
    )


def test_unsorted_times_and_early_arrivals_name_the_row():
    event = [BASE, BASE + 2 * DAY, BASE + DAY, BASE + 3 * DAY]
    _raises(
        DataError,
        lambda: walk_forward(frame(event, symbol=list("ABCD")), train=2, test=1),
        argument="data",
        column="ts_event",
        symbol="C",
        timestamp=BASE + DAY,
        match="ascending",
    )
    event = [BASE + i * DAY for i in range(4)]
    arrival = [*event[:2], event[2] - 1, event[3]]
    _raises(
        DataError,
        lambda: cpcv(frame(event, arrival, list("ABCD")), n_groups=2, n_test_groups=1),
        argument="data",
        column="ts_arrival",
        symbol="C",
        timestamp=event[2],
    )


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"train": 0, "test": 1}, "train"),
        ({"train": 2, "test": 0}, "test"),
        ({"train": 2, "test": "0d"}, "test"),
        ({"train": 2.5, "test": 1}, "train"),
        ({"train": True, "test": 1}, "train"),
        ({"train": "two days", "test": 1}, "train"),
        ({"train": 2, "test": 2, "step": 1}, "step"),
        ({"train": 2, "test": "2d", "step": "1d"}, "step"),
        ({"train": 2, "test": 1, "mode": "anchored"}, "mode"),
        ({"train": 2, "test": 1, "min_train": 3}, "min_train"),
        ({"train": 2, "test": 1, "embargo": -1}, "embargo"),
        ({"train": 2, "test": 1, "purge": -1}, "purge"),
        ({"train": 2, "test": 1, "purge": "nonsense"}, "purge"),
        ({"train": 2, "test": 1, "start": dt.datetime(2024, 1, 3)}, "start"),  # noqa: DTZ001 - naive on purpose
        ({"train": 30, "test": 1}, "train"),  # no complete split in 10 rows
    ],
)
def test_walk_forward_settings(kwargs, argument):
    _raises(
        ConfigError,
        lambda: walk_forward(daily(10), **kwargs),
        argument=argument,
        column="nonsense" if kwargs.get("purge") == "nonsense" else None,
    )


def test_mixed_units_that_overlap_are_refused_where_they_do():
    # a step of 2 bars with test blocks of 3 days: blocks would overlap
    _raises(
        ConfigError,
        lambda: walk_forward(daily(20), train=2, test="3d", step=2),
        argument="step",
        timestamp=BASE + 4 * DAY,
        match="overlap",
    )


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"n_groups": 1, "n_test_groups": 1}, "n_groups"),
        ({"n_groups": 11, "n_test_groups": 1}, "n_groups"),  # more groups than timestamps
        ({"n_groups": 4, "n_test_groups": 4}, "n_test_groups"),
        ({"n_groups": 4, "n_test_groups": 0}, "n_test_groups"),
        ({"n_groups": 4.0, "n_test_groups": 1}, "n_groups"),
        ({"n_groups": 4, "n_test_groups": 1, "embargo": "soon"}, "embargo"),
    ],
)
def test_cpcv_settings(kwargs, argument):
    _raises(ConfigError, lambda: cpcv(daily(10), **kwargs), argument=argument)


def test_too_many_combinations():
    _raises(
        ConfigError,
        lambda: cpcv(daily(40), n_groups=40, n_test_groups=20),
        argument="n_test_groups",
        match="splits is more than",
    )


def test_purge_column_must_be_utc_datetimes_at_or_after_ts_event():
    df = daily(6)
    wrong = df.with_columns(label_end=pl.lit(1.0))
    _raises(
        DataError, lambda: walk_forward(wrong, train=2, test=1, purge="label_end"), argument="purge", column="label_end"
    )
    early = df.with_columns(label_end=pl.col("ts_event") - pl.duration(days=1), symbol=pl.lit("X"))
    _raises(
        DataError,
        lambda: cpcv(early, n_groups=2, n_test_groups=1, purge="label_end"),
        argument="purge",
        column="label_end",
        symbol="X",
        timestamp=BASE,
        match="before the row's ts_event",
    )
    nulls = df.with_columns(label_end=pl.when(pl.int_range(6) < 5).then(pl.col("ts_event")))
    _raises(
        DataError,
        lambda: walk_forward(nulls, train=2, test=1, purge="label_end"),
        argument="purge",
        column="label_end",
        match="null",
    )

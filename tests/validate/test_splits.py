"""walk_forward and cpcv on small hand-checked datasets: windows, steps, durations, latency, embargo, panels,
the Splits/CPCV containers (frame, repr, scikit-learn protocol, n_rows) and CPCV.stitch."""

from __future__ import annotations

import datetime as dt
import pickle

import numpy as np
import polars as pl
import pytest
from tests.validate.datasets import BASE, DAY, HOUR, daily, frame

from ml4t.data import bars, signals
from ml4t.errors import ConfigError
from ml4t.validate import CPCV, Split, Splits, cpcv, walk_forward


def _idx(splits):
    return [(s.train.tolist(), s.test.tolist()) for s in splits]


def test_rolling_windows_are_the_train_bars_just_before_each_test_block():
    splits = walk_forward(daily(10), train=4, test=2)
    assert _idx(splits) == [([0, 1, 2, 3], [4, 5]), ([2, 3, 4, 5], [6, 7]), ([4, 5, 6, 7], [8, 9])]
    assert isinstance(splits, Splits) and all(isinstance(s, Split) for s in splits)
    assert [s.index for s in splits] == [0, 1, 2]


def test_expanding_windows_start_at_the_first_row():
    splits = walk_forward(daily(10), train=4, test=2, mode="expanding")
    assert _idx(splits) == [([0, 1, 2, 3], [4, 5]), ([0, 1, 2, 3, 4, 5], [6, 7]), (list(range(8)), [8, 9])]


def test_an_incomplete_last_block_is_dropped_and_a_longer_step_leaves_gaps():
    assert _idx(walk_forward(daily(9), train=4, test=2))[-1] == ([2, 3, 4, 5], [6, 7])  # row 8 alone: dropped
    assert _idx(walk_forward(daily(12), train=3, test=2, step=4)) == [([0, 1, 2], [3, 4]), ([4, 5, 6], [7, 8])]


def test_purge_in_bars_removes_labels_that_end_after_the_first_test_bar():
    # horizon 2: row 2's label is about row 4 = the first test bar (arrived in time); row 3's is about row 5.
    splits = walk_forward(daily(8), train=4, test=2, purge=2)
    assert splits[0].train.tolist() == [0, 1, 2] and splits[0].purged == 1
    assert splits[0].label_end == splits[0].ready == dt.datetime(2024, 1, 5, tzinfo=dt.UTC)


def test_purge_reads_each_rows_latency():
    # zero horizon, but row 3 arrives 1.5 days late: after the first test row arrived.
    event = [BASE + i * DAY for i in range(6)]
    arrival = [*event[:3], event[3] + DAY + DAY // 2, *event[4:]]
    splits = walk_forward(frame(event, arrival), train=4, test=2)
    assert splits[0].train.tolist() == [0, 1, 2] and splits[0].purged == 1
    # the test block's first arrival decides: if the first test row is late too, row 3 is in time
    late_test = [*arrival[:4], event[4] + 2 * DAY, event[5]]
    assert walk_forward(frame(event, late_test), train=4, test=2)[0].train.tolist() == [0, 1, 2, 3]


def test_walk_forward_embargo_is_a_gap_before_the_test_block():
    assert walk_forward(daily(8), train=4, test=2, embargo=1)[0].train.tolist() == [0, 1, 2]
    split = walk_forward(daily(8), train=4, test=2, embargo="36h")[0]  # rows with ts >= test_start - 36h
    assert split.train.tolist() == [0, 1, 2] and split.embargoed == 1 and split.purged == 0


def test_durations_follow_the_calendar_across_gaps():
    # weekdays only (2024-01-01 is a Monday): two weeks of training, one week of test, blocks Monday to Friday
    days = [BASE + d * DAY for d in range(36) if d % 7 < 5]  # 5 weeks and a Monday
    splits = walk_forward(frame(days), train="14d", test="7d")
    assert [s.test.size for s in splits] == [5, 5, 5]
    # data that end on a Friday do not reach the last week's end (Friday + one bar < Monday): dropped
    assert len(walk_forward(frame(days[:-1]), train="14d", test="7d")) == 2
    assert [s.test_start.weekday() for s in splits] == [0, 0, 0]
    assert splits[0].train.tolist() == list(range(10))
    assert splits[0].test_start == dt.datetime(2024, 1, 15, tzinfo=dt.UTC)


def test_start_and_min_train_admit_shorter_first_windows():
    splits = walk_forward(daily(10), train=4, test=2, start="2024-01-03T00:00:00+00:00", min_train=2)
    assert _idx(splits)[0] == ([0, 1], [2, 3])
    assert _idx(walk_forward(daily(10), train=4, test=2, start="2024-01-03T00:00:00+00:00"))[0] == (
        [0, 1, 2, 3],
        [4, 5],
    )  # by default only complete windows


def test_a_panel_splits_by_time():
    event = [BASE + (i // 2) * DAY for i in range(12)]
    df = frame(event, symbol=["A", "B"] * 6)
    splits = walk_forward(df, train=2, test=2, purge=1)
    assert _idx(splits) == [([0, 1, 2, 3], [4, 5, 6, 7]), ([4, 5, 6, 7], [8, 9, 10, 11])]
    groups = cpcv(df, n_groups=3, n_test_groups=1)
    assert [s.test.tolist() for s in groups] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]


def test_bars_and_signals_are_datasets():
    df = daily(10).with_columns(symbol=pl.lit("X"), open=1.0, high=1.0, low=1.0, close=1.0, volume=1.0)
    assert _idx(walk_forward(bars(df), train=4, test=2)) == _idx(walk_forward(daily(10), train=4, test=2))
    sig = signals(df.select("ts_event", "ts_arrival", "symbol", "close"))
    assert _idx(cpcv(sig, n_groups=5, n_test_groups=2)) == _idx(cpcv(daily(10), n_groups=5, n_test_groups=2))


def test_cpcv_purges_and_embargoes_around_each_block():
    splits = cpcv(daily(12), n_groups=4, n_test_groups=2, purge=1, embargo=2)
    # groups [0-2] [3-5] [6-8] [9-11]; split 1 tests groups 0 and 2: after group 0 the horizon purges row 3
    # (features at the last test label's end), the embargo also row 4; before group 2 nothing (horizon 1);
    # after group 2 rows 9 (purge) and 10 (embargo)
    assert splits[1].groups == (0, 2)
    assert splits[1].train.tolist() == [5, 11]
    assert (splits[1].purged, splits[1].embargoed) == (2, 2)
    # adjacent test groups are one block: split 0 tests rows 0-5, trains from row 8 on
    assert splits[0].train.tolist() == [8, 9, 10, 11]


def test_cpcv_paths_and_stitch():
    splits = cpcv(daily(10), n_groups=5, n_test_groups=2)
    assert isinstance(splits, CPCV)
    assert splits.paths == ((0, 0, 1, 2, 3), (1, 4, 4, 5, 6), (2, 5, 7, 7, 8), (3, 6, 8, 9, 9))
    predictions = [1000 * s.index + s.test for s in splits]
    paths = splits.stitch(predictions)
    assert paths.shape == (4, 10)
    for p, path in enumerate(splits.paths):
        for row in range(10):
            assert paths[p, row] == 1000 * path[row // 2] + row
    two_columns = splits.stitch([np.stack([v, -v], axis=1) for v in predictions])
    assert two_columns.shape == (4, 10, 2) and (two_columns[..., 1] == -paths).all()
    with pytest.raises(ConfigError, match="one per split") as error:
        splits.stitch(predictions[:-1])
    assert error.value.argument == "predictions"
    with pytest.raises(ConfigError, match="split 3"):
        splits.stitch([*predictions[:3], predictions[3][:-1], *predictions[4:]])


def test_frame_repr_and_n_rows():
    splits = walk_forward(daily(10), train=4, test=2, purge=1, embargo="1d")
    table = splits.frame
    assert table.columns == [
        "index",
        "train_start",
        "train_end",
        "test_start",
        "test_end",
        "label_end",
        "ready",
        "n_train",
        "n_test",
        "purged",
        "embargoed",
        "groups",
    ]
    assert table["n_train"].to_list() == [3, 3, 3] and table["embargoed"].to_list() == [1, 1, 1]
    assert table.schema["test_start"] == pl.Datetime("ns", "UTC")
    assert splits.n_rows == 10
    text = repr(splits)
    assert "walk_forward: 3 splits of 10 rows" in text and "purge=1 bar," in text and "embargo=1d" in text
    assert "2024-01-05" in text
    c = cpcv(daily(10), n_groups=5, n_test_groups=2, purge=1)
    assert "cpcv: 10 splits" in repr(c) and c.frame["groups"].to_list()[0] == [0, 1]


def test_scikit_learn_protocol():
    splits = walk_forward(daily(10), train=4, test=2)
    assert splits.get_n_splits() == 3
    X = np.zeros((10, 2))
    assert [(tr.tolist(), te.tolist()) for tr, te in splits.split(X)] == _idx(splits)
    with pytest.raises(ConfigError, match="made from 10 rows") as error:
        list(splits.split(np.zeros((9, 2))))
    assert error.value.argument == "X"
    train, test = splits[0]
    assert train.tolist() == [0, 1, 2, 3] and not train.flags.writeable and not test.flags.writeable
    assert len(splits[1:]) == 2


def test_empty_training_set_is_refused():
    with pytest.raises(ConfigError, match="no training row left") as error:
        walk_forward(daily(8), train=2, test=2, purge=5)
    assert error.value.argument == "purge"
    assert error.value.timestamp == BASE + 2 * DAY  # the first test block starts on day 2
    with pytest.raises(ConfigError, match="no training row left") as error:
        walk_forward(daily(8), train=2, test=2, embargo=2)
    assert error.value.argument == "embargo"


def test_hours_and_minutes_resolution():
    event = [BASE + i * HOUR for i in range(48)]
    splits = walk_forward(frame(event), train="12h", test="6h", purge="90m")
    assert splits[0].test.tolist() == list(range(12, 18))
    assert splits[0].train.tolist() == list(range(11))  # row 11 (11:00 + 90m) ends after 12:00, row 10 before


def test_splits_pickle():
    for splits in (walk_forward(daily(10), train=4, test=2), cpcv(daily(10), n_groups=5, n_test_groups=2)):
        copy = pickle.loads(pickle.dumps(splits))
        assert type(copy) is type(splits) and copy.n_rows == splits.n_rows and _idx(copy) == _idx(splits)
    assert copy.paths == splits.paths and (copy.row_groups == splits.row_groups).all()

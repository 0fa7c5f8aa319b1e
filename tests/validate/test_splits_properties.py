"""Properties of walk_forward and cpcv on random panels (random latencies per row, horizons, symbols, gaps).

Each generated case is checked twice: against the slow reference of ``tests/validate/reference.py`` (written
from the definitions: the very same rows kept, purged and embargoed, the same errors), and against the issue's
invariants stated directly: train and test disjoint, every row of a test timestamp tested, no training row's
label information arriving after its test block's first arrival (rows before a block), none about a time inside
the block's label span (rows after a block), none inside the embargo.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.validate import reference
from tests.validate.datasets import HOUR, embargoes, frame, horizons, panels, to_api

from ml4t.errors import ConfigError
from ml4t.validate import cpcv, walk_forward

lengths_train = st.one_of(
    st.tuples(st.just("bars"), st.integers(1, 6)),
    st.tuples(st.just("time"), st.integers(2, 12).map(lambda k: k * HOUR)),
)
lengths_test = st.one_of(
    st.tuples(st.just("bars"), st.integers(1, 4)), st.tuples(st.just("time"), st.integers(1, 8).map(lambda k: k * HOUR))
)


def _case(data, draw_horizon):
    event, arrival, symbol = data
    horizon = draw_horizon
    rows = reference.Rows(event, arrival)
    extra = {}
    if horizon is not None and horizon[0] == "offsets":
        ends = [e + k * HOUR for e, k in zip(event, horizon[1], strict=True)]
        horizon = ("column", ends)
        extra["label_end"] = ends
    df = frame(event, arrival, symbol, **extra)
    purge = "label_end" if horizon is not None and horizon[0] == "column" else to_api(horizon)
    return df, rows, reference.label_end(rows, horizon), purge


def _as_lists(split):
    return split.train.tolist(), split.test.tolist(), split.purged, split.embargoed


def _check_invariants(split, event, arrival, ends, embargo, side):
    """The issue's invariants for one split, from its own train/test rows."""
    train, test = set(split.train.tolist()), set(split.test.tolist())
    assert not train & test
    tested_times = {event[i] for i in test}
    assert test == {i for i, e in enumerate(event) if e in tested_times}  # a timestamp is never split
    assert min(tested_times) == split.test_start.timestamp() * 1e9 == event[min(test)]
    times = sorted(set(event))
    blocks, current = [], []
    for t in times:  # contiguous runs of tested timestamps
        if t in tested_times:
            current.append(t)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    for block in blocks:
        inside = [i for i in test if event[i] in block]
        first_arrival = min(arrival[i] for i in inside)
        span_end = max(ends[i] for i in inside)
        for i in train:
            if event[i] < block[0]:
                assert ends[i] + arrival[i] - event[i] <= first_arrival, "label information arrives too late"
                if embargo is not None and side == "before" and embargo[1] > 0:
                    gap = sum(1 for t in times if event[i] <= t < block[0])
                    assert (gap > embargo[1]) if embargo[0] == "bars" else (event[i] < block[0] - embargo[1])
            if event[i] > block[-1]:
                assert event[i] > span_end, "features about a time inside the test labels' span"
                if embargo is not None and side == "after" and embargo[1] > 0:
                    gap = sum(1 for t in times if block[-1] < t <= event[i])
                    assert (gap > embargo[1]) if embargo[0] == "bars" else (event[i] > block[-1] + embargo[1])


@settings(max_examples=60, deadline=None)
@given(data=st.data(), panel=panels(min_times=8, max_times=30))
def test_walk_forward_matches_the_reference_and_keeps_the_invariants(data, panel):
    df, rows, ends, purge = _case(panel, data.draw(horizons(len(panel[0]))))
    train, test = data.draw(lengths_train), data.draw(lengths_test)
    step = data.draw(st.one_of(st.none(), st.integers(0, 3).map(lambda extra: (test[0], test[1] * (1 + extra)))))
    mode = data.draw(st.sampled_from(["rolling", "expanding"]))
    embargo = data.draw(embargoes())
    expected = reference.walk_forward(rows, ends, train=train, test=test, step=step, mode=mode, embargo=embargo)
    kwargs = dict(train=to_api(train), test=to_api(test), step=to_api(step), mode=mode)
    if expected is None:
        with pytest.raises(ConfigError):
            walk_forward(df, **kwargs, purge=purge, embargo=to_api(embargo))

        return
    splits = walk_forward(df, **kwargs, purge=purge, embargo=to_api(embargo))
    assert [_as_lists(s) for s in splits] == expected
    assert splits.n_rows == len(rows.event)
    for earlier, later in itertools.pairwise(splits):
        assert earlier.test_end < later.test_start  # ordered, never overlapping
    for s in splits:
        _check_invariants(s, rows.event, rows.arrival, ends, embargo, "before")
        kept = s.train.tolist()
        assert s.label_end.timestamp() * 1e9 == max(ends[i] for i in kept)
        assert s.ready.timestamp() * 1e9 == max(ends[i] + rows.arrival[i] - rows.event[i] for i in kept)
        assert s.train_start.timestamp() * 1e9 == rows.event[kept[0]]
        assert s.train_end.timestamp() * 1e9 == rows.event[kept[-1]]


@settings(max_examples=50, deadline=None)
@given(data=st.data(), panel=panels(min_times=4, max_times=18))
def test_cpcv_matches_the_reference_and_keeps_the_invariants(data, panel):
    df, rows, ends, purge = _case(panel, data.draw(horizons(len(panel[0]))))
    n_groups = data.draw(st.integers(2, min(6, len(rows.times))))
    k = data.draw(st.integers(1, n_groups - 1))
    embargo = data.draw(embargoes())
    expected = reference.cpcv(rows, ends, n_groups=n_groups, n_test_groups=k, embargo=embargo)
    if expected is None:
        with pytest.raises(ConfigError):
            cpcv(df, n_groups=n_groups, n_test_groups=k, purge=purge, embargo=to_api(embargo))

        return
    splits = cpcv(df, n_groups=n_groups, n_test_groups=k, purge=purge, embargo=to_api(embargo))
    assert [(*_as_lists(s), s.groups) for s in splits] == expected
    for s in splits:
        _check_invariants(s, rows.event, rows.arrival, ends, embargo, "after")


@settings(max_examples=40, deadline=None)
@given(n_groups=st.integers(2, 9), data=st.data())
def test_cpcv_combinatorics_and_paths(n_groups, data):
    k = data.draw(st.integers(1, n_groups - 1))
    n_times = data.draw(st.integers(n_groups, 3 * n_groups))
    splits = cpcv(frame([i * HOUR for i in range(n_times)]), n_groups=n_groups, n_test_groups=k)
    assert len(splits) == math.comb(n_groups, k)
    for g in range(n_groups):
        assert sum(g in s.groups for s in splits) == math.comb(n_groups - 1, k - 1)
    assert len(splits.paths) == splits.n_paths == math.comb(n_groups, k) * k // n_groups
    for path in splits.paths:
        assert len(path) == n_groups
        for g, split in enumerate(path):
            assert g in splits[split].groups
    covered = {(split, g) for path in splits.paths for g, split in enumerate(path)}
    assert covered == {(s.index, g) for s in splits for g in s.groups}  # every (split, group) test on one path
    sizes = np.bincount(splits.row_groups)
    assert sizes.tolist() == [len(a) for a in np.array_split(np.arange(n_times), n_groups)]

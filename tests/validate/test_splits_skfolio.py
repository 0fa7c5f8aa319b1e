"""Cross-checks against skfolio and scikit-learn where the definitions coincide: one symbol, regular bars, zero
latency, purge and embargo in bars. The parameter mapping is the one ``ml4t.validate._splits`` documents.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from skfolio.model_selection import CombinatorialPurgedCV, WalkForward
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import TimeSeriesSplit, cross_val_score
from tests.validate.datasets import BASE, DAY, daily

from ml4t.errors import ConfigError
from ml4t.validate import cpcv, walk_forward


def _idx(pairs):
    return [(np.asarray(train).tolist(), np.asarray(test).tolist()) for train, test in pairs]


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(8, 60),
    train=st.integers(1, 10),
    test=st.integers(1, 6),
    purged=st.integers(0, 4),
    expanding=st.booleans(),
)
def test_walk_forward_equals_skfolio_walk_forward(n, train, test, purged, expanding):
    if train + purged + test > n:
        return
    theirs = _idx(
        WalkForward(train_size=train, test_size=test, purged_size=purged, expand_train=expanding).split(np.zeros(n))
    )
    mode = "expanding" if expanding else "rolling"
    data = daily(n)
    # skfolio's purged_size is a gap before the test block: ml4t's walk-forward embargo, or a label horizon of
    # purged + 1 bars (labels ending at the first test bar have arrived in time)
    as_embargo = walk_forward(data, train=train + purged, test=test, mode=mode, embargo=purged)
    as_purge = walk_forward(data, train=train + purged, test=test, mode=mode, purge=purged + 1)
    assert _idx(as_embargo) == theirs
    assert _idx(as_purge) == theirs
    assert [s.embargoed for s in as_embargo] == [purged] * len(theirs)
    assert [s.purged for s in as_purge] == [purged] * len(theirs)


@settings(max_examples=60, deadline=None)
@given(
    n_groups=st.integers(3, 7),
    data=st.data(),
)
def test_cpcv_equals_skfolio_combinatorial_purged_cv(n_groups, data):
    k = data.draw(st.integers(2, n_groups - 1))
    size = data.draw(st.integers(3, 8))
    horizon = data.draw(st.integers(0, size - 2))
    embargo = data.draw(st.integers(0, size - 2))
    # ml4t (purge=h, embargo=x) is skfolio (purged_size=h-1, embargo_size=max(h, x)-(h-1)); without a horizon
    # (purged_size=0, embargo_size=x)
    purged_size = max(horizon - 1, 0)
    embargo_size = max(horizon, embargo) - purged_size
    if purged_size + embargo_size >= size - 1:  # skfolio's own limit
        return
    n = n_groups * size  # equal folds: skfolio puts a remainder in its last fold, ml4t spreads it
    cv = CombinatorialPurgedCV(n_folds=n_groups, n_test_folds=k, purged_size=purged_size, embargo_size=embargo_size)
    theirs = [(train, np.concatenate(tests)) for train, tests in cv.split(np.zeros((n, 1)))]
    if any(train.size == 0 for train, _ in theirs):  # skfolio yields an empty training set, ml4t refuses it
        with pytest.raises(ConfigError, match="no training row left"):
            cpcv(daily(n), n_groups=n_groups, n_test_groups=k, purge=horizon, embargo=embargo)
        return
    ours = cpcv(daily(n), n_groups=n_groups, n_test_groups=k, purge=horizon or None, embargo=embargo or None)
    assert _idx(ours) == _idx(theirs)
    assert ours.paths == tuple(map(tuple, cv.recombined_paths.T))
    path_ids = cv.get_path_ids()
    for s in ours:
        for j, g in enumerate(s.groups):  # skfolio's path id of the j-th test group of split s
            assert ours.paths[path_ids[s.index, j]][g] == s.index


def test_expanding_walk_forward_equals_scikit_learn_time_series_split_with_gap():
    n, test, gap = 40, 5, 2
    theirs = _idx(TimeSeriesSplit(n_splits=6, test_size=test, gap=gap).split(np.zeros(n)))
    first_test = n - 6 * test
    ours = walk_forward(
        daily(n), train=first_test, test=test, mode="expanding", embargo=gap
    )  # the first test block after `train` bars; the gap is the embargo
    assert _idx(ours) == theirs
    assert ours[0].test_start.timestamp() * 1e9 == BASE + first_test * DAY


@pytest.mark.parametrize(
    "make",
    [lambda d: walk_forward(d, train=20, test=10, purge=3), lambda d: cpcv(d, n_groups=5, n_test_groups=2, purge=3)],
)
def test_scikit_learn_cross_val_score_takes_the_splits(make):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(60, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + rng.normal(scale=0.1, size=60)
    splits = make(daily(60))
    scores = cross_val_score(LinearRegression(), X, y, cv=splits)
    assert scores.shape == (len(splits),) and (scores > 0.9).all()

"""The Rust extension's boundary: arrays in, arrays out, errors mapped onto ml4t.errors."""

import numpy as np
import pytest

import ml4t
from ml4t import _core


def _index(arrivals, offsets):
    return _core.PitIndex(np.array(arrivals, dtype=np.int64), np.array(offsets, dtype=np.int64))


def test_version_matches_package():
    assert _core.__version__ == ml4t.__version__


def test_counts_equality_edge():
    index = _index([10, 20, 20, 30, 5, 40], [0, 4, 6])
    assert len(index) == 2
    assert index.counts(9).tolist() == [0, 1]
    assert index.counts(19).tolist() == [1, 1]
    assert index.counts(20).tolist() == [3, 1]  # arriving exactly at now is visible
    assert index.counts(40).tolist() == [4, 2]
    assert [index.count(0, 20), index.count(1, 4)] == [3, 0]


def test_index_is_a_copy_so_later_writes_cannot_change_it():
    arrivals = np.array([1, 2, 3], dtype=np.int64)
    index = _core.PitIndex(arrivals, np.array([0, 3], dtype=np.int64))
    arrivals[:] = 100
    assert index.count(0, 2) == 2


def test_unsorted_group_raises_data_error_with_timestamp():
    with pytest.raises(ml4t.DataError, match="sorted") as info:
        _index([3, 2], [0, 2])
    assert info.value.timestamp == 2


@pytest.mark.parametrize("offsets", [[0, 1], [1, 2], [0, 2, 1, 2]])
def test_bad_offsets_raise_config_error(offsets):
    with pytest.raises(ml4t.ConfigError, match="offsets"):
        _index([1, 2], offsets)


def test_group_out_of_range_and_wrong_dtype():
    index = _index([1], [0, 1])
    with pytest.raises(IndexError):
        index.count(1, 0)
    with pytest.raises(TypeError):
        _core.PitIndex(np.array([1.0]), np.array([0, 1], dtype=np.int64))

"""The Rust extension's boundary: arrays in, arrays out, errors mapped onto ml4t.errors."""

import numpy as np
import pytest

import ml4t
from ml4t import _core


def test_version_matches_package():
    assert _core.__version__ == ml4t.__version__


def test_visible_counts_equality_edge():
    arrivals = np.array([10, 20, 20, 30, 5, 40], dtype=np.int64)
    offsets = np.array([0, 4, 6], dtype=np.int64)
    assert _core.visible_counts(arrivals, offsets, 9).tolist() == [0, 1]
    assert _core.visible_counts(arrivals, offsets, 20).tolist() == [3, 1]
    assert _core.visible_counts(arrivals, offsets, 19).tolist() == [1, 1]
    assert _core.visible_counts(arrivals, offsets, 40).tolist() == [4, 2]


def test_unsorted_group_raises_data_error_with_timestamp():
    with pytest.raises(ml4t.DataError, match="sorted") as info:
        _core.visible_counts(np.array([3, 2], dtype=np.int64), np.array([0, 2], dtype=np.int64), 0)
    assert info.value.timestamp == 2


def test_bad_offsets_raise_config_error():
    with pytest.raises(ml4t.ConfigError, match="offsets"):
        _core.visible_counts(np.array([1, 2], dtype=np.int64), np.array([0, 1], dtype=np.int64), 0)


def test_wrong_dtype_is_a_type_error():
    with pytest.raises(TypeError):
        _core.visible_counts(np.array([1.0]), np.array([0, 1], dtype=np.int64), 0)

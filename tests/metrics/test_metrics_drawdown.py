"""Maximum drawdown duration on hand-made wealth paths, and against a slow obvious reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import ml4t.metrics as m


@pytest.mark.parametrize(
    ("returns", "bars"),
    [
        ([0.0, 0.0, 0.0], 0),  # never below a peak
        ([0.01, 0.02], 0),
        ([-0.05], 1),  # a loss on the first bar is a drawdown from the starting capital
        ([-0.05, 0.0, 0.0], 3),  # never recovered: runs to the last bar
        ([-0.1, 0.2, 0.01], 2),  # peak = start, regained on bar 2
        ([0.1, -0.1, -0.1, 0.05], 3),  # peak after bar 1, never regained
        ([0.5, -0.5, 1.0, 0.0], 2),  # regained exactly (1.5 -> 0.75 -> 1.5)
        # two drawdowns: 2 bars (regained on bar 3), then 4 bars (regained on bar 7)
        ([0.1, -0.05, 0.06, -0.01, -0.01, -0.01, 0.05, 0.0], 4),
        # the longer one first, then a shorter unrecovered one
        ([0.1, -0.01, -0.01, -0.01, 0.05, -0.02], 4),
        ([-0.1, np.nan, 0.2], 3),  # a missing bar is flat, and still elapses
    ],
)
def test_hand_made_paths(returns: list[float], bars: int) -> None:
    assert m.max_drawdown_duration(np.array(returns)) == bars


def test_columns_at_once() -> None:
    cols = [[-0.05, 0.0, 0.0], [-0.1, 0.2, 0.01], [0.0, 0.0, 0.0]]
    assert m.max_drawdown_duration(np.array(cols).T).tolist() == [3.0, 2.0, 0.0]


def test_drawdown_series_starts_from_the_starting_capital() -> None:
    dd = m.drawdown_series(np.array([-0.1, 0.05, 0.1]))
    np.testing.assert_allclose(dd, [-0.1, 0.9 * 1.05 - 1, 0.0])
    assert m.max_drawdown([-0.1, 0.05, 0.1]) == pytest.approx(-0.1)


def simple_reference(returns: np.ndarray) -> int:
    wealth = np.concatenate([[1.0], np.cumprod(1.0 + np.nan_to_num(returns))])
    longest = 0
    for p in range(len(wealth)):
        if wealth[p] < wealth[: p + 1].max():
            continue  # not a peak
        later = [j for j in range(p + 1, len(wealth)) if wealth[j] >= wealth[p]]
        end = later[0] if later else len(wealth) - 1
        if end > p + 1 or (end == p + 1 and wealth[end] < wealth[p]):
            longest = max(longest, end - p)
    return longest


@settings(max_examples=80, deadline=None)
@given(arrays(np.float64, st.integers(0, 40), elements=st.sampled_from([-0.1, -0.05, 0.0, 0.05, 0.1, 0.25])))
def test_matches_a_slow_reference(r: np.ndarray) -> None:
    expected = simple_reference(r) if r.size else np.nan
    np.testing.assert_equal(m.max_drawdown_duration(r), expected)

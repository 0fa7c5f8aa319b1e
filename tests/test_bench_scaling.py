"""bench/scaling.py (``python -m bench.scaling``): the sizes it claims, and the caps that stop a peer."""

from __future__ import annotations

import pytest
from bench import scaling


@pytest.mark.parametrize("size", list(scaling.COMBO_GRIDS))
def test_the_combinations_row_has_the_combinations_it_names(size: int):
    fast, slow = scaling._windows("combinations", size)
    assert len(fast) * len(slow) == size
    assert max(slow) < scaling.COMBO_BARS


def test_the_bars_row_sweeps_100_combinations():
    fast, slow = scaling._windows("bars", scaling.BARS_SIZES[0])
    assert len(fast) * len(slow) == 100
    assert max(slow) < min(scaling.BARS_SIZES)


def test_a_point_over_the_memory_cap_is_killed_and_reported(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(scaling, "MEMORY_CAP", 1)  # any interpreter is over one byte
    point = scaling.run_point("event", "ml4t", 100)
    assert point["error"] == "killed at 0 MB"

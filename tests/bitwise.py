"""Bit-for-bit comparison of two sweeps, shared by the cache and scale-out tests."""

from __future__ import annotations

import numpy as np
import polars as pl


def assert_same_sweep(a, b) -> None:
    """Assert two sweeps' metrics are equal bit for bit (every Float64 column compared as uint64), and their
    PBO, deflated Sharpe and trial counts too."""
    assert a.metrics.equals(b.metrics)
    for name, dtype in a.metrics.schema.items():
        if dtype == pl.Float64:
            bits = [s.metrics[name].to_numpy().view(np.uint64) for s in (a, b)]
            assert np.array_equal(*bits), name
    fa, fb = a.overfitting(), b.overfitting()
    for name in ("pbo", "deflated_sharpe", "n_trials"):
        assert np.array_equal(np.asarray(getattr(fa, name)), np.asarray(getattr(fb, name)), equal_nan=True), name

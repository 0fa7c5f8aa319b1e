"""The portfolio bench workloads do the same work in every engine: the same weights on the same bars.

Small sizes, no timings. The weight matrices are checked against the rule written out in plain NumPy, both
vectorbt ways against each other, and ml4t's sweep against vectorbt (total return and Sharpe to 1e-9).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from bench import portfolio as pf

CONFIG = pf.Config(n_symbols=6, n_bars=260, lookbacks=(21, 63), top_ks=(2, 3))

pytestmark = pytest.mark.filterwarnings(
    "ignore:The inplace keyword in DataFrame.rename is deprecated:pandas.errors.Pandas4Warning"
)


@pytest.fixture(scope="module")
def bars() -> Any:
    return pf.panel_bars(CONFIG)


@pytest.fixture(scope="module")
def matrices(bars: Any) -> tuple[np.ndarray, list[np.ndarray]]:
    return pf.weight_matrices(bars, CONFIG)


def _month_starts(bars: Any) -> np.ndarray:
    ts = bars.frame.sort("ts_event")["ts_event"].unique(maintain_order=True).to_list()
    return np.array([i == 0 or t.month != ts[i - 1].month for i, t in enumerate(ts)])


def test_weights_hold_the_top_k_by_momentum_on_month_starts(bars: Any, matrices: Any) -> None:
    close, weights = matrices
    starts = _month_starts(bars)
    assert close.shape == (CONFIG.n_bars, CONFIG.n_symbols)
    assert len(weights) == len(CONFIG.combos)
    for (lookback, k), w in zip(CONFIG.combos, weights, strict=True):
        assert np.isnan(w[~starts]).all()  # between rebalances: left alone
        for t in np.flatnonzero(starts):
            if t < lookback:
                assert (w[t] == 0).all()  # no momentum yet: flat
                continue
            momentum = close[t] / close[t - lookback] - 1
            top = np.argsort(-momentum, kind="stable")[:k]
            expected = np.zeros(CONFIG.n_symbols)
            expected[top] = 1.0 / k
            np.testing.assert_array_equal(w[t], expected)
    assert starts.sum() > 10


def test_vectorbt_stacked_and_looped_agree(matrices: Any) -> None:
    pytest.importorskip("vectorbt")
    stacked = pf.vectorbt_stacked(*matrices)
    looped = pf.vectorbt_loop(*matrices)
    np.testing.assert_allclose(stacked[0], looped[0], rtol=1e-12)
    np.testing.assert_allclose(stacked[1], looped[1], rtol=1e-12)
    assert np.ptp(stacked[0]) > 0  # the combinations differ


def test_ml4t_matches_vectorbt(bars: Any, matrices: Any) -> None:
    pytest.importorskip("vectorbt")
    total, sharpe = pf.ml4t_sweep(pf.ml4t_strategy(), bars, CONFIG)
    expected_total, expected_sharpe = pf.vectorbt_loop(*matrices)
    np.testing.assert_allclose(total, expected_total, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sharpe, expected_sharpe, rtol=1e-9, atol=1e-12)
    chunked = pf.ml4t_sweep(pf.ml4t_strategy(), bars, CONFIG, chunk_size=1)  # the bench's chunked row
    np.testing.assert_array_equal(chunked[0], total)

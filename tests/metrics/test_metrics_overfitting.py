"""Deflated Sharpe ratio and probability of backtest overfitting.

The formulas are evaluated by hand here with numpy/scipy (never through ml4t's helpers), and CSCV is
checked against a slow, obvious loop over the block combinations.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import ml4t.metrics as m
from ml4t.errors import ConfigError


def hand_psr(r: np.ndarray, benchmark: float) -> float:
    sr = r.mean() / r.std(ddof=1)
    g3 = stats.skew(r)
    g4 = stats.kurtosis(r, fisher=False)
    z = (sr - benchmark) * math.sqrt(len(r) - 1) / math.sqrt(1 - g3 * sr + (g4 - 1) / 4 * sr**2)
    return float(stats.norm.cdf(z))


def hand_sr0(n: float, variance: float) -> float:
    g = np.euler_gamma
    return math.sqrt(variance) * ((1 - g) * stats.norm.ppf(1 - 1 / n) + g * stats.norm.ppf(1 - 1 / (n * math.e)))


@pytest.fixture
def trials() -> np.ndarray:
    rng = np.random.default_rng(11)
    x = rng.standard_t(5, (750, 40)) * 0.01
    x[:, 17] += 0.0025  # one trial with an edge
    return x


def test_psr_matches_the_formula(trials: np.ndarray) -> None:
    r = trials[:, 17]
    assert m.probabilistic_sharpe_ratio(r) == pytest.approx(hand_psr(r, 0.0), rel=1e-12)
    assert m.probabilistic_sharpe_ratio(r, 0.05) == pytest.approx(hand_psr(r, 0.05), rel=1e-12)
    cols = m.probabilistic_sharpe_ratio(trials[:, :5], 0.01)
    np.testing.assert_allclose(cols, [hand_psr(trials[:, j], 0.01) for j in range(5)], rtol=1e-12)


def test_dsr_matches_the_formula(trials: np.ndarray) -> None:
    sr = trials.mean(axis=0) / trials.std(axis=0, ddof=1)
    best = int(np.argmax(sr))
    assert best == 17
    variance = float(np.var(sr, ddof=1))
    expected = hand_psr(trials[:, best], hand_sr0(40, variance))
    assert m.deflated_sharpe_ratio(trials) == pytest.approx(expected, rel=1e-12)
    # an explicit trial count, variance and column
    expected = hand_psr(trials[:, 3], hand_sr0(500, 0.002))
    got = m.deflated_sharpe_ratio(trials, n_trials=500, sharpe_variance=0.002, index=3)
    assert got == pytest.approx(expected, rel=1e-12)
    assert m.expected_max_sharpe(40, variance) == pytest.approx(hand_sr0(40, variance), rel=1e-12)


def test_more_trials_deflate_more(trials: np.ndarray) -> None:
    values = [m.deflated_sharpe_ratio(trials, n_trials=n) for n in (40, 100, 1_000, 10_000)]
    assert all(a > b for a, b in itertools.pairwise(values))
    assert values[0] < m.probabilistic_sharpe_ratio(trials[:, 17])  # selection costs confidence
    sr0 = [m.expected_max_sharpe(n, 0.01) for n in (1, 2, 10, 100, 1_000)]
    assert sr0[0] == 0.0
    assert all(a < b for a, b in itertools.pairwise(sr0))


def test_identical_strategies_are_one_trial() -> None:
    rng = np.random.default_rng(5)
    r = rng.normal(0.0, 0.01, 500)
    same = np.repeat(r[:, None], 20, axis=1)
    # no dispersion between the trials' Sharpe ratios: nothing to select, DSR is PSR against 0
    assert m.deflated_sharpe_ratio(same) == pytest.approx(hand_psr(r, 0.0), rel=1e-12)
    assert 0.0 < m.deflated_sharpe_ratio(same) < 1.0


def test_dsr_of_one_series_needs_the_trials_variance() -> None:
    r = np.random.default_rng(6).normal(0.001, 0.01, 300)
    with pytest.raises(ConfigError) as info:
        m.deflated_sharpe_ratio(r)
    assert info.value.argument == "sharpe_variance"
    got = m.deflated_sharpe_ratio(r, n_trials=50, sharpe_variance=0.001)
    assert got == pytest.approx(hand_psr(r, hand_sr0(50, 0.001)), rel=1e-12)
    for kwargs, argument in (
        ({"n_trials": 0.5, "sharpe_variance": 0.1}, "n_trials"),
        ({"n_trials": 5, "sharpe_variance": -0.1}, "sharpe_variance"),
        ({"n_trials": 5, "sharpe_variance": 0.1, "index": 1}, "index"),
    ):
        with pytest.raises(ConfigError) as info:
            m.deflated_sharpe_ratio(r, **kwargs)  # type: ignore[arg-type]
        assert info.value.argument == argument


def test_psr_undefined_cases_are_nan() -> None:
    assert math.isnan(m.probabilistic_sharpe_ratio([]))
    assert math.isnan(m.probabilistic_sharpe_ratio([0.01]))
    assert math.isnan(m.probabilistic_sharpe_ratio(np.full(10, 0.01)))
    assert np.isnan(m.probabilistic_sharpe_ratio(np.full((10, 3), np.nan))).all()


# --- PBO ---------------------------------------------------------------------------------------------


def slow_pbo(x: np.ndarray, n_splits: int) -> tuple[float, np.ndarray]:
    blocks = np.array_split(np.arange(x.shape[0]), n_splits)
    logits = []
    for combo in itertools.combinations(range(n_splits), n_splits // 2):
        ins = np.concatenate([blocks[i] for i in combo])
        outs = np.concatenate([blocks[i] for i in range(n_splits) if i not in combo])
        sr_in = x[ins].mean(axis=0) / x[ins].std(axis=0, ddof=1)
        sr_out = x[outs].mean(axis=0) / x[outs].std(axis=0, ddof=1)
        w = stats.rankdata(sr_out)[np.argmax(sr_in)] / (x.shape[1] + 1)
        logits.append(math.log(w / (1 - w)))
    out = np.array(logits)
    return float(np.mean(out <= 0)), out


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    rows=st.integers(20, 120),
    cols=st.integers(2, 12),
    n_splits=st.sampled_from([2, 4, 6, 8]),
)
def test_pbo_matches_a_slow_reference(seed: int, rows: int, cols: int, n_splits: int) -> None:
    x = np.random.default_rng(seed).normal(0.0, 0.01, (rows, cols))
    got = m.probability_of_backtest_overfitting(x, n_splits=n_splits)
    pbo, logits = slow_pbo(x, n_splits)
    assert got.n_combinations == math.comb(n_splits, n_splits // 2) == len(got.logits)
    np.testing.assert_allclose(got.logits, logits, rtol=1e-9, atol=1e-12)
    assert got.pbo == pbo


def test_pbo_of_pure_noise_is_about_a_half() -> None:
    rng = np.random.default_rng(2024)
    got = m.probability_of_backtest_overfitting(rng.normal(0.0, 0.01, (1_000, 50)), n_splits=16)
    assert got.n_combinations == 12_870
    assert 0.3 <= got.pbo <= 0.7
    # and on average over many noise matrices
    mean = np.mean(
        [m.probability_of_backtest_overfitting(rng.normal(0.0, 0.01, (240, 20)), n_splits=8).pbo for _ in range(30)]
    )
    assert 0.4 <= mean <= 0.6


def test_pbo_of_a_persistent_edge_is_near_zero() -> None:
    rng = np.random.default_rng(9)
    x = rng.normal(0.0, 0.01, (1_000, 50))
    x[:, 7] += 0.004  # Sharpe ~ 6 a year among noise
    got = m.probability_of_backtest_overfitting(x)
    assert got.pbo < 0.05
    assert np.median(got.logits) > 2


def test_pbo_handles_flat_and_missing_trials() -> None:
    rng = np.random.default_rng(10)
    x = rng.normal(0.0, 0.01, (200, 6))
    x[:, 0] = 0.0  # a flat trial (never traded)
    x[::7, 1] = np.nan
    got = m.probability_of_backtest_overfitting(x, n_splits=8)
    assert np.isfinite(got.logits).all()
    assert 0.0 <= got.pbo <= 1.0
    assert 0.0 <= m.probability_of_backtest_overfitting(x, n_splits=8, metric="mean").pbo <= 1.0


@pytest.mark.parametrize(
    ("shape", "kwargs", "argument"),
    [
        ((100, 5), {"n_splits": 7}, "n_splits"),
        ((100, 5), {"n_splits": 0}, "n_splits"),
        ((10, 5), {"n_splits": 16}, "n_splits"),
        ((100, 1), {}, "returns"),
        ((100,), {}, "returns"),
        ((100, 5), {"metric": "sortino"}, "metric"),
    ],
)
def test_pbo_validates_its_input(shape: tuple[int, ...], kwargs: dict[str, object], argument: str) -> None:
    with pytest.raises(ConfigError) as info:
        m.probability_of_backtest_overfitting(np.zeros(shape), **kwargs)  # type: ignore[arg-type]
    assert info.value.argument == argument


def test_trials_equal_over_a_half_tie_whatever_the_rounding() -> None:
    # trial 1 is trial 0 except in the first block: wherever the other half lies in the last blocks, their
    # scores there are equal, although each is summed around its own mean and rounds differently
    rng = np.random.default_rng(12)
    x = rng.normal(0.0003, 0.01, (160, 5))
    x[:, 1] = x[:, 0]
    x[:20, 1] += rng.normal(0.0, 0.01, 20)
    got = m.probability_of_backtest_overfitting(x, n_splits=8)
    pbo, logits = slow_pbo(x, 8)
    np.testing.assert_allclose(got.logits, logits, rtol=1e-9, atol=1e-12)
    assert got.pbo == pbo


# --- the same statistics from moments and block sums ---------------------------------------------------


def plain_moments(x: np.ndarray) -> m.ReturnMoments:
    """Per column, by loops over the non-NaN values."""
    cols = []
    for j in range(x.shape[1]):
        v = [float(r) for r in x[:, j] if not math.isnan(r)]
        mean = sum(v) / len(v) if v else math.nan
        cols.append((len(v), mean, *(sum((r - mean) ** k for r in v) for k in (2, 3, 4)), len(set(v)) == 1 < len(v)))
    count, mean, m2, m3, m4, constant = (np.array(c) for c in zip(*cols, strict=True))
    return m.ReturnMoments(count=count, mean=mean, m2=m2, m3=m3, m4=m4, constant=constant)


def plain_blocks(x: np.ndarray, n_splits: int) -> m.BlockSums:
    """Per block and column, by loops over the non-NaN values."""
    mean = np.array([np.nanmean(x[:, j]) if (~np.isnan(x[:, j])).any() else 0.0 for j in range(x.shape[1])])
    sums = np.zeros((3, n_splits, x.shape[1]))
    for b, rows in enumerate(np.array_split(np.arange(x.shape[0]), n_splits)):
        for j in range(x.shape[1]):
            dev = [float(x[t, j] - mean[j]) for t in rows if not math.isnan(x[t, j])]
            sums[:, b, j] = (len(dev), sum(dev), sum(d * d for d in dev))
    return m.BlockSums(count=sums[0], s1=sums[1], s2=sums[2], mean=mean)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(20, 80), cols=st.integers(2, 8))
def test_moments_and_blocks_give_the_matrix_statistics(seed: int, rows: int, cols: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.standard_t(4, (rows, cols)) * 0.01
    x[rng.random((rows, cols)) < 0.1] = np.nan
    x[:, 0] = np.where(np.isnan(x[:, 0]), np.nan, 0.0)  # a flat trial
    moments = plain_moments(x)
    got = m.deflated_sharpe_from_moments(moments)
    assert got.n_trials == cols
    for j in range(cols):
        want = m.deflated_sharpe_ratio(x, index=j)
        assert math.isnan(want) == math.isnan(got.dsr[j])
        if not math.isnan(want):
            assert got.dsr[j] == pytest.approx(want, rel=1e-9)
    pbo = m.pbo_from_blocks(plain_blocks(x, 4))
    np.testing.assert_allclose(pbo.logits, m.probability_of_backtest_overfitting(x, n_splits=4).logits, rtol=1e-9)


def test_moments_and_blocks_against_a_textbook_computation() -> None:
    # DSR with scipy's skewness and kurtosis, CSCV by loops over the block combinations, on a random matrix
    rng = np.random.default_rng(21)
    x = rng.standard_t(5, (400, 12)) * 0.01
    x[:, 4] += 0.002
    got = m.deflated_sharpe_from_moments(plain_moments(x))
    sr = x.mean(axis=0) / x.std(axis=0, ddof=1)
    variance = float(np.var(sr, ddof=1))
    assert got.sharpe_variance == pytest.approx(variance, rel=1e-12)
    assert got.expected_max_sharpe == pytest.approx(hand_sr0(12, variance), rel=1e-12)
    for j in range(12):
        assert got.dsr[j] == pytest.approx(hand_psr(x[:, j], hand_sr0(12, variance)), rel=1e-9)
    pbo = m.pbo_from_blocks(plain_blocks(x, 8))
    want, logits = slow_pbo(x, 8)
    np.testing.assert_allclose(pbo.logits, logits, rtol=1e-9, atol=1e-12)
    assert pbo.pbo == want


def test_one_trial_from_moments_is_not_deflated() -> None:
    r = np.random.default_rng(8).normal(0.001, 0.01, (250, 1))
    got = m.deflated_sharpe_from_moments(plain_moments(r))
    assert (got.n_trials, got.expected_max_sharpe) == (1.0, 0.0)
    assert math.isnan(got.sharpe_variance)
    assert got.dsr[0] == pytest.approx(hand_psr(r[:, 0], 0.0), rel=1e-9)
    # told of more trials, with no variance to go by: undefined
    assert math.isnan(m.deflated_sharpe_from_moments(plain_moments(r), n_trials=10).dsr[0])


def test_block_sums_are_checked() -> None:
    x = np.random.default_rng(1).normal(0.0, 0.01, (40, 3))
    with pytest.raises(ConfigError) as info:
        m.pbo_from_blocks(plain_blocks(x, 3))
    assert info.value.argument == "blocks"
    with pytest.raises(ConfigError) as info:
        m.pbo_from_blocks(plain_blocks(x[:, :1], 4))
    assert info.value.argument == "blocks"

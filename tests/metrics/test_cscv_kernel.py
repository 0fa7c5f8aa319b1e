"""The compiled CSCV kernel behind ``pbo_from_blocks`` against the NumPy computation it replaced (kept here as
the slow reference): per split, every trial's in- and out-of-sample score from the chosen blocks' summed sums,
the first in-sample best up to the 1e-9 tie, its relative out-of-sample rank and logit.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ml4t.metrics as m
from ml4t.errors import ConfigError

TIE = 1e-9


def reference_scores(s1: np.ndarray, s2: np.ndarray, n: np.ndarray, mu: np.ndarray, metric: str) -> np.ndarray:
    """Per-trial score of a half, as the docstring of ``probability_of_backtest_overfitting`` states it."""
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = s1 / n + mu
        mean = np.where(np.abs(mean) <= 1e-9 * np.maximum(np.abs(s1 / n), np.abs(mu)), 0.0, mean)
        if metric == "mean":
            return np.where(n >= 1, mean, -np.inf)
        spread = s2 - s1 * s1 / n
        flat = spread <= 1e-10 * s2
        sharpe = mean / np.sqrt(np.where(flat, 1.0, spread) / (n - 1))
        flat_score = np.where(mean > 0, np.inf, np.where(mean < 0, -np.inf, 0.0))
        return np.where(n >= 2, np.where(flat, flat_score, sharpe), -np.inf)


def reference_same(scores: np.ndarray, ref: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        close = np.abs(scores - ref) <= TIE * np.abs(ref)
        same: np.ndarray = (scores == ref) | (np.isfinite(ref) & close)
    return same


def reference_logits(blocks: m.BlockSums, metric: str) -> np.ndarray:
    """Every split in ``itertools.combinations`` order, its halves' sums by a 0/1 matrix product."""
    b1, b2, bn = (np.asarray(a, dtype=np.float64) for a in (blocks.s1, blocks.s2, blocks.count))
    n_splits, trials = b1.shape
    combos = list(itertools.combinations(range(n_splits), n_splits // 2))
    chosen = np.zeros((len(combos), n_splits))
    for i, combo in enumerate(combos):
        chosen[i, list(combo)] = 1.0
    rest = 1.0 - chosen
    mu = np.asarray(blocks.mean, dtype=np.float64)
    is_score = reference_scores(chosen @ b1, chosen @ b2, chosen @ bn, mu, metric)
    oos_score = reference_scores(rest @ b1, rest @ b2, rest @ bn, mu, metric)
    best = np.argmax(reference_same(is_score, is_score.max(axis=1, keepdims=True)), axis=1)
    picked = oos_score[np.arange(len(best)), best][:, None]
    tie = reference_same(oos_score, picked)
    below = ((oos_score < picked) & ~tie).sum(axis=1)
    w = (below + (tie.sum(axis=1) + 1) / 2.0) / (trials + 1)
    logits: np.ndarray = np.log(w / (1.0 - w))
    return logits


@st.composite
def block_sums(draw: st.DrawFn) -> m.BlockSums:
    """Sums of ``trials`` series over ``S`` blocks: varied counts (some halves with fewer than 2 values), flat
    trials, exact copies of a trial and near-copies within 1e-12 relative."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n_splits = draw(st.sampled_from([2, 4, 6, 8, 10]))
    trials = draw(st.integers(2, 9))
    count = rng.integers(0, 5, size=(n_splits, trials)).astype(np.float64)
    if draw(st.booleans()):
        count = np.where(rng.random(count.shape) < 0.7, count, 0.0)  # sparse: many halves with < 2 values
    s1 = rng.normal(0.0, 0.02, size=count.shape) * np.sqrt(count)
    spread = rng.uniform(1e-3, 2.0, size=count.shape) * 1e-4 * count
    s2 = np.where(count > 0, s1 * s1 / np.maximum(count, 1) + spread, 0.0)
    s1 = np.where(count > 0, s1, 0.0)
    mean = rng.normal(0.0, 0.005, size=trials)
    flat = draw(st.lists(st.integers(0, trials - 1), max_size=2))
    for t in flat:  # no dispersion: the score is the sign of the mean
        s1[:, t], s2[:, t] = 0.0, 0.0
        mean[t] = draw(st.sampled_from([-0.001, 0.0, 0.002]))
    for source, target, jitter in draw(
        st.lists(st.tuples(st.integers(0, trials - 1), st.integers(0, trials - 1), st.booleans()), max_size=3)
    ):
        count[:, target], s1[:, target], s2[:, target] = count[:, source], s1[:, source], s2[:, source]
        mean[target] = mean[source] * (1.0 + 1e-12) if jitter else mean[source]
    return m.BlockSums(count=count, s1=s1, s2=s2, mean=mean)


@settings(max_examples=150, deadline=None)
@given(blocks=block_sums(), metric=st.sampled_from(["sharpe", "mean"]))
def test_kernel_equals_the_numpy_reference(blocks: m.BlockSums, metric: str) -> None:
    got = m.pbo_from_blocks(blocks, metric)
    expected = reference_logits(blocks, metric)
    np.testing.assert_allclose(got.logits, expected, rtol=1e-12, atol=0.0)
    trials = [(blocks.count[:, t], blocks.s1[:, t], blocks.s2[:, t], blocks.mean[t]) for t in range(blocks.mean.size)]
    if all(all(np.array_equal(a, b) for a, b in zip(trial, trials[0], strict=True)) for trial in trials):
        assert math.isnan(got.pbo)  # every trial the same series: nothing was chosen, PBO undefined
    else:
        assert got.pbo == float(np.mean(expected <= 0.0))
    assert got.n_combinations == expected.size


@pytest.mark.parametrize("metric", ["sharpe", "mean"])
def test_kernel_equals_the_reference_on_returns_with_sixteen_blocks(metric: str) -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(0.0002, 0.01, size=(400, 40))
    x[:, 5] = x[:, 4]  # a copy: exact ties in every half
    x[:, 7] = 0.0  # flat
    x[rng.random(x.shape) < 0.05] = np.nan
    blocks = m.BlockSums.from_returns(x, 16)
    got = m.pbo_from_blocks(blocks, metric)
    expected = reference_logits(blocks, metric)
    assert got.n_combinations == 12_870
    np.testing.assert_allclose(got.logits, expected, rtol=1e-12, atol=0.0)
    assert got.pbo == float(np.mean(expected <= 0.0))


def test_sweep_sums_in_any_layout() -> None:
    # a sweep hands int64 counts and transposed (non-contiguous) views: the same logits as float copies
    rng = np.random.default_rng(5)
    count = rng.integers(2, 9, size=(6, 4))
    s1 = rng.normal(0.0, 0.01, size=(6, 4))
    s2 = s1 * s1 + 1e-4
    mean = rng.normal(0.0, 0.01, size=6)
    views = m.BlockSums(count=count.T, s1=s1.T, s2=s2.T, mean=mean)
    copies = m.BlockSums(
        count=np.array(count.T, dtype=np.float64, order="C"), s1=s1.T.copy(), s2=s2.T.copy(), mean=mean
    )
    np.testing.assert_array_equal(m.pbo_from_blocks(views).logits, m.pbo_from_blocks(copies).logits)
    np.testing.assert_array_equal(m.pbo_from_blocks(views).logits, reference_logits(copies, "sharpe"))


@pytest.mark.parametrize(("n_splits", "trials"), [(26, 3), (3, 3), (4, 1), (0, 3)])
def test_block_counts_outside_the_kernel_are_config_errors(n_splits: int, trials: int) -> None:
    zeros = np.zeros((n_splits, trials))
    with pytest.raises(ConfigError) as info:
        m.pbo_from_blocks(m.BlockSums(count=zeros, s1=zeros, s2=zeros, mean=np.zeros(trials)))
    assert info.value.argument == "blocks"


def test_a_half_of_flat_bars_scores_zero_whatever_the_rounding() -> None:
    # found on a walk-forward fold whose training window began before any prediction: the trials are flat
    # over many blocks (each return exactly 0, so each deviation exactly -mean). Summed in different orders
    # (a matrix product, the kernel's tables), a flat half's mean came out +-1e-20 or 0 and ranked it +inf,
    # -inf or 0: the kernel and the reference disagreed on a third of the splits.
    rng = np.random.default_rng(8)
    x = np.zeros((320, 5))
    x[-40:] = rng.normal(0.0005, 0.01, size=(40, 5))  # trading only in the last two of 16 blocks
    blocks = m.BlockSums.from_returns(x, 16)
    got = m.pbo_from_blocks(blocks)
    np.testing.assert_array_equal(got.logits, reference_logits(blocks, "sharpe"))
    flat = [i for i, c in enumerate(itertools.combinations(range(16), 8)) if 14 not in c and 15 not in c]
    # in-sample all flat: every trial scores 0, the first is picked, and its out-of-sample rank (the last two
    # blocks, whatever flat blocks join them) is the same in every such split
    assert np.unique(got.logits[flat]).size == 1

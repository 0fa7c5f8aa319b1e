"""Statistics for a *set* of backtests: how much of the best result is selection luck.

A parameter sweep tries many strategies (trials) on the same history and keeps the best one. Its
Sharpe ratio is then biased upwards by the search. Two corrections are provided:

* the **deflated Sharpe ratio** (Bailey & López de Prado, 2014, "The Deflated Sharpe Ratio: Correcting
  for Selection Bias, Backtest Overfitting and Non-Normality", Journal of Portfolio Management 40(5)),
  built on the probabilistic Sharpe ratio (Bailey & López de Prado, 2012, "The Sharpe Ratio Efficient
  Frontier");
* the **probability of backtest overfitting** by combinatorially symmetric cross-validation (Bailey,
  Borwein, López de Prado & Zhu, 2015, "The Probability of Backtest Overfitting", Journal of
  Computational Finance 20(4)).

Inputs are simple per-period returns, ``bars x trials`` (one column per trial). Every Sharpe ratio here
is **per period**, not annualized (mean over sample standard deviation, ``ddof=1``): the formulas are
stated in those units, and a probability does not depend on the annualization factor. To compare with an
annualized Sharpe ratio ``S``, use ``S / sqrt(periods_per_year)``. NaN returns are skipped (missing).

Both statistics need only a few numbers per trial, not its returns: the deflated Sharpe ratio the count,
mean and central moment sums (:class:`ReturnMoments`), CSCV per block of bars the count of returns and the
sums of their deviations from the trial's mean and of the squares (:class:`BlockSums`). The functions over
a return matrix compute those and call the same core (:func:`deflated_sharpe_from_moments`,
:func:`pbo_from_blocks`) that a sweep, which keeps no return matrix, calls with its kernel's sums.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

from ml4t import _core
from ml4t._validate import is_integer, is_number
from ml4t.errors import ConfigError
from ml4t.metrics._checks import as_returns, finish, nan_moments, resolved_deviation

__all__ = [
    "BlockSums",
    "DeflatedSharpe",
    "PBOResult",
    "ReturnMoments",
    "deflated_sharpe_from_moments",
    "deflated_sharpe_ratio",
    "expected_max_sharpe",
    "probabilistic_sharpe_ratio",
    "pbo_from_blocks",
    "probability_of_backtest_overfitting",
]


_STANDARD_NORMAL = NormalDist()


def _normal_cdf(z: np.ndarray) -> np.ndarray:
    """Standard normal CDF elementwise (stdlib ``NormalDist``; NaN stays NaN)."""
    flat = [math.nan if math.isnan(v) else _STANDARD_NORMAL.cdf(v) for v in np.ravel(z).tolist()]
    return np.asarray(flat, dtype=np.float64).reshape(np.shape(z))


def _number(value: Any, argument: str) -> float:
    if not is_number(value):
        raise ConfigError(f"{argument} must be a number, got {value!r}", argument=argument)
    out = float(value)
    if not math.isfinite(out):
        raise ConfigError(f"{argument} must be finite, got {value!r}", argument=argument)
    return out


@dataclass(frozen=True, eq=False)
class ReturnMoments:
    """Per trial (series): what the deflated Sharpe ratio needs of its returns (NaN returns left out).

    ``count``: the number of returns; ``mean``: their mean (``sum / count``); ``m2``, ``m3``, ``m4``: the
    sums of the 2nd, 3rd and 4th powers of their deviations from ``mean``; ``constant``: whether all of
    them are equal (a constant series has no Sharpe ratio, whatever its rounding residue). 1-D arrays of
    one length. A sweep's kernel keeps exactly these per combination.
    """

    count: np.ndarray
    mean: np.ndarray
    m2: np.ndarray
    m3: np.ndarray
    m4: np.ndarray
    constant: np.ndarray

    @classmethod
    def from_returns(cls, returns: Any) -> ReturnMoments:
        """The moments of each column of ``bars x trials`` returns (a 1-D series is one trial)."""
        x, _ = as_returns(returns)
        count, mean, var = nan_moments(x)
        valid = ~np.isnan(x)
        dev = np.where(valid, x - mean, 0.0)
        sq = dev * dev
        m2 = sq.sum(axis=0)
        m3 = (sq * dev).sum(axis=0)
        m4 = (sq * sq).sum(axis=0)
        return cls(count, mean, m2, m3, m4, constant=(count > 1) & (var == 0.0))

    def sharpe_stats(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per trial: T (count), per-period Sharpe ratio (ddof=1), skewness and non-excess kurtosis.

        Skewness and kurtosis are the plain moment estimators ``m3 / m2**1.5`` and ``m4 / m2**2`` with
        ``m_k = sum((r - mean) ** k) / T`` (``scipy.stats.skew`` / ``kurtosis(fisher=False)`` with their
        default ``bias=True``). All NaN where the trial has fewer than two returns or no dispersion (none
        beyond the rounding of its mean, as for ``sharpe_ratio``).
        """
        count = np.asarray(self.count, dtype=np.float64)
        mean, m2 = np.asarray(self.mean, dtype=np.float64), np.asarray(self.m2, dtype=np.float64)
        var = np.full(count.shape, np.nan)
        np.divide(m2, count - 1.0, out=var, where=count > 1)
        var[np.asarray(self.constant, dtype=bool)] = 0.0
        ok = (count >= 2) & (m2 > 0) & resolved_deviation(np.sqrt(var), mean)
        sharpe, skew, kurt = np.full(count.shape, np.nan), np.full(count.shape, np.nan), np.full(count.shape, np.nan)
        np.divide(mean, np.sqrt(var), out=sharpe, where=ok)
        m2n = np.where(ok, m2 / np.maximum(count, 1), 1.0)
        np.divide(self.m3 / np.maximum(count, 1), m2n**1.5, out=skew, where=ok)
        np.divide(self.m4 / np.maximum(count, 1), m2n**2, out=kurt, where=ok)
        return count, sharpe, skew, kurt


def _psr(sharpe: np.ndarray, benchmark: Any, count: np.ndarray, skew: np.ndarray, kurt: np.ndarray) -> np.ndarray:
    """``Phi((SR - SR*) sqrt(T - 1) / sqrt(1 - skew SR + (kurt - 1) / 4 SR^2))``, NaN where undefined."""
    radicand = 1.0 - skew * sharpe + (kurt - 1.0) / 4.0 * sharpe**2
    ok = np.isfinite(sharpe) & np.isfinite(benchmark) & (count >= 2) & (radicand > 0)
    z = np.full(np.shape(sharpe), np.nan)
    num = (sharpe - benchmark) * np.sqrt(np.maximum(count - 1, 0))
    np.divide(num, np.sqrt(np.where(ok, radicand, 1.0)), out=z, where=ok)
    return _normal_cdf(z)


def probabilistic_sharpe_ratio(returns: Any, sr_benchmark: float = 0.0) -> Any:
    """Probabilistic Sharpe ratio: the probability that the true per-period Sharpe ratio exceeds
    ``sr_benchmark``, given the estimate ``SR`` from ``T`` returns with skewness ``g3`` and non-excess
    kurtosis ``g4`` (3 for a normal distribution):

        ``PSR = Phi((SR - sr_benchmark) * sqrt(T - 1) / sqrt(1 - g3 * SR + (g4 - 1) / 4 * SR**2))``

    ``SR = mean(r) / std(r, ddof=1)`` per period (not annualized, no risk-free rate; pass excess returns
    if one is wanted) and ``sr_benchmark`` is per period too. 1-D input gives a float, 2-D one value per
    column. NaN with fewer than two returns, constant returns, or a non-positive variance term.
    """
    benchmark = _number(sr_benchmark, "sr_benchmark")
    x, one_d = as_returns(returns)
    count, sharpe, skew, kurt = ReturnMoments.from_returns(x).sharpe_stats()
    return finish(_psr(sharpe, benchmark, count, skew, kurt), one_d)


def expected_max_sharpe(n_trials: float, variance: float) -> float:
    """Expected maximum of ``n_trials`` estimated Sharpe ratios when every true Sharpe ratio is 0 and the
    estimates have cross-sectional variance ``variance`` (Bailey & López de Prado 2014, eq. 6 via the
    false strategy theorem):

        ``SR0 = sqrt(variance) * ((1 - euler_gamma) * Phi^-1(1 - 1/N) + euler_gamma * Phi^-1(1 - 1/(N e)))``

    ``n_trials`` may be an effective (non-integer) number of independent trials, at least 1; with one trial
    there is no selection and ``SR0 = 0``. In the units of the Sharpe ratios whose variance is given.
    """
    n = _number(n_trials, "n_trials")
    if n < 1:
        raise ConfigError(f"n_trials must be at least 1, got {n_trials!r}", argument="n_trials")
    v = _number(variance, "variance")
    if v < 0:
        raise ConfigError(f"variance must not be negative, got {variance!r}", argument="variance")
    if n == 1.0:
        return 0.0
    gamma = float(np.euler_gamma)
    ppf = _STANDARD_NORMAL.inv_cdf
    quantiles = (1.0 - gamma) * ppf(1.0 - 1.0 / n) + gamma * ppf(1.0 - 1.0 / (n * math.e))
    return float(math.sqrt(v) * quantiles)


@dataclass(frozen=True, eq=False)
class DeflatedSharpe:
    """Outcome of :func:`deflated_sharpe_from_moments`: every trial's deflated Sharpe ratio.

    ``n_trials``: ``N``; ``sharpe_variance``: ``V`` (per period, squared); ``expected_max_sharpe``: ``SR0``,
    the Sharpe ratio (per period) the best of ``N`` skill-less trials shows by luck; ``sharpe``: each
    trial's per-period Sharpe ratio; ``dsr``: each trial's ``PSR(sr_benchmark=SR0)``. NaN where undefined.
    """

    n_trials: float
    sharpe_variance: float
    expected_max_sharpe: float
    sharpe: np.ndarray
    dsr: np.ndarray


def _n_trials(n_trials: Any) -> float:
    trials = _number(n_trials, "n_trials")
    if trials < 1:
        raise ConfigError(f"n_trials must be at least 1, got {n_trials!r}", argument="n_trials")
    return trials


def _variance(sharpe_variance: Any) -> float:
    variance = _number(sharpe_variance, "sharpe_variance")
    if variance < 0:
        raise ConfigError(f"sharpe_variance must not be negative, got {sharpe_variance!r}", argument="sharpe_variance")
    return variance


def deflated_sharpe_from_moments(
    moments: ReturnMoments, *, n_trials: float | None = None, sharpe_variance: float | None = None
) -> DeflatedSharpe:
    """The deflated Sharpe ratio of every trial from its moments: ``DSR_i = PSR_i(sr_benchmark=SR0)`` with
    ``SR0 = expected_max_sharpe(N, V)``.

    ``n_trials`` (``N``) defaults to the number of trials given; ``sharpe_variance`` (``V``) to the sample
    variance (ddof=1) of the trials' finite per-period Sharpe ratios (trials without one, e.g. flat ones,
    still count in ``N``), NaN with fewer than two, and then every DSR is NaN. With ``N = 1`` there is no
    selection: ``SR0 = 0`` whatever ``V``, and the DSR is the probabilistic Sharpe ratio against 0.
    :func:`deflated_sharpe_ratio` is this over a return matrix.
    """
    count, sharpe, skew, kurt = moments.sharpe_stats()
    trials = float(count.size) if n_trials is None else _n_trials(n_trials)
    if trials < 1:
        raise ConfigError("there are no trials: the moments are empty", argument="moments")
    if sharpe_variance is None:
        finite = sharpe[np.isfinite(sharpe)]
        variance = float(np.var(finite, ddof=1)) if finite.size >= 2 else float("nan")
    else:
        variance = _variance(sharpe_variance)
    no_variance = math.isnan(variance)
    sr0 = 0.0 if trials == 1.0 else (math.nan if no_variance else expected_max_sharpe(trials, variance))
    return DeflatedSharpe(trials, variance, sr0, sharpe, _psr(sharpe, sr0, count, skew, kurt))


def deflated_sharpe_ratio(
    returns: Any,
    *,
    n_trials: float | None = None,
    sharpe_variance: float | None = None,
    index: int | None = None,
) -> float:
    """Deflated Sharpe ratio of the best (or the ``index``-th) of a set of trials:
    ``DSR = PSR(sr_benchmark=SR0)``, the probability that its true Sharpe ratio exceeds what the best of
    ``N`` skill-less trials would show by luck, ``SR0 = expected_max_sharpe(N, V)``.

    Parameters
    ----------
    returns:
        ``bars x trials`` per-period returns, one column per trial; a 1-D series is one strategy (then pass
        ``n_trials`` and ``sharpe_variance``: they cannot be estimated from one column).
    n_trials:
        ``N``, the number of trials that were actually tried (default: the number of columns). It may exceed
        the columns given, or be an effective number of independent trials (any real >= 1).
    sharpe_variance:
        ``V``, the variance of the trials' per-period Sharpe ratios (default: the sample variance, ddof=1,
        of the columns' Sharpe ratios; columns without a Sharpe ratio, e.g. flat ones, are left out of
        ``V`` but still count as trials).
    index:
        The column under test (default: the one with the highest Sharpe ratio).

    Notes
    -----
    The tested column's ``SR``, ``T``, skewness and kurtosis enter :func:`probabilistic_sharpe_ratio`'s
    formula. Sharpe ratios are per period (see the module docstring). NaN when undefined. The moments of
    each column go through :func:`deflated_sharpe_from_moments`, the one computation.
    """
    x, _ = as_returns(returns)
    n_cols = x.shape[1]
    if n_trials is not None:
        _n_trials(n_trials)
    if sharpe_variance is None and n_cols < 2:
        raise ConfigError(
            "the variance of the trials' Sharpe ratios cannot be estimated from one series; pass the "
            "returns of every trial as columns, or sharpe_variance= explicitly",
            argument="sharpe_variance",
        )
    if index is not None and (not is_integer(index) or not -n_cols <= index < n_cols):
        raise ConfigError(f"index must be a column number below {n_cols}, got {index!r}", argument="index")
    deflated = deflated_sharpe_from_moments(
        ReturnMoments.from_returns(x), n_trials=n_trials, sharpe_variance=sharpe_variance
    )
    sharpe = deflated.sharpe
    if index is None:
        if not np.isfinite(sharpe).any():
            return float("nan")
        col = int(np.argmax(np.where(np.isfinite(sharpe), sharpe, -np.inf)))
    else:
        col = int(index) % n_cols
    return float(deflated.dsr[col])


@dataclass(frozen=True, eq=False)
class PBOResult:
    """Outcome of :func:`probability_of_backtest_overfitting`.

    ``pbo``: share of the combinations whose in-sample best trial ranks at or below the out-of-sample
    median (logit <= 0). ``logits``: one ``ln(w / (1 - w))`` per combination, ``w`` the relative
    out-of-sample rank of the in-sample best trial. ``n_combinations``: ``C(n_splits, n_splits / 2)``.
    """

    pbo: float
    logits: np.ndarray
    n_combinations: int


@dataclass(frozen=True, eq=False)
class BlockSums:
    """CSCV's inputs: the bars cut into ``S`` consecutive blocks and, per block and trial, the number of
    (non-NaN) returns, the sum of their deviations from the trial's mean and the sum of the squared
    deviations; ``mean`` is each trial's mean over all its returns (0 without any).

    ``count``, ``s1``, ``s2`` are ``S x N`` (blocks x trials), ``mean`` has length ``N``. A sweep's kernel
    keeps these per combination; :meth:`from_returns` computes them from a return matrix.
    """

    count: np.ndarray
    s1: np.ndarray
    s2: np.ndarray
    mean: np.ndarray

    @classmethod
    def from_returns(cls, returns: Any, n_splits: int) -> BlockSums:
        """The sums of ``bars x trials`` returns cut into ``n_splits`` blocks of near-equal size (the first
        ``T % n_splits`` blocks one bar longer, like ``np.array_split``; no row is dropped)."""
        x, _ = as_returns(returns)
        rows = x.shape[0]
        valid = ~np.isnan(x)
        _, mu, _ = nan_moments(x)
        mu = np.where(np.isnan(mu), 0.0, mu)
        centred = np.where(valid, x - mu, 0.0)  # centring keeps the one-pass variance below accurate
        base, extra = divmod(rows, n_splits)
        starts = np.array([i * base + min(i, extra) for i in range(n_splits)])
        return cls(
            count=np.add.reduceat(valid.astype(np.float64), starts, axis=0),
            s1=np.add.reduceat(centred, starts, axis=0),
            s2=np.add.reduceat(centred * centred, starts, axis=0),
            mean=mu,
        )


def _check_metric(metric: Any) -> None:
    if metric not in ("sharpe", "mean"):
        raise ConfigError(f"metric must be 'sharpe' or 'mean', got {metric!r}", argument="metric")


def pbo_from_blocks(blocks: BlockSums, metric: str = "sharpe") -> PBOResult:
    """CSCV's probability of backtest overfitting from per-block sums (see
    :func:`probability_of_backtest_overfitting`, which is this over a return matrix's :class:`BlockSums`).

    The splits run in the compiled core (``ml4t._core.cscv_logits``, in parallel without the GIL): every
    trial's sums over each subset of 8 blocks are tabulated once (``S / 8 * 256`` sums per trial, 12 KB at
    ``S = 16``; groups of 4 or 2 blocks when that would exceed 256 MB), so a half's sums cost one addition per
    group, and each half is scored once for the split that takes it in sample and for the complementary split
    that takes it out of sample.

    When every trial has the same block sums (the same returns: e.g. a sweep in which nothing traded), every
    split ties at the median and PBO is NaN: there was nothing to choose, so nothing to overfit.

    Raises ConfigError (``argument="blocks"``) unless there is an even number of blocks, from 2 to 24 (at
    most ``C(24, 12)`` = 2,704,156 splits), and at least two trials.
    """
    _check_metric(metric)
    s1 = np.asarray(blocks.s1, dtype=np.float64)
    if s1.ndim != 2:
        raise ConfigError(f"block sums must be blocks x trials, got shape {s1.shape}", argument="blocks")
    n_splits, trials = s1.shape

    def trial_major(sums: Any) -> np.ndarray:
        return np.ascontiguousarray(np.asarray(sums, dtype=np.float64).reshape(n_splits, trials).T)

    mean = np.ascontiguousarray(np.asarray(blocks.mean, dtype=np.float64).reshape(trials))
    count, s1, s2 = sums = (trial_major(blocks.count), trial_major(s1), trial_major(blocks.s2))
    logits = _core.cscv_logits(count, s1, s2, mean, metric)
    # trials that are all the same series (e.g. a sweep where nothing traded) tie everywhere: the in-sample
    # pick always sits at the out-of-sample median (logit 0), which says nothing about overfitting
    same = all(np.array_equal(a, a[:1].repeat(trials, axis=0), equal_nan=True) for a in sums)
    pbo = math.nan if same and np.all(mean == mean[0]) else float(np.mean(logits <= 0.0))
    return PBOResult(pbo=pbo, logits=logits, n_combinations=int(logits.size))


def probability_of_backtest_overfitting(returns: Any, n_splits: int = 16, metric: str = "sharpe") -> PBOResult:
    """Probability of backtest overfitting by combinatorially symmetric cross-validation (CSCV).

    The ``T x N`` matrix (bars x trials) is cut into ``n_splits`` (``S``, even) consecutive row blocks of
    near-equal size (sizes differ by at most one bar when ``S`` does not divide ``T``; no row is dropped).
    For each of the ``C(S, S/2)`` ways to choose half the blocks, those blocks are in-sample and the rest
    out-of-sample; the trial with the best in-sample score is located in the out-of-sample ranking of all
    ``N`` trials, with relative rank ``w = rank / (N + 1)`` (rank 1 is the worst; ties share their average
    rank), and ``logit = ln(w / (1 - w))``. PBO is the share of combinations with ``logit <= 0``: how often
    the in-sample winner is no better than the out-of-sample median.

    ``metric`` is ``"sharpe"`` (per-period mean over sample standard deviation, ddof=1) or ``"mean"``
    (mean return). A trial with fewer than two values in a half ranks last; one with no dispersion in a
    half (e.g. flat) ranks by the sign of its mean (+inf, 0 or -inf). Scores equal to within rounding
    (``1e-9`` relative) tie, in the ranking and for the in-sample best (the first such trial): trials that
    hold the same positions over a half have mathematically equal scores there, and which of them rounding
    favours must not decide PBO. NaN returns are skipped. The scores come from per-block sums
    (:class:`BlockSums`) through :func:`pbo_from_blocks`, the one computation.

    Raises ConfigError unless ``n_splits`` is even, at least 2 and at most ``T``, and there are at least
    two trials (columns).
    """
    x, one_d = as_returns(returns)
    rows, trials = x.shape
    if one_d or trials < 2:
        raise ConfigError(
            f"returns must be bars x trials with at least 2 trials (columns), got {trials}", argument="returns"
        )
    if not is_integer(n_splits):
        raise ConfigError(f"n_splits must be an even integer, got {n_splits!r}", argument="n_splits")
    if n_splits < 2 or n_splits % 2:
        raise ConfigError(f"n_splits must be an even integer >= 2, got {n_splits!r}", argument="n_splits")
    if n_splits > rows:
        raise ConfigError(f"n_splits ({n_splits}) exceeds the number of bars ({rows})", argument="n_splits")
    _check_metric(metric)
    return pbo_from_blocks(BlockSums.from_returns(x, int(n_splits)), metric)

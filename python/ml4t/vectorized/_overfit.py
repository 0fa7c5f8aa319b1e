"""How much of a sweep's best result is selection luck: the deflated Sharpe ratio for the number of
combinations actually tried, and the probability of backtest overfitting (CSCV) over the sweep.

A sweep keeps no return matrix (it would cost bars x combinations memory). Its kernel keeps, per metrics
row, the moments of the row's returns (count, mean, the sums of the 2nd to 4th powers of the deviations)
and, per CSCV block of bars, the count of returns and the sums of their deviations and squared deviations
(:class:`RowStats`). ``ml4t.metrics`` computes both statistics from those with the same code that serves a
return matrix (:func:`ml4t.metrics.deflated_sharpe_from_moments`, :func:`ml4t.metrics.pbo_from_blocks`), so
the numbers equal ``ml4t.metrics.deflated_sharpe_ratio`` / ``probability_of_backtest_overfitting`` over the
matrix of the rows' ``sweep.result(...).returns``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ml4t import metrics as m

__all__ = ["CSCV_BLOCKS", "Overfitting", "RowStats", "cscv_blocks", "overfitting_of"]

CSCV_BLOCKS = 16
"""The number of CSCV blocks a sweep cuts its bars into (Bailey et al. use 16: C(16, 8) = 12,870 splits)."""


def cscv_blocks(n_bars: int) -> int:
    """The blocks of a sweep over ``n_bars`` bars: the largest even number ``<= CSCV_BLOCKS`` and
    ``<= n_bars``; none (0) with fewer than 2 bars."""
    return min(CSCV_BLOCKS, n_bars) // 2 * 2


@dataclass(frozen=True, eq=False)
class RowStats:
    """Per metrics row of a sweep (aligned with ``Sweep.metrics``): the kernel's moments of the row's
    returns and its per-block sums (``block_*``: ``rows x n_blocks``)."""

    count: np.ndarray
    mean: np.ndarray
    m2: np.ndarray
    m3: np.ndarray
    m4: np.ndarray
    low: np.ndarray
    high: np.ndarray
    block_count: np.ndarray
    block_s1: np.ndarray
    block_s2: np.ndarray

    @classmethod
    def of(cls, stats: Mapping[str, np.ndarray]) -> RowStats:
        """The rows of one chunk from the kernel's statistics dict."""
        return cls(**{name: np.asarray(stats[name]) for name in cls.__dataclass_fields__})

    @classmethod
    def concat(cls, parts: Sequence[RowStats], n_blocks: int) -> RowStats:
        if not parts:
            empty = np.zeros(0)
            blocks = np.zeros((0, n_blocks))
            return cls(empty, empty, empty, empty, empty, empty, empty, blocks, blocks, blocks)
        return cls(**{name: np.concatenate([getattr(p, name) for p in parts]) for name in cls.__dataclass_fields__})

    def take(self, rows: np.ndarray) -> RowStats:
        """The rows selected by a boolean mask, or by their positions (in the order given)."""
        return RowStats(**{name: getattr(self, name)[rows] for name in self.__dataclass_fields__})

    def moments(self) -> m.ReturnMoments:
        return m.ReturnMoments(
            count=self.count,
            mean=self.mean,
            m2=self.m2,
            m3=self.m3,
            m4=self.m4,
            constant=(self.count > 1) & (self.high == self.low),
        )

    def blocks(self) -> m.BlockSums:
        return m.BlockSums(count=self.block_count.T, s1=self.block_s1.T, s2=self.block_s2.T, mean=self.mean)


@dataclass(frozen=True, eq=False)
class Overfitting:
    """The overfitting statistics of a sweep's rows of one scope (:meth:`ml4t.vectorized.Sweep.overfitting`).

    Sharpe ratios are per period unless named ``_annualized`` or ``sharpe_ratio`` (annualized, as in
    ``Sweep.metrics``: per period times ``sqrt(periods_per_year)``).

    Attributes
    ----------
    scope:
        The rows these statistics are over (``"portfolio"``, ``"symbol"`` or ``"all"``).
    n_trials:
        ``N``: the rows of that scope actually simulated, or the ``n_trials=`` given.
    sharpe_variance:
        ``V``: the sample variance (ddof=1) of the rows' finite per-period Sharpe ratios.
    expected_max_sharpe, expected_max_sharpe_annualized:
        ``SR0``: the Sharpe ratio the best of ``N`` skill-less trials with that variance shows by luck.
    best:
        The parameters (and ``symbol`` for a symbol row) of the row with the highest Sharpe ratio, or None.
    sharpe_ratio, deflated_sharpe:
        That row's annualized Sharpe ratio, and its deflated Sharpe ratio: the probability that its true
        Sharpe ratio is above ``SR0``.
    pbo, logits, n_combinations, n_blocks:
        CSCV over the rows: the share of the ``n_combinations`` half/half splits of the ``n_blocks`` blocks
        of bars whose in-sample best row ranks at or below the out-of-sample median; one logit per split.
    notes:
        Why a number is NaN, in words (empty when every number is defined).
    """

    scope: str
    n_trials: float
    sharpe_variance: float
    expected_max_sharpe: float
    expected_max_sharpe_annualized: float
    periods_per_year: float
    best: dict[str, Any] | None
    sharpe_ratio: float
    deflated_sharpe: float
    pbo: float
    logits: np.ndarray
    n_combinations: int
    n_blocks: int
    notes: tuple[str, ...] = ()
    dsr: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    """Every row's deflated Sharpe ratio against ``N`` and ``V`` (the ``deflated_sharpe`` column of
    ``Sweep.best``), in the order of the scope's rows in ``Sweep.metrics``."""

    def __str__(self) -> str:
        n = f"{self.n_trials:,.0f}" if float(self.n_trials).is_integer() else f"{self.n_trials:,.2f}"
        if self.best is None:
            head = f"Among {n} trials ({self.scope} rows) none has a Sharpe ratio."
        else:
            params = ", ".join(f"{k}={v!r}" for k, v in self.best.items())
            head = (
                f"The best of {n} trials ({self.scope} rows), {params}, has an annualized Sharpe ratio of "
                f"{self.sharpe_ratio:.3g}. The best of {n} skill-less trials whose Sharpe ratios vary as "
                f"these do would show {self.expected_max_sharpe_annualized:.3g} by luck; the probability "
                f"that its true Sharpe ratio exceeds that (deflated Sharpe ratio) is {self.deflated_sharpe:.3g}."
            )
        if math.isnan(self.pbo):
            tail = " The probability of backtest overfitting is undefined."
        else:
            tail = (
                f" In {self.pbo:.1%} of the {self.n_combinations:,} CSCV splits of {self.n_blocks} blocks of "
                "bars, the in-sample best ranked at or below the out-of-sample median (probability of "
                "backtest overfitting)."
            )
        notes = "".join(f" {note}" for note in self.notes)
        return head + tail + notes


def overfitting_of(
    stats: RowStats,
    labels: Sequence[dict[str, Any]],
    *,
    scope: str,
    n_trials: float | None,
    periods_per_year: float,
) -> Overfitting:
    """The statistics over the rows of ``stats`` (one scope's), ``labels`` naming each row."""
    rows = len(labels)
    notes: list[str] = []
    deflated = m.deflated_sharpe_from_moments(stats.moments(), n_trials=n_trials)
    sharpe = deflated.sharpe
    finite = np.isfinite(sharpe)
    if deflated.n_trials > 1 and math.isnan(deflated.sharpe_variance):
        notes.append(
            f"The deflated Sharpe ratio is undefined: the variance of the trials' Sharpe ratios needs at least "
            f"2 finite ones, {int(finite.sum())} of {rows} rows have one."
        )
    best: dict[str, Any] | None = None
    sharpe_ratio = deflated_sharpe = math.nan
    if finite.any():
        at = int(np.argmax(np.where(finite, sharpe, -np.inf)))
        best = labels[at]
        sharpe_ratio = float(sharpe[at] * math.sqrt(periods_per_year))
        deflated_sharpe = float(deflated.dsr[at])
    elif rows:
        notes.append("No row has a Sharpe ratio (fewer than 2 returns, or no dispersion: e.g. nothing traded).")
    n_blocks = stats.block_count.shape[1]
    pbo, logits, n_comb = math.nan, np.zeros(0), 0
    if rows < 2:
        notes.append(f"PBO is undefined: CSCV ranks at least 2 trials, the sweep has {rows} {scope} row(s).")
    elif n_blocks < 2:
        notes.append("PBO is undefined: CSCV needs at least 2 bars (2 blocks).")
    else:
        result = m.pbo_from_blocks(stats.blocks())
        pbo, logits, n_comb = result.pbo, result.logits, result.n_combinations
        if math.isnan(pbo):
            notes.append("PBO is undefined: every row has the same returns, so choosing among them selects nothing.")
    return Overfitting(
        scope=scope,
        n_trials=deflated.n_trials,
        sharpe_variance=deflated.sharpe_variance,
        expected_max_sharpe=deflated.expected_max_sharpe,
        expected_max_sharpe_annualized=deflated.expected_max_sharpe * math.sqrt(periods_per_year),
        periods_per_year=periods_per_year,
        best=best,
        sharpe_ratio=sharpe_ratio,
        deflated_sharpe=deflated_sharpe,
        pbo=pbo,
        logits=logits,
        n_combinations=n_comb,
        n_blocks=n_blocks,
        notes=tuple(notes),
        dsr=deflated.dsr,
    )

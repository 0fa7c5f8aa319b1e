"""Splitters on arrival times: :func:`walk_forward` and :func:`cpcv` (combinatorial purged cross-validation).

The contract
------------
A dataset's rows carry ``ts_event`` (the time a row's features are about) and ``ts_arrival`` (when they can be
seen); :mod:`ml4t.validate._timeline` reads and validates it. Test blocks are contiguous spans of the timeline
of distinct ``ts_event`` values, so every row of a timestamp (a panel's symbols) is on the same side.

- **Label horizon** (``purge=``): row ``i``'s label is about ``label_end_i = ts_event_i + horizon`` (an int ``k``:
  the ``ts_event`` ``k`` distinct timestamps later; a duration; or a column of label ends, e.g. the
  ``label_end`` of :func:`ml4t.validate.forward_returns`). Its information arrives at
  ``label_arrival_i = label_end_i + (ts_arrival_i - ts_event_i)``: the row's own latency.
- **Purge** around each contiguous test block ``B``: a training row *before* ``B`` is purged when
  ``label_arrival_i > min(ts_arrival over B)`` (its label had not arrived when the first test decision is
  made); a training row *after* ``B`` (cpcv) is purged when ``ts_event_i <= max(label_end over B)`` (its
  features are about a time inside the test labels' span).
- **Embargo** (``embargo=``, int bars or a duration): in :func:`cpcv`, training rows with
  ``test_end < ts_event_i <= test_end + embargo`` after each block (``test_end`` its last ``ts_event``; for an
  int ``e``, the ``e`` timestamps after it). A walk-forward split has no training row after its test block, so
  there the embargo is a gap *before* the block, like scikit-learn's ``TimeSeriesSplit(gap=)``: training rows
  with ``test_start - embargo <= ts_event_i < test_start`` (for an int ``e``, the ``e`` timestamps before it).
  A row both purged and embargoed counts as purged.
- A split whose training set is empty after purging and embargo is refused (a ConfigError naming ``purge`` or
  ``embargo`` and the test block's start): a model cannot be fitted on nothing.

Where ml4t differs from skfolio, and why
----------------------------------------
On one symbol with regular bars, zero latency (``ts_arrival == ts_event``) and lengths in bars, ml4t's indices
equal skfolio's (``tests/validate/test_splits_skfolio.py`` checks it) with this mapping:

- ``WalkForward(train_size=n, test_size=m, purged_size=p, expand_train=...)`` is
  ``walk_forward(train=n + p, test=m, embargo=p, mode="rolling"|"expanding")`` (ml4t's ``train`` is the whole
  window before the test block, gap included), or equally ``purge=p + 1`` instead of ``embargo=p``. skfolio's
  ``reduce_test=False`` matches ml4t: an incomplete last test block is dropped.
- ``CombinatorialPurgedCV(n_folds=N, n_test_folds=k, purged_size=p, embargo_size=e)`` (N dividing the number
  of rows, as skfolio puts the remainder in its last fold where ml4t sizes groups like ``np.array_split``) is
  ``cpcv(n_groups=N, n_test_groups=k, purge=h, embargo=x)`` with ``p = h - 1`` and ``p + e = max(h, x)``
  for ``h >= 1`` (``p = 0``, ``e = x`` without a horizon): skfolio removes ``p`` rows on both sides, ml4t
  derives both sides from the label horizon ``h``. A label that ends at the first test bar has arrived when
  the first test decision is made, so ``h - 1`` rows are purged before a block; a row whose features are at the
  last test label's end overlaps it, so ``h`` rows are purged after. ml4t's embargo overlaps the purge (both
  count from the test block's end), skfolio's follows it. Path ids agree: ``CPCV.paths[p][g]`` is skfolio's
  ``recombined_paths[g, p]``.

Beyond skfolio's definitions: purging reads arrival times, so rows that arrive late (a latency per row, an
alternative-data feed) are purged by when their information actually arrived; lengths may be durations (a
calendar, with gaps); a panel's timestamps stay together on one side; and the label horizon may differ per row
(a column).
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Literal

import numpy as np

from ml4t._time import from_ns, to_ns
from ml4t._validate import check_choice, check_int
from ml4t.errors import ConfigError
from ml4t.validate._splitset import CPCV, Splits
from ml4t.validate._timeline import Length, Timeline, label_ends, parse_length, read_dataset
from ml4t.validate._types import Split

__all__ = ["cpcv", "walk_forward"]

MAX_COMBINATIONS = 100_000
"""The most splits :func:`cpcv` makes (C(N, k)); more is a misconfiguration (each split is a model fit)."""


def walk_forward(
    data: Any,
    *,
    train: int | str | Any,
    test: int | str | Any,
    step: int | str | Any | None = None,
    mode: Literal["rolling", "expanding"] = "rolling",
    purge: int | str | Any | None = None,
    embargo: int | str | Any | None = None,
    start: Any = None,
    min_train: int | str | Any | None = None,
) -> Splits:
    """Walk-forward splits: train on the past, test on the next block, move forward by ``step``.

    Parameters
    ----------
    data:
        A Polars DataFrame with ``ts_event`` and ``ts_arrival`` (UTC; ``ts_event`` ascending; optionally
        ``symbol``), or ``Bars`` / ``Signals``. Row positions refer to its rows in order.
    train:
        ``"rolling"``: the window just before each test block that training rows are taken from (purged and
        embargoed rows are then removed from it). ``"expanding"``: every window starts at the first row, and
        ``train`` is the first window's length. An int counts distinct timestamps (bars), ``"6mo"`` or
        ``"3y"`` are calendar months and years, another string or a timedelta is a duration (the window is
        ``[test_start - train, test_start)``; a window in which the data hold no row, inside a gap, is skipped).
    test:
        The length of each test block (bars or a duration). An incomplete last block is dropped, so every
        fold's statistics cover the same length (bars: fewer than ``test`` timestamps left; a duration: the
        data end more than one median bar step before the block's end). A duration block that holds no row
        (a gap in the data) is skipped.
    step:
        How far each test block starts after the previous one (default ``test``: blocks tile the timeline).
        Bars count from the previous block's first timestamp; durations step along a calendar grid from the
        first block's start.
        Shorter than ``test`` is refused: test blocks never overlap.
    mode:
        ``"rolling"`` (default) or ``"expanding"``.
    purge:
        The label horizon (None: 0, the label is about ``ts_event`` itself), an int of bars, a duration, or the
        name of a column of label end times (see the module docstring for the purge rule).
    embargo:
        A gap before each test block (bars or a duration): training rows with ``test_start - embargo <=
        ts_event < test_start`` are removed (the module docstring says why walk-forward's embargo sits before).
    start:
        The first test block's start (a tz-aware datetime or ISO string); default: just after the first
        ``train`` of the data.
    min_train:
        The shortest window a split may train from (bars: timestamps in the window; a duration: the data must
        reach back that far before the test block); splits with a shorter window are skipped. Default
        ``train``: every window is complete.

    Returns
    -------
    Splits
        One :class:`ml4t.validate.Split` per test block, in time order.
    """
    frame, tl = read_dataset(data)
    train_len = parse_length(train, argument="train")
    test_len = parse_length(test, argument="test")
    step_len = test_len if step is None else parse_length(step, argument="step")
    rolling = check_choice("mode", mode, ("rolling", "expanding")) == "rolling"
    min_len = train_len if min_train is None else parse_length(min_train, argument="min_train")
    gap = None if embargo is None else parse_length(embargo, argument="embargo", minimum=0)
    if step_len.kind == test_len.kind and step_len.value < test_len.value:
        raise ConfigError(
            f"step ({step_len}) is shorter than test ({test_len}): test blocks would overlap", argument="step"
        )
    if rolling and min_len.kind == train_len.kind and min_len.value > train_len.value:
        raise ConfigError(
            f"min_train ({min_len}) is longer than the rolling train window ({train_len})", argument="min_train"
        )
    ends, horizon = label_ends(purge, frame, tl)
    arrivals = ends + (tl.arrival - tl.event)
    splits: list[Split] = []
    for a, b in _walk_blocks(tl, train_len, test_len, step_len, start):
        first = _window_start(tl, a, train_len) if rolling else 0
        if not _long_enough(tl, first, a, min_len):
            continue
        candidate = np.arange(tl.first_row[first], tl.first_row[a])
        if candidate.size == 0:  # a duration window inside a gap of the data: nothing to train on
            continue
        splits.append(_split(len(splits), tl, ends, arrivals, candidate, [(a, b)], gap, embargo_before=True, groups=()))
    if not splits:
        raise ConfigError(
            f"no complete walk-forward split: the data hold {tl.n_times} timestamps from "
            f"{from_ns(int(tl.times[0])).isoformat()} to {from_ns(int(tl.times[-1])).isoformat()}, and each split "
            f"needs train={train_len} (at least min_train={min_len}) before a test block of {test_len}",
            argument="train",
        )
    params = {"mode": repr(mode), "train": str(train_len), "test": str(test_len), "step": str(step_len)}
    params |= {"purge": horizon, "embargo": str(gap)}
    return Splits(splits, n_rows=tl.n_rows, method="walk_forward", params=params)


def _walk_blocks(tl: Timeline, train: Length, test: Length, step: Length, start: Any) -> list[tuple[int, int]]:
    """The test blocks as ``[a, b)`` positions on the timeline (see :func:`walk_forward` for the rules)."""
    if start is not None:
        anchor = to_ns(start, argument="start")
    elif train.kind == "bars":
        anchor = int(tl.times[train.value]) if train.value < tl.n_times else int(tl.times[-1]) + 1
    else:
        anchor = train.later(int(tl.times[0]))
    a = tl.at(anchor)
    first_anchor, n_steps = anchor, 0
    blocks: list[tuple[int, int]] = []
    while a < tl.n_times:
        if test.kind == "bars":
            b = a + test.value
            if b > tl.n_times:
                break
        else:
            block_end = test.later(int(tl.times[a]) if step.kind == "bars" else anchor)
            if int(tl.times[-1]) + tl.step < block_end:
                break
            b = tl.at(block_end)
        if blocks and a < blocks[-1][1]:
            raise ConfigError(
                f"step ({step}) is shorter than test ({test}) here: test blocks would overlap",
                argument="step",
                timestamp=int(tl.times[a]),
            )
        if b > a:
            blocks.append((a, b))
        if step.kind == "bars":
            a += step.value
        else:  # a calendar grid from the first block's start (months do not add up day by day)
            n_steps += 1
            anchor = step.later(first_anchor, n_steps)
            a = tl.at(anchor)
    return blocks


def _window_start(tl: Timeline, a: int, train: Length) -> int:
    """The first timestamp of a rolling training window ending before timestamp ``a``."""
    if train.kind == "bars":
        return max(0, a - train.value)
    return tl.at(train.later(int(tl.times[a]), -1))


def _long_enough(tl: Timeline, first: int, a: int, min_train: Length) -> bool:
    if min_train.kind == "bars":
        return a - first >= min_train.value
    return int(tl.times[0]) <= min_train.later(int(tl.times[a]), -1)


def cpcv(
    data: Any,
    *,
    n_groups: int,
    n_test_groups: int,
    purge: int | str | Any | None = None,
    embargo: int | str | Any | None = None,
) -> CPCV:
    """Combinatorial purged cross-validation (López de Prado, *Advances in Financial Machine Learning*, ch. 12).

    The timeline of distinct ``ts_event`` values is cut into ``n_groups`` contiguous groups of near-equal
    numbers of timestamps (like ``np.array_split``: the first groups get one more). Each combination of
    ``n_test_groups`` groups, in ``itertools.combinations`` order, is one split: its test rows are the rows of
    those groups, its training rows the others' minus the rows purged and embargoed around each contiguous test
    block (adjacent test groups form one block; rules in the module docstring).

    Parameters
    ----------
    data:
        As for :func:`walk_forward`.
    n_groups:
        N >= 2, at most the number of distinct timestamps.
    n_test_groups:
        k, ``1 <= k < N``.
    purge:
        The label horizon: None (0), an int of bars, a duration, or a column of label end times.
    embargo:
        Removed after each test block: training rows with ``test_end < ts_event <= test_end + embargo``
        (an int counts timestamps).

    Returns
    -------
    CPCV
        The ``C(N, k)`` splits (each with its test ``groups``) and the ``C(N, k) * k / N`` backtest paths.
    """
    frame, tl = read_dataset(data)
    n = check_int("n_groups", n_groups, minimum=2)
    k = check_int("n_test_groups", n_test_groups, minimum=1)
    if k >= n:
        raise ConfigError(f"n_test_groups must be less than n_groups ({n}), got {k}", argument="n_test_groups")
    if n > tl.n_times:
        raise ConfigError(
            f"n_groups ({n}) is more than the data's {tl.n_times} distinct timestamps", argument="n_groups"
        )
    if math.comb(n, k) > MAX_COMBINATIONS:
        raise ConfigError(
            f"C({n}, {k}) = {math.comb(n, k):,} splits is more than {MAX_COMBINATIONS:,}, each a model fit; "
            "use fewer groups or fewer (or more) test groups",
            argument="n_test_groups",
        )
    gap = None if embargo is None else parse_length(embargo, argument="embargo", minimum=0)
    ends, horizon = label_ends(purge, frame, tl)
    arrivals = ends + (tl.arrival - tl.event)
    bounds = [(int(g[0]), int(g[-1]) + 1) for g in np.array_split(np.arange(tl.n_times), n)]
    row_groups = np.repeat(np.arange(n), [tl.first_row[b] - tl.first_row[a] for a, b in bounds])
    row_groups.flags.writeable = False
    splits = []
    for index, tested in enumerate(itertools.combinations(range(n), k)):
        blocks: list[tuple[int, int]] = []
        for g in tested:
            if blocks and blocks[-1][1] == bounds[g][0]:
                blocks[-1] = (blocks[-1][0], bounds[g][1])
            else:
                blocks.append(bounds[g])
        candidate = np.flatnonzero(~np.isin(row_groups, tested))
        splits.append(_split(index, tl, ends, arrivals, candidate, blocks, gap, embargo_before=False, groups=tested))
    params = {"n_groups": str(n), "n_test_groups": str(k), "purge": horizon, "embargo": str(gap)}
    return CPCV(splits, n_rows=tl.n_rows, params=params, n_groups=n, n_test_groups=k, row_groups=row_groups)


def _split(
    index: int,
    tl: Timeline,
    ends: np.ndarray,
    arrivals: np.ndarray,
    candidate: np.ndarray,
    blocks: list[tuple[int, int]],
    gap: Length | None,
    *,
    embargo_before: bool,
    groups: tuple[int, ...],
) -> Split:
    """One split: the test rows of ``blocks`` (``[a, b)`` timeline positions), and the ``candidate`` training
    rows (ascending positions) minus those purged or embargoed around each block (the module docstring's
    rules)."""
    event, position = tl.event[candidate], tl.index[candidate]
    purged = np.zeros(candidate.size, dtype=bool)
    embargoed = np.zeros(candidate.size, dtype=bool)
    for a, b in blocks:
        lo, hi = int(tl.first_row[a]), int(tl.first_row[b])
        before, after = position < a, position >= b
        purged |= before & (arrivals[candidate] > tl.arrival[lo:hi].min())
        purged |= after & (event <= ends[lo:hi].max())
        if gap is None or gap.value == 0:
            continue
        if embargo_before:
            near = position >= a - gap.value if gap.kind == "bars" else event >= gap.later(int(tl.times[a]), -1)
            embargoed |= before & near
        else:
            near = position < b + gap.value if gap.kind == "bars" else event <= gap.later(int(tl.times[b - 1]))
            embargoed |= after & near
    embargoed &= ~purged
    train = candidate[~purged & ~embargoed]
    test = np.concatenate([np.arange(tl.first_row[a], tl.first_row[b]) for a, b in blocks])
    test_start, test_end = int(tl.times[blocks[0][0]]), int(tl.times[blocks[-1][1] - 1])
    if train.size == 0:
        culprit = "purge" if purged.all() else "embargo"
        raise ConfigError(
            f"split {index} has no training row left: {purged.sum()} purged and {embargoed.sum()} embargoed of "
            f"{candidate.size}; shorten {culprit} or give it more training data",
            argument=culprit,
            timestamp=test_start,
        )
    train, test = train.astype(np.int64, copy=False), test.astype(np.int64, copy=False)
    train.flags.writeable = False
    test.flags.writeable = False
    return Split(
        index=index,
        train=train,
        test=test,
        train_start=from_ns(int(tl.event[train[0]])),
        train_end=from_ns(int(tl.event[train[-1]])),
        test_start=from_ns(test_start),
        test_end=from_ns(test_end),
        label_end=from_ns(int(ends[train].max())),
        ready=from_ns(int(arrivals[train].max())),
        purged=int(purged.sum()),
        embargoed=int(embargoed.sum()),
        groups=tuple(groups),
    )

"""The shape every splitter of :mod:`ml4t.validate` returns and every consumer reads: :class:`Split`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Split"]


@dataclass(frozen=True, eq=False)
class Split:
    """One train/test split of the rows of a dataset (a frame with ``ts_event`` and ``ts_arrival``).

    ``for train, test in splits`` unpacks a split into its two index arrays, so a list of splits is also a
    scikit-learn ``cv=`` argument.

    Attributes
    ----------
    index:
        The split's number, from 0, in the order the splitter gives them.
    train, test:
        Row positions (int64, ascending, read-only) into the data the splits were made from, after purging
        and embargo (``train``) and with every row of the test block (``test``).
    train_start, train_end:
        The first and last ``ts_event`` among the training rows (None when there are none).
    test_start, test_end:
        The first and last ``ts_event`` of the test block.
    label_end:
        The latest time a training row's label is about (``ts_event`` plus the label horizon; the training
        rows' last ``ts_event`` when no horizon was given): a model fitted on ``train`` knows nothing about
        events after it. What a prediction's ``train_end`` is stamped with.
    ready:
        The earliest time a model fitted on ``train`` can exist: the latest arrival of a training row's label
        (its ``ts_arrival`` plus the horizon; the rows' latest ``ts_arrival`` without one).
    purged, embargoed:
        Training rows removed because their label's information had not arrived before the test block
        started, or (after a ``cpcv`` test block) their features are about a time inside its labels' span
        (``purged``), or because they fall inside the embargo (``embargoed``: after each test block in
        ``cpcv``, a gap before the test block in ``walk_forward``). A row both purged and embargoed is purged.
    groups:
        For combinatorial splits (``cpcv``), the test groups, ascending; ``()`` otherwise.
    """

    index: int
    train: np.ndarray
    test: np.ndarray
    train_start: dt.datetime | None
    train_end: dt.datetime | None
    test_start: dt.datetime
    test_end: dt.datetime
    label_end: dt.datetime | None
    ready: dt.datetime | None
    purged: int = 0
    embargoed: int = 0
    groups: tuple[int, ...] = field(default=())

    def __iter__(self) -> Iterator[np.ndarray]:
        yield self.train
        yield self.test

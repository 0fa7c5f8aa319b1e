"""The sequences the splitters return: :class:`Splits` (walk-forward) and :class:`CPCV` (combinatorial purged CV).

Both are read-only sequences of :class:`ml4t.validate.Split` that also serve as a scikit-learn ``cv=``
argument (``split(X, y, groups)`` yields ``(train, test)``, ``get_n_splits()``), with one summary row per split
in ``.frame`` and the number of rows they were made from in ``n_rows``, so a consumer can check that it is given
the same data. :class:`CPCV` adds the backtest paths and :meth:`CPCV.stitch`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, overload

import numpy as np
import polars as pl

from ml4t._time import TS_DTYPE
from ml4t.errors import ConfigError
from ml4t.validate._types import Split

__all__ = ["CPCV", "Splits"]


class Splits(Sequence[Split]):
    """The splits of one dataset, in order (see the module docstring).

    Attributes
    ----------
    n_rows:
        The number of rows of the data the splits were made from; ``split(X)`` refuses an ``X`` of another
        length.
    method:
        The splitter that made them (``"walk_forward"``, ``"cpcv"``).
    params:
        The splitter's settings as text, for display.
    """

    __slots__ = ("_splits", "method", "n_rows", "params")

    def __init__(self, splits: Sequence[Split], *, n_rows: int, method: str, params: Mapping[str, str]) -> None:
        self._splits = tuple(splits)
        self.n_rows = n_rows
        self.method = method
        self.params = dict(params)

    def __len__(self) -> int:
        return len(self._splits)

    @overload
    def __getitem__(self, item: int) -> Split: ...

    @overload
    def __getitem__(self, item: slice) -> tuple[Split, ...]: ...

    def __getitem__(self, item: int | slice) -> Split | tuple[Split, ...]:
        return self._splits[item]

    def __iter__(self) -> Iterator[Split]:
        return iter(self._splits)

    @property
    def frame(self) -> pl.DataFrame:
        """One row per split: ``index, train_start, train_end, test_start, test_end, label_end, ready, n_train,
        n_test, purged, embargoed, groups``."""
        return pl.DataFrame(
            {
                "index": [s.index for s in self._splits],
                "train_start": [s.train_start for s in self._splits],
                "train_end": [s.train_end for s in self._splits],
                "test_start": [s.test_start for s in self._splits],
                "test_end": [s.test_end for s in self._splits],
                "label_end": [s.label_end for s in self._splits],
                "ready": [s.ready for s in self._splits],
                "n_train": [s.train.size for s in self._splits],
                "n_test": [s.test.size for s in self._splits],
                "purged": [s.purged for s in self._splits],
                "embargoed": [s.embargoed for s in self._splits],
                "groups": [list(s.groups) for s in self._splits],
            },
            schema={
                "index": pl.Int64,
                "train_start": TS_DTYPE,
                "train_end": TS_DTYPE,
                "test_start": TS_DTYPE,
                "test_end": TS_DTYPE,
                "label_end": TS_DTYPE,
                "ready": TS_DTYPE,
                "n_train": pl.Int64,
                "n_test": pl.Int64,
                "purged": pl.Int64,
                "embargoed": pl.Int64,
                "groups": pl.List(pl.Int64),
            },
        )

    # ----------------------------------------------------------------------------- scikit-learn's protocol
    def split(self, X: Any = None, y: Any = None, groups: Any = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train, test)`` row positions of every split (scikit-learn's cross-validator protocol).

        ``X`` (and ``y``), when given, must have ``n_rows`` rows: the rows the splits were made from, in the
        same order. ``groups`` is ignored (the splits are already defined by time)."""
        for name, value in (("X", X), ("y", y)):
            if value is not None:
                n = _n_rows(value)
                if n != self.n_rows:
                    raise ConfigError(
                        f"{name} has {n} rows but these splits were made from {self.n_rows} rows; pass the data "
                        "the splits were made from, in the same order",
                        argument=name,
                    )
        for s in self._splits:
            yield s.train, s.test

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        """The number of splits (scikit-learn's protocol; the arguments are ignored)."""
        return len(self._splits)

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v}" for k, v in self.params.items())
        head = f"{type(self).__name__}({self.method}: {len(self)} splits of {self.n_rows:,} rows, {settings})"
        if not self._splits:
            return head
        first, last = self._splits[0], self._splits[-1]
        n_train = [s.train.size for s in self._splits]
        return (
            f"{head}\n  tests {first.test_start.isoformat()} .. {last.test_end.isoformat()}; "
            f"train rows {min(n_train):,}..{max(n_train):,}; "
            f"purged {sum(s.purged for s in self._splits):,}, embargoed {sum(s.embargoed for s in self._splits):,}"
        )


def _n_rows(value: Any) -> int:
    shape = getattr(value, "shape", None)
    return int(shape[0]) if shape is not None else len(value)


class CPCV(Splits):
    """The splits of combinatorial purged cross-validation (:func:`ml4t.validate.cpcv`) and their backtest paths.

    Attributes
    ----------
    n_groups, n_test_groups:
        N and k: the timeline is cut into N contiguous groups, each split tests k of them.
    paths:
        The backtest paths: ``C(N, k) * k / N`` tuples of N split indices, ``paths[p][g]`` being the split whose
        test predictions of group ``g`` form that part of path ``p``. The ``j``-th split (in split order) that
        tests group ``g`` goes to path ``j``, so every path covers every group exactly once.
    row_groups:
        Each row's group (int64, read-only).
    """

    __slots__ = ("n_groups", "n_test_groups", "paths", "row_groups")

    def __init__(
        self,
        splits: Sequence[Split],
        *,
        n_rows: int,
        params: Mapping[str, str],
        n_groups: int,
        n_test_groups: int,
        row_groups: np.ndarray,
    ) -> None:
        super().__init__(splits, n_rows=n_rows, method="cpcv", params=params)
        self.n_groups = n_groups
        self.n_test_groups = n_test_groups
        self.row_groups = row_groups
        tested_in: list[list[int]] = [[] for _ in range(n_groups)]
        for s in self._splits:
            for g in s.groups:
                tested_in[g].append(s.index)
        self.paths: tuple[tuple[int, ...], ...] = tuple(zip(*tested_in, strict=True))

    @property
    def n_paths(self) -> int:
        """The number of backtest paths, ``C(N, k) * k / N``."""
        return len(self.paths)

    def stitch(self, predictions: Sequence[Any]) -> np.ndarray:
        """The backtest paths made of per-split test values.

        Parameters
        ----------
        predictions:
            One array-like per split, in split order, aligned with that split's ``test`` rows (a model's
            predictions on them, or a strategy's returns there); 1-D, or N-D with the rows first.

        Returns
        -------
        numpy.ndarray
            Shape ``(n_paths, n_rows, ...)``: row ``r`` of path ``p`` holds the value that split
            ``paths[p][row_groups[r]]`` gave row ``r``. Every row of the data is on every path.
        """
        if len(predictions) != len(self._splits):
            raise ConfigError(
                f"predictions has {len(predictions)} entries for {len(self._splits)} splits (one per split, in "
                "split order)",
                argument="predictions",
            )
        values = [np.asarray(p) for p in predictions]
        for s, v in zip(self._splits, values, strict=True):
            if v.ndim == 0 or v.shape[0] != s.test.size:
                rows = "a scalar" if v.ndim == 0 else f"{v.shape[0]} rows"
                raise ConfigError(
                    f"predictions of split {s.index} have {rows}; its test set has {s.test.size}",
                    argument="predictions",
                )
        out = np.empty((self.n_paths, self.n_rows, *values[0].shape[1:]), dtype=np.result_type(*values))
        position = {(split, g): p for p, path in enumerate(self.paths) for g, split in enumerate(path)}
        for s, v in zip(self._splits, values, strict=True):
            test_groups = self.row_groups[s.test]
            for g in s.groups:
                mine = test_groups == g
                out[position[(s.index, g)], s.test[mine]] = v[mine]
        return out

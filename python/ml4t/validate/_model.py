""":func:`fit_predict`: a model retrained on each walk-forward window, its predictions as point-in-time signals.

The contract: for each forward split (every training row before the test block), a fresh copy of the
estimator is fitted on the training rows and predicts the test rows. Each prediction is stamped with two
times that say when it could exist and what its model knew:

* ``ts_arrival = max(the row's own ts_arrival, split.ready) + latency``: the row's features must have arrived,
  and the model must have been fittable (``split.ready``: the latest arrival of a training label), before the
  prediction can be computed; ``latency`` is the time to fit and predict;
* ``train_end = split.label_end - 1 ns``: the model learned labels about events up to ``split.label_end``, so a
  prediction about an earlier event is in-sample (its own label overlaps what the model was trained on) and
  :func:`ml4t.data.signals` (``train_end="train_end"``, per row: ``ts_event <= train_end``) refuses it with
  :class:`ml4t.LeakageError`. A prediction about ``label_end`` itself is out-of-sample: its label starts where
  every training label ended. The nanosecond makes the signals' inclusive rule say exactly that; stamping
  ``label_end`` itself would refuse the first test row of every walk-forward split purged by label arrival
  (there the last kept label is about the test block's first bar, arriving exactly as it is decided on).

The result is :class:`ml4t.data.Signals`, ready for ``align_signals`` (vectorized mode) and
``ctx.data.signal`` (event mode).
"""

from __future__ import annotations

import copy
import datetime as dt
import importlib
from collections.abc import Iterable, Sequence
from typing import Any, Literal, cast

import numpy as np
import polars as pl

from ml4t._time import TS_DTYPE, format_ns, parse_duration, to_ns
from ml4t._validate import check_choice
from ml4t.data import Bars, Signals, signals
from ml4t.errors import ConfigError, DataError, LeakageError
from ml4t.validate._types import Split

__all__ = ["fit_predict"]

METHODS = ("predict", "predict_proba", "decision_function")
_RESERVED = ("ts_event", "ts_arrival", "symbol", "in_sample", "train_end")


def fit_predict(
    model: Any,
    data: pl.DataFrame | Bars | Signals,
    *,
    features: str | Sequence[str],
    target: str,
    splits: Iterable[Split],
    latency: dt.timedelta | str | int = "0s",
    name: str = "prediction",
    method: str = "predict",
    missing: Literal["drop", "keep"] = "drop",
) -> Signals:
    """Fit ``model`` on each split's training rows, predict its test rows, and return the predictions as
    :class:`ml4t.data.Signals` whose every row carries its arrival and its own model's training cut-off.

    >>> splits = ml4t.validate.walk_forward(data, train=250, test=21, purge=5)
    >>> preds = ml4t.validate.fit_predict(Ridge(), data, features=["mom", "vol"], target="fwd_5", splits=splits)
    >>> scored = ml4t.data.align_signals(bars, preds)

    Parameters
    ----------
    model:
        Any estimator with ``fit(X, y)`` and ``method``. A scikit-learn estimator is copied with
        ``sklearn.base.clone`` for each split, anything else with ``copy.deepcopy``; ``model`` itself is never
        fitted.
    data:
        The rows the splits were made from: a Polars DataFrame with ``ts_event`` and ``ts_arrival`` (tz-aware
        datetimes) and optionally ``symbol``, or :class:`ml4t.data.Bars` / :class:`ml4t.data.Signals` (their
        ``.frame``). Row positions are this frame's.
    features:
        The feature column(s), in the order the model sees them (a 2-D float array ``X``; nulls read as NaN).
    target:
        The label column. Training rows whose target is null or NaN are dropped (the last rows of a forward
        return, for instance); test rows are predicted whatever their target.
    splits:
        Forward splits (:class:`ml4t.validate.Split`, e.g. from ``walk_forward``): every training row's
        ``ts_event`` before the test block's first. A combinatorial split (``cpcv``, ``groups`` set) is refused:
        its models are trained on the future of their test rows, which is fine to evaluate a model, never to
        trade it. Splits made from data of another length (``n_rows`` of a splits object, else an index out of
        range) are a DataError, and so is a row predicted by two splits.
    latency:
        Time from the model being fittable to the prediction existing (a duration, default ``"0s"``).
    name:
        The value column of the returned signals.
    method:
        ``"predict"``, ``"predict_proba"`` (the probability of the last class, ``classes_[-1]``) or
        ``"decision_function"`` (one score per row).
    missing:
        Rows with a null or NaN feature (an indicator's warm-up, a gap): ``"drop"`` (default) leaves them out
        of training and gives them a NaN prediction (a row that says "no prediction for this bar", so an
        older prediction is not read in its place); ``"keep"`` passes the NaN to the estimator (for models
        that handle missing values, such as ``HistGradientBoostingRegressor``).

    Returns
    -------
    Signals with value column ``name``, ``ts_event`` and ``symbol`` of each test row, ``ts_arrival = max(row
    ts_arrival, split.ready) + latency`` and a per-row ``train_end = split.label_end - 1 ns`` (see the module
    docstring): a prediction is visible only once its model and its features could exist, and a prediction
    about an event inside its own model's label window raises :class:`ml4t.LeakageError`.
    """
    frame = _frame_of(data)
    columns = _columns(frame, features, target)
    latency_ns = parse_duration(latency, argument="latency")
    if not isinstance(name, str) or not name or name in _RESERVED:
        raise ConfigError(
            f"name must be a value column name other than {list(_RESERVED)}, got {name!r}", argument="name"
        )
    _check_model(model, method)
    folds = _checked_splits(splits, frame)
    event = frame["ts_event"].cast(pl.Int64).to_numpy()
    arrival = frame["ts_arrival"].cast(pl.Int64).to_numpy()
    X = frame.select(columns).cast(pl.Float64).fill_null(np.nan).to_numpy()
    complete = ~np.isnan(X).any(axis=1) if check_choice("missing", missing, ("drop", "keep")) == "drop" else None
    y = frame[target].cast(pl.Float64).fill_null(np.nan).to_numpy()
    symbols = frame["symbol"] if "symbol" in frame.columns else None
    parts = []
    for split in folds:
        _check_forward(split, event, symbols)
        train = split.train[~np.isnan(y[split.train])]
        if complete is not None:
            train = train[complete[train]]
        if train.size == 0:
            raise DataError(f"split {split.index} has no training row with a target", argument="splits", column=target)
        fitted = _fresh(model)
        fitted.fit(X[train], y[train])
        values = _predict(fitted, method, X, split, complete)
        ready = to_ns(cast(dt.datetime, split.ready), argument="splits")
        cut = to_ns(cast(dt.datetime, split.label_end), argument="splits") - 1  # see the module docstring
        parts.append(
            pl.DataFrame(
                {
                    "ts_event": frame["ts_event"].gather(split.test),
                    "ts_arrival": pl.Series(np.maximum(arrival[split.test], ready) + latency_ns).cast(TS_DTYPE),
                    **({"symbol": symbols.gather(split.test)} if symbols is not None else {}),
                    name: values,
                    "train_end": pl.Series([cut] * split.test.size, dtype=pl.Int64).cast(TS_DTYPE),
                }
            )
        )
    out = signals(pl.concat(parts), train_end="train_end", allow_in_sample=True)
    inside = out.frame.filter("in_sample").sort("ts_event", "symbol")
    if inside.height:
        first = inside.row(0, named=True)
        first_cut = inside["train_end"].cast(pl.Int64)[0]
        raise LeakageError(
            f"{inside.height} predictions are about events before the end of their own model's training labels "
            f"(split.label_end; the first's model learned labels up to {format_ns(int(first_cut) + 1)}): they "
            "would be in-sample; purge the training rows whose labels reach into the test block (purge=)",
            argument="splits",
            column="ts_event",
            symbol=first["symbol"],
            timestamp=int(inside["ts_event"].cast(pl.Int64)[0]),
        )
    return out


def _predict(fitted: Any, method: str, X: np.ndarray, split: Split, complete: np.ndarray | None) -> np.ndarray:
    """The test rows' predictions; NaN for rows left out for a missing feature (``complete`` False)."""
    rows = split.test if complete is None else split.test[complete[split.test]]
    values = np.full(split.test.size, np.nan)
    if rows.size:
        predicted = _predictions(getattr(fitted, method)(X[rows]), split, method, rows.size)
        values[np.flatnonzero(complete[split.test]) if complete is not None else slice(None)] = predicted
    return values


def _frame_of(data: Any) -> pl.DataFrame:
    frame = data.frame if isinstance(data, (Bars, Signals)) else data
    if not isinstance(frame, pl.DataFrame):
        raise ConfigError(
            f"data must be a Polars DataFrame, ml4t.data.Bars or Signals, got {type(data).__name__}", argument="data"
        )
    if frame.height == 0:
        raise DataError("data has no rows", argument="data")
    for column in ("ts_event", "ts_arrival"):
        if column not in frame.columns:
            raise DataError(f"data has no {column} column; it has {frame.columns}", argument="data", column=column)
        dtype = frame.schema[column]
        if not isinstance(dtype, pl.Datetime) or dtype.time_zone is None:
            raise DataError(f"{column} must hold tz-aware datetimes, got {dtype}", argument="data", column=column)
        if frame[column].null_count():
            raise DataError(f"{column} has null times", argument="data", column=column)
    return frame.with_columns(pl.col("ts_event", "ts_arrival").dt.convert_time_zone("UTC").cast(TS_DTYPE))


def _columns(frame: pl.DataFrame, features: str | Sequence[str], target: str) -> list[str]:
    """The feature columns, checked: present, numeric or boolean, named once; the target too."""
    names = [features] if isinstance(features, str) else list(features) if isinstance(features, Sequence) else None
    if not names or not all(isinstance(n, str) for n in names):
        raise ConfigError(
            f"features must be a column name or a non-empty list of names, got {features!r}", argument="features"
        )
    if len(set(names)) != len(names):
        raise ConfigError(
            "a feature is named twice", argument="features", column=next(n for n in names if names.count(n) > 1)
        )
    if not isinstance(target, str):
        raise ConfigError(f"target must be a column name, got {target!r}", argument="target")
    if target in names:
        raise ConfigError(
            "the target is also a feature: the model would read its own label", argument="target", column=target
        )
    for argument, column in [*(("features", n) for n in names), ("target", target)]:
        if column not in frame.columns:
            raise DataError(f"data has no column {column!r}; it has {frame.columns}", argument=argument, column=column)
        dtype = frame.schema[column]
        if not (dtype.is_numeric() or dtype == pl.Boolean):
            raise DataError(f"column has dtype {dtype}; expected numbers", argument=argument, column=column)
    return names


def _check_model(model: Any, method: str) -> None:
    if method not in METHODS:
        raise ConfigError(f"method must be one of {list(METHODS)}, got {method!r}", argument="method")
    for attribute in ("fit", method):
        if not callable(getattr(model, attribute, None)):
            raise ConfigError(f"model ({type(model).__name__}) has no {attribute}() method", argument="model")


def _checked_splits(splits: Iterable[Split], frame: pl.DataFrame) -> list[Split]:
    """The splits as a list: Split objects over ``frame``'s rows, each row tested at most once."""
    n_rows = getattr(splits, "n_rows", None)
    if n_rows is not None and n_rows != frame.height:
        raise DataError(
            f"the splits were made from {n_rows} rows and data has {frame.height}: give the data they were made from",
            argument="splits",
        )
    if not isinstance(splits, Iterable):
        raise ConfigError(
            "splits must be an iterable of ml4t.validate.Split (e.g. walk_forward(...))", argument="splits"
        )
    folds = list(splits)
    if not folds:
        raise ConfigError("splits is empty", argument="splits")
    tested = np.zeros(frame.height, dtype=np.int64)
    for split in folds:
        if not isinstance(split, Split):
            raise ConfigError(f"splits holds a {type(split).__name__}, not an ml4t.validate.Split", argument="splits")
        if split.groups:
            raise LeakageError(
                f"split {split.index} is combinatorial (test groups {list(split.groups)}): its model is trained on "
                "the future of its test rows, which is fine to evaluate a model but never to trade it; use forward "
                "splits (walk_forward) to make predictions",
                argument="splits",
            )
        for rows in (split.train, split.test):
            if rows.size and (rows.min() < 0 or rows.max() >= frame.height):
                raise DataError(
                    f"split {split.index} holds row {int(rows.max() if rows.max() >= frame.height else rows.min())}, "
                    f"outside data's {frame.height} rows: the splits were made from other data",
                    argument="splits",
                )
        if split.train.size == 0 or split.ready is None or split.label_end is None:
            raise DataError(f"split {split.index} has no training rows", argument="splits")
        if split.test.size == 0:
            raise DataError(f"split {split.index} has no test rows", argument="splits")
        np.add.at(tested, split.test, 1)
    twice = np.flatnonzero(tested > 1)
    if twice.size:
        first = int(twice[frame["ts_event"].gather(twice).arg_min() or 0])
        raise DataError(
            f"{twice.size} rows are in the test blocks of several splits: which model's prediction is the row's? "
            "use splits whose test blocks do not overlap (step >= test)",
            argument="splits",
            symbol=frame["symbol"][first] if "symbol" in frame.columns else None,
            timestamp=int(frame["ts_event"].cast(pl.Int64)[first]),
        )
    return folds


def _check_forward(split: Split, event: np.ndarray, symbols: pl.Series | None) -> None:
    """Every training row's ts_event before the test block's first, else a LeakageError naming the first
    training row that is not."""
    start = event[split.test].min()
    late = split.train[event[split.train] >= start]
    if late.size:
        first = late[np.argmin(event[late])]
        raise LeakageError(
            f"split {split.index} trains on {late.size} rows at or after its test block's start "
            f"({format_ns(int(start))}): a model for trading must be trained on the past only",
            argument="splits",
            symbol=None if symbols is None else symbols[int(first)],
            timestamp=int(event[first]),
        )


def _fresh(model: Any) -> Any:
    """An unfitted copy: ``sklearn.base.clone`` for a scikit-learn estimator, else ``copy.deepcopy``."""
    if hasattr(model, "get_params"):
        try:
            base = importlib.import_module("sklearn.base")
        except ImportError:
            pass
        else:
            if isinstance(model, base.BaseEstimator):
                return base.clone(model)
    return copy.deepcopy(model)


def _predictions(out: Any, split: Split, method: str, expected: int) -> np.ndarray:
    """One float per predicted row (``expected`` of them) from the estimator's output (the last column of
    ``predict_proba``)."""
    values = np.asarray(out)
    if method == "predict_proba" and values.ndim == 2:
        values = values[:, -1]
    elif values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1 or values.shape[0] != expected:
        raise DataError(
            f"model.{method} returned shape {values.shape} for split {split.index}'s {expected} test rows; "
            "expected one value per row",
            argument="model",
        )
    try:
        return values.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"model.{method} returned {values.dtype} values; predictions must be numbers", argument="model"
        ) from exc

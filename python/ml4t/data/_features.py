"""Columns of :class:`ml4t.data.Bars` computed from the bars themselves, recorded so that every derivation of
the bars recomputes them on its own rows (:meth:`Bars.with_features`, :meth:`Bars.with_indicators`,
:func:`ml4t.data.align_signals`).

The contract
------------
* A **step** computes some new columns from the canonical long frame (sorted by (``ts_event``, ``symbol``)):
  :class:`ExprStep` (Polars expressions, each evaluated per symbol in time order: ``expr.over("symbol")``),
  :class:`FnStep` (a function ``fn(frame) -> columns``: a DataFrame, a mapping of name -> Series or array, or
  one Series, of the frame's height, row ``i`` belonging to the frame's row ``i``), or the alignment of
  signals (``ml4t.data._align``). A ``Bars`` keeps its steps in the order they were attached; each step sees
  the columns of the steps before it.
* **Recomputation**: ``until``, ``between`` and ``select`` drop the computed columns, keep the rows they keep
  of the given ones, and :func:`replay` every step on those rows. A feature of ``bars.until(cut)`` is
  therefore computed only from the rows that arrived by the cut, which is what lets the lookahead audit verify
  it; ``until`` also passes its cut to each step (aligned signals are re-aligned from ``signals.until(cut)``).
* A step's column names and dtypes are fixed when it is attached: a recomputation returning other names is a
  ConfigError, and its values are cast to the recorded dtypes (a column of nulls keeps its type). With no rows,
  nothing is computed: the columns are empty, of their recorded dtypes.
* Every problem (a name already a column, a builder that raises, a wrong height, duplicate or missing names, a
  builder that is neither an expression nor a callable) is a ConfigError naming the step's argument
  (``features``, ``indicators`` or ``signals``) and the column.

Steps pickle with their builders: Polars expressions pickle; a function pickles by reference (its module and
name), so a ``lambda`` or a local function makes the bars unpicklable with the standard ``pickle`` (cloudpickle,
which Dask and Ray use, pickles them by value). There is no fallback to plain data: a silently dropped recipe
would turn verified columns into unverified ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import polars as pl

from ml4t.errors import ConfigError

__all__ = ["Builder", "ExprStep", "FnStep", "Step", "attach", "feature_steps", "replay"]

Builder = pl.Expr | Callable[[pl.DataFrame], Any]
"""What :meth:`Bars.with_features` takes: a Polars expression or a function of the canonical long frame."""


# Steps compare by identity (eq=False): a Polars expression's == builds an expression, not a bool.
@dataclass(frozen=True, eq=False)
class Step:
    """One recorded derivation: computes the columns ``names`` (of ``dtypes``, recorded when attached)."""

    names: tuple[str, ...]
    dtypes: tuple[pl.DataType, ...]
    argument: str

    def sources(self) -> dict[str, object]:
        """Each column and what computes it, as :attr:`Bars.features` shows it."""
        raise NotImplementedError

    def compute(self, frame: pl.DataFrame, cut: int | None) -> list[pl.Series]:
        """The step's columns on ``frame`` (``cut``: the ``until`` cut the frame was truncated at, or None)."""
        raise NotImplementedError

    def describe(self) -> str:
        return f"the {self.argument} builder of {list(self.names)}"


@dataclass(frozen=True, eq=False)
class ExprStep(Step):
    """Polars expressions (aliased to their names), evaluated together per symbol in time order."""

    exprs: tuple[pl.Expr, ...] = ()

    def sources(self) -> dict[str, object]:
        return dict(zip(self.names, self.exprs, strict=True))

    def compute(self, frame: pl.DataFrame, cut: int | None) -> list[pl.Series]:
        try:
            return frame.select(expr.over("symbol") for expr in self.exprs).get_columns()
        except pl.exceptions.PolarsError as error:
            raise ConfigError(
                f"{'an' if self.argument == 'indicators' else 'a'} {self.argument[:-1]} expression failed: {error}",
                argument=self.argument,
                column=self.names[0] if len(self.names) == 1 else None,
            ) from None

    def describe(self) -> str:
        return f"the {self.argument[:-1]} {self.names[0]!r}" if len(self.names) == 1 else f"the {self.argument}"


@dataclass(frozen=True, eq=False)
class FnStep(Step):
    """A function of the canonical long frame returning columns (``name``: the one column it returns)."""

    fn: Callable[[pl.DataFrame], Any] | None = None
    name: str | None = None

    def sources(self) -> dict[str, object]:
        return dict.fromkeys(self.names, self.fn)

    def compute(self, frame: pl.DataFrame, cut: int | None) -> list[pl.Series]:
        assert self.fn is not None
        try:
            out = self.fn(frame.clone())
        except Exception as error:  # the user's code: name the builder, keep the cause
            raise ConfigError(
                f"{self.describe()} raised {type(error).__name__}: {error}",
                argument="features",
                column=self.name or (self.names[0] if self.names else None),
            ) from error
        return _as_series(out, self)

    def describe(self) -> str:
        fn_name = getattr(self.fn, "__qualname__", type(self.fn).__name__)
        return f"the feature builder {fn_name}"


def _as_series(out: Any, step: FnStep) -> list[pl.Series]:
    """A function builder's output as named Series (one, renamed to ``step.name``, when it has a name)."""
    column = step.name
    if isinstance(out, pl.Series):
        series = [out]
    elif isinstance(out, pl.DataFrame):
        series = out.get_columns()
    elif isinstance(out, Mapping):
        series = []
        for key, value in out.items():
            if not isinstance(key, str):
                raise ConfigError(f"{step.describe()} returned a non-string column name {key!r}", argument="features")
            try:
                series.append(value.alias(key) if isinstance(value, pl.Series) else pl.Series(key, value))
            except (TypeError, ValueError, pl.exceptions.PolarsError) as error:
                raise ConfigError(
                    f"{step.describe()} returned a column that is not a Series or array: {error}",
                    argument="features",
                    column=key,
                ) from None
    else:
        raise ConfigError(
            f"{step.describe()} must return a polars DataFrame, a mapping of name -> Series, or (under a name) one "
            f"Series; got {type(out).__name__}",
            argument="features",
            column=column,
        )
    if column is not None:
        if len(series) != 1:
            raise ConfigError(
                f"{step.describe()} is given under one name, so it must return one column; it returned {len(series)}",
                argument="features",
                column=column,
            )
        return [series[0].alias(column)]
    for s in series:
        if not s.name:
            raise ConfigError(f"{step.describe()} returned a column without a name", argument="features")
    return series


def feature_steps(builders: Sequence[Any], named: Mapping[str, Any]) -> list[Step]:
    """The steps of ``with_features(*builders, **named)``, in order (positional first), before computing."""
    steps: list[Step] = []
    for name, builder in [*((None, b) for b in builders), *named.items()]:
        if isinstance(builder, pl.Expr):
            if name is None:
                if builder.meta.has_multiple_outputs():
                    raise ConfigError(
                        f"a positional feature expression must give one column, got {builder}; name it: "
                        "with_features(name=expr) or expr.alias(name)",
                        argument="features",
                    )
                try:
                    name = builder.meta.output_name()
                except pl.exceptions.PolarsError:
                    raise ConfigError(
                        f"a positional feature expression needs a name, got {builder}; use expr.alias(name)",
                        argument="features",
                    ) from None
            steps.append(ExprStep(names=(name,), dtypes=(), argument="features", exprs=(builder.alias(name),)))
        elif callable(builder):
            steps.append(FnStep(names=(), dtypes=(), argument="features", fn=builder, name=name))
        else:
            raise ConfigError(
                "a feature must be a Polars expression or a function of the bars' frame returning columns, got "
                f"{type(builder).__name__}",
                argument="features",
                column=name,
            )
    return steps


def attach(frame: pl.DataFrame, step: Step, given: Mapping[str, pl.Series] | None = None) -> tuple[pl.DataFrame, Step]:
    """Compute a new step on ``frame``: the frame with its columns, and the step with its names and dtypes.
    ``given`` (an :class:`ExprStep`'s only): some of its columns, already computed on ``frame``, used as they
    are; the step's other expressions are evaluated."""
    if given:
        assert isinstance(step, ExprStep)
        rest = replace(step, exprs=tuple(e for n, e in zip(step.names, step.exprs, strict=True) if n not in given))
        found = {s.name: s for s in (rest.compute(frame, None) if rest.exprs else [])}
        computed = [given[n].alias(n) if n in given else found[n] for n in step.names]
    else:
        computed = step.compute(frame, None)
    columns = _checked_height(step, computed, frame.height)
    names = [s.name for s in columns]
    for name in names:
        if name in frame.columns:
            raise ConfigError(
                f"{step.describe()} gives the column {name!r}, which is already a column of the bars "
                f"(the names of {step.argument} must be new; a function builder returns only its new columns)",
                argument=step.argument,
                column=name,
            )
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise ConfigError(f"{step.describe()} gives the column {dup!r} twice", argument=step.argument, column=dup)
    recorded = replace(step, names=tuple(names), dtypes=tuple(s.dtype for s in columns))
    return frame.hstack(columns), recorded


def replay(frame: pl.DataFrame, steps: Sequence[Step], cut: int | None) -> pl.DataFrame:
    """``frame`` (the given columns of some rows) with every step's columns recomputed on it, in order."""
    for step in steps:
        if frame.height == 0:
            columns = [pl.Series(n, [], dtype=d) for n, d in zip(step.names, step.dtypes, strict=True)]
        else:
            columns = _checked_height(step, step.compute(frame, cut), frame.height)
            got = {s.name: s for s in columns}
            if set(got) != set(step.names) or len(got) != len(columns):
                raise ConfigError(
                    f"{step.describe()} returned the columns {[s.name for s in columns]} on {frame.height} rows but "
                    f"{list(step.names)} when it was attached; a builder must always return the same columns",
                    argument=step.argument,
                    column=step.names[0] if step.names else None,
                )
            columns = [_cast(step, got[n], d) for n, d in zip(step.names, step.dtypes, strict=True)]
        frame = frame.hstack(columns)
    return frame


def _checked_height(step: Step, columns: list[pl.Series], height: int) -> list[pl.Series]:
    for s in columns:
        if s.len() != height:
            raise ConfigError(
                f"{step.describe()} returned {s.len()} rows for a frame of {height}: a builder returns one value "
                "per row of the frame it is given, in its order",
                argument=step.argument,
                column=s.name,
            )
    return columns


def _cast(step: Step, series: pl.Series, dtype: pl.DataType) -> pl.Series:
    if series.dtype == dtype:
        return series
    try:
        return series.cast(dtype)
    except pl.exceptions.PolarsError:
        raise ConfigError(
            f"{step.describe()} returned {series.dtype} values where it returned {dtype} when it was attached",
            argument=step.argument,
            column=series.name,
        ) from None

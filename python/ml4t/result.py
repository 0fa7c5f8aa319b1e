"""The one result shape both modes return: :class:`Result`.

A :class:`Result` is a handful of Polars frames with fixed schemas plus the settings needed to read them;
``ml4t._shape`` declares the schemas and every frame's rows and columns, and checks them when a Result is
built. The engines hand ``positions``, ``orders``, ``fills`` and ``trades`` over as builders
(``ml4t._shape.FrameBuilder``) that run on first access: a user who reads only ``metrics`` builds only the
frames the metrics read; the frames are the same whenever they are built, and a pickle or a saved run holds
them all. ``ml4t.metrics`` computes every statistic from that shape only, so the vectorized and event-driven
modes are measured by exactly the same code; ``Result.metrics`` is the summary of it.

What a portfolio researcher plots comes derived from those frames, lazily (computed on first access, then
cached, not pickled): ``Result.weights`` (per symbol and bar, position value over equity), ``Result.exposure``
(per bar: long, short, gross and net fractions of equity, and the number of positions) and
``Result.turnover`` (per bar with fills: traded value, two-sided, over equity); ``ml4t._shape`` defines them.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Any

import polars as pl

from ml4t._shape import (
    EQUITY_SCHEMA,
    EXPOSURE_SCHEMA,
    FILLS_SCHEMA,
    ORDER_STATUSES,
    ORDERS_SCHEMA,
    POSITIONS_SCHEMA,
    TRADES_SCHEMA,
    TURNOVER_SCHEMA,
    WEIGHTS_SCHEMA,
    ResultShape,
    empty_frame,
)
from ml4t.metrics import summary

__all__ = [
    "EQUITY_SCHEMA",
    "EXPOSURE_SCHEMA",
    "FILLS_SCHEMA",
    "ORDERS_SCHEMA",
    "ORDER_STATUSES",
    "POSITIONS_SCHEMA",
    "TRADES_SCHEMA",
    "TURNOVER_SCHEMA",
    "WEIGHTS_SCHEMA",
    "Result",
    "empty_frame",
]


class Result(ResultShape):
    """What a backtest produced: ``equity``, ``positions``, ``orders``, ``fills`` and ``trades`` frames (see
    ``ml4t._shape`` for their rows and columns), the frames derived from them (``returns``, ``weights``,
    ``exposure``, ``turnover``), ``init_cash``, ``periods_per_year`` (the annualization the
    metrics use, inferred from the data's own calendar by the engines, or given) and ``meta`` (the mode and
    settings that produced the run). Extra columns beyond the declared schemas are allowed and kept.
    """

    @cached_property
    def metrics(self) -> pl.DataFrame:
        """Every statistic of ``ml4t.metrics.summary`` as a one-row frame (computed once, then cached)."""
        return summary(self)

    def plot(self, *, symbol: str | None = None, max_points: int | None = None, title: str | None = None) -> Any:
        """An interactive plotly figure of the run; see :func:`ml4t.report.plot_result`."""
        from ml4t.report import plot_result

        return plot_result(self, symbol=symbol, max_points=max_points, title=title)

    def report(
        self,
        path: str | os.PathLike[str],
        *,
        audit: Any = None,
        title: str | None = None,
        max_points: int | None = None,
    ) -> Path:
        """Write the run's one-file HTML report to ``path``; see :func:`ml4t.report.report_result`."""
        from ml4t.report import report_result

        return report_result(self, path, audit=audit, title=title, max_points=max_points)

    def save(self, path: str | os.PathLike[str], *, bars: bool = True, overwrite: bool = False) -> Path:
        """Save the result as a folder of Parquet files plus a JSON manifest; see :func:`ml4t.report.save_result`."""
        from ml4t.report import save_result

        return save_result(self, path, bars=bars, overwrite=overwrite)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Result:
        """A result saved by :meth:`save`; see :func:`ml4t.report.load_result`."""
        from ml4t.report import load_result

        return load_result(path, result_type=cls)

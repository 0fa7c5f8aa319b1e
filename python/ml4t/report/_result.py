"""Plots and the one-file report of a single run (owned by the `plots` work of issue #14; being written)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["plot_result", "report_result"]


def plot_result(
    result: Any, *, symbol: str | None = None, max_points: int | None = None, title: str | None = None
) -> Any:
    raise NotImplementedError("Result.plot() is being written (issue #14)")


def report_result(
    result: Any,
    path: str | os.PathLike[str],
    *,
    audit: Any = None,
    title: str | None = None,
    max_points: int | None = None,
) -> Path:
    raise NotImplementedError("Result.report() is being written (issue #14)")

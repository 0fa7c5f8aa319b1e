"""Saving a Result as Parquet plus a JSON manifest, and loading it back (issue #14; being written)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ml4t.result import Result

__all__ = ["load_result", "save_result"]


def save_result(result: Any, path: str | os.PathLike[str], *, bars: bool = True) -> Path:
    raise NotImplementedError("Result.save() is being written (issue #14)")


def load_result(path: str | os.PathLike[str]) -> Result:
    raise NotImplementedError("Result.load() is being written (issue #14)")

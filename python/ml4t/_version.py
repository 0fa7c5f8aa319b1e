"""Installed versions, read from the packages' metadata: the one place ml4t asks (a leaf; reports, saved
runs and ``ml4t --version`` record them)."""

from __future__ import annotations

from functools import lru_cache
from importlib import metadata

__all__ = ["installed"]


@lru_cache(maxsize=64)
def installed(package: str = "ml4t") -> str | None:
    """The installed version of ``package``, or None when it is not installed. Read once per process (a read
    parses the package's metadata, ~4 ms, and every cache key asks for ml4t's; the code this process imported
    does not change when another version is installed beside it)."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None

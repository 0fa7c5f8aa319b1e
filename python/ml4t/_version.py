"""Installed versions, read from the packages' metadata: the one place ml4t asks (a leaf; reports, saved
runs and ``ml4t --version`` record them)."""

from __future__ import annotations

from importlib import metadata

__all__ = ["installed"]


def installed(package: str = "ml4t") -> str | None:
    """The installed version of ``package``, or None when it is not installed."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None

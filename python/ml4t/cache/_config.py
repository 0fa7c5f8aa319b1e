"""Where the cache lives, how large it may grow, and whether library calls use it by default.

- The directory is ``configure(dir=...)``'s, else ``$ML4T_CACHE_DIR``, else the user's cache directory:
  ``$XDG_CACHE_HOME/ml4t`` (an absolute ``XDG_CACHE_HOME`` only, as the XDG spec says) or ``~/.cache/ml4t`` on
  Linux and other POSIX systems, ``~/Library/Caches/ml4t`` on macOS, ``%LOCALAPPDATA%\\ml4t\\Cache`` on Windows.
  Without ``dir`` the environment is read each time :func:`settings` is called.
- The size limit is a number of bytes or a text such as ``"500MB"`` or ``"5GB"``: ``B``, ``KB``/``MB``/``GB``/
  ``TB`` in powers of 1000 (as disks are sold and ``du --si`` counts), ``KiB``/``MiB``/``GiB``/``TiB`` in powers
  of 1024; case and a space before the unit do not matter; default 5 GB.
- ``enabled`` is the default of library calls (``sweep(..., cache=None)`` and the like): False until the user
  configures the cache. Why off: a library call that silently writes gigabytes under the home directory and answers
  from an earlier run surprises in a notebook, in tests and on shared machines; the user who wants it says so once,
  and a CLI run (a declared, reproducible study) turns it on for itself. ``configure()`` is that opt-in: its
  ``enabled=None`` means True; ``configure(enabled=False)`` sets the directory or the limit and keeps it off.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ml4t._validate import check_bool, is_integer
from ml4t.cache._store import Store
from ml4t.errors import ConfigError

__all__ = ["CacheSettings", "configure", "default_dir", "parse_size", "resolve", "settings", "store"]

DEFAULT_MAX_SIZE = "5GB"

_UNITS = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class CacheSettings:
    """The cache's settings as they apply now: the directory, the limit in bytes, the library default."""

    dir: Path
    max_bytes: int
    enabled: bool


@dataclass(frozen=True)
class _Configured:
    dir: Path | None
    max_bytes: int
    enabled: bool


def parse_size(value: object, *, argument: str = "max_size") -> int:
    """``value`` (a positive integer of bytes, or a text like ``"500MB"``, ``"1.5GiB"``) as a number of bytes;
    a ConfigError naming ``argument`` otherwise."""
    if is_integer(value):
        size = int(value)
    elif isinstance(value, str) and (match := _SIZE.fullmatch(value)) and match[2].lower() in {*_UNITS, ""}:
        size = int(float(match[1]) * _UNITS[match[2].lower() or "b"])
    else:
        raise ConfigError(
            f"{argument} must be a number of bytes or a text like '500MB' or '5GB' "
            f"(units {', '.join(u.upper() if len(u) == 2 else u.capitalize() for u in _UNITS)}), got {value!r}",
            argument=argument,
        )
    if size <= 0:
        raise ConfigError(f"{argument} must be positive, got {value!r}", argument=argument)
    return size


def default_dir(platform: str | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """The user's cache directory for ml4t on ``platform`` (``sys.platform``) with ``environ`` (``os.environ``),
    ignoring ``ML4T_CACHE_DIR``."""
    platform = sys.platform if platform is None else platform
    environ = os.environ if environ is None else environ
    home = Path(environ.get("HOME") or environ.get("USERPROFILE") or Path.home())
    if platform == "win32":
        local = environ.get("LOCALAPPDATA")
        return (Path(local) if local else home / "AppData" / "Local") / "ml4t" / "Cache"
    if platform == "darwin":
        return home / "Library" / "Caches" / "ml4t"
    xdg = environ.get("XDG_CACHE_HOME", "")
    return (Path(xdg) if os.path.isabs(xdg) else home / ".cache") / "ml4t"


_configured = _Configured(None, parse_size(DEFAULT_MAX_SIZE), False)


def configure(
    dir: str | os.PathLike[str] | None = None,
    max_size: int | str = DEFAULT_MAX_SIZE,
    enabled: bool | None = None,
) -> CacheSettings:
    """Set the cache's directory (None: ``$ML4T_CACHE_DIR`` or the user's cache directory, read when used), its
    size limit (bytes, or text such as ``"500MB"``) and whether library calls use it by default (None: True,
    since configuring is the opt-in; see the module's docstring). Every call sets all three. Returns
    :func:`settings`. A bad value is a ConfigError naming its argument; nothing is changed then."""
    global _configured
    folder: Path | None = None
    if dir is not None:
        if not isinstance(dir, (str, os.PathLike)) or not os.fspath(dir):
            raise ConfigError(f"dir must be a path, got {dir!r}", argument="dir")
        folder = Path(dir).expanduser().absolute()
        if folder.exists() and not folder.is_dir():
            raise ConfigError(f"dir {folder} exists and is not a directory", argument="dir")
    max_bytes = parse_size(max_size)
    on = True if enabled is None else check_bool("enabled", enabled)
    _configured = _Configured(folder, max_bytes, on)
    return settings()


def settings() -> CacheSettings:
    """The settings that apply now (the directory resolved from the environment unless configured)."""
    folder = _configured.dir
    if folder is None:
        from_env = os.environ.get("ML4T_CACHE_DIR", "")
        folder = Path(from_env).expanduser().absolute() if from_env else default_dir()
    return CacheSettings(folder, _configured.max_bytes, _configured.enabled)


def store() -> Store:
    """The Store the settings name (nothing is created on disk until the first put)."""
    current = settings()
    return Store(current.dir, max_bytes=current.max_bytes)


def resolve(cache: object, *, argument: str = "cache") -> Store | None:
    """The Store a call's ``cache`` argument names, or None when the cache is off: ``True`` is :func:`store`,
    ``False`` none, ``None`` follows :func:`settings` (``enabled``: off until :func:`configure`), and a
    :class:`Store` is used as given. Anything else is a ConfigError naming ``argument``. Every call that takes
    ``cache=`` (``VectorizedStrategy.sweep``, ``Engine.run``, ``Study.run``) resolves it here."""
    if cache is None:
        cache = settings().enabled
    if isinstance(cache, Store):
        return cache
    if cache is True:
        return store()
    if cache is False:
        return None
    raise ConfigError(
        f"{argument} must be True, False, None or an ml4t.cache.Store, got {cache!r:.60}", argument=argument
    )


def _reset() -> None:
    """Back to the defaults of a fresh process (for tests)."""
    global _configured
    _configured = _Configured(None, parse_size(DEFAULT_MAX_SIZE), False)

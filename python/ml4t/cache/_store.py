"""The on-disk store: one Parquet file per entry, written atomically, checked on read, evicted least recently used.

Layout: ``root/<level>/<key[:2]>/<key>.parquet``, where ``level`` is one of :data:`LEVELS` and ``key`` is the
caller's hex text (the content address). What an entry file holds and how it is checked is
:mod:`ml4t.cache._entry`'s contract.

- **Atomic**: an entry is written to a temporary file in its own folder, flushed and fsynced, then renamed over
  the entry's name (``os.replace``): a reader sees the old entry, the new one or none, never a partial one.
- **Compute once**: :meth:`Store.get_or_compute` takes the key's lock (``<key>.lock``, an flock: see
  :mod:`ml4t.cache._lock`), looks again, and only then computes; two processes asking for the same missing
  entry compute it once, the second reads what the first wrote.
- **Never trusted when damaged**: :meth:`Store.get` checks every entry it reads; a damaged one is warned about
  (:class:`ml4t.errors.CacheWarning`, naming the entry and why), removed, and reported missing.
- **Least recently used**: an entry's last use is its file's modification time. A put creates it, a hit sets it
  to now (``os.utime``). Why the file's time and not an index: a hit then costs one system call and no lock, an
  index cannot disagree with the files, and a crash leaves nothing to repair. The total size is kept as one
  number (``root/.usage``, under the store-wide lock ``root/.lock``): a put adds its size, and only when the sum
  passes ``max_bytes`` (or is unknown) does it list the files, the exact total replacing the estimate, and, when
  the total exceeds ``max_bytes``, remove the least recently used entries down to nine tenths of it (so a full
  store is listed once per tenth of its size written, not on every put). The number only overestimates (a removed
  or replaced entry is not subtracted), which costs an extra listing, never an overfull store. The entry just
  written is the most recently used, so it goes last: only an entry larger than ``max_bytes`` by itself is
  removed by its own put. A reader that has an entry open keeps reading it when it is evicted (POSIX keeps an
  unlinked file readable while open); on Windows such an entry is skipped and removed by a later eviction.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import secrets
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from ml4t._validate import is_integer
from ml4t.cache import _entry
from ml4t.cache._lock import FileLock
from ml4t.errors import CacheWarning, ConfigError

__all__ = ["LEVELS", "Entry", "EntryInfo", "Store"]

LEVELS = ("indicators", "signals", "results", "event")
"""The levels an entry may belong to: indicator leaves, signal matrices, per-combination sweep results, the
event mode's indicators."""

_KEY = re.compile(r"[0-9a-f]{16,128}")
_SUFFIX = ".parquet"
LOW_WATER = 0.9
"""An eviction goes down to this fraction of ``max_bytes``: a full store then lists its files once per tenth of its
size written, not on every put (a listing of 10,000 entries takes about 0.2 s)."""
_STALE_TMP_SECONDS = 3600  # a temporary file this old belongs to a writer that died: removed by eviction


@dataclass(frozen=True)
class Entry:
    """An entry read or written: its frame, the describe dict its writer gave (as JSON gives it back: lists for
    tuples), the content digest, its size on disk in bytes and its path."""

    level: str
    key: str
    frame: pl.DataFrame
    describe: dict[str, Any]
    digest: str
    size: int
    path: Path


@dataclass(frozen=True)
class EntryInfo:
    """An entry as listed, without reading its data: ``describe`` is None when its footer cannot be read
    (a damaged entry; :meth:`Store.get` would remove it). ``last_used`` is UTC."""

    level: str
    key: str
    size: int
    last_used: dt.datetime
    describe: dict[str, Any] | None
    path: Path


@dataclass(frozen=True)
class _File:
    level: str
    key: str
    path: Path
    size: int
    mtime_ns: int


def _check_level(level: object) -> str:
    if not isinstance(level, str) or level not in LEVELS:
        raise ConfigError(f"level must be one of {', '.join(LEVELS)}, got {level!r}", argument="level")
    return level


def _check_key(key: object) -> str:
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise ConfigError(f"key must be 16 to 128 lowercase hex digits, got {key!r}", argument="key")
    return key


class Store:
    """The cache's entries under ``root``, at most ``max_bytes`` bytes of entry files in total.

    A Store holds no open file and no state besides its two arguments: it pickles, and any number of Stores in
    any number of processes may share one ``root``. ``root`` is created on the first put.
    """

    def __init__(self, root: str | os.PathLike[str], *, max_bytes: int) -> None:
        if not isinstance(root, (str, os.PathLike)) or not os.fspath(root):
            raise ConfigError(f"root must be a path, got {root!r}", argument="root")
        if not is_integer(max_bytes) or max_bytes <= 0:
            raise ConfigError(f"max_bytes must be a positive integer, got {max_bytes!r}", argument="max_bytes")
        self.root = Path(root)
        self.max_bytes = int(max_bytes)

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r}, max_bytes={self.max_bytes})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Store) and (self.root, self.max_bytes) == (other.root, other.max_bytes)

    def __hash__(self) -> int:
        return hash((self.root, self.max_bytes))

    def path(self, level: str, key: str) -> Path:
        """Where the entry ``key`` of ``level`` lives (whether or not it exists)."""
        key = _check_key(key)
        return self.root / _check_level(level) / key[:2] / f"{key}{_SUFFIX}"

    # -- reading -----------------------------------------------------------------------------------------------

    def get(self, level: str, key: str) -> Entry | None:
        """The entry, or None when it is missing or damaged (then warned about with a CacheWarning and removed).
        A hit records its use (the file's modification time becomes now)."""
        path = self.path(level, key)
        try:
            with open(path, "rb") as file:
                identity = os.fstat(file.fileno())
                data = file.read()
        except FileNotFoundError:
            return None
        try:
            decoded = _entry.decode(data, level, key)
        except _entry.Damaged as damaged:
            self._discard(path, identity)
            warnings.warn(
                f"cache entry {level}/{key} ({path}) is damaged: {damaged}; removed, it will be recomputed",
                CacheWarning,
                stacklevel=2,
            )
            return None
        with contextlib.suppress(FileNotFoundError):  # evicted since we opened it: what we read is still whole
            os.utime(path)
        return Entry(level, key, decoded.frame, decoded.describe, decoded.digest, len(data), path)

    def _discard(self, path: Path, identity: os.stat_result) -> None:
        """Remove the damaged file we read, unless a writer has replaced it since with a new one."""
        try:
            current = os.stat(path)
            if (current.st_dev, current.st_ino) == (identity.st_dev, identity.st_ino):
                os.unlink(path)
        except FileNotFoundError:
            pass

    # -- writing -----------------------------------------------------------------------------------------------

    def put(self, level: str, key: str, frame: pl.DataFrame, *, describe: dict[str, Any]) -> Entry:
        """Store ``frame`` as the entry ``key`` of ``level`` (replacing any), with ``describe`` (a JSON-able dict:
        what was computed, from what, with which versions), then evict least recently used entries while the
        store exceeds ``max_bytes``. Bad arguments are a ConfigError naming the argument."""
        path = self.path(level, key)
        if not isinstance(frame, pl.DataFrame):
            raise ConfigError(f"frame must be a polars DataFrame, got {type(frame).__name__}", argument="frame")
        text = _entry.describe_text(describe)
        data, content = _entry.encode(level, key, frame, text)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.parent / f".{key}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
            with open(temporary, "xb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        self._account(len(data))
        return Entry(level, key, frame, json.loads(text), content, len(data), path)

    def get_or_compute(
        self, level: str, key: str, compute: Callable[[], pl.DataFrame], *, describe: dict[str, Any]
    ) -> tuple[pl.DataFrame, bool]:
        """The entry's frame and True when it is stored; else ``compute()``'s frame, stored, and False.

        Under the key's lock (across processes) the store is looked at again before computing, so concurrent
        callers of one missing key compute it once; the others wait and read it. An error in ``compute``
        propagates and stores nothing.
        """
        entry = self.get(level, key)
        if entry is not None:
            return entry.frame, True
        path = self.path(level, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(path.with_suffix(".lock"), remove=True):
            entry = self.get(level, key)
            if entry is not None:
                return entry.frame, True
            frame = compute()
            self.put(level, key, frame, describe=describe)
        return frame, False

    # -- size and eviction -------------------------------------------------------------------------------------

    def _account(self, added: int) -> None:
        """Add a put's bytes to the running total; list the files and evict when it passes the limit."""
        self.root.mkdir(parents=True, exist_ok=True)
        usage = self.root / ".usage"
        with FileLock(self.root / ".lock"):
            try:
                total: int | None = int(usage.read_text()) + added
            except (FileNotFoundError, ValueError):
                total = None
            if total is None or total > self.max_bytes:
                total = self._evict()
            usage.write_text(str(total))

    def _evict(self) -> int:
        """List the files; when their total exceeds ``max_bytes``, remove the least recently used (ties broken by
        path) until it is within :data:`LOW_WATER` of ``max_bytes``; the total left. Under the store-wide lock."""
        files = sorted(self._files(), key=lambda f: (f.mtime_ns, str(f.path)))
        total = sum(f.size for f in files)
        if total <= self.max_bytes:
            return total
        target = int(self.max_bytes * LOW_WATER)
        for file in files:
            if total <= target:
                break
            try:
                os.unlink(file.path)
            except FileNotFoundError:
                pass
            except OSError:  # pragma: no cover - Windows: open by a reader; a later eviction removes it
                continue
            total -= file.size
        return total

    def _files(self, level: str | None = None) -> Iterator[_File]:
        """Every entry file (of ``level``, or of all levels), from one listing; stale temporary files removed."""
        now = time.time()
        for name in LEVELS if level is None else (_check_level(level),):
            try:
                prefixes = list(os.scandir(self.root / name))
            except FileNotFoundError:
                continue
            for prefix in prefixes:
                if not prefix.is_dir():
                    continue
                for item in os.scandir(prefix.path):
                    try:
                        stat = item.stat()
                    except FileNotFoundError:
                        continue
                    if item.name.endswith(_SUFFIX):
                        key = item.name[: -len(_SUFFIX)]
                        yield _File(name, key, Path(item.path), stat.st_size, stat.st_mtime_ns)
                    elif item.name.endswith(".tmp") and now - stat.st_mtime > _STALE_TMP_SECONDS:
                        Path(item.path).unlink(missing_ok=True)

    # -- listing and clearing ----------------------------------------------------------------------------------

    def entries(self, level: str | None = None) -> list[EntryInfo]:
        """Every entry (of ``level``), most recently used first. Only the files' footers are read (by pyarrow,
        which raises on damage where Polars' reader may panic), and the entries are not checked: a listing is cheap
        and shows what each says it is; :meth:`get` checks and removes a damaged one."""
        import pyarrow as pa  # here, not at the top: `import ml4t` (the sweep imports this module) stays light
        import pyarrow.parquet as pq

        out = []
        for file in sorted(self._files(level), key=lambda f: (-f.mtime_ns, str(f.path))):
            try:
                found = pq.read_metadata(file.path).metadata or {}
                describe: dict[str, Any] | None = json.loads(found[b"ml4t.describe"])
            except (OSError, ValueError, KeyError, pa.ArrowException):
                describe = None
            if not isinstance(describe, dict):
                describe = None
            used = dt.datetime.fromtimestamp(file.mtime_ns / 1e9, tz=dt.UTC)
            out.append(EntryInfo(file.level, file.key, file.size, used, describe, file.path))
        return out

    def usage(self) -> dict[str, tuple[int, int]]:
        """For every level, its number of entries and their bytes on disk (from one listing, no file read)."""
        out = dict.fromkeys(LEVELS, (0, 0))
        for file in self._files():
            count, size = out[file.level]
            out[file.level] = (count + 1, size + file.size)
        return out

    def clear(self, level: str | None = None) -> tuple[int, int]:
        """Remove every entry (of ``level``); the number removed and their bytes."""
        count = size = 0
        if not self.root.is_dir():
            return count, size
        with FileLock(self.root / ".lock"):
            for file in list(self._files(level)):
                try:
                    os.unlink(file.path)
                except FileNotFoundError:
                    continue
                count, size = count + 1, size + file.size
            (self.root / ".usage").unlink(missing_ok=True)  # unknown: the next put lists the files
        return count, size

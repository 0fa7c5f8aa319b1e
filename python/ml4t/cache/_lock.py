"""An exclusive lock between processes: ``fcntl.flock`` on a lock file, released on exit.

The kernel releases a flock when its holder exits or dies, so a crashed process never leaves a stale lock (unlike
a lock that is the existence of a file). With ``remove=True`` the holder deletes the lock file before releasing it,
so per-key lock files do not pile up; that is safe because a process that acquires a lock checks that its open
file is still the one at the path (same device and inode), and starts over otherwise: a waiter that acquired the
deleted file, or a newcomer that created a new one, never both believe they hold the lock.

Windows has no flock: there the lock does nothing (untested platform). The store stays correct without it
(entries are written atomically), only the promise that concurrent callers compute a missing entry once is lost.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from types import TracebackType

if sys.platform != "win32":
    import fcntl

__all__ = ["FileLock"]


class FileLock:
    """``with FileLock(path):`` holds an exclusive lock on ``path`` (created if missing) across processes."""

    def __init__(self, path: Path, *, remove: bool = False) -> None:
        self.path = path
        self.remove = remove
        self._fd: int | None = None

    def __enter__(self) -> FileLock:
        if sys.platform == "win32":  # pragma: no cover
            return self
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                held = os.fstat(fd)
                current = os.stat(self.path)
            except FileNotFoundError:  # the holder before us removed it: start over on the new file
                os.close(fd)
                continue
            except BaseException:
                os.close(fd)
                raise
            if (held.st_dev, held.st_ino) == (current.st_dev, current.st_ino):
                self._fd = fd
                return self
            os.close(fd)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        fd, self._fd = self._fd, None
        if fd is None:  # pragma: no cover - Windows
            return
        try:
            if self.remove:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.path)
        finally:
            os.close(fd)  # closing the last descriptor releases the flock

"""Reading the files the linter is given, safely: only regular files, at most :data:`MAX_BYTES`, decoded as
Python decodes source (a UTF-8 BOM or a PEP 263 coding cookie, else UTF-8).

Every way a file can fail to be read is an :class:`Unreadable` carrying a one-line reason; the caller reports
it (``path:1:1: E902 cannot read: <reason>``) and goes on with the other files. Nothing here can block (a FIFO
is opened non-blocking and refused before any read) or read without bound (a symlink to ``/dev/zero``).
"""

from __future__ import annotations

import io
import json
import os
import stat
import tokenize
from pathlib import Path
from typing import Any

__all__ = ["MAX_BYTES", "Unreadable", "notebook_cells", "read_bytes", "read_python", "read_text"]

MAX_BYTES = 10 * 1024 * 1024
"""Files larger than this (10 MiB) are not read: no strategy source or notebook is that big, a log or a data
file named ``*.py`` may be."""

_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
)


class Unreadable(Exception):
    """A file the linter cannot read or decode; ``reason`` says why in a few words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def read_bytes(path: Path) -> bytes:
    """The bytes of a regular file (symlinks followed), or :class:`Unreadable`."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as error:
        raise Unreadable(error.strerror or type(error).__name__) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Unreadable(f"not a regular file ({_kind(info.st_mode)})")
        if info.st_size > MAX_BYTES:
            raise Unreadable(f"larger than {MAX_BYTES // (1024 * 1024)} MB ({info.st_size:,} bytes)")
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_BYTES:  # bounded even if the file grows while it is read
            try:
                chunk = os.read(fd, min(1 << 20, MAX_BYTES + 1 - size))
            except OSError as error:
                raise Unreadable(error.strerror or type(error).__name__) from None
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > MAX_BYTES:
            raise Unreadable(f"larger than {MAX_BYTES // (1024 * 1024)} MB")
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_python(path: Path) -> str:
    """A Python source file decoded as the interpreter would (BOM, coding cookie, else UTF-8)."""
    data = read_bytes(path)
    nul = data.find(b"\0")
    if nul >= 0:
        raise Unreadable(f"binary file (NUL byte at offset {nul})")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:  # undecodable first lines, an unknown cookie, a cookie contradicting the BOM
        _decode(data, "utf-8-sig")  # raises the more precise "not valid utf-8 text (byte ... at offset ...)"
        raise Unreadable(str(error.msg)) from None
    return _decode(data, encoding)


def read_text(path: Path) -> str:
    """A UTF-8 text file (Markdown), with or without a BOM."""
    data = read_bytes(path)
    return _decode(data, "utf-8-sig")


def _decode(data: bytes, encoding: str) -> str:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        name = "utf-8" if encoding == "utf-8-sig" else encoding
        raise Unreadable(f"not valid {name} text (byte 0x{data[error.start]:02x} at offset {error.start})") from None
    # universal newlines, as Python's own reader does
    return text.replace("\r\n", "\n").replace("\r", "\n")


def notebook_cells(path: Path) -> list[tuple[int, str | None]]:
    """A notebook's code cells as (cell number, source); the source is None for a cell whose ``source`` is not
    text (a string or a list of strings). The whole notebook is :class:`Unreadable` when it is not JSON or
    has no ``cells`` list."""
    data = read_bytes(path)
    try:
        document: Any = json.loads(data)
    except (ValueError, UnicodeDecodeError) as error:
        raise Unreadable(f"not a notebook: invalid JSON ({error})") from None
    cells = document.get("cells") if isinstance(document, dict) else None
    if not isinstance(cells, list):
        raise Unreadable("not a notebook: no 'cells' list")
    out: list[tuple[int, str | None]] = []
    for number, cell in enumerate(cells, 1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", [])
        if isinstance(source, list) and all(isinstance(part, str) for part in source):
            out.append((number, "".join(source)))
        elif isinstance(source, str):
            out.append((number, source))
        else:
            out.append((number, None))
    return out

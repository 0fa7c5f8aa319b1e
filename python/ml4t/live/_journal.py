"""The journal of a live, paper or replayed session: every event appended to a file on disk as it happens.

One JSON object per line (:class:`Entry`: ``seq``, ``kind``, ``ts``, ``wall``, ``data``), written and flushed
before the session acts on the event, and ``fsync``'d by default, so a crash loses at most the line being
written. The sequence numbers run 0, 1, 2, ... without a gap: a journal with a missing, repeated or
reordered line is refused (:class:`ml4t.DataError` naming the file and the line), never read around.

A crash can leave a last line cut short (no newline at its end). :func:`read` reports it with a
:class:`JournalWarning` (the byte offset where it starts) and returns the complete lines; opening the journal
again to append (:class:`Journal`) cuts that partial line off first, with the same warning, so the next entry
starts on a line of its own. A broken line that is followed by others is corruption, not a crash: refused.

The kinds are a closed set (:data:`KINDS`): what arrived (``bar``, ``signal``, ``heartbeat``), what the
session decided and sent (``decision``, ``order``, ``cancel``, ``risk``), what the broker answered (``ack``,
``reject``, ``fill``, ``update``), checks against the broker's state (``reconcile``) and the session's own
marks (``start``, ``restart``, ``end``).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import msgspec

from ml4t._validate import check_choice, check_int
from ml4t.errors import ConfigError, DataError, Ml4tWarning

__all__ = ["KINDS", "Entry", "Journal", "JournalWarning", "read"]

KINDS = (
    "start",
    "restart",
    "bar",
    "signal",
    "heartbeat",
    "decision",
    "order",
    "cancel",
    "risk",
    "ack",
    "reject",
    "fill",
    "update",
    "reconcile",
    "end",
)
"""Every kind of journal entry, in no particular order."""


class JournalWarning(Ml4tWarning):
    """A journal ended in a partial line (a crash while writing it): the line was left out or cut off."""


class Entry(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One line of the journal."""

    seq: int
    """Position in the journal: 0 for the first entry, then one more per entry."""
    kind: str
    """One of :data:`KINDS`."""
    ts: int
    """The session's clock when it happened (int nanoseconds UTC): simulated time in a replay, wall time live."""
    wall: int
    """The machine's wall clock when the entry was written (int nanoseconds UTC)."""
    data: dict[str, Any]
    """What happened, as JSON values (numbers, strings, booleans, null, lists and objects of them)."""


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(Entry)


def read(path: str | os.PathLike[str]) -> list[Entry]:
    """Every complete entry of the journal at ``path``, in order. A partial last line (a crash while it was
    written) is left out with a :class:`JournalWarning`; any other damage is a :class:`ml4t.DataError`."""
    entries, _ = _scan(Path(path))
    return entries


def _scan(path: Path) -> tuple[list[Entry], int]:
    """The complete entries and the byte length they take (where a partial last line, if any, starts)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"no journal at {str(path)!r}", argument="path") from None
    entries: list[Entry] = []
    start = 0
    while start < len(raw):
        end = raw.find(b"\n", start)
        if end < 0:  # the last line has no newline: cut short by a crash
            warnings.warn(
                f"the journal {str(path)!r} ends in a partial line at byte {start} (a crash while writing it); "
                f"its {len(entries)} complete entries are read",
                JournalWarning,
                stacklevel=3,
            )
            return entries, start
        line = raw[start:end]
        number = len(entries) + 1
        try:
            entry = _DECODER.decode(line)
        except msgspec.DecodeError as exc:
            raise DataError(f"the journal {str(path)!r} is damaged at line {number}: {exc}", argument="path") from None
        if entry.seq != len(entries):
            raise DataError(
                f"the journal {str(path)!r} has entry seq={entry.seq} at line {number} where seq={len(entries)} "
                "belongs: a line is missing, repeated or out of order",
                argument="path",
            )
        if entry.kind not in KINDS:
            raise DataError(
                f"the journal {str(path)!r} has an unknown kind {entry.kind!r} at line {number}", argument="path"
            )
        entries.append(entry)
        start = end + 1
    return entries, start


def _not_json(value: Any, where: str) -> str | None:
    """Why ``value`` would not read back from JSON as the same value (``where`` names it), or None. JSON has no
    NaN or infinity (an encoder writes null), its object keys are strings, and its arrays read back as lists;
    anything else (a tuple, a datetime, a NumPy number) would come back as another type."""
    if value is None or isinstance(value, (bool, int, str)):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{where} is {value!r} (JSON has no NaN or infinity)"
    if isinstance(value, list):
        for i, item in enumerate(value):
            if (problem := _not_json(item, f"{where}[{i}]")) is not None:
                return problem
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{where} has the key {key!r} (JSON keys are strings)"
            if (problem := _not_json(item, f"{where}[{key!r}]")) is not None:
                return problem
        return None
    return f"{where} is of type {type(value).__name__} ({value!r}; JSON holds lists, objects, strings, numbers)"


class Journal:
    """An append-only journal at ``path`` (created if missing; an existing one is read and continued).

    ``fsync=True`` (the default) forces every entry to the disk before :meth:`append` returns, so an entry the
    session acted on survives a crash of the machine, not only of the process; ``False`` only flushes to the
    operating system (faster; for tests and replays). Use it as a context manager, or :meth:`close` it.
    """

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.path = Path(path)
        self._fsync = fsync
        self.entries: list[Entry] = []
        """Every entry of the journal, the ones read at opening included, in order."""
        if self.path.exists():
            self.entries, length = _scan(self.path)
            if length < self.path.stat().st_size:
                os.truncate(self.path, length)  # the partial line a crash left (warned by _scan)
        self._file = open(self.path, "ab")  # noqa: SIM115 - held open for the session, closed by close()
        self._deferred = 0  # > 0 inside batch(): entries are flushed, synced once when the block ends

    @property
    def closed(self) -> bool:
        return self._file.closed

    def append(self, kind: str, ts: int, data: Mapping[str, Any] | None = None) -> Entry:
        """Write one entry of ``kind`` at the session's clock ``ts`` (int ns UTC) holding ``data`` (JSON values)
        and return it; it is on disk (flushed, and synced when ``fsync``) when this returns."""
        if self._file.closed:
            raise ConfigError(f"the journal {str(self.path)!r} is closed", argument="journal")
        check_choice("kind", kind, KINDS)
        ts = check_int("ts", ts)
        data = dict(data or {})
        problem = _not_json(data, "data")
        if problem is not None:
            raise ConfigError(
                f"the data of a {kind!r} journal entry must be JSON values read back as written: {problem}",
                argument="data",
                timestamp=ts,
            )
        entry = Entry(len(self.entries), kind, ts, time.time_ns(), data)
        line = _ENCODER.encode(entry) + b"\n"
        self._file.write(line)
        self._file.flush()
        if self._fsync and not self._deferred:
            os.fsync(self._file.fileno())
        self.entries.append(entry)
        return entry

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Entries appended inside the block are synced to the disk once, when it ends (each is still flushed
        to the operating system at once): for a run of entries the session acts on only after the last, such
        as a backlog of feed messages. Blocks nest; the outermost syncs."""
        self._deferred += 1
        try:
            yield
        finally:
            self._deferred -= 1
            if not self._deferred and self._fsync and not self._file.closed:
                os.fsync(self._file.fileno())

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r}, {len(self.entries)} entries{', closed' if self.closed else ''})"

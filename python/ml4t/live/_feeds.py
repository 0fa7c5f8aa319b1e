"""Feeds that need no network: :class:`HistoricalFeed` (a recording, in this process) and :class:`JournalFeed`
(what a journaled session received, read back from its journal)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ml4t.errors import ConfigError, DataError
from ml4t.live._journal import Journal
from ml4t.live._journal import read as read_journal
from ml4t.live._wire import Message, from_text, to_text

if TYPE_CHECKING:
    from ml4t.data import Bars, Signals
    from ml4t.live._journal import Entry
    from ml4t.live._seams import Feed

__all__ = ["MESSAGE_KINDS", "HistoricalFeed", "JournalFeed", "journal_message", "messages", "messages_of_journal"]

MESSAGE_KINDS = ("bar", "signal", "heartbeat")
"""The journal's kinds that hold a feed message."""


class _Listed:
    """A feed over messages held in a list: all of them ready at once."""

    def __init__(self, messages: list[Message]) -> None:
        self._messages = messages
        self._next = 0

    def next(self) -> Message | None:
        if self._next >= len(self._messages):
            return None
        self._next += 1
        return self._messages[self._next - 1]

    def pending(self) -> int:
        """Messages available without waiting (all of the rest)."""
        return len(self._messages) - self._next

    def close(self) -> None:
        self._next = len(self._messages)


class HistoricalFeed(_Listed):
    """Recorded ``bars`` (and ``signals``) as a feed in this process (no network): the messages a
    :class:`~ml4t.live.ReplayServer` would send for them, in order, without pacing or heartbeats."""

    def __init__(self, bars: Bars, signals: Signals | None = None) -> None:
        from ml4t.live._replay import messages_of  # checks bars and signals

        super().__init__([m for m in messages_of(bars, signals) if m.kind != "end"])


class JournalFeed(_Listed):
    """The messages a journaled session received, read back from its journal (``path``), as a feed: a session
    run on it receives the same data in the same order with the same watermarks as the original."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        if not os.path.exists(path):
            raise ConfigError(f"no journal at {os.fspath(path)!r}", argument="path")
        self.path = os.fspath(path)
        super().__init__(messages_of_journal(read_journal(path)))


def messages_of_journal(entries: list[Entry]) -> list[Message]:
    return [from_text(e.data["message"]) for e in entries if e.kind in MESSAGE_KINDS]


def messages(feed: Feed) -> Iterator[Message]:
    """The messages of ``feed`` until it ends (checked to be messages)."""
    while (message := feed.next()) is not None:
        if not isinstance(message, Message):
            raise DataError(f"a feed gave {type(message).__name__}, not an ml4t.live.Message", argument="feed")
        yield message


def journal_message(journal: Journal, message: Message) -> None:
    """Journal a feed message exactly as received (``bar`` when it holds bars, else ``signal``, or
    ``heartbeat``)."""
    kind = "heartbeat" if message.kind == "heartbeat" else ("bar" if message.bars else "signal")
    rows = len(next(iter(message.bars.values()), ())) if message.bars else 0
    journal.append(kind, message.ts, {"seq": message.seq, "rows": rows, "message": to_text(message)})

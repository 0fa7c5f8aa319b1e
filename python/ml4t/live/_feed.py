"""``ReplayFeed``: the client of a replay (or any feed speaking :mod:`ml4t.live._wire`): every message exactly
once, in order, across dropped connections.

A background thread holds the websocket. On every (re)connect it asks for the first message it does not
have (``Resume``); a message it already has is dropped and counted (:attr:`ReplayFeed.duplicates`), one that
comes early is held until the gap before it is filled (:attr:`ReplayFeed.reordered`), so the session reads a
gapless sequence. A dropped connection is retried with a doubling pause (``backoff``); after
``max_reconnects`` failures in a row, or ``timeout`` seconds without any message, iterating raises
:class:`ml4t.FeedError` naming the address: never a silent stop.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Iterator
from types import TracebackType
from typing import Self

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from ml4t._validate import check_int, check_number
from ml4t.errors import ConfigError, FeedError
from ml4t.live._wire import Message, Resume, decode, encode

__all__ = ["ReplayFeed"]


class ReplayFeed:
    """The messages of the feed at ``url`` (``ws://127.0.0.1:PORT``), in order, each once; iterate it (or call
    :meth:`next`) from the session's thread. ``close()`` (or a ``with`` block) stops the background thread."""

    def __init__(self, url: str, *, timeout: float = 10.0, max_reconnects: int = 5, backoff: float = 0.05) -> None:
        if not isinstance(url, str) or not url.startswith(("ws://", "wss://")):
            raise ConfigError(f"url must be a websocket address (ws://host:port), got {url!r}", argument="url")
        self.url = url
        self.timeout = check_number("timeout", timeout, positive=True)
        self.max_reconnects = check_int("max_reconnects", max_reconnects, minimum=0)
        self.backoff = check_number("backoff", backoff, minimum=0)
        self.duplicates = 0
        """Messages received again (after a reconnect, or sent twice) and dropped."""
        self.reordered = 0
        """Messages that came before an earlier one and were held until it arrived."""
        self.reconnects = 0
        """Connections lost (or refused) and tried again."""
        self._queue: queue.Queue[Message | FeedError] = queue.Queue()
        self._closing = threading.Event()
        self._ended = False
        self._thread = threading.Thread(target=self._run, name="ml4t-replay-feed", daemon=True)
        self._thread.start()

    def __iter__(self) -> Iterator[Message]:
        while (message := self.next()) is not None:
            yield message

    def next(self) -> Message | None:
        """The next message (data or heartbeat), or None once the feed's end was read. Blocks up to ``timeout``
        seconds; a feed that failed for good raises :class:`ml4t.FeedError`."""
        if self._ended:
            return None
        try:
            item = self._queue.get(timeout=self.timeout)
        except queue.Empty:
            raise FeedError(f"no message from {self.url} for {self.timeout:g} s", argument="url") from None
        if isinstance(item, FeedError):
            self._ended = True
            raise item
        if item.kind == "end":
            self._ended = True
            return None
        return item

    def pending(self) -> int:
        """Messages received and waiting to be read (a session takes a backlog at once)."""
        return 0 if self._ended else self._queue.qsize()

    def close(self) -> None:
        self._closing.set()
        self._thread.join(timeout=30)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _run(self) -> None:
        asyncio.run(self._receive())

    async def _receive(self) -> None:
        expected, held, failures = 0, dict[int, Message](), 0
        while not self._closing.is_set():
            try:
                async with connect(self.url, max_size=None, open_timeout=self.timeout) as ws:
                    await ws.send(encode(Resume(expected)))
                    while not self._closing.is_set():
                        try:
                            frame = await asyncio.wait_for(ws.recv(), timeout=0.1)
                        except TimeoutError:
                            continue
                        failures = 0
                        message = decode(frame if isinstance(frame, bytes) else frame.encode())
                        if message.kind == "heartbeat":
                            if message.seq == expected - 1:  # the clock after everything we have: pass it on
                                self._queue.put(message)
                            continue
                        if message.seq < expected or message.seq in held:
                            self.duplicates += 1
                            continue
                        if message.seq > expected:
                            self.reordered += 1
                        held[message.seq] = message
                        while expected in held:
                            message = held.pop(expected)
                            self._queue.put(message)
                            expected += 1
                            if message.kind == "end":
                                return
            except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError) as error:
                reason = f"{type(error).__name__}: {error}"
            except InvalidURI as error:
                self._queue.put(FeedError(f"cannot connect to {self.url}: {error}", argument="url"))
                return
            else:
                reason = "the server closed the connection before the end"
            if self._closing.is_set():
                return
            failures += 1
            self.reconnects += 1
            if failures > self.max_reconnects:
                self._queue.put(
                    FeedError(
                        f"lost the feed at {self.url} {failures} times in a row (last: {reason}); "
                        f"{expected} messages were received",
                        argument="url",
                    )
                )
                return
            await asyncio.sleep(self.backoff * 2 ** (failures - 1))

"""Where a live session's data comes from: the :class:`Feed` protocol. The strategy's clock and broker are the
protocols ``Clock`` and ``Broker`` of :mod:`ml4t.event._seams` (what ``ctx`` uses), re-exported by
``ml4t.live``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ml4t.live._wire import Message

__all__ = ["Feed"]


@runtime_checkable
class Feed(Protocol):
    """Where bars and signals come from: :meth:`next` returns the next message (``data``: the records that
    arrive at ``message.ts``, after which every record with ``ts_arrival <= ts`` has been delivered;
    ``heartbeat``: the clock moved to ``ts`` with nothing arriving) or None at the end. The session calls it
    from its own thread and blocks on it; a feed that fails raises :class:`ml4t.FeedError`. A feed may also
    say how many messages it holds ready (``pending() -> int``, optional): a session on the simulated broker
    then takes a backlog at once (the same steps, fewer rebuilds)."""

    def next(self) -> Message | None: ...

    def close(self) -> None: ...

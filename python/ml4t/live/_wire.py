"""The replay feed's messages on the wire: MessagePack (``msgspec``) in binary websocket frames, so NaN and
infinities survive (JSON has neither).

A feed sends, in order:

- ``data``: every bar and signal that arrives at one timestamp ``ts`` (their ``ts_arrival``), as columns
  (``{"symbol": [...], "ts_event": [...], ...}``). Receiving it means every record with ``ts_arrival <= ts``
  has been sent: ``ts`` is also the feed's watermark.
- ``heartbeat``: the simulated clock moved to ``ts`` with nothing arriving (a paced replay sends one every
  ``heartbeat`` of wall time): the watermark moves. (A session fires a timer once data after it is held, as a
  backtest does, so a heartbeat alone fires none: replays stay exact.) Heartbeats depend on wall time and carry no
  sequence number of their own (``seq`` is the last data message's).
- ``end``: the recording is over.

``data`` and ``end`` carry ``seq`` = 0, 1, 2, ...: a client that reconnects sends ``{"resume": k}`` and the
server continues from message ``k``; the client drops a repeated ``seq`` and holds an early one until the gap
before it is filled, so each message reaches the session exactly once, in order.
"""

from __future__ import annotations

import base64
from typing import Any, Literal

import msgspec

__all__ = ["Message", "Resume", "decode", "encode", "from_text", "to_text"]


class Message(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    kind: Literal["data", "heartbeat", "end"]
    seq: int
    ts: int
    """int nanoseconds UTC: the arrival time of a data message's records; the clock of a heartbeat."""
    bars: dict[str, list[Any]] = {}
    signals: dict[str, list[Any]] = {}


class Resume(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What a client sends when it connects: the ``seq`` of the first message it has not received."""

    resume: int


_ENCODER = msgspec.msgpack.Encoder()
_MESSAGE = msgspec.msgpack.Decoder(Message)
_RESUME = msgspec.msgpack.Decoder(Resume)


def encode(value: Message | Resume) -> bytes:
    return _ENCODER.encode(value)


def decode(frame: bytes) -> Message:
    return _MESSAGE.decode(frame)


def decode_resume(frame: bytes) -> Resume:
    return _RESUME.decode(frame)


def to_text(message: Message) -> str:
    """``message`` as text (base64 of its MessagePack), for a journal line: exact (NaN, infinities, ints and
    floats kept apart), where JSON of the columns would not be."""
    return base64.b64encode(_ENCODER.encode(message)).decode("ascii")


def from_text(text: str) -> Message:
    """The message :func:`to_text` wrote."""
    return _MESSAGE.decode(base64.b64decode(text))

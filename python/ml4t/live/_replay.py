"""``ReplayServer``: recorded bars (and signals) served over a local websocket, in arrival order, at a chosen
speed, for a live session to consume exactly as it would consume a real feed.

The server runs its own asyncio loop on a background thread (``start()`` / ``stop()``, or a ``with`` block)
and listens on ``host`` (loopback by default) at ``port`` (0: a free one; :attr:`ReplayServer.url` says which).
Each connection first sends a :class:`~ml4t.live._wire.Resume` (the first message it still needs) and then
receives the messages from there (see :mod:`ml4t.live._wire`). ``speed`` paces them: ``None`` sends as fast as
the client reads; ``60.0`` plays one simulated minute per wall second, with a heartbeat every ``heartbeat``
seconds of wall time while nothing arrives. Pacing starts again at the resumed message after a reconnect.

``faults`` make the network misbehave on purpose, once each, so a session's handling can be tested: close the
connection after sending message k (``drop_after``), send message k twice (``duplicate``), send message k+1
before message k (``swap``).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import numpy as np
import polars as pl
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from ml4t._validate import check_number
from ml4t.data import Bars, Signals
from ml4t.errors import ConfigError
from ml4t.live._wire import Message, decode_resume, encode

__all__ = ["Faults", "ReplayServer", "messages_of"]


@dataclass
class Faults:
    """Network faults a :class:`ReplayServer` injects, each once (message numbers are ``seq``)."""

    drop_after: set[int] = field(default_factory=set)
    """Close the connection right after sending these messages."""
    duplicate: set[int] = field(default_factory=set)
    """Send these messages twice in a row."""
    swap: set[int] = field(default_factory=set)
    """Send message k+1 before message k."""


class _Recording:
    """The bars and signals in arrival order, cut into one message per distinct arrival time (built on demand:
    a recording of millions of bars holds its frames, not its messages)."""

    def __init__(self, bars: Bars, signals: Signals | None) -> None:
        self.bars = _ns_frame(bars.frame, ["ts_arrival", "symbol"])
        self.signals = _ns_frame(signals.frame, ["ts_arrival", "ts_event", "symbol"]) if signals is not None else None
        bar_ts = self.bars["ts_arrival"].to_numpy()
        sig_ts = self.signals["ts_arrival"].to_numpy() if self.signals is not None else np.empty(0, np.int64)
        self.times = np.union1d(bar_ts, sig_ts)
        self._bar_ts, self._sig_ts = bar_ts, sig_ts

    def __len__(self) -> int:
        return len(self.times) + 1  # the data messages and the end

    def message(self, seq: int) -> Message:
        if seq >= len(self.times):
            return Message("end", seq, int(self.times[-1]) if len(self.times) else 0)
        ts = int(self.times[seq])
        return Message("data", seq, ts, _rows(self.bars, self._bar_ts, ts), _rows(self.signals, self._sig_ts, ts))


def _ns_frame(frame: pl.DataFrame, order: list[str]) -> pl.DataFrame:
    """``frame`` sorted by ``order`` (stable), its datetimes as int64 ns UTC."""
    frame = frame.sort(order, maintain_order=True)
    return frame.with_columns(
        pl.col(name).dt.cast_time_unit("ns").cast(pl.Int64)
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.Datetime)
    )


def _rows(frame: pl.DataFrame | None, ts: np.ndarray, at: int) -> dict[str, list[Any]]:
    if frame is None:
        return {}
    lo, hi = np.searchsorted(ts, at, side="left"), np.searchsorted(ts, at, side="right")
    return frame.slice(int(lo), int(hi - lo)).to_dict(as_series=False) if hi > lo else {}


class ReplayServer:
    """Serves ``bars`` (and ``signals``) over a websocket at ``ws://host:port``; see the module's doc."""

    def __init__(
        self,
        bars: Bars,
        signals: Signals | None = None,
        *,
        speed: float | None = None,
        heartbeat: float = 0.25,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Faults | None = None,
    ) -> None:
        if not isinstance(bars, Bars):
            raise ConfigError(f"bars must be ml4t.data.Bars, got {type(bars).__name__}", argument="bars")
        if signals is not None and not isinstance(signals, Signals):
            raise ConfigError(f"signals must be ml4t.data.Signals, got {type(signals).__name__}", argument="signals")
        self.speed = None if speed is None else check_number("speed", speed, positive=True)
        self.heartbeat = check_number("heartbeat", heartbeat, positive=True)
        self._recording = _Recording(bars, signals)
        self._host, self._port = host, port
        self._faults = faults or Faults()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: Server | None = None
        self._stop: asyncio.Event | None = None
        self.connections = 0
        """How many clients connected so far (a reconnect counts again)."""

    @property
    def url(self) -> str:
        if self._server is None:
            raise ConfigError("the replay server is not started; call start() first", argument="server")
        port = next(iter(self._server.sockets)).getsockname()[1]
        return f"ws://{self._host}:{port}"

    def __len__(self) -> int:
        """The number of messages a whole replay sends (the data messages and the end)."""
        return len(self._recording)

    def start(self) -> Self:
        if self._thread is not None:
            return self
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._serve(ready))
            except BaseException as error:  # reported to start()'s caller
                failure.append(error)
                ready.set()
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="ml4t-replay-server", daemon=True)
        self._thread.start()
        ready.wait(timeout=30)
        if failure:
            self._thread = None
            raise ConfigError(
                f"the replay server could not listen on {self._host}:{self._port}: {failure[0]}", argument="port"
            )
        return self

    async def _serve(self, ready: threading.Event) -> None:
        self._stop = asyncio.Event()
        async with serve(self._handle, self._host, self._port, max_size=None) as server:
            self._server = server
            ready.set()
            await self._stop.wait()

    def stop(self) -> None:
        """Close every connection and stop listening (idempotent)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if self._stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(self._stop.set)
        thread.join(timeout=30)
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def _handle(self, connection: ServerConnection) -> None:
        self.connections += 1
        try:
            first = decode_resume(_as_bytes(await connection.recv()))
            await self._send_from(connection, max(first.resume, 0))
        except (ConnectionClosed, _Stopped):
            return
        except Exception as error:  # a client speaking another protocol: tell it and close
            await connection.close(code=1008, reason=f"expected a resume message: {type(error).__name__}"[:120])

    async def _send_from(self, connection: ServerConnection, start: int) -> None:
        recording, faults = self._recording, self._faults
        anchor_wall, anchor_ts, last_ts = time.monotonic(), None, None
        seq = start
        while seq < len(recording):
            message = recording.message(seq)
            if self.speed is not None:
                anchor_ts = message.ts if anchor_ts is None else anchor_ts
                await self._pace(connection, message, anchor_wall, anchor_ts, last_ts)
            last_ts = message.ts
            if seq in faults.swap and seq + 1 < len(recording):
                faults.swap.discard(seq)
                await connection.send(encode(recording.message(seq + 1)))
            await connection.send(encode(message))
            if seq in faults.duplicate:
                faults.duplicate.discard(seq)
                await connection.send(encode(message))
            if seq in faults.drop_after:
                faults.drop_after.discard(seq)
                await connection.close()
                return
            seq += 1
        await connection.wait_closed()

    async def _pace(
        self, connection: ServerConnection, message: Message, anchor_wall: float, anchor_ts: int, after: int | None
    ) -> None:
        """Wait until ``message`` is due, sending a heartbeat every ``heartbeat`` seconds of wall time meanwhile,
        each strictly between the previous message's time ``after`` and this one's."""
        assert self.speed is not None
        due = anchor_wall + (message.ts - anchor_ts) / 1e9 / self.speed
        while (left := due - time.monotonic()) > 0:
            await self._sleep(min(left, self.heartbeat))
            clock = anchor_ts + int((time.monotonic() - anchor_wall) * self.speed * 1e9)
            if after is not None and after < clock < message.ts:
                await connection.send(encode(Message("heartbeat", message.seq - 1, clock)))
                after = clock

    async def _sleep(self, seconds: float) -> None:
        """Sleep ``seconds``, or raise ``_Stopped`` at once when the server stops meanwhile."""
        assert self._stop is not None
        try:
            await asyncio.wait_for(self._stop.wait(), seconds)
        except TimeoutError:
            return
        raise _Stopped


class _Stopped(Exception):
    """The server stopped while a connection waited for its next message."""


def _as_bytes(frame: str | bytes) -> bytes:
    return frame.encode() if isinstance(frame, str) else frame


def messages_of(bars: Bars, signals: Signals | None = None) -> Iterable[Message]:
    """Every message a whole replay of ``bars`` (and ``signals``) sends, in order, without a server."""
    recording = _Recording(bars, signals)
    return (recording.message(seq) for seq in range(len(recording)))

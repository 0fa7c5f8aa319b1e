"""``FakeAlpaca``: a test double of Alpaca's trading API on 127.0.0.1, for tests and for trying a paper setup
offline.

It serves the REST endpoints :class:`ml4t.live.AlpacaBroker` uses (``/v2/account``, ``/v2/positions``,
``/v2/orders`` and its by-id, by-client-order-id and cancel forms, ``/v2/account/activities/FILL``) and the
``trade_updates`` websocket stream (authenticate, listen, then one message per order update), speaking the JSON
that alpaca-py's clients parse. It is
**a test double, not a simulator of Alpaca's matching**: prices come only from :meth:`FakeAlpaca.set_price`, every
order fills against that one price, there are no sessions, auctions, fees, margin rules or corporate actions.

What it does, in its own ledger (one account, kept across client reconnects so a restarted client reconciles
against it):

- a market order fills at the current price (it rests until the symbol has one); a limit buy fills when a price
  is at or below the limit (a sell at or above), at that price; a stop becomes a market order when a price
  reaches it, a stop-limit becomes its limit; a trailing stop trails the best price since it was placed; ``ioc``
  fills what it can at once and cancels the rest, ``fok`` fills all at once or is cancelled;
- partial fills on demand: :meth:`FakeAlpaca.set_liquidity` caps the units each order may fill per price;
- refusals as Alpaca answers them: insufficient buying power (403, from its own cash), a symbol not tradable
  (422, :meth:`FakeAlpaca.set_tradable`), a duplicate client order id (422), any refusal scripted with
  :meth:`FakeAlpaca.reject_next`; a cancel of an order no longer open (422); a wrong key (401, and
  ``unauthorized`` on the stream); a server error (:meth:`FakeAlpaca.fail_next`) or a slow answer
  (:meth:`FakeAlpaca.delay_next`) on demand;
- stream faults: :meth:`FakeAlpaca.drop_streams` closes every stream connection (optionally sending the last
  updates again to the next one, as a stream that repeats itself after a reconnect would).

The cash account has no margin: buying power is the cash less what open buy orders (and short sales) may cost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from ml4t.errors import ConfigError

__all__ = ["FakeAlpaca"]

_EPS = 1e-9
_ACCOUNT_ID = "00000000-0000-4000-8000-000000000001"
_OPEN = frozenset({"new", "accepted", "partially_filled", "pending_new"})


@dataclass
class _Order:
    id: str
    client_order_id: str
    symbol: str
    qty: float  # unsigned
    side: str
    type: str
    time_in_force: str
    limit_price: float | None
    stop_price: float | None
    trail_price: float | None
    trail_percent: float | None
    created_at: str
    status: str = "new"
    filled_qty: float = 0.0
    filled_notional: float = 0.0
    updated_at: str = ""
    filled_at: str | None = None
    canceled_at: str | None = None
    expired_at: str | None = None
    triggered: bool = False  # a stop (limit) whose stop was reached
    best: float = math.nan  # a trailing stop's best price since it was placed
    asset_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def remaining(self) -> float:
        return self.qty - self.filled_qty

    @property
    def sign(self) -> float:
        return 1.0 if self.side == "buy" else -1.0

    def json(self) -> dict[str, Any]:
        avg = self.filled_notional / self.filled_qty if self.filled_qty > 0 else None
        return {
            "id": self.id,
            "client_order_id": self.client_order_id,
            "created_at": self.created_at,
            "updated_at": self.updated_at or self.created_at,
            "submitted_at": self.created_at,
            "filled_at": self.filled_at,
            "expired_at": self.expired_at,
            "canceled_at": self.canceled_at,
            "failed_at": None,
            "replaced_at": None,
            "replaced_by": None,
            "replaces": None,
            "asset_id": self.asset_id,
            "symbol": self.symbol,
            "asset_class": "us_equity",
            "notional": None,
            "qty": _num(self.qty),
            "filled_qty": _num(self.filled_qty),
            "filled_avg_price": None if avg is None else _num(avg),
            "order_class": "simple",
            "order_type": self.type,
            "type": self.type,
            "side": self.side,
            "time_in_force": self.time_in_force,
            "limit_price": None if self.limit_price is None else _num(self.limit_price),
            "stop_price": None if self.stop_price is None else _num(self.stop_price),
            "status": self.status,
            "extended_hours": False,
            "legs": None,
            "trail_percent": None if self.trail_percent is None else _num(self.trail_percent),
            "trail_price": None if self.trail_price is None else _num(self.trail_price),
            "hwm": None if math.isnan(self.best) else _num(self.best),
            "position_intent": None,
        }


class _Refusal(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class FakeAlpaca:
    """A fake Alpaca trading API (REST and ``trade_updates`` stream) on 127.0.0.1; use it as a context manager.

    ``api_key``/``secret_key`` are the keys it accepts; ``cash`` the account's starting cash. :attr:`url` is
    the REST base to pass as ``AlpacaBroker(url=...)``, :attr:`stream_url` the stream's (``stream_url=...``).
    """

    def __init__(self, api_key: str = "fake-key", secret_key: str = "fake-secret", *, cash: float = 100_000.0) -> None:
        if not (isinstance(cash, int | float) and math.isfinite(cash) and cash >= 0):
            raise ConfigError(f"cash must be a finite number >= 0, got {cash!r}", argument="cash")
        self.api_key, self.secret_key = api_key, secret_key
        self.cash = float(cash)
        self._lock = threading.RLock()
        self._orders: dict[str, _Order] = {}  # by id, in submission order
        self._by_client: dict[str, str] = {}
        self._positions: dict[str, float] = {}
        self._cost: dict[str, float] = {}  # cost basis of each position (signed)
        self._prices: dict[str, float] = {}
        self._untradable: set[str] = set()
        self._liquidity: dict[str, float] = {}
        self._reject_next: list[tuple[int, str]] = []
        self._fail_next: list[int] = []
        self._delay_next: list[float] = []
        self._updates: list[dict[str, Any]] = []
        self._activities: list[dict[str, Any]] = []  # the FILL activities, one per execution, oldest first
        self._replay = 0
        self._held = False
        self._http: ThreadingHTTPServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ws_server: Server | None = None
        self._stopping: asyncio.Event | None = None
        self._listeners: set[tuple[ServerConnection, asyncio.Queue[str | None]]] = set()
        self._threads: list[threading.Thread] = []
        self.requests: list[tuple[str, str]] = []
        """Every REST request received, as (method, path)."""

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        if self._http is None:
            raise RuntimeError("FakeAlpaca is not started (use it in a with block, or call start())")
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    @property
    def stream_url(self) -> str:
        if self._ws_server is None:
            raise RuntimeError("FakeAlpaca is not started (use it in a with block, or call start())")
        port = next(iter(self._ws_server.sockets)).getsockname()[1]
        return f"ws://127.0.0.1:{port}/stream"

    def start(self) -> Self:
        handler = type("_Handler", (_Handler,), {"fake": self})
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._http.daemon_threads = True
        http_thread = threading.Thread(
            target=self._http.serve_forever, args=(0.02,), name="ml4t-fake-alpaca-rest", daemon=True
        )  # polls for shutdown every 0.02 s: stop() returns at once
        http_thread.start()
        ready = threading.Event()
        ws_thread = threading.Thread(target=self._run_stream, args=(ready,), name="ml4t-fake-alpaca-ws", daemon=True)
        ws_thread.start()
        if not ready.wait(10):
            raise RuntimeError("FakeAlpaca's stream server did not start within 10 s")
        self._threads = [http_thread, ws_thread]
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        if self._loop is not None and self._stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                self._loop.call_soon_threadsafe(self._stopping.set)
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads = []

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ the script
    def set_price(self, symbol: str, price: float) -> None:
        """The market price of ``symbol`` is now ``price``: open orders it reaches fill (up to the liquidity)."""
        if not (isinstance(price, int | float) and math.isfinite(price) and price > 0):
            raise ConfigError(f"price must be a finite number > 0, got {price!r}", argument="price", symbol=symbol)
        with self._lock:
            self._prices[symbol] = float(price)
            for order in list(self._orders.values()):
                if order.symbol == symbol and order.status in _OPEN:
                    self._match(order)

    def follow(self, feed: Any) -> _Following:
        """``feed`` as a feed that first moves this fake's prices to the closes of each message's bars (the
        market a paper session trades in, offline): ``Session(..., feed=fake.follow(ReplayFeed(url)))``. A message
        read again after a restart (a sequence number already seen) moves nothing."""
        return _Following(feed, self)

    def set_liquidity(self, symbol: str, units: float | None) -> None:
        """Each open order of ``symbol`` fills at most ``units`` per price (None: no cap): partial fills."""
        with self._lock:
            if units is None:
                self._liquidity.pop(symbol, None)
            else:
                self._liquidity[symbol] = float(units)

    def set_tradable(self, symbol: str, tradable: bool) -> None:
        """Orders of a symbol not tradable are refused (422), as Alpaca refuses an inactive asset."""
        with self._lock:
            (self._untradable.discard if tradable else self._untradable.add)(symbol)

    def reject_next(self, reason: str, *, status: int = 403) -> None:
        """Refuse the next order submitted with HTTP ``status`` and message ``reason``."""
        with self._lock:
            self._reject_next.append((status, reason))

    def fail_next(self, status: int = 500) -> None:
        """Answer the next REST request (of any kind) with a server error ``status``."""
        with self._lock:
            self._fail_next.append(status)

    def reject_open(self, client_order_id: str) -> None:
        """Reject an order already accepted (as an exchange may): a ``rejected`` update, nothing more fills."""
        with self._lock:
            order = self._orders[self._by_client[client_order_id]]
            if order.status in _OPEN:
                order.status, order.updated_at = "rejected", _now()
                self._publish("rejected", order, timestamp=order.updated_at)

    def delay_next(self, seconds: float) -> None:
        """Answer the next REST request (of any kind) only after ``seconds``: a client's timeout."""
        with self._lock:
            self._delay_next.append(float(seconds))

    def expire_day_orders(self) -> None:
        """End the trading day: open ``day`` orders expire (an ``expired`` update each)."""
        with self._lock:
            for order in self._orders.values():
                if order.status in _OPEN and order.time_in_force == "day":
                    order.status, order.expired_at = "expired", _now()
                    order.updated_at = order.expired_at
                    self._publish("expired", order, timestamp=order.expired_at)

    def drop_streams(self, *, replay: int = 0, hold: bool = False) -> None:
        """Close every stream connection now; the next connection that listens is first sent the last ``replay``
        updates again (a stream that repeats itself after a reconnect). ``hold``: refuse new stream connections
        until :meth:`resume_streams` (an outage; what happens meanwhile is never sent on the stream)."""
        with self._lock:
            self._replay = replay
            self._held = hold
        loop = self._loop
        if loop is None:
            return

        asyncio.run_coroutine_threadsafe(self._kick(), loop).result(timeout=10)

    def resume_streams(self) -> None:
        """Accept stream connections again after ``drop_streams(hold=True)``."""
        with self._lock:
            self._held = False

    @property
    def listeners(self) -> int:
        """Stream connections authenticated and listening to trade updates now."""
        return len(self._listeners)

    @property
    def updates(self) -> list[dict[str, Any]]:
        """Every trade update sent (the ``data`` of each message), in order."""
        with self._lock:
            return list(self._updates)

    def order(self, client_order_id: str) -> dict[str, Any]:
        """The order with this client order id, as the REST API shows it."""
        with self._lock:
            return self._orders[self._by_client[client_order_id]].json()

    def positions(self) -> dict[str, float]:
        with self._lock:
            return {s: q for s, q in self._positions.items() if abs(q) > _EPS}

    # ------------------------------------------------------------------ the ledger
    def _account(self) -> dict[str, Any]:
        with self._lock:
            value = sum(q * self._prices.get(s, self._cost[s] / q) for s, q in self._positions.items() if q)
            equity = self.cash + value
            return {
                "id": _ACCOUNT_ID,
                "account_number": "PAFAKE0001",
                "status": "ACTIVE",
                "currency": "USD",
                "cash": _num(self.cash),
                "buying_power": _num(self._buying_power()),
                "regt_buying_power": _num(self._buying_power()),
                "non_marginable_buying_power": _num(self._buying_power()),
                "equity": _num(equity),
                "last_equity": _num(equity),
                "portfolio_value": _num(equity),
                "long_market_value": _num(sum(max(v, 0.0) for v in self._values().values())),
                "short_market_value": _num(sum(min(v, 0.0) for v in self._values().values())),
                "multiplier": "1",
                "pattern_day_trader": False,
                "trading_blocked": False,
                "transfers_blocked": False,
                "account_blocked": False,
                "trade_suspended_by_user": False,
                "shorting_enabled": True,
                "created_at": "2026-01-02T14:30:00Z",
            }

    def _values(self) -> dict[str, float]:
        return {s: q * self._prices.get(s, self._cost[s] / q) for s, q in self._positions.items() if abs(q) > _EPS}

    def _buying_power(self) -> float:
        reserved = 0.0
        for order in self._orders.values():
            if order.status in _OPEN:
                reserved += self._cost_of(order.symbol, order.sign * order.remaining, order)
        return max(self.cash - reserved, 0.0)

    def _cost_of(self, symbol: str, signed_qty: float, order: _Order | None) -> float:
        """What ``signed_qty`` more of ``symbol`` may cost against buying power: buys at their price, short sales
        at theirs, sales of units held nothing."""
        held = self._positions.get(symbol, 0.0)
        opening = max(-signed_qty - max(held, 0.0), 0.0) if signed_qty < 0 else signed_qty
        if opening <= 0:
            return 0.0
        price = self._prices.get(symbol, math.nan)
        if order is not None and order.limit_price is not None and (signed_qty > 0 or math.isnan(price)):
            price = order.limit_price  # a limit buy may cost its limit
        return opening * (0.0 if math.isnan(price) else price)

    def _positions_json(self) -> list[dict[str, Any]]:
        with self._lock:
            out = []
            for symbol, qty in self._positions.items():
                if abs(qty) <= _EPS:
                    continue
                avg = self._cost[symbol] / qty
                price = self._prices.get(symbol, avg)
                out.append(
                    {
                        "asset_id": str(uuid.uuid5(uuid.NAMESPACE_URL, symbol)),
                        "symbol": symbol,
                        "exchange": "NASDAQ",
                        "asset_class": "us_equity",
                        "asset_marginable": True,
                        "avg_entry_price": _num(avg),
                        "qty": _num(qty),
                        "side": "long" if qty > 0 else "short",
                        "market_value": _num(qty * price),
                        "cost_basis": _num(self._cost[symbol]),
                        "unrealized_pl": _num(qty * price - self._cost[symbol]),
                        "current_price": _num(price),
                        "qty_available": _num(qty),
                    }
                )
            return out

    def _submit(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            client_id = str(body.get("client_order_id") or uuid.uuid4())
            if client_id in self._by_client:
                raise _Refusal(422, 40010001, "client_order_id must be unique")
            if self._reject_next:
                status, reason = self._reject_next.pop(0)
                raise _Refusal(status, 40310000 if status == 403 else 42210000, reason)
            symbol = str(body.get("symbol", ""))
            if not symbol or symbol in self._untradable:
                raise _Refusal(422, 42210000, f'asset "{symbol}" is not tradable')
            try:
                qty = float(body["qty"])
                side, kind, tif = str(body["side"]), str(body["type"]), str(body["time_in_force"])
            except (KeyError, TypeError, ValueError) as error:
                raise _Refusal(422, 40010000, f"invalid order: {error}") from None
            if not qty > 0 or side not in ("buy", "sell"):
                raise _Refusal(422, 40010000, "qty must be > 0 and side buy or sell")
            if kind not in ("market", "limit", "stop", "stop_limit", "trailing_stop"):
                raise _Refusal(422, 40010000, f"invalid order type {kind}")
            if tif not in ("day", "gtc", "ioc", "fok", "opg", "cls"):
                raise _Refusal(422, 40010000, f"invalid time_in_force {tif}")
            now = _now()
            order = _Order(
                id=str(uuid.uuid4()),
                client_order_id=client_id,
                symbol=symbol,
                qty=qty,
                side=side,
                type=kind,
                time_in_force=tif,
                limit_price=_opt(body.get("limit_price")),
                stop_price=_opt(body.get("stop_price")),
                trail_price=_opt(body.get("trail_price")),
                trail_percent=_opt(body.get("trail_percent")),
                created_at=now,
            )
            if kind in ("limit", "stop_limit") and order.limit_price is None:
                raise _Refusal(422, 40010000, "limit_price is required")
            if kind in ("stop", "stop_limit") and order.stop_price is None:
                raise _Refusal(422, 40010000, "stop_price is required")
            if kind == "trailing_stop" and (order.trail_price is None) == (order.trail_percent is None):
                raise _Refusal(422, 40010000, "one of trail_price or trail_percent is required")
            cost = self._cost_of(symbol, order.sign * qty, order)
            if cost > self._buying_power() + 1e-6:
                raise _Refusal(403, 40310000, "insufficient buying power")
            self._orders[order.id] = order
            self._by_client[client_id] = order.id
            snapshot = order.json()
            self._publish("new", order, timestamp=now)
            self._match(order)
            return snapshot

    def _cancel(self, order_id: str) -> None:
        with self._lock:
            order = self._orders.get(order_id)
            if order is None:
                raise _Refusal(404, 40410000, "order not found")
            if order.status not in _OPEN:
                raise _Refusal(422, 42210000, f'order is already in "{order.status}" state')
            self._close(order, "canceled")

    def _close(self, order: _Order, status: str) -> None:
        order.status = status
        order.updated_at = order.canceled_at = _now()
        self._publish(status, order, timestamp=order.canceled_at)

    def _match(self, order: _Order) -> None:
        """Fill what the current price allows of an open order (lock held)."""
        price = self._prices.get(order.symbol)
        if price is None:
            if order.time_in_force in ("ioc", "fok"):
                self._close(order, "canceled")
            return
        buy = order.side == "buy"
        if order.type == "trailing_stop":
            order.best = (
                price if math.isnan(order.best) else (min(order.best, price) if buy else max(order.best, price))
            )
            trail = (
                order.trail_price if order.trail_price is not None else order.best * (order.trail_percent or 0) / 100
            )
            order.stop_price = order.best + trail if buy else order.best - trail
        if order.type in ("stop", "stop_limit", "trailing_stop") and not order.triggered:
            assert order.stop_price is not None
            if (buy and price >= order.stop_price) or (not buy and price <= order.stop_price):
                order.triggered = True
        if order.type == "market":
            marketable = True
        elif order.type in ("stop", "trailing_stop"):
            marketable = order.triggered
        else:  # limit, or a stop-limit once triggered
            assert order.limit_price is not None
            reached = price <= order.limit_price if buy else price >= order.limit_price
            marketable = (order.type == "limit" or order.triggered) and reached
        cap = self._liquidity.get(order.symbol, math.inf)
        if order.time_in_force == "fok" and (not marketable or cap < order.remaining - _EPS):
            self._close(order, "canceled")
            return
        if marketable:
            self._fill(order, min(order.remaining, cap), price)
        if order.time_in_force == "ioc" and order.status in _OPEN:
            self._close(order, "canceled")

    def _fill(self, order: _Order, qty: float, price: float) -> None:
        if qty <= _EPS:
            return
        order.filled_qty += qty
        order.filled_notional += qty * price
        signed = order.sign * qty
        held = self._positions.get(order.symbol, 0.0)
        cost = self._cost.get(order.symbol, 0.0)
        if held == 0 or (held > 0) == (signed > 0):
            cost += signed * price
        elif abs(signed) <= abs(held):  # reduces the position: the cost basis shrinks at the average entry
            cost *= (held + signed) / held
        else:  # flips it: the new side's basis is this fill's price
            cost = (held + signed) * price
        if abs(held + signed) > _EPS:
            self._positions[order.symbol], self._cost[order.symbol] = held + signed, cost
        else:
            self._positions.pop(order.symbol, None)
            self._cost.pop(order.symbol, None)
        self.cash -= signed * price
        now = _now()
        order.updated_at = now
        done = order.remaining <= _EPS
        order.status = "filled" if done else "partially_filled"
        if done:
            order.filled_at = now
        execution = str(uuid.uuid4())
        self._activities.append(
            {
                "id": f"{now[:23].replace('-', '').replace(':', '').replace('T', '').replace('.', '')}::{execution}",
                "account_id": _ACCOUNT_ID,
                "activity_type": "FILL",
                "transaction_time": now,
                "type": "fill" if done else "partial_fill",
                "price": _num(price),
                "qty": _num(qty),
                "side": order.side,
                "symbol": order.symbol,
                "leaves_qty": _num(order.remaining),
                "order_id": order.id,
                "cum_qty": _num(order.filled_qty),
                "order_status": order.status,
            }
        )
        self._publish(
            "fill" if done else "partial_fill",
            order,
            timestamp=now,
            execution_id=execution,
            price=_num(price),
            qty=_num(qty),
            position_qty=_num(held + signed),
        )

    def _publish(self, event: str, order: _Order, **fields: Any) -> None:
        data = {"event": event, "order": order.json(), **fields}
        self._updates.append(data)
        self._broadcast(json.dumps({"stream": "trade_updates", "data": data}))

    def _broadcast(self, text: str) -> None:
        loop = self._loop
        if loop is None:
            return
        for _, q in list(self._listeners):
            loop.call_soon_threadsafe(q.put_nowait, text)

    # ------------------------------------------------------------------ the stream
    def _run_stream(self, ready: threading.Event) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stopping = asyncio.Event()
            self._ws_server = await serve(self._serve_stream, "127.0.0.1", 0)
            ready.set()
            await self._stopping.wait()
            await self._kick()
            self._ws_server.close()
            await self._ws_server.wait_closed()

        asyncio.run(main())

    async def _kick(self) -> None:
        for ws, q in list(self._listeners):
            q.put_nowait(None)
            await ws.close()

    async def _serve_stream(self, ws: ServerConnection) -> None:
        q: asyncio.Queue[str | None] = asyncio.Queue()
        entry = (ws, q)
        if self._held:
            await ws.close(1013, "try again later")
            return
        try:
            auth = json.loads(await ws.recv())
            data = auth.get("data") or {}
            ok = (
                auth.get("action") in ("authenticate", "auth")
                and data.get("key_id") == self.api_key
                and data.get("secret_key") == self.secret_key
            )
            status = "authorized" if ok else "unauthorized"
            await ws.send(json.dumps({"stream": "authorization", "data": {"action": "authenticate", "status": status}}))
            if not ok:
                await ws.close(1008, "unauthorized")
                return
            listen = json.loads(await ws.recv())
            streams = (listen.get("data") or {}).get("streams") or []
            if "trade_updates" in streams:  # listening before it says so: no update falls between the two
                with self._lock:
                    replay, self._replay = self._replay, 0
                    for data in self._updates[len(self._updates) - replay :] if replay else []:
                        q.put_nowait(json.dumps({"stream": "trade_updates", "data": data}))
                    self._listeners.add(entry)
            await ws.send(json.dumps({"stream": "listening", "data": {"streams": streams}}))
            if "trade_updates" not in streams:
                await ws.wait_closed()
                return
            closed = asyncio.ensure_future(ws.wait_closed())
            try:
                while True:
                    getter = asyncio.ensure_future(q.get())
                    await asyncio.wait({getter, closed}, return_when=asyncio.FIRST_COMPLETED)
                    if not getter.done():  # the client went away
                        getter.cancel()
                        return
                    if (text := getter.result()) is None:
                        return
                    await ws.send(text)
            finally:
                closed.cancel()
        except (ConnectionClosed, json.JSONDecodeError, AttributeError):
            pass
        finally:
            with self._lock:
                self._listeners.discard(entry)


class _Following:
    """A feed whose messages' closes set a :class:`FakeAlpaca`'s prices first (:meth:`FakeAlpaca.follow`)."""

    def __init__(self, feed: Any, fake: FakeAlpaca) -> None:
        if not callable(getattr(feed, "next", None)):
            raise ConfigError(f"feed must have a next() method (a Feed), got {type(feed).__name__}", argument="feed")
        self._feed = feed
        self._fake = fake
        self._seq = -1

    def next(self) -> Any:
        message = self._feed.next()
        if message is not None and message.kind == "data" and message.bars and message.seq > self._seq:
            self._seq = message.seq
            for symbol, close in zip(message.bars["symbol"], message.bars["close"], strict=True):
                if isinstance(close, int | float) and math.isfinite(close) and close > 0:
                    self._fake.set_price(symbol, close)
        return message

    def close(self) -> None:
        self._feed.close()


class _Handler(BaseHTTPRequestHandler):
    fake: FakeAlpaca  # HTTP/1.0: one request per connection, so a stopped fake answers nothing more

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        fake = self.fake
        parts = urlsplit(self.path)
        path, query = parts.path, {k: v[-1] for k, v in parse_qs(parts.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        fake.requests.append((method, path))
        try:
            if (
                self.headers.get("APCA-API-KEY-ID") != fake.api_key
                or self.headers.get("APCA-API-SECRET-KEY") != fake.secret_key
            ):
                raise _Refusal(401, 40110000, "request is not authorized")
            with fake._lock:
                failure = fake._fail_next.pop(0) if fake._fail_next else None
                delay = fake._delay_next.pop(0) if fake._delay_next else 0.0
            if delay:
                time.sleep(delay)
            if failure is not None:
                raise _Refusal(failure, 50010000, "internal server error")
            status, body = self._route(method, path, query, raw)
        except _Refusal as refusal:
            status, body = refusal.status, {"code": refusal.code, "message": refusal.message}
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _route(self, method: str, path: str, query: dict[str, str], raw: bytes) -> tuple[int, Any]:
        fake = self.fake
        if method == "GET" and path == "/v2/account":
            return 200, fake._account()
        if method == "GET" and path == "/v2/positions":
            return 200, fake._positions_json()
        if method == "POST" and path == "/v2/orders":
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                raise _Refusal(400, 40010000, "request body is not JSON") from None
            return 200, fake._submit(body)
        if method == "GET" and path == "/v2/account/activities/FILL":
            return 200, self._fills(query)
        if method == "GET" and path == "/v2/orders":
            return 200, self._list(query)
        if method == "GET" and path == "/v2/orders:by_client_order_id":
            with fake._lock:
                order_id = fake._by_client.get(query.get("client_order_id", ""))
                if order_id is None:
                    raise _Refusal(404, 40410000, "order not found")
                return 200, fake._orders[order_id].json()
        if path.startswith("/v2/orders/"):
            order_id = path.removeprefix("/v2/orders/")
            if method == "DELETE":
                fake._cancel(order_id)
                return 204, None
            if method == "GET":
                with fake._lock:
                    if order_id not in fake._orders:
                        raise _Refusal(404, 40410000, "order not found")
                    return 200, fake._orders[order_id].json()
        raise _Refusal(404, 40400000, f"endpoint not found: {method} {path}")

    def _fills(self, query: dict[str, str]) -> list[dict[str, Any]]:
        """Alpaca's account activities of type FILL: ``after`` (a time), ``direction``, ``page_size`` (at most
        100) and ``page_token`` (the id of the last activity of the previous page)."""
        after = datetime.fromisoformat(query["after"]) if "after" in query else None
        size = min(int(query.get("page_size", "100")), 100)
        with self.fake._lock:
            fills = [
                a
                for a in self.fake._activities
                if after is None or datetime.fromisoformat(a["transaction_time"]) > after
            ]
        if query.get("direction", "desc") == "desc":
            fills.reverse()
        token = query.get("page_token")
        if token is not None:
            ids = [a["id"] for a in fills]
            fills = fills[ids.index(token) + 1 :] if token in ids else []
        return fills[:size]

    def _list(self, query: dict[str, str]) -> list[dict[str, Any]]:
        status = query.get("status", "open")
        limit = int(query.get("limit", "50"))
        with self.fake._lock:
            orders = [
                o for o in self.fake._orders.values() if status == "all" or (o.status in _OPEN) == (status == "open")
            ]
            if query.get("direction", "desc") == "desc":
                orders.reverse()
            return [o.json() for o in orders[:limit]]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _num(x: float) -> str:
    return repr(float(x)) if x != int(x) or abs(x) >= 1e15 else str(int(x))


def _opt(value: Any) -> float | None:
    return None if value is None else float(value)

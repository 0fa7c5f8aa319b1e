"""``AlpacaBroker``: the :class:`~ml4t.live._broker.Venue` of Alpaca's trading API (paper by default), through
alpaca-py's REST client and a ``trade_updates`` websocket reader of its own.

REST calls (submit, cancel, account, positions, orders) go through ``alpaca.trading.client.TradingClient``
(``url`` overrides its base, as a test points it at :class:`ml4t.live.FakeAlpaca`), with a ``timeout`` on every
request. The order updates are read on a background thread from the ``trade_updates`` stream: authenticate,
listen, then one message per update. alpaca-py's ``TradingStream`` is not used: it runs on websockets' deprecated
legacy client, polls for its stop every 5 s (so closing it can take that long) and reconnects after a jittered
0.5-30 s pause without telling its caller what it missed; this reader closes within 0.1 s and, after every
(re)connection, reads the orders over REST and reports what changed while it was away.

Each order update is reported once: the reader keeps, per order, how much it has reported filled and whether it
reported the order accepted and closed; an update that adds nothing (a repeat after a reconnect, or the REST
catch-up of something the stream already said) is dropped. A fill's quantity is the growth of the order's
cumulative ``filled_qty`` (so a repeated or missed execution can neither count twice nor be lost); its price is
the update's ``price`` when the update is that one execution. Executions missed while the stream was away are read
from the account's ``FILL`` activities (each with its own units, price and time); only units no activity shows
(an activity not yet posted) are reported as one fill at the growth of the order's filled notional
(``filled_avg_price * filled_qty``) over the units, which carries the rounding of Alpaca's average price.
"""

from __future__ import annotations

import asyncio
import math
import os
import queue
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace, TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

import msgspec

from ml4t._validate import check_number
from ml4t.errors import BrokerError, ConfigError
from ml4t.live._broker import ORDER_KINDS, AccountState, BrokerEvent, BrokerOrder, OrderRequest

if TYPE_CHECKING:
    from alpaca.trading.client import TradingClient
    from alpaca.trading.models import Order

__all__ = ["AlpacaBroker"]

_EPS = 1e-9
_PAPER_STREAM = "wss://paper-api.alpaca.markets/stream"
_LIVE_STREAM = "wss://api.alpaca.markets/stream"
_TIFS = ("day", "gtc", "ioc", "fok")
# Alpaca's order statuses in the engine's names (Result.orders); "new" there means sent, not yet acknowledged.
_STATUS = {
    "pending_new": "new",
    "new": "accepted",
    "accepted": "accepted",
    "accepted_for_bidding": "accepted",
    "held": "accepted",
    "pending_review": "accepted",
    "calculated": "accepted",
    "stopped": "accepted",
    "suspended": "accepted",
    "done_for_day": "accepted",
    "pending_cancel": "accepted",
    "pending_replace": "accepted",
    "partially_filled": "partially_filled",
    "filled": "filled",
    "canceled": "cancelled",
    "replaced": "cancelled",
    "expired": "expired",
    "rejected": "rejected",
}
_CLOSING = {"canceled": "cancelled", "expired": "expired", "rejected": "rejected", "replaced": "cancelled"}
_COUNTED = frozenset({"new", "accepted", "fill", "partial_fill", "canceled", "expired", "rejected"})
T = TypeVar("T")


def _alpaca() -> Any:
    """alpaca-py's trading modules, imported on first use (ml4t.live works without them)."""
    try:
        with warnings.catch_warnings():
            # alpaca.trading imports its TradingStream, which imports websockets' deprecated legacy client at
            # import time; this module does not use it (see the module docstring).
            warnings.filterwarnings("ignore", message="websockets.legacy is deprecated", category=DeprecationWarning)
            import alpaca.common.exceptions as exceptions
            import alpaca.trading.client as client
            import alpaca.trading.enums as enums
            import alpaca.trading.requests as requests
    except ImportError as error:
        raise ImportError("AlpacaBroker needs alpaca-py: pip install 'ml4t[alpaca]'") from error
    return SimpleNamespace(client=client, enums=enums, requests=requests, exceptions=exceptions)


@dataclass
class _Seen:
    """What has been reported of one order."""

    accepted: bool = False
    closed: bool = False
    filled: float = 0.0  # units, unsigned
    notional: float = 0.0  # filled units x price, unsigned


class AlpacaBroker:
    """Alpaca's trading API as a :class:`~ml4t.live._broker.Venue`: paper trading unless told otherwise.

    Parameters
    ----------
    api_key, secret_key:
        The account's keys; default to the environment variables ``APCA_API_KEY_ID`` and
        ``APCA_API_SECRET_KEY``.
    paper:
        Trade on the paper account (the default). ``paper=False`` trades **real money** and is refused with a
        :class:`ml4t.ConfigError` unless ``live=True`` is also given: the explicit opt-in.
    live:
        The opt-in to real-money trading (only meaningful with ``paper=False``).
    url, stream_url:
        Override the REST base (``https://paper-api.alpaca.markets``) and the ``trade_updates`` stream
        (``wss://paper-api.alpaca.markets/stream``), e.g. with a :class:`ml4t.live.FakeAlpaca`'s.
    timeout:
        Seconds any request, connection or the stream's first handshake may take before it is a
        :class:`ml4t.BrokerError`.
    max_reconnects:
        Stream connections lost in a row before :meth:`events` raises :class:`ml4t.BrokerError`.

    Refused orders (insufficient buying power, a symbol not tradable, anything Alpaca answers 403 or 422 to) come
    back as ``rejected`` :class:`~ml4t.live._broker.BrokerOrder` with Alpaca's message as ``reason``; a venue that
    cannot be reached, a server error or a timeout raise :class:`ml4t.BrokerError` naming the URL (and the client
    order id when submitting). :meth:`events` reports what happens after :meth:`connect`; what happened before is
    in :meth:`orders` and :meth:`positions`.
    """

    def __init__(
        self,
        api_key: str | None = None,
        secret_key: str | None = None,
        *,
        paper: bool = True,
        live: bool = False,
        url: str | None = None,
        stream_url: str | None = None,
        timeout: float = 10.0,
        max_reconnects: int = 10,
    ) -> None:
        if not isinstance(paper, bool) or not isinstance(live, bool):
            raise ConfigError(
                "paper and live must be True or False", argument="paper" if not isinstance(paper, bool) else "live"
            )
        if not paper and not live:
            raise ConfigError(
                "paper=False trades real money: pass live=True as well to opt in explicitly", argument="live"
            )
        api_key = api_key if api_key is not None else os.environ.get("APCA_API_KEY_ID")
        secret_key = secret_key if secret_key is not None else os.environ.get("APCA_API_SECRET_KEY")
        if not api_key:
            raise ConfigError("api_key is missing: pass it or set APCA_API_KEY_ID", argument="api_key")
        if not secret_key:
            raise ConfigError("secret_key is missing: pass it or set APCA_API_SECRET_KEY", argument="secret_key")
        for name, value, schemes in (
            ("url", url, ("http://", "https://")),
            ("stream_url", stream_url, ("ws://", "wss://")),
        ):
            if value is not None and (not isinstance(value, str) or not value.startswith(schemes)):
                raise ConfigError(f"{name} must start with {' or '.join(schemes)}, got {value!r}", argument=name)
        self.timeout = check_number("timeout", timeout, positive=True)
        if not isinstance(max_reconnects, int) or max_reconnects < 0:
            raise ConfigError(f"max_reconnects must be an int >= 0, got {max_reconnects!r}", argument="max_reconnects")
        self.max_reconnects = max_reconnects
        self.paper = paper
        self.live = not paper
        """Whether this broker trades real money (a session then needs ``live=True`` too)."""
        self._alpaca = _alpaca()
        self._keys = (api_key, secret_key)
        base = "https://paper-api.alpaca.markets" if paper else "https://api.alpaca.markets"
        self.url = (url or base).rstrip("/")
        self.stream_url = stream_url or (_PAPER_STREAM if paper else _LIVE_STREAM)
        self._rest = self._client()
        self._ids: dict[str, str] = {}  # client order id -> Alpaca's order id
        self._queue: queue.Queue[BrokerEvent | BrokerError] = queue.Queue()
        self._seen: dict[str, _Seen] = {}
        self._closing = threading.Event()
        self._listening = threading.Event()
        self._thread: threading.Thread | None = None
        self._failed: BrokerError | None = None
        self.duplicates = 0
        """Updates received that added nothing (repeats after a reconnect, or already caught up over REST)."""
        self.reconnects = 0
        """Stream connections lost (or refused) and tried again."""

    # ------------------------------------------------------------------ lifecycle
    def connect(self) -> None:
        """Read the account's orders (so :meth:`events` reports only what happens from now on), then open the
        ``trade_updates`` stream; waits up to ``timeout`` for it to listen."""
        if self._thread is not None:
            return
        for order in self._call("read the orders", lambda: self._all_orders(self._rest)):
            seen = self._seen.setdefault(str(order.id), _Seen())
            seen.accepted = True
            seen.closed = _status(order) not in ("new", "accepted", "partially_filled")
            seen.filled, seen.notional = _filled(order)
        self._closing.clear()
        self._thread = threading.Thread(target=self._run, name="ml4t-alpaca-stream", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self.timeout
        while not self._listening.wait(0.02) and self._thread.is_alive() and time.monotonic() < deadline:
            pass
        if not self._listening.is_set():
            error = self._pending_error()
            self.close()
            raise error or BrokerError(
                f"the trade_updates stream at {self.stream_url} did not start listening within {self.timeout:g} s",
                argument="stream_url",
            )

    def close(self) -> None:
        """Stop the stream's thread (within about 0.1 s) and the REST session; idempotent."""
        self._closing.set()
        if self._thread is not None:
            self._thread.join(timeout=max(self.timeout, 1.0) + 1.0)
            self._thread = None
        self._listening.clear()
        self._rest._session.close()

    def __enter__(self) -> Self:
        self.connect()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ the Venue protocol
    def submit(self, request: OrderRequest) -> BrokerOrder:
        """Send ``request`` (see :meth:`ml4t.live._broker.Venue.submit`). An id Alpaca already has (it answers
        422) returns that order and places nothing."""
        cid = request.client_order_id
        alpaca_request = self._request(request)
        api_error = self._alpaca.exceptions.APIError
        try:
            order = self._rest.submit_order(alpaca_request)
        except api_error as error:
            status = error.status_code
            if status in (403, 422) or (status is not None and 400 <= status < 500 and status not in (401, 404, 429)):
                if status == 422:  # a duplicate client order id is a 422 too: return the order it names
                    existing = self._find(cid)
                    if existing is not None:
                        return self._record(existing)
                return BrokerOrder(
                    cid, "", request.symbol, request.quantity, request.kind, request.tif, "rejected",
                    reason=_message(error),
                )  # fmt: skip
            raise self._error(f"submit order {cid!r}", error) from None
        except (OSError, ValueError) as error:  # requests' connection errors and timeouts; an unparsable answer
            raise self._error(f"submit order {cid!r}", error) from None
        return self._record(order)

    def cancel(self, client_order_id: str) -> None:
        """Ask Alpaca to cancel; the outcome comes back as an event. An order no longer open (Alpaca answers
        422) or unknown (404) is left as it is, without an error: its fill or cancel is already reported."""
        order_id = self._ids.get(client_order_id)
        if order_id is None:
            order = self._find(client_order_id)
            if order is None:
                return
            order_id = str(order.id)
        api_error = self._alpaca.exceptions.APIError
        try:
            self._rest.cancel_order_by_id(order_id)
        except api_error as error:
            if error.status_code in (404, 422):
                return
            raise self._error(f"cancel order {client_order_id!r}", error) from None
        except (OSError, ValueError) as error:
            raise self._error(f"cancel order {client_order_id!r}", error) from None

    def events(self) -> list[BrokerEvent]:
        """The order updates received since the last call, each once, in the order Alpaca sent them. Once the
        stream is lost for good (or its keys refused), the updates read before are returned and every later call
        raises :class:`ml4t.BrokerError`."""
        if self._failed is not None:
            raise self._failed
        out: list[BrokerEvent] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return out
            if isinstance(item, BrokerError):
                self._failed = item
                if not out:
                    raise item
                return out
            out.append(item)

    def account(self) -> AccountState:
        acct = self._call("read the account", self._rest.get_account)
        return AccountState(_float(acct.cash), _float(acct.equity), _float(acct.buying_power))

    def positions(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for position in self._call("read the positions", self._rest.get_all_positions):
            qty = abs(_float(position.qty))
            if qty > 0:
                out[str(position.symbol)] = (
                    -qty if str(getattr(position.side, "value", position.side)) == "short" else qty
                )
        return out

    def orders(self) -> list[BrokerOrder]:
        """The account's orders, open and closed (Alpaca's latest 500), oldest first."""
        return [self._record(order) for order in self._call("read the orders", lambda: self._all_orders(self._rest))]

    # ------------------------------------------------------------------ REST helpers
    def _client(self) -> Any:  # a TradingClient, whose answers are typed as unions with their raw JSON
        client: TradingClient = self._alpaca.client.TradingClient(
            self._keys[0], self._keys[1], paper=self.paper, url_override=self.url
        )
        # alpaca-py sets no timeout on its requests.Session and retries a 504 three times after 3 s each: give
        # every request the timeout and leave retrying to the session (only a 429 is retried, after 1 s).
        session: Any = client._session
        timeout = self.timeout
        send = session.request

        def request(method: str, url: str, **kwargs: Any) -> Any:
            kwargs.setdefault("timeout", timeout)
            return send(method, url, **kwargs)

        session.request = request
        client._retry_codes = [429]
        client._retry_wait = 1
        return client

    def _request(self, request: OrderRequest) -> Any:
        r, enums = self._alpaca.requests, self._alpaca.enums
        if not isinstance(request, OrderRequest):
            raise ConfigError(f"request must be an OrderRequest, got {type(request).__name__}", argument="request")
        if request.kind not in ORDER_KINDS:
            raise ConfigError(f"kind must be one of {ORDER_KINDS}, got {request.kind!r}", argument="kind")
        if request.tif not in _TIFS:
            raise ConfigError(f"tif must be one of {_TIFS}, got {request.tif!r}", argument="tif")
        if not (math.isfinite(request.quantity) and request.quantity != 0):
            raise ConfigError(
                f"quantity must be finite and non-zero, got {request.quantity!r}",
                argument="quantity",
                symbol=request.symbol,
            )
        common = {
            "symbol": request.symbol,
            "qty": abs(request.quantity),
            "side": enums.OrderSide.BUY if request.quantity > 0 else enums.OrderSide.SELL,
            "time_in_force": enums.TimeInForce(request.tif),
            "client_order_id": request.client_order_id,
        }
        prices = {"limit_price": request.limit, "stop_price": request.stop}
        needs = {
            "market": (r.MarketOrderRequest, ()),
            "limit": (r.LimitOrderRequest, ("limit_price",)),
            "stop": (r.StopOrderRequest, ("stop_price",)),
            "stop_limit": (r.StopLimitOrderRequest, ("limit_price", "stop_price")),
        }
        if request.kind == "trailing_stop":
            amount, percent = request.trail_amount, request.trail_percent
            if math.isnan(amount) == math.isnan(percent):
                raise ConfigError(
                    "a trailing_stop needs exactly one of trail_amount and trail_percent",
                    argument="trail_amount",
                    symbol=request.symbol,
                )
            trail = {"trail_price": amount} if not math.isnan(amount) else {"trail_percent": percent}
            return r.TrailingStopOrderRequest(**common, **trail)
        cls, fields = needs[request.kind]
        for name in fields:
            value = prices[name]
            if not (math.isfinite(value) and value > 0):
                arg = "limit" if name == "limit_price" else "stop"
                raise ConfigError(
                    f"a {request.kind} order needs a positive finite {arg}, got {value!r}",
                    argument=arg,
                    symbol=request.symbol,
                )
        return cls(**common, **{name: prices[name] for name in fields})

    def _find(self, client_order_id: str) -> Order | None:
        api_error = self._alpaca.exceptions.APIError
        try:
            order: Order = self._rest.get_order_by_client_id(client_order_id)
            return order
        except api_error as error:
            if error.status_code == 404:
                return None
            raise self._error(f"look up order {client_order_id!r}", error) from None
        except (OSError, ValueError) as error:
            raise self._error(f"look up order {client_order_id!r}", error) from None

    def _record(self, order: Order) -> BrokerOrder:
        self._ids[order.client_order_id] = str(order.id)
        sign = 1.0 if str(getattr(order.side, "value", order.side)) == "buy" else -1.0
        filled, notional = _filled(order)
        kind = str(getattr(order.type, "value", order.type))
        tif = str(getattr(order.time_in_force, "value", order.time_in_force))
        return BrokerOrder(
            order.client_order_id,
            str(order.id),
            str(order.symbol),
            sign * _float(order.qty),
            kind,
            tif,
            _status(order),
            sign * filled if filled > 0 else 0.0,
            notional / filled if filled > 0 else math.nan,
        )

    def _all_orders(self, client: Any) -> list[Order]:
        enums, r = self._alpaca.enums, self._alpaca.requests
        request = r.GetOrdersRequest(status=enums.QueryOrderStatus.ALL, limit=500, direction="desc")
        orders: list[Order] = client.get_orders(request)
        return orders[::-1]

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        api_error = self._alpaca.exceptions.APIError
        try:
            return fn()
        except (api_error, OSError, ValueError) as error:  # ValueError: an answer alpaca-py cannot parse
            raise self._error(what, error) from None

    def _error(self, what: str, error: BaseException) -> BrokerError:
        status = getattr(error, "status_code", None)
        detail = f"HTTP {status}: {_message(error)}" if status is not None else f"{type(error).__name__}: {error}"
        return BrokerError(f"could not {what} at {self.url} ({detail})", argument="url")

    def _pending_error(self) -> BrokerError | None:
        try:
            while True:
                item = self._queue.get_nowait()
                if isinstance(item, BrokerError):
                    return item
        except queue.Empty:
            return None

    # ------------------------------------------------------------------ the stream
    def _run(self) -> None:
        try:
            asyncio.run(self._stream())
        except Exception as error:  # a bug or an answer outside the protocol: the session must hear of it
            self._queue.put(
                BrokerError(
                    f"the trade_updates reader of {self.stream_url} stopped: {type(error).__name__}: {error}",
                    argument="stream_url",
                )
            )

    async def _stream(self) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

        rest, failures = self._client(), 0
        try:
            while not self._closing.is_set():
                try:
                    async with connect(self.stream_url, open_timeout=self.timeout, max_size=None) as ws:
                        auth = {
                            "action": "authenticate",
                            "data": {"key_id": self._keys[0], "secret_key": self._keys[1]},
                        }
                        await ws.send(msgspec.json.encode(auth).decode())
                        reply = _json(await asyncio.wait_for(ws.recv(), self.timeout))
                        if (reply.get("data") or {}).get("status") != "authorized":
                            self._queue.put(
                                BrokerError(
                                    f"the stream at {self.stream_url} refused the keys: {reply}", argument="api_key"
                                )
                            )
                            return
                        listen = {"action": "listen", "data": {"streams": ["trade_updates"]}}
                        await ws.send(msgspec.json.encode(listen).decode())
                        while (message := _json(await asyncio.wait_for(ws.recv(), self.timeout))).get(
                            "stream"
                        ) != "listening":
                            self._dispatch(message)
                        # catch up with what happened since connect() read the orders, or while the stream was away
                        await asyncio.to_thread(self._catch_up, rest)
                        failures = 0
                        self._listening.set()
                        while not self._closing.is_set():
                            try:
                                frame = await asyncio.wait_for(ws.recv(), timeout=0.1)
                            except TimeoutError:
                                continue
                            self._dispatch(_json(frame))
                        return
                except (
                    OSError,
                    ValueError,
                    msgspec.DecodeError,
                    ConnectionClosed,
                    InvalidHandshake,
                    TimeoutError,
                    self._alpaca.exceptions.APIError,
                ) as error:
                    reason = f"{type(error).__name__}: {error}"
                except InvalidURI as error:
                    self._queue.put(BrokerError(f"cannot connect to {self.stream_url}: {error}", argument="stream_url"))
                    return
                if self._closing.is_set():
                    return
                failures += 1
                self.reconnects += 1
                if failures > self.max_reconnects:
                    self._queue.put(
                        BrokerError(
                            f"lost the trade_updates stream at {self.stream_url} {failures} times in a row "
                            f"(last: {reason})",
                            argument="stream_url",
                        )
                    )
                    return
                pause = time.monotonic() + min(0.05 * 2 ** (failures - 1), 2.0)
                while time.monotonic() < pause and not self._closing.is_set():
                    await asyncio.sleep(0.02)
        finally:
            rest._session.close()

    def _catch_up(self, rest: Any) -> None:
        """Report what changed since the last update read: the orders over REST and, for those that filled more,
        each missed execution from the account's FILL activities (its own units, price and time)."""
        orders = [_order_dict(order) for order in self._all_orders(rest)]
        behind = {
            o["id"]: o for o in orders if abs(_float(o["filled_qty"])) > self._seen.get(o["id"], _Seen()).filled + _EPS
        }
        if behind:
            since = min(_ns(o["created_at"]) for o in behind.values()) - 1_000_000_000
            for fill in self._fills_since(rest, since):
                order = behind.get(str(fill.get("order_id")))
                if order is None:
                    continue
                seen = self._seen.setdefault(order["id"], _Seen())
                cum, units, price = _float(fill.get("cum_qty")), _float(fill.get("qty")), _float(fill.get("price"))
                if cum > seen.filled + _EPS and math.isfinite(price):
                    # this execution as a stream update would have said it: its order as of then
                    then = {**order, "status": "partially_filled", "filled_qty": cum}
                    then["filled_avg_price"] = (seen.notional + (cum - seen.filled) * price) / cum
                    self._advance(then, "partial_fill", units, price, fill.get("transaction_time"), None)
        for order in orders:  # what is left: acceptances, cancels and expiries, any units no activity showed
            self._advance(order, None, None, None, None, None)

    def _fills_since(self, rest: Any, since_ns: int) -> list[dict[str, Any]]:
        """The account's FILL activities after ``since_ns``, oldest first (alpaca-py has no call for them: its
        REST client's ``get``)."""
        after = datetime.fromtimestamp(since_ns // 1_000_000_000, UTC).isoformat()
        params: dict[str, Any] = {"after": after, "direction": "asc", "page_size": 100}
        out: list[dict[str, Any]] = []
        for _ in range(100):  # at most 10,000 executions to catch up
            page = rest.get("/account/activities/FILL", params) or []
            out += [a for a in page if isinstance(a, dict)]
            if len(page) < params["page_size"]:
                break
            params["page_token"] = page[-1]["id"]
        return out

    def _dispatch(self, message: dict[str, Any]) -> None:
        if message.get("stream") != "trade_updates":
            return
        data = message.get("data") or {}
        order = data.get("order") or {}
        if "id" not in order:
            return
        self._advance(
            order,
            str(data.get("event", "")),
            data.get("qty"),
            data.get("price"),
            data.get("timestamp"),
            data.get("execution_id"),
        )

    def _advance(
        self, order: dict[str, Any], event: str | None, qty: Any, price: Any, timestamp: Any, execution_id: Any
    ) -> None:
        """Report what ``order`` (a stream update's, or REST's when ``event`` is None) adds to what was reported."""
        seen = self._seen.setdefault(str(order["id"]), _Seen())
        cid, symbol = str(order.get("client_order_id", "")), str(order.get("symbol", ""))
        sign = 1.0 if order.get("side") == "buy" else -1.0
        ts = _ns(timestamp or order.get("updated_at") or order.get("submitted_at"))
        status = str(order.get("status", ""))
        added = False
        if not seen.accepted and status not in ("pending_new", "rejected"):
            seen.accepted = added = True
            self._queue.put(BrokerEvent("accepted", cid, symbol, ts))
        cum = abs(_float(order.get("filled_qty")))
        if cum > seen.filled + _EPS:
            avg = _float(order.get("filled_avg_price"))
            units = cum - seen.filled
            this_qty, this_price = abs(_float(qty)), _float(price)
            if event in ("fill", "partial_fill") and abs(this_qty - units) <= _EPS and math.isfinite(this_price):
                fill_price = this_price
            else:
                fill_price = (avg * cum - seen.notional) / units
            seen.filled, seen.notional = cum, seen.notional + units * fill_price
            added = True
            self._queue.put(BrokerEvent("fill", cid, symbol, ts, sign * units, fill_price))
        closing = _CLOSING.get(event) if event is not None else _CLOSING.get(status)
        if status == "filled" or event == "fill":
            seen.closed = True
        elif closing is not None and not seen.closed:
            seen.closed = added = True
            kind = "cancelled" if closing == "cancelled" else closing
            self._queue.put(BrokerEvent(kind, cid, symbol, ts))  # type: ignore[arg-type]
        if not added and event in _COUNTED:
            self.duplicates += 1
        del execution_id  # fills are counted by the order's cumulative filled_qty, which a repeat cannot grow


def _status(order: Order) -> str:
    raw = str(getattr(order.status, "value", order.status))
    status = _STATUS.get(raw, "accepted")
    if status == "accepted" and _filled(order)[0] > 0:
        return "partially_filled"
    return status


def _filled(order: Order) -> tuple[float, float]:
    filled = abs(_float(order.filled_qty))
    return (filled, filled * _float(order.filled_avg_price)) if filled > 0 else (0.0, 0.0)


def _order_dict(order: Order) -> dict[str, Any]:
    return {
        "id": str(order.id),
        "client_order_id": order.client_order_id,
        "symbol": order.symbol,
        "side": str(getattr(order.side, "value", order.side)),
        "status": str(getattr(order.status, "value", order.status)),
        "filled_qty": order.filled_qty,
        "filled_avg_price": order.filled_avg_price,
        "updated_at": order.updated_at,
        "created_at": order.created_at,
    }


def _float(value: Any) -> float:
    if value is None or value == "":
        return math.nan if value is None else 0.0
    return float(value)


def _message(error: BaseException) -> str:
    try:
        return str(error.message)  # type: ignore[attr-defined]
    except Exception:
        return str(error)


def _json(frame: str | bytes) -> dict[str, Any]:
    value = msgspec.json.decode(frame)
    if isinstance(value, list):  # Alpaca may batch messages; the trade stream sends one at a time
        value = value[0] if value else {}
    return value if isinstance(value, dict) else {}


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ns(value: Any) -> int:
    """An Alpaca timestamp (RFC 3339 text with up to 9 fractional digits, or a datetime) as int ns UTC."""
    if isinstance(value, datetime):
        stamp = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        delta = stamp - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000
    text = str(value)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    head, _, rest = text.partition(".")
    nanos = 0
    if rest:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        fraction, offset = rest[:digits], rest[digits:]
        nanos = int((fraction + "000000000")[:9])
        text = head + offset
    return _ns(datetime.fromisoformat(text)) + nanos

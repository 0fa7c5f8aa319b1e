"""Test doubles of the session's seams: a venue in memory (deterministic: it fills at the prices the test's feed
sets, when the test says) and feeds that set its prices or fail on cue."""

from __future__ import annotations

import math
from typing import Any

from ml4t.errors import BrokerError, FeedError
from ml4t.live import AccountState, BrokerEvent, BrokerOrder, Message, OrderRequest


class MemoryVenue:
    """A broker in memory: market orders fill at the symbol's current price (in ``parts`` executions, one per
    poll), limit orders rest until a price crosses them, ``refuse`` names symbols it rejects, ``fail_on``
    client order ids whose submission raises (the connection dropped while sending)."""

    def __init__(self, cash: float = 1_000_000.0, *, parts: int = 1, live: bool = False) -> None:
        self.cash = cash
        self.held: dict[str, float] = {}
        self.prices: dict[str, float] = {}
        self.parts = parts
        self.live = live
        self.refuse: set[str] = set()
        self.fail_on: set[str] = set()
        self.orders_: dict[str, dict[str, Any]] = {}
        self.submits: dict[str, int] = {}
        self.queue: list[BrokerEvent] = []
        self.clock = 0
        self.connected = 0
        self.priced = -1

    # the protocol
    def connect(self) -> None:
        self.connected += 1

    def close(self) -> None:
        pass

    def submit(self, request: OrderRequest) -> BrokerOrder:
        cid = request.client_order_id
        self.submits[cid] = self.submits.get(cid, 0) + 1
        if cid in self.orders_:
            return self._view(cid)
        if cid in self.fail_on:
            raise BrokerError(f"connection lost while sending {cid}", argument="venue")
        order = {"request": request, "status": "accepted", "filled": 0.0, "cost": 0.0, "reason": None, "todo": []}
        self.orders_[cid] = order
        if request.symbol in self.refuse:
            order["status"], order["reason"] = "rejected", f"{request.symbol} is not tradable"
            return self._view(cid)
        self._event("accepted", request)
        if request.kind == "market":
            price = self.prices[request.symbol]
            part = request.quantity / self.parts
            order["todo"] = [(part, price)] * self.parts
            self._release(cid)
        return self._view(cid)

    def cancel(self, client_order_id: str) -> None:
        order = self.orders_.get(client_order_id)
        if order is not None and order["status"] in ("accepted", "partially_filled"):
            order["status"] = "cancelled"
            order["todo"] = []
            self._event("cancelled", order["request"], reason="cancelled on request")

    def events(self) -> list[BrokerEvent]:
        for cid, order in self.orders_.items():  # the next part of each partly filled market order executes
            if order["todo"] and order["status"] == "partially_filled":
                self._release(cid)
        out, self.queue = self.queue, []
        return out

    def account(self) -> AccountState:
        equity = self.cash + sum(q * self.prices.get(s, math.nan) for s, q in self.held.items())
        return AccountState(self.cash, equity, self.cash)

    def positions(self) -> dict[str, float]:
        return {s: q for s, q in self.held.items() if q != 0.0}

    def orders(self) -> list[BrokerOrder]:
        return [self._view(cid) for cid in self.orders_]

    # the market
    def set_price(self, symbol: str, price: float) -> None:
        self.prices[symbol] = price
        for cid, order in self.orders_.items():
            request = order["request"]
            if request.symbol != symbol or request.kind != "limit" or order["status"] not in ("accepted",):
                continue
            if (request.quantity > 0 and price <= request.limit) or (request.quantity < 0 and price >= request.limit):
                order["todo"] = [(request.quantity, request.limit)]
                self._release(cid)

    def _release(self, cid: str) -> None:
        order = self.orders_[cid]
        request = order["request"]
        quantity, price = order["todo"].pop(0)
        self.clock += 1
        order["filled"] += quantity
        order["cost"] += quantity * price
        self.cash -= quantity * price
        self.held[request.symbol] = self.held.get(request.symbol, 0.0) + quantity
        order["status"] = "filled" if not order["todo"] else "partially_filled"
        self.queue.append(BrokerEvent("fill", cid, request.symbol, self.clock, quantity, price))

    def _event(self, kind: str, request: OrderRequest, reason: str | None = None) -> None:
        self.clock += 1
        self.queue.append(BrokerEvent(kind, request.client_order_id, request.symbol, self.clock, reason=reason))  # type: ignore[arg-type]

    def _view(self, cid: str) -> BrokerOrder:
        order = self.orders_[cid]
        r = order["request"]
        avg = order["cost"] / order["filled"] if order["filled"] else math.nan
        return BrokerOrder(
            cid, f"b-{cid}", r.symbol, r.quantity, r.kind, r.tif, order["status"], order["filled"], avg, order["reason"]
        )


class PricedFeed:
    """``feed``'s messages, each first setting ``venue``'s prices to its bars' closes; raises FeedError after
    ``fail_after`` messages (the connection lost for good), when given."""

    def __init__(self, feed: Any, venue: MemoryVenue, fail_after: int | None = None) -> None:
        self.feed = feed
        self.venue = venue
        self.fail_after = fail_after
        self.given = 0

    def next(self) -> Message | None:
        if self.fail_after is not None and self.given >= self.fail_after:
            raise FeedError("the feed went away", argument="url")
        message = self.feed.next()
        if message is not None and message.bars and message.seq > self.venue.priced:
            self.venue.priced = message.seq  # a feed read again after a restart does not move prices back
            for symbol, close in zip(message.bars["symbol"], message.bars["close"], strict=True):
                self.venue.set_price(symbol, close)
        self.given += 1
        return message

    def close(self) -> None:
        self.feed.close()

"""The broker seam of a live session: what a venue (a paper or live broker) must do, in plain records.

A session decides orders with the strategy's ``ctx`` exactly as a backtest does; where they go is a
:class:`Venue`. The simulated broker of a backtest is the Rust matching engine; a venue is anything else that
accepts orders: :class:`ml4t.live.AlpacaBroker` (paper or, with an explicit opt-in, live trading), or a fake of
one in tests. A venue speaks in symbols and **client order ids** (chosen by the session, deterministic, so a
restarted session recognises what it already sent and never sends it twice), never in the engine's integer ids.

Records (all times int64 ns UTC, quantities signed: ``+`` buys, ``-`` sells):

- :class:`OrderRequest`: an order the session sends;
- :class:`BrokerOrder`: the venue's view of one order (its status, what filled, at what average price);
- :class:`BrokerEvent`: one thing that happened to an order (accepted, a fill, cancelled, rejected, expired),
  read from the venue's stream of updates by :meth:`Venue.events`;
- :class:`AccountState`: cash, equity and buying power as the venue reports them.

Statuses use the engine's names (``Result.orders``): ``new`` (sent, not yet acknowledged), ``accepted``,
``partially_filled``, ``filled``, ``cancelled``, ``rejected``, ``expired``.
"""

from __future__ import annotations

import math
from typing import Literal, NamedTuple, Protocol, runtime_checkable

__all__ = [
    "EVENT_KINDS",
    "OPEN_STATUSES",
    "ORDER_KINDS",
    "STATUSES",
    "AccountState",
    "BrokerEvent",
    "BrokerOrder",
    "OrderRequest",
    "Venue",
]

ORDER_KINDS = ("market", "limit", "stop", "stop_limit", "trailing_stop")
STATUSES = ("new", "accepted", "partially_filled", "filled", "cancelled", "rejected", "expired")
OPEN_STATUSES = frozenset({"new", "accepted", "partially_filled"})
EVENT_KINDS = ("accepted", "fill", "cancelled", "rejected", "expired")


class OrderRequest(NamedTuple):
    """An order the session sends: ``quantity`` signed, ``kind`` one of :data:`ORDER_KINDS`, ``tif`` one of
    ``gtc``/``day``/``ioc``/``fok``; the prices its kind needs (NaN where unused)."""

    client_order_id: str
    symbol: str
    quantity: float
    kind: str = "market"
    tif: str = "day"
    limit: float = math.nan
    stop: float = math.nan
    trail_amount: float = math.nan
    trail_percent: float = math.nan


class BrokerOrder(NamedTuple):
    """The venue's view of one order. ``quantity`` and ``filled`` signed like the request; ``avg_fill_price``
    NaN before any fill; ``reason`` why it was rejected (None otherwise)."""

    client_order_id: str
    broker_order_id: str
    symbol: str
    quantity: float
    kind: str
    tif: str
    status: str
    filled: float = 0.0
    avg_fill_price: float = math.nan
    reason: str | None = None


class BrokerEvent(NamedTuple):
    """One update of one order, in the order the venue reported them. For a ``fill``: ``quantity`` is this
    execution's signed units and ``price`` its price (a partial fill is a fill whose order is still open);
    otherwise ``quantity`` is 0 and ``price`` NaN. ``ts`` is the venue's time of the update; ``reason`` says
    why an order was rejected, cancelled or expired when the venue says."""

    kind: Literal["accepted", "fill", "cancelled", "rejected", "expired"]
    client_order_id: str
    symbol: str
    ts: int
    quantity: float = 0.0
    price: float = math.nan
    reason: str | None = None


class AccountState(NamedTuple):
    """Cash, equity (cash plus the market value of the positions) and buying power, as the venue reports them."""

    cash: float
    equity: float
    buying_power: float


@runtime_checkable
class Venue(Protocol):
    """Where a session's orders go and where their fills come from. Calls are made from the session's thread;
    an implementation may read its update stream on a thread of its own and queue the events. A venue that
    trades real money says so with an attribute ``live = True`` (a session then needs its own ``live=True``)."""

    def connect(self) -> None:
        """Open the connection (and the stream of order updates). Called once before anything else."""

    def close(self) -> None:
        """Close the stream and the connection (idempotent)."""

    def submit(self, request: OrderRequest) -> BrokerOrder:
        """Send ``request``. Idempotent by client order id: sending an id the venue already knows returns that
        order and places nothing. A refusal by the venue is a ``rejected`` BrokerOrder with its reason, not an
        exception; an exception means the venue could not be reached (:class:`ml4t.errors.BrokerError`)."""
        ...

    def cancel(self, client_order_id: str) -> None:
        """Ask the venue to cancel the order; what happens comes back as an event (``cancelled``, or a
        ``fill`` that won the race)."""

    def events(self) -> list[BrokerEvent]:
        """The order updates received since the last call, in the venue's order (never one twice)."""
        ...

    def account(self) -> AccountState:
        """Cash, equity and buying power now."""
        ...

    def positions(self) -> dict[str, float]:
        """Signed units held per symbol now (symbols with none left out)."""
        ...

    def orders(self) -> list[BrokerOrder]:
        """The orders the venue knows for this account (open and closed, most recent sessions), for
        reconciliation after a restart."""
        ...

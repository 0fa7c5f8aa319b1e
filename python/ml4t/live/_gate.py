"""What a session's ``ctx`` calls for its clock and its broker (:class:`ml4t.event._seams.Seam`): the engine,
behind a gate that journals every order decision and checks it against the risk limits before it leaves.

- :class:`Gate`: the simulated broker (the Rust matching engine fills the orders), also shadow mode.
- :class:`VenueGate`: a venue (:class:`~ml4t.live.Venue`, e.g. Alpaca paper) executes the orders. The engine
  (made ``external``) still records each order, so ``ctx.order_status``, ``ctx.position`` and
  ``Result.orders`` work as in a backtest, but never fills it; :meth:`VenueGate.poll` reads the venue's order
  updates and books its fills and closes into the same ledger.

Write-ahead: an order is journaled (``order``) before it is sent, and the venue's answer (``ack`` or
``reject``) after; each update read by a poll is journaled with the poll's number. A restarted session
(:mod:`ml4t.live._session`) replays the journal through a :class:`Recorded` venue that answers from those
lines instead of sending anything, so no order is ever sent twice.
"""

from __future__ import annotations

import math
import time
import warnings
from collections import defaultdict
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np

from ml4t.errors import BrokerError, DataError, Ml4tError, Ml4tWarning, OrderError
from ml4t.live._broker import OPEN_STATUSES, BrokerEvent, BrokerOrder, OrderRequest, Venue

if TYPE_CHECKING:
    from ml4t.live._journal import Entry, Journal
    from ml4t.live._risk import RiskLimits

__all__ = ["Gate", "ReconcileWarning", "Recorded", "VenueGate"]

_PRICES = ("limit", "stop", "trail_amount", "trail_percent")
_EVENT_KINDS = {"accepted": "ack", "fill": "fill", "cancelled": "update", "expired": "update", "rejected": "reject"}


class ReconcileWarning(Ml4tWarning):
    """The venue's positions differ from what the session's ledger holds (journaled as ``reconcile``)."""


class Gate:
    """The engine as ``ctx`` sees it (clock and simulated broker), every order decision journaled with its
    client order id and checked against the risk limits first. ``journal`` None: nothing journaled (a
    session without a journal, or one replaying its journal after a restart)."""

    def __init__(
        self,
        core: Any,
        journal: Journal | None,
        risk: RiskLimits | None,
        symbols: list[str],
        multipliers: list[float],
        session_id: str,
        killed: Any,
    ) -> None:
        self._core = core
        self.journal = journal
        self._risk = risk
        self._symbols = symbols
        self._multipliers = multipliers
        self.session_id = session_id
        self._killed = killed  # a callable: the session's own kill state
        self.sides: dict[int, float] = {}
        self.symbol_of: dict[int, str] = {}
        self.expected: dict[int, dict[str, Any]] | None = None
        """While a restarted session replays its journal: the journaled decisions by order id, which the
        strategy's decisions must repeat exactly."""

    def client_id(self, order_id: int) -> str:
        return f"{self.session_id}-{order_id}"

    # ------------------------------------------------------------------ the clock (the engine's)
    @property
    def now(self) -> int:
        return int(self._core.now)

    def schedule(self, ts: int, every: int | None = None) -> int:
        return int(self._core.schedule(ts, every))

    def cancel_timer(self, timer_id: int) -> bool:
        return bool(self._core.cancel_timer(timer_id))

    # ------------------------------------------------------------------ the account
    @property
    def cash(self) -> float:
        return float(self._core.cash)

    @property
    def free_cash(self) -> float:
        return float(self._core.free_cash)

    @property
    def equity(self) -> float:
        return float(self._core.equity)

    def position(self, symbol: int) -> float:
        return float(self._core.position(symbol))

    def positions(self) -> np.ndarray:
        return np.asarray(self._core.positions())

    def mark(self, symbol: int) -> float:
        return float(self._core.mark(symbol))

    def pending_market(self, symbol: int) -> float:
        return float(self._core.pending_market(symbol))

    def open_orders(self, symbol: int | None = None) -> list[int]:
        return list(self._core.open_orders(symbol))

    def order_state(self, order_id: int) -> tuple[str, float, float, float] | None:
        state: tuple[str, float, float, float] | None = self._core.order_state(order_id)
        return state

    # ------------------------------------------------------------------ orders
    def submit(
        self,
        symbol: int,
        buy: bool,
        quantity: float,
        kind: str,
        tif: str,
        limit: float = math.nan,
        stop: float = math.nan,
        trail_amount: float = math.nan,
        trail_percent: float = math.nan,
        oco: int | None = None,
        parent: int | None = None,
    ) -> int:
        core = self._core
        self.check(oco, parent)
        sign = 1.0 if buy else -1.0
        reason = self._refusal(symbol, sign * quantity, parent)
        args = (symbol, buy, quantity, kind, tif, limit, stop, trail_amount, trail_percent, oco, parent)
        order_id = int(core.submit(*args) if reason is None else core.submit(*args, refuse=reason))
        self.sides[order_id] = sign
        self.symbol_of[order_id] = self._symbols[symbol]
        prices = (limit, stop, trail_amount, trail_percent)
        decision = {
            "order_id": order_id,
            "client_order_id": self.client_id(order_id),
            "symbol": self._symbols[symbol],
            "quantity": sign * quantity,
            "kind": kind,
            "tif": tif,
            **{k: v for k, v in zip(_PRICES, prices, strict=True) if not math.isnan(v)},
            "oco": oco,
            "parent": parent,
        }
        if self.journal is not None:
            self.journal.append("decision", core.now, decision)
            if reason is not None:
                self.journal.append("risk", core.now, {"order_id": order_id, "reason": reason})
        elif self.expected is not None:
            self._check_replayed(decision)
        if reason is None:
            self.sent(order_id, symbol, sign * quantity, kind, tif, (limit, stop, trail_amount, trail_percent))
        return order_id

    def check(self, oco: int | None, parent: int | None) -> None:
        """Refuse what the broker cannot take (an OrderError), before anything is recorded: the simulated broker
        takes everything."""

    def sent(self, order_id: int, symbol: int, quantity: float, kind: str, tif: str, prices: tuple[float, ...]) -> None:
        """Where an accepted decision goes: nowhere more for the simulated broker (the engine has it)."""

    def _check_replayed(self, decision: dict[str, Any]) -> None:
        assert self.expected is not None
        journaled = self.expected.get(decision["order_id"])
        if journaled is not None and journaled != decision:
            raise DataError(
                f"replaying the journal, the strategy decided {decision} where the journal has {journaled}: a "
                "session restarts from its journal only if the strategy decides the same on the same data "
                "(no wall clock, no unseeded randomness, same parameters)",
                argument="journal",
                symbol=decision["symbol"],
                timestamp=self._core.now,
            )

    def cancel(self, order_id: int) -> bool:
        done = bool(self._core.cancel(order_id))
        if self.journal is not None:
            self.journal.append("cancel", self._core.now, {"order_id": order_id, "cancelled": done})
        return done

    def _refusal(self, symbol: int, quantity: float, parent: int | None) -> str | None:
        """Why the risk limits refuse this order (None: it may leave). A bracket's exit legs (``parent``) only
        close what their entry opened: only the kill switches stop them."""
        risk, killed = self._risk, bool(self._killed())
        if killed and risk is None:
            return "kill switch: the session was killed"
        if risk is None:
            return None
        name = self._symbols[symbol]
        if parent is not None:
            return risk.check(name, 0.0, math.nan, killed=True) if killed or risk.killed() else None
        core = self._core
        working = 0.0
        for order_id in core.open_orders(symbol):
            state = core.order_state(order_id)
            if state is not None:
                working += self.sides.get(order_id, 0.0) * state[2]
        return risk.check(
            name,
            quantity,
            core.mark(symbol),
            position=core.position(symbol),
            working=working,
            multiplier=self._multipliers[symbol],
            killed=killed,
        )


class VenueGate(Gate):
    """The gate of a session whose orders a venue executes (see the module's doc)."""

    takes_brackets = False
    """``ctx.bracket`` refuses before sending the entry: the legs would have nowhere to wait."""

    def __init__(self, core: Any, journal: Journal | None, venue: Venue | Recorded, **gate: Any) -> None:
        super().__init__(core, journal, **gate)
        self.venue = venue
        self.order_ids: dict[str, int] = {}
        self.polls = 0
        self.foreign = 0
        """Updates of orders this session did not send (another session or a person on the same account)."""

    def check(self, oco: int | None, parent: int | None) -> None:
        if oco is not None or parent is not None:
            raise OrderError(
                "brackets and OCO groups are not sent to a broker yet: place the entry, then its exits after it "
                "fills (on_fill)",
                argument="oco" if parent is None else "stop_loss",
                timestamp=self._core.now,
            )

    def sent(self, order_id: int, symbol: int, quantity: float, kind: str, tif: str, prices: tuple[float, ...]) -> None:
        client_id = self.client_id(order_id)
        self.order_ids[client_id] = order_id
        request = OrderRequest(client_id, self._symbols[symbol], quantity, kind, tif, *prices)
        now = self._core.now
        if self.journal is not None:  # write-ahead: a crash after this line is resolved with the venue
            self.journal.append("order", now, {"order_id": order_id, "client_order_id": client_id})
        answer = self.venue.submit(request)
        if self.journal is not None:
            self.journal.append("reject" if answer.status == "rejected" else "ack", now, _order_data(answer, order_id))
        if answer.status == "rejected":
            self._core.close_order(order_id, "rejected", answer.reason or "rejected by the broker")

    def cancel(self, order_id: int) -> bool:
        state = self._core.order_state(order_id)
        is_open = state is not None and state[0] in ("open", "partially_filled")
        if self.journal is not None:
            data = {"order_id": order_id, "client_order_id": self.client_id(order_id), "cancelled": is_open}
            self.journal.append("cancel", self._core.now, data)
        if is_open:
            self.venue.cancel(self.client_id(order_id))
        return is_open

    def poll(self) -> None:
        """Book the venue's order updates since the last poll into the ledger (each journaled first)."""
        poll, self.polls = self.polls, self.polls + 1
        for event in self.venue.events():
            order_id = self.order_ids.get(event.client_order_id)
            if order_id is None:
                self.foreign += 1
                continue
            self.apply(order_id, event, poll)

    def apply(self, order_id: int, event: BrokerEvent, poll: int | None) -> None:
        """Book one update of order ``order_id`` (journaled with ``poll``, the poll that read it)."""
        core = self._core
        objection = None
        state = core.order_state(order_id)
        is_open = state is not None and state[0] in ("open", "partially_filled")
        try:
            if event.kind == "fill":
                objection = core.apply_fill(order_id, abs(event.quantity), event.price, 0.0)
            elif event.kind in ("cancelled", "expired", "rejected") and is_open:
                core.close_order(order_id, event.kind, event.reason or f"{event.kind} by the broker")
        except Ml4tError as error:
            raise BrokerError(
                f"the broker's {event.kind} of order {event.client_order_id} does not fit the order: {error}",
                argument="venue",
                symbol=event.symbol,
                timestamp=core.now,
            ) from None
        if self.journal is not None:
            data = {
                "poll": poll,
                "order_id": order_id,
                "event": event.kind,
                "client_order_id": event.client_order_id,
                "symbol": event.symbol,
                "quantity": event.quantity,
                "price": None if math.isnan(event.price) else event.price,
                "broker_ts": event.ts,
                "reason": event.reason,
                "objection": objection,
            }
            self.journal.append(_EVENT_KINDS[event.kind], core.now, data)

    def catch_up(self, timeout: float) -> bool:
        """Read the venue's updates until the ledger holds every execution and close the venue reports for
        this session's orders, or ``timeout`` seconds pass (then the final reconciliation says what is
        missing). Whether it caught up."""
        deadline = time.monotonic() + timeout
        while True:
            self.poll()
            if self._caught_up():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)

    def _caught_up(self) -> bool:
        assert not isinstance(self.venue, Recorded)
        core = self._core
        theirs = {o.client_order_id: o for o in self.venue.orders()}
        for client_id, order_id in self.order_ids.items():
            order, state = theirs.get(client_id), core.order_state(order_id)
            if order is None or state is None:
                continue
            if not _same_units(abs(order.filled), state[1]):
                return False
            if order.status not in OPEN_STATUSES and state[0] in ("open", "partially_filled"):
                return False
        return True

    def reconcile(self, when: str) -> dict[str, Any]:
        """Compare the ledger with the venue's positions and cash; journal it; warn on a position that differs
        in a symbol without an order open in the ledger (where one is open, executions may be on their way:
        journaled as ``in_flight``)."""
        venue, core = self.venue, self._core
        assert not isinstance(venue, Recorded), "no reconciliation while replaying the journal"
        held = venue.positions()
        account = venue.account()
        ours = core.positions()
        differ = {
            name: [float(ours[i]), float(held.get(name, 0.0))]
            for i, name in enumerate(self._symbols)
            if not _same_units(float(ours[i]), float(held.get(name, 0.0)))
        }
        # a symbol with an order still open in the ledger may differ by executions not read yet
        in_flight = sorted(name for name in differ if core.open_orders(self._symbols.index(name)))
        data = {
            "when": when,
            "cash": [float(core.cash), account.cash],
            "equity": [float(core.equity), account.equity],
            "positions": {name: float(held[name]) for name in sorted(held)},
            "differ": differ,
            "in_flight": in_flight,
        }
        if self.journal is not None:
            self.journal.append("reconcile", core.now, data)
        unexplained = {name: pair for name, pair in differ.items() if name not in in_flight}
        if unexplained:
            differ = unexplained
            name, (a, b) = next(iter(differ.items()))
            warnings.warn(
                f"{when}: the broker holds {b:g} {name} where the session's ledger holds {a:g}"
                f"{f' (and {len(differ) - 1} more symbols)' if len(differ) > 1 else ''}; journaled as reconcile",
                ReconcileWarning,
                stacklevel=3,
            )
        return data


class Recorded:
    """A venue that answers from a journal instead of a broker (a restarted session replaying what it did):
    ``submit`` returns the journaled answer for that client order id, ``events()`` the updates the poll of
    the same number read. Nothing is ever sent. An order without a journaled answer (the session stopped while
    sending it, or before) is answered ``new``: it stays open until :func:`settle` asks the venue."""

    def __init__(self, entries: list[Entry]) -> None:
        self._answers: dict[str, BrokerOrder] = {}
        self._events: dict[int, list[BrokerEvent]] = defaultdict(list)
        self._polls = 0
        for entry in entries:
            data = entry.data
            if entry.kind in ("ack", "reject") and "poll" not in data:
                self._answers[data["client_order_id"]] = _order_of(data)
            elif entry.kind in ("ack", "reject", "fill", "update") and "poll" in data:
                price = math.nan if data["price"] is None else data["price"]
                event = BrokerEvent(
                    data["event"], data["client_order_id"], data["symbol"], data["broker_ts"], data["quantity"],
                    price, data["reason"],
                )  # fmt: skip
                self._events[data["poll"]].append(event)

    def submit(self, request: OrderRequest) -> BrokerOrder:
        answer = self._answers.get(request.client_order_id)
        if answer is not None:
            return answer
        return BrokerOrder(
            request.client_order_id, "", request.symbol, request.quantity, request.kind, request.tif, "new"
        )

    def cancel(self, client_order_id: str) -> None:
        """Cancels are journaled; what the venue did with one is in the journaled updates."""

    def events(self) -> list[BrokerEvent]:
        """The updates the next poll read (a restart polls where the session polled: once per message)."""
        poll, self._polls = self._polls, self._polls + 1
        return self._events.pop(poll, [])


def _same_units(a: float, b: float) -> bool:
    """Positions that agree up to the rounding of summing partial fills (1e-9 relative; brokers report fractional
    quantities to 9 decimals)."""
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def _order_data(order: BrokerOrder, order_id: int) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "client_order_id": order.client_order_id,
        "broker_order_id": order.broker_order_id,
        "symbol": order.symbol,
        "quantity": order.quantity,
        "kind": order.kind,
        "tif": order.tif,
        "status": order.status,
        "filled": order.filled,
        "avg_fill_price": None if math.isnan(order.avg_fill_price) else order.avg_fill_price,
        "reason": order.reason,
    }


def _order_of(data: dict[str, Any]) -> BrokerOrder:
    price = math.nan if data["avg_fill_price"] is None else data["avg_fill_price"]
    return BrokerOrder(
        data["client_order_id"], data["broker_order_id"], data["symbol"], data["quantity"], data["kind"],
        data["tif"], data["status"], data["filled"], price, data["reason"],
    )  # fmt: skip


def settle(gate: VenueGate, venue: Venue) -> list[dict[str, Any]]:
    """After a restart replayed the journal: bring the ledger to what the venue says happened to this session's
    orders while it was down (fills and closes it did not read), and close the orders the venue never
    received (the session stopped before sending them: never sent late). Each change is booked as an update
    of the next poll (journaled with its number), so a later restart replays it where it happened. Returns
    what changed."""
    core = gate._core
    # The updates read before the venue's order states are asked for are in those states: drop them (journaled)
    # so nothing is booked twice; updates read later are new.
    for event in venue.events():
        if gate.journal is not None:
            data = {"client_order_id": event.client_order_id, "event": event.kind, "settled": True}
            gate.journal.append("update", core.now, data)
    known = {o.client_order_id: o for o in venue.orders()}
    changes: list[dict[str, Any]] = []
    now = time.time_ns()
    for order_id in list(core.open_orders(None)):
        client_id = gate.client_id(order_id)
        symbol = gate.symbol_of[order_id]
        theirs = known.get(client_id)
        if theirs is None:
            reason = "not sent: the session stopped before the order reached the broker"
            gate.apply(order_id, BrokerEvent("cancelled", client_id, symbol, now, reason=reason), gate.polls)
            changes.append({"order_id": order_id, "client_order_id": client_id, "closed": "cancelled"})
            continue
        state = core.order_state(order_id)
        assert state is not None
        ours_filled = state[1]
        missing = abs(theirs.filled) - ours_filled
        if missing > 1e-9:
            ours_avg = state[3] if ours_filled > 0 else 0.0
            price = (theirs.avg_fill_price * abs(theirs.filled) - ours_avg * ours_filled) / missing
            sign = 1.0 if theirs.quantity > 0 else -1.0
            gate.apply(order_id, BrokerEvent("fill", client_id, symbol, now, sign * missing, price), gate.polls)
            changes.append({"order_id": order_id, "client_order_id": client_id, "filled": missing, "price": price})
        if theirs.status in ("cancelled", "rejected", "expired"):
            reason = theirs.reason or f"{theirs.status} by the broker (read when the session restarted)"
            closed = cast("Literal['cancelled', 'rejected', 'expired']", theirs.status)
            gate.apply(order_id, BrokerEvent(closed, client_id, symbol, now, reason=reason), gate.polls)
            changes.append({"order_id": order_id, "client_order_id": client_id, "closed": theirs.status})
    return changes

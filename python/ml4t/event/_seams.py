"""What a strategy's ``ctx`` (:class:`ml4t.event.Context`) needs from the run it belongs to: a :class:`Clock`
(``ctx.now``, timers) and a :class:`Broker` (the account and the orders): small protocols over exactly the calls
``Context`` makes.

A backtest gives the ``ctx`` the Rust ``EventEngine``, which is both: the simulated clock and the simulated
broker (the matching engine and the ledger). A live session (``ml4t.live.Session``) gives it a gate in front of
the same engine, stepped as the feed's data arrives, that journals every order decision and checks it against
the risk limits on its way. The strategy cannot tell the difference: its ``ctx`` API is the same in a backtest,
a replay and a paper session.

Integers name symbols (positions in the sorted universe) and orders (the engine's ids, 0, 1, 2, ... in
submission order); times are int64 nanoseconds UTC.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Broker", "Clock", "Seam"]


@runtime_checkable
class Clock(Protocol):
    """The strategy's clock (``ctx.now``) and its timers (``ctx.schedule``). Simulated in a backtest and a
    replay (the data's arrival times), the arrival times of a live feed in a paper session: never the
    machine's own clock, so a session is replayable."""

    @property
    def now(self) -> int: ...

    def schedule(self, ts: int, every: int | None = None) -> int: ...

    def cancel_timer(self, timer_id: int) -> bool: ...


@runtime_checkable
class Broker(Protocol):
    """The account and the orders as the strategy's ``ctx`` sees them (``ctx.cash``, ``ctx.position``,
    ``ctx.order``, ``ctx.order_status``...)."""

    @property
    def cash(self) -> float: ...

    @property
    def free_cash(self) -> float: ...

    @property
    def equity(self) -> float: ...

    def position(self, symbol: int) -> float: ...

    def positions(self) -> np.ndarray: ...

    def mark(self, symbol: int) -> float: ...

    def pending_market(self, symbol: int) -> float: ...

    def open_orders(self, symbol: int | None = None) -> list[int]: ...

    def order_state(self, order_id: int) -> tuple[str, float, float, float] | None: ...

    def submit(
        self,
        symbol: int,
        buy: bool,
        quantity: float,
        kind: str,
        tif: str,
        limit: float = ...,
        stop: float = ...,
        trail_amount: float = ...,
        trail_percent: float = ...,
        oco: int | None = None,
        parent: int | None = None,
    ) -> int: ...

    def cancel(self, order_id: int) -> bool: ...


@runtime_checkable
class Seam(Clock, Broker, Protocol):
    """Both: what ``Context`` is given."""

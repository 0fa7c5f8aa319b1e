"""``ctx``: what a strategy can see and do at the current timestamp.

The view (``ctx.data``, a :class:`~ml4t.data.PITData` whose clock is the engine's), the portfolio (``cash``,
``equity``, ``position``) and the order API. Orders go straight to the Rust engine; quantities are signed
(``+`` buys, ``-`` sells) and the type follows from the prices given:

=========================================  ==============
arguments                                  order type
=========================================  ==============
none                                       market
``limit=``                                 limit
``stop=``                                  stop
``stop=`` and ``limit=``                   stop-limit
``trail_amount=`` or ``trail_percent=``    trailing stop
=========================================  ==============

Malformed requests (unknown symbol, non-finite or zero quantity, a missing price) raise
:class:`~ml4t.errors.OrderError` at once; orders the market or the account refuses later are *rejected as
data* and show in ``Result.orders`` with a reason.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

from ml4t._time import from_ns, parse_duration, to_ns
from ml4t.errors import ConfigError, Ml4tError, OrderError

if TYPE_CHECKING:
    from ml4t._core import EventEngine
    from ml4t.data import PITData

__all__ = ["Context", "OrderInfo"]


class OrderInfo(NamedTuple):
    """Where an order stands: ``ctx.order_info(order_id)``."""

    status: str
    filled: float
    remaining: float
    avg_fill_price: float


_TIFS = ("gtc", "day", "ioc", "fok")


class Context:
    """The strategy's handle on the run; see the module docstring."""

    __slots__ = (
        "_core",
        "_data",
        "_data_factory",
        "_fractional",
        "_index",
        "_multipliers",
        "_next_oco",
        "_oco_names",
        "_symbols",
        "_tags",
        "_timers",
    )

    def __init__(
        self,
        core: EventEngine,
        data: Callable[[], PITData],
        symbols: Sequence[str],
        multipliers: Sequence[float],
        *,
        fractional: bool,
    ) -> None:
        self._core = core
        self._data: PITData | None = None
        self._data_factory = data
        self._symbols = tuple(symbols)
        self._index = {s: i for i, s in enumerate(symbols)}
        self._multipliers = tuple(multipliers)
        self._fractional = fractional
        self._tags: dict[int, str] = {}
        self._timers: dict[int, str | None] = {}
        self._oco_names: dict[object, int] = {}
        self._next_oco = 0

    @property
    def data(self) -> PITData:
        """The point-in-time view of bars (with the strategy's indicators) and signals, as of now: nothing
        with ``ts_arrival`` after the current time is visible. Built on first use."""
        data = self._data
        if data is None:
            data = self._data = self._data_factory()
        data._now = self._core.now
        return data

    # ------------------------------------------------------------------------------------------ clock
    @property
    def now(self) -> dt.datetime:
        """The current time (tz-aware UTC)."""
        return from_ns(self._core.now)

    @property
    def now_ns(self) -> int:
        return self._core.now

    @property
    def symbols(self) -> list[str]:
        """The universe, sorted."""
        return list(self._symbols)

    # -------------------------------------------------------------------------------------- portfolio
    @property
    def cash(self) -> float:
        return self._core.cash

    @property
    def free_cash(self) -> float:
        """Cash not reserved as collateral for short positions."""
        return self._core.free_cash

    @property
    def equity(self) -> float:
        """Cash plus every position at its last price."""
        return self._core.equity

    def position(self, symbol: str) -> float:
        """Signed units held of ``symbol`` (0 when flat)."""
        return self._core.position(self._symbol_index(symbol))

    @property
    def positions(self) -> dict[str, float]:
        """Non-zero positions, ``symbol -> signed units``."""
        held = self._core.positions()
        return {self._symbols[i]: float(held[i]) for i in held.nonzero()[0]}

    def price(self, symbol: str) -> float:
        """The last price of ``symbol`` the engine has seen (its last close; NaN before its first bar)."""
        return self._core.mark(self._symbol_index(symbol))

    # ----------------------------------------------------------------------------------------- orders
    def order(
        self,
        symbol: str,
        quantity: float,
        *,
        limit: float | None = None,
        stop: float | None = None,
        trail_amount: float | None = None,
        trail_percent: float | None = None,
        tif: str = "gtc",
        oco: object | None = None,
        tag: str | None = None,
    ) -> int:
        """Submit an order for ``quantity`` units (signed: ``+`` buys, ``-`` sells); returns its id.

        ``tif`` is ``"gtc"``, ``"day"``, ``"ioc"`` or ``"fok"``. Orders sharing an ``oco`` key (any hashable)
        form a one-cancels-other group: when one fills, the others are cancelled. ``tag`` is kept in
        ``Result.orders`` and on fills.
        """
        index = self._symbol_index(symbol)
        kind = _order_kind(limit, stop, trail_amount, trail_percent, symbol)
        qty = self._quantity(quantity, symbol)
        group = None if oco is None else self._oco_id(oco)
        return self._submit(index, qty, kind, tif, limit, stop, trail_amount, trail_percent, group, None, tag, symbol)

    def bracket(
        self,
        symbol: str,
        quantity: float,
        *,
        stop_loss: float,
        take_profit: float,
        limit: float | None = None,
        tif: str = "gtc",
        tag: str | None = None,
    ) -> tuple[int, int, int]:
        """An entry (market, or limit at ``limit``) with a stop-loss and a take-profit exit.

        The exits start working, for the quantity the entry filled, from the bar after the entry closes;
        they are an OCO pair, and when both touch in one bar the engine's ``both_touched`` policy picks
        (the stop-loss by default). If the entry fills nothing, both exits are cancelled. Returns
        ``(entry_id, stop_loss_id, take_profit_id)``.
        """
        index = self._symbol_index(symbol)
        qty = self._quantity(quantity, symbol)
        for name, price in (("stop_loss", stop_loss), ("take_profit", take_profit)):
            _check_price(name, price, symbol)
        if qty > 0 and not stop_loss < take_profit:
            raise OrderError("a long bracket needs stop_loss < take_profit", argument="stop_loss", symbol=symbol)
        if qty < 0 and not stop_loss > take_profit:
            raise OrderError("a short bracket needs stop_loss > take_profit", argument="stop_loss", symbol=symbol)
        kind = "market" if limit is None else "limit"
        entry = self._submit(index, qty, kind, tif, limit, None, None, None, None, None, tag, symbol)
        group = self._oco_id(object())
        sl = self._submit(index, -qty, "stop", "gtc", None, stop_loss, None, None, group, entry, tag, symbol)
        tp = self._submit(index, -qty, "limit", "gtc", take_profit, None, None, None, group, entry, tag, symbol)
        return entry, sl, tp

    def order_target(self, symbol: str, quantity: float, **order_args: object) -> int | None:
        """Order what it takes to hold ``quantity`` units once the open market orders on ``symbol`` fill;
        None when nothing is needed."""
        index = self._symbol_index(symbol)
        target = _number("quantity", quantity, symbol)
        delta = target - (self._core.position(index) + self._core.pending_market(index))
        if abs(delta) <= 1e-9 * max(abs(target), 1.0):
            return None
        return self.order(symbol, delta, **order_args)  # type: ignore[arg-type]

    def order_target_value(self, symbol: str, value: float, **order_args: object) -> int | None:
        """Hold ``value`` (signed, account currency) of ``symbol`` at its last price."""
        index = self._symbol_index(symbol)
        price = self._core.mark(index)
        if not math.isfinite(price):
            raise OrderError("no price yet for a target value order", argument="value", symbol=symbol)
        units = _number("value", value, symbol) / (price * self._multipliers[index])
        return self.order_target(symbol, self._round(units), **order_args)

    def order_target_percent(self, symbol: str, fraction: float, **order_args: object) -> int | None:
        """Hold ``fraction`` of current equity in ``symbol`` (negative: short)."""
        return self.order_target_value(symbol, _number("fraction", fraction, symbol) * self.equity, **order_args)

    def order_target_weights(self, weights: Mapping[str, float], *, liquidate_others: bool = False) -> list[int]:
        """Rebalance to ``weights`` (fractions of equity per symbol); sells are submitted before buys so their
        proceeds are there first. With ``liquidate_others`` every other held symbol is closed."""
        targets = {s: _number("weights", w, s) for s, w in weights.items()}
        if liquidate_others:
            for symbol in self.positions:
                targets.setdefault(symbol, 0.0)
        equity = self.equity
        deltas: list[tuple[float, str, float]] = []
        for symbol, weight in targets.items():
            index = self._symbol_index(symbol)
            price = self._core.mark(index)
            if not math.isfinite(price):
                raise OrderError("no price yet for a target weight", argument="weights", symbol=symbol)
            units = self._round(weight * equity / (price * self._multipliers[index]))
            delta = units - (self._core.position(index) + self._core.pending_market(index))
            deltas.append((delta, symbol, units))
        ids = []
        for _delta, symbol, units in sorted(deltas, key=lambda d: d[0] > 0):
            order_id = self.order_target(symbol, units)
            if order_id is not None:
                ids.append(order_id)
        return ids

    def cancel(self, order_id: int) -> bool:
        """Cancel an open order at once; False if it was no longer open."""
        return self._core.cancel(int(order_id))

    def cancel_all(self, symbol: str | None = None) -> int:
        """Cancel every open order (of ``symbol``); returns how many were cancelled."""
        index = None if symbol is None else self._symbol_index(symbol)
        ids = self._core.open_orders(index)
        for order_id in ids:
            self._core.cancel(order_id)  # cancelling a bracket entry also cancels its waiting legs
        return sum(1 for order_id in ids if self.order_status(order_id) != "open")

    def open_orders(self, symbol: str | None = None) -> list[int]:
        """Ids of the open orders (of ``symbol``), oldest first, including bracket legs waiting for their entry."""
        return self._core.open_orders(None if symbol is None else self._symbol_index(symbol))

    def order_status(self, order_id: int) -> str:
        """``open``, ``filled``, ``partially_filled``, ``cancelled``, ``expired`` or ``rejected``."""
        state = self._core.order_state(int(order_id))
        if state is None:
            raise OrderError(f"no order with id {order_id}", argument="order_id")
        return state[0]

    def order_info(self, order_id: int) -> OrderInfo:
        """An order's ``status``, ``filled`` and ``remaining`` units and ``avg_fill_price`` (NaN before a fill)."""
        state = self._core.order_state(int(order_id))
        if state is None:
            raise OrderError(f"no order with id {order_id}", argument="order_id")
        return OrderInfo(*state)

    # ----------------------------------------------------------------------------------------- timers
    def schedule(
        self,
        at: dt.datetime | str | int | None = None,
        *,
        after: dt.timedelta | str | None = None,
        every: dt.timedelta | str | None = None,
        name: str | None = None,
    ) -> int:
        """Fire ``on_timer`` at ``at``, or ``after`` a duration from now; ``every`` repeats it. Returns the
        timer id. Timers fire strictly after the current time."""
        if (at is None) == (after is None):
            raise ConfigError("give exactly one of at= and after=", argument="at")
        period = None if every is None else parse_duration(every, argument="every")
        if period is not None and period <= 0:
            raise ConfigError("every must be a positive duration", argument="every")
        if at is not None:
            ts = to_ns(at, argument="at")
        else:
            assert after is not None
            ts = self._core.now + parse_duration(after, argument="after")
        timer_id = self._core.schedule(ts, period)
        self._timers[timer_id] = name
        return timer_id

    def cancel_timer(self, timer_id: int) -> bool:
        """Stop a timer (and its repetitions); False if it is unknown or already stopped."""
        return self._core.cancel_timer(int(timer_id))

    # -------------------------------------------------------------------------------------- internals
    def _symbol_index(self, symbol: str) -> int:
        try:
            return self._index[symbol]
        except (KeyError, TypeError):
            preview = ", ".join(self._symbols[:5])
            raise OrderError(
                f"unknown symbol; the universe is {preview}...", argument="symbol", symbol=str(symbol)
            ) from None

    def _quantity(self, quantity: float, symbol: str) -> float:
        qty = _number("quantity", quantity, symbol)
        if qty == 0:
            raise OrderError("quantity must be non-zero (signed: + buys, - sells)", argument="quantity", symbol=symbol)
        return qty

    def _round(self, units: float) -> float:
        return units if self._fractional else float(math.trunc(units))

    def _oco_id(self, key: object) -> int:
        if key not in self._oco_names:
            self._oco_names[key] = self._next_oco
            self._next_oco += 1
        return self._oco_names[key]

    def _submit(
        self,
        index: int,
        qty: float,
        kind: str,
        tif: str,
        limit: float | None,
        stop: float | None,
        trail_amount: float | None,
        trail_percent: float | None,
        oco: int | None,
        parent: int | None,
        tag: str | None,
        symbol: str,
    ) -> int:
        if tif not in _TIFS:
            raise OrderError(f"tif must be one of {_TIFS}, got {tif!r}", argument="tif", symbol=symbol)
        nan = math.nan
        try:
            order_id = self._core.submit(
                index,
                qty > 0,
                abs(qty),
                kind,
                tif,
                nan if limit is None else _check_price("limit", limit, symbol),
                nan if stop is None else _check_price("stop", stop, symbol),
                nan if trail_amount is None else _check_price("trail_amount", trail_amount, symbol),
                nan if trail_percent is None else _number("trail_percent", trail_percent, symbol),
                oco,
                parent,
            )
        except Ml4tError as error:
            raise error.replace(symbol=symbol) from None
        if tag is not None:
            self._tags[order_id] = tag
        return order_id


def _number(argument: str, value: float, symbol: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise OrderError(f"{argument} must be a number, got {value!r}", argument=argument, symbol=symbol) from None
    if not math.isfinite(number):
        raise OrderError(f"{argument} must be finite, got {value!r}", argument=argument, symbol=symbol)
    return number


def _check_price(argument: str, price: float, symbol: str) -> float:
    value = _number(argument, price, symbol)
    if not value > 0:
        raise OrderError(f"{argument} must be a finite price > 0, got {price!r}", argument=argument, symbol=symbol)
    return value


def _order_kind(
    limit: float | None, stop: float | None, trail_amount: float | None, trail_percent: float | None, symbol: str
) -> str:
    trailing = trail_amount is not None or trail_percent is not None
    if trailing:
        if limit is not None or stop is not None or (trail_amount is not None and trail_percent is not None):
            raise OrderError(
                "a trailing stop takes exactly one of trail_amount= and trail_percent=, and no limit or stop",
                argument="trail_amount",
                symbol=symbol,
            )
        if trail_percent is not None and not 0 < _number("trail_percent", trail_percent, symbol) < 1:
            raise OrderError(
                f"trail_percent must be in (0, 1), got {trail_percent!r}", argument="trail_percent", symbol=symbol
            )
        return "trailing_stop"
    if limit is not None and stop is not None:
        return "stop_limit"
    if limit is not None:
        return "limit"
    if stop is not None:
        return "stop"
    return "market"

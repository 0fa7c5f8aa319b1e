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

Malformed requests raise :class:`~ml4t.errors.OrderError` at the call, before anything is submitted, naming
the argument, the symbol and the strategy's clock time (``error.timestamp``): an unknown symbol; a quantity or
price that is not a real number (``"10"``, ``True``) or not finite; a zero quantity; a ``tag`` that is not a
string; an unhashable ``oco`` key; an order id that is not an int >= 0; an unknown keyword of a target order.
Timer arguments raise :class:`~ml4t.errors.ConfigError` the same way. Orders the market or the account refuses
later are *rejected as data* and show in ``Result.orders`` with a reason.

The ``ctx`` belongs to its run: after ``on_end`` it still answers queries (positions, order status) but every
call that would act (orders, cancels, timers) raises ``OrderError``.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from ml4t._time import from_ns, parse_duration, to_ns
from ml4t.errors import ConfigError, Ml4tError, OrderError
from ml4t.event._weights import check_cap, check_lot_size, scale_to_cap, target_units

if TYPE_CHECKING:
    from ml4t.data import PITData
    from ml4t.event._seams import Seam

__all__ = ["Context", "OrderInfo"]


class OrderInfo(NamedTuple):
    """Where an order stands: ``ctx.order_info(order_id)``."""

    status: str
    filled: float
    remaining: float
    avg_fill_price: float


_TIFS = ("gtc", "day", "ioc", "fok")
_ORDER_ARGS = ("limit", "stop", "trail_amount", "trail_percent", "tif", "oco", "tag")
_MAX_ID = 2**64  # ids are u64 in the engine
_MAX_TS = 2**63  # the engine's clock is int64 ns


class Context:
    """The strategy's handle on the run; see the module docstring."""

    __slots__ = (
        "_close_only",
        "_core",
        "_data",
        "_data_factory",
        "_fractional",
        "_index",
        "_multipliers",
        "_next_oco",
        "_oco_names",
        "_over",
        "_symbols",
        "_tags",
        "_timers",
    )

    def __init__(
        self,
        core: Seam,
        data: Callable[[], PITData],
        symbols: Sequence[str],
        multipliers: Sequence[float],
        *,
        fractional: bool,
        close_only: bool = False,
    ) -> None:
        self._core = core
        self._close_only = close_only  # close-only bars: market orders only (no high/low to touch)
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
        self._over = False

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
        self._check_open("order", symbol)
        index = self._symbol_index(symbol)
        try:
            kind = _order_kind(limit, stop, trail_amount, trail_percent, symbol)
            qty = _quantity(quantity, symbol)
            group = None if oco is None else self._oco_id(oco, symbol)
            return self._submit(
                index, qty, kind, tif, limit, stop, trail_amount, trail_percent, group, None, tag, symbol
            )
        except Ml4tError as error:
            raise self._located(error) from None

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
        self._check_open("bracket", symbol)
        index = self._symbol_index(symbol)
        if not getattr(self._core, "takes_brackets", True):  # a live session's broker that cannot hold the legs
            raise OrderError(
                "brackets are not sent to a broker yet: place the entry, then its exits after it fills (on_fill)",
                argument="stop_loss",
                symbol=symbol,
                timestamp=self._core.now,
            )
        try:
            qty = _quantity(quantity, symbol)
            for name, price in (("stop_loss", stop_loss), ("take_profit", take_profit)):
                _check_price(name, price, symbol)
            if qty > 0 and not stop_loss < take_profit:
                raise OrderError("a long bracket needs stop_loss < take_profit", argument="stop_loss", symbol=symbol)
            if qty < 0 and not stop_loss > take_profit:
                raise OrderError("a short bracket needs stop_loss > take_profit", argument="stop_loss", symbol=symbol)
            if limit is not None:
                _check_price("limit", limit, symbol)
            _check_tif(tif, symbol)
            _check_tag(tag, symbol)
            kind = "market" if limit is None else "limit"
            entry = self._submit(index, qty, kind, tif, limit, None, None, None, None, None, tag, symbol)
        except Ml4tError as error:
            raise self._located(error) from None
        group = self._oco_id(object(), symbol)
        sl = self._submit(index, -qty, "stop", "gtc", None, stop_loss, None, None, group, entry, tag, symbol)
        tp = self._submit(index, -qty, "limit", "gtc", take_profit, None, None, None, group, entry, tag, symbol)
        return entry, sl, tp

    def order_target(self, symbol: str, quantity: float, **order_args: object) -> int | None:
        """Order what it takes to hold ``quantity`` units once the open market orders on ``symbol`` fill;
        None when nothing is needed."""
        self._check_open("order_target", symbol)
        index = self._symbol_index(symbol)
        try:
            target = _number("quantity", quantity, symbol)
            _check_order_args(order_args, symbol)
        except Ml4tError as error:
            raise self._located(error) from None
        delta = target - (self._core.position(index) + self._core.pending_market(index))
        if abs(delta) <= 1e-9 * max(abs(target), 1.0):
            return None
        return self.order(symbol, delta, **order_args)  # type: ignore[arg-type]

    def order_target_value(self, symbol: str, value: float, **order_args: object) -> int | None:
        """Hold ``value`` (signed, account currency) of ``symbol`` at its last price."""
        self._check_open("order_target_value", symbol)
        index = self._symbol_index(symbol)
        try:
            value = _number("value", value, symbol)
            _check_order_args(order_args, symbol)
            price = self._core.mark(index)
            if not math.isfinite(price):
                raise OrderError("no price yet for a target value order", argument="value", symbol=symbol)
        except Ml4tError as error:
            raise self._located(error) from None
        units = value / (price * self._multipliers[index])
        return self.order_target(symbol, self._round(units), **order_args)

    def order_target_percent(self, symbol: str, fraction: float, **order_args: object) -> int | None:
        """Hold ``fraction`` of current equity in ``symbol`` (negative: short)."""
        self._check_open("order_target_percent", symbol)
        try:
            fraction = _number("fraction", fraction, symbol)
            _check_order_args(order_args, symbol)
        except Ml4tError as error:
            raise self._located(error) from None
        return self.order_target_value(symbol, fraction * self.equity, **order_args)

    def order_target_weights(
        self,
        weights: Mapping[str, float | None],
        *,
        liquidate_others: bool = False,
        leverage: float | None = None,
        lot_size: float | None = None,
    ) -> list[int]:
        """Rebalance to ``weights``: per symbol a target fraction of current equity (signed: negative is short),
        or ``None`` to leave that symbol alone (no order; it keeps its position). Returns the ids of the
        orders placed, sells first.

        * ``liquidate_others``: every held symbol not in ``weights`` gets a target of 0.
        * ``leverage``: a cap on gross exposure, the vectorized weights mode's rule: with ``alone`` the
          exposure of the symbols left alone (``None`` weights, and symbols not in ``weights`` unless
          liquidated) at their last price over equity, when ``alone + sum |weight|`` exceeds the cap every
          weight is multiplied by ``max(0, leverage - alone) / sum |weight|``.
        * ``lot_size``: target units are rounded toward zero to whole lots (a whole number of units unless the
          engine is ``fractional``); targets are whole units unless it is.

        Target units are ``weight * equity / (price * multiplier)`` at each symbol's last price; an order is the
        difference to what the symbol will hold once its open market orders fill (none when zero). The sells
        are submitted before the buys so their proceeds are there first (under ``execution="close"`` they fill
        first). A weight that is not a finite number, a symbol without a price yet (unless ``None``) or an
        equity <= 0 is an OrderError; an order the account cannot afford is rejected as data, not resized.
        """
        self._check_open("order_target_weights")
        try:
            targets, alone, held = self._weight_targets(weights, liquidate_others)
            cap = check_cap(leverage)
            lot = check_lot_size(lot_size, fractional=self._fractional)
            equity = self.equity
            if targets and not equity > 0:
                raise OrderError(f"equity is {equity!r}: no target weights without equity", argument="weights")
        except Ml4tError as error:
            raise self._located(error) from None
        deltas: list[tuple[float, str, float]] = []
        for symbol, weight in scale_to_cap(targets, alone / equity if targets else 0.0, cap).items():
            index = self._index[symbol]
            unit_value = self._core.mark(index) * self._multipliers[index]
            units = target_units(weight, equity, unit_value, lot, fractional=self._fractional)
            deltas.append((units - held[index], symbol, units))
        ids = []
        for _delta, symbol, units in sorted(deltas, key=lambda d: d[0] > 0):
            order_id = self.order_target(symbol, units)
            if order_id is not None:
                ids.append(order_id)
        return ids

    def _weight_targets(self, weights: object, liquidate_others: object) -> tuple[dict[str, float], float, np.ndarray]:
        """The checked targets of :meth:`order_target_weights` (liquidated symbols included, ``None`` left out),
        the gross value the symbols it leaves alone hold, and what every symbol holds, all once its open
        market orders fill."""
        if not isinstance(weights, Mapping):
            raise OrderError(
                f"weights must be a mapping symbol -> fraction of equity, got {type(weights).__name__}",
                argument="weights",
            )
        if not isinstance(liquidate_others, bool):
            raise OrderError(
                f"liquidate_others must be True or False, got {liquidate_others!r}", argument="liquidate_others"
            )
        for symbol in weights:
            self._symbol_index(symbol)
        targets = {s: _number("weights", w, s) for s, w in weights.items() if w is not None}
        for symbol in targets:
            if not math.isfinite(self._core.mark(self._index[symbol])):
                raise OrderError("no price yet for a target weight", argument="weights", symbol=symbol)
        held = self._core.positions()
        if self._core.open_orders(None):
            held = held + np.array([self._core.pending_market(i) for i in range(len(self._symbols))])
        alone = 0.0
        for index in np.flatnonzero(held).tolist():
            symbol = self._symbols[index]
            if symbol in targets:
                continue
            if liquidate_others and symbol not in weights:
                targets[symbol] = 0.0
            else:
                alone += abs(held[index] * self._core.mark(index) * self._multipliers[index])
        return targets, alone, held

    def cancel(self, order_id: int) -> bool:
        """Cancel an open order at once; False if it was no longer open (or never existed)."""
        self._check_open("cancel")
        return self._core.cancel(self._id("order_id", order_id))

    def cancel_all(self, symbol: str | None = None) -> int:
        """Cancel every open order (of ``symbol``); returns how many were cancelled."""
        self._check_open("cancel_all", symbol)
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
        state = self._core.order_state(self._id("order_id", order_id))
        if state is None:
            raise OrderError(f"no order with id {order_id}", argument="order_id", timestamp=self._core.now)
        return state[0]

    def order_info(self, order_id: int) -> OrderInfo:
        """An order's ``status``, ``filled`` and ``remaining`` units and ``avg_fill_price`` (NaN before a fill)."""
        state = self._core.order_state(self._id("order_id", order_id))
        if state is None:
            raise OrderError(f"no order with id {order_id}", argument="order_id", timestamp=self._core.now)
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
        timer id. Timers fire strictly after the current time. A repeating timer that cannot be meant is a
        ConfigError naming ``every``: a period below 1 ms, or one firing more than 10 million times before
        the data ends (either would make a run that never ends)."""
        self._check_open("schedule")
        try:
            return self._schedule(at, after, every, name)
        except Ml4tError as error:
            raise self._located(error) from None

    def _schedule(
        self,
        at: dt.datetime | str | int | None,
        after: dt.timedelta | str | None,
        every: dt.timedelta | str | None,
        name: str | None,
    ) -> int:
        if (at is None) == (after is None):
            raise ConfigError("give exactly one of at= and after=", argument="at")
        if name is not None and not isinstance(name, str):
            raise ConfigError(f"a timer's name must be a string, got {name!r}", argument="name")
        period = None if every is None else parse_duration(every, argument="every")
        if period is not None and period <= 0:
            raise ConfigError("every must be a positive duration", argument="every")
        if at is not None:
            ts = to_ns(at, argument="at")
        else:
            assert after is not None
            ts = self._core.now + parse_duration(after, argument="after")
        if not ts < _MAX_TS:
            raise ConfigError("a timer must fire before 2262 (int64 ns)", argument="at" if after is None else "after")
        timer_id = self._core.schedule(ts, period)
        self._timers[timer_id] = name
        return timer_id

    def cancel_timer(self, timer_id: int) -> bool:
        """Stop a timer (and its repetitions); False if it is unknown or already stopped."""
        self._check_open("cancel_timer")
        return self._core.cancel_timer(self._id("timer_id", timer_id, ConfigError))

    # -------------------------------------------------------------------------------------- internals
    def _close(self) -> None:
        """End of the run (after ``on_end``): from now on the ctx answers queries but refuses to act."""
        self._over = True

    def _symbol_index(self, symbol: str) -> int:
        try:
            return self._index[symbol]
        except (KeyError, TypeError):
            preview = ", ".join(self._symbols[:5])
            raise OrderError(
                f"unknown symbol; the universe is {preview}...",
                argument="symbol",
                symbol=str(symbol),
                timestamp=self._core.now,
            ) from None

    def _located(self, error: Ml4tError) -> Ml4tError:
        """``error`` stamped with the strategy's clock time: every error a ctx method raises names it."""
        return error if error.timestamp is not None else error.replace(timestamp=self._core.now)

    def _check_open(self, method: str, symbol: object = None) -> None:
        """Refuse to act once the run is over (a ctx kept after ``Engine.run``)."""
        if self._over:
            raise OrderError(
                f"the run is over: this ctx no longer takes {method}() calls; read the Result instead",
                symbol=None if symbol is None else str(symbol),
                timestamp=self._core.now,
            )

    def _id(self, argument: str, value: object, error: type[Ml4tError] = OrderError) -> int:
        """An order or timer id: an int >= 0 (NumPy's too), never a bool, a float or a string."""
        if not isinstance(value, bool) and isinstance(value, numbers.Integral) and 0 <= int(value) < _MAX_ID:
            return int(value)
        raise error(
            f"{argument} must be an id (an int >= 0) returned by the engine, got {value!r}",
            argument=argument,
            timestamp=self._core.now,
        )

    def _round(self, units: float) -> float:
        return units if self._fractional else float(math.trunc(units))

    def _oco_id(self, key: object, symbol: str) -> int:
        _check_hashable(key, symbol)
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
        _check_tif(tif, symbol)
        _check_tag(tag, symbol)
        if self._close_only and kind != "market":
            raise OrderError(
                f"a {kind} order needs the bars' high and low to trigger, and these bars are close-only; "
                "use market orders (they fill at the close under execution='close')",
                argument="limit" if kind == "limit" else "stop",
                symbol=symbol,
            )
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


def _number(argument: str, value: object, symbol: str) -> float:
    """``value`` as a float: an int or float (NumPy's too), never a bool or a string."""
    plain = type(value) is float or type(value) is int  # the common case, decided without the ABC check
    if not plain and (isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real)):
        raise OrderError(
            f"{argument} must be a number, got {value!r}: give an int or a float", argument=argument, symbol=symbol
        )
    try:
        number = float(value)  # type: ignore[arg-type]
    except OverflowError:  # an int beyond the float range
        number = math.inf
    if not math.isfinite(number):
        raise OrderError(f"{argument} must be finite, got {value!r}", argument=argument, symbol=symbol)
    return number


def _quantity(quantity: object, symbol: str) -> float:
    qty = _number("quantity", quantity, symbol)
    if qty == 0:
        raise OrderError("quantity must be non-zero (signed: + buys, - sells)", argument="quantity", symbol=symbol)
    return qty


def _check_tif(tif: object, symbol: str) -> None:
    if not isinstance(tif, str) or tif not in _TIFS:
        raise OrderError(f"tif must be one of {_TIFS}, got {tif!r}", argument="tif", symbol=symbol)


def _check_tag(tag: object, symbol: str) -> None:
    if tag is not None and not isinstance(tag, str):
        raise OrderError(f"tag must be a string or None, got {tag!r}", argument="tag", symbol=symbol)


def _check_order_args(order_args: Mapping[str, object], symbol: str) -> None:
    """The keywords a target order passes on to :meth:`Context.order`: known names, values checked as there."""
    for name, value in order_args.items():
        if name not in _ORDER_ARGS:
            raise OrderError(
                f"unknown order argument {name!r}; a target order takes {', '.join(_ORDER_ARGS)}",
                argument=name,
                symbol=symbol,
            )
        if value is None:
            continue
        if name == "tif":
            _check_tif(value, symbol)
        elif name == "tag":
            _check_tag(value, symbol)
        elif name == "oco":
            _check_hashable(value, symbol)
        elif name == "trail_percent":
            _number(name, value, symbol)
        else:
            _check_price(name, value, symbol)


def _check_hashable(key: object, symbol: str) -> None:
    try:
        hash(key)
    except TypeError:
        raise OrderError(
            f"oco must be a hashable key, got {type(key).__name__}", argument="oco", symbol=symbol
        ) from None


def _check_price(argument: str, price: object, symbol: str) -> float:
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

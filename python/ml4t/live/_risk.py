"""Risk limits a live or paper session enforces before any order leaves: an order that breaks one is refused
(journaled with its reason, reported as a rejected order), never resized or sent.

- ``max_order_value``: the order's value, ``|quantity| x price x multiplier``, in account currency, at the
  price the session last saw for the symbol.
- ``max_position``: the absolute position in units of any one symbol after the order fills in full (what the
  account holds plus the orders already working in that symbol plus this one).
- the kill switch: while the file ``kill_switch`` exists (an operator creates it: ``touch``), or after
  :meth:`RiskLimits.check` was given ``killed=True`` by the session, every order is refused.
"""

from __future__ import annotations

import math
import os
from typing import Any

import msgspec

from ml4t._validate import check_number
from ml4t.errors import ConfigError

__all__ = ["RiskLimits"]


class RiskLimits(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The limits of a session (each ``None``: no limit). See the module's doc for each rule."""

    max_order_value: float | None = None
    max_position: float | None = None
    kill_switch: str | None = None
    """A file path: while a file exists there, no order leaves."""

    def __post_init__(self) -> None:
        for name in ("max_order_value", "max_position"):
            value = getattr(self, name)
            if value is not None:
                msgspec.structs.force_setattr(self, name, check_number(name, value, positive=True))
        if self.kill_switch is not None and (not isinstance(self.kill_switch, str) or not self.kill_switch):
            raise ConfigError(f"kill_switch must be a file path, got {self.kill_switch!r}", argument="kill_switch")

    def killed(self) -> bool:
        """Whether the kill switch's file exists now."""
        return self.kill_switch is not None and os.path.exists(self.kill_switch)

    def check(
        self,
        symbol: str,
        quantity: float,
        price: float,
        *,
        position: float = 0.0,
        working: float = 0.0,
        multiplier: float = 1.0,
        killed: bool = False,
    ) -> str | None:
        """The reason an order of signed ``quantity`` units of ``symbol`` (positive buys) must not leave, or
        None when it may. ``price`` is the symbol's last price (NaN: unknown, refused when a value limit is
        set), ``position`` what the account holds, ``working`` the signed units of its orders already working in
        the symbol, ``killed`` the session's own kill state."""
        if self.killed():
            return f"kill switch on: no order leaves while {self.kill_switch!r} exists"
        if killed:
            return "kill switch on: the session was killed, no order leaves"
        if self.max_order_value is not None:
            if not math.isfinite(price):
                return f"no price known for {symbol} to check max_order_value={self.max_order_value:g}"
            value = abs(quantity) * price * multiplier
            if value > self.max_order_value:
                return f"order value {value:,.2f} of {symbol} above max_order_value={self.max_order_value:,.2f}"
        if self.max_position is not None:
            after = position + working + quantity
            if abs(after) > self.max_position:
                return f"position {after:g} of {symbol} after the order above max_position={self.max_position:g}"
        return None

    def to_dict(self) -> dict[str, Any]:
        return msgspec.structs.asdict(self)

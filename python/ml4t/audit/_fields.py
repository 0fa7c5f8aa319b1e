"""What the audit compares: the decision fields of an order, tolerances, signal keys, audit targets."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

from ml4t._kernel.signals import BOOL_KEYS, NUMBER_KEYS
from ml4t.event import Strategy
from ml4t.promotion import Promoted
from ml4t.vectorized import VectorizedStrategy

DECISION_FIELDS = (
    "ts_submitted",
    "symbol",
    "side",
    "order_type",
    "quantity",
    "limit_price",
    "stop_price",
    "time_in_force",
    "tag",
)
"""The columns of ``Result.orders`` that a strategy decides; the rest (status, fills) is the market's answer."""

REL_TOL = 1e-9
"""Relative tolerance for numbers (quantities, prices, numeric signals); they are bit-identical in practice."""

_SIGNAL_KEYS = BOOL_KEYS + NUMBER_KEYS
_FLOAT_FIELDS = frozenset({"quantity", "limit_price", "stop_price"})

AuditTarget: TypeAlias = VectorizedStrategy | Promoted | Strategy | type[Strategy] | Callable[..., Strategy]
"""What :func:`lookahead` audits: a vectorized strategy (with ``params``), a promoted one, or an event
strategy given as a class, an instance (deep-copied per run) or a factory."""

"""The one exception hierarchy of ml4t, rooted at :class:`Ml4tError`.

Every error carries the context that caused it as attributes (``argument``, ``column``, ``symbol``,
``timestamp``) and names them in its message, so a user can find the offending row without a debugger.
Rejected orders are *data* (a status and a reason in ``Result.orders``), never exceptions.

The Rust extension raises these same classes: ``core/src/python/error.rs`` maps the core's error enum
onto them by name, so there is exactly one hierarchy.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ml4t._ns import format_ns

__all__ = [
    "BrokerError",
    "CacheWarning",
    "ConfigError",
    "DataError",
    "FeedError",
    "InsolvencyWarning",
    "LeakageError",
    "LintError",
    "Ml4tError",
    "Ml4tWarning",
    "NoOrdersWarning",
    "OrderError",
    "RejectionWarning",
]


def _format_timestamp(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, int):  # int64 nanoseconds since the epoch, UTC
        return format_ns(value)
    return str(value)


class Ml4tError(Exception):
    """Base class of every error ml4t raises on purpose.

    Parameters
    ----------
    message:
        What went wrong, in one sentence.
    argument, column, symbol, timestamp:
        Where it went wrong. Each one given is stored as an attribute and appended to the message as
        ``[argument 'frame', column 'high', symbol 'AAPL', first at 2020-01-03T21:00:00+00:00]``.
        ``timestamp`` may be a datetime or int64 nanoseconds UTC.
    """

    def __init__(
        self,
        message: str,
        *,
        argument: str | None = None,
        column: str | None = None,
        symbol: str | None = None,
        timestamp: Any = None,
    ) -> None:
        self.message = message
        self.argument = argument
        self.column = column
        self.symbol = symbol
        self.timestamp = timestamp
        parts = []
        if argument is not None:
            parts.append(f"argument {argument!r}")
        if column is not None:
            parts.append(f"column {column!r}")
        if symbol is not None:
            parts.append(f"symbol {symbol!r}")
        if timestamp is not None:
            parts.append(f"first at {_format_timestamp(timestamp)}")
        super().__init__(f"{message} [{', '.join(parts)}]" if parts else message)

    def replace(self, **changes: Any) -> Ml4tError:
        """The same kind of error with some of ``message``, ``argument``, ``column``, ``symbol``,
        ``timestamp`` replaced, e.g. to prefix a file name or name the user's own column."""
        fields = {name: getattr(self, name) for name in ("message", "argument", "column", "symbol", "timestamp")}
        fields.update(changes)
        message = fields.pop("message")
        return type(self)(message, **fields)


class DataError(Ml4tError, ValueError):
    """Input data is malformed: missing columns, unsorted or duplicated timestamps, NaN or inconsistent
    prices, naive timestamps, signals that arrive before the event they describe."""


class LeakageError(Ml4tError):
    """Information from the future, or in-sample predictions posing as out-of-sample, would reach a
    strategy. Raised unless the user opts in explicitly."""


class ConfigError(Ml4tError, ValueError):
    """A setting or argument is invalid: unknown keys, out-of-range values, contradictory options."""


class OrderError(Ml4tError):
    """An order request is malformed (e.g. a non-finite quantity). Orders that are well formed but cannot
    be filled or afforded are rejected as data, not raised."""


class LintError(Ml4tError):
    """The strategy linter found problems and strict mode was requested."""


class FeedError(Ml4tError):
    """A live or replayed feed failed for good: it could not connect, lost its connection more times in a row
    than allowed, or sent nothing for longer than its timeout."""


class BrokerError(Ml4tError):
    """A broker could not be reached or answered outside its protocol (a venue of ``ml4t.live``): the session
    stops rather than guess whether an order was placed. A refused order is not an error: it is ``rejected``."""


class Ml4tWarning(UserWarning):
    """Base class of the warnings a run emits about what happened in it (never about the library itself)."""


class InsolvencyWarning(Ml4tWarning):
    """A run's equity fell to zero or below (``Result.insolvent_at`` says when)."""


class RejectionWarning(Ml4tWarning):
    """Many orders of a run were rejected; the message counts them by ``reason_code``."""


class NoOrdersWarning(Ml4tWarning):
    """A run placed no order at all (or no combination of a sweep traded): its rules never fired; the message
    says which signal keys never did."""


class CacheWarning(Ml4tWarning):
    """A cache entry was damaged (truncated, altered bytes, a digest that does not match its content, a foreign
    format): the message names the entry and why; the entry was removed and is recomputed, never trusted."""

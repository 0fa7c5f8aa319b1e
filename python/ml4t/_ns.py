"""int64 nanoseconds since the Unix epoch, UTC, read as datetimes and text.

A leaf module (no ml4t imports): :mod:`ml4t.errors` formats the timestamps it reports with it, and
:mod:`ml4t._time`, which raises those errors, re-exports it.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["EPOCH", "format_ns", "from_ns"]

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def from_ns(ns: int) -> dt.datetime:
    """int64 ns UTC -> tz-aware UTC datetime (microsecond precision, like Python's datetime)."""
    return EPOCH + dt.timedelta(microseconds=ns // 1_000)


def format_ns(ns: int) -> str:
    """int64 ns UTC -> ISO-8601 string, keeping nanoseconds when they are not zero."""
    base = from_ns(ns)
    rem = ns % 1_000
    text = base.isoformat()
    if rem:
        head, _, offset = text.partition("+")
        if "." not in head:
            head += ".000000"
        text = f"{head}{rem:03d}+{offset}"
    return text

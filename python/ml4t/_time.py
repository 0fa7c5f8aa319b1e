"""Time conventions shared by every module.

Inside ml4t every timestamp is timezone-aware UTC: ``pl.Datetime("ns", "UTC")`` in Polars and int64
nanoseconds since the Unix epoch in Rust and NumPy. Durations are int64 nanoseconds.
"""

from __future__ import annotations

import datetime as dt
import re

import polars as pl

from ml4t._ns import EPOCH, format_ns, from_ns
from ml4t.errors import ConfigError

__all__ = ["TS_DTYPE", "format_duration", "format_ns", "from_ns", "parse_duration", "to_ns"]

TS_DTYPE = pl.Datetime("ns", "UTC")
"""The one timestamp dtype of every frame ml4t returns."""

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
"""The range of int64 nanoseconds: 1677-09-21 to 2262-04-11."""
NS_PER_SECOND = 1_000_000_000
NS_PER_DAY = 86_400 * NS_PER_SECOND
NS_PER_YEAR = int(365.25 * NS_PER_DAY)
"""A Julian year, used to turn an observed span of time into years."""

_UNITS_NS = {
    "ns": 1,
    "us": 1_000,
    "ms": 1_000_000,
    "s": NS_PER_SECOND,
    "m": 60 * NS_PER_SECOND,
    "min": 60 * NS_PER_SECOND,
    "h": 3_600 * NS_PER_SECOND,
    "d": NS_PER_DAY,
    "w": 7 * NS_PER_DAY,
}
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ns|us|ms|s|min|m|h|d|w)\s*$")


def to_ns(value: dt.datetime | str | int, *, argument: str = "timestamp") -> int:
    """Convert a timezone-aware datetime, an ISO-8601 string with an offset, or int64 ns to int64 ns UTC.

    Naive datetimes are rejected: ml4t never guesses a timezone.
    """
    ns = _to_ns(value, argument)
    if not INT64_MIN <= ns <= INT64_MAX:
        raise ConfigError(
            f"timestamp {value!r} is outside 1677-09-21 to 2262-04-11 (the range of int64 nanoseconds)",
            argument=argument,
        )
    return ns


def _to_ns(value: dt.datetime | str | int, argument: str) -> int:
    if isinstance(value, bool):
        raise ConfigError(f"expected a timestamp, got {value!r}", argument=argument)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError as exc:
            raise ConfigError(f"cannot parse {value!r} as an ISO-8601 timestamp", argument=argument) from exc
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
            raise ConfigError(
                f"naive datetime {value.isoformat()} has no timezone; give a tz-aware datetime "
                "(e.g. datetime(..., tzinfo=datetime.UTC))",
                argument=argument,
            )
        delta = value - EPOCH
        return (delta.days * 86_400 + delta.seconds) * NS_PER_SECOND + delta.microseconds * 1_000
    raise ConfigError(
        f"expected a tz-aware datetime, ISO string or int ns, got {type(value).__name__}", argument=argument
    )


def parse_duration(value: dt.timedelta | str | int, *, argument: str = "duration") -> int:
    """A duration as int64 ns, from a timedelta, int ns, or a string such as ``"250ms"``, ``"5m"``,
    ``"1d"`` (units: ns, us, ms, s, m/min, h, d, w). Negative durations are rejected."""
    if isinstance(value, bool):
        raise ConfigError(f"expected a duration, got {value!r}", argument=argument)
    if isinstance(value, dt.timedelta):
        ns = (value.days * 86_400 + value.seconds) * NS_PER_SECOND + value.microseconds * 1_000
    elif isinstance(value, int):
        ns = value
    elif isinstance(value, str):
        match = _DURATION_RE.match(value.lower())
        if match is None:
            raise ConfigError(
                f"cannot parse duration {value!r}; use e.g. '500ms', '5m', '1h', '1d' or a timedelta",
                argument=argument,
            )
        ns = round(float(match.group(1)) * _UNITS_NS[match.group(2)])
    else:
        raise ConfigError(f"expected a duration, got {type(value).__name__}", argument=argument)
    if ns < 0:
        raise ConfigError(f"duration must not be negative, got {value!r}", argument=argument)
    if ns > INT64_MAX:
        raise ConfigError(f"duration {value!r} is too long for int64 nanoseconds (about 292 years)", argument=argument)
    return ns


def format_duration(value: dt.timedelta | int | None) -> str:
    """A duration (timedelta or int ns) in the largest unit that divides it exactly: ``1d``, ``5m``,
    ``250ms``, ``90s``; the inverse of :func:`parse_duration` for whole units. None -> ``"None"``."""
    if value is None:
        return "None"
    ns = parse_duration(value) if isinstance(value, dt.timedelta) else value
    if ns == 0:
        return "0s"
    for unit in ("w", "d", "h", "m", "s", "ms", "us", "ns"):
        size = _UNITS_NS[unit]
        if ns % size == 0:
            return f"{ns // size}{unit}"
    return f"{ns}ns"  # pragma: no cover - every int is a multiple of 1 ns

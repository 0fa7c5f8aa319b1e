"""Cache keys: what an entry is made of, as a 128-bit hash and the readable parts it hashes.

A :class:`Key` is the xxh3_128 of the canonical JSON of its ``parts`` (sorted keys, no spaces; see
:mod:`ml4t.cache._canon`), so equal parts give equal keys in any process and any change of a part changes
the key. :func:`key_of` builds an entry's key from the data's fingerprint (:meth:`ml4t.data.Bars.fingerprint`),
the keys of its expressions (:func:`expression_key`: Polars' own plan, Python code in it by
:func:`function_key`), its parameters (canonical JSON with types kept: ``1``, ``1.0`` and ``True`` differ) and
the versions of ml4t and Polars. What cannot be keyed soundly comes back as :class:`Uncacheable` with the
reason, never as a key that could return a stale result. :func:`slot_key` names the logical place of an entry
(a strategy's leaf) across runs, so the last description kept there can explain the next miss
(:mod:`ml4t.cache._reasons`).
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import inspect
import math
import re
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from ml4t._version import installed
from ml4t.cache._canon import Refused, Walker, canonical_json, digest
from ml4t.errors import ConfigError

__all__ = ["FORMAT", "Key", "Uncacheable", "expression_key", "function_key", "key_of", "slot_key"]

FORMAT = "ml4t-key/1"
"""The format of every key's parts; a change of what goes into a key changes it."""
_HEX = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class Key:
    """A cache key: ``hex``, the xxh3_128 of the canonical JSON of ``parts`` (32 hex digits), and ``parts``,
    what went into it (JSON values). Keys compare and hash by ``hex``."""

    hex: str
    parts: Mapping[str, Any] = field(compare=False, hash=False, repr=False)

    @classmethod
    def of(cls, parts: Mapping[str, Any]) -> Key:
        """The key of ``parts`` (JSON values)."""
        return cls(digest(parts), dict(parts))

    def __str__(self) -> str:
        return self.hex


@dataclass(frozen=True)
class Uncacheable:
    """What could not be keyed soundly, and why (``"`weights` reads the global list `CACHE` (mutable): not
    cached"``). The caller computes without the cache and reports the reason."""

    reason: str

    def __str__(self) -> str:
        return self.reason


def function_key(fn: Callable[..., Any]) -> Key | Uncacheable:
    """The key of what ``fn`` computes (:mod:`ml4t.cache._canon`): its bytecode, constants, the values of the
    globals it reads (functions followed by their own keys, modules by name and version), defaults and closure
    cells; not its name, file, line numbers, comments, docstring or local variable names. A generator or
    coroutine function is :class:`Uncacheable` (its result is consumed lazily), and so is whatever it reads
    that cannot be keyed soundly."""
    if not callable(fn):
        raise ConfigError(f"function_key needs a callable, got {type(fn).__name__}", argument="fn")
    if inspect.isgeneratorfunction(fn) or inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
        name = getattr(fn, "__qualname__", repr(fn))
        return Uncacheable(f"`{name}` is a generator or coroutine function (its result is consumed lazily): not cached")
    walker = Walker(root=getattr(fn, "__qualname__", None) or repr(fn))
    try:
        token = walker.function_body(fn) if isinstance(fn, types.FunctionType) else walker.value(fn, "is {a_kind}")
    except Refused as refused:
        return Uncacheable(refused.reason)
    return Key.of({"format": FORMAT, "kind": "function", "function": token})


def expression_key(expr: pl.Expr) -> Key | Uncacheable:
    """The key of ``expr``: Polars' serialized plan (``meta.serialize(format="json")``), so the same plan built
    by different code has one key and a changed window, column, literal or operator another. Each Python
    function in the plan (``map_batches``, ``map_elements``, ``fold``) is keyed by :func:`function_key`'s rules
    instead of its pickled bytes; one that cannot be keyed makes the expression :class:`Uncacheable`."""
    if not isinstance(expr, pl.Expr):
        raise ConfigError(f"expression_key needs a Polars expression, got {type(expr).__name__}", argument="expr")
    try:
        plan = Walker(root="the expression").plan(expr)
    except Refused as refused:
        return Uncacheable(refused.reason)
    return Key.of({"format": FORMAT, "kind": "expression", "plan": plan})


def key_of(
    level: str,
    *,
    data: str | Mapping[str, str],
    expressions: Mapping[str, pl.Expr | Key | Uncacheable] | None = None,
    params: Mapping[str, Any] | None = None,
    versions: Mapping[str, str | None] | None = None,
) -> Key | Uncacheable:
    """The key of an entry of ``level`` (e.g. ``"indicators"``) computed from ``data`` (a fingerprint, 32 hex
    digits, or a mapping of names to fingerprints such as ``{"bars": ..., "signals": ...}``), ``expressions``
    (names to expressions or their keys), ``params`` (names to values: numbers, text, booleans, None, dates,
    durations, sequences, mappings with text keys, enums, expressions, functions; a NumPy scalar is its Python
    number, a tuple and a list of the same values are one value) and ``versions`` (ml4t's and Polars' installed
    versions, updated with any given here).

    ``parts`` holds them readably: ``{"format", "level", "data", "expressions": {name: hex}, "params",
    "versions"}``. An expression or parameter that cannot be keyed soundly makes the entry
    :class:`Uncacheable`, naming it. Malformed arguments are a ConfigError naming the argument."""
    if not isinstance(level, str) or not level:
        raise ConfigError(f"level must be a non-empty string, got {level!r}", argument="level")
    fingerprints = _data(data)
    try:
        exprs = {name: _expression(name, e) for name, e in sorted(_mapping("expressions", expressions).items())}
        values = {name: _param(name, value) for name, value in sorted(_mapping("params", params).items())}
    except Refused as refused:
        return Uncacheable(refused.reason)
    current: dict[str, str | None] = {"ml4t": installed("ml4t"), "polars": pl.__version__}
    for name, version in _mapping("versions", versions).items():
        if version is not None and not isinstance(version, str):
            raise ConfigError(f"versions[{name!r}] must be text or None, got {version!r}", argument="versions")
        current[name] = version
    parts = {
        "format": FORMAT,
        "level": level,
        "data": fingerprints,
        "expressions": exprs,
        "params": values,
        "versions": dict(sorted(current.items())),
    }
    return Key.of(parts)


def slot_key(level: str, *names: str) -> str:
    """The logical place of an entry across runs, as 32 hex digits: ``level`` and the names that identify it
    (a strategy's name and a leaf's, a sweep's name...), not what it is computed from. A caller keeps the last
    description (:func:`ml4t.cache.describe`) per slot to explain the next miss (:func:`ml4t.cache.explain_miss`)."""
    for name, value in (("level", level), *((f"names[{i}]", n) for i, n in enumerate(names))):
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{name} must be a non-empty string, got {value!r}", argument=name.partition("[")[0])
    if not names:
        raise ConfigError("slot_key needs at least one name besides the level", argument="names")
    return digest(["ml4t-slot/1", level, *names])


# --------------------------------------------------------------------------------------------- helpers
def _mapping(argument: str, value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) and k for k in value):
        raise ConfigError(f"{argument} must map non-empty names to values, got {value!r:.80}", argument=argument)
    return value


def _data(data: str | Mapping[str, str]) -> str | dict[str, str]:
    items = {"": data} if isinstance(data, str) else dict(_mapping("data", data))
    if not items or not all(isinstance(v, str) and _HEX.fullmatch(v) for v in items.values()):
        raise ConfigError(
            f"data must be a fingerprint (32 hex digits, as Bars.fingerprint() gives) or a mapping of names to "
            f"fingerprints, got {data!r:.80}",
            argument="data",
        )
    return data if isinstance(data, str) else dict(sorted(items.items()))


def _expression(name: str, expr: pl.Expr | Key | Uncacheable) -> str:
    if isinstance(expr, pl.Expr):
        expr = expression_key(expr)
    if isinstance(expr, Uncacheable):
        raise Refused(f"expression `{name}`: {expr.reason}")
    if not isinstance(expr, Key):
        raise ConfigError(
            f"expressions[{name!r}] must be a Polars expression or its key, got {type(expr).__name__}",
            argument="expressions",
        )
    return expr.hex


def _param(name: str, value: Any) -> Any:
    """The canonical JSON of a parameter value, its type kept; refused (Uncacheable) when it has none."""
    try:
        return _canonical(value)
    except Refused as refused:
        raise Refused(f"parameter `{name}`: {refused.reason}") from None


def _canonical(value: Any) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int) and type(value) is int:
        return value
    if isinstance(value, float):
        value = float(value)
        return value if math.isfinite(value) else {"$float": repr(value)}
    if type(value).__module__ == "numpy" and hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        return _canonical(value.item())  # np.int64(10) is the 10 of a grid built with NumPy
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise Refused(f"a mapping with a key that is not text ({value!r:.60})")
        return {("$" + k if k.startswith("$") else k): _canonical(v) for k, v in sorted(value.items())}
    if isinstance(value, (set, frozenset)):
        return {"$set": sorted((_canonical(v) for v in value), key=canonical_json)}
    if isinstance(value, enum.Enum):
        return {"$enum": f"{type(value).__module__}:{type(value).__qualname__}.{value.name}"}
    if isinstance(value, (dt.datetime, dt.date, dt.time, dt.timedelta, decimal.Decimal)):
        return {"$" + type(value).__name__: value.isoformat() if hasattr(value, "isoformat") else str(value)}
    if isinstance(value, pl.Expr):
        key = expression_key(value)
        return {"$expr": _hex_or_refuse(key)}
    if isinstance(value, pl.DataType):
        return {"$dtype": repr(value)}
    if callable(value) and isinstance(value, (types.FunctionType, types.BuiltinFunctionType)):
        return {"$function": _hex_or_refuse(function_key(value))}
    raise Refused(f"a {type(value).__qualname__} has no canonical value for a key")


def _hex_or_refuse(key: Key | Uncacheable) -> str:
    if isinstance(key, Uncacheable):
        raise Refused(key.reason)
    return key.hex

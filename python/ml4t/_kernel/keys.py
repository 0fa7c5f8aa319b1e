"""The keys a signal function returns, the two modes they define, and how each key is resolved.

The contract (issue #12):

- The keys, in the kernel's order, are :data:`KEYS`: ``entries, exits, short_entries, short_exits, size,
  sl_stop, tp_stop, weights, rebalance, leverage``. :data:`BOOL_KEYS` are booleans (null / ``False``: no),
  :data:`NUMBER_KEYS` numbers (null / NaN: none; for ``weights`` leave the symbol alone, for ``leverage`` the
  setting).
- **Signal mode**: the dict has ``entries`` and/or ``short_entries`` (with optional ``exits``,
  ``short_exits``, ``size``, ``sl_stop``, ``tp_stop``). **Weights mode**: the dict has ``weights`` (target
  fractions of the account's equity) with optional ``rebalance`` and ``leverage``. A dict with keys of both
  modes is refused, and so are the settings a mode does not read (``sl_stop`` / ``tp_stop`` / ``accumulate``
  in weights mode; ``rebalance`` / ``leverage`` in signal mode): a ConfigError naming them, never ignored.
- ``rebalance`` (the key, else the setting): a boolean expression, or a calendar period (``"1w"``, ``"1mo"``:
  the first bar of each period on the common timeline of all symbols, ``ts_event`` truncated to the period in
  UTC; the first bar of the data is a rebalance bar), or a number of bars ``n`` (bars ``0, n, 2n, ...`` of the
  common timeline). A period or a number becomes a hidden boolean column of the frames
  (:func:`rebalance_column`, filled by :func:`rebalance_mask`), so it is a plain leaf for the compiled path
  and a sweep over periods stays compiled. No key and no setting: every bar.
- ``leverage`` may be a number (the same cap at every bar) or a numeric expression.
- In ``scope="symbol"`` an expression is evaluated on one symbol's bars at a time, where a window over
  ``ts_event`` is a group of one row: such an expression is a ConfigError pointing to ``scope="panel"``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from ml4t.errors import ConfigError
from ml4t.settings import VectorizedSettings

__all__ = [
    "BOOL_KEYS",
    "KEYS",
    "NUMBER_KEYS",
    "SIGNAL_KEYS",
    "WEIGHTS_KEYS",
    "call_signal_fn",
    "describe",
    "is_weights",
    "rebalance_column",
    "rebalance_columns",
    "rebalance_mask",
]

KEYS = (
    "entries",
    "exits",
    "short_entries",
    "short_exits",
    "size",
    "sl_stop",
    "tp_stop",
    "weights",
    "rebalance",
    "leverage",
)
BOOL_KEYS = ("entries", "exits", "short_entries", "short_exits", "rebalance")
NUMBER_KEYS = ("size", "sl_stop", "tp_stop", "weights", "leverage")
SIGNAL_KEYS = ("entries", "exits", "short_entries", "short_exits", "size", "sl_stop", "tp_stop")
"""The keys of signal mode."""
WEIGHTS_KEYS = ("weights", "rebalance", "leverage")
"""The keys of weights mode."""

_HIDDEN = "__ml4t_rebalance:"
"""Prefix of the hidden boolean columns a period or a number of bars becomes (see :func:`rebalance_column`)."""


def _name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__name__", repr(fn))


def describe(fn: Callable[..., Any], params: Mapping[str, Any]) -> str:
    """``name(a=1, b=2)``: a call of the signal function, for messages."""
    return f"{_name(fn)}({', '.join(f'{k}={v!r}' for k, v in params.items())})"


def is_weights(signals: Mapping[str, Any]) -> bool:
    """Whether a signal dict is in weights mode."""
    return "weights" in signals


def call_signal_fn(
    fn: Callable[..., Any], params: Mapping[str, Any], settings: VectorizedSettings
) -> dict[str, pl.Expr]:
    """Call the user's function for one combination, check what it returned against the mode rules and the
    strategy's ``settings``, and resolve it: a dict of Polars expressions in :data:`KEYS` order,
    with the rebalance rule of the key or the setting (a period or a number as its hidden column) and a
    numeric ``leverage`` as a literal."""
    s = settings
    try:
        out = fn(**params)
    except Exception as exc:  # the user's code: report which combination broke it, keep the cause
        raise ConfigError(
            f"{describe(fn, params)} raised {type(exc).__name__}: {exc}; check the parameter values' types",
            argument="signal_fn",
        ) from exc
    if not isinstance(out, Mapping):
        raise ConfigError(
            f"{describe(fn, params)} must return a dict of Polars expressions with keys from {list(KEYS)}, "
            f"got {type(out).__name__}",
            argument="signals",
        )
    unknown = [k for k in out if k not in KEYS]
    if unknown:
        raise ConfigError(
            f"{_name(fn)} returned unknown key {unknown[0]!r}; allowed keys: {list(KEYS)}", argument="signals"
        )
    _check_mode(fn, out, s)
    resolved: dict[str, pl.Expr] = {}
    for key in KEYS:
        if key == "rebalance":
            rule = out.get("rebalance", s.rebalance) if is_weights(out) else None
            if rule is not None:
                resolved[key] = _rebalance_expr(fn, params, rule, "rebalance" in out)
            continue
        if key not in out:
            continue
        expr = out[key]
        if key == "leverage" and isinstance(expr, (int, float)) and not isinstance(expr, bool):
            expr = pl.lit(float(expr), dtype=pl.Float64)
        if not isinstance(expr, pl.Expr):
            what = "a Polars expression or a number" if key == "leverage" else "a Polars expression"
            raise ConfigError(
                f"{describe(fn, params)}[{key!r}] must be {what}, got {type(expr).__name__}; wrap arrays with "
                "pl.lit(pl.Series(...)) or use pl.col(...).map_batches(...)",
                argument=key,
            )
        resolved[key] = expr
    if s.scope == "symbol":
        _check_symbol_scope(fn, params, resolved)
    return resolved


def _check_mode(fn: Callable[..., Any], out: Mapping[str, Any], s: VectorizedSettings) -> None:
    entries = [k for k in ("entries", "short_entries") if k in out]
    if is_weights(out):
        if entries:
            raise ConfigError(
                f"{_name(fn)} returned both 'weights' and {entries}: a strategy gives target weights OR "
                "entries/short_entries, not both",
                argument="signals",
            )
        signal_keys = [k for k in SIGNAL_KEYS if k in out]
        if signal_keys:
            raise ConfigError(
                f"{_name(fn)} returned 'weights' with {signal_keys}: with target weights the orders are what "
                "reaches the targets, so exits, sizes and stops do not apply (a weight of 0 closes a position)",
                argument=signal_keys[0],
            )
        for name in ("sl_stop", "tp_stop", "accumulate"):
            if getattr(s, name) not in (None, False):
                raise ConfigError(
                    f"the setting {name}={getattr(s, name)!r} does not apply to a strategy of target weights "
                    f"({_name(fn)} returns 'weights'); remove it",
                    argument=name,
                )
        return
    if not entries:
        raise ConfigError(
            f"{_name(fn)} must return 'entries' and/or 'short_entries' (signals), or 'weights' (target weights)",
            argument="signals",
        )
    weights_keys = [k for k in WEIGHTS_KEYS if k in out]
    if weights_keys:
        raise ConfigError(
            f"{_name(fn)} returned {weights_keys} without 'weights': rebalance and leverage apply to target "
            "weights only",
            argument=weights_keys[0],
        )
    for name in ("rebalance", "leverage"):
        if getattr(s, name) is not None:
            raise ConfigError(
                f"the setting {name}= applies to target weights only, and {_name(fn)} returns entries; remove it "
                "or return 'weights'",
                argument=name,
            )


def _rebalance_expr(fn: Callable[..., Any], params: Mapping[str, Any], rule: Any, from_key: bool) -> pl.Expr:
    if isinstance(rule, pl.Expr):
        return rule
    if from_key:
        try:
            if isinstance(rule, bool) or not isinstance(rule, (str, int)):
                raise ConfigError(
                    f"must be a boolean expression, a calendar period ('1mo') or a number of bars, got {rule!r}",
                    argument="rebalance",
                )
            rule = _checked_rule(rule)
        except ConfigError as error:
            raise error.replace(message=f"{describe(fn, params)}['rebalance']: {error.message}") from None
    return pl.col(rebalance_column(rule))


@functools.lru_cache(maxsize=256)
def _checked_rule(rule: Any) -> Any:
    """A ``rebalance`` key's period or number (never a bool), checked by the setting's own rule."""
    return VectorizedSettings.build(rebalance=rule).rebalance


def rebalance_column(rule: str | int) -> str:
    """The hidden boolean column of a rebalance period (``"1mo"``) or number of bars (``21``)."""
    if isinstance(rule, bool) or not isinstance(rule, (str, int)):
        raise TypeError(rule)
    return f"{_HIDDEN}{'every ' if isinstance(rule, int) else ''}{rule}"


def rebalance_columns(per_combo: Sequence[Mapping[str, pl.Expr]]) -> list[str]:
    """The distinct hidden rebalance columns the combinations read, in order of first use."""
    names: dict[str, None] = {}
    for signals in per_combo:
        expr = signals.get("rebalance")
        if expr is not None and expr.meta.is_column():
            name = expr.meta.output_name()
            if name.startswith(_HIDDEN):
                names[name] = None
    return list(names)


def rebalance_mask(ts: pl.Series, column: str) -> np.ndarray:
    """The values of a hidden rebalance column on the timeline ``ts``: True on the first bar of each period
    (``ts_event`` truncated to it, in UTC) or on bars ``0, n, 2n, ...``."""
    rule = column.removeprefix(_HIDDEN)
    if rule.startswith("every "):
        every: np.ndarray = np.arange(len(ts)) % int(rule.removeprefix("every ")) == 0
        return every
    start = ts.dt.truncate(rule)
    first: np.ndarray = (start != start.shift(1)).fill_null(True).to_numpy()
    return first


def _check_symbol_scope(fn: Callable[..., Any], params: Mapping[str, Any], signals: Mapping[str, pl.Expr]) -> None:
    """In symbol scope a window over ``ts_event`` is a group of one row: a ConfigError pointing to panel scope."""
    for key, expr in signals.items():
        if "ts_event" not in expr.meta.root_names():
            continue
        try:
            tree = json.loads(expr.meta.serialize(format="json"))
        except Exception:  # an expression Polars cannot serialize: nothing to inspect
            continue
        if _window_over_ts_event(tree):
            raise ConfigError(
                f"{describe(fn, params)}[{key!r}] has a window over 'ts_event' (a cross-section such as "
                "rank().over('ts_event')), but scope='symbol' evaluates each symbol's bars alone, so every "
                "group has one row; use VectorizedStrategy(..., scope='panel') to evaluate across symbols",
                argument="scope",
            )


def _window_over_ts_event(node: Any) -> bool:
    if isinstance(node, dict):
        for name, child in node.items():
            if name in ("Over", "Window") and isinstance(child, dict) and _mentions_ts_event(child.get("partition_by")):
                return True
            if _window_over_ts_event(child):
                return True
    elif isinstance(node, list):
        return any(_window_over_ts_event(child) for child in node)
    return False


def _mentions_ts_event(node: Any) -> bool:
    if isinstance(node, dict):
        return node.get("Column") == "ts_event" or any(_mentions_ts_event(v) for v in node.values())
    if isinstance(node, list):
        return any(_mentions_ts_event(v) for v in node)
    return False

"""Rolling windows that several signal expressions share, computed once.

Polars' common-subexpression elimination leaves rolling functions alone (``f > s`` and ``f < s`` with
``f = pl.col("close").rolling_mean(60)`` compute each moving average twice: half of a single run's signal
time). :func:`share_windows` lifts each rolling function of a plain column that occurs more than once into a
stage of its own, and rewrites the expressions to read it: the same kernel on the same column, so the values
are the same bits. Only a window of a bare column is lifted, and only where every node above it is
elementwise (an alias, a binary operation, a cast, a when/then/otherwise): what reads the window value by
value gives the same bits whether it reads a computed or a stored column, while an aggregation or a window
over groups above it may not (Polars' mean of a shifted moving average differs in its last bit between the
two), so those are left as written. The rewritten expressions must survive Polars' JSON reader unchanged, or
nothing is lifted.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

import polars as pl

__all__ = ["share_windows"]

_PREFIX = "__ml4t_window "
"""Names of the lifted columns (``__ml4t_``: hidden from the messages that list a frame's columns)."""
_ELEMENTWISE = frozenset({"Alias", "BinaryExpr", "Cast", "Ternary"})
"""Nodes a lifted window may sit under: each reads its inputs value by value, on the frame's rows."""


def _is_window(node: Any) -> bool:
    """A rolling function of a bare column: ``{"Function": {"input": [{"Column": c}], "function":
    {"RollingExpr": ...}}}``."""
    if not isinstance(node, dict) or len(node) != 1 or "Function" not in node:
        return False
    function = node["Function"]
    if not isinstance(function, dict):
        return False
    kind, inputs = function.get("function"), function.get("input")
    return (
        isinstance(kind, dict)
        and "RollingExpr" in kind
        and isinstance(inputs, list)
        and len(inputs) == 1
        and isinstance(inputs[0], dict)
        and set(inputs[0]) == {"Column"}
    )


def _windows(node: Any, found: Counter[str]) -> None:
    """Count the liftable windows under ``node`` (reached through elementwise nodes only)."""
    if _is_window(node):
        found[json.dumps(node, sort_keys=True)] += 1
    elif isinstance(node, dict) and len(node) == 1 and next(iter(node)) in _ELEMENTWISE:
        _children(next(iter(node.values())), lambda child: _windows(child, found))


def _children(body: Any, visit: Any) -> None:
    """Calls ``visit`` on each expression-like child of an elementwise node's ``body``."""
    for child in body if isinstance(body, list) else body.values() if isinstance(body, dict) else ():
        if isinstance(child, dict):
            visit(child)


def _rewrite(node: Any, names: dict[str, str]) -> Any:
    """``node`` with each lifted window (reached as :func:`_windows` reaches them) replaced by its column."""
    if _is_window(node):
        name = names.get(json.dumps(node, sort_keys=True))
        return node if name is None else {"Column": name}
    if not (isinstance(node, dict) and len(node) == 1 and next(iter(node)) in _ELEMENTWISE):
        return node
    key, body = next(iter(node.items()))
    if isinstance(body, list):
        return {key: [_rewrite(child, names) if isinstance(child, dict) else child for child in body]}
    if isinstance(body, dict):
        return {key: {k: _rewrite(child, names) if isinstance(child, dict) else child for k, child in body.items()}}
    return node


def _read(tree: Any) -> pl.Expr | None:
    """The expression of ``tree``, or None when Polars does not read it back to the same tree."""
    try:
        expr = pl.Expr.deserialize(io.StringIO(json.dumps(tree)), format="json")
        same = json.loads(expr.meta.serialize(format="json")) == tree
    except Exception:  # not an expression Polars reads back: leave the expressions as they are
        return None
    return expr if same else None


def share_windows(exprs: Sequence[pl.Expr]) -> tuple[list[list[pl.Expr]], list[pl.Expr]]:
    """``(stages, exprs)``: the windows several of ``exprs`` compute (or one computes twice), as one stage of
    ``with_columns``, and ``exprs`` rewritten to read them; ``([], exprs)`` when there is none (or the
    rewrite does not survive Polars' JSON reader)."""
    try:
        trees = [json.loads(e.meta.serialize(format="json")) for e in exprs]
    except Exception:  # an expression Polars cannot serialize: evaluate it as written
        return [], list(exprs)
    found: Counter[str] = Counter()
    for tree in trees:
        _windows(tree, found)
    shared = [key for key, count in found.items() if count > 1]
    if not shared:
        return [], list(exprs)
    names = {key: f"{_PREFIX}{i}" for i, key in enumerate(shared)}
    stage = [_read(json.loads(key)) for key in shared]
    rewritten = [_read(_rewrite(tree, names)) for tree in trees]
    if any(e is None for e in stage) or any(e is None for e in rewritten):
        return [], list(exprs)
    lifted = [e.alias(names[key]) for e, key in zip(stage, shared, strict=True) if e is not None]
    return [lifted], [e for e in rewritten if e is not None]

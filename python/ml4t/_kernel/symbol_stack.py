"""Symbol scope's leaves in one Polars query across symbols, where that is exact (issue #18).

A compiled chunk evaluates its distinct leaves on each symbol's own rows. One query per symbol costs a fixed
~1-3 ms of Polars' planning and scheduling whatever the rows, so a wide universe pays it hundreds of times. Here
the leaves that give the SAME values bit for bit when evaluated as ``leaf.over("symbol")`` on every symbol's rows
stacked (each symbol's rows in time order, the symbols in the panel's order) are evaluated in one query; the
others keep one query per symbol. The results are handed back per symbol, exactly as the per-symbol queries
would have given them.

Which leaves: those whose plan is built only from the nodes and functions of :data:`_EXACT` (columns, scalar
literals, arithmetic, comparisons, casts, ``when/then/otherwise`` and the order-preserving functions below).
Each of them computes a row from its own symbol's rows in the same sequence of floating-point operations in
both evaluations. Left per symbol (measured: Polars 2.1 gives other last bits under ``over`` or sums in
another order): every sum-based window or aggregation (``rolling_mean`` / ``sum`` / ``std`` / ``var``, ``mean``,
``sum``, ``std``), and everything not listed: other aggregations, nested ``over``, Python functions, random
ranks, Series literals, sorts and filters. The property test ``tests/vectorized/test_symbol_stack.py`` checks
the listed functions against the per-symbol query over random expressions, symbol counts, nulls and uneven
histories.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import polars as pl

from ml4t.errors import ConfigError

__all__ = ["exact_over", "leaf_frames"]

_FUNCTIONS = frozenset(
    {
        "Shift",
        "Diff",
        "PctChange",
        "CumSum",
        "CumProd",
        "CumMin",
        "CumMax",
        "CumCount",
        "Rank",
        "EwmMean",
        "FillNull",
        "FillNullWithStrategy",
        "Abs",
        "Log",
        "Exp",
        "Negate",
        "Clip",
        "Boolean",
    }
)
_ROLLING = frozenset({"Max", "Min"})  # rolling windows that pick a value: no sum, so no order of additions
_EXACT = ("Column", "Literal", "BinaryExpr", "Cast", "Ternary", "Alias", "Function")


def exact_over(leaf_json: str) -> bool:
    """Whether the leaf (its serialized plan, as ``SignalPrograms.leaves`` gives it) evaluates to the same values
    bit for bit as ``leaf.over("symbol")`` on all symbols' rows as on each symbol's own rows."""
    try:
        return _exact(json.loads(leaf_json))
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        return False


def _exact(node: Any) -> bool:
    if not isinstance(node, dict) or len(node) != 1:
        return False
    (kind, body), *_ = node.items()
    if kind == "Column":
        return isinstance(body, str)
    if kind == "Literal":
        return isinstance(body, dict) and ("Dyn" in body or "Scalar" in body)
    if kind == "BinaryExpr":
        return _exact(body["left"]) and _exact(body["right"])
    if kind == "Cast":
        return _exact(body["expr"])
    if kind == "Ternary":
        return all(_exact(body[part]) for part in ("predicate", "truthy", "falsy"))
    if kind == "Alias":
        return _exact(body[0])
    if kind == "Function":
        return _function(body["function"]) and all(_exact(arg) for arg in body["input"])
    return False


def _function(function: Any) -> bool:
    if isinstance(function, str):
        return function in _FUNCTIONS
    if not isinstance(function, dict) or len(function) != 1:
        return False
    (name, params), *_ = function.items()
    if name == "RollingExpr":
        return params["function"] in _ROLLING and params["options"]["weights"] is None
    if name == "Rank":
        return params["options"]["method"] != "Random"
    return name in _FUNCTIONS


Part = tuple[pl.DataFrame, Any, Any, "str | None"]
Collect = Callable[[pl.DataFrame, list[pl.Expr], "str | None"], pl.DataFrame]


def leaf_frames(
    parts: Sequence[Part], leaves: Sequence[pl.Expr], stacked: Sequence[bool], collect: Collect
) -> list[pl.DataFrame]:
    """Per symbol part (``(frame, symbol index, timeline index, symbol)`` of symbol scope), the frame of
    ``leaves`` in order, as ``collect(frame, leaves, symbol)`` on that part gives it. The leaves ``stacked``
    marks (see :func:`exact_over`) are evaluated in ONE ``collect`` on the parts' rows stacked, each leaf
    ``.over("symbol")``, and sliced back per part; the others per part. When the stacked query fails, every leaf
    is evaluated per part (which names the failing symbol)."""
    together = [i for i, ok in enumerate(stacked) if ok]
    if len(parts) <= 1 or not together:
        return [collect(frame, list(leaves), symbol) for frame, _, _, symbol in parts]
    names = [leaf.meta.output_name() for leaf in leaves]
    alone = [i for i, ok in enumerate(stacked) if not ok]
    frames = [frame for frame, _, _, _ in parts]
    try:
        shared = collect(
            pl.concat(frames, rechunk=False), [leaves[i].over("symbol").alias(names[i]) for i in together], None
        )
    except ConfigError:  # the per-symbol queries raise it again, naming the symbol
        return [collect(frame, list(leaves), symbol) for frame, _, _, symbol in parts]
    out, start = [], 0
    for frame, _, _, symbol in parts:
        part = shared.slice(start, frame.height)
        start += frame.height
        if alone:
            part = part.hstack(collect(frame, [leaves[i] for i in alone], symbol))
        out.append(part.select(names))
    return out

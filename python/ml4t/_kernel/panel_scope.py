"""Panel scope's windows: a window nested in a window is evaluated on the whole long frame, first.

In ``scope="panel"`` the natural cross-sectional rule nests a time series in a cross-section::

    mom = pl.col("close") / pl.col("close").shift(21).over("symbol") - 1
    top = mom.rank(descending=True).over("ts_event") <= k

Polars evaluates the inner window *within each group of the outer one*: inside a date every symbol has one
row, so ``shift(21).over("symbol")`` is null everywhere and the rule silently never fires. What a researcher
means (and what SQL, which cannot nest windows, forces) is the inner window on the whole frame. So, in panel
scope, :func:`stage_windows` lifts every window nested inside another window's function into a column of its
own, evaluated before the expressions that read it (innermost first; an identical window is computed once),
and the expressions read that column instead. Windows that are not nested are left as written.

The lifting rewrites the serialized expression tree (Polars' JSON) and deserializes the parts; an expression
Polars cannot round-trip through JSON (e.g. a NaN literal) while holding a nested window is a ConfigError
saying how to write it instead.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

import polars as pl

from ml4t.errors import ConfigError

__all__ = ["stage_windows"]

_LIFTED = "__ml4t_window:"
"""Prefix of the columns that hold a lifted window."""


def stage_windows(exprs: Sequence[pl.Expr]) -> tuple[list[list[pl.Expr]], list[pl.Expr]]:
    """``(stages, exprs)``: the lifted windows as stages of ``with_columns`` (each stage reads only the frame
    and earlier stages), and ``exprs`` rewritten to read them. No nested window: ``([], exprs)`` unchanged."""
    if not exprs:
        return [], list(exprs)
    try:
        text = pl.struct(exprs).meta.serialize(format="json")
    except Exception:  # an expression Polars cannot serialize: evaluate it as written
        return [], list(exprs)
    if text.count('"Over"') < 2:  # fast path: no window can be nested
        return [], list(exprs)
    tree = json.loads(text)
    lifted: dict[str, tuple[str, Any, int]] = {}  # key -> (column, rewritten window, stage)
    fields = []
    for field in tree["Function"]["input"]:
        rewritten, _ = _walk(field, False, lifted)
        fields.append(rewritten)
    if not lifted:
        return [], list(exprs)
    try:
        final = [_expr(field) for field in fields]
        stages: list[list[pl.Expr]] = [[] for _ in range(max(level for *_, level in lifted.values()))]
        for name, node, level in lifted.values():
            stages[level - 1].append(_expr(node).alias(name))
    except pl.exceptions.PolarsError as error:
        raise ConfigError(
            "a window nested in a window (e.g. x.shift(1).over('symbol') inside .over('ts_event')) is computed on "
            "the whole panel first, but this expression does not survive Polars' serialization "
            f"({str(error).splitlines()[0]}); avoid NaN literals in it (use None)",
            argument="signals",
        ) from None
    return stages, final


def _expr(node: Any) -> pl.Expr:
    return pl.Expr.deserialize(io.StringIO(json.dumps(node)), format="json")


def _walk(node: Any, in_window: bool, lifted: dict[str, tuple[str, Any, int]]) -> tuple[Any, int]:
    """``node`` with every window inside a window's function replaced by its lifted column, and the latest
    stage it reads (0: none)."""
    if isinstance(node, list):
        items = [_walk(item, in_window, lifted) for item in node]
        return [item for item, _ in items], max((level for _, level in items), default=0)
    if not isinstance(node, dict):
        return node, 0
    if len(node) == 1 and isinstance(node.get("Over"), dict):
        over = node["Over"]
        function, level = _walk(over.get("function"), True, lifted)
        window = {"Over": {**over, "function": function}}
        if not in_window:
            return window, level
        key = json.dumps(window, sort_keys=True)
        if key not in lifted:
            lifted[key] = (f"{_LIFTED}{len(lifted)}", window, level + 1)
        name, _, stage = lifted[key]
        return {"Column": name}, stage
    out, level = {}, 0
    for name, child in node.items():
        out[name], child_level = _walk(child, in_window, lifted)
        level = max(level, child_level)
    return out, level

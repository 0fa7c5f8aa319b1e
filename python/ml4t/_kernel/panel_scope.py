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

The lifting rewrites the serialized expression tree (Polars' JSON) and deserializes the parts. Polars' JSON
reader lands some float literals an ulp off (``1 / 11``), so every float literal of a rewritten part that would
not read back exactly becomes a column of its own, built from the exact value (``pl.lit(x)``) in a first stage:
the rewritten expressions compute with the values the user wrote. A part that does not deserialize (Polars
writes a NaN or infinite literal as null) is a ConfigError.
"""

from __future__ import annotations

import io
import json
import math
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
    literals: dict[str, tuple[str, float]] = {}
    fields = [_exact_floats(field, literals) for field in fields]
    lifted = {key: (name, _exact_floats(node, literals), level) for key, (name, node, level) in lifted.items()}
    try:
        final = [_expr(field) for field in fields]
        stages: list[list[pl.Expr]] = [[] for _ in range(max(level for *_, level in lifted.values()))]
        for name, node, level in lifted.values():
            stages[level - 1].append(_expr(node).alias(name))
        if literals:
            stages.insert(0, [pl.lit(value, dtype=pl.Float64).alias(name) for name, value in literals.values()])
    except pl.exceptions.PolarsError as error:
        raise ConfigError(
            "a window nested in a window (e.g. x.shift(1).over('symbol') inside .over('ts_event')) is computed on "
            "the whole panel first, but this expression does not survive Polars' serialization "
            f"({str(error).splitlines()[0]}): Polars writes a NaN or infinite literal as null; use None, or "
            "compute the inner window as a bar column first",
            argument="signals",
        ) from None
    return stages, final


def _exact_floats(node: Any, literals: dict[str, tuple[str, float]]) -> Any:
    """``node`` with each float literal Polars' JSON reader would not read back exactly replaced by a column
    (``literals``: the value's repr -> (column, value))."""
    if isinstance(node, list):
        return [_exact_floats(item, literals) for item in node]
    if not isinstance(node, dict):
        return node
    literal = node.get("Literal") if len(node) == 1 else None  # a dtype is {"Literal": "Float64"}: not a value
    value = literal.get("Dyn", {}).get("Float") if isinstance(literal, dict) else None
    if isinstance(value, float) and not _reads_exactly(value):
        name, _ = literals.setdefault(repr(value), (f"{_LIFTED}literal {len(literals)}", value))
        return {"Column": name}
    return {key: _exact_floats(child, literals) for key, child in node.items()}


_READS: dict[str, bool] = {}


def _reads_exactly(value: float) -> bool:
    """Whether Polars' JSON reader gives ``value`` back bit for bit (never for NaN or an infinity)."""
    key = repr(value)
    known = _READS.get(key)
    if known is None:
        try:
            back = json.loads(_expr({"Literal": {"Dyn": {"Float": value}}}).meta.serialize(format="json"))
            known = back["Literal"]["Dyn"]["Float"] == value and math.copysign(1, value) == math.copysign(
                1, back["Literal"]["Dyn"]["Float"]
            )
        except Exception:  # NaN / inf: not JSON Polars reads
            known = False
        if len(_READS) < 65536:
            _READS[key] = known
    return known


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

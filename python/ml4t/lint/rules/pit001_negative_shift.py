"""PIT001: a negative shift reads later rows."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ml4t.lint._core import Finding, Module, Rule
from ml4t.lint.rules import register


def negative_int(node: ast.AST | None) -> int | None:
    """The value of a negative integer literal (``-1``), else None."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        value = node.operand.value
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return -value
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        return node.value if node.value < 0 else None
    return None


@register
class NegativeShift(Rule):
    """What it does:
    Flags ``.shift(n)`` with a negative literal ``n`` (Polars ``n=``/``periods=``, pandas ``periods=``), and
    ``.diff(n)`` / ``.pct_change(n)`` with a negative ``n``.

    Why is this bad:
    A negative shift moves later rows up: the value a bar sees is the value of a bar that has not happened yet.
    A signal built on it trades on the future and its backtest is worthless.

    Example:
    ```python
    entries = pl.col("close").shift(-1) > pl.col("close")   # tomorrow's close
    ```

    Use instead:
    ```python
    entries = pl.col("close") > pl.col("close").shift(1)    # yesterday's close
    ```
    """

    code = "PIT001"
    name = "negative-shift"

    def check(self, module: Module) -> Iterator[Finding]:
        for node in ast.walk(module.tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            method = node.func.attr
            if method not in ("shift", "diff", "pct_change"):
                continue
            amount = node.args[0] if node.args else None
            for kw in node.keywords:
                if kw.arg in ("n", "periods"):
                    amount = kw.value
            value = negative_int(amount)
            if value is not None:
                yield self.finding(
                    module,
                    node.func,
                    f"{method}({value}) reads a later row: the value at each bar comes from the future",
                )

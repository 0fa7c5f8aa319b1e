"""PIT002: a call that reads ahead by name: ``.lead(...)``, or a shift by a negated variable."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ml4t.lint._core import Finding, Module, Rule
from ml4t.lint.rules import register

_SHIFTS = ("shift", "diff", "pct_change")


def _negated_variable(node: ast.AST | None) -> bool:
    """``-n``, ``-self.horizon``, ``-(h + 1)``: a minus over something that is not a literal (PIT001 has
    literals) and not itself negated (``-(-n)`` is positive)."""
    return (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub)
        and not isinstance(node.operand, ast.Constant)
        and not (isinstance(node.operand, ast.UnaryOp) and isinstance(node.operand.op, (ast.USub, ast.UAdd)))
    )


def _negative_literal(node: ast.AST) -> bool:
    return isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant)


@register
class LeadCall(Rule):
    """What it does:
    Flags ``.lead(...)`` (a window function that reads a later row, as in Spark or SQL-style APIs) and
    ``.shift(-n)`` / ``.diff(-n)`` / ``.pct_change(-n)`` where ``n`` is a variable or expression (negative
    literals are PIT001).

    Why is this bad:
    Both move later rows up: the value a bar sees belongs to a bar that has not happened yet. Writing the
    horizon as a variable (``-horizon``) hides the minus sign from a quick read, but not from the backtest,
    which trades on the future and reports a result no live strategy can reach.

    Example:
    ```python
    horizon = 5
    target = pl.col("close").shift(-horizon) / pl.col("close") - 1   # the close 5 bars from now
    entries = target > 0
    ```

    Use instead:
    ```python
    horizon = 5
    momentum = pl.col("close") / pl.col("close").shift(horizon) - 1  # the close 5 bars ago
    entries = momentum > 0
    ```
    """

    code = "PIT002"
    name = "lead-call"

    def check(self, module: Module) -> Iterator[Finding]:
        for node in ast.walk(module.tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            method = node.func.attr
            if method == "lead":
                values = [*node.args, *(kw.value for kw in node.keywords)]
                if not any(_negative_literal(v) for v in values):  # lead(-1) is a lag
                    yield self.finding(
                        module,
                        node.func,
                        f"{ast.unparse(node.func)}() reads a later row: the value at each bar comes from the future",
                    )
            elif method in _SHIFTS:
                amount = node.args[0] if node.args else None
                for kw in node.keywords:
                    if kw.arg in ("n", "periods"):
                        amount = kw.value
                if isinstance(amount, ast.UnaryOp) and _negated_variable(amount):
                    ahead = ast.unparse(amount.operand)
                    yield self.finding(
                        module,
                        node.func,
                        f"{method}({ast.unparse(amount)}) reads a later row ({ahead} bars ahead): "
                        "the value at each bar comes from the future",
                    )

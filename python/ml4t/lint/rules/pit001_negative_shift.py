"""PIT001: a negative shift reads later rows."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ml4t.lint._core import Finding, Module, Rule
from ml4t.lint.rules import register

_ROLLS = frozenset({"numpy.roll", "jax.numpy.roll", "torch.roll"})


def negated_variable(node: ast.AST | None) -> bool:
    """``-n``, ``-self.horizon``, ``-(h + 1)``: a minus over something that is not a literal (PIT001 has
    literals) and not itself negated (``-(-n)`` is positive)."""
    return (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub)
        and not isinstance(node.operand, ast.Constant)
        and not (isinstance(node.operand, ast.UnaryOp) and isinstance(node.operand.op, (ast.USub, ast.UAdd)))
    )


def shift_amount(module: Module, node: ast.Call) -> tuple[str, ast.expr] | None:
    """``(method, amount)`` of a shift-like call: ``.shift(n)`` / ``.diff(n)`` / ``.pct_change(n)`` (positional,
    ``n=`` or ``periods=``) and ``np.roll(x, n)`` (``shift=``); None for any other call or no amount."""
    if isinstance(node.func, ast.Attribute) and node.func.attr in ("shift", "diff", "pct_change"):
        amount = node.args[0] if node.args else None
        for kw in node.keywords:
            if kw.arg in ("n", "periods"):
                amount = kw.value
        return (node.func.attr, amount) if amount is not None else None
    if module.qualified(node.func) in _ROLLS:
        amount = node.args[1] if len(node.args) > 1 else None
        for kw in node.keywords:
            if kw.arg == "shift":
                amount = kw.value
        return ("roll", amount) if amount is not None else None
    return None


@register
class NegativeShift(Rule):
    """What it does:
    Flags ``.shift(n)`` with a negative ``n`` (Polars ``n=``/``periods=``, pandas ``periods=``), ``.diff(n)`` /
    ``.pct_change(n)`` with a negative ``n``, and ``np.roll(x, n)`` with a negative ``n`` (``np.roll(x, -1)[i]``
    is ``x[i + 1]``). ``n`` is a literal or anything that folds to one: a name bound once (``lead = -1``;
    ``shift(lead)``), arithmetic on such names (``n = 20``; ``shift(-n)``), a helper's parameter given a negative
    argument or default (``def lag(x, k): return x.shift(k)``; ``lag(c, -1)``). A minus written over a name
    (``shift(-n)``) is PIT002's, whatever ``n`` is. Not flagged: shifts that fold to
    zero or a positive number (``n = 1``; ``shift(n)``; ``shift(-(-1))``).

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
        for node in module.walk():
            if not isinstance(node, ast.Call):
                continue
            found = shift_amount(module, node)
            if found is None:
                continue
            method, amount = found
            value = module.integer(amount)
            if value is None or value >= 0 or negated_variable(module.value(amount)):
                continue  # a minus over a name is PIT002's
            written = ast.unparse(amount)
            spelled = "" if written == str(value) else f" ({written} is {value})"
            if method == "roll":
                yield self.finding(
                    module,
                    node.func,
                    f"{ast.unparse(node.func)}(..., {value}){spelled} moves later values back: element i is element "
                    f"i + {-value}, from the future",
                )
            else:
                yield self.finding(
                    module,
                    node.func,
                    f"{method}({value}){spelled} reads a later row: the value at each bar comes from the future",
                )

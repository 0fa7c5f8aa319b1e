"""PIT002: a call that reads ahead by name: ``.lead(...)``, or a shift by a negated variable."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ml4t.lint._core import Finding, Module, Rule
from ml4t.lint.rules import register
from ml4t.lint.rules.pit001_negative_shift import negated_variable, shift_amount


def _negative_literal(node: ast.AST) -> bool:
    return isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant)


@register
class LeadCall(Rule):
    """What it does:
    Flags ``.lead(...)`` (a window function that reads a later row, as in Spark or SQL-style APIs) and
    ``.shift(-n)`` / ``.diff(-n)`` / ``.pct_change(-n)`` / ``np.roll(x, -n)`` where ``n`` is a variable or
    expression whose value is not known statically (``-self.horizon``, a parameter); also when the minus sits
    in a name bound once (``lead = -horizon``; ``shift(lead)``) or in a helper the call goes through. Amounts that
    fold to zero or a positive number are fine (``n = -1``; ``shift(-n)`` is a lag); a negative number with no
    minus over a name is PIT001's (``lead = -1``; ``shift(lead)``).

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
        for node in module.walk():
            if not isinstance(node, ast.Call):
                continue
            method = node.func.attr if isinstance(node.func, ast.Attribute) else ""
            found = shift_amount(module, node)
            if method == "lead":
                values = [*node.args, *(kw.value for kw in node.keywords)]
                if not any(_negative_literal(v) for v in values):  # lead(-1) is a lag
                    yield self.finding(
                        module,
                        node.func,
                        f"{ast.unparse(node.func)}() reads a later row: the value at each bar comes from the future",
                    )
            elif found is not None and (module.integer(found[1]) is None or (module.integer(found[1]) or 0) < 0):
                method, amount = found
                resolved = module.value(amount)
                if isinstance(resolved, ast.UnaryOp) and negated_variable(resolved):
                    ahead = ast.unparse(resolved.operand)
                    yield self.finding(
                        module,
                        node.func,
                        f"{method}({ast.unparse(amount)}) reads a later row ({ahead} bars ahead): "
                        "the value at each bar comes from the future",
                    )

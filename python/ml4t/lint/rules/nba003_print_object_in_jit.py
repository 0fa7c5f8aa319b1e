"""NBA003: string formatting in ``print`` inside a Numba-jitted function."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ml4t.lint._core import Finding, Module, Rule
from ml4t.lint.rules import register
from ml4t.lint.rules.nba001_dataframe_in_jit import body_nodes
from ml4t.lint.rules.nba002_python_objects_in_jit import builtin_call
from ml4t.lint.rules.nba004_object_mode_fallback import nopython_jitted

FAILS = "Numba's print cannot compile it"
GARBLES = "Numba prints `<object type:float64>` for floats and arrays; pass the values as separate print arguments"


def is_string(node: ast.AST) -> bool:
    """A string literal or an f-string."""
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str))


def constant(call: ast.Call) -> bool:
    """Whether ``str(...)`` / ``repr(...)`` converts nothing or a literal."""
    return not call.args or isinstance(call.args[0], ast.Constant)


def formatting(module: Module, arg: ast.AST) -> tuple[str, str] | None:
    """The string formatting in a print argument and its consequence, the failing kinds first."""
    found: list[tuple[int, str, str]] = []
    for node in ast.walk(arg):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and is_string(node.left):
            found.append((0, "%-formatting", FAILS))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
            found.append((0, "`.format(...)`", FAILS))
        elif isinstance(node, ast.FormattedValue):
            if node.format_spec is not None or node.conversion != -1:
                found.append((0, "an f-string format spec or conversion", FAILS))
            else:
                found.append((1, "f-string interpolation", GARBLES))
        elif isinstance(node, ast.Call) and builtin_call(module, node) in ("str", "repr") and not constant(node):
            found.append((1, f"`{ast.unparse(node.func)}(...)`", GARBLES))
    return min(found)[1:] if found else None


@register
class PrintObjectInJit(Rule):
    """What it does:
    Flags ``print(...)`` inside a Numba-jitted function when an argument formats a string: ``%``-formatting,
    ``.format(...)``, f-strings with placeholders, ``str(x)`` / ``repr(x)`` of a value; and ``print`` with
    keyword arguments (``end=``, ``sep=``, ``file=``, ``flush=``). ``print(x)``, ``print("label", x, y)`` and
    constant strings are not flagged: Numba prints those itself.

    Why is this bad:
    Numba's ``print`` takes scalars, arrays and string constants only. ``%``-formatting, ``.format``,
    format specs (``{x:.2f}``, ``{x!r}``) and keyword arguments fail to compile; plain f-strings and
    ``str()`` compile but print ``<object type:float64>`` instead of the value for floats and arrays.

    Example:
    ```python
    @njit
    def run(close):
        ...
        print(f"equity {equity:.2f} at bar {i}")
    ```

    Use instead:
    ```python
    @njit
    def run(close):
        ...
        print("equity", equity, "at bar", i)
    ```
    """

    code = "NBA003"
    name = "print-object-in-jit"

    def check(self, module: Module) -> Iterator[Finding]:
        seen: set[ast.AST] = set()
        for fn in nopython_jitted(module):
            for node in body_nodes(fn):
                if node in seen or not isinstance(node, ast.Call) or builtin_call(module, node) != "print":
                    continue
                seen.add(node)
                problems = [p for p in (formatting(module, a) for a in node.args) if p]
                if node.keywords:
                    keyword = node.keywords[0].arg
                    problems.insert(0, (f"keyword argument `{keyword}=`" if keyword else "`**kwargs`", FAILS))
                failing = [p for p in problems if p[1] == FAILS]
                if problems:
                    what, why = (failing or problems)[0]
                    yield self.finding(module, node, f"print with {what} inside jitted `{fn.name}`: {why}")

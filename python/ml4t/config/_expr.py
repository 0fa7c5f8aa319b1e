"""The safe expression language of configs: a small, whitelisted subset of Python syntax compiled to Polars
expressions, never evaluated as Python.

Contract: the text is parsed with :func:`ast.parse` (``mode="eval"``: one expression, no statements) and the tree
is walked; only the nodes below are understood, and anything else is a ConfigError that names the position
(line and column, 1-based) and shows the expression with a caret under it. No Python code from the text ever
runs: no ``eval``, no ``exec``, no attribute lookup, no import. Every function reads the present and the past
only, so an expression cannot look ahead (``tests/config/test_expr.py`` checks that truncating the data never
changes an earlier value).

- **Names**: a parameter (replaced by its value) or a bar column (``pl.col``). A name that is both is refused
  (say which with ``col("name")``); an unknown name is refused with the close match when ``columns`` is given.
  Names with a leading underscore (dunders included) are refused.
- **Numbers and booleans** (``1``, ``0.5``, ``True``); strings only as the argument of ``col("a name")``.
- **Arithmetic** ``+ - * / ** %`` and unary ``-`` / ``+``; **comparisons** ``< <= > >= == !=`` (chains such as
  ``a < b < c`` mean ``a < b and b < c``); **logic** ``and``, ``or``, ``not`` (elementwise ``&``, ``|``, ``~``);
  **conditional** ``x if cond else y`` (``pl.when(cond).then(x).otherwise(y)``).
- **Functions** (:data:`FUNCTIONS`, positional arguments only; a window or lag must be an integer constant or a
  parameter holding one, a window >= 1 and a lag >= 0: a negative lag reads the future and is refused).

Polars SQL is not used on purpose: it compiles ``LEAD`` and whole-column window aggregates, which read the
future.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from ml4t.errors import ConfigError

__all__ = ["FUNCTIONS", "compile_expr"]


@dataclass(frozen=True)
class _Function:
    """A function of the language: its arity (``windows`` names which arguments are integer windows or lags, and
    their least value) and how it builds the Polars expression."""

    arguments: tuple[str, ...]
    build: Callable[..., pl.Expr]
    doc: str
    windows: Mapping[int, int] = field(default_factory=dict)
    optional: int = 0  # trailing arguments that may be left out (they have defaults in ``build``)


def _pct_change(x: pl.Expr, k: int = 1) -> pl.Expr:
    return x / x.shift(k) - 1


def _zscore(x: pl.Expr, n: int) -> pl.Expr:
    return (x - x.rolling_mean(n)) / x.rolling_std(n)


def _crossed_above(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    return (a > b) & (a.shift(1) <= b.shift(1))


def _crossed_below(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    return (a < b) & (a.shift(1) >= b.shift(1))


def _rank(x: pl.Expr) -> pl.Expr:
    return (x.rank("average") / x.count()).over("ts_event")


def _cs_zscore(x: pl.Expr) -> pl.Expr:
    return ((x - x.mean()) / x.std()).over("ts_event")


FUNCTIONS: dict[str, _Function] = {
    "sma": _Function(("x", "n"), lambda x, n: x.rolling_mean(n), "mean of the last n values", {1: 1}),
    "ema": _Function(("x", "n"), lambda x, n: x.ewm_mean(span=n, adjust=False), "exponential mean, span n", {1: 1}),
    "rolling_std": _Function(("x", "n"), lambda x, n: x.rolling_std(n), "sample std of the last n", {1: 2}),
    "rolling_min": _Function(("x", "n"), lambda x, n: x.rolling_min(n), "least of the last n values", {1: 1}),
    "rolling_max": _Function(("x", "n"), lambda x, n: x.rolling_max(n), "greatest of the last n values", {1: 1}),
    "rolling_sum": _Function(("x", "n"), lambda x, n: x.rolling_sum(n), "sum of the last n values", {1: 1}),
    "zscore": _Function(("x", "n"), _zscore, "(x - sma(x, n)) / rolling_std(x, n)", {1: 2}),
    "lag": _Function(("x", "k"), lambda x, k: x.shift(k), "the value k bars earlier (k >= 0)", {1: 0}),
    "diff": _Function(("x", "k"), lambda x, k=1: x - x.shift(k), "x - lag(x, k); k defaults to 1", {1: 1}, 1),
    "pct_change": _Function(("x", "k"), _pct_change, "x / lag(x, k) - 1; k defaults to 1", {1: 1}, 1),
    "crossed_above": _Function(("a", "b"), _crossed_above, "a > b now and a <= b one bar earlier"),
    "crossed_below": _Function(("a", "b"), _crossed_below, "a < b now and a >= b one bar earlier"),
    "rank": _Function(("x",), _rank, "cross-sectional rank in (0, 1] among the symbols at each timestamp"),
    "cs_zscore": _Function(("x",), _cs_zscore, "cross-sectional z-score among the symbols at each timestamp"),
    "abs": _Function(("x",), lambda x: x.abs(), "absolute value"),
    "log": _Function(("x",), lambda x: x.log(), "natural logarithm"),
    "exp": _Function(("x",), lambda x: x.exp(), "e to the power x"),
    "sqrt": _Function(("x",), lambda x: x.sqrt(), "square root"),
    "clip": _Function(("x", "lower", "upper"), lambda x, lo, hi: x.clip(lo, hi), "x limited to [lower, upper]"),
    "min": _Function(("a", "b"), lambda a, b: pl.min_horizontal(a, b), "the smaller of a and b, elementwise"),
    "max": _Function(("a", "b"), lambda a, b: pl.max_horizontal(a, b), "the larger of a and b, elementwise"),
    "is_null": _Function(("x",), lambda x: x.is_null(), "whether x is missing (e.g. a window's warm-up)"),
    "fill_null": _Function(("x", "value"), lambda x, v: x.fill_null(v), "x with missing values replaced"),
}
"""The functions an expression may call, by name. ``rank`` and ``cs_zscore`` compare symbols at one
timestamp (``.over("ts_event")``): they belong to a panel-scope strategy."""

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
    ast.Mod: lambda a, b: a % b,
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
}
_REFUSED = {
    ast.Attribute: "attribute access (x.y) is not part of the expression language; use its functions",
    ast.Subscript: "indexing (x[...]) is not part of the expression language; lag(x, k) reads k bars back",
    ast.Lambda: "lambda is not part of the expression language",
    ast.NamedExpr: "assignment (:=) is not part of the expression language",
    ast.JoinedStr: "f-strings are not part of the expression language",
    ast.ListComp: "comprehensions are not part of the expression language",
    ast.SetComp: "comprehensions are not part of the expression language",
    ast.DictComp: "comprehensions are not part of the expression language",
    ast.GeneratorExp: "comprehensions are not part of the expression language",
    ast.Await: "await is not part of the expression language",
    ast.Yield: "yield is not part of the expression language",
}


def compile_expr(
    text: str,
    *,
    params: Mapping[str, Any] | None = None,
    columns: Collection[str] | None = None,
    argument: str = "expression",
) -> pl.Expr:
    """The Polars expression that ``text`` means (see the module docstring for the language), with the
    parameter values ``params`` substituted. ``columns``, when given, are the bar columns a name may refer to
    (others are refused with the close match). ``argument`` names the setting or config key the text came
    from, in every error. Raises ConfigError naming the position for anything outside the language."""
    if not isinstance(text, str):
        raise ConfigError(f"an expression must be text, got {type(text).__name__}", argument=argument)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        where = _Where(text.strip(), argument)
        raise where.error(f"not a valid expression: {error.msg}", error.lineno or 1, (error.offset or 1) - 1) from None
    compiler = _Compiler(text.strip(), dict(params or {}), None if columns is None else set(columns), argument)
    return _expr(compiler.walk(tree.body))


@dataclass(frozen=True)
class _Where:
    text: str
    argument: str

    def error(self, message: str, line: int, col: int) -> ConfigError:
        lines = self.text.splitlines() or [""]
        shown = lines[min(line, len(lines)) - 1]
        caret = " " * max(col, 0) + "^"
        return ConfigError(
            f"{message} (at line {line}, column {col + 1} of the expression)\n    {shown}\n    {caret}",
            argument=self.argument,
        )


class _Compiler:
    def __init__(self, text: str, params: dict[str, Any], columns: set[str] | None, argument: str) -> None:
        self.where = _Where(text, argument)
        self.params = params
        self.columns = columns

    def fail(self, node: ast.AST, message: str) -> ConfigError:
        return self.where.error(message, getattr(node, "lineno", 1), getattr(node, "col_offset", 0))

    def walk(self, node: ast.expr) -> Any:
        """A Polars expression, or a Python number/bool for a constant (so windows stay integers)."""
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return self.binary(node)
        if isinstance(node, ast.UnaryOp):
            return self.unary(node)
        if isinstance(node, ast.BoolOp):
            values = [_expr(self.walk(v)) for v in node.values]
            out = values[0]
            for value in values[1:]:
                out = out & value if isinstance(node.op, ast.And) else out | value
            return out
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.IfExp):
            cond, then, other = (_expr(self.walk(n)) for n in (node.test, node.body, node.orelse))
            return pl.when(cond).then(then).otherwise(other)
        if isinstance(node, ast.Call):
            return self.call(node)
        for kind, why in _REFUSED.items():
            if isinstance(node, kind):
                raise self.fail(node, why)
        raise self.fail(node, f"{type(node).__name__} is not part of the expression language")

    def binary(self, node: ast.BinOp) -> Any:
        left, right = self.walk(node.left), self.walk(node.right)
        if isinstance(node.op, ast.Pow) and not isinstance(left, pl.Expr) and not isinstance(right, pl.Expr):
            left = float(left)  # constants: a float power overflows to an error, never a huge integer
        try:
            return _BINARY[type(node.op)](left, right)
        except (ZeroDivisionError, OverflowError) as error:
            raise self.fail(node, f"the constants cannot be combined: {error}") from None

    def constant(self, node: ast.Constant) -> Any:
        value = node.value
        if isinstance(value, bool | int | float):
            return value
        if isinstance(value, str):
            raise self.fail(node, 'text is allowed only as a column name: col("name")')
        raise self.fail(node, f"the constant {value!r} is not part of the expression language")

    def name(self, node: ast.Name) -> Any:
        name = node.id
        if name.startswith("_"):
            raise self.fail(node, f"names starting with '_' are refused: {name!r}")
        is_param = name in self.params
        is_column = self.columns is not None and name in self.columns
        if is_param and is_column:
            raise self.fail(node, f"{name!r} is both a parameter and a column; write col({name!r}) for the column")
        if is_param:
            value = self.params[name]
            if not isinstance(value, bool | int | float):
                raise self.fail(node, f"the parameter {name!r} must be a number or a boolean, got {value!r}")
            return value
        if name in FUNCTIONS:
            raise self.fail(node, f"{name!r} is a function: call it, e.g. {name}(...)")
        if self.columns is not None and not is_column:
            known = sorted(self.columns | set(self.params))
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise self.fail(node, f"unknown name {name!r}: not a parameter or a column{hint}")
        return pl.col(name)

    def unary(self, node: ast.UnaryOp) -> Any:
        value = self.walk(node.operand)
        if isinstance(node.op, ast.USub):
            return -value
        if isinstance(node.op, ast.UAdd):
            return value
        if isinstance(node.op, ast.Not):
            return (not value) if isinstance(value, bool) else ~_expr(value)
        raise self.fail(node, "bitwise inversion (~) is not part of the expression language; use not")

    def compare(self, node: ast.Compare) -> Any:
        out = None
        left = self.walk(node.left)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            if type(op) not in _COMPARE:
                raise self.fail(node, f"the comparison {type(op).__name__} is not part of the expression language")
            right = self.walk(right_node)
            piece = _expr(_COMPARE[type(op)](_expr(left), right))
            out = piece if out is None else out & piece
            left = right
        return out

    def call(self, node: ast.Call) -> pl.Expr:
        if not isinstance(node.func, ast.Name):
            raise self.fail(node, "only the language's functions can be called, by name (no methods)")
        name = node.func.id
        if name.startswith("_"):
            raise self.fail(node, f"names starting with '_' are refused: {name!r}")
        if node.keywords:
            raise self.fail(node, f"{name}() takes positional arguments only")
        if name == "col":
            return self.col(node)
        if name not in FUNCTIONS:
            close = difflib.get_close_matches(name, list(FUNCTIONS), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            look_ahead = name in {"lead", "peek", "future", "shift", "forward"}
            why = " (functions that read later bars do not exist here)" if look_ahead else ""
            raise self.fail(node, f"unknown function {name!r}{why}{hint}; the functions are {sorted(FUNCTIONS)}")
        fn = FUNCTIONS[name]
        n_args = len(node.args)
        if not len(fn.arguments) - fn.optional <= n_args <= len(fn.arguments):
            raise self.fail(
                node, f"{name}({', '.join(fn.arguments)}) takes {len(fn.arguments)} arguments, got {n_args}"
            )
        args = []
        for i, arg in enumerate(node.args):
            value = self.walk(arg)
            if i in fn.windows:
                value = self.window(arg, value, name, fn.arguments[i], fn.windows[i])
            args.append(value)
        return fn.build(*args)

    def col(self, node: ast.Call) -> pl.Expr:
        if len(node.args) != 1 or not isinstance(node.args[0], ast.Constant) or not isinstance(node.args[0].value, str):
            raise self.fail(node, 'col() takes one column name in quotes: col("adj close")')
        name = node.args[0].value
        if self.columns is not None and name not in self.columns:
            close = difflib.get_close_matches(name, sorted(self.columns), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise self.fail(node, f"unknown column {name!r}{hint}")
        return pl.col(name)

    def window(self, node: ast.expr, value: Any, fn: str, arg: str, least: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
            raise self.fail(node, f"{fn}(): {arg} must be a whole number (a constant or a parameter), got {value!r}")
        k = int(value)
        if k < least:
            if arg == "k" and fn == "lag":
                raise self.fail(node, f"lag(): k must be >= 0, got {k}: a negative lag reads the future")
            raise self.fail(node, f"{fn}(): {arg} must be >= {least}, got {k}")
        return k


def _expr(value: Any) -> pl.Expr:
    return value if isinstance(value, pl.Expr) else pl.lit(value)

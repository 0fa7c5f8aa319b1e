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
  parameter holding one, a window >= 1 and a lag >= 0: a negative lag reads the future and is refused). Each has
  a :data:`Kind` (listed by kind in :data:`FUNCTIONS`'s docstring): *time-series* functions read earlier rows
  of the same symbol, *cross-sectional* ones the other symbols at the same timestamp, *elementwise* ones the row
  only. The series a time-series or cross-sectional function reads must read a column (``sma(5, 3)`` is
  refused); a crossing may compare with a constant level (``crossed_above(close, 100)``).
- **Scope** (``scope="symbol"`` or ``"panel"``, the evaluating strategy's ``VectorizedSettings.scope``) decides
  the windows: see :func:`compile_expr`.

Polars SQL is not used on purpose: it compiles ``LEAD`` and whole-column window aggregates, which read the
future.
"""

from __future__ import annotations

import ast
import difflib
import functools
import inspect
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import polars as pl

from ml4t._validate import check_choice
from ml4t.errors import ConfigError
from ml4t.settings import Scope

__all__ = ["FUNCTIONS", "compile_expr"]


Kind = Literal["time-series", "cross-sectional", "elementwise"]
"""What a function reads: earlier rows of the same symbol (``time-series``), the other symbols at the same
timestamp (``cross-sectional``), or only the row itself (``elementwise``)."""

_OVER: dict[tuple[str, Kind], str] = {("panel", "time-series"): "symbol", ("panel", "cross-sectional"): "ts_event"}
"""The window a function's expression is evaluated over, by scope and kind (none: as written). In the symbol
scope the frame is one symbol's bars in time order, so a time series needs no window."""


@dataclass(frozen=True)
class _Function:
    """A function of the language: its name and arguments (``windows`` names which arguments are integer
    windows or lags, and their least value; ``optional`` how many trailing ones have defaults in ``build``),
    its :data:`Kind`, and how it builds the Polars expression of one series (the scope adds the window)."""

    name: str
    arguments: tuple[str, ...]
    kind: Kind
    build: Callable[..., pl.Expr]
    doc: str
    windows: Mapping[int, int] = field(default_factory=dict)
    optional: int = 0

    @property
    def signature(self) -> str:
        """How it is called, defaults shown: ``"sma(x, n)"``, ``"diff(x, k=1)"``."""
        defaults = inspect.signature(self.build).parameters
        shown = [
            f"{arg}={defaults[p].default!r}" if i >= len(self.arguments) - self.optional else arg
            for i, (arg, p) in enumerate(zip(self.arguments, defaults, strict=True))
        ]
        return f"{self.name}({', '.join(shown)})"


def _lag(x: Any, k: int) -> Any:
    """``x`` k rows earlier; a constant (a number, or an expression that reads no column) is itself."""
    return x.shift(k) if _reads_column(x) else x


def _pct_change(x: pl.Expr, k: int = 1) -> pl.Expr:
    return x / x.shift(k) - 1


def _diff(x: pl.Expr, k: int = 1) -> pl.Expr:
    return x - x.shift(k)


def _zscore(x: pl.Expr, n: int) -> pl.Expr:
    return (x - x.rolling_mean(n)) / x.rolling_std(n)


def _crossed_above(a: Any, b: Any) -> pl.Expr:
    return _expr((a > b) & (_lag(a, 1) <= _lag(b, 1)))


def _crossed_below(a: Any, b: Any) -> pl.Expr:
    return _expr((a < b) & (_lag(a, 1) >= _lag(b, 1)))


def _rank(x: pl.Expr) -> pl.Expr:
    return x.rank("average") / x.count()


def _cs_zscore(x: pl.Expr) -> pl.Expr:
    return (x - x.mean()) / x.std()


_TS: Kind = "time-series"
_CS: Kind = "cross-sectional"
_EW: Kind = "elementwise"
FUNCTIONS: dict[str, _Function] = {
    f.name: f
    for f in (
        _Function("sma", ("x", "n"), _TS, lambda x, n: x.rolling_mean(n), "mean of the last n values", {1: 1}),
        _Function(
            "ema", ("x", "n"), _TS, lambda x, n: x.ewm_mean(span=n, adjust=False), "exponential mean, span n", {1: 1}
        ),
        _Function("rolling_std", ("x", "n"), _TS, lambda x, n: x.rolling_std(n), "sample std of the last n", {1: 2}),
        _Function("rolling_min", ("x", "n"), _TS, lambda x, n: x.rolling_min(n), "least of the last n values", {1: 1}),
        _Function(
            "rolling_max", ("x", "n"), _TS, lambda x, n: x.rolling_max(n), "greatest of the last n values", {1: 1}
        ),
        _Function("rolling_sum", ("x", "n"), _TS, lambda x, n: x.rolling_sum(n), "sum of the last n values", {1: 1}),
        _Function("zscore", ("x", "n"), _TS, _zscore, "(x - sma(x, n)) / rolling_std(x, n)", {1: 2}),
        _Function("lag", ("x", "k"), _TS, lambda x, k: x.shift(k), "the value k bars earlier (k >= 0)", {1: 0}),
        _Function("diff", ("x", "k"), _TS, _diff, "x - lag(x, k)", {1: 1}, 1),
        _Function("pct_change", ("x", "k"), _TS, _pct_change, "x / lag(x, k) - 1", {1: 1}, 1),
        _Function("crossed_above", ("a", "b"), _TS, _crossed_above, "a > b now and a <= b one bar earlier"),
        _Function("crossed_below", ("a", "b"), _TS, _crossed_below, "a < b now and a >= b one bar earlier"),
        _Function("rank", ("x",), _CS, _rank, "rank in (0, 1] among the symbols at the timestamp (ties averaged)"),
        _Function("cs_zscore", ("x",), _CS, _cs_zscore, "(x - mean) / sample std among the symbols at the timestamp"),
        _Function("abs", ("x",), _EW, lambda x: x.abs(), "absolute value"),
        _Function("log", ("x",), _EW, lambda x: x.log(), "natural logarithm"),
        _Function("exp", ("x",), _EW, lambda x: x.exp(), "e to the power x"),
        _Function("sqrt", ("x",), _EW, lambda x: x.sqrt(), "square root"),
        _Function(
            "clip", ("x", "lower", "upper"), _EW, lambda x, lo, hi: x.clip(lo, hi), "x limited to [lower, upper]"
        ),
        _Function("min", ("a", "b"), _EW, lambda a, b: pl.min_horizontal(a, b), "the smaller of a and b"),
        _Function("max", ("a", "b"), _EW, lambda a, b: pl.max_horizontal(a, b), "the larger of a and b"),
        _Function("is_null", ("x",), _EW, lambda x: x.is_null(), "whether x is missing (e.g. a window's warm-up)"),
        _Function("fill_null", ("x", "value"), _EW, lambda x, v: x.fill_null(v), "x with missing values replaced"),
    )
}
"""The functions an expression may call, by name, each with its :data:`Kind` and ``signature``:

- *time-series*, earlier rows of the same symbol (per symbol, ``.over("symbol")``, in the panel scope):
  ``sma(x, n)``, ``ema(x, n)``, ``rolling_std(x, n)``, ``rolling_min(x, n)``, ``rolling_max(x, n)``,
  ``rolling_sum(x, n)``, ``zscore(x, n)``, ``lag(x, k)``, ``diff(x, k=1)``, ``pct_change(x, k=1)``,
  ``crossed_above(a, b)``, ``crossed_below(a, b)``;
- *cross-sectional*, the symbols at the same timestamp (``.over("ts_event")``; the panel scope only):
  ``rank(x)``, ``cs_zscore(x)``;
- *elementwise*, the row only: ``abs(x)``, ``log(x)``, ``exp(x)``, ``sqrt(x)``, ``clip(x, lower, upper)``,
  ``min(a, b)``, ``max(a, b)``, ``is_null(x)``, ``fill_null(x, value)``.
"""

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
    scope: Scope = "symbol",
) -> pl.Expr:
    """The Polars expression that ``text`` means (see the module docstring for the language), with the
    parameter values ``params`` substituted. ``columns``, when given, are the bar columns a name may refer to
    (others are refused with the close match). ``argument`` names the setting or config key the text came
    from, in every error. Raises ConfigError naming the position for anything outside the language, and
    naming ``scope`` for a scope that is neither of the two.

    ``scope`` is the scope of the ``VectorizedStrategy`` that will evaluate the expression
    (``VectorizedSettings.scope``):

    - ``"symbol"`` (default): one symbol's bars at a time, in time order. Time-series functions are written
      as is; cross-sectional ones (``rank``, ``cs_zscore``) are refused, pointing to the panel scope: a symbol
      alone has no cross-section.
    - ``"panel"``: the long frame of all symbols in (``ts_event``, ``symbol``) order. Each time-series function
      is evaluated per symbol (``.over("symbol")``), each cross-sectional one per timestamp
      (``.over("ts_event")``): the same text gives each symbol the same series in both scopes.

    Nesting in the panel scope (``rank(pct_change(close, 21))``, ``sma(rank(x), 5)``) puts a window inside a
    window. Polars alone evaluates the inner one within the outer one's groups (inside one timestamp each
    symbol has one row: the inner moving average would be null, the inner rank 1). A panel-scope
    ``VectorizedStrategy`` computes every nested window on the whole panel first (``ml4t._kernel.panel_scope``),
    which is what the text means: the time series per symbol, then the cross-section of its values per
    timestamp, or the reverse (``tests/config/test_expr.py`` checks it against plain Python). So evaluate a
    panel-scope expression with a panel-scope strategy, not with a bare ``frame.select``.
    """
    check_choice("scope", scope, get_args(Scope))
    if not isinstance(text, str):
        raise ConfigError(f"an expression must be text, got {type(text).__name__}", argument=argument)
    try:
        tree = _parse(text.strip())
    except SyntaxError as error:
        where = _Where(text.strip(), argument)
        raise where.error(f"not a valid expression: {error.msg}", error.lineno or 1, (error.offset or 1) - 1) from None
    compiler = _Compiler(text.strip(), dict(params or {}), None if columns is None else set(columns), argument, scope)
    return _expr(compiler.walk(tree.body))


@functools.lru_cache(maxsize=1024)
def _parse(text: str) -> ast.Expression:
    """The tree of ``text``, parsed once: a sweep compiles the same rule once per combination, and the walk only
    reads the tree."""
    return ast.parse(text, mode="eval")


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
    def __init__(
        self, text: str, params: dict[str, Any], columns: set[str] | None, argument: str, scope: Scope
    ) -> None:
        self.where = _Where(text, argument)
        self.params = params
        self.columns = columns
        self.scope = scope

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
        if isinstance(node.func, ast.Attribute):
            method = node.func.attr
            hint = " (shift reads other bars: lag(x, k) with k >= 0 reads earlier ones)" if method == "shift" else ""
            raise self.fail(
                node, f"methods (.{method}(...)) are not part of the expression language; call its functions{hint}"
            )
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
        if fn.kind == "cross-sectional" and self.scope == "symbol":
            raise self.fail(
                node,
                f"{name}() compares the symbols at one timestamp, but the symbol scope evaluates each symbol's bars "
                'alone; it needs the panel scope (settings.scope = "panel")',
            )
        n_args = len(node.args)
        if not len(fn.arguments) - fn.optional <= n_args <= len(fn.arguments):
            raise self.fail(node, f"{fn.signature} takes {len(fn.arguments)} arguments, got {n_args}")
        args = []
        for i, arg in enumerate(node.args):
            value = self.walk(arg)
            if i in fn.windows:
                value = self.window(arg, value, name, fn.arguments[i], fn.windows[i])
            elif fn.kind == "elementwise":
                value = _expr(value)
            args.append(value)
        series = [i for i in range(n_args) if i not in fn.windows]
        if fn.kind != "elementwise" and not any(_reads_column(args[i]) for i in series):
            what = " or ".join(fn.arguments[i] for i in series)
            raise self.fail(
                node,
                f"{name}() is {fn.kind}: {what} must read a column (a constant has no history or cross-section)",
            )
        expr = _expr(fn.build(*args))
        over = _OVER.get((self.scope, fn.kind))
        return expr if over is None else expr.over(over)

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
        if isinstance(node, ast.Name) and isinstance(value, pl.Expr):
            close = difflib.get_close_matches(node.id, sorted(self.params), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise self.fail(
                node, f"{fn}(): {arg} must be a whole number, and {node.id!r} is not a parameter (a column?){hint}"
            )
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


def _reads_column(value: Any) -> bool:
    """Whether ``value`` varies with the rows: an expression that reads a column (not a number, not a literal)."""
    return isinstance(value, pl.Expr) and bool(value.meta.root_names())

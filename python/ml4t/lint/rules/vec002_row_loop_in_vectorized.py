"""VEC002: a vectorized signal function loops over rows in Python."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

from ml4t.lint._core import Finding, Module, Rule
from ml4t.lint.rules import register
from ml4t.lint.rules.vec001_portfolio_state_in_vectorized import signal_nodes, text

_ROW_ITERATORS = frozenset({"iter_rows", "iterrows", "itertuples", "rows"})
_TO_PYTHON = frozenset({"to_list", "to_numpy"})
_UDF_CALLS = frozenset({"apply", "map_elements"})
_LITERALS = (ast.List, ast.Tuple, ast.Set, ast.Dict)
_BAR_COLUMNS = frozenset({"open", "high", "low", "close", "volume"})
_HINT = "express the rule with Polars expressions, or a Numba function over arrays via map_batches"


@dataclass(frozen=True)
class _Names:
    """What a signal function's names are bound to: literal collections, Polars / pandas frames, its parameters."""

    module: Module
    literals: set[str]
    frames: set[str]
    params: set[str]

    @classmethod
    def of(cls, module: Module, scope: ast.AST) -> _Names:
        names = cls(module, set(), set(), set())
        for stmt in [*module.tree.body, *ast.walk(scope)]:
            if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None:
                targets = {
                    t.id
                    for t in (stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target])
                    if isinstance(t, ast.Name)
                }
                if isinstance(stmt.value, _LITERALS):
                    names.literals.update(targets)
                elif names.frame(stmt.value):
                    names.frames.update(targets)
        if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            names.params.update(a.arg for a in ast.walk(scope.args) if isinstance(a, ast.arg))
        return names

    def literal(self, node: ast.AST) -> bool:
        return isinstance(node, _LITERALS) or (isinstance(node, ast.Name) and node.id in self.literals)

    def frame(self, node: ast.AST) -> bool:
        """Whether ``node`` is built from Polars / pandas or a known frame: ``pl.read_parquet(p)``,
        ``prices.filter(...)``."""
        root = _root(self.module, node) or ""
        return root.startswith(("polars.", "pandas.")) or root.split(".")[0] in self.frames


def _root(module: Module, node: ast.AST) -> str | None:
    """The dotted name a call chain starts from: ``pl.read_parquet(p).filter(...)`` -> ``polars.read_parquet``."""
    while isinstance(node, (ast.Call, ast.Attribute, ast.Subscript)):
        if isinstance(node, ast.Attribute) and (name := module.qualified(node)) is not None:
            return name
        node = node.func if isinstance(node, ast.Call) else node.value
    return module.qualified(node)


def _column(node: ast.AST, names: _Names) -> bool | None:
    """For ``x["key"]``: whether it is a column (a bar column of anything but a literal, any column of a frame);
    None when ``node`` is not a string subscript. ``params["windows"]`` or ``config["keys"]`` is not."""
    if not (isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant)):
        return None
    if not isinstance(node.slice.value, str):
        return None
    if node.slice.value in _BAR_COLUMNS:
        return not names.literal(node.value)
    return names.frame(node.value)


def _counts_rows(node: ast.AST, names: _Names) -> bool:
    """Whether a ``range`` argument counts rows: ``.height``, ``.shape``, ``.len()``, or ``len(x)`` where x is
    not a literal, a (scalar) parameter of the signal function, nor a non-column ``x["key"]``."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Attribute) and sub.attr in ("height", "shape"):
            return True
        if not isinstance(sub, ast.Call):
            continue
        if isinstance(sub.func, ast.Attribute) and sub.func.attr == "len" and not sub.args:
            return True
        if isinstance(sub.func, ast.Name) and sub.func.id == "len" and len(sub.args) == 1:
            (arg,) = sub.args
            column = _column(arg, names)
            if column is not None:
                if column:
                    return True
            elif not (names.literal(arg) or (isinstance(arg, ast.Name) and arg.id in names.params)):
                return True
    return False


def _over_rows(module: Module, node: ast.AST, names: _Names) -> bool:
    """Whether iterating ``node`` walks the rows of a frame or the values of a column."""
    if isinstance(node, ast.Call):
        name = module.qualified(node.func)
        if name == "range":
            return any(_counts_rows(a, names) for a in node.args)
        if name in ("zip", "enumerate", "reversed"):
            return any(_over_rows(module, a, names) for a in node.args)
        if isinstance(node.func, ast.Attribute):
            return node.func.attr in _ROW_ITERATORS or (node.func.attr in _TO_PYTHON and not node.args)
    return bool(_column(node, names))


@register
class RowLoopInVectorized(Rule):
    """What it does:
    Flags Python row loops in a ``VectorizedStrategy`` signal function (or a closure inside one): a ``for`` loop or
    comprehension over ``range(len(frame))`` / ``range(frame.height)``, ``.iter_rows()``, ``.iterrows()``,
    ``.itertuples()``, ``.rows()``, or a column (``df["close"]``, ``prices["score"]`` of a Polars / pandas frame,
    ``series.to_list()``); any ``while`` loop; and per-element Python functions ``.apply(...)`` /
    ``.map_elements(...)``. Not flagged: loops over literal parameter lists (``for w in (5, 10, 20):``), over a
    config entry (``params["windows"]``) or the function's own parameters, ``pl.col("close").map_batches(fn)``,
    ``.apply(..., engine="numba")``, and loops inside a Numba ``@njit`` function.

    Why is this bad:
    The Python code runs once per bar: orders of magnitude slower than a Polars expression, which matters when a
    sweep evaluates thousands of parameter combinations. Indexing rows by hand also makes it easy to read row
    ``i + 1`` while deciding at row ``i``, a look-ahead that expressions with ``shift`` make explicit.

    Example:
    ```python
    def breakout(n):
        def rule(close):
            return pl.Series([close[i] > close[i - n : i].max() for i in range(n, len(close))])
        return {"entries": pl.col("close").map_batches(rule)}
    ```

    Use instead:
    ```python
    def breakout(n):
        return {"entries": pl.col("close") > pl.col("close").rolling_max(n).shift(1)}
    # or a path-dependent rule as a Numba function over arrays:
    # pl.col("close").map_batches(lambda s: pl.Series(numba_rule(s.to_numpy(), n)))
    ```
    """

    code = "VEC002"
    name = "row-loop-in-vectorized"

    def check(self, module: Module) -> Iterator[Finding]:
        known: dict[int, _Names] = {}
        for fn, scope, node in signal_nodes(module):
            if id(scope) not in known:
                known[id(scope)] = _Names.of(module, scope)
            names = known[id(scope)]
            if isinstance(node, (ast.For, ast.AsyncFor)) and _over_rows(module, node.iter, names):
                yield self.finding(module, node, self._loop(node.iter, fn))
            elif isinstance(node, ast.comprehension) and _over_rows(module, node.iter, names):
                yield self.finding(module, node.iter, self._loop(node.iter, fn))
            elif isinstance(node, ast.While):
                yield self.finding(
                    module,
                    node,
                    f"a while loop in signal function {fn}() runs Python bar by bar: slow, and easy to read a "
                    f"later row; {_HINT}",
                )
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _UDF_CALLS:
                if any(kw.arg == "engine" and ast.unparse(kw.value) == "'numba'" for kw in node.keywords):
                    continue  # pandas' rolling(...).apply(fn, engine="numba") compiles fn
                yield self.finding(
                    module,
                    node.func,
                    f".{node.func.attr}() in signal function {fn}() calls a Python function once per element: slow "
                    f"in a sweep; {_HINT}",
                )

    @staticmethod
    def _loop(iterable: ast.AST, fn: str) -> str:
        return (
            f"looping over {text(iterable)} in signal function {fn}() runs Python once per bar: slow, and "
            f"per-row code makes it easy to read a later row; {_HINT}"
        )

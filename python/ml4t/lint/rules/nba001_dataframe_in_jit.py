"""NBA001: pandas or polars inside a Numba-jitted function."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ml4t.lint._core import Finding, Module, Rule
from ml4t.lint.rules import register
from ml4t.lint.rules.nba004_object_mode_fallback import nopython_jitted

INDEXERS = frozenset({"iloc", "loc", "iat"})
"""DataFrame indexers, flagged when subscripted (``df.iloc[0]``)."""
FRAME_METHODS = frozenset({"iterrows", "itertuples", "to_pandas", "with_columns"})
"""DataFrame methods, flagged when called (``df.iterrows()``)."""


def frame_library(module: Module, node: ast.AST) -> str | None:
    """``pandas`` / ``polars`` when ``node`` is a name or attribute chain into that library, else None."""
    if not isinstance(node, (ast.Name, ast.Attribute)):
        return None
    parts = (module.qualified(node) or "").split(".")
    if len(parts) < 2 or parts[0] not in ("pandas", "polars") or "_numba" in parts:
        return None  # pandas.core._numba holds pandas' own Numba kernels, which jitted code may call
    return parts[0]


def body_nodes(fn: ast.FunctionDef) -> Iterator[ast.AST]:
    """Every node of ``fn``'s body (not its decorators, annotations or defaults)."""
    for statement in fn.body:
        yield from ast.walk(statement)


@register
class DataFrameInJit(Rule):
    """What it does:
    Flags pandas and polars inside a function decorated with Numba's ``@njit`` / ``@jit``: any name or
    attribute that resolves into ``pandas.`` or ``polars.`` (``pd.Series(...)``, ``pl.col(...)``), and the
    DataFrame idioms ``.iloc[...]``, ``.loc[...]``, ``.iat[...]``, ``.iterrows()``, ``.itertuples()``,
    ``.to_pandas()``, ``.with_columns(...)`` on any object. Functions in explicit object mode
    (``@jit(forceobj=True)``, see NBA004) are skipped.

    Why is this bad:
    Numba's nopython mode compiles NumPy arrays and scalars, not DataFrames or Series: the function fails
    with a ``TypingError`` the first time it is called, usually deep inside a backtest.

    Example:
    ```python
    @njit
    def trailing_stop(df, pct):
        peak = df["close"].iloc[0]
        ...
    ```

    Use instead:
    ```python
    @njit
    def trailing_stop(close, pct):        # called as trailing_stop(df["close"].to_numpy(), 0.05)
        peak = close[0]
        ...
    ```
    """

    code = "NBA001"
    name = "dataframe-in-jit"

    def check(self, module: Module) -> Iterator[Finding]:
        seen: set[ast.AST] = set()
        for fn in nopython_jitted(module):
            for node in body_nodes(fn):
                if node in seen:
                    continue
                seen.add(node)
                message = self._problem(module, node)
                if message:
                    yield self.finding(
                        module,
                        node,
                        f"{message} inside jitted `{fn.name}`: Numba's nopython mode cannot compile pandas or polars "
                        "objects, so it fails when first called; pass NumPy arrays in",
                    )

    @staticmethod
    def _problem(module: Module, node: ast.AST) -> str | None:
        parent = module.parents.get(node)
        library = frame_library(module, node)
        if library:
            if isinstance(parent, ast.Attribute) and frame_library(module, parent):
                return None  # the longer chain is reported
            called = "(...)" if isinstance(parent, ast.Call) and parent.func is node else ""
            return f"{library} `{ast.unparse(node)}{called}`"
        if not isinstance(node, ast.Attribute):
            return None
        if any(frame_library(module, inner) for inner in ast.walk(node.value)):
            return None  # the pandas/polars name in the receiver is reported
        if node.attr in INDEXERS and isinstance(parent, ast.Subscript) and parent.value is node:
            return f"DataFrame indexer `.{node.attr}[...]`"
        if node.attr in FRAME_METHODS and isinstance(parent, ast.Call) and parent.func is node:
            return f"DataFrame method `.{node.attr}()`"
        return None

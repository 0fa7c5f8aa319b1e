"""NBA002: Python-object patterns inside a Numba-jitted function."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ml4t.lint._core import Finding, Module, Rule
from ml4t.lint.rules import register
from ml4t.lint.rules.nba001_dataframe_in_jit import body_nodes
from ml4t.lint.rules.nba004_object_mode_fallback import nopython_jitted

OBJECT_BUILTINS = frozenset({"setattr", "delattr", "vars", "globals", "locals", "open", "eval", "exec", "compile"})
"""Builtins that need the Python interpreter's objects: Numba's nopython mode has no implementation."""


def is_list(node: ast.AST | None) -> bool:
    """A list display, list comprehension or ``list(...)`` call."""
    if isinstance(node, (ast.List, ast.ListComp)):
        return True
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "list"


def base_id(node: ast.AST) -> str | None:
    """The identifier of a bare name, else None."""
    return node.id if isinstance(node, ast.Name) else None


def builtin_call(module: Module, node: ast.AST) -> str | None:
    """The builtin a call invokes by bare name (not shadowed by an import or a function of the file)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        name = node.func.id
        if name not in module.aliases and name not in module.functions:
            return name
    return None


def plain_classes(module: Module) -> set[str]:
    """Classes defined in the file that Numba cannot type: neither ``jitclass``es nor passed to a Numba
    registration (``as_numba_type.register(Cls, ...)``, ``@typeof_impl.register(Cls)``)."""
    registered = {
        arg.id
        for node in ast.walk(module.tree)
        if isinstance(node, ast.Call) and (module.qualified(node.func) or "").startswith("numba.")
        for arg in node.args
        if isinstance(arg, ast.Name)
    }
    return {
        c.name
        for c in ast.walk(module.tree)
        if isinstance(c, ast.ClassDef)
        and c.name not in registered
        and not any(
            (module.qualified(d.func if isinstance(d, ast.Call) else d) or "").endswith("jitclass")
            for d in c.decorator_list
        )
    }


@register
class PythonObjectsInJit(Rule):
    """What it does:
    Flags, inside a Numba-jitted function: dicts of Python lists (``{"a": []}``, ``{k: [...] for ...}``, and
    ``d[k] = [...]`` into a dict made by ``{}`` / ``dict()``); ``dict(key=...)`` with keyword arguments; the
    builtins ``setattr``, ``delattr``, ``vars``, ``globals``, ``locals``, ``open``, ``eval``, ``exec`` and
    ``compile``; ``getattr`` with a computed attribute name; ``isinstance`` against ``np.ndarray`` or a plain
    (non-``jitclass``) class of the file; and ``type(x)`` outside a comparison.

    Deliberately not flagged, because Numba 0.61+ compiles them: ``{}``, ``dict()``, dicts of scalars or
    arrays, ``dict(zip(...))``, sets of scalars, ``getattr(x, "literal")``, ``hasattr``, ``isinstance``
    against builtin or NumPy scalar types, and ``type(x) is float``.

    Why is this bad:
    Numba's nopython mode only compiles values with a fixed native type. A dict value cannot be a Python
    (reflected) list, and attribute access, namespaces, files and code evaluation need the interpreter: the
    function fails with a ``TypingError`` when it is first called.

    Example:
    ```python
    @njit
    def group_returns(symbols, returns):
        out = {s: [] for s in symbols}
        ...
    ```

    Use instead:
    ```python
    from numba import types
    from numba.typed import Dict, List

    @njit
    def group_returns(symbols, returns):
        out = Dict.empty(key_type=types.int64, value_type=types.ListType(types.float64))
        ...
    ```
    """

    code = "NBA002"
    name = "python-objects-in-jit"

    def check(self, module: Module) -> Iterator[Finding]:
        seen: set[ast.AST] = set()
        classes = plain_classes(module)
        for fn in nopython_jitted(module):
            dicts = self._dict_names(module, fn)
            for node in body_nodes(fn):
                if node in seen:
                    continue
                seen.add(node)
                problem = self._problem(module, node, dicts, classes)
                if problem:
                    yield self.finding(module, node, f"{problem[0]} inside jitted `{fn.name}`: {problem[1]}")

    @staticmethod
    def _dict_names(module: Module, fn: ast.FunctionDef) -> set[str]:
        """Names the function binds to ``{}`` / ``dict(...)``."""
        return {
            target.id
            for node in body_nodes(fn)
            if isinstance(node, ast.Assign)
            and (isinstance(node.value, ast.Dict) or builtin_call(module, node.value) == "dict")
            for target in node.targets
            if isinstance(target, ast.Name)
        }

    def _problem(self, module: Module, node: ast.AST, dicts: set[str], classes: set[str]) -> tuple[str, str] | None:
        """What is wrong with ``node`` and why, or None."""
        lists = (
            "a dict of Python lists",
            "Numba cannot type reflected lists as dict values; use typed.Dict/typed.List",
        )
        if isinstance(node, ast.Dict) and any(is_list(v) for v in node.values):
            return lists
        if isinstance(node, ast.DictComp) and is_list(node.value):
            return lists
        if isinstance(node, ast.Assign) and is_list(node.value):
            for target in node.targets:
                if isinstance(target, ast.Subscript) and base_id(target.value) in dicts:
                    return lists
        name = builtin_call(module, node)
        if name is None or not isinstance(node, ast.Call):
            return None
        if name == "dict" and node.keywords:
            return "`dict(key=...)`", "Numba's dict() takes no keyword arguments; use a {...} display"
        if name in OBJECT_BUILTINS:
            return f"`{name}()`", "it needs the Python interpreter, which Numba's nopython mode cannot compile"
        if name == "getattr" and len(node.args) > 1 and not isinstance(node.args[1], ast.Constant):
            return "`getattr` with a computed name", "Numba resolves attributes when compiling: only a literal works"
        if name == "isinstance" and len(node.args) == 2:
            kinds = node.args[1].elts if isinstance(node.args[1], ast.Tuple) else [node.args[1]]
            for kind in kinds:
                if module.qualified(kind) == "numpy.ndarray" or base_id(kind) in classes:
                    return f"`isinstance(..., {ast.unparse(kind)})`", "Numba cannot type that class in nopython mode"
        if name == "type" and not isinstance(module.parents.get(node), ast.Compare):
            return "`type(...)` used as a value", "Numba can only compare it (`type(x) is float`), not keep it"
        return None

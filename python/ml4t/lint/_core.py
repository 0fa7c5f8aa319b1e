"""The linter's machinery: findings, the rule base class, the parsed module every rule reads, suppressions.

A rule is a class with a ``code`` (a family prefix and three digits: ``PIT001``), a short ``name``, and a
``check(module)`` generator of :class:`Finding`. Its docstring has four sections (What it does, Why is this
bad, Example, Use instead) from which the rule reference is generated. Rules never import or execute the
code they read: everything comes from Python's ``ast``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

from ml4t.lint._resolve import Origin, Resolution

__all__ = ["HOOKS", "Finding", "Module", "Rule"]

HOOKS = frozenset({"on_start", "on_event", "on_bar", "on_signal", "on_fill", "on_timer", "on_end"})
"""The event-driven ``Strategy`` hooks."""

_SUPPRESS = re.compile(r"#\s*ml4t:\s*ignore(?:\[(?P<codes>[A-Za-z0-9_,\s]*)\])?")


@dataclass(frozen=True, order=True)
class Finding:
    """One problem: where (1-based line, 1-based column), which rule, and what to do about it."""

    path: str
    line: int
    col: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.code} {self.message}"

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "line": self.line, "col": self.col, "code": self.code, "message": self.message}


class Rule:
    """Base of every rule; subclasses set ``code`` and ``name`` and implement :meth:`check`."""

    code: ClassVar[str]
    name: ClassVar[str]

    def check(self, module: Module) -> Iterator[Finding]:
        raise NotImplementedError

    def finding(self, module: Module, node: ast.AST, message: str) -> Finding:
        """A finding at ``node``. On a helper call's expansion (see :mod:`ml4t.lint._resolve`) it is placed at
        the call and names the helper."""
        line = getattr(node, "lineno", 1)
        col = getattr(node, "col_offset", 0) + 1
        origin = module.origin(node)
        if origin is not None:
            message += f" (in helper {' -> '.join(f'{name}()' for name in origin.chain)}, called here)"
        found = Finding(module.path, line, col, self.code, message)
        if origin is not None:
            module.derived[found] = origin
        return found


class Module(Resolution):
    """A parsed source file and what rules ask of it: parents, import aliases, strategy hooks, signal
    functions and jitted functions, and (from :class:`~ml4t.lint._resolve.Resolution`) what names bound once
    stand for and what helper calls compute (:meth:`walk` visits those expansions)."""

    def __init__(self, source: str, path: str = "<string>", *, scope: str = "symbol") -> None:
        self.source = source
        self.path = path
        self.scope = scope
        """How the module's signal functions are evaluated when a run says so (``VectorizedStrategy``'s
        ``scope``): ``"panel"`` makes the panel-scope rules read every function; ``"symbol"`` (default) lets
        them find the panel-scope functions from the module's own ``VectorizedStrategy(..., scope="panel")``."""
        self.tree = ast.parse(source, filename=path)
        self.lines = source.splitlines()
        self.parents: dict[ast.AST, ast.AST] = {}
        for parent in ast.walk(self.tree):
            for child in ast.iter_child_nodes(parent):
                self.parents[child] = parent

    # ------------------------------------------------------------------------------------------- names
    @cached_property
    def aliases(self) -> dict[str, str]:
        """Local name -> the dotted name it was imported as (``np`` -> ``numpy``, ``njit`` -> ``numba.njit``)."""
        out: dict[str, str] = {}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    out[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module:
                for a in node.names:
                    out[a.asname or a.name] = f"{node.module}.{a.name}"
        return out

    def qualified(self, node: ast.AST) -> str | None:
        """The dotted name an expression refers to, with import aliases resolved (``np.random.rand`` ->
        ``numpy.random.rand``); None for anything that is not a plain name or attribute chain."""
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        parts.append(self.aliases.get(node.id, node.id))
        return ".".join(reversed(parts))

    def enclosing(self, node: ast.AST, kind: type[ast.AST] | tuple[type[ast.AST], ...]) -> ast.AST | None:
        """The nearest ancestor of ``node`` of ``kind``."""
        current = self.parents.get(node)
        while current is not None and not isinstance(current, kind):
            current = self.parents.get(current)
        return current

    # --------------------------------------------------------------------------------------- functions
    @cached_property
    def strategy_classes(self) -> list[ast.ClassDef]:
        """Classes deriving from a base whose name ends in ``Strategy`` but is not ``VectorizedStrategy``."""
        out = []
        for node in ast.walk(self.tree):
            if isinstance(node, ast.ClassDef):
                for base in node.bases:
                    name = self.qualified(base) or ""
                    tail = name.rsplit(".", 1)[-1]
                    if tail.endswith("Strategy") and tail != "VectorizedStrategy":
                        out.append(node)
                        break
        return out

    @cached_property
    def hooks(self) -> list[ast.FunctionDef]:
        """The event-driven hooks (``on_bar``...) of the module's strategy classes."""
        return [
            item
            for cls in self.strategy_classes
            for item in cls.body
            if isinstance(item, ast.FunctionDef) and item.name in HOOKS
        ]

    @cached_property
    def functions(self) -> dict[str, ast.FunctionDef]:
        """Module-level and nested function definitions by name (the last definition wins)."""
        return {n.name: n for n in ast.walk(self.tree) if isinstance(n, ast.FunctionDef)}

    @cached_property
    def signal_functions(self) -> list[ast.FunctionDef]:
        """Functions used as a ``VectorizedStrategy``'s rules: passed to ``VectorizedStrategy(...)`` by name,
        or returning a dict literal with an ``entries`` / ``exits`` / ``short_entries`` / ``short_exits`` /
        ``weights`` key."""
        found: dict[str, ast.FunctionDef] = {}
        for node in ast.walk(self.tree):
            if (
                isinstance(node, ast.Call)
                and (self.qualified(node.func) or "").endswith("VectorizedStrategy")
                and node.args
                and isinstance(node.args[0], ast.Name)
                and node.args[0].id in self.functions
            ):
                found[node.args[0].id] = self.functions[node.args[0].id]
        keys = {"entries", "exits", "short_entries", "short_exits", "weights"}
        for fn in self.functions.values():
            for ret in ast.walk(fn):
                owner = self.enclosing(ret, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                if owner is fn and isinstance(ret, ast.Return) and isinstance(ret.value, ast.Dict):
                    literal = {k.value for k in ret.value.keys if isinstance(k, ast.Constant)}
                    if literal & keys:
                        found.setdefault(fn.name, fn)
        return list(found.values())

    @cached_property
    def jitted(self) -> list[ast.FunctionDef]:
        """Functions decorated with Numba's ``njit`` / ``jit`` (bare or called)."""
        out = []
        for fn in self.functions.values():
            for deco in fn.decorator_list:
                target = deco.func if isinstance(deco, ast.Call) else deco
                if (self.qualified(target) or "") in {"numba.njit", "numba.jit", "numba.core.decorators.jit"}:
                    out.append(fn)
                    break
        return out

    # ------------------------------------------------------------------------- findings through helpers
    @cached_property
    def derived(self) -> dict[Finding, Origin]:
        """Findings made on an expansion -> where it comes from (filled by :meth:`ml4t.lint.Rule.finding`)."""
        return {}

    def redundant(self, finding: Finding, others: list[Finding]) -> bool:
        """Whether a finding on an expansion repeats one its helper's own body already has (same rule)."""
        origin = self.derived.get(finding)
        if origin is None:
            return False
        first, last = origin.helper.lineno, origin.helper.end_lineno or origin.helper.lineno
        return any(o.code == finding.code and o not in self.derived and first <= o.line <= last for o in others)

    # ------------------------------------------------------------------------------------ suppression
    def suppressed(self, line: int, code: str) -> bool:
        """Whether ``# ml4t: ignore`` or ``# ml4t: ignore[CODE, FAMILY]`` on ``line`` silences ``code``."""
        if not 1 <= line <= len(self.lines):
            return False
        match = _SUPPRESS.search(self.lines[line - 1])
        if match is None:
            return False
        codes = match.group("codes")
        if codes is None:
            return True
        wanted = {c.strip().upper() for c in codes.split(",") if c.strip()}
        return code in wanted or code.rstrip("0123456789") in wanted

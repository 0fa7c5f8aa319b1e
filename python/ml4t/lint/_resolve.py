"""What a name stands for, and what a helper call computes: the one mechanism every rule uses to see a pattern
whatever spelling the user chose.

Two things are resolved, statically (nothing is imported or run):

* **Names bound once.** A name assigned exactly once in its scope by a plain ``name = expr`` (and bound in no
  other way there: not a parameter, a loop target, an augmented assignment, an import) stands for ``expr``:
  ``lead = -1; x.shift(lead)`` is ``x.shift(-1)``, ``m = c.mean(); c - m`` is ``c - c.mean()``. A name not bound
  in its function is looked up in the enclosing functions, then at module level. :meth:`Resolution.value`
  follows such names; :meth:`Resolution.constant` folds the result to a number, string or bool (``n = 20;
  -n`` is ``-20``).
* **Helper calls.** A call to a function of the same file whose body is plain assignments and one ``return``
  (``def fwd(x, n=1): return x.shift(-n)``), or to a method of the enclosing class through ``self.``, has an
  *expansion*: a synthetic copy of the returned expression with the call's arguments (or the defaults) in
  place of the parameters, placed at the call. :meth:`Resolution.walk` visits expansions as if they were
  written at the call, so a rule sees ``fwd(pl.col("close"))`` as ``pl.col("close").shift(-1)`` inside the
  signal function that calls it. The copies of the call's own arguments inside an expansion are not visited
  again (they are visited where they are written); a finding on an expansion names the helper, and is dropped
  when the helper's own body already has a finding of that rule (``Module.redundant``).
"""

from __future__ import annotations

import ast
import copy
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

__all__ = ["Origin", "Resolution"]

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_MAX_DEPTH = 4
"""Helpers inlined into helpers at most this deep (a recursive helper stops there)."""
_MAX_HOPS = 12
"""Names followed at most this far (``a = b; b = c; ...``)."""

_NOT_SIMPLE = None  # a binding that is not ``name = expr``: the name's value is unknown
_Binding = ast.expr | ast.FunctionDef | None


@dataclass(frozen=True)
class Origin:
    """Where a synthetic node comes from: the helper whose body it copies, the call it expands, and whether it
    is a copy of one of the call's own arguments (visited where it is written, not again here)."""

    helper: ast.FunctionDef
    call: ast.Call
    argument: bool
    chain: tuple[str, ...]


def _bind(table: dict[str, list[_Binding]], name: str, value: _Binding) -> None:
    table.setdefault(name, []).append(value)


def _targets(node: ast.AST) -> Iterator[str]:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            yield sub.id


class Resolution:
    """Name and helper resolution over a parsed module (mixed into :class:`ml4t.lint.Module`)."""

    tree: ast.Module
    parents: dict[ast.AST, ast.AST]

    # ------------------------------------------------------------------------------------------ scopes
    @cached_property
    def _origins(self) -> dict[int, Origin]:
        return {}

    @cached_property
    def _expansions(self) -> dict[int, ast.expr | None]:
        return {}

    @cached_property
    def _tables(self) -> dict[int, dict[str, list[_Binding]]]:
        return {}

    @cached_property
    def _bodies(self) -> dict[int, list[ast.stmt] | None]:
        return {}

    @cached_property
    def _walks(self) -> dict[int, list[ast.AST]]:
        return {}

    @cached_property
    def _keep(self) -> list[ast.AST]:
        """Synthetic roots, kept alive so that the ids above stay unique."""
        return []

    def origin(self, node: ast.AST) -> Origin | None:
        """The helper expansion ``node`` belongs to, or None for a node written in the file."""
        return self._origins.get(id(node))

    def _scope(self, node: ast.AST) -> ast.AST:
        """The function, lambda or class whose names ``node`` reads (the module when none). A node copied from a
        helper's body reads the helper's scope, not the caller's."""
        origin = self.origin(node)
        if origin is not None and not origin.argument:
            node = origin.helper.body[-1]
        current = self.parents.get(node)
        while current is not None and not isinstance(current, _SCOPES):
            current = self.parents.get(current)
        return current if current is not None else self.tree

    def _table(self, scope: ast.AST) -> dict[str, list[_Binding]]:
        """Name -> its bindings in ``scope`` (not in nested functions or classes): the value of each plain
        ``name = expr``, the definition of each ``def name``, None for every other way of binding it."""
        key = id(scope)
        if key in self._tables:
            return self._tables[key]
        table: dict[str, list[_Binding]] = {}
        if isinstance(scope, (*_FUNCTIONS, ast.Lambda)):
            a = scope.args
            for p in (*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg):
                if p is not None:
                    _bind(table, p.arg, _NOT_SIMPLE)
        todo: deque[ast.AST] = deque([scope.body] if isinstance(scope, ast.Lambda) else scope.body)  # type: ignore[attr-defined]
        while todo:
            node = todo.popleft()
            if isinstance(node, _FUNCTIONS):
                _bind(table, node.name, node if isinstance(node, ast.FunctionDef) else _NOT_SIMPLE)
                continue  # its body is its own scope
            if isinstance(node, (ast.ClassDef, ast.Lambda)):
                if isinstance(node, ast.ClassDef):
                    _bind(table, node.name, _NOT_SIMPLE)
                continue
            if isinstance(node, ast.Assign):
                simple = all(isinstance(t, ast.Name) for t in node.targets)
                for target in node.targets:
                    for name in _targets(target):
                        _bind(table, name, node.value if simple else _NOT_SIMPLE)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                _bind(table, node.target.id, node.value)
            elif isinstance(node, (ast.AugAssign, ast.For, ast.AsyncFor, ast.comprehension, ast.NamedExpr)):
                for name in _targets(node.target):
                    _bind(table, name, _NOT_SIMPLE)
            elif isinstance(node, ast.withitem) and node.optional_vars is not None:
                for name in _targets(node.optional_vars):
                    _bind(table, name, _NOT_SIMPLE)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    _bind(table, (alias.asname or alias.name).split(".")[0], _NOT_SIMPLE)
            elif isinstance(node, (ast.Global, ast.Nonlocal)):
                for name in node.names:
                    _bind(table, name, _NOT_SIMPLE)
            elif isinstance(node, ast.ExceptHandler) and node.name:
                _bind(table, node.name, _NOT_SIMPLE)
            elif isinstance(node, ast.Delete):
                for target in node.targets:
                    for name in _targets(target):
                        _bind(table, name, _NOT_SIMPLE)
            todo.extend(ast.iter_child_nodes(node))
        self._tables[key] = table
        return table

    def binding(self, node: ast.Name) -> _Binding:
        """What the name ``node`` is bound to, if it is bound once, plainly, in the nearest scope that binds it:
        an expression, a function definition, or None (unknown)."""
        scope: ast.AST | None = self._scope(node)
        while scope is not None:
            found = self._table(scope).get(node.id)
            if found is not None:
                return found[0] if len(found) == 1 else _NOT_SIMPLE
            if scope is self.tree:
                return _NOT_SIMPLE
            parent = self.parents.get(scope)
            while parent is not None and not isinstance(parent, (*_FUNCTIONS, ast.Lambda)):
                parent = self.parents.get(parent)  # class bodies are not enclosing scopes of their methods
            scope = parent if parent is not None else self.tree
        return _NOT_SIMPLE

    # -------------------------------------------------------------------------------------------- values
    def value(self, node: ast.AST) -> ast.AST:
        """``node`` with names bound once followed to their value (``lead`` -> ``-1`` after ``lead = -1``); the
        node itself when it is not such a name."""
        for _ in range(_MAX_HOPS):
            if not (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)):
                return node
            bound = self.binding(node)
            if not isinstance(bound, ast.expr):
                return node
            node = bound
        return node

    def constant(self, node: ast.AST | None) -> object:
        """The Python value ``node`` folds to (literals, names bound once, ``-x``, ``not x``, ``+ - * //`` of
        numbers), or :data:`Ellipsis` when it is not a constant."""
        return self._fold(node, _MAX_HOPS)

    def integer(self, node: ast.AST | None) -> int | None:
        """The integer ``node`` folds to (bools excluded), else None."""
        value = self.constant(node)
        return value if type(value) is int else None

    def _fold(self, node: ast.AST | None, budget: int) -> object:
        if node is None or budget <= 0:
            return ...
        node = self.value(node)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.UnaryOp):
            inner = self._fold(node.operand, budget - 1)
            if isinstance(node.op, ast.Not) and isinstance(inner, bool):
                return not inner
            if isinstance(inner, (int, float)) and not isinstance(inner, bool):
                if isinstance(node.op, ast.USub):
                    return -inner
                if isinstance(node.op, ast.UAdd):
                    return inner
            return ...
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv)):
            left, right = self._fold(node.left, budget - 1), self._fold(node.right, budget - 1)
            if isinstance(left, bool) or isinstance(right, bool):
                return ...
            if not isinstance(left, (int, float)) or not isinstance(right, (int, float)):
                return ...
            if isinstance(node.op, ast.Add):
                return left + right
            if isinstance(node.op, ast.Sub):
                return left - right
            if isinstance(node.op, ast.Mult):
                return left * right
            return left // right if right else ...
        return ...

    def expand(self, node: ast.AST) -> str:
        """Source text of ``node`` with every name bound once replaced by its value, recursively (bounded): two
        spellings of one expression (``c`` after ``c = pl.col("x")``, and ``pl.col("x")``) give one text."""
        return ast.unparse(self._expanded(node, 0))

    def _expanded(self, node: ast.AST, depth: int) -> ast.AST:
        if isinstance(node, ast.Name) and depth < _MAX_HOPS:
            bound = self.value(node)
            if bound is not node:
                return self._expanded(bound, depth + 1)
        out = copy.copy(node)
        for name, field in ast.iter_fields(node):
            if isinstance(field, ast.AST):
                setattr(out, name, self._expanded(field, depth))
            elif isinstance(field, list):
                setattr(out, name, [self._expanded(x, depth) if isinstance(x, ast.AST) else x for x in field])
        return out

    # ------------------------------------------------------------------------------------------- helpers
    def helper(self, call: ast.Call) -> ast.FunctionDef | None:
        """The function of this file ``call`` runs, when it is a plain name bound once to a ``def`` or
        ``self.method`` of the enclosing class."""
        func = call.func
        if isinstance(func, ast.Name):
            bound = self.binding(func)
            return bound if isinstance(bound, ast.FunctionDef) else None
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self":
            method = self._scope(call)
            cls = self.parents.get(method) if isinstance(method, _FUNCTIONS) else None
            if isinstance(cls, ast.ClassDef):
                found = [n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == func.attr]
                return found[0] if len(found) == 1 else None
        return None

    def expansion(self, call: ast.Call) -> ast.expr | None:
        """The synthetic expression ``call`` computes when it calls an inlinable helper (see the module
        docstring), else None. Its nodes sit at the call's position and their parent chain goes through it."""
        key = id(call)
        if key not in self._expansions:
            self._expansions[key] = self._expand(call)
        return self._expansions[key]

    def _expand(self, call: ast.Call) -> ast.expr | None:
        fn = self.helper(call)
        outer = self.origin(call)
        chain = outer.chain if outer is not None else ()
        if fn is None or fn.name in chain or len(chain) >= _MAX_DEPTH or fn.decorator_list:
            return None
        body = self._inlinable(fn)
        if body is None:
            return None
        bound = self._arguments(fn, call)
        if bound is None:
            return None
        for stmt in body[:-1]:
            if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
                return None
            name = stmt.targets[0].id
            if name in bound:
                return None  # rebinding a parameter: not a plain dataflow
            bound[name] = _substitute(stmt.value, bound)
        returned = body[-1]
        assert isinstance(returned, ast.Return) and returned.value is not None  # checked by _inlinable
        result = _substitute(returned.value, bound)
        self._register(result, Origin(fn, call, False, (*chain, fn.name)))
        return result

    def _inlinable(self, fn: ast.FunctionDef) -> list[ast.stmt] | None:
        """The statements of ``fn`` (docstring aside) when they are plain assignments and a final ``return
        value``, without ``yield`` / ``await``; None otherwise. Cached per function."""
        key = id(fn)
        if key not in self._bodies:
            body = [s for s in fn.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
            plain = (
                bool(body)
                and isinstance(body[-1], ast.Return)
                and body[-1].value is not None
                and all(isinstance(s, ast.Assign) for s in body[:-1])
                and not any(isinstance(n, (ast.Yield, ast.YieldFrom, ast.Await)) for n in ast.walk(fn))
            )
            self._bodies[key] = body if plain else None
        return self._bodies[key]

    def _arguments(self, fn: ast.FunctionDef, call: ast.Call) -> dict[str, ast.expr] | None:
        a = fn.args
        if a.vararg or a.kwarg or any(isinstance(x, ast.Starred) for x in call.args):
            return None
        if any(kw.arg is None for kw in call.keywords):
            return None
        positional = [*a.posonlyargs, *a.args]
        if isinstance(call.func, ast.Attribute):  # self.method(...): the first parameter is self
            positional = positional[1:]
        if len(call.args) > len(positional):
            return None
        bound: dict[str, ast.expr] = {p.arg: v for p, v in zip(positional, call.args, strict=False)}
        for kw in call.keywords:
            if kw.arg is not None:
                bound[kw.arg] = kw.value
        defaults = dict(zip([p.arg for p in positional][len(positional) - len(a.defaults) :], a.defaults, strict=True))
        defaults |= {p.arg: d for p, d in zip(a.kwonlyargs, a.kw_defaults, strict=True) if d is not None}
        for p in [*positional, *a.kwonlyargs]:
            if p.arg not in bound:
                if p.arg not in defaults:
                    return None
                bound[p.arg] = defaults[p.arg]
        given = {id(v) for v in (*call.args, *(kw.value for kw in call.keywords))}
        out: dict[str, ast.expr] = {}
        for name, value in bound.items():
            out[name] = copy.deepcopy(value)
            if id(value) in given:
                out[name]._ml4t_argument = True  # type: ignore[attr-defined]
        return out

    def _register(self, root: ast.expr, origin: Origin) -> None:
        """Record the synthetic tree: parents (the root's is the call), positions (the call's), origins."""
        self._keep.append(root)
        self.parents[root] = origin.call
        argument_nodes: set[int] = set()
        for node in ast.walk(root):
            if getattr(node, "_ml4t_argument", False):
                argument_nodes |= {id(sub) for sub in ast.walk(node)}
        for node in ast.walk(root):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node
            for field in ("lineno", "col_offset", "end_lineno", "end_col_offset"):
                if field in node._attributes:
                    setattr(node, field, getattr(origin.call, field, None))
            self._origins[id(node)] = Origin(origin.helper, origin.call, id(node) in argument_nodes, origin.chain)

    # ------------------------------------------------------------------------------------------ walking
    def children(self, node: ast.AST) -> list[ast.AST]:
        """``node``'s children, and the expansion of a helper call as one more child."""
        out = list(ast.iter_child_nodes(node))
        if isinstance(node, ast.Call):
            expanded = self.expansion(node)
            if expanded is not None:
                out.append(expanded)
        return out

    def walk(self, root: ast.AST | None = None) -> Iterator[ast.AST]:
        """Every node under ``root`` (default: the module), breadth first like ``ast.walk``, helper calls' expansions
        included; the copies of a call's own arguments inside an expansion are not visited twice."""
        start = self.tree if root is None else root
        nodes = self._walks.get(id(start))
        if nodes is None:  # every rule walks the module: once is enough
            nodes = []
            todo: deque[ast.AST] = deque([start])
            while todo:
                node = todo.popleft()
                origin = self.origin(node)
                if origin is not None and origin.argument:
                    continue
                nodes.append(node)
                todo.extend(self.children(node))
            self._walks[id(start)] = nodes
        return iter(nodes)


def _substitute(expr: ast.expr, bound: dict[str, ast.expr]) -> ast.expr:
    """A copy of ``expr`` with each name in ``bound`` replaced by a copy of its value (a call argument's copy
    is marked ``_ml4t_argument``)."""

    class _Replace(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.AST:
            if isinstance(node.ctx, ast.Load) and node.id in bound:
                return copy.deepcopy(bound[node.id])
            return node

    return _Replace().visit(copy.deepcopy(expr))  # type: ignore[no-any-return]

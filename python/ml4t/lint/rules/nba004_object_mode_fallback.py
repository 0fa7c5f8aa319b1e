"""NBA004: a Numba decorator asking for object mode (or contradicting itself)."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ml4t.lint._core import Finding, Module, Rule
from ml4t.lint.rules import register

JIT_DECORATORS = frozenset({"numba.njit", "numba.jit", "numba.core.decorators.jit"})


def flag(call: ast.Call, name: str) -> bool | None:
    """The literal boolean value of keyword ``name`` in ``call``; None when absent or not a literal."""
    for kw in call.keywords:
        if kw.arg == name and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, bool):
            return kw.value.value
    return None


def jit_calls(module: Module, fn: ast.FunctionDef) -> Iterator[tuple[str, ast.Call]]:
    """The called Numba decorators of ``fn`` (``@jit(...)``, ``@njit(...)``) with their qualified name."""
    for deco in fn.decorator_list:
        if isinstance(deco, ast.Call):
            name = module.qualified(deco.func) or ""
            if name in JIT_DECORATORS:
                yield name, deco


def object_mode(module: Module, fn: ast.FunctionDef) -> bool:
    """Whether ``fn`` is compiled in object mode: ``@jit(forceobj=True)`` (plain Python semantics)."""
    return any(not name.endswith("njit") and flag(call, "forceobj") for name, call in jit_calls(module, fn))


def nopython_jitted(module: Module) -> list[ast.FunctionDef]:
    """The jitted functions Numba compiles in nopython mode (all of them but ``@jit(forceobj=True)``)."""
    return [fn for fn in module.jitted if not object_mode(module, fn)]


@register
class ObjectModeFallback(Rule):
    """What it does:
    Flags Numba decorators that ask for object mode or contradict themselves: ``@jit(forceobj=True)``,
    ``@jit(nopython=False)``, ``@njit(forceobj=True)`` / ``@njit(nopython=False)`` (ignored by ``njit``),
    and ``nopython=True`` together with ``forceobj=True`` (a ``ValueError``). A bare ``@jit`` is not flagged:
    since Numba 0.59 (ml4t requires 0.61 or later) it compiles in nopython mode exactly like ``@njit``.

    Why is this bad:
    Object mode runs every operation through the Python interpreter: the function is as slow as plain Python
    and Numba checks nothing, so code it cannot really compile goes unnoticed. ``nopython=False`` has no
    effect since Numba 0.59 (before, it let a function silently fall back to object mode), and ``njit``
    ignores ``forceobj``: such flags say something the compiler does not do.

    Example:
    ```python
    @jit(forceobj=True)
    def rolling_max(close, window):
        ...
    ```

    Use instead:
    ```python
    @njit(cache=True)
    def rolling_max(close, window):
        ...
    ```
    """

    code = "NBA004"
    name = "object-mode-fallback"

    def check(self, module: Module) -> Iterator[Finding]:
        for fn in ast.walk(module.tree):
            if not isinstance(fn, ast.FunctionDef):
                continue
            for name, call in jit_calls(module, fn):
                message = self._problem(name.rsplit(".", 1)[-1], flag(call, "nopython"), flag(call, "forceobj"))
                if message:
                    yield self.finding(module, call, f"{message} (function `{fn.name}`)")

    @staticmethod
    def _problem(deco: str, nopython: bool | None, forceobj: bool | None) -> str | None:
        if nopython and forceobj:
            return f"@{deco}(nopython=True, forceobj=True) is contradictory: Numba raises ValueError at decoration"
        if deco == "njit" and forceobj:
            return "@njit ignores forceobj=True (Numba only warns): the flag is contradictory, remove it"
        if deco == "njit" and nopython is False:
            return "@njit ignores nopython=False (Numba only warns): the flag is contradictory, remove it"
        if forceobj:
            return "@jit(forceobj=True) compiles in object mode: as slow as plain Python and nothing is type-checked"
        if nopython is False:
            return (
                "@jit(nopython=False) asks for object-mode fallback: a no-op since Numba 0.59, "
                "silent slow Python before; remove it"
            )
        return None

"""Linting a strategy automatically before it runs.

``VectorizedStrategy.run`` / ``.sweep`` and ``Engine.run`` call :func:`lint_before_run` with the strategy's
signal function or class. What will actually run is linted (:func:`scan`): a ``functools.partial``'s
function (and the callables bound in it), what a decorator wraps (``__wrapped__``) and the decorator itself,
a bound method's or a callable object's class and the callables in its attributes, every user class of an
event strategy's MRO, the enclosing function of a closure or a lambda made by a factory, and the user
functions and classes these refer to (globals, closure cells, defaults), transitively. Code of ``ml4t``
itself, the standard library and installed packages is not linted. Each source file is linted once (cached
by path, size and modification time; a notebook cell through ``linecache``, as IPython registers it) and the
findings inside those lines are reported:

* ``"warn"`` (default): one :class:`LintWarning` listing them; the run goes on;
* ``"strict"``: ``ml4t.LintError`` before the run;
* ``"off"``: nothing.

Code whose source cannot be found (a function made with ``exec``, a class built with ``type()``) cannot be
checked: ``"strict"`` refuses it with a ``LintError`` saying so; ``"warn"`` warns once per function or class.

Set the mode with :func:`ml4t.lint.configure` or the ``ML4T_LINT`` environment variable.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import inspect
import linecache
import os
import sys
import sysconfig
import types
import warnings
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ml4t.errors import ConfigError, LintError
from ml4t.lint._check import lint_module
from ml4t.lint._core import Finding, Module
from ml4t.lint._source import Unreadable, read_python

__all__ = ["LintWarning", "Scan", "configure", "findings_of", "lint_before_run", "mode", "scan"]

_MODES = ("warn", "strict", "off")
_HEAP_TYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class made by a class statement or type(), not written in C
_MAX_OBJECTS = 1000
"""How many objects one scan visits at most (a strategy's own code is far smaller)."""
_mode: str | None = None
_class_spans: weakref.WeakKeyDictionary[type, tuple[str, int, int] | str] = weakref.WeakKeyDictionary()
_warned: weakref.WeakSet[Any] = weakref.WeakSet()


class LintWarning(UserWarning):
    """The strategy linter found likely problems in a strategy about to run, or could not check it."""


def configure(mode: str) -> None:
    """``"warn"`` (default), ``"strict"`` or ``"off"``: what happens when a strategy about to run has findings
    or cannot be checked. Overrides the ``ML4T_LINT`` environment variable."""
    global _mode
    if mode not in _MODES:
        raise ConfigError(f"lint mode must be one of {_MODES}, got {mode!r}", argument="mode")
    _mode = mode


def mode() -> str:
    """The current automatic-lint mode."""
    if _mode is not None:
        return _mode
    env = os.environ.get("ML4T_LINT", "warn").strip().lower() or "warn"
    return env if env in _MODES else "warn"


# ----------------------------------------------------------------------------------------- source files
@dataclass(frozen=True)
class _File:
    """One linted source: its findings and the (first, last) lines of every function, lambda and class."""

    findings: list[Finding]
    functions: list[tuple[int, int, bool]]  # (first line incl. decorators, last line, is a def not a lambda)
    classes: list[tuple[str, int, int]]  # (name, first line incl. decorators, last line)


_files: dict[tuple[str, int, int, str], _File | str] = {}
_SCOPES = ("symbol", "panel")


def _file(path: str, scope: str = "symbol") -> _File | str:
    """The linted file at ``path`` (on disk, or a notebook cell in ``linecache``), or why it cannot be; ``scope``
    is the signal functions' (``"panel"``: the panel-scope rules read every function of the file)."""
    if os.path.isfile(path):
        info = os.stat(path)
        key = (path, info.st_size, info.st_mtime_ns, scope)
        if key not in _files:
            try:
                _files[key] = _lint_text(read_python(Path(path)), path, scope)
            except Unreadable as error:
                _files[key] = f"its file {path} cannot be read: {error.reason}"
        return _files[key]
    lines = linecache.getlines(path)
    if not lines:
        return f"its source is not available (no file {path!r}: typed at a prompt or run with exec?)"
    text = "".join(lines)
    key = (path, len(text), hash(text), scope)
    if key not in _files:
        _files[key] = _lint_text(text, path, scope)
    return _files[key]


def _lint_text(text: str, path: str, scope: str = "symbol") -> _File | str:
    try:
        module = Module(text, path, scope=scope)
    except (SyntaxError, ValueError) as error:
        return f"its file {path} does not parse: {error}"
    findings = lint_module(module)
    functions, classes = [], []
    for node in ast.walk(module.tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            decorators = getattr(node, "decorator_list", [])
            first = min([node.lineno, *(d.lineno for d in decorators)])
            last = node.end_lineno or node.lineno
            if isinstance(node, ast.ClassDef):
                classes.append((node.name, first, last))
            else:
                functions.append((first, last, not isinstance(node, ast.Lambda)))
    return _File(findings, functions, classes)


# -------------------------------------------------------------------------------------- what is user code
@functools.cache
def _library_dirs() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    names = ("stdlib", "platstdlib", "purelib", "platlib")
    return tuple(sorted({os.path.realpath(paths[n]) + os.sep for n in names if n in paths}))


@functools.lru_cache(maxsize=4096)
def _is_library_file(path: str) -> bool:
    return os.path.realpath(path).startswith(_library_dirs())


def _is_ml4t(module: str) -> bool:
    return module == "ml4t" or module.startswith("ml4t.")


def _is_user_function(fn: types.FunctionType) -> bool:
    return not _is_ml4t(fn.__module__ or "") and not _is_library_file(fn.__code__.co_filename)


def _is_user_module(module: types.ModuleType) -> bool:
    file = getattr(module, "__file__", None)
    return not _is_ml4t(module.__name__) and file is not None and not _is_library_file(file)


def _is_user_class(cls: type) -> bool:
    name = cls.__module__ or ""
    if _is_ml4t(name) or not cls.__flags__ & _HEAP_TYPE:  # ml4t's, or a type defined in C
        return False
    if name == "builtins":  # a class made by exec in a namespace without __name__
        return True
    module = sys.modules.get(name)
    file = getattr(module, "__file__", None)
    if file is None:
        return module is None or name == "__main__"  # a prompt's class; not a built-in module's
    return not _is_library_file(file)


# ------------------------------------------------------------------------------------------ the scan
@dataclass
class Scan:
    """What :func:`scan` found: the findings in the code that will run, and the functions or classes whose
    source could not be found (each with the reason), which therefore were not checked."""

    findings: list[Finding] = field(default_factory=list)
    unchecked: list[tuple[Any, str]] = field(default_factory=list)


def _references(fn: types.FunctionType) -> list[Any]:
    """The callables ``fn`` can reach by name: globals its code (nested code included) names, attributes of
    user modules it names, its closure cells and its defaults."""
    names: set[str] = set()
    stack = [fn.__code__]
    while stack:
        code = stack.pop()
        names.update(code.co_names)
        stack.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
    out: list[Any] = []
    for name in sorted(names):
        value = fn.__globals__.get(name)
        if isinstance(value, types.ModuleType):
            if _is_user_module(value):
                out.extend(getattr(value, n) for n in sorted(names) if callable(getattr(value, n, None)))
        elif callable(value):
            out.append(value)
    for cell in fn.__closure__ or ():
        with contextlib.suppress(ValueError):  # an empty cell
            out.append(cell.cell_contents)
    out.extend(fn.__defaults__ or ())
    out.extend((fn.__kwdefaults__ or {}).values())
    return [value for value in out if callable(value)]


def _attributes(instance: Any) -> list[Any]:
    """The callables an instance holds in its own attributes (a strategy's helper, a wrapped function)."""
    try:
        values = list(vars(instance).values())
    except TypeError:  # no __dict__
        return []
    return [value for value in values if callable(value)]


def _class_members(cls: type) -> list[Any]:
    out: list[Any] = list(cls.__mro__[1:])
    for value in vars(cls).values():
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        elif isinstance(value, property):
            value = value.fget
        if inspect.isfunction(value):
            out.append(value)
    return out


def _function_span(fn: types.FunctionType) -> tuple[int, int] | str:
    """The lines to lint for ``fn``: its own, or, for a closure or lambda made inside a function (a factory),
    the whole outermost enclosing function, whose code builds what the closure reads."""
    file = _file(fn.__code__.co_filename)
    if isinstance(file, str):
        return file
    first = fn.__code__.co_firstlineno
    own = [(a, b) for a, b, _ in file.functions if a == first]
    if not own:
        return f"its source file {fn.__code__.co_filename} changed since it was loaded"
    last = max(b for _, b in own)
    outer = [(a, b) for a, b, is_def in file.functions if is_def and a <= first and last <= b]
    return min(outer, key=lambda span: span[0] - span[1]) if "<locals>" in fn.__qualname__ and outer else (first, last)


def _class_span(cls: type) -> tuple[str, int, int] | str:
    """The file and lines of a class (cached: finding a class's lines parses its file)."""
    with contextlib.suppress(KeyError, TypeError):
        return _class_spans[cls]
    span = _find_class_span(cls)
    with contextlib.suppress(TypeError):
        _class_spans[cls] = span
    return span


def _find_class_span(cls: type) -> tuple[str, int, int] | str:
    try:
        path = inspect.getsourcefile(cls)
        lines, first = inspect.getsourcelines(cls)
    except (OSError, TypeError):  # a class of a notebook cell: its module has no file
        return _class_span_from_methods(cls)
    if path is None:
        return _class_span_from_methods(cls)
    return (path, first, first + len(lines) - 1)


def _class_span_from_methods(cls: type) -> tuple[str, int, int] | str:
    """A class's lines found through the code of its methods: the innermost ``class <name>`` around one."""
    for value in vars(cls).values():
        fn = value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
        if not inspect.isfunction(fn):
            continue
        path, line = fn.__code__.co_filename, fn.__code__.co_firstlineno
        file = _file(path)
        if isinstance(file, _File):
            around = [(a, b) for name, a, b in file.classes if name == cls.__name__ and a <= line <= b]
            if around:
                first, last = max(around)
                return (path, first, last)
    return "its source is not available (built with type() or exec?)"


def scan(obj: Any, scope: str = "symbol") -> Scan:
    """Lint the code that running ``obj`` (a signal function, a strategy class or instance, a factory, any
    callable) will execute; see the module docstring for what is followed. ``scope`` is how a vectorized
    signal function is evaluated (``VectorizedStrategy``'s ``scope``): under ``"panel"`` the panel-scope rule
    (``VEC004``) reads all of that code."""
    if scope not in _SCOPES:
        raise ConfigError(f"scope must be one of {_SCOPES}, got {scope!r}", argument="scope")
    spans: list[tuple[str, int, int]] = []
    result = Scan()
    seen: dict[int, Any] = {}  # id -> object, kept alive so that ids stay unique
    todo: list[Any] = [obj]
    while todo and len(seen) < _MAX_OBJECTS:
        item = todo.pop(0)
        if id(item) in seen:
            continue
        seen[id(item)] = item
        if isinstance(item, functools.partial):
            todo += [item.func, *(a for a in (*item.args, *item.keywords.values()) if callable(a))]
        elif inspect.ismethod(item):
            owner = item.__self__
            todo += [item.__func__, owner if inspect.isclass(owner) else type(owner), *_attributes(owner)]
        elif inspect.isclass(item):
            if _is_user_class(item):
                where = _class_span(item)
                if isinstance(where, str):
                    result.unchecked.append((item, f"class {item.__qualname__}: {where}"))
                else:
                    spans.append(where)
                todo += _class_members(item)
        elif inspect.isfunction(item):
            if _is_user_function(item):
                span = _function_span(item)
                if isinstance(span, str):
                    result.unchecked.append((item, f"function {item.__qualname__}: {span}"))
                else:
                    spans.append((item.__code__.co_filename, *span))
                todo += _references(item)
            wrapped = getattr(item, "__wrapped__", None)
            if callable(wrapped):
                todo.append(wrapped)
        elif callable(getattr(item, "__wrapped__", None)):  # a C-level wrapper (functools.lru_cache)
            todo.append(item.__wrapped__)
        elif inspect.isfunction(getattr(item, "py_func", None)):  # a Numba dispatcher
            todo.append(item.py_func)
        elif item is obj or callable(item):  # a strategy instance, a callable object
            todo += [type(item), *_attributes(item)]
    found: set[Finding] = set()
    for path, first, last in spans:
        file = _file(path, scope)
        if isinstance(file, _File):
            found.update(f for f in file.findings if first <= f.line <= last)
    result.findings = sorted(found, key=lambda f: (f.path, f.line, f.col, f.code))
    return result


def findings_of(obj: Any, scope: str = "symbol") -> list[Finding]:
    """The findings inside the code that running ``obj`` will execute (see :func:`scan`)."""
    return scan(obj, scope).findings


def lint_before_run(obj: Any, what: str, scope: str = "symbol") -> None:
    """Report the lint findings in the code ``obj`` will run, before running it (see the module docstring).

    ``scope``: how a vectorized signal function is evaluated, as ``VectorizedStrategy(..., scope=)`` says;
    ``"panel"`` checks the code for time-series operations that mix symbols (``VEC004``) even when the file
    does not say it is run in panel scope."""
    if scope not in _SCOPES:
        raise ConfigError(f"scope must be one of {_SCOPES}, got {scope!r}", argument="scope")
    current = mode()
    if current == "off":
        return
    owner = obj if inspect.isclass(obj) or inspect.isfunction(obj) else type(obj)
    if _is_ml4t(getattr(owner, "__module__", None) or ""):
        return  # ml4t's own strategies (the base class, the promotion follower) are linted by the test suite
    result = scan(obj, scope)
    unchecked = [(target, why) for target, why in result.unchecked if current == "strict" or _first_time(target)]
    if not result.findings and not unchecked:
        return
    parts = []
    if result.findings:
        listing = "\n".join(f"  {f}" for f in result.findings)
        parts.append(
            f"the strategy linter found {len(result.findings)} problem(s) in {what} (silence one with "
            f"'# ml4t: ignore[CODE]' on its line, or set ml4t.lint.configure('off')):\n{listing}"
        )
    if unchecked:
        listing = "\n".join(f"  {why}" for _, why in unchecked)
        parts.append(
            f"the strategy linter could not check {what}: the source of {len(unchecked)} function(s) or "
            f"class(es) it runs cannot be found (define them in a file or a notebook cell, or set "
            f"ml4t.lint.configure('off')):\n{listing}"
        )
    message = "\n".join(parts)
    if current == "strict":
        raise LintError(message, argument="strategy")
    warnings.warn(message, LintWarning, stacklevel=3)


def _first_time(target: Any) -> bool:
    """Whether ``target`` (unchecked code) has not been warned about yet; marks it warned."""
    try:
        if target in _warned:
            return False
        _warned.add(target)
    except TypeError:  # not weak-referenceable: warn each time rather than never
        pass
    return True

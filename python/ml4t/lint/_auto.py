"""Linting a strategy automatically before it runs.

``VectorizedStrategy.run`` / ``.sweep`` and ``Engine.run`` call :func:`lint_before_run` with the strategy's
signal function or class. Its source file is linted once (cached by path, size and modification time) and the
findings that fall inside the strategy's own lines are reported:

* ``"warn"`` (default): one :class:`LintWarning` listing them; the run goes on;
* ``"strict"``: ``ml4t.LintError`` before the run;
* ``"off"``: nothing.

Set the mode with :func:`ml4t.lint.configure` or the ``ML4T_LINT`` environment variable. Code without a source
file (a lambda typed at a prompt, a class built dynamically) is skipped silently.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import warnings
import weakref
from typing import Any

from ml4t.errors import ConfigError, LintError
from ml4t.lint._check import check
from ml4t.lint._core import Finding

__all__ = ["LintWarning", "configure", "findings_of", "lint_before_run", "mode"]

_MODES = ("warn", "strict", "off")
_mode: str | None = None
_cache: dict[tuple[str, int, int], list[Finding]] = {}
_spans: weakref.WeakKeyDictionary[Any, tuple[str, int, int] | None] = weakref.WeakKeyDictionary()


class LintWarning(UserWarning):
    """The strategy linter found likely problems in a strategy about to run."""


def configure(mode: str) -> None:
    """``"warn"`` (default), ``"strict"`` or ``"off"``: what happens when a strategy about to run has findings.
    Overrides the ``ML4T_LINT`` environment variable."""
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


def _span(target: Any) -> tuple[str, int, int] | None:
    """The source file and first/last line of a function or class (cached: finding a class's lines parses its
    file)."""
    try:
        return _spans[target]
    except (KeyError, TypeError):
        pass
    try:
        path = inspect.getsourcefile(target)
        lines, first = inspect.getsourcelines(target)
    except (OSError, TypeError):
        return None
    span = None if path is None or not os.path.exists(path) else (path, first, first + len(lines) - 1)
    with contextlib.suppress(TypeError):
        _spans[target] = span
    return span


def findings_of(obj: Any) -> list[Finding]:
    """The findings inside ``obj``'s own source lines (a function, a class, or an instance's class)."""
    target = obj if inspect.isclass(obj) or inspect.isfunction(obj) else type(obj)
    span = _span(target)
    if span is None:
        return []
    path, first, last = span
    stat = os.stat(path)
    key = (path, stat.st_size, stat.st_mtime_ns)
    if key not in _cache:
        try:
            _cache[key] = check(path)
        except LintError:
            _cache[key] = []
    return [f for f in _cache[key] if first <= f.line <= last]


def lint_before_run(obj: Any, what: str) -> None:
    """Report the lint findings inside ``obj``'s source before running it (see the module docstring)."""
    current = mode()
    if current == "off":
        return
    owner = obj if inspect.isclass(obj) or inspect.isfunction(obj) else type(obj)
    if (getattr(owner, "__module__", None) or "").startswith("ml4t."):
        return  # ml4t's own strategies (the base class, the promotion follower) are linted by the test suite
    findings = findings_of(obj)
    if not findings:
        return
    listing = "\n".join(f"  {f}" for f in findings)
    message = (
        f"the strategy linter found {len(findings)} problem(s) in {what} (silence one with "
        f"'# ml4t: ignore[CODE]' on its line, or set ml4t.lint.configure('off')):\n{listing}"
    )
    if current == "strict":
        raise LintError(message, argument="strategy")
    warnings.warn(message, LintWarning, stacklevel=3)

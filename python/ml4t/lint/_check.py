"""Running the rules: over a source string or a file, with selection and suppressions.

Over paths (:func:`check_paths`), a file that cannot be linted does not stop the others: it becomes a finding
of its own, ``E902`` (cannot read: not a regular file, too big, not decodable, a corrupt notebook) or ``E999``
(does not parse), the codes ruff uses. They are always reported, whatever ``select`` / ``ignore`` say.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from ml4t.errors import ConfigError, LintError
from ml4t.lint._core import Finding, Module
from ml4t.lint._source import Unreadable, notebook_cells, read_python, read_text
from ml4t.lint.rules import RULES

__all__ = ["UNREADABLE", "Findings", "check", "check_paths", "selected_codes"]

UNREADABLE = {"E902": "a file that cannot be read", "E999": "a file that does not parse"}
"""The codes of files (or notebook cells, Markdown blocks) that could not be linted."""


class Findings(list[Finding]):
    """What :func:`check_paths` returns: the findings in file order, a file that could not be linted being one
    ``E902`` / ``E999`` finding at its line 1 (or its syntax error's place); :attr:`unreadable` lists those."""

    @property
    def unreadable(self) -> list[Finding]:
        """The files, cells or blocks that could not be read or parsed, so were not linted."""
        return [f for f in self if f.code in UNREADABLE]


def selected_codes(select: Iterable[str] | None = None, ignore: Iterable[str] | None = None) -> list[str]:
    """The rule codes a run uses: ``select`` (codes or family prefixes; default all) minus ``ignore``."""

    def expand(items: Iterable[str], argument: str) -> set[str]:
        out: set[str] = set()
        for item in items:
            key = item.strip().upper()
            matched = {code for code in RULES if code == key or code.rstrip("0123456789") == key}
            if not matched and key != "ALL":
                raise ConfigError(
                    f"unknown lint code or family {item!r}; known: {', '.join(sorted(RULES))}", argument=argument
                )
            out |= set(RULES) if key == "ALL" else matched
        return out

    chosen = set(RULES) if select is None else expand(select, "select")
    return sorted(chosen - (expand(ignore, "ignore") if ignore else set()))


def check(
    source: str | os.PathLike[str],
    *,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] | None = None,
    path: str | None = None,
) -> list[Finding]:
    """Lint one module: ``source`` is Python source text, or a path to a ``.py`` file (decoded as Python does:
    a BOM or a coding cookie, else UTF-8). Returns the findings in (line, column, code) order, without those
    silenced by ``# ml4t: ignore[CODE]`` on their line.

    The source is parsed, never imported or run. A file that cannot be read or does not parse is a
    ``LintError`` saying why.
    """
    if isinstance(source, os.PathLike) or (isinstance(source, str) and "\n" not in source and source.endswith(".py")):
        file = Path(source)
        path = path or str(file)
        try:
            text = read_python(file)
        except Unreadable as error:
            raise LintError(f"cannot read {path}: {error.reason}", argument="source") from None
    else:
        text = str(source)
        path = path or "<string>"
    try:
        module = Module(text, path)
    except (SyntaxError, ValueError) as error:  # ValueError: NUL bytes in source text
        line = getattr(error, "lineno", None)
        where = f" (line {line})" if line else ""
        raise LintError(f"cannot parse {path}: {getattr(error, 'msg', error)}{where}", argument="source") from None
    return lint_module(module, select, ignore)


def lint_module(
    module: Module, select: Iterable[str] | None = None, ignore: Iterable[str] | None = None
) -> list[Finding]:
    """The unsuppressed findings of the selected rules in a parsed module, in (path, line, column, code) order."""
    findings: set[Finding] = set()
    for code in selected_codes(select, ignore):
        found = list(RULES[code]().check(module))
        for finding in found:
            if not module.suppressed(finding.line, finding.code) and not module.redundant(finding, found):
                findings.add(finding)
    return sorted(findings, key=lambda f: (f.path, f.line, f.col, f.code))


def check_paths(
    paths: Sequence[str | os.PathLike[str]],
    *,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] | None = None,
) -> Findings:
    """Lint files and directories: ``*.py`` and notebooks' code cells below them, and the ```python blocks of
    Markdown files given by name (a README's examples).

    Only regular files (or symlinks to one) of at most 10 MB are read. Each file that cannot be linted is
    one ``E902`` (cannot read) or ``E999`` (does not parse) finding, listed by :attr:`Findings.unreadable`;
    the other files are still linted. A path that does not exist is a ``ConfigError``."""
    selected_codes(select, ignore)  # bad codes are an error even when there is nothing to lint
    findings = Findings()
    for file in _files(paths):
        try:
            if file.suffix == ".ipynb":
                findings.extend(_check_notebook(file, select=select, ignore=ignore))
            elif file.suffix == ".md":
                findings.extend(_check_markdown(file, select=select, ignore=ignore))
            else:
                findings.extend(_check_source(read_python(file), str(file), select=select, ignore=ignore))
        except Unreadable as error:
            findings.append(Finding(str(file), 1, 1, "E902", f"cannot read: {error.reason}"))
    return findings


def _check_source(text: str, path: str, *, select: Iterable[str] | None, ignore: Iterable[str] | None) -> list[Finding]:
    """:func:`check` on text, a syntax error being an ``E999`` finding instead of an exception."""
    try:
        module = Module(text, path)
    except (SyntaxError, ValueError) as error:
        line = getattr(error, "lineno", None) or 1
        col = getattr(error, "offset", None) or 1
        return [Finding(path, line, col, "E999", f"cannot parse: {getattr(error, 'msg', error)}")]
    return lint_module(module, select, ignore)


def _files(paths: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """The files to lint, in order. Below a directory: ``*.py`` and ``*.ipynb`` that are not directories
    (anything else, a FIFO or a device included, is kept so that it is reported, never opened blocking)."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = (f for f in p.rglob("*") if f.suffix in (".py", ".ipynb") and ".venv" not in f.parts)
            out.extend(sorted(f for f in found if not f.is_dir()))
            # Markdown is linted when named explicitly (its ```python blocks), not found by walking a tree
        elif p.exists() or p.is_symlink():
            out.append(p)
        else:
            raise ConfigError(f"no such file or directory: {raw}", argument="paths")
    return out


def _check_notebook(file: Path, *, select: Iterable[str] | None, ignore: Iterable[str] | None) -> list[Finding]:
    findings: list[Finding] = []
    for number, source in notebook_cells(file):
        where = f"{file}[cell {number}]"
        if source is None:
            findings.append(Finding(where, 1, 1, "E902", "cannot read: the cell's source is not text"))
            continue
        # IPython magics and shell escapes are not Python: blank them, keeping the line numbers
        lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
        findings.extend(_check_source("\n".join(lines) + "\n", where, select=select, ignore=ignore))
    return findings


def _check_markdown(file: Path, *, select: Iterable[str] | None, ignore: Iterable[str] | None) -> list[Finding]:
    """Each fenced ```python block on its own, reported at its line in the Markdown file."""
    lines = read_text(file).splitlines()
    findings: list[Finding] = []
    block: list[str] | None = None
    start = 0
    for number, line in enumerate(lines, 1):
        fence = line.strip()
        if block is None and fence.startswith("```") and fence[3:].strip() in ("python", "py"):
            block, start = [], number
        elif block is not None and fence.startswith("```"):
            source = "\n" * start + "\n".join(block) + "\n"  # line numbers of the Markdown file
            findings.extend(_check_source(source, str(file), select=select, ignore=ignore))
            block = None
        elif block is not None:
            block.append(line)
    return findings

"""Running the rules: over a source string or a file, with selection and suppressions."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from ml4t.errors import ConfigError, LintError
from ml4t.lint._core import Finding, Module
from ml4t.lint.rules import RULES

__all__ = ["check", "check_paths", "selected_codes"]


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
    """Lint one module: ``source`` is Python source text, or a path to a ``.py`` file. Returns the findings
    in (line, column, code) order, without those silenced by ``# ml4t: ignore[CODE]`` on their line.

    The source is parsed, never imported or run. A file that does not parse is a ``LintError``.
    """
    if isinstance(source, os.PathLike) or (isinstance(source, str) and "\n" not in source and source.endswith(".py")):
        file = Path(source)
        text = file.read_text(encoding="utf-8")
        path = path or str(file)
    else:
        text = str(source)
        path = path or "<string>"
    try:
        module = Module(text, path)
    except SyntaxError as error:
        raise LintError(f"cannot parse {path}: {error.msg} (line {error.lineno})", argument="source") from None
    findings: set[Finding] = set()
    for code in selected_codes(select, ignore):
        for finding in RULES[code]().check(module):
            if not module.suppressed(finding.line, finding.code):
                findings.add(finding)
    return sorted(findings, key=lambda f: (f.path, f.line, f.col, f.code))


def check_paths(
    paths: Sequence[str | os.PathLike[str]],
    *,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] | None = None,
) -> list[Finding]:
    """Lint files and directories: ``*.py`` and notebooks' code cells below them, and the ```python blocks of
    Markdown files given by name (a README's examples)."""
    selected_codes(select, ignore)  # bad codes are an error even when there is nothing to lint
    findings: list[Finding] = []
    for file in _files(paths):
        if file.suffix == ".ipynb":
            findings.extend(_check_notebook(file, select=select, ignore=ignore))
        elif file.suffix == ".md":
            findings.extend(_check_markdown(file, select=select, ignore=ignore))
        else:
            findings.extend(check(file, select=select, ignore=ignore))
    return findings


def _files(paths: Sequence[str | os.PathLike[str]]) -> list[Path]:
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.suffix in (".py", ".ipynb") and ".venv" not in f.parts))
            # Markdown is linted when named explicitly (its ```python blocks), not found by walking a tree
        elif p.exists():
            out.append(p)
        else:
            raise ConfigError(f"no such file or directory: {raw}", argument="paths")
    return out


def _check_notebook(file: Path, *, select: Iterable[str] | None, ignore: Iterable[str] | None) -> list[Finding]:
    import json

    cells = json.loads(file.read_text(encoding="utf-8")).get("cells", [])
    findings: list[Finding] = []
    for number, cell in enumerate(cells, 1):
        if cell.get("cell_type") != "code":
            continue
        source = "".join(cell.get("source", []))
        # IPython magics and shell escapes are not Python: blank them, keeping the line numbers
        lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
        findings.extend(check("\n".join(lines) + "\n", select=select, ignore=ignore, path=f"{file}[cell {number}]"))
    return findings


def _check_markdown(file: Path, *, select: Iterable[str] | None, ignore: Iterable[str] | None) -> list[Finding]:
    """Each fenced ```python block on its own, reported at its line in the Markdown file."""
    lines = file.read_text(encoding="utf-8").splitlines()
    findings: list[Finding] = []
    block: list[str] | None = None
    start = 0
    for number, line in enumerate(lines, 1):
        fence = line.strip()
        if block is None and fence.startswith("```") and fence[3:].strip() in ("python", "py"):
            block, start = [], number
        elif block is not None and fence.startswith("```"):
            source = "\n" * start + "\n".join(block) + "\n"  # line numbers of the Markdown file
            findings.extend(check(source, select=select, ignore=ignore, path=str(file)))
            block = None
        elif block is not None:
            block.append(line)
    return findings

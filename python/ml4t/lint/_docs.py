"""The rule reference, generated from the rules' docstrings (``docs/lint-rules.md`` is its output)."""

from __future__ import annotations

import inspect

from ml4t.errors import ConfigError
from ml4t.lint.rules import RULES

__all__ = ["SECTIONS", "explain", "reference"]

SECTIONS = ("What it does", "Why is this bad", "Example", "Use instead")
FAMILIES = {
    "PIT": "Future data (look-ahead)",
    "NBA": "Numba: code @njit cannot compile",
    "VEC": "Vectorized strategies: purity",
    "REP": "Reproducibility",
}


UNLINTABLE = {
    "E902": (
        "cannot-read",
        "A file (or a notebook cell) that could not be read, so was not linted: not a regular file (a FIFO, a\n"
        "device, a socket), larger than 10 MB, binary, not decodable as Python source (a UTF-8 BOM or a PEP 263\n"
        "coding cookie, else UTF-8), or a notebook that is not JSON, has no 'cells' list, or has a cell whose\n"
        "source is not text. Reported whatever --select / --ignore say; `ml4t lint` then exits 3.",
    ),
    "E999": (
        "cannot-parse",
        "A file, notebook cell or Markdown ```python block that is not valid Python, so was not linted. Reported\n"
        "at the syntax error's line and column whatever --select / --ignore say; `ml4t lint` then exits 3.",
    ),
}
"""The codes of what could not be linted (ruff's codes), documented here because they are not rules."""


def explain(code: str) -> str:
    """The documentation of one rule: its code, name and docstring (or of E902 / E999, what was not linted)."""
    key = code.strip().upper()
    if key in UNLINTABLE:
        name, text = UNLINTABLE[key]
        return f"{key} ({name})\n\n{text}\n"
    rule = RULES.get(key)
    if rule is None:
        raise ConfigError(f"unknown lint code {code!r}; known: {', '.join(sorted(RULES))}", argument="code")
    return f"{rule.code} ({rule.name})\n\n{inspect.cleandoc(rule.__doc__ or '')}\n"


def reference() -> str:
    """Every rule's documentation as one Markdown page, by family."""
    parts = [
        "# Strategy linter rules\n",
        "Generated from the rules' docstrings by `python -m ml4t.lint.reference`; do not edit by hand.\n",
        "| code | name | family |\n|---|---|---|",
    ]
    parts += [f"| {c} | {r.name} | {FAMILIES.get(c[:3], c[:3])} |" for c, r in sorted(RULES.items())]
    for code, rule in sorted(RULES.items()):
        doc = inspect.cleandoc(rule.__doc__ or "")
        body = doc
        for section in SECTIONS:
            body = body.replace(f"{section}:\n", f"**{section}**\n\n")
        parts.append(f"\n## {code}: {rule.name}\n\n{body}")
    return "\n".join(parts) + "\n"

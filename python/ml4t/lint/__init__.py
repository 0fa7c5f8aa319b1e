"""``ml4t.lint``: the strategy linter. It reads a strategy's source with ``ast`` (it never imports or runs it)
and reports coded findings, the way ruff does for general code.

```python
>>> from ml4t import lint
>>> [str(f) for f in lint.check("import polars as pl\\nfuture = pl.col('close').shift(-1)\\n")]
["<string>:2:10: PIT001 shift(-1) reads a later row: the value at each bar comes from the future"]
```

From the shell: ``ml4t lint PATH...`` (``--select``, ``--ignore``, ``--format json``, ``--explain CODE``). A
finding is silenced by ``# ml4t: ignore[CODE]`` (or a family, ``[PIT]``, or everything, bare ``ignore``) on its
line. ``VectorizedStrategy.run`` / ``.sweep`` and ``Engine.run`` lint the code the strategy will run first (through
partials, decorators, bound methods, factories) and warn (see :func:`configure` for strict mode). A file that
cannot be read or parsed is one ``E902`` / ``E999`` finding and the others are still linted; ``ml4t lint`` then
exits 3. Rule reference: :func:`explain`, ``docs/lint-rules.md``.
"""

from ml4t.lint import rules as _rules  # noqa: F401  (registers every rule)
from ml4t.lint._auto import LintWarning, configure, lint_before_run, mode
from ml4t.lint._check import UNREADABLE, Findings, check, check_paths, selected_codes
from ml4t.lint._core import Finding, Module, Rule
from ml4t.lint._docs import explain, reference
from ml4t.lint.rules import RULES

__all__ = [
    "RULES",
    "UNREADABLE",
    "Finding",
    "Findings",
    "LintWarning",
    "Module",
    "Rule",
    "check",
    "check_paths",
    "configure",
    "explain",
    "lint_before_run",
    "mode",
    "reference",
    "selected_codes",
]

"""The project's own examples pass its linter: the README's Python blocks, the notebooks, the demo and the
benchmark strategies. Findings that are there on purpose carry a ``# ml4t: ignore[CODE]`` saying why."""

from __future__ import annotations

from pathlib import Path

from ml4t import lint

ROOT = Path(__file__).parents[2]


def test_the_examples_notebooks_demo_and_benchmarks_lint_clean():
    paths = [ROOT / "README.md", ROOT / "notebooks", ROOT / "python" / "ml4t" / "demo.py", ROOT / "bench"]
    findings = lint.check_paths(paths)
    assert not findings, "\n".join(map(str, findings))

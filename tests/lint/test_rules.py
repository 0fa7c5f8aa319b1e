"""Every lint rule against its fixture: ``tests/lint/fixtures/<CODE>.py`` holds positives and near-miss
negatives, ``<CODE>.expected`` the exact findings (``line:col: CODE message``), like ruff's snapshots.

A rule without a fixture and a snapshot fails. To (re)write snapshots after reviewing a change:
``ML4T_UPDATE_SNAPSHOTS=1 python -m pytest tests/lint``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ml4t import lint

FIXTURES = Path(__file__).parent / "fixtures"


def _render(code: str) -> str:
    findings = lint.check(FIXTURES / f"{code}.py", select=[code])
    return "".join(f"{f.line}:{f.col}: {f.code} {f.message}\n" for f in findings)


@pytest.mark.parametrize("code", sorted(lint.RULES))
def test_each_rule_matches_its_fixture_snapshot(code):
    fixture = FIXTURES / f"{code}.py"
    snapshot = FIXTURES / f"{code}.expected"
    assert fixture.exists(), f"rule {code} has no fixture {fixture}"
    rendered = _render(code)
    if os.environ.get("ML4T_UPDATE_SNAPSHOTS"):
        snapshot.write_text(rendered, encoding="utf-8")
    assert snapshot.exists(), f"rule {code} has no snapshot {snapshot} (set ML4T_UPDATE_SNAPSHOTS=1)"
    assert rendered == snapshot.read_text(encoding="utf-8")
    assert rendered, f"the fixture of {code} has no positive case"


@pytest.mark.parametrize("code", sorted(lint.RULES))
def test_each_rule_is_documented_in_four_sections(code):
    text = lint.explain(code)
    for section in ("What it does:", "Why is this bad:", "Example:", "Use instead:"):
        assert section in text, f"{code} docstring lacks {section!r}"


def test_every_fixture_belongs_to_a_rule():
    orphans = sorted(p.stem for p in FIXTURES.glob("*.py") if p.stem not in lint.RULES)
    assert not orphans


def test_at_least_fifteen_rules_in_four_families():
    assert len(lint.RULES) >= 15
    assert {code[:3] for code in lint.RULES} == {"PIT", "NBA", "VEC", "REP"}


def test_the_generated_reference_is_up_to_date():
    doc = Path(__file__).parents[2] / "docs" / "lint-rules.md"
    assert doc.read_text(encoding="utf-8") == lint.reference(), "run: python -m ml4t.lint.reference"

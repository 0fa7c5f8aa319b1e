"""The spellings users actually write: every rule sees through names bound once, helper functions of the file
and keyword forms (``ml4t.lint._resolve``), and look-alikes stay silent.

``tests/lint/fixtures/variants/<CODE>.py`` holds a rule's variants (positives and near misses),
``<CODE>.expected`` the exact findings, as for the main fixtures (``ML4T_UPDATE_SNAPSHOTS=1`` rewrites them).
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

from ml4t import audit, lint
from ml4t.cli import main
from ml4t.datasets import synthetic_bars
from ml4t.event import Strategy

VARIANTS = Path(__file__).parent / "fixtures" / "variants"
CODES = sorted(p.stem for p in VARIANTS.glob("*.py"))


def _render(code: str) -> str:
    findings = lint.check(VARIANTS / f"{code}.py", select=[code])
    return "".join(f"{f.line}:{f.col}: {f.code} {f.message}\n" for f in findings)


@pytest.mark.parametrize("code", CODES)
def test_each_variant_fixture_matches_its_snapshot(code):
    assert code in lint.RULES
    rendered = _render(code)
    snapshot = VARIANTS / f"{code}.expected"
    if os.environ.get("ML4T_UPDATE_SNAPSHOTS"):
        snapshot.write_text(rendered, encoding="utf-8")
    assert rendered == snapshot.read_text(encoding="utf-8")
    assert rendered, f"the variants of {code} have no positive case"


def test_the_look_ahead_rules_all_have_variants():
    assert {f"PIT00{i}" for i in range(1, 9)} <= set(CODES)


def _codes(source: str) -> list[tuple[int, str]]:
    return [(f.line, f.code) for f in lint.check(source)]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import polars as pl\nlead = -1\nx = pl.col('c').shift(lead)\n", [(3, "PIT001")]),
        ("import polars as pl\nn = 20\nx = pl.col('c').shift(-n)\n", [(3, "PIT002")]),
        (
            "import polars as pl\nx = pl.col('c').shift(n=-1)\ny = pl.col('c').shift(periods=-1)\n",
            [(2, "PIT001"), (3, "PIT001")],
        ),
        ("import numpy as np\nx = np.roll(np.ones(3), -1)\n", [(2, "PIT001")]),
        # a name rebound, a parameter, a loop variable: their value is not known, so nothing is folded
        ("import polars as pl\nk = -1\nk = 1\nx = pl.col('c').shift(k)\n", []),
        ("import polars as pl\ndef f(k):\n    return pl.col('c').shift(k)\n", []),
        ("import polars as pl\nfor k in (-1, 1):\n    x = pl.col('c').shift(k)\n", []),
        # look-alikes
        ("import polars as pl\nx = pl.col('c').shift(1)\n", []),
        ("import polars as pl\nn = 1\nx = pl.col('c').shift(n)\n", []),
        ("import polars as pl\nn = -1\nx = pl.col('c').shift(-n)\n", []),
        (
            "import polars as pl\ndef lag(x, k=1):\n    return x.shift(k)\n"
            "y = lag(pl.col('c'))\nz = lag(pl.col('c'), 2)\n",
            [],
        ),
    ],
)
def test_names_and_helpers_are_read_through_and_look_alikes_stay_silent(source, expected):
    assert _codes(source) == expected


def test_a_finding_through_a_helper_names_it_at_the_call_and_is_not_repeated():
    source = (
        "import polars as pl\n"
        "def lag(x, k):\n"
        "    return x.shift(k)\n"
        "def fwd(x):\n"
        "    return x.shift(-1)\n"
        "a = lag(pl.col('c'), -1)\n"
        "b = fwd(pl.col('c'))\n"
        "c = fwd(pl.col('c'))\n"
    )
    findings = lint.check(source)
    assert [(f.line, f.code) for f in findings] == [(5, "PIT001"), (6, "PIT001")]
    assert findings[1].message.endswith("(in helper lag(), called here)")


def test_a_recursive_helper_is_inlined_a_bounded_number_of_times():
    source = "import polars as pl\ndef f(x, k):\n    return f(x.shift(k), k)\ny = f(pl.col('c'), -1)\n"
    assert _codes(source) == [(4, "PIT001")]


def test_the_cli_reports_the_new_code(capsys):
    status = main(["lint", str(VARIANTS / "PIT007.py"), "--select", "PIT009"])
    out = capsys.readouterr().out
    assert status == 1
    assert "PIT009 KFold() tests folds with training rows on both sides" in out


BARS = synthetic_bars(2, 120, "1d", seed=3)
FRAME = BARS.frame


def later_close(symbol, now):
    """A helper reading a global copy of the data: the leak is here, not in the hook."""
    later = FRAME.filter((pl.col("symbol") == symbol) & (pl.col("ts_event") > now))
    return later["close"]


class ReadsThroughAHelper(Strategy):
    def on_bar(self, ctx, bars):
        for bar in bars:
            ahead = later_close(bar.symbol, ctx.now)
            if ahead.len() and ahead[0] > bar.close and not ctx.position(bar.symbol):
                ctx.order(bar.symbol, 10)


@pytest.mark.filterwarnings("ignore::ml4t.lint.LintWarning")
def test_the_audit_fails_a_leak_that_is_only_in_a_helper_through_the_linter():
    # the global is the same in every truncated run, so no decision changes: only the linter can see it, and
    # only by reading the helper the hook calls
    report = audit.lookahead(ReadsThroughAHelper, BARS)
    assert report.first_divergence is None
    assert not report.passed
    (finding,) = report.static_findings
    assert finding.code == "PIT008"
    assert "in helper later_close()" in finding.message
    line = ReadsThroughAHelper.on_bar.__code__.co_firstlineno + 2
    assert finding.line == line

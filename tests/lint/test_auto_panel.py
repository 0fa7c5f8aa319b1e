"""The panel-scope rule (VEC004) before a run: the run tells the linter its scope, so a signal function whose file
does not say ``scope="panel"`` is still checked when it runs in panel scope, and only then."""

from __future__ import annotations

import polars as pl
import pytest

from ml4t import ConfigError, LintError, lint


def _momentum_score(n):
    return pl.col("close").pct_change(n)


def momentum(n, k):
    top = _momentum_score(n).rank(descending=True).over("ts_event") <= k
    return {"weights": pl.when(top).then(1.0 / k).otherwise(0.0)}


def windowed(n, k):
    score = pl.col("close").pct_change(n).over("symbol")
    return {"weights": pl.when(score.rank(descending=True).over("ts_event") <= k).then(1.0 / k).otherwise(0.0)}


def per_symbol(n):
    return {"entries": pl.col("close").diff(n) > 0, "exits": pl.col("close").diff(n) < 0}


@pytest.fixture(autouse=True)
def strict_mode():
    lint.configure("strict")
    yield
    lint._auto._mode = None


def test_a_panel_run_checks_the_signal_function_and_the_helpers_it_calls():
    findings = lint._auto.findings_of(momentum, "panel")
    assert [(f.code, f.message.split(" in ")[0]) for f in findings] == [("VEC004", "pl.col('close').pct_change(n)")]
    assert "_momentum_score()" in findings[0].message
    with pytest.raises(LintError, match="VEC004") as info:
        lint.lint_before_run(momentum, "the signal function momentum", scope="panel")
    assert 'over("symbol")' in str(info.value)


def test_the_same_code_in_symbol_scope_has_no_panel_finding():
    assert lint._auto.findings_of(momentum) == []
    assert lint._auto.findings_of(per_symbol, "symbol") == []
    lint.lint_before_run(per_symbol, "the signal function per_symbol")  # strict mode: would raise


def test_a_panel_run_of_properly_windowed_code_is_clean():
    assert lint._auto.findings_of(windowed, "panel") == []
    lint.lint_before_run(windowed, "the signal function windowed", scope="panel")


def test_an_unknown_scope_is_a_config_error():
    with pytest.raises(ConfigError, match="scope") as info:
        lint.lint_before_run(windowed, "the signal function windowed", scope="long")
    assert info.value.argument == "scope"

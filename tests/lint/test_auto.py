"""The linter runs before a strategy does: a warning by default, an error in strict mode, nothing when off."""

from __future__ import annotations

import polars as pl
import pytest

import ml4t
from ml4t import lint
from ml4t.datasets import synthetic_bars
from ml4t.event import Engine, Strategy
from ml4t.vectorized import VectorizedStrategy


def peeking():
    tomorrow = pl.col("close").shift(-1)
    return {"entries": tomorrow > pl.col("close"), "exits": tomorrow < pl.col("close")}


def peeking_on_purpose():
    tomorrow = pl.col("close").shift(-1)  # ml4t: ignore[PIT001]
    return {"entries": tomorrow > pl.col("close"), "exits": tomorrow < pl.col("close")}


class PeekingIndicators(Strategy):
    indicators = {"tomorrow": pl.col("close").shift(-1)}  # noqa: RUF012


@pytest.fixture
def bars():
    return synthetic_bars(1, 60, seed=2)


@pytest.fixture(autouse=True)
def default_mode():
    yield
    lint._auto._mode = None


def test_a_vectorized_run_warns_about_its_signal_function(bars):
    with pytest.warns(lint.LintWarning, match=r"PIT001 shift\(-1\)") as record:
        VectorizedStrategy(peeking).run(bars)
    assert "the signal function peeking" in str(record[0].message)
    with pytest.warns(lint.LintWarning):
        VectorizedStrategy(peeking).sweep(bars)


def test_an_event_run_warns_about_its_strategy_class(bars):
    with pytest.warns(lint.LintWarning, match="the strategy PeekingIndicators"):
        Engine(bars, PeekingIndicators()).run()


def test_a_suppressed_finding_does_not_warn(bars, recwarn):
    VectorizedStrategy(peeking_on_purpose).run(bars)
    assert not [w for w in recwarn if issubclass(w.category, lint.LintWarning)]


def test_strict_mode_refuses_to_run_and_off_stays_silent(bars, monkeypatch, recwarn):
    lint.configure("strict")
    with pytest.raises(ml4t.LintError, match="PIT001") as info:
        VectorizedStrategy(peeking).run(bars)
    assert info.value.argument == "strategy"
    lint.configure("off")
    VectorizedStrategy(peeking).run(bars)
    assert not [w for w in recwarn if issubclass(w.category, lint.LintWarning)]
    lint._auto._mode = None
    monkeypatch.setenv("ML4T_LINT", "strict")
    with pytest.raises(ml4t.LintError):
        Engine(bars, PeekingIndicators()).run()
    with pytest.raises(ml4t.ConfigError, match="lint mode"):
        lint.configure("loud")


def test_code_without_a_source_file_cannot_be_checked_strict_refuses_warn_warns_once(bars, recwarn):
    namespace: dict = {}
    exec("import polars as pl\ndef typed():\n    return {'entries': pl.col('close').shift(-1) > 0}\n", namespace)
    typed = namespace["typed"]
    with pytest.warns(lint.LintWarning, match="could not check the signal function typed") as record:
        VectorizedStrategy(typed).run(bars)
    assert "function typed: its source is not available" in str(record[0].message)
    VectorizedStrategy(typed).run(bars)  # once per function
    assert not [w for w in recwarn if issubclass(w.category, lint.LintWarning)]
    lint.configure("strict")
    with pytest.raises(ml4t.LintError, match="could not check the signal function typed") as info:
        VectorizedStrategy(typed).run(bars)
    assert info.value.argument == "strategy"
    lint.configure("off")
    VectorizedStrategy(typed).run(bars)

"""The audit's blind spot, closed: precomputed bar columns are listed as ``unverified_columns`` (and fail the
audit under ``strict=True``); the same values attached as feature builders are recomputed on every cut, so a
leak among them is caught; features from builders and signals aligned by arrival leave nothing unverified, in
every mode."""

from __future__ import annotations

from typing import ClassVar

import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import ml4t
from ml4t import audit
from ml4t.data import align_signals, bars, signals
from ml4t.datasets import synthetic_bars
from ml4t.event import Strategy
from ml4t.vectorized import VectorizedStrategy

pytestmark = pytest.mark.filterwarnings("ignore::ml4t.lint.LintWarning")

BARS = synthetic_bars(3, 300, "1d", seed=7)
CLOSE = pl.col("close")
FWD = CLOSE.shift(-1) / CLOSE - 1
TIMES = sorted(BARS.frame["ts_event"].unique().to_list())


def reads_fwd() -> dict[str, pl.Expr]:
    return {"entries": pl.col("fwd") > 0, "exits": pl.col("fwd") < 0}


PRECOMPUTED = bars(BARS.frame.with_columns(FWD.over("symbol").alias("fwd"), pl.lit(1.0).alias("unused")))
"""The issue's case: tomorrow's return stored as a column of the bars, per symbol."""


# ------------------------------------------------------------------------------------------ precomputed
def test_the_precomputed_forward_return_passes_but_is_named_as_unverified():
    strategy = VectorizedStrategy(reads_fwd)
    assert strategy.run(PRECOMPUTED).metrics["total_return"][0] > 3  # the leak is real: it trades on tomorrow
    report = audit.lookahead(strategy, PRECOMPUTED)
    assert report.passed
    assert report.unverified_columns == ("fwd",)  # the strategy's expressions never read 'unused'
    text = str(report)
    assert "passed" in text and "does NOT cover the precomputed column 'fwd'" in text
    assert "bars.with_features(" in text and "strict=True" in text
    assert "'unused'" not in text
    assert report.raise_if_failed() is report


def test_strict_makes_an_unverified_column_a_failure():
    report = audit.lookahead(VectorizedStrategy(reads_fwd), PRECOMPUTED, strict=True)
    assert not report.passed
    assert report.first_divergence is None and report.static_findings == ()
    assert str(report).startswith("Lookahead audit FAILED (strict;")
    assert "'fwd'" in str(report)
    with pytest.raises(ml4t.LeakageError, match="precomputed column 'fwd'") as info:
        report.raise_if_failed()
    assert info.value.column == "fwd"


@pytest.mark.parametrize("mode", ["vectorized", "promoted"])
@pytest.mark.filterwarnings("ignore::ml4t.errors.RejectionWarning")
def test_the_forward_return_attached_as_a_builder_is_caught(mode):
    featured = BARS.with_features(fwd=FWD)
    strategy = VectorizedStrategy(reads_fwd, cash_sharing=mode == "promoted")
    target = strategy if mode == "vectorized" else ml4t.promote(strategy, featured)
    report = audit.lookahead(target, featured)
    assert not report.passed
    assert report.unverified_columns == ()
    d = report.first_divergence
    assert d is not None and d.symbol in BARS.symbols
    assert d.timestamp == d.cut == report.cuts[0]  # tomorrow is unknown on the cut bar
    assert len(report.divergences) == len(report.cuts)
    assert d.timestamp.isoformat() in str(report) and repr(d.symbol) in str(report)
    with pytest.raises(ml4t.LeakageError) as info:
        report.raise_if_failed()
    assert (info.value.symbol, info.value.timestamp) == (d.symbol, d.timestamp)


class ReadsColumn(Strategy):
    """An event strategy reading one column of its bars by name."""

    column: ClassVar[str] = "fwd"

    def on_bar(self, ctx, bars):
        for bar in bars:
            value = getattr(bar, self.column)
            ctx.order_target(bar.symbol, 10 if value > 0 else 0)


def test_an_event_strategy_may_read_any_column_so_every_precomputed_one_is_listed():
    report = audit.lookahead(ReadsColumn, PRECOMPUTED)
    assert report.passed
    assert report.unverified_columns == ("fwd", "unused")
    assert not audit.lookahead(ReadsColumn, BARS.with_features(fwd=FWD)).passed


def test_an_expression_selecting_columns_by_pattern_lists_every_precomputed_column():
    def by_pattern() -> dict[str, pl.Expr]:
        return {"entries": pl.sum_horizontal(pl.col("^fwd|unused$")) > 1, "exits": CLOSE < 0}

    assert audit.lookahead(VectorizedStrategy(by_pattern), PRECOMPUTED).unverified_columns == ("fwd", "unused")


def test_strict_must_be_a_bool():
    with pytest.raises(ml4t.ConfigError) as info:
        audit.lookahead(VectorizedStrategy(reads_fwd), PRECOMPUTED, strict="yes")
    assert info.value.argument == "strict"


# ----------------------------------------------------------------------------------- a clean ML strategy
def rank_across(frame: pl.DataFrame) -> pl.DataFrame:
    """Cross-sectional: each symbol's z-score ranked among the symbols at each timestamp (1 = lowest)."""
    return frame.select(pl.col("z").rank().over("ts_event").alias("rank"))


PREDICTIONS = signals(
    BARS.frame.select("ts_event", "symbol", CLOSE.pct_change(3).over("symbol").fill_null(0.0).alias("score")),
    ts_arrival="30m",
)
ML_BARS = align_signals(
    BARS.with_features(z=(CLOSE - CLOSE.rolling_mean(20)) / CLOSE.rolling_std(20), rank=rank_across), PREDICTIONS
)


def ml_rule() -> dict[str, pl.Expr]:
    return {"entries": (pl.col("rank") == 1) & (pl.col("score") > 0), "exits": pl.col("z") > 1}


class MlEvent(Strategy):
    def on_bar(self, ctx, bars):
        for bar in bars:
            held = ctx.position(bar.symbol)
            if bar.rank == 1 and bar.score > 0 and held == 0:
                ctx.order_target_percent(bar.symbol, 0.3)
            elif bar.z > 1 and held > 0:
                ctx.order(bar.symbol, -held)


@pytest.mark.parametrize("mode", ["vectorized", "promoted", "event"])
@pytest.mark.filterwarnings("ignore::ml4t.errors.RejectionWarning")
def test_a_clean_ml_strategy_with_builders_and_aligned_predictions_passes_with_nothing_unverified(mode):
    assert ML_BARS.precomputed == []
    assert set(ML_BARS.features) == {"z", "rank", "score"}
    if mode == "event":
        target: object = MlEvent
    else:
        strategy = VectorizedStrategy(ml_rule, cash_sharing=mode == "promoted")
        target = strategy if mode == "vectorized" else ml4t.promote(strategy, ML_BARS)
    report = audit.lookahead(target, ML_BARS, strict=True)
    assert report.passed, str(report)
    assert report.unverified_columns == ()
    assert report.checked_orders > 0
    assert "does NOT cover" not in str(report)


def test_signals_whose_arrival_lies_are_the_documented_blind_spot():
    # Forward returns stamped as arrived when their event happened: the declared arrival is a lie that no
    # truncation can catch (the module docstring says so); the column is "verified" by its arrival times.
    lying = signals(
        BARS.frame.select("ts_event", "symbol", FWD.over("symbol").fill_null(0.0).alias("fwd")), ts_arrival="0s"
    )
    report = audit.lookahead(VectorizedStrategy(reads_fwd), align_signals(BARS, lying))
    assert report.passed and report.unverified_columns == ()


# ------------------------------------------------------------------------------------------- linting
def peek_tomorrow(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(CLOSE.shift(-1).over("symbol").alias("nxt"))


def test_a_feature_functions_source_is_linted_like_the_strategys():
    def rule() -> dict[str, pl.Expr]:
        return {"entries": pl.col("nxt") > CLOSE, "exits": pl.col("nxt") < CLOSE}

    report = audit.lookahead(VectorizedStrategy(rule), BARS.with_features(peek_tomorrow))
    assert not report.passed
    assert report.first_divergence is not None  # recomputed on each cut: caught by truncation too
    (finding,) = report.static_findings
    assert (finding.code, finding.line) == ("PIT001", peek_tomorrow.__code__.co_firstlineno + 1)


# ------------------------------------------------------------------------------------------ property
@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 5), n_symbols=st.integers(1, 3), n=st.integers(20, 60))
@example(seed=0, k=5, n_symbols=1, n=20)  # the first cut is 3 bars in: the test's own index wrapped around
def test_a_feature_with_a_negative_shift_fails_the_audit(seed, k, n_symbols, n):
    data = synthetic_bars(n_symbols, n, "1d", seed=seed).with_features(ahead=CLOSE.shift(-k))

    def rule() -> dict[str, pl.Expr]:
        return {"entries": pl.col("ahead") > 0, "exits": pl.col("ahead") <= 0}  # a price: > 0 once known

    report = audit.lookahead(VectorizedStrategy(rule), data)
    assert not report.passed
    d = report.first_divergence
    assert d is not None and d.what == "signal 'entries'"
    times = sorted(data.frame["ts_event"].unique().to_list())
    # the first bar whose k-ahead close is after the cut (the first bar when the cut is fewer than k bars in)
    assert times[max(0, times.index(d.cut) - k + 1)] == d.timestamp


def test_a_truncated_run_that_trades_nothing_is_not_a_divergence_or_a_warning():
    # found by the property above: at the first cut (bar 4) a 5-bar look-ahead is null everywhere, so the
    # truncated run places no order; its NoOrdersWarning (an error under pytest) used to become a "run"
    # divergence instead of the signal that differs
    data = synthetic_bars(1, 24, "1d", seed=0).with_features(ahead=CLOSE.shift(-5))

    def rule() -> dict[str, pl.Expr]:
        return {"entries": pl.col("ahead") > 0, "exits": pl.col("ahead") <= 0}

    report = audit.lookahead(VectorizedStrategy(rule), data)
    assert [d.what for d in report.divergences] == ["signal 'entries'"] * 5

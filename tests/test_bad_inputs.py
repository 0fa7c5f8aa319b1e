"""Every public entry point answers bad input with an ``ml4t.Ml4tError`` subclass whose message names the
argument, never with a raw Python, NumPy or Polars exception.

The table feeds each entry point wrong types and values: strings for numbers, bools for numbers, None, NaN,
inf, negative values, empty frames, wrong dtypes, naive and overflowing (year 3000) timestamps. A row is
``(entry point, the call, the argument its error must name)``. The event order API (``ctx.order`` ...) has its
own table in ``tests/event``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl
import pytest

import ml4t
from ml4t import Ml4tError, costs
from ml4t import metrics as m
from ml4t.data import PITData, align_signals, bars, load_bars, signals
from ml4t.datasets import synthetic_bars
from ml4t.event import Engine, Strategy
from ml4t.vectorized import VectorizedStrategy

T0 = dt.datetime(2024, 1, 2, 21, tzinfo=dt.UTC)
NAIVE = [dt.datetime(2024, 1, 2 + i, 21) for i in range(5)]  # noqa: DTZ001 (naive on purpose)
Y3000 = dt.datetime(3000, 1, 1, tzinfo=dt.UTC)


def sma(fast: int = 3, slow: int = 8):
    f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
    return {"entries": f > s, "exits": f < s}


def anything(k: Any = 1):
    """Accepts any parameter value, so only the grid check can refuse a mixed grid."""
    return {"entries": pl.col("close") > 0}


BARS = synthetic_bars(2, 40, "1d", seed=11)
SYMBOL = BARS.symbols[0]


def frame(**changes: Any) -> pl.DataFrame:
    """A valid one-symbol OHLCV frame of five daily bars, with columns replaced by ``changes``."""
    base: dict[str, Any] = {
        "timestamp": [T0 + dt.timedelta(days=i) for i in range(5)],
        "open": [10.0] * 5,
        "high": [11.0] * 5,
        "low": [9.0] * 5,
        "close": [10.5] * 5,
        "volume": [100.0] * 5,
    }
    base.update(changes)
    return pl.DataFrame(base)


def signal_frame(**changes: Any) -> pl.DataFrame:
    base: dict[str, Any] = {
        "ts_event": [T0 + dt.timedelta(days=i) for i in range(3)],
        "symbol": [SYMBOL] * 3,
        "score": [0.1, 0.2, 0.3],
    }
    base.update(changes)
    return pl.DataFrame(base)


SIGNALS = signals(signal_frame(), ts_arrival="1h")
PIT = PITData(BARS, SIGNALS, now=BARS.end)
STRATEGY = VectorizedStrategy(sma)
RESULT = STRATEGY.run(BARS.select(SYMBOL))
SWEEP = STRATEGY.sweep(BARS, fast=[2, 3], slow=[8, 10])
SWEEP_ONE = STRATEGY.sweep(BARS.select(SYMBOL), fast=[2, 3], slow=[8, 10])


def engine(**kwargs: Any) -> Callable[[], Any]:
    return lambda: Engine(BARS, Strategy(), **kwargs)


def vectorized(**kwargs: Any) -> Callable[[], Any]:
    return lambda: VectorizedStrategy(sma, **kwargs)


CASES: list[tuple[str, Callable[[], Any], str]] = [
    # ml4t.data.bars
    ("bars-frame-none", lambda: bars(None), "frame"),
    ("bars-frame-int", lambda: bars(5), "frame"),
    ("bars-frame-empty", lambda: bars(pl.DataFrame()), "frame"),
    ("bars-close-strings", lambda: bars(frame(close=["a"] * 5), symbol="X"), "close"),
    ("bars-volume-bools", lambda: bars(frame(volume=[True] * 5), symbol="X"), "volume"),
    ("bars-close-nan", lambda: bars(frame(close=[math.nan] * 5), symbol="X"), "close"),
    ("bars-close-inf", lambda: bars(frame(close=[math.inf] * 5), symbol="X"), "close"),
    ("bars-volume-negative", lambda: bars(frame(volume=[-1.0] * 5), symbol="X"), "volume"),
    (
        "bars-naive",
        lambda: bars(frame(timestamp=NAIVE), symbol="X"),
        "tz",
    ),
    ("bars-year-3000", lambda: bars(frame(timestamp=[Y3000 + dt.timedelta(days=i) for i in range(5)])), "timestamp"),
    (
        "bars-year-3000-strings",
        lambda: bars(frame(timestamp=[f"3000-01-0{i + 1}T00:00:00Z" for i in range(5)])),
        "timestamp",
    ),
    ("bars-timestamp-strings", lambda: bars(frame(timestamp=["x"] * 5)), "timestamp"),
    ("bars-timestamp-floats", lambda: bars(frame(timestamp=[1.5] * 5)), "timestamp"),
    ("bars-tz-int", lambda: bars(frame(), tz=5), "tz"),
    ("bars-tz-bool", lambda: bars(frame(), tz=True), "tz"),
    ("bars-tz-unknown", lambda: bars(frame(), tz="Mars/Olympus"), "tz"),
    ("bars-label", lambda: bars(frame(), label="middle"), "label"),
    ("bars-label-bool", lambda: bars(frame(), label=True), "label"),
    ("bars-symbol-int", lambda: bars(frame(), symbol=5), "symbol"),
    ("bars-symbol-bool", lambda: bars(frame(), symbol=True), "symbol"),
    ("bars-freq-text", lambda: bars(frame(), freq="abc"), "freq"),
    ("bars-freq-bool", lambda: bars(frame(), freq=True), "freq"),
    ("bars-freq-negative", lambda: bars(frame(), freq=-5), "freq"),
    ("bars-freq-float", lambda: bars(frame(), freq=1.5), "freq"),
    ("bars-freq-timedelta-negative", lambda: bars(frame(), freq=dt.timedelta(days=-1)), "freq"),
    ("bars-session-close-text", lambda: bars(frame(), session_close="25:00"), "session_close"),
    ("bars-session-close-bool", lambda: bars(frame(), session_close=True), "session_close"),
    ("bars-latency-text", lambda: bars(frame(), latency="abc"), "latency"),
    ("bars-latency-bool", lambda: bars(frame(), latency=True), "latency"),
    ("bars-latency-negative", lambda: bars(frame(), latency=dt.timedelta(seconds=-1)), "latency"),
    ("bars-latency-huge", lambda: bars(frame(), latency=dt.timedelta(days=999_999)), "latency"),
    ("bars-latency-past-2262", lambda: bars(frame(), latency="100000d"), "latency"),
    ("bars-freq-past-2262", lambda: bars(frame(), label="left", freq="100000d"), "freq"),
    ("bars-timestamp-int", lambda: bars(frame(), timestamp=5), "timestamp"),
    ("bars-timestamp-missing", lambda: bars(frame(), timestamp="when"), "timestamp"),
    # ml4t.data.load_bars
    ("load-path-none", lambda: load_bars(None), "path"),
    ("load-path-int", lambda: load_bars(5), "path"),
    ("load-path-missing", lambda: load_bars("/nonexistent/x.csv"), "path"),
    ("load-format", lambda: load_bars(__file__, format="xls"), "format"),
    ("load-adjust", lambda: load_bars(__file__, adjust="yes"), "adjust"),
    # ml4t.data.signals
    ("signals-frame-none", lambda: signals(None), "frame"),
    ("signals-frame-empty", lambda: signals(pl.DataFrame()), "frame"),
    ("signals-ts-event-int", lambda: signals(signal_frame(), ts_event=5), "ts_event"),
    ("signals-ts-event-missing", lambda: signals(signal_frame(), ts_event="when"), "ts_event"),
    ("signals-ts-arrival-text", lambda: signals(signal_frame(), ts_arrival="abc"), "ts_arrival"),
    ("signals-ts-arrival-bool", lambda: signals(signal_frame(), ts_arrival=True), "ts_arrival"),
    ("signals-ts-arrival-float", lambda: signals(signal_frame(), ts_arrival=1.5), "ts_arrival"),
    ("signals-embargo-text", lambda: signals(signal_frame(), embargo="abc"), "embargo"),
    ("signals-embargo-bool", lambda: signals(signal_frame(), embargo=True), "embargo"),
    ("signals-train-end-text", lambda: signals(signal_frame(), train_end="not a date"), "train_end"),
    ("signals-train-end-bool", lambda: signals(signal_frame(), train_end=True), "train_end"),
    ("signals-train-end-float", lambda: signals(signal_frame(), train_end=1.5), "train_end"),
    ("signals-tz-int", lambda: signals(signal_frame(), tz=5), "tz"),
    ("signals-symbol-int", lambda: signals(signal_frame().drop("symbol"), symbol=5), "symbol"),
    ("signals-allow-in-sample-text", lambda: signals(signal_frame(), allow_in_sample="no"), "allow_in_sample"),
    ("signals-year-3000", lambda: signals(signal_frame(ts_event=[Y3000] * 3), ts_arrival="1h"), "ts_event"),
    ("signals-arrival-past-2262", lambda: signals(signal_frame(), ts_arrival="100000d"), "ts_arrival"),
    ("signals-embargo-past-2262", lambda: signals(signal_frame(), ts_arrival="0s", embargo="100000d"), "embargo"),
    (
        "signals-naive",
        lambda: signals(signal_frame(ts_event=NAIVE[:3]), ts_arrival="0s"),
        "ts_event",
    ),
    # ml4t.data.align_signals
    ("align-bars-none", lambda: align_signals(None, SIGNALS), "bars"),
    ("align-signals-none", lambda: align_signals(BARS, None), "signals"),
    ("align-columns-int", lambda: align_signals(BARS, SIGNALS, columns=5), "columns"),
    ("align-columns-missing", lambda: align_signals(BARS, SIGNALS, columns="nope"), "columns"),
    ("align-columns-list-int", lambda: align_signals(BARS, SIGNALS, columns=[5]), "columns"),
    ("align-prefix-int", lambda: align_signals(BARS, SIGNALS, prefix=5), "prefix"),
    # ml4t.data.PITData
    ("pit-bars-none", lambda: PITData(None, now=T0), "bars"),
    ("pit-signals-text", lambda: PITData(BARS, "x", now=T0), "signals"),
    ("pit-now-text", lambda: PITData(BARS, now="not a date"), "now"),
    ("pit-now-bool", lambda: PITData(BARS, now=True), "now"),
    ("pit-now-none", lambda: PITData(BARS, now=None), "now"),
    ("pit-now-float", lambda: PITData(BARS, now=math.nan), "now"),
    ("pit-now-naive", lambda: PITData(BARS, now=NAIVE[2]), "now"),
    ("pit-now-year-3000", lambda: PITData(BARS, now=Y3000), "now"),
    ("pit-now-int-overflow", lambda: PITData(BARS, now=2**70), "now"),
    ("signals-train-end-year-3000", lambda: signals(signal_frame(), ts_arrival="0s", train_end=Y3000), "train_end"),
    # PITData and Bars methods
    ("pit-latest-field-int", lambda: PIT.latest(5), "field"),
    ("pit-latest-symbol-unknown", lambda: PIT.latest("close", "ZZZ"), "symbol"),
    ("pit-history-n-text", lambda: PIT.history("close", "3"), "n"),
    ("pit-history-n-bool", lambda: PIT.history("close", True), "n"),
    ("pit-history-n-negative", lambda: PIT.history("close", -1), "n"),
    ("pit-signal-unknown", lambda: PIT.signal("nope", SYMBOL), "name"),
    ("pit-advance-backwards", lambda: PIT.advance_to(BARS.start), "ts"),
    ("bars-until-text", lambda: BARS.until("x"), "ts"),
    ("bars-until-year-3000", lambda: BARS.until(Y3000), "ts"),
    ("bars-select-int", lambda: BARS.select(5), "symbols"),
    ("bars-select-none", lambda: BARS.select(None), "symbols"),
    ("bars-select-unknown", lambda: BARS.select("ZZZ"), "symbol"),
    ("bars-wide-unknown", lambda: BARS.wide("nope"), "field"),
    # VectorizedStrategy constructor
    ("vec-signal-fn", lambda: VectorizedStrategy(None), "signal_fn"),
    ("vec-execution", vectorized(execution=5), "execution"),
    ("vec-size-text", vectorized(size="1"), "size"),
    ("vec-fees-nan", vectorized(fees=math.nan), "fees"),
    ("vec-fees-negative", vectorized(fees=-0.1), "fees"),
    ("vec-init-cash-inf", vectorized(init_cash=math.inf), "init_cash"),
    ("vec-init-cash-bool", vectorized(init_cash=True), "init_cash"),
    ("vec-accumulate-text", vectorized(accumulate="no"), "accumulate"),
    ("vec-cash-sharing-text", vectorized(cash_sharing="false"), "cash_sharing"),
    ("vec-sl-trail-text", vectorized(sl_trail="off"), "sl_trail"),
    ("vec-sl-stop-text", vectorized(sl_stop="0.1"), "sl_stop"),
    ("vec-ppy-zero", vectorized(periods_per_year=0), "periods_per_year"),
    # VectorizedStrategy.run / sweep
    ("run-bars-none", lambda: STRATEGY.run(None), "bars"),
    ("run-bars-frame", lambda: STRATEGY.run(BARS.frame), "bars"),
    ("run-unknown-param", lambda: STRATEGY.run(BARS, fats=3), "fats"),
    ("run-param-none", lambda: STRATEGY.run(BARS, fast=None), "fast"),
    ("run-param-text", lambda: STRATEGY.run(BARS, fast="3"), "signal_fn"),
    ("run-param-list", lambda: STRATEGY.run(BARS, fast=[2, 3]), "params"),
    ("sweep-mixed-grid", lambda: STRATEGY.sweep(BARS, fast=[2, "a"]), "fast"),
    ("sweep-mixed-grid-any-fn", lambda: VectorizedStrategy(anything).sweep(BARS, k=[1, "a"]), "k"),
    ("sweep-mixed-bool-int-grid", lambda: STRATEGY.sweep(BARS, fast=[2, True]), "fast"),
    ("sweep-grid-none", lambda: STRATEGY.sweep(BARS, fast=None), "fast"),
    ("sweep-grid-dict", lambda: STRATEGY.sweep(BARS, fast={"a": 1}), "fast"),
    ("sweep-grid-nan", lambda: STRATEGY.sweep(BARS, fast=[math.nan]), "signal_fn"),
    ("sweep-chunk-text", lambda: STRATEGY.sweep(BARS, chunk_size="3", fast=[2]), "chunk_size"),
    ("sweep-chunk-bool", lambda: STRATEGY.sweep(BARS, chunk_size=True, fast=[2]), "chunk_size"),
    ("sweep-chunk-zero", lambda: STRATEGY.sweep(BARS, chunk_size=0, fast=[2]), "chunk_size"),
    ("sweep-budget-text", lambda: STRATEGY.sweep(BARS, memory_budget="lots", fast=[2]), "memory_budget"),
    ("sweep-budget-bool", lambda: STRATEGY.sweep(BARS, memory_budget=True, fast=[2]), "memory_budget"),
    ("sweep-budget-negative", lambda: STRATEGY.sweep(BARS, memory_budget=-1, fast=[2]), "memory_budget"),
    ("sweep-budget-nan", lambda: STRATEGY.sweep(BARS, memory_budget=math.nan, fast=[2]), "memory_budget"),
    # Sweep.result / best / promote
    ("result-missing-param", lambda: SWEEP.result(fast=2), "params"),
    ("result-wrong-value", lambda: SWEEP.result(fast=4, slow=8), "fast"),
    ("result-unhashable", lambda: SWEEP.result(fast=[2], slow=8), "fast"),
    ("result-wrong-type", lambda: SWEEP.result(fast="2", slow=8), "fast"),
    ("best-metric-int", lambda: SWEEP.best(5), "metric"),
    ("best-metric-unknown", lambda: SWEEP.best("sharp"), "metric"),
    ("best-n-text", lambda: SWEEP.best(n="3"), "n"),
    ("best-n-negative", lambda: SWEEP.best(n=-1), "n"),
    ("best-n-bool", lambda: SWEEP.best(n=True), "n"),
    ("best-descending-text", lambda: SWEEP.best(descending="yes"), "descending"),
    ("promote-missing-param", lambda: SWEEP.promote(fast=2), "params"),
    ("promote-wrong-value", lambda: SWEEP_ONE.promote(fast=4, slow=8), "fast"),
    ("promote-wrong-type", lambda: SWEEP_ONE.promote(fast=[2], slow=8), "fast"),
    ("promote-strategy-none", lambda: ml4t.promote(None, BARS), "strategy"),
    ("promote-bars-none", lambda: ml4t.promote(STRATEGY, None), "bars"),
    ("promote-run-cash-buffer", lambda: ml4t.promote(STRATEGY, BARS.select(SYMBOL)).run(cash_buffer=2), "cash_buffer"),
    ("promote-run-unknown", lambda: ml4t.promote(STRATEGY, BARS.select(SYMBOL)).run(particpation=0.1), "particpation"),
    # Engine
    ("engine-bars", lambda: Engine(None, Strategy()), "bars"),
    ("engine-strategy-class", lambda: Engine(BARS, Strategy), "strategy"),
    ("engine-init-cash-bool", engine(init_cash=True), "init_cash"),
    ("engine-init-cash-text", engine(init_cash="1e6"), "init_cash"),
    ("engine-init-cash-nan", engine(init_cash=math.nan), "init_cash"),
    ("engine-init-cash-negative", engine(init_cash=-1.0), "init_cash"),
    ("engine-execution", engine(execution=5), "execution"),
    ("engine-commission", engine(commission=0.001), "commission"),
    ("engine-slippage", engine(slippage="5bps"), "slippage"),
    ("engine-participation-text", engine(participation="0.1"), "participation"),
    ("engine-participation-nan", engine(participation=math.nan), "participation"),
    ("engine-participation-zero", engine(participation=0), "participation"),
    ("engine-participation-big", engine(participation=2), "participation"),
    ("engine-signals", engine(signals="x"), "signals"),
    ("engine-latency-text", engine(latency="abc"), "latency"),
    ("engine-latency-bool", engine(latency=True), "latency"),
    ("engine-latency-negative", engine(latency=dt.timedelta(seconds=-1)), "latency"),
    ("engine-latency-list", engine(latency=[1]), "latency"),
    ("engine-account", engine(account="futures"), "account"),
    ("engine-leverage-text", engine(account="margin", leverage="2"), "leverage"),
    ("engine-leverage-small", engine(account="margin", leverage=0.5), "leverage"),
    ("engine-multipliers-int", engine(multipliers=5), "multipliers"),
    ("engine-multipliers-text", engine(multipliers={SYMBOL: "50"}), "multipliers"),
    ("engine-multipliers-unknown", engine(multipliers={"ZZZ": 50.0}), "multipliers"),
    ("engine-both-touched", engine(both_touched="both"), "both_touched"),
    ("engine-session-tz-int", engine(session_tz=5), "session_tz"),
    ("engine-session-tz-unknown", engine(session_tz="Mars/Olympus"), "session_tz"),
    ("engine-fractional", engine(fractional="no"), "fractional"),
    ("engine-ppy-text", engine(periods_per_year="252"), "periods_per_year"),
    # ml4t.metrics
    ("metrics-returns-text", lambda: m.sharpe_ratio("abc", 252), "returns"),
    ("metrics-returns-none", lambda: m.sharpe_ratio(None, 252), "returns"),
    ("metrics-returns-strings", lambda: m.sharpe_ratio(np.array(["a", "b"]), 252), "returns"),
    ("metrics-returns-3d", lambda: m.total_return(np.zeros((2, 2, 2))), "returns"),
    ("metrics-ppy-text", lambda: m.sharpe_ratio([0.1, 0.2], "252"), "periods_per_year"),
    ("metrics-ppy-bool", lambda: m.annual_return([0.1, 0.2], True), "periods_per_year"),
    ("metrics-ppy-nan", lambda: m.annual_volatility([0.1, 0.2], math.nan), "periods_per_year"),
    ("metrics-risk-free-text", lambda: m.sharpe_ratio([0.1, 0.2], 252, risk_free="0.02"), "risk_free"),
    ("metrics-risk-free-bool", lambda: m.sortino_ratio([0.1, 0.2], 252, risk_free=True), "risk_free"),
    ("metrics-level-big", lambda: m.value_at_risk([0.1, 0.2], level=2), "level"),
    ("metrics-level-text", lambda: m.conditional_value_at_risk([0.1, 0.2], level="0.05"), "level"),
    ("metrics-drawdown-text", lambda: m.max_drawdown("x"), "returns"),
    ("metrics-psr-benchmark", lambda: m.probabilistic_sharpe_ratio([0.1, 0.2, 0.0], sr_benchmark="0"), "sr_benchmark"),
    ("metrics-dsr-trials", lambda: m.deflated_sharpe_ratio(np.zeros((10, 3)), n_trials="3"), "n_trials"),
    ("metrics-emax-text", lambda: m.expected_max_sharpe("a", 1.0), "n_trials"),
    ("metrics-emax-variance", lambda: m.expected_max_sharpe(10, "x"), "variance"),
    (
        "metrics-pbo-splits-text",
        lambda: m.probability_of_backtest_overfitting(np.zeros((32, 4)), n_splits="16"),
        "n_splits",
    ),
    (
        "metrics-pbo-splits-odd",
        lambda: m.probability_of_backtest_overfitting(np.zeros((32, 4)), n_splits=3),
        "n_splits",
    ),
    ("metrics-pbo-metric", lambda: m.probability_of_backtest_overfitting(np.zeros((32, 4)), metric=5), "metric"),
    ("metrics-pbo-1d", lambda: m.probability_of_backtest_overfitting(np.zeros(32)), "returns"),
    ("metrics-pnl-text", lambda: m.win_rate("x"), "pnl"),
    ("metrics-pnl-none", lambda: m.profit_factor(None), "pnl"),
    ("metrics-expectancy-2d", lambda: m.expectancy(np.zeros((2, 2))), "pnl"),
    ("metrics-summary-none", lambda: m.summary(None), "result"),
    ("metrics-summary-ppy", lambda: m.summary(RESULT, periods_per_year="252"), "periods_per_year"),
    ("metrics-summary-risk-free", lambda: m.summary(RESULT, risk_free="x"), "risk_free"),
    ("metrics-summary-level", lambda: m.summary(RESULT, var_level=5), "level"),
    ("metrics-trade-stats-none", lambda: m.trade_statistics(None), "trades"),
    ("metrics-trade-stats-empty", lambda: m.trade_statistics(pl.DataFrame()), "trades"),
    ("metrics-activity-none", lambda: m.activity_statistics(None, 252), "result"),
    ("metrics-activity-ppy", lambda: m.activity_statistics(RESULT, "252"), "periods_per_year"),
    # ml4t.compare
    ("compare-none", lambda: ml4t.compare(None, RESULT), "a"),
    ("compare-text", lambda: ml4t.compare(RESULT, "x"), "b"),
    ("compare-labels-int", lambda: ml4t.compare(RESULT, RESULT, labels=5), "labels"),
    ("compare-labels-one", lambda: ml4t.compare(RESULT, RESULT, labels=("a",)), "labels"),
    ("compare-labels-ints", lambda: ml4t.compare(RESULT, RESULT, labels=(1, 2)), "labels"),
    # ml4t.audit.lookahead
    ("audit-strategy-none", lambda: ml4t.audit.lookahead(None, BARS), "strategy"),
    ("audit-bars-none", lambda: ml4t.audit.lookahead(STRATEGY, None), "bars"),
    ("audit-cuts-text", lambda: ml4t.audit.lookahead(STRATEGY, BARS, cuts="3"), "cuts"),
    ("audit-cuts-bool", lambda: ml4t.audit.lookahead(STRATEGY, BARS, cuts=True), "cuts"),
    ("audit-cuts-negative", lambda: ml4t.audit.lookahead(STRATEGY, BARS, cuts=-1), "cuts"),
    ("audit-cuts-naive", lambda: ml4t.audit.lookahead(STRATEGY, BARS, cuts=[NAIVE[2]]), "cuts"),
    ("audit-cuts-year-3000", lambda: ml4t.audit.lookahead(STRATEGY, BARS, cuts=[Y3000]), "cuts"),
    ("audit-params-int", lambda: ml4t.audit.lookahead(STRATEGY, BARS, params=5), "params"),
    ("audit-engine-int", lambda: ml4t.audit.lookahead(Strategy, BARS, engine=5), "engine"),
    ("audit-engine-bad-setting", lambda: ml4t.audit.lookahead(Strategy, BARS, engine={"init_cash": "x"}), "init_cash"),
    ("audit-signals-text", lambda: ml4t.audit.lookahead(Strategy, BARS, signals="x"), "signals"),
    # ml4t.costs
    ("costs-percent-text", lambda: costs.Percent("0.1"), "rate"),
    ("costs-percent-nan", lambda: costs.Percent(math.nan), "rate"),
    ("costs-percent-negative", lambda: costs.Percent(-0.1), "rate"),
    ("costs-pershare-bool", lambda: costs.PerShare(True), "per_share"),
    ("costs-pershare-minimum-none", lambda: costs.PerShare(0.01, minimum=None), "minimum"),
    ("costs-perorder-inf", lambda: costs.PerOrder(math.inf), "amount"),
    ("costs-tiered-none", lambda: costs.Tiered(None), "tiers"),
    ("costs-tiered-int", lambda: costs.Tiered(5), "tiers"),
    ("costs-tiered-triples", lambda: costs.Tiered([(1.0, 0.1, 3.0)]), "tiers"),
    ("costs-tiered-text", lambda: costs.Tiered([("1000", 0.1)]), "tiers[0] bound"),
    ("costs-bps-inf", lambda: costs.Bps(math.inf), "bps"),
    ("costs-halfspread-text", lambda: costs.HalfSpread("2"), "spread_bps"),
    ("costs-impact-exponent", lambda: costs.VolumeImpact(0.1, exponent=True), "exponent"),
]


@pytest.mark.parametrize(("call", "argument"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_raises_an_ml4t_error_naming_the_argument(call, argument):
    with pytest.raises(Ml4tError) as info:
        call()
    assert argument in str(info.value), f"{type(info.value).__name__}: {info.value}"


def test_case_ids_are_unique():
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids))

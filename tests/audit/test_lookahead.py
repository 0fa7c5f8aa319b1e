"""``ml4t.audit.lookahead``: clean strategies pass in both modes; strategies that leak on purpose (a negative
shift, a centered window, full-sample normalisation, a frame peeked at by timestamp) are caught, with the first
divergent decision named; bad arguments are ``ConfigError``s naming the argument."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

import numpy as np
import polars as pl
import pytest

import ml4t
from ml4t import audit
from ml4t.datasets import synthetic_bars
from ml4t.event import Engine, Strategy
from ml4t.vectorized import VectorizedStrategy

# The leak catalogue leaks on purpose: the linter would (rightly) warn before each run; the audit is under test.
pytestmark = pytest.mark.filterwarnings("ignore::ml4t.lint.LintWarning")

BARS = synthetic_bars(3, 300, "1d", seed=7)
TIMES = [dt.datetime.fromtimestamp(int(t) / 1e9, tz=dt.UTC) for t in BARS.frame["ts_event"].cast(pl.Int64).unique()]
TIMES.sort()

CLOSE = pl.col("close")
LEAKS = {
    "negative shift": CLOSE.shift(-1) - CLOSE,
    "centered window": CLOSE - CLOSE.rolling_mean(21, center=True),
    "full-sample normalisation": (CLOSE - CLOSE.mean()) / CLOSE.std() - 0.5,
}
"""Each expression is > 0 when the rule wants to be long; each reads data after the bar it is about."""


def bars_before(ts: dt.datetime, n: int) -> dt.datetime:
    """The bar time ``n`` bars before the bar at ``ts``."""
    return TIMES[TIMES.index(ts) - n]


def assert_caught(report: audit.AuditReport, *, what: str | None = None) -> audit.Divergence:
    assert not report.passed
    d = report.first_divergence
    assert d is not None
    assert d.symbol in BARS.symbols or (d.what == "run" and d.symbol is None)
    assert d.cut in report.cuts
    assert TIMES[0] <= d.timestamp <= d.cut
    assert d in report.divergences
    if what is not None:
        assert d.what == what
    assert "FAILED" in str(report)
    assert d.timestamp.isoformat() in str(report)
    if d.symbol is not None:
        assert repr(d.symbol) in str(report)
    with pytest.raises(ml4t.LeakageError, match="lookahead audit failed") as info:
        report.raise_if_failed()
    assert info.value.symbol == d.symbol
    assert info.value.timestamp == d.timestamp
    return d


def assert_passed(report: audit.AuditReport) -> None:
    assert report.passed, str(report)
    assert report.first_divergence is None
    assert report.divergences == ()
    assert report.checked_orders > 0
    assert len(report.cuts) == 5
    assert "passed" in str(report)
    assert report.unverified_columns == ()  # synthetic bars have no precomputed column
    assert "does NOT cover" not in str(report)
    assert str(report) in repr(report)
    assert report.raise_if_failed() is report


# --------------------------------------------------------------------------------------------- vectorized
def sma_cross(fast: int, slow: int) -> dict[str, pl.Expr]:
    f, s = CLOSE.rolling_mean(fast), CLOSE.rolling_mean(slow)
    # a causal numeric signal too: a stop two rolling deviations below
    return {"entries": f > s, "exits": f < s, "sl_stop": 2 * CLOSE.pct_change().rolling_std(20)}


@pytest.mark.parametrize("execution", ["close", "next_open"])
def test_a_clean_vectorized_strategy_passes(execution):
    strategy = VectorizedStrategy(sma_cross, execution=execution, fees=0.001)
    report = audit.lookahead(strategy, BARS, params={"fast": 10, "slow": 30})
    assert_passed(report)
    assert report.mode == "vectorized"
    assert report.checked_signals > 0
    # the audit checks what the strategy's own run decides
    assert strategy.run(BARS, fast=10, slow=30).orders.height > 10


@pytest.mark.parametrize("execution", ["close", "next_open"])
@pytest.mark.parametrize("leak", list(LEAKS))
def test_a_leaking_vectorized_strategy_is_caught(leak, execution):
    def rule() -> dict[str, pl.Expr]:
        return {"entries": LEAKS[leak] > 0, "exits": LEAKS[leak] < 0}

    report = audit.lookahead(VectorizedStrategy(rule, execution=execution), BARS)
    d = assert_caught(report)
    # the leaking signal itself is named, even when its order would come after the cut (next_open)
    assert d.what in ("signal 'entries'", "signal 'exits'")
    assert (d.full, d.truncated) in ((True, False), (False, True))
    if leak == "negative shift":  # tomorrow is unknown exactly on the cut bar, the first cut already
        assert d.timestamp == d.cut == report.cuts[0]
    if leak == "centered window":  # the window reaches 10 bars ahead
        assert bars_before(d.cut, 10) <= d.timestamp < d.cut
        assert len(report.divergences) == len(report.cuts)


def test_a_leaking_numeric_signal_is_caught():
    def rule() -> dict[str, pl.Expr]:
        return {"entries": CLOSE > 0, "sl_stop": (CLOSE.shift(-1) / CLOSE - 1).abs() + 0.01}

    d = assert_caught(audit.lookahead(VectorizedStrategy(rule), BARS), what="signal 'sl_stop'")
    assert np.isfinite(d.full)
    assert np.isnan(d.truncated)


@pytest.mark.filterwarnings("ignore::ml4t.errors.RejectionWarning")  # an all-in strategy on several symbols
def test_a_promoted_strategy_is_audited_on_the_event_engine():
    strategy = VectorizedStrategy(sma_cross, cash_sharing=True, execution="next_open")
    assert_passed(audit.lookahead(ml4t.promote(strategy, BARS, fast=10, slow=30), BARS))

    def rule() -> dict[str, pl.Expr]:
        return {"entries": LEAKS["negative shift"] > 0, "exits": LEAKS["negative shift"] < 0}

    leaky = ml4t.promote(VectorizedStrategy(rule, cash_sharing=True), BARS)
    report = audit.lookahead(leaky, BARS)
    assert report.mode == "promoted"
    assert_caught(report)


# ------------------------------------------------------------------------------------------------- event
class SmaCross(Strategy):
    """Clean: causal indicators, point-in-time history, several order kinds, and a liquidation at the end."""

    indicators: ClassVar = {"fast": CLOSE.rolling_mean(10), "slow": CLOSE.rolling_mean(30)}

    def __init__(self) -> None:
        self.decisions = 0

    def on_bar(self, ctx, bars):
        for bar in bars:
            self.decisions += 1
            if np.isnan(bar.slow):
                continue
            recent = ctx.data.history("close", 5, bar.symbol)
            held = ctx.position(bar.symbol)
            if bar.fast > bar.slow and held == 0:
                ctx.order_target_percent(bar.symbol, 0.3)
            elif bar.fast < bar.slow and held > 0:
                ctx.cancel_all(bar.symbol)
                ctx.order(bar.symbol, -held, tag="exit")
            elif held > 0 and bar.close < recent.mean():
                ctx.order(bar.symbol, 1, limit=float(recent.min()), tif="day", tag="dip")

    def on_end(self, ctx):
        # liquidating at the end of the data is a decision of every truncated run only: not a divergence
        for symbol, held in ctx.positions.items():
            ctx.order(symbol, -held)


@pytest.mark.parametrize("execution", ["next_open", "close"])
def test_a_clean_event_strategy_passes(execution):
    report = audit.lookahead(SmaCross, BARS, engine={"execution": execution, "init_cash": 100_000})
    assert_passed(report)
    assert report.mode == "event"
    assert report.checked_signals == 0
    orders = Engine(BARS, SmaCross(), execution=execution, init_cash=100_000).run().orders
    assert {"limit"} <= set(orders["order_type"]) and {"dip", "exit"} <= set(orders["tag"].drop_nulls())


def test_an_event_strategy_instance_or_factory_runs_fresh_each_time():
    instance = SmaCross()
    assert_passed(audit.lookahead(instance, BARS))
    assert instance.decisions == 0  # deep-copied before each run, never mutated
    assert_passed(audit.lookahead(lambda: SmaCross(), BARS))
    assert_passed(audit.lookahead(lambda bars: SmaCross(), BARS))


class Indicator(Strategy):
    """Long while the indicator ``signal`` is > 0: leaks exactly when the expression does."""

    def __init__(self, expr: pl.Expr) -> None:
        self.indicators = {"signal": expr}

    def on_bar(self, ctx, bars):
        for bar in bars:
            ctx.order_target(bar.symbol, 10 if bar.signal > 0 else 0)


@pytest.mark.parametrize("leak", list(LEAKS))
def test_a_leaking_event_indicator_is_caught(leak):
    d = assert_caught(audit.lookahead(lambda: Indicator(LEAKS[leak]), BARS), what="order")
    assert d.full != d.truncated
    for order in (d.full, d.truncated):
        assert order is None or (order["symbol"] == d.symbol and order["ts_submitted"] >= d.timestamp)
    if leak == "negative shift":
        assert d.cut == d.timestamp
    clean = CLOSE - CLOSE.rolling_mean(21)
    assert_passed(audit.lookahead(lambda: Indicator(clean), BARS))


class PeekTomorrow(Strategy):
    """Looks tomorrow's close up by ``ctx.now`` in a frame of bars: the leak of a strategy that keeps its own
    copy of the data next to the engine."""

    def __init__(self, frame: pl.DataFrame) -> None:
        rows = frame.select(
            "symbol", pl.col("ts_event").cast(pl.Int64), CLOSE, CLOSE.shift(-1).over("symbol").alias("next")
        )
        self.next_close = {(s, t): n for s, t, _, n in rows.iter_rows()}

    def on_bar(self, ctx, bars):
        for bar in bars:
            tomorrow = self.next_close[(bar.symbol, ctx.now_ns)]
            ctx.order_target(bar.symbol, 10 if tomorrow is not None and tomorrow > bar.close else 0)


def test_a_strategy_peeking_at_its_own_copy_of_the_frame_is_caught():
    # built from the bars of each run, as a factory taking them: the copy is truncated with them
    d = assert_caught(audit.lookahead(lambda bars: PeekTomorrow(bars.frame), BARS), what="order")
    assert d.timestamp == d.cut


def test_a_run_that_fails_without_the_future_is_a_divergence():
    end = int(BARS.frame["ts_event"].cast(pl.Int64).max())

    class Strict(PeekTomorrow):
        def on_bar(self, ctx, bars):
            if ctx.now_ns == end:  # its backtest ends here: it knows that much
                return
            for bar in bars:
                up = self.next_close[(bar.symbol, ctx.now_ns)] > bar.close  # None > float on the cut bar
                ctx.order_target(bar.symbol, 10 if up else 0)

    d = assert_caught(audit.lookahead(lambda bars: Strict(bars.frame), BARS), what="run")
    assert d.full == "completed"
    assert d.truncated.startswith("TypeError")
    assert d.timestamp == d.cut == audit.lookahead(lambda bars: Strict(bars.frame), BARS).cuts[0]


def test_a_failed_run_names_the_hook_and_the_clock_time_it_failed_at():
    end = int(BARS.frame["ts_event"].cast(pl.Int64).max())

    class Strict(PeekTomorrow):
        def on_bar(self, ctx, bars):
            if ctx.now_ns == end:
                return
            for bar in bars:
                ctx.order_target(bar.symbol, 10 if self.next_close[(bar.symbol, ctx.now_ns)] > bar.close else 0)

    report = audit.lookahead(lambda bars: Strict(bars.frame), BARS, cuts=[TIMES[100]])
    d = report.first_divergence
    assert d is not None and d.what == "run"
    assert d.truncated.endswith(f"raised in Strict.on_bar at {TIMES[100].isoformat()}")
    assert f"raised in Strict.on_bar at {TIMES[100].isoformat()}" in str(report)


FULL_FRAME = BARS.frame


def test_a_copy_of_the_data_from_outside_the_audit_is_out_of_the_truncations_reach_not_the_linters():
    # The documented limit: the audit truncates the data it is given. A strategy reading a frame captured
    # before the audit (a global) sees the same future in every run, so its decisions do not change. The
    # linter reads the code the factory runs (PeekTomorrow's shift(-1)), so the audit fails on that alone.
    report = audit.lookahead(lambda: PeekTomorrow(FULL_FRAME), BARS)
    assert report.first_divergence is None
    assert not report.passed
    (finding,) = report.static_findings
    assert (finding.code, finding.line) == ("PIT001", PeekTomorrow.__init__.__code__.co_firstlineno + 2)


class ReadsTheGlobalFrame(Strategy):
    """The leak of the issue's catalogue: a hook reading a global copy of the whole frame."""

    def on_bar(self, ctx, bars):
        for bar in bars:
            later = FULL_FRAME.filter((pl.col("symbol") == bar.symbol) & (pl.col("ts_event") > ctx.now))
            if later.height and later["close"][0] > bar.close and not ctx.position(bar.symbol):
                ctx.order(bar.symbol, 10)


def test_a_hook_reading_a_global_copy_of_the_frame_fails_the_audit_through_the_linter():
    # Truncation cannot remove the future from a global (every run sees it: no decision changes), so the audit
    # also reads the strategy's source: the linter's PIT008 finding fails it.
    report = audit.lookahead(ReadsTheGlobalFrame, BARS)
    assert not report.passed
    assert report.first_divergence is None
    assert [f.code for f in report.static_findings] == ["PIT008"]
    assert "look-ahead the truncation cannot test" in str(report)
    with pytest.raises(ml4t.LeakageError, match="PIT008"):
        report.raise_if_failed()


def test_signals_are_truncated_by_arrival():
    predictions = ml4t.data.signals(
        BARS.frame.select("ts_event", "symbol", (CLOSE.pct_change().over("symbol").fill_null(0.0)).alias("score")),
        ts_arrival="30m",
    )

    class OnSignal(Strategy):
        def on_signal(self, ctx, signals):
            for symbol in signals.symbols:
                ctx.order_target(symbol, 5 if ctx.data.signal("score", symbol) > 0 else 0)

    report = audit.lookahead(OnSignal, BARS, signals=predictions)
    assert_passed(report)
    # an explicit cut between a bar and its prediction snaps to the last arrival before it
    cut = TIMES[150] + dt.timedelta(minutes=10)
    report = audit.lookahead(OnSignal, BARS, signals=predictions, cuts=[cut])
    assert report.passed
    assert report.cuts == (TIMES[150],)


# ------------------------------------------------------------------------------------------------- cuts
def test_cuts_are_spread_over_the_bars_away_from_both_ends():
    report = audit.lookahead(VectorizedStrategy(sma_cross), BARS, params={"fast": 5, "slow": 20}, cuts=3)
    assert report.cuts == (TIMES[75], TIMES[150], TIMES[224])
    assert len(report.cuts) == len(set(report.cuts))


def test_explicit_cuts_in_any_timestamp_form():
    middle = TIMES[150]
    as_ns = int(middle.timestamp()) * 1_000_000_000
    cuts = [middle, TIMES[100].isoformat(), as_ns, np.int64(as_ns), TIMES[200] + dt.timedelta(hours=3)]
    report = audit.lookahead(VectorizedStrategy(sma_cross), BARS, params={"fast": 5, "slow": 20}, cuts=cuts)
    assert report.passed
    assert report.cuts == (TIMES[100], middle, TIMES[200])


@pytest.mark.parametrize(
    "cuts",
    [
        0,
        -2,
        True,
        299,
        "2015-06-01T21:00:00+00:00",
        TIMES[100],
        [],
        3.5,
        [dt.datetime(2015, 6, 1, 21)],  # noqa: DTZ001 (naive on purpose)
        [TIMES[0] - dt.timedelta(days=1)],  # before the first bar
        [TIMES[-1]],  # removes nothing
        ["not a time"],
    ],
)
def test_bad_cuts_are_config_errors(cuts):
    with pytest.raises(ml4t.ConfigError) as info:
        audit.lookahead(VectorizedStrategy(sma_cross), BARS, params={"fast": 5, "slow": 20}, cuts=cuts)
    assert info.value.argument == "cuts"


# -------------------------------------------------------------------------------------------- arguments
class NeedsArguments(Strategy):
    def __init__(self, n: int) -> None:
        self.n = n


@pytest.mark.parametrize(
    "strategy",
    [
        42,
        "SmaCross",
        dict,
        NeedsArguments,
        lambda a, b: SmaCross(),
        lambda: "not a strategy",
        Engine(BARS, SmaCross()),
    ],
)
def test_a_wrong_strategy_is_a_config_error(strategy):
    with pytest.raises(ml4t.ConfigError) as info:
        audit.lookahead(strategy, BARS)
    assert info.value.argument == "strategy"


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"bars": BARS.frame}, "bars"),
        ({"bars": BARS.until(TIMES[0] - dt.timedelta(days=1))}, "bars"),
        ({"params": {"fast": [5, 10], "slow": 20}}, "params"),
        ({"params": {"fast": 5}}, "slow"),
        ({"params": [5, 20]}, "params"),
        ({"params": {"fast": 5, "slow": 20}, "engine": {"execution": "close"}}, "engine"),
        ({"params": {"fast": 5, "slow": 20}, "signals": "x"}, "signals"),
    ],
)
def test_bad_vectorized_arguments_are_config_errors(kwargs, argument):
    kwargs = {"bars": BARS, **kwargs}
    with pytest.raises(ml4t.ConfigError) as info:
        audit.lookahead(VectorizedStrategy(sma_cross), **kwargs)
    assert info.value.argument == argument


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"params": {"fast": 5}}, "params"),
        ({"engine": {"nonsense": 1}}, "engine"),
        ({"engine": {"signals": None}}, "engine"),
        ({"engine": ["execution", "close"]}, "engine"),
        ({"engine": {"execution": "tomorrow"}}, "execution"),
    ],
)
def test_bad_event_arguments_are_config_errors(kwargs, argument):
    with pytest.raises(ml4t.ConfigError) as info:
        audit.lookahead(SmaCross, BARS, **kwargs)
    assert info.value.argument == argument


class BestTomorrow(Strategy):
    """Buys one unit of the symbol with the best next-bar return: the same order on a different symbol when
    tomorrow is unknown (on the cut bar every leaked value is null and the first symbol is chosen)."""

    indicators: ClassVar = {"ahead": CLOSE.shift(-1) / CLOSE - 1}

    def on_bar(self, ctx, bars):
        ahead = np.nan_to_num(bars["ahead"], nan=-np.inf)
        ctx.order(bars.symbols[int(np.argmax(ahead))], 1)


def test_a_divergence_in_the_symbol_alone_names_both_symbols():
    d = assert_caught(audit.lookahead(BestTomorrow, BARS), what="order")
    assert d.full is not None and d.truncated is not None
    assert d.full["symbol"] != d.truncated["symbol"]
    assert {k: v for k, v in d.full.items() if k != "symbol"} == {k: v for k, v in d.truncated.items() if k != "symbol"}
    message = str(d)
    full_part, truncated_part = message.split(" in the full run but ")
    assert repr(d.full["symbol"]) in full_part.split(" is ", 1)[1]
    assert repr(d.truncated["symbol"]) in truncated_part


def test_each_side_of_an_order_divergence_names_its_symbol():
    when = TIMES[10]
    order = {
        "ts_submitted": when,
        "symbol": "AAA",
        "side": "buy",
        "order_type": "market",
        "quantity": 1.0,
        "limit_price": None,
        "stop_price": None,
        "time_in_force": "gtc",
        "tag": None,
    }
    d = audit.Divergence(when, "AAA", "order", order, {**order, "symbol": "BBB"}, TIMES[20])
    assert str(d) == (
        f"the order decided at {when.isoformat()} is buy 1 'AAA' market (gtc, submitted {when.isoformat()}) in "
        f"the full run but buy 1 'BBB' market (gtc, submitted {when.isoformat()}) when the data ends at "
        f"{TIMES[20].isoformat()}"
    )
    absent = audit.Divergence(when, "AAA", "order", order, None, TIMES[20])
    assert "buy 1 'AAA' market" in str(absent) and "but absent when" in str(absent)

"""When does a prediction become visible, and when is it acted on? The arrival and embargo edge cases, asserted
in both modes: the event engine (``ctx.data.signal`` in ``on_bar``, ``on_signal`` at arrival) and the vectorized
mode (``ml4t.data.align_signals``), which must agree at every bar.

The bars are daily, stamped ``B(0) .. B(4)`` (21:00 UTC) with no feed latency unless a test sets one. A bar
stamped ``t`` is decided on at its arrival ``t``: a signal arriving at ``t`` exactly is visible there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ml4t import ConfigError, DataError, LeakageError
from ml4t._time import TS_DTYPE, format_ns, to_ns
from ml4t.data import Bars, PITData, Signals, align_signals, bars, signals
from ml4t.errors import NoOrdersWarning
from ml4t.event import BarBatch, Context, Engine, SignalBatch, Strategy
from ml4t.result import Result
from ml4t.vectorized import VectorizedStrategy

UTC = dt.UTC
T0 = dt.datetime(2021, 1, 4, 21, tzinfo=UTC)  # a Monday
DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
N_BARS = 5


def B(i: int) -> dt.datetime:
    """The timestamp of bar ``i``."""
    return T0 + i * DAY


def ns(t: dt.datetime) -> int:
    return to_ns(t)


def make_bars(symbols: tuple[str, ...] = ("AAA",), n: int = N_BARS, latency: str | None = None) -> Bars:
    rows = [
        {"timestamp": B(i), "symbol": s, "open": 10.0 + i, "high": 11.0 + i, "low": 9.0 + i, "close": 10.5 + i}
        for s in symbols
        for i in range(n)
    ]
    frame = pl.DataFrame(rows).with_columns(pl.lit(1e6).alias("volume"), pl.col("timestamp").cast(TS_DTYPE))
    return bars(frame, latency=latency)


def make_signals(rows: Sequence[tuple[str, dt.datetime, dt.datetime, float | None]], **options: Any) -> Signals:
    """``rows`` of (symbol, ts_event, ts_arrival, score)."""
    frame = pl.DataFrame(
        {
            "symbol": [r[0] for r in rows],
            "ts_event": [r[1] for r in rows],
            "ts_arrival": [r[2] for r in rows],
            "score": [r[3] for r in rows],
        },
        schema={"symbol": pl.String, "ts_event": TS_DTYPE, "ts_arrival": TS_DTYPE, "score": pl.Float64},
    )
    return signals(frame, **options)


class Recorder(Strategy):
    """Records what ``ctx.data.signal("score", symbol)`` is at every bar and every ``on_signal`` batch; buys one
    unit (once per symbol) when the visible score exceeds ``buy_above``, and on arrival if ``buy_on_arrival``."""

    def __init__(self, buy_above: float | None = None, buy_on_arrival: bool = False) -> None:
        self.seen: dict[tuple[str, int], float | None] = {}
        self.arrivals: list[tuple[int, tuple[str, ...], list[int], list[float]]] = []
        self.buy_above = buy_above
        self.buy_on_arrival = buy_on_arrival
        self.bought: set[str] = set()

    def on_signal(self, ctx: Context, signals: SignalBatch) -> None:
        self.arrivals.append((ctx.now_ns, signals.symbols, signals["ts_event"].tolist(), signals["score"].tolist()))
        if self.buy_on_arrival:
            for symbol in dict.fromkeys(signals.symbols):
                ctx.order(symbol, 1)

    def on_bar(self, ctx: Context, bars: BarBatch) -> None:
        for bar in bars:
            value = ctx.data.signal("score", bar.symbol)
            self.seen[(bar.symbol, int(bar.ts_event))] = value  # as the strategy sees it: None when missing
            wants = self.buy_above is not None and value is not None and value > self.buy_above
            if wants and bar.symbol not in self.bought:
                self.bought.add(bar.symbol)
                ctx.order(bar.symbol, 1)


def event_view(b: Bars, sig: Signals, **engine: Any) -> tuple[dict[tuple[str, int], float | None], Recorder, Result]:
    recorder = Recorder(**{k: engine.pop(k) for k in ("buy_above", "buy_on_arrival") if k in engine})
    result = Engine(b, recorder, signals=sig, **engine).run()
    return recorder.seen, recorder, result


def vector_view(b: Bars, sig: Signals) -> dict[tuple[str, int], float | None]:
    frame = align_signals(b, sig).frame
    keys = zip(frame["symbol"].to_list(), frame["ts_event"].cast(pl.Int64).to_list(), strict=True)
    return dict(zip(keys, frame["score"].to_list(), strict=True))  # null -> None, no normalization


def visible(view: dict[tuple[str, int], float | None], symbol: str = "AAA", n: int = N_BARS) -> list[float | None]:
    """The value seen at bars 0..n-1 of ``symbol``."""
    return [view[(symbol, ns(B(i)))] for i in range(n)]


def both_modes(b: Bars, sig: Signals, symbol: str = "AAA") -> list[float | None]:
    """What is visible at each bar, asserting that the two modes agree."""
    seen, _, _ = event_view(b, sig)
    aligned = vector_view(b, sig)
    assert visible(seen, symbol) == visible(aligned, symbol)
    return visible(aligned, symbol)


def fill_times(result: Result) -> list[dt.datetime]:
    return result.fills["ts_event"].to_list()


# ----------------------------------------------------------------------------------------------- arrival


def test_arrival_exactly_at_a_bar_is_visible_at_that_bar() -> None:
    sig = make_signals([("AAA", B(2) - HOUR, B(2), 0.9)])
    assert both_modes(make_bars(), sig) == [None, None, 0.9, 0.9, 0.9]
    _, recorder, _ = event_view(make_bars(), sig)
    assert [(now, list(ev)) for now, _, ev, _ in recorder.arrivals] == [(ns(B(2)), [ns(B(2) - HOUR)])]


def test_arrival_exactly_at_a_bar_is_acted_on_at_that_bar() -> None:
    """Decided on bar 2: filled at bar 2's close (execution="close") or bar 3's open ("next_open"), in both modes."""
    b, sig = make_bars(), make_signals([("AAA", B(2) - HOUR, B(2), 0.9)])
    aligned = align_signals(b, sig)
    for execution, fill_bar in (("close", 2), ("next_open", 3)):
        rule = VectorizedStrategy(lambda: {"entries": pl.col("score") > 0.5}, size=1.0, execution=execution)
        assert fill_times(rule.run(aligned)) == [B(fill_bar)]
        assert fill_times(event_view(b, sig, buy_above=0.5, execution=execution)[2]) == [B(fill_bar)]


def test_arrival_one_nanosecond_after_a_bar_waits_for_the_next_bar() -> None:
    frame = pl.DataFrame({"symbol": ["AAA"], "ts_event": [ns(B(2))], "ts_arrival": [ns(B(2)) + 1], "score": [0.9]})
    sig = signals(frame.with_columns(pl.col("ts_event", "ts_arrival").cast(TS_DTYPE)))
    assert both_modes(make_bars(), sig) == [None, None, None, 0.9, 0.9]


def test_arrival_between_bars_is_visible_from_the_next_bar() -> None:
    b, sig = make_bars(), make_signals([("AAA", B(1), B(1) + 6 * HOUR, 0.9)])
    assert both_modes(b, sig) == [None, None, 0.9, 0.9, 0.9]
    _, recorder, result = event_view(b, sig, buy_above=0.5, execution="close")
    assert [now for now, *_ in recorder.arrivals] == [ns(B(1) + 6 * HOUR)]  # on_signal at the arrival itself
    assert fill_times(result) == [B(2)]
    rule = VectorizedStrategy(lambda: {"entries": pl.col("score") > 0.5}, size=1.0)
    assert fill_times(rule.run(align_signals(b, sig))) == [B(2)]


def test_bar_latency_delays_what_a_bar_sees() -> None:
    """A bar stamped t arriving at t + 5m is decided on at t + 5m: it sees signals that arrived by then."""
    b = make_bars(latency="5m")
    sig = make_signals(
        [("AAA", B(1), B(1) + dt.timedelta(minutes=5), 0.9), ("AAA", B(3), B(3) + dt.timedelta(minutes=6), 0.1)]
    )
    assert both_modes(b, sig) == [None, 0.9, 0.9, 0.9, 0.1]


def test_arrival_after_the_last_bar_is_never_visible_nor_acted_on() -> None:
    b = make_bars()
    sig = make_signals([("AAA", B(0), B(0), 0.1), ("AAA", B(N_BARS - 1), B(N_BARS - 1) + HOUR, 0.9)])
    assert both_modes(b, sig) == [0.1] * N_BARS
    # on_signal still reports the late row (the run ends with the data, signals included: core/src/engine), but
    # after the last bar: an order submitted then has no bar left to trade in and stays open, unfilled
    _, recorder, result = event_view(b, sig, buy_above=0.5, buy_on_arrival=True)
    assert [now for now, *_ in recorder.arrivals] == [ns(B(0)), ns(B(N_BARS - 1) + HOUR)]
    assert fill_times(result) == [B(1)]  # the order on B(0)'s arrival only
    late = result.orders.filter(pl.col("ts_submitted") > B(N_BARS - 1)).select("status", "filled_quantity").rows()
    assert late == [("open", 0.0)]
    assert result.equity["ts_event"].to_list() == [B(i) for i in range(N_BARS)]
    rule = VectorizedStrategy(lambda: {"entries": pl.col("score") > 0.5}, size=1.0)
    with pytest.warns(NoOrdersWarning, match="'entries' was never true"):  # the run trades nothing: it says so
        assert rule.run(align_signals(b, sig)).fills.height == 0


def test_only_signals_after_the_data_align_to_nulls() -> None:
    b = make_bars()
    sig = make_signals([("AAA", B(N_BARS), B(N_BARS), 0.9)])
    assert align_signals(b, sig).frame["score"].null_count() == N_BARS
    assert both_modes(b, sig) == [None] * N_BARS


def test_several_predictions_arriving_at_once_the_freshest_event_wins() -> None:
    arrive = B(1) + HOUR
    rows = [("AAA", B(1) - 2 * HOUR, arrive, 0.3), ("AAA", B(1), arrive, 0.9), ("AAA", B(1) - HOUR, arrive, 0.5)]
    b, sig = make_bars(), make_signals(rows)
    assert both_modes(b, sig) == [None, None, 0.9, 0.9, 0.9]
    _, recorder, _ = event_view(b, sig)
    # one on_signal call with all three rows, in arrival order (then ts_event)
    assert len(recorder.arrivals) == 1
    now, symbols, events, scores = recorder.arrivals[0]
    assert now == ns(arrive) and symbols == ("AAA",) * 3
    assert events == [ns(B(1) - 2 * HOUR), ns(B(1) - HOUR), ns(B(1))] and scores == [0.3, 0.5, 0.9]


def test_a_late_revision_of_an_older_event_does_not_replace_a_fresher_prediction() -> None:
    rows = [
        ("AAA", B(1), B(1), 0.9),  # about bar 1, arrives at bar 1
        ("AAA", B(0), B(2) + HOUR, 0.1),  # a revision about bar 0 arriving later: ignored
        ("AAA", B(1), B(4), 0.4),  # a revision about the same event as the freshest: replaces it (tie: later wins)
    ]
    b, sig = make_bars(), make_signals(rows)
    # a plain "last arrived" as-of join would give 0.1 at bar 3
    assert both_modes(b, sig) == [None, 0.9, 0.9, 0.9, 0.4]
    _, recorder, _ = event_view(b, sig)
    assert [(now, ev, sc) for now, _, ev, sc in recorder.arrivals] == [
        (ns(B(1)), [ns(B(1))], [0.9]),
        (ns(B(2) + HOUR), [ns(B(0))], [0.1]),  # on_signal still reports the revision when it arrives
        (ns(B(4)), [ns(B(1))], [0.4]),
    ]
    same_arrival = [("AAA", B(2), B(2), 0.7), ("AAA", B(1), B(2), 0.2)]  # listed newest first
    assert both_modes(b, make_signals(same_arrival)) == [None, None, 0.7, 0.7, 0.7]


def test_signal_history_keeps_revisions_in_arrival_order() -> None:
    sig = make_signals([("AAA", B(1), B(1), 0.9), ("AAA", B(0), B(2), 0.1)])
    view = PITData(make_bars(), sig, now=B(3))
    assert view.signal_history("score", 5, "AAA").tolist() == [0.9, 0.1]
    assert view.signal("score", "AAA") == 0.9


# ----------------------------------------------------------------------------------------------- embargo


@pytest.mark.parametrize(
    ("embargo", "expected"),
    [
        (None, [None, 0.9, 0.9, 0.9, 0.9]),  # arrives with bar 1
        ("12h", [None, None, 0.9, 0.9, 0.9]),  # between bars 1 and 2
        ("1d", [None, None, 0.9, 0.9, 0.9]),  # exactly at bar 2
        (dt.timedelta(days=1, microseconds=1), [None, None, None, 0.9, 0.9]),  # just after bar 2
        ("2d", [None, None, None, 0.9, 0.9]),
        ("3d", [None, None, None, None, 0.9]),  # exactly at the last bar
        ("4d", [None] * N_BARS),  # after the last bar: never
    ],
)
def test_embargo_shifts_arrival(embargo: str | dt.timedelta | None, expected: list[float | None]) -> None:
    frame = pl.DataFrame({"symbol": ["AAA"], "ts_event": [B(1)], "score": [0.9]}).with_columns(
        pl.col("ts_event").cast(TS_DTYPE)
    )
    sig = signals(frame, ts_arrival="0s", embargo=embargo)
    assert sig.frame["ts_arrival"].to_list() == [B(1) + sig.embargo]
    assert both_modes(make_bars(), sig) == expected


def test_embargo_adds_to_an_arrival_column() -> None:
    sig = make_signals([("AAA", B(0), B(0) + HOUR, 0.9)], embargo="1d")
    assert sig.frame["ts_arrival"].to_list() == [B(1) + HOUR]
    assert both_modes(make_bars(), sig) == [None, None, 0.9, 0.9, 0.9]
    _, recorder, _ = event_view(make_bars(), sig)
    assert [now for now, *_ in recorder.arrivals] == [ns(B(1) + HOUR)]


def test_in_sample_prediction_raises_leakage_error_naming_symbol_and_timestamp() -> None:
    rows = [("BBB", B(1), B(1), 0.2), ("AAA", B(2), B(2), 0.3), ("AAA", B(3), B(3), 0.4)]
    # train_end = B(0), embargo 1d: ts_event <= B(1) is in sample -> BBB's row at B(1)
    with pytest.raises(LeakageError) as info:
        make_signals(rows, train_end=B(0), embargo="1d")
    message = str(info.value)
    assert "symbol 'BBB'" in message and f"first at {format_ns(ns(B(1)))}" in message, message
    assert format_ns(ns(B(1))) in message  # the cut train_end + embargo is named too
    assert info.value.symbol == "BBB" and info.value.timestamp == ns(B(1))
    # the boundary: one nanosecond after train_end + embargo is out of sample
    with pytest.raises(LeakageError, match="symbol 'AAA'"):
        make_signals(rows[1:], train_end=B(1), embargo="1d")
    out = make_signals(rows[2:], train_end=B(1), embargo="1d")
    assert out.frame["in_sample"].to_list() == [False]


def test_train_end_as_iso_string_and_the_message_names_the_first_offender() -> None:
    rows = [("AAA", B(2), B(2), 0.3), ("CCC", B(0), B(3), 0.1)]
    with pytest.raises(LeakageError) as info:
        make_signals(rows, train_end=B(2).isoformat())
    assert "symbol 'CCC'" in str(info.value) and f"first at {B(0).isoformat()}" in str(info.value)


def test_allow_in_sample_keeps_rows_flagged_and_both_modes_see_them() -> None:
    rows = [("AAA", B(0), B(0), 0.3), ("AAA", B(2), B(2), 0.8)]
    sig = make_signals(rows, train_end=B(0), embargo="1d", allow_in_sample=True)
    assert sig.frame.select("ts_arrival", "in_sample").rows() == [(B(1), True), (B(3), False)]
    # the embargo also shifted the arrivals by a day
    assert both_modes(make_bars(), sig) == [None, 0.3, 0.3, 0.8, 0.8]


# --------------------------------------------------------------------------------------- align_signals API


def test_align_keeps_bars_and_adds_float_columns() -> None:
    b = make_bars(("AAA", "BBB"))
    frame = pl.DataFrame(
        {"symbol": ["AAA", "BBB"], "ts_event": [B(1), B(1)], "score": [1, 2], "flag": [True, False]}
    ).with_columns(pl.col("ts_event").cast(TS_DTYPE))
    sig = signals(frame, ts_arrival="0s")
    out = align_signals(b, sig)
    assert out.frame.columns == [*b.frame.columns, "score", "flag"]
    assert out.frame.drop("score", "flag").equals(b.frame)
    assert out.symbols == b.symbols and out.freq == b.freq
    assert out.frame.schema["score"] == pl.Float64 and out.frame.schema["flag"] == pl.Float64
    assert "score" in out.fields and "flag" in out.fields
    at_b2 = out.frame.filter(pl.col("ts_event") == B(2)).select("symbol", "score", "flag").rows()
    assert at_b2 == [("AAA", 1.0, 1.0), ("BBB", 2.0, 0.0)]
    assert align_signals(b, sig, columns="flag", prefix="sig_").frame.columns == [*b.frame.columns, "sig_flag"]


def test_align_missing_values_are_null_so_comparisons_are_no_signal() -> None:
    sig = make_signals([("AAA", B(0), B(0), 0.9), ("AAA", B(1), B(1), None), ("AAA", B(2), B(2), float("nan"))])
    out = align_signals(make_bars(), sig).frame
    assert out["score"].to_list() == [0.9, None, None, None, None]
    assert out.select(pl.col("score") > 0.5)["score"].to_list() == [True, None, None, None, None]
    # the event mode reads them as None: one "missing", whether nothing is visible or the value is null/NaN
    assert both_modes(make_bars(), sig) == [0.9, None, None, None, None]


def test_align_symbols_without_signals_get_nulls_and_unsorted_arrivals_are_handled() -> None:
    frame = make_bars(("AAA", "BBB")).frame
    # per-row latencies: arrival order differs from the (ts_event, symbol) order
    late = frame.with_columns(
        pl.when(pl.col("symbol") == "AAA").then(pl.col("ts_arrival") + 2 * HOUR).otherwise(pl.col("ts_arrival"))
    )
    b = bars(late)
    sig = make_signals([("AAA", B(1), B(1) + HOUR, 0.9), ("BBB", B(1), B(1) + HOUR, 0.5)])
    assert both_modes(b, sig, "AAA") == [None, 0.9, 0.9, 0.9, 0.9]
    assert both_modes(b, sig, "BBB") == [None, None, 0.5, 0.5, 0.5]
    only_aaa = make_signals([("AAA", B(1), B(1), 0.9)])
    assert visible(vector_view(b, only_aaa), "BBB") == [None] * N_BARS


def test_align_rejects_signal_symbols_outside_the_bars() -> None:
    sig = make_signals([("AAA", B(1), B(1), 0.9), ("ZZZ", B(1), B(1), 0.1), ("YYY", B(1), B(1), 0.1)])
    with pytest.raises(DataError, match="not in the bars' universe") as info:
        align_signals(make_bars(), sig)
    assert info.value.symbol == "YYY" and "symbol 'YYY'" in str(info.value)


def test_align_rejects_name_clashes_and_bad_arguments() -> None:
    frame = pl.DataFrame({"symbol": ["AAA"], "ts_event": [B(1)], "close": [1.0], "score": [2.0]}).with_columns(
        pl.col("ts_event").cast(TS_DTYPE)
    )
    sig = signals(frame, ts_arrival="0s")
    with pytest.raises(ConfigError, match="already a bar column") as info:
        align_signals(make_bars(), sig)
    assert info.value.column == "close"
    assert align_signals(make_bars(), sig, prefix="sig_").frame.columns[-2:] == ["sig_close", "sig_score"]
    assert align_signals(make_bars(), sig, columns=["score"]).frame.columns[-1] == "score"
    scored = align_signals(make_bars(), sig, columns=["score"])
    with pytest.raises(ConfigError, match="already a bar column"):
        align_signals(scored, sig, columns="score")
    with pytest.raises(DataError, match="unknown signal column") as unknown:
        align_signals(make_bars(), sig, columns=["nope"])
    assert unknown.value.column == "nope"
    with pytest.raises(ConfigError, match="named twice"):
        align_signals(make_bars(), sig, columns=["score", "score"])
    with pytest.raises(ConfigError, match="empty"):
        align_signals(make_bars(), sig, columns=[])
    with pytest.raises(ConfigError, match="signals must be"):
        align_signals(make_bars(), frame)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="bars must be"):
        align_signals(make_bars().frame, sig)  # type: ignore[arg-type]


def test_align_on_bars_without_rows() -> None:
    empty = make_bars().until(B(0) - DAY)
    out = align_signals(empty, make_signals([("AAA", B(1), B(1), 0.9)]))
    assert out.frame.height == 0 and out.frame.columns[-1] == "score" and out.symbols == ["AAA"]


# ------------------------------------------------------------------------------------- the modes agree


class SignalRow(NamedTuple):
    symbol: str
    event: int  # hours after T0
    delay: int  # hours after the event
    score: float | None


SYMBOLS = ("AAA", "BBB", "CCC")


@st.composite
def signal_rows(draw: st.DrawFn) -> list[SignalRow]:
    """Arrivals on and between the bars (hours), in any order: revisions, several rows per arrival, nulls."""
    keys = draw(
        st.sets(
            st.tuples(
                st.sampled_from(SYMBOLS[:2]), st.integers(-30, 24 * 6), st.sampled_from([0, 0, 1, 5, 24, 30, 49])
            ),
            min_size=1,
            max_size=30,
        )
    )
    scores = draw(st.lists(st.one_of(st.floats(-1, 1), st.none()), min_size=len(keys), max_size=len(keys)))
    return [SignalRow(s, e, d, v) for (s, e, d), v in zip(sorted(keys), scores, strict=True)]


def _pit_reference(b: Bars, sig: Signals) -> dict[tuple[str, int], float | None]:
    """``PITData.signal`` at each bar's arrival."""
    out = {}
    for symbol, event, arrival in b.frame.select("symbol", pl.col("ts_event", "ts_arrival").cast(pl.Int64)).rows():
        out[(symbol, event)] = PITData(b, sig, now=arrival).signal("score", symbol)
    return out


def _slow_reference(b: Bars, rows: list[SignalRow], embargo_h: int) -> dict[tuple[str, int], float | None]:
    """Plain Python: the visible row with the greatest (ts_event, ts_arrival)."""
    out = {}
    for symbol, event, arrival in b.frame.select("symbol", pl.col("ts_event", "ts_arrival").cast(pl.Int64)).rows():
        seen = [
            (ns(T0) + r.event * 3_600 * 10**9, ns(T0) + (r.event + r.delay + embargo_h) * 3_600 * 10**9, r.score)
            for r in rows
            if r.symbol == symbol and ns(T0) + (r.event + r.delay + embargo_h) * 3_600 * 10**9 <= arrival
        ]
        out[(symbol, event)] = max(seen)[2] if seen else None
    return out


@settings(max_examples=40, deadline=None)
@given(
    rows=signal_rows(), embargo_h=st.sampled_from([0, 0, 1, 24]), gaps=st.lists(st.booleans(), min_size=15, max_size=15)
)
def test_aligned_column_equals_the_event_engines_view_at_every_bar(
    rows: list[SignalRow], embargo_h: int, gaps: list[bool]
) -> None:
    bar_frame = make_bars(SYMBOLS, n=N_BARS, latency="1h" if gaps[0] else None).frame
    # drop some bars (never all of a symbol's first): symbols with different calendars
    bar_frame = bar_frame.filter(pl.Series(gaps) | (pl.col("ts_event") == B(0)))
    b = bars(bar_frame)
    frame = pl.DataFrame(
        {
            "symbol": [r.symbol for r in rows],
            "ts_event": [T0 + r.event * HOUR for r in rows],
            "ts_arrival": [T0 + (r.event + r.delay) * HOUR for r in rows],
            "score": [r.score for r in rows],
        },
        schema={"symbol": pl.String, "ts_event": TS_DTYPE, "ts_arrival": TS_DTYPE, "score": pl.Float64},
    )
    sig = signals(frame, embargo=f"{embargo_h}h" if embargo_h else None)
    seen, _, _ = event_view(b, sig)
    aligned = vector_view(b, sig)
    assert aligned == seen
    assert aligned == _pit_reference(b, sig)
    assert aligned == _slow_reference(b, rows, embargo_h)


def test_modes_agree_on_a_seeded_random_stream_with_duplicates_and_reversals() -> None:
    rng = np.random.default_rng(7)
    b = make_bars(SYMBOLS, n=40)
    n = 400
    events = rng.integers(-48, 24 * 40, n)
    delays = rng.choice([0, 0, 1, 23, 24, 25, 24 * 3, 24 * 50], n)
    frame = (
        pl.DataFrame(
            {
                "symbol": rng.choice(SYMBOLS, n),
                "ts_event": [T0 + int(e) * HOUR for e in events],
                "ts_arrival": [T0 + int(e + d) * HOUR for e, d in zip(events, delays, strict=True)],
                "score": rng.normal(size=n),
            }
        )
        .with_columns(pl.col("ts_event", "ts_arrival").cast(TS_DTYPE))
        .unique(subset=["symbol", "ts_event", "ts_arrival"], keep="first", maintain_order=True)
    )
    sig = signals(frame)
    seen, _, _ = event_view(b, sig)
    aligned = vector_view(b, sig)
    assert aligned == seen == _pit_reference(b, sig)
    assert sum(v is not None for v in aligned.values()) > 100

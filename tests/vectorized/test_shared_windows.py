"""``ml4t._kernel.shared_windows``: the rolling windows several signal expressions share are computed once, and
the signals are the same bits as Polars evaluating the expressions as written (issue #18)."""

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from ml4t._kernel.shared_windows import share_windows


def _frame(n: int = 400, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 + np.cumsum(rng.normal(size=n))
    close[rng.random(n) < 0.02] = np.nan
    return pl.DataFrame(
        {
            "close": close,
            "volume": rng.integers(0, 1000, size=n),
            "group": rng.integers(0, 3, size=n),
        }
    ).with_columns(pl.when(pl.int_range(pl.len()) % 37 == 5).then(None).otherwise(pl.col("close")).alias("close"))


def _evaluated(frame: pl.DataFrame, exprs: list[pl.Expr], *, share: bool = True) -> tuple[pl.DataFrame, int]:
    """The expressions' columns as ``evaluate`` computes them (the stages first), and how many were lifted;
    ``share=False``: as it did before, the expressions as written in one lazy query (the reference: Polars'
    eager ``select`` may give a rolling mean other last bits than the lazy query)."""
    stages, rewritten = share_windows(exprs) if share else ([], exprs)
    query = frame.lazy()
    for stage in stages:
        query = query.with_columns(stage)
    start = frame.width + sum(len(stage) for stage in stages)
    out = query.with_columns(rewritten).select(pl.nth(range(start, start + len(exprs)))).collect()
    return out, sum(len(stage) for stage in stages)


def _same_bits(a: pl.DataFrame, b: pl.DataFrame) -> None:
    assert a.schema == b.schema
    for name in a.columns:
        x, y = a[name], b[name]
        assert x.is_null().to_list() == y.is_null().to_list(), name
        if x.dtype == pl.Float64:
            bits = [s.fill_null(0.0).to_numpy().view(np.uint64) for s in (x, y)]
            assert np.array_equal(*bits), name
        else:
            assert x.equals(y), name


def test_a_crossover_computes_each_moving_average_once():
    f, s = pl.col("close").rolling_mean(5), pl.col("close").rolling_mean(20)
    exprs = [(f > s).alias("entries\x1f0"), (f < s).alias("exits\x1f0")]
    frame = _frame()
    got, lifted = _evaluated(frame, exprs)
    assert lifted == 2
    _same_bits(got, _evaluated(frame, exprs, share=False)[0])


def test_windows_in_other_contexts_or_of_expressions_are_left_alone():
    w = pl.col("close").rolling_mean(3)
    cases = [
        [w.over("group").alias("a"), w.over("group").alias("b")],  # over groups: other rows
        [
            pl.col("close").fill_null(0).rolling_mean(3).alias("a"),
            pl.col("close").fill_null(0).rolling_mean(3).alias("b"),
        ],
        [w.alias("a")],  # computed once anyway
    ]
    for exprs in cases:
        stages, rewritten = share_windows(exprs)
        assert stages == []
        assert [e.meta.serialize(format="json") for e in rewritten] == [e.meta.serialize(format="json") for e in exprs]


_window = st.builds(
    lambda column, kind, size: getattr(pl.col(column), f"rolling_{kind}")(size),
    st.sampled_from(["close", "volume"]),
    st.sampled_from(["mean", "sum", "std", "max", "min"]),
    st.sampled_from([1, 2, 5, 20]),
)
_term = st.one_of(
    _window,
    _window.map(lambda w: w.shift(1)),
    _window.map(lambda w: w.over("group")),
    _window.map(lambda w: w * 1.1 - 0.3),
    st.just(pl.col("close")),
)
_signal = st.one_of(
    st.builds(lambda a, b: a > b, _term, _term),
    st.builds(lambda a, b: (a < b) & (a > 0), _term, _term),
    st.builds(lambda a, b: a - b, _term, _term),
    st.builds(lambda a, b: pl.when(a > b).then(a).otherwise(b.mean()), _term, _term),
)


@given(st.lists(_signal, min_size=1, max_size=6), st.integers(0, 3))
@settings(max_examples=80, deadline=None)
def test_shared_windows_give_polars_bits(signals, seed):
    exprs = [e.alias(f"s{i}") for i, e in enumerate(signals)]
    frame = _frame(seed=seed)
    got, _ = _evaluated(frame, exprs)
    _same_bits(got, _evaluated(frame, exprs, share=False)[0])

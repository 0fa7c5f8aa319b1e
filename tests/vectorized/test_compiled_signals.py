"""The compiled signal path evaluates exactly what Polars evaluates.

Sweeps compile the elementwise top of signal expressions (comparisons, &, |, ^, ~, fill_null, literals)
and evaluate it in the Rust kernel over the distinct Polars leaves. Here random expression trees over
columns with nulls and NaNs are evaluated both ways and compared value by value and null by null.
"""

import io
import math

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from ml4t import _core

N = 40
rng = np.random.default_rng(0)
_a = rng.normal(size=N)
_a[[3, 9]] = np.nan
_b = rng.normal(size=N)
_b[[9, 17]] = np.nan
FRAME = pl.DataFrame(
    {
        "a": pl.Series(_a).scatter([5, 20], None),
        "b": pl.Series(_b).scatter([1, 20], None),
        "i": pl.Series(rng.integers(-3, 4, N)).scatter([7], None),
        "p": pl.Series(rng.random(N) < 0.5).scatter([2, 30], None),
        "q": pl.Series(rng.random(N) < 0.5).scatter([2, 11], None),
    }
)

numbers = st.sampled_from(
    [
        pl.col("a"),
        pl.col("b"),
        pl.col("i"),
        pl.col("a").rolling_mean(3),
        pl.col("b").shift(2),
        pl.lit(0.25),
        pl.lit(-1),
        pl.lit(float("nan")),
        pl.col("a") * 2.0,
    ]
)
comparisons = st.builds(
    lambda x, y, op: getattr(x, op)(y),
    numbers,
    numbers,
    st.sampled_from(["__gt__", "__ge__", "__lt__", "__le__", "__eq__", "__ne__"]),
)
booleans = st.recursive(
    st.one_of(comparisons, st.sampled_from([pl.col("p"), pl.col("q"), pl.lit(True), pl.lit(False)])),
    lambda inner: st.one_of(
        st.builds(lambda x, y: x & y, inner, inner),
        st.builds(lambda x, y: x | y, inner, inner),
        st.builds(lambda x, y: x ^ y, inner, inner),
        st.builds(lambda x: ~x, inner),
        st.builds(lambda x, v: x.fill_null(v), inner, st.booleans()),
    ),
    max_leaves=6,
)


def _compiled(expr: pl.Expr) -> tuple[np.ndarray, np.ndarray] | None:
    programs = _core.SignalPrograms(pl.struct([expr.alias("f0")]).meta.serialize(format="json"), [(0, 0)], 1)
    try:
        leaves = [
            pl.Expr.deserialize(io.StringIO(j), format="json").alias(f"l{i}") for i, j in enumerate(programs.leaves())
        ]
    except pl.exceptions.ComputeError:
        return None  # e.g. a NaN literal does not survive JSON: sweeps use the plain path then
    result = FRAME.with_columns(leaves).select(pl.nth(range(FRAME.width, FRAME.width + len(leaves))))
    is_bool = [dt == pl.Boolean for dt in result.dtypes]
    if programs.result_types(is_bool)[0][0] is not True:
        return None  # outside the compiled subset: sweeps hand it to Polars
    values = np.ascontiguousarray(result.select(pl.all().cast(pl.Float64)).to_numpy().T) if leaves else np.zeros((0, N))
    valid = (
        np.ascontiguousarray(result.select(pl.all().is_not_null()).to_numpy().T) if leaves else np.zeros((0, N), bool)
    )
    return programs.evaluate(0, 0, values, valid)


@settings(max_examples=300, deadline=None)
@given(booleans)
def test_compiled_tops_match_polars(expr):
    compiled = _compiled(expr)
    if compiled is None:
        return
    expected = FRAME.with_columns(expr.alias("out"))["out"]
    if expected.len() == 1:  # a literal-only expression broadcasts
        expected = pl.Series([expected[0]] * N, dtype=pl.Boolean)
    values, valid = compiled
    assert valid.tolist() == expected.is_not_null().to_list(), str(expr)
    got = [bool(v) if ok else None for v, ok in zip(values, valid, strict=True)]
    assert got == expected.to_list(), str(expr)


def test_crossover_compiles_to_two_shared_leaves():
    a = pl.col("a").rolling_mean(3)
    fields = [(a > pl.col("a").rolling_mean(w)).alias(f"f{i}") for i, w in enumerate((5, 8))]
    programs = _core.SignalPrograms(pl.struct(fields).meta.serialize(format="json"), [(0, 0), (1, 0)], 2)
    assert len(programs.leaves()) == 3  # the shared fast average is one leaf
    assert programs.result_types([False, False, False]) == [[True] + [None] * 9, [True] + [None] * 9]


def test_bitwise_integer_and_is_not_compiled():
    assert _compiled(pl.col("i") & pl.col("i")) is None


def test_sweep_falls_back_for_expressions_outside_the_subset():
    from ml4t.datasets import synthetic_bars
    from ml4t.vectorized import VectorizedStrategy

    universe = synthetic_bars(1, 120, "1d", seed=5)

    def odd(w: int):  # a NaN literal cannot be compiled; the sweep must still match run()
        return {"entries": (pl.col("close") > pl.col("close").rolling_mean(w)) | (pl.col("close") > math.nan)}

    strat = VectorizedStrategy(odd)
    sweep = strat.sweep(universe, w=[5, 10])
    for w in (5, 10):
        row = sweep.metrics.filter(pl.col("w") == w)
        assert row["final_equity"][0] == strat.run(universe, w=w).equity["equity"][-1]

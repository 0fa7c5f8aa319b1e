"""The compiled signal path evaluates exactly what Polars evaluates.

Sweeps compile the elementwise top of signal expressions (comparisons, &, |, ^, ~, + - * /, negation, abs,
clip, casts, is_null, fill_null, when/then/otherwise, literals) and evaluate it in the Rust kernel over the
distinct Polars leaves. Here random expression trees over columns with nulls, NaNs, zeros and infinities are
evaluated both ways and compared value by value, null by null and type by type; an expression the compiler
hands back to Polars (outside the exact subset for its dtypes) is skipped, and the tests below pin that the
portfolio expressions of issue #12 are not.
"""

import io
import math

import numpy as np
import polars as pl
from hypothesis import example, given, settings
from hypothesis import strategies as st
from tests.bitwise import assert_same_sweep

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


def _evaluate(expr: pl.Expr, frame: pl.DataFrame = FRAME) -> tuple[bool, np.ndarray, np.ndarray] | None:
    """The compiled evaluation of ``expr`` on ``frame``, as a sweep does it: (is boolean, values, validity),
    or None when the compiler hands the expression back to Polars."""
    programs = _core.SignalPrograms(pl.struct([expr.alias("f0")]).meta.serialize(format="json"), [(0, 0)], 1)
    try:
        parsed = [pl.Expr.deserialize(io.StringIO(j), format="json") for j in programs.leaves()]
    except pl.exceptions.ComputeError:
        return None  # e.g. a NaN literal does not survive JSON: sweeps use the plain path then
    if any(e.meta.serialize(format="json") != j for e, j in zip(parsed, programs.leaves(), strict=True)):
        return None  # a float literal Polars reads back an ulp off: sweeps use the plain path then
    leaves = [e.alias(f"l{i}") for i, e in enumerate(parsed)]
    n = frame.height
    try:
        result = frame.with_columns(leaves).select(pl.nth(range(frame.width, frame.width + len(leaves))))
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException):
        return None  # a leaf Polars refuses (e.g. a strict cast that fails): the plain path raises it
    is_bool = programs.result_types([str(dt) for dt in result.dtypes])[0][0]
    if is_bool is None:
        return None  # outside the compiled subset: sweeps hand it to Polars
    values = np.ascontiguousarray(result.select(pl.all().cast(pl.Float64)).to_numpy().T) if leaves else np.zeros((0, n))
    valid = (
        np.ascontiguousarray(result.select(pl.all().is_not_null()).to_numpy().T) if leaves else np.zeros((0, n), bool)
    )
    return (is_bool, *programs.evaluate(0, 0, values, valid))


def _compiled(expr: pl.Expr) -> tuple[np.ndarray, np.ndarray] | None:
    evaluated = _evaluate(expr)
    if evaluated is None or not evaluated[0]:
        return None
    return evaluated[1], evaluated[2]


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
    assert programs.result_types(["Float64"] * 3) == [[True] + [None] * 9, [True] + [None] * 9]


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


# --- issue #12: arithmetic, selections and casts -------------------------------------------------------------
# Columns of every dtype a leaf can have, with nulls, NaN, +-inf and (signed) zeros.
SPECIAL = [0.0, -0.0, math.inf, -math.inf, math.nan, 1.0, -1.0, 1e300]
_x = np.concatenate([SPECIAL, rng.normal(size=N - len(SPECIAL)) * 3])
_y = np.concatenate([rng.normal(size=N - len(SPECIAL)) * 3, SPECIAL[::-1]])
WIDE = pl.DataFrame(
    {
        "x": pl.Series(_x).scatter([9, 21], None),
        "y": pl.Series(_y).scatter([0, 21, 33], None),
        "i": pl.Series(rng.integers(-3, 4, N)).scatter([7], None),
        "u": pl.Series(rng.integers(0, 6, N), dtype=pl.UInt32).scatter([12], None),
        "f": pl.Series(_x[::-1], dtype=pl.Float32).scatter([4], None),
        "p": pl.Series(rng.random(N) < 0.5).scatter([2, 30], None),
    }
)

number_leaves = st.sampled_from(
    [
        pl.col("x"),
        pl.col("y"),
        pl.col("i"),
        pl.col("u"),
        pl.col("f"),
        pl.col("x").rolling_mean(3),
        pl.col("y").sum(),  # a scalar leaf: Polars broadcasts it
        pl.lit(0.25),
        pl.lit(-1),
        pl.lit(0),
        pl.lit(3),
        pl.lit(0.0),
        pl.lit(None),
        pl.lit(None, dtype=pl.Float64),
        pl.lit(1.5, dtype=pl.Float32),
        pl.lit(7, dtype=pl.Int32),
    ]
)
number_leaves = st.one_of(
    number_leaves,
    st.floats(allow_nan=False, allow_infinity=False).map(pl.lit),  # literals must survive JSON to the bit
    st.integers(-(2**53), 2**53).map(pl.lit),
)
predicates = st.one_of(
    st.sampled_from([pl.col("p"), pl.lit(True), pl.lit(None, dtype=pl.Boolean)]),
    st.builds(lambda x, y, op: getattr(x, op)(y), number_leaves, number_leaves, st.sampled_from(["__gt__", "__le__"])),
)
bounds = st.one_of(st.none(), st.sampled_from([-1, 0.5, 2.0, math.nan]), st.sampled_from([pl.col("y"), pl.lit(None)]))
arithmetic = st.sampled_from(["__add__", "__sub__", "__mul__", "__truediv__", "__rsub__", "__rtruediv__"])


def _chain(c, t, d, u, f):
    return pl.when(c).then(t).when(d).then(u).otherwise(f)


numbers = st.recursive(
    number_leaves,
    lambda inner: st.one_of(
        st.builds(lambda x, y, op: getattr(x, op)(y), inner, inner, arithmetic),
        st.builds(lambda x: -x, inner),
        st.builds(lambda x: x.abs(), inner),
        st.builds(lambda x, lo, hi: x.clip(lo, hi), inner, bounds, bounds),
        st.builds(lambda x, t: x.cast(t), inner, st.sampled_from([pl.Float64, pl.Float32, pl.Int64])),
        st.builds(lambda c, t, f: pl.when(c).then(t).otherwise(f), predicates, inner, inner),
        st.builds(lambda c, t: pl.when(c).then(t), predicates, inner),
        st.builds(_chain, predicates, inner, predicates, inner, inner),
        st.builds(lambda x, v: x.fill_null(v), inner, st.sampled_from([0, 0.5, -2])),
        st.builds(lambda x, v: x.fill_nan(v), inner, st.sampled_from([0, 0.5, None])),
    ),
    max_leaves=8,
)
tests_of_numbers = st.one_of(
    st.builds(
        lambda x, y, op: getattr(x, op)(y), numbers, numbers, st.sampled_from(["__gt__", "__ge__", "__eq__", "__ne__"])
    ),
    st.builds(lambda x: x.is_null(), numbers),
    st.builds(lambda x: x.is_not_null(), numbers),
    st.builds(lambda x: x.is_nan(), numbers),
    st.builds(lambda x: x.is_not_nan(), numbers),
    st.builds(lambda x: x.cast(pl.Boolean), numbers),
)
mixed = st.recursive(
    st.one_of(tests_of_numbers, predicates),
    lambda inner: st.one_of(
        st.builds(lambda x, y: x & y, inner, inner),
        st.builds(lambda x: ~x, inner),
        st.builds(lambda c, t, f: pl.when(c).then(t).otherwise(f), inner, inner, inner),
        st.builds(lambda c, t: pl.when(c).then(t), inner, inner),
        st.builds(lambda x: x.cast(pl.Float64), inner),
    ),
    max_leaves=4,
)


def _polars(expr: pl.Expr, frame: pl.DataFrame) -> pl.Series | BaseException:
    """Polars' own evaluation (broadcast to the frame), or the error when Polars refuses the expression."""
    try:
        out = frame.with_columns(expr.alias("out"))["out"]
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException) as e:
        return e
    return out if out.len() == frame.height else pl.repeat(out[0], frame.height, dtype=out.dtype, eager=True)


def _assert_same(expr: pl.Expr, frame: pl.DataFrame = WIDE) -> bool:
    """Compiled == Polars (type, nulls, values to the bit, NaN == NaN, the sign of zero); False when the
    compiler hands the expression to Polars."""
    compiled = _evaluate(expr, frame)
    expected = _polars(expr, frame)
    if compiled is None:
        return False
    if isinstance(expected, BaseException):
        # Polars 2.1 refuses `when(<computed scalar>).then(<column>).otherwise(<null>)` with a length mismatch
        # of its own making, and panics on `when(p).then(<int literal beyond i32>).fill_null(0)`; any other
        # refusal means the compiler took an operation Polars does not accept
        own_bugs = ("doesn't match the DataFrame height", "implementation error")
        assert any(bug in str(expected) for bug in own_bugs), f"compiled what Polars refuses: {expr}"
        return False
    is_bool, values, valid = compiled
    assert is_bool == (expected.dtype == pl.Boolean), f"{expr}: {expected.dtype}"
    assert valid.tolist() == expected.is_not_null().to_list(), str(expr)
    want = expected.cast(pl.Float64).to_numpy().astype(float)
    got = np.where(valid, values, np.nan)
    same = (got == want) | (np.isnan(got) & np.isnan(want))
    same &= (np.signbit(got) == np.signbit(want)) | np.isnan(want)
    bad = np.flatnonzero(~same)
    assert not bad.size, f"{expr}: rows {bad.tolist()}: got {got[bad].tolist()}, Polars {want[bad].tolist()}"
    return True


@settings(max_examples=600, deadline=None)
@given(st.one_of(numbers, mixed))
@example((-pl.lit(0.0)) + pl.lit(0.0))  # two scalars add as IEEE says: +0.0, not the column rule's -0.0
@example(pl.when(True).then(3.0).otherwise(pl.col("x")) / 158640615202251.0)  # Polars: 3 * (1/d)
@example(pl.when(pl.col("x") > 0).then(3.0).otherwise(pl.col("x")) / 158640615202251.0)  # Polars: 3 / d
@example(pl.col("x") + pl.when(pl.lit(None, dtype=pl.Boolean)).then(pl.col("x")).otherwise(0.0))  # row by row
def test_compiled_arithmetic_and_selections_match_polars(expr):
    _assert_same(expr)


def test_portfolio_weight_expressions_compile_and_match_polars():
    rank = pl.col("x").rank("ordinal")  # UInt32, one leaf shared by every k
    score = pl.col("y")
    for expr in [
        pl.when(rank <= 3).then(1.0 / 3).otherwise(0.0),
        pl.when(rank <= 3).then(score),  # no otherwise: null, "leave the symbol alone"
        pl.when(rank <= 3).then(1.0).when(rank > 37).then(-1.0).otherwise(0.0),
        score * 1.5,
        -score,
        score.abs(),
        score.clip(-0.5, 0.5),
        score.clip(upper_bound=1),
        score / 4,
        pl.col("i") / 0,  # true division of integers: inf, -inf and NaN as Polars gives
        (rank <= 3).cast(pl.Float64) / 3,
        pl.col("p").cast(pl.Float64) * score,
        score.fill_null(0.0) + pl.col("x"),
        pl.when(score.is_null()).then(0.0).otherwise(score),
        (score / 2).fill_nan(0.0),
        pl.when(pl.col("p")).then(score).otherwise(-score) - 1,
    ]:
        assert _assert_same(expr), f"not compiled: {expr}"


def _leaves(expr: pl.Expr) -> list[str]:
    return _core.SignalPrograms(pl.struct([expr.alias("f0")]).meta.serialize(format="json"), [(0, 0)], 1).leaves()


def test_exact_only_where_f64_holds_polars_arithmetic():
    """Integer + - * (wrapping, unsigned underflow), Float32 arithmetic, integer negation, casts to integers
    and bitwise `&` are handed to Polars for these dtypes; `//` and a division by anything but a literal
    (maybe a scalar such as `y.sum()`, which Polars divides by its reciprocal) are one Polars leaf."""
    for expr in [
        pl.col("u") - 3,
        pl.col("i") * pl.col("i"),
        pl.col("f") * 0.1,
        pl.col("f") > 0.1,  # the literal is rounded to f32 by Polars
        -pl.col("u"),
        pl.col("x").cast(pl.Int64),
        pl.col("x") & pl.col("y"),
    ]:
        assert _evaluate(expr, WIDE) is None, str(expr)
    for expr in [pl.col("x") // 2, pl.col("x") % 2, pl.col("x") / pl.col("y").sum(), pl.col("x") / pl.col("y")]:
        assert _leaves(expr) == [expr.meta.serialize(format="json")], str(expr)
    assert len(_leaves(pl.col("x") / (pl.lit(2) * 3))) == 1, "a literal divisor is compiled"


def test_a_leaf_whose_float_literal_does_not_survive_polars_json_is_not_compiled():
    """Polars' JSON reader parses about one float literal in ten an ulp or two off (1 / 11 among them), so
    a leaf holding such a literal would differ from the expression the plain path evaluates: the chunk
    takes the plain path. The compiled programs' own literals are parsed exactly by the kernel."""
    from ml4t._kernel.signals import Grid, compile_chunk, panel_of
    from ml4t.datasets import synthetic_bars
    from ml4t.settings import VectorizedSettings

    panel = panel_of(synthetic_bars(2, 60, "1d", seed=2))
    exact = pl.Expr.deserialize(io.StringIO(pl.lit(1 / 11).meta.serialize(format="json")), format="json")
    assert pl.select(exact).item() != 1 / 11, "the premise: Polars' JSON round trip is lossy"

    def rule(w: int, c: float):
        return {"entries": (pl.col("close") * c).rolling_mean(w) > pl.col("close") * (1 / 11)}

    for c, compiled in ((0.25, True), (1 / 11, False)):
        grid = Grid.build(rule, {"w": [3, 5], "c": [c]})
        chunk = compile_chunk(rule, panel, grid, [0, 1], 1 << 30, VectorizedSettings())
        assert (chunk is not None) is compiled, c


def test_an_expression_polars_cannot_serialize_is_evaluated_by_polars_whole():
    """A function closing over something unpicklable (a lock, a loaded model) cannot be serialized for the
    compiler: the sweep hands it to Polars, which evaluates it, instead of failing (found for issue #17)."""
    import threading

    from ml4t.datasets import synthetic_bars
    from ml4t.vectorized import VectorizedStrategy

    lock = threading.Lock()

    def locked_mean(window: int):
        def mean(s: pl.Series) -> pl.Series:
            with lock:
                return s.rolling_mean(window)

        return pl.col("close").map_batches(mean, return_dtype=pl.Float64)

    def rule(window: int) -> dict[str, pl.Expr]:
        return {"entries": pl.col("close") > locked_mean(window), "exits": pl.col("close") < locked_mean(window)}

    def plain(window: int) -> dict[str, pl.Expr]:
        mean = pl.col("close").rolling_mean(window)
        return {"entries": pl.col("close") > mean, "exits": pl.col("close") < mean}

    bars = synthetic_bars(2, 300, "1d", seed=3)
    got = VectorizedStrategy(rule).sweep(bars, progress=False, window=[5, 20]).metrics
    assert got.equals(VectorizedStrategy(plain).sweep(bars, progress=False, window=[5, 20]).metrics)


def test_a_sweep_whose_structure_and_literals_change_with_its_parameters_compiles_exactly(monkeypatch):
    """The compiler reuses one expression's template for every later one of the same shape (issue #18): the
    numbers differ, the structure decides. A function whose structure depends on a parameter (a branch on
    ``fast``), with literals that change with it (``1 + k / 100``, ``k * 0.5``) and leaves that coincide for
    some combinations (fast == slow), sweeps bit for bit like the plain Polars path, whose every expression
    Polars evaluates whole."""
    import ml4t.vectorized._strategy as strategy_module
    from ml4t._kernel.signals import Grid, compile_chunk, panel_of
    from ml4t.datasets import synthetic_bars
    from ml4t.vectorized import VectorizedStrategy

    def rule(fast: int, slow: int, k: int) -> dict[str, pl.Expr]:
        f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
        entries = (f > s * (1 + k / 100)) & (pl.col("volume") > k * 0.5) if fast > 4 else pl.col("close") > s
        return {"entries": entries, "exits": (f < s) | (pl.col("close") < pl.lit(-k)), "sl_stop": pl.lit(0.01 * k)}

    bars = synthetic_bars(2, 400, "1d", seed=8)
    grids = {"fast": [2, 3, 5, 10], "slow": [5, 10, 20], "k": [1, 3, 7]}
    strategy = VectorizedStrategy(rule, init_cash=10_000)
    panel = panel_of(bars)
    grid = Grid.build(rule, grids)
    chunk = compile_chunk(rule, panel, grid, list(range(len(grid.combos))), 1 << 30, strategy.settings)
    assert chunk is not None and not isinstance(chunk, int), "the rule compiles"
    # one leaf per distinct moving average and column (fast == slow shares one)
    assert chunk.values.shape[1] == len({2, 3, 5, 10, 20}) + 2
    compiled = strategy.sweep(bars, progress=False, **grids)
    monkeypatch.setattr(strategy_module, "compile_chunk", lambda *a, **k: None)
    plain = strategy.sweep(bars, progress=False, **grids)
    assert_same_sweep(compiled, plain)
    assert compiled.metrics["trade_count"].sum() > 0

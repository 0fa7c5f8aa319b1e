"""The config expression language (ml4t.config.compile_expr): what it means (against Polars written by hand),
what it refuses (with the position), that nothing in the text runs as Python, and that no expression of it
can read the future (truncating the data never changes an earlier value)."""

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ml4t.config import FUNCTIONS, compile_expr
from ml4t.datasets import synthetic_bars
from ml4t.errors import ConfigError

BARS = synthetic_bars(n_assets=3, n_bars=120, freq="1d", seed=9).frame
COLUMNS = set(BARS.columns)
close, high, low, volume = pl.col("close"), pl.col("high"), pl.col("low"), pl.col("volume")


def _values(expr: pl.Expr, frame: pl.DataFrame = BARS) -> pl.Series:
    """``expr`` per symbol in time order (as the vectorized mode evaluates a symbol-scope rule)."""
    return (
        frame.sort("symbol", "ts_event")
        .select(expr.over("symbol").alias("v") if "ts_event" not in str(expr) else expr.alias("v"))
        .to_series()
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sma(close, fast) > sma(close, slow)", close.rolling_mean(10) > close.rolling_mean(50)),
        (
            "ema(close, 12) - ema(close, 26)",
            close.ewm_mean(span=12, adjust=False) - close.ewm_mean(span=26, adjust=False),
        ),
        ("zscore(close, 20) < -th", (close - close.rolling_mean(20)) / close.rolling_std(20) < -1.5),
        ("lag(close, 1) * 2 + 1", close.shift(1) * 2 + 1),
        ("pct_change(close)", close / close.shift(1) - 1),
        ("pct_change(close, 5)", close / close.shift(5) - 1),
        ("diff(close)", close - close.shift(1)),
        ("close > high or close < low and not volume > 0", (close > high) | ((close < low) & ~(volume > 0))),
        ("low < close < high", (low < close) & (close < high)),
        ("1.0 if close > sma(close, fast) else 0.0", pl.when(close > close.rolling_mean(10)).then(1.0).otherwise(0.0)),
        (
            "crossed_above(sma(close, fast), sma(close, slow))",
            (close.rolling_mean(10) > close.rolling_mean(50))
            & (close.rolling_mean(10).shift(1) <= close.rolling_mean(50).shift(1)),
        ),
        ("clip(abs(log(close)), 0, 5)", close.log().abs().clip(0, 5)),
        ("max(high - low, abs(close - lag(close, 1)))", pl.max_horizontal(high - low, (close - close.shift(1)).abs())),
        ("fill_null(rolling_max(high, 20), 0)", high.rolling_max(20).fill_null(0)),
        ("sma(close, fast * 2) ** 0.5 % 7", close.rolling_mean(20) ** 0.5 % 7),
        ('col("close") / 100', close / 100),
    ],
)
def test_means_what_polars_written_by_hand_means(text, expected):
    got = compile_expr(text, params={"fast": 10, "slow": 50, "th": 1.5}, columns=COLUMNS)
    assert _values(got).equals(_values(expected), check_names=False)


def test_cross_sectional_functions_compare_symbols_at_one_timestamp():
    got = BARS.select(compile_expr("rank(close)", columns=COLUMNS).alias("r"), "ts_event", "symbol", "close")
    by_hand = BARS.select(((close.rank() / close.count()).over("ts_event")).alias("r"))
    assert got["r"].equals(by_hand["r"])
    assert got.group_by("ts_event").agg(pl.col("r").max())["r"].eq(1.0).all()


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("__import__('os').system('touch /tmp/ml4t-pwned')", "(no methods)", 1),
        ("__import__('os')", "'_' are refused", 1),
        ("sma(__builtins__, 3)", "'_' are refused", 5),
        ("close.shift(-1)", "only the language's functions can be called", 1),
        ("close.__class__", "attribute access", 1),
        ("lag(close, -1)", "a negative lag reads the future", 12),
        ("sma(close, 10) > lead(close, 1)", "functions that read later bars do not exist", 18),
        ("close > peek(close)", "unknown function 'peek'", 9),
        ("close[1]", "indexing", 1),
        ("(lambda: 1)()", "only the language's functions", 1),
        ("[x for x in close]", "comprehensions", 1),
        ("clsoe > 1", "did you mean 'close'", 1),
        ("sma(close, fast)", "unknown name 'fast'", 12),
        ("sma(close, 2.5)", "must be a whole number", 12),
        ("sma(close, 0)", "n must be >= 1", 12),
        ("sma(close)", "takes 2 arguments, got 1", 1),
        ("sma(x=close, n=3)", "positional arguments only", 1),
        ("'close' > 1", "text is allowed only as a column name", 1),
        ("close >", "not a valid expression", 1),
        ("close > 1; import os", "not a valid expression", 10),
        ("close is None", "comparison Is", 1),
        ("~close", "use not", 1),
        ("1 / 0 + close", "cannot be combined", 1),
        ("10 ** 10 ** 10", "cannot be combined", 1),
        ('col("clsoe")', "did you mean 'close'", 1),
        ("sma", "is a function: call it", 1),
    ],
)
def test_refuses_what_is_outside_the_language_naming_the_position(text, message, column):
    with pytest.raises(ConfigError, match="at line") as caught:
        compile_expr(text, columns=COLUMNS, argument="strategy.entries")
    error = str(caught.value)
    assert message in error
    assert f"column {column} of the expression" in error
    assert "argument 'strategy.entries'" in error
    shown, caret = error.splitlines()[1:3]
    assert shown.strip() == text.strip()
    assert caret.index("^") - 4 == column - 1  # the caret sits under the place


def test_no_text_ever_runs_as_python(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for text in (
        "__import__('os').system('touch pwned')",
        "open('pwned', 'w')",
        'exec(\'open("pwned", "w")\')',
        "eval('1')",
        "globals()",
    ):
        with pytest.raises(ConfigError):
            compile_expr(text)
    assert list(tmp_path.iterdir()) == []


def test_a_name_both_parameter_and_column_is_refused():
    with pytest.raises(ConfigError, match=r"both a parameter and a column; write col\('close'\)"):
        compile_expr("close > 1", params={"close": 3}, columns=COLUMNS)
    with pytest.raises(ConfigError, match="must be a number or a boolean"):
        compile_expr("sma(close, n)", params={"n": "10"}, columns=COLUMNS)


def test_every_function_is_documented_and_reachable():
    for name, fn in FUNCTIONS.items():
        assert fn.doc
        args = ", ".join("close" if a in {"x", "a", "b"} else "3" for a in fn.arguments)
        assert isinstance(compile_expr(f"{name}({args})", columns=COLUMNS), pl.Expr)


# ------------------------------------------------------------------------------------------ causality
_SERIES = st.sampled_from(["close", "high", "low", "volume"])
_WINDOW = st.integers(2, 15)


@st.composite
def _numeric(draw, depth=0):
    """A random numeric expression of the language's time-series part (the cross-sectional functions are left
    out: the property below truncates one symbol's history)."""
    if depth >= 3 or draw(st.booleans()):
        return draw(_SERIES)
    kind = draw(st.sampled_from(["window", "lag", "binary", "if", "unary", "pair"]))
    a = draw(_numeric(depth + 1))
    if kind == "window":
        fn = draw(st.sampled_from(["sma", "ema", "rolling_std", "rolling_min", "rolling_max", "zscore", "diff"]))
        return f"{fn}({a}, {draw(_WINDOW)})"
    if kind == "lag":
        return f"lag({a}, {draw(st.integers(0, 5))})"
    if kind == "unary":
        return f"{draw(st.sampled_from(['abs', 'pct_change', '-']))}({a})"
    b = draw(_numeric(depth + 1))
    if kind == "binary":
        return f"({a} {draw(st.sampled_from(['+', '-', '*']))} {b})"
    if kind == "pair":
        return f"{draw(st.sampled_from(['min', 'max']))}({a}, {b})"
    return f"({a} if {a} > {b} else {b})"


@st.composite
def _expressions(draw):
    """A numeric expression, or a rule: a comparison or a crossing of two, combined with and / or / not."""
    a, b = draw(_numeric()), draw(_numeric())
    kind = draw(st.sampled_from(["numeric", "compare", "crossed", "logic"]))
    if kind == "numeric":
        return a
    if kind == "compare":
        return f"{a} > {b}"
    if kind == "crossed":
        return f"{draw(st.sampled_from(['crossed_above', 'crossed_below']))}({a}, {b})"
    return f"not ({a} > {b}) or ({b} <= {a} and {a} != {b})"


@settings(max_examples=60, deadline=None)
@given(text=_expressions(), cut=st.integers(5, 119))
def test_no_expression_of_the_language_reads_the_future(text, cut):
    one = BARS.filter(pl.col("symbol") == "A000").sort("ts_event")
    expr = compile_expr(text, columns=COLUMNS)
    full = one.select(expr.alias("v"))["v"]
    truncated = one.head(cut).select(expr.alias("v"))["v"]
    assert full.head(cut).equals(truncated), text

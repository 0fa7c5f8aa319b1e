"""The config expression language (ml4t.config.compile_expr): what it means (against Polars written by hand),
what it refuses (with the position), that nothing in the text runs as Python, and that no expression of it
can read the future (truncating the data never changes an earlier value)."""

import ast
import inspect
import re
import statistics

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ml4t._kernel.signals import Grid, evaluate
from ml4t.config import FUNCTIONS, ConfigFileError, _expr, compile_expr, loads
from ml4t.data import bars
from ml4t.datasets import synthetic_bars
from ml4t.errors import ConfigError
from ml4t.settings import VectorizedSettings
from ml4t.vectorized import VectorizedStrategy

BARS = synthetic_bars(n_assets=3, n_bars=120, freq="1d", seed=9).frame
COLUMNS = set(BARS.columns)
close, high, low, volume = pl.col("close"), pl.col("high"), pl.col("low"), pl.col("volume")


def _values(expr: pl.Expr, frame: pl.DataFrame = BARS) -> pl.Series:
    """``expr`` per symbol in time order (as the vectorized mode evaluates a symbol-scope rule)."""
    return frame.sort("symbol", "ts_event").select(expr.over("symbol").alias("v")).to_series()


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
        ("crossed_above(close, 100)", (close > 100) & (close.shift(1) <= 100)),
        ("crossed_below(90, close)", (close > 90) & (close.shift(1) <= 90)),
        ("abs(-3) + close", pl.lit(3) + close),
    ],
)
def test_means_what_polars_written_by_hand_means(text, expected):
    got = compile_expr(text, params={"fast": 10, "slow": 50, "th": 1.5}, columns=COLUMNS)
    assert _values(got).equals(_values(expected), check_names=False)


def test_cross_sectional_functions_compare_symbols_at_one_timestamp():
    got = BARS.select(compile_expr("rank(close)", columns=COLUMNS, scope="panel").alias("r"), "ts_event", "close")
    by_hand = BARS.select(((close.rank() / close.count()).over("ts_event")).alias("r"))
    assert got["r"].equals(by_hand["r"])
    for (ts,), part in got.group_by("ts_event"):  # plain Python: the position among the timestamp's closes
        closes = part["close"].to_list()
        expected = [(sorted(closes).index(c) + 1) / len(closes) for c in closes]
        assert part["r"].to_list() == expected, ts


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        (
            "__import__('os').system('touch /tmp/ml4t-pwned')",
            "methods (.system(...)) are not part of the expression language",
            1,
        ),
        ("__import__('os')", "'_' are refused", 1),
        ("sma(__builtins__, 3)", "'_' are refused", 5),
        ("close.shift(-1)", "lag(x, k) with k >= 0 reads earlier ones", 1),
        ("sma(close, 5)(1)", "only the language's functions can be called", 1),
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
        ("sma(5, 3)", "sma() is time-series: x must read a column", 1),
        ("close > lag(2 * 3, 1)", "lag() is time-series: x must read a column", 9),
        ("crossed_above(1, 2)", "a or b must read a column", 1),
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
        assert isinstance(compile_expr(f"{name}({args})", columns=COLUMNS, scope="panel"), pl.Expr)


def test_signatures_show_the_arguments_and_defaults():
    assert FUNCTIONS["sma"].signature == "sma(x, n)"
    assert FUNCTIONS["pct_change"].signature == "pct_change(x, k=1)"
    assert FUNCTIONS["clip"].signature == "clip(x, lower, upper)"
    assert {fn.kind for fn in FUNCTIONS.values()} == {"time-series", "cross-sectional", "elementwise"}


def test_the_functions_docstring_lists_every_function_under_its_kind():
    """The rendered API page shows FUNCTIONS' docstring: it must not drift from the table."""
    tree = ast.parse(inspect.getsource(_expr))
    body = tree.body
    at = next(i for i, n in enumerate(body) if isinstance(n, ast.AnnAssign) and n.target.id == "FUNCTIONS")
    doc = body[at + 1].value.value
    bullets = {b.split("*")[0]: b for b in doc.split("\n- *")[1:]}
    assert set(bullets) == {"time-series", "cross-sectional", "elementwise"}
    for fn in FUNCTIONS.values():
        assert f"``{fn.signature}``" in bullets[fn.kind], fn.name
    assert sorted(re.findall(r"``(\w+)\(", doc)) == sorted(FUNCTIONS)  # each once, no other


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


# ------------------------------------------------------------------------------------------ scopes
_FULL = synthetic_bars(n_assets=4, n_bars=90, freq="1d", seed=21)
# a ragged panel: A001 lists on the 11th day, A003 misses every fifth day, A002 delists 8 days early
PANEL_BARS = bars(
    _FULL.frame.with_columns(day=pl.col("ts_event").rank("dense").cast(pl.Int64) - 1)
    .filter(
        ~((pl.col("symbol") == "A001") & (pl.col("day") < 10))
        & ~((pl.col("symbol") == "A003") & (pl.col("day") % 5 == 2))
        & ~((pl.col("symbol") == "A002") & (pl.col("day") >= 82))
    )
    .drop("day")
)
PANEL = PANEL_BARS.frame.sort("ts_event", "symbol")
PANEL_COLUMNS = set(PANEL.columns)


def _panel_values(expr: pl.Expr, b=PANEL_BARS) -> np.ndarray:
    """``expr`` as a panel-scope VectorizedStrategy evaluates it (nested windows staged): ``(n_symbols,
    n_bars)`` on the common timeline, NaN for null or no bar."""

    def fn():
        return {"weights": expr.cast(pl.Float64)}

    return evaluate(fn, b.panel(), Grid.build(fn, {}), [0], VectorizedSettings(scope="panel"))["weights"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sma(close, 5) > sma(close, 12)", close.rolling_mean(5) > close.rolling_mean(12)),
        ("ema(close, 6) - lag(close, 2)", close.ewm_mean(span=6, adjust=False) - close.shift(2)),
        ("zscore(close, 7)", (close - close.rolling_mean(7)) / close.rolling_std(7)),
        ("pct_change(close, 3) + diff(volume)", (close / close.shift(3) - 1) + (volume - volume.shift(1))),
        ("rolling_max(high, 4) - rolling_min(low, 4)", high.rolling_max(4) - low.rolling_min(4)),
        ("rolling_sum(volume, 3) / rolling_std(close, 3)", volume.rolling_sum(3) / close.rolling_std(3)),
        (
            "crossed_above(sma(close, 3), sma(close, 8))",
            (close.rolling_mean(3) > close.rolling_mean(8))
            & (close.rolling_mean(3).shift(1) <= close.rolling_mean(8).shift(1)),
        ),
        ("crossed_below(close, 100)", (close < 100) & (close.shift(1) >= 100)),
    ],
)
def test_panel_scope_evaluates_time_series_per_symbol(text, expected):
    """On the long frame in (ts_event, symbol) order, as hand-written Polars with .over("symbol"); and the same
    per-symbol series as the symbol scope gives on each symbol's bars alone."""
    got = PANEL.select(compile_expr(text, columns=PANEL_COLUMNS, scope="panel").alias("v"))["v"]
    assert got.equals(PANEL.select(expected.over("symbol").alias("v"))["v"])
    symbol_scope = compile_expr(text, columns=PANEL_COLUMNS)
    for (sym,), own in PANEL.with_row_index("row").group_by("symbol"):
        alone = own.sort("ts_event").select(symbol_scope.alias("v"))["v"]
        assert got.gather(own.sort("ts_event")["row"]).equals(alone), sym


@pytest.mark.parametrize(
    ("text", "column"),
    [("rank(close) > 0.5", 1), ("sma(close, 3) > cs_zscore(volume)", 17), ("lag(rank(close), 1)", 5)],
)
def test_symbol_scope_refuses_cross_sectional_functions_naming_the_position(text, column):
    with pytest.raises(ConfigError, match="compares the symbols at one timestamp") as caught:
        compile_expr(text, columns=COLUMNS, scope="symbol", argument="strategy.entries")
    error = str(caught.value)
    assert 'needs the panel scope (settings.scope = "panel")' in error
    assert f"column {column} of the expression" in error
    assert error.splitlines()[2].index("^") - 4 == column - 1


def test_a_bad_scope_is_a_config_error_naming_scope():
    with pytest.raises(ConfigError, match=r"scope must be one of \['symbol', 'panel'\], got 'pnael'") as caught:
        compile_expr("close > 1", scope="pnael")
    assert caught.value.argument == "scope"


# plain-Python references of the nested windows: a value per (timestamp, symbol) row of the panel, None for null
_Cells = dict[tuple[object, str], float | None]


def _column(name: str) -> _Cells:
    return {(r["ts_event"], r["symbol"]): r[name] for r in PANEL.iter_rows(named=True)}


def _per_symbol(cells: _Cells, f) -> _Cells:
    """``f(values in time order) -> values`` on each symbol's own rows."""
    out: _Cells = {}
    for sym in sorted({s for _, s in cells}):
        keys = sorted(k for k in cells if k[1] == sym)
        out.update(zip(keys, f([cells[k] for k in keys]), strict=True))
    return out


def _per_timestamp(cells: _Cells, f) -> _Cells:
    """``f(the values of the symbols at the timestamp) -> values`` at each timestamp."""
    out: _Cells = {}
    for ts in sorted({t for t, _ in cells}):
        keys = [k for k in cells if k[0] == ts]
        out.update(zip(keys, f([cells[k] for k in keys]), strict=True))
    return out


def _sma(n):
    def f(xs):
        return [
            None if i < n - 1 or None in xs[i - n + 1 : i + 1] else sum(xs[i - n + 1 : i + 1]) / n
            for i in range(len(xs))
        ]

    return f


def _lag(k):
    return lambda xs: [None if i < k else xs[i - k] for i in range(len(xs))]


def _pct(k):
    return lambda xs: [None if i < k or None in (xs[i], xs[i - k]) else xs[i] / xs[i - k] - 1 for i in range(len(xs))]


def _cs_rank(xs):
    present = [x for x in xs if x is not None]
    return [
        None if x is None else (sum(y < x for y in present) + (sum(y == x for y in present) + 1) / 2) / len(present)
        for x in xs
    ]


def _cs_zscore(xs):
    present = [x for x in xs if x is not None]
    if len(present) < 2:
        return [None] * len(xs)
    mean, std = statistics.fmean(present), statistics.stdev(present)
    return [None if x is None else (x - mean) / std for x in xs]


def _minus(a: _Cells, b: _Cells) -> _Cells:
    return {k: None if a[k] is None or b[k] is None else a[k] - b[k] for k in a}


@pytest.mark.parametrize(
    ("text", "reference"),
    [
        ("rank(sma(close, 5))", lambda: _per_timestamp(_per_symbol(_column("close"), _sma(5)), _cs_rank)),
        ("sma(rank(close), 5)", lambda: _per_symbol(_per_timestamp(_column("close"), _cs_rank), _sma(5))),
        (
            "cs_zscore(pct_change(close, 3))",
            lambda: _per_timestamp(_per_symbol(_column("close"), _pct(3)), _cs_zscore),
        ),
        (
            "rank(close) - lag(rank(close), 2)",
            lambda: _minus(
                _per_timestamp(_column("close"), _cs_rank),
                _per_symbol(_per_timestamp(_column("close"), _cs_rank), _lag(2)),
            ),
        ),
        (
            "rank(sma(cs_zscore(volume), 3))",
            lambda: _per_timestamp(_per_symbol(_per_timestamp(_column("volume"), _cs_zscore), _sma(3)), _cs_rank),
        ),
    ],
)
def test_nested_windows_in_panel_scope_mean_what_they_read(text, reference):
    """A cross-section of a time series (and the reverse) in a panel-scope strategy: the time series per
    symbol, then the cross-section per timestamp of its values, as written out in plain Python. Polars alone
    (a bare select) computes the inner window within the outer one's groups, which is wrong: the strategy
    stages it (ml4t._kernel.panel_scope)."""
    expr = compile_expr(text, columns=PANEL_COLUMNS, scope="panel")
    expected = _cells(PANEL_BARS, reference())
    got = _panel_values(expr)
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
    keys = zip(PANEL["ts_event"], PANEL["symbol"], strict=True)
    bare = _cells(PANEL_BARS, dict(zip(keys, PANEL.select(expr).to_series(), strict=True)))
    assert not np.allclose(bare, expected, equal_nan=True)  # why the staging exists


def _cells(b, cells: _Cells) -> np.ndarray:
    """``cells`` in the kernel's ``(n_symbols, n_bars)`` layout: NaN for null or no bar."""
    panel = b.panel()
    timeline = {ts: i for i, ts in enumerate(panel.ts.to_list())}
    out = np.full((len(panel.symbols), len(timeline)), np.nan)
    for (ts, sym), v in cells.items():
        out[panel.symbols.index(sym), timeline[ts]] = np.nan if v is None else v
    return out


# ------------------------------------------------------------------------------------------ strategies
ENTRY, EXIT = "crossed_above(sma(close, fast), sma(close, slow))", "crossed_below(sma(close, fast), sma(close, slow))"
WEIGHTS = "0.5 if rank(pct_change(close, look)) > 0.5 and close > sma(close, 10) else 0.0"


def _rules(scope):
    def fn(fast, slow):
        params = {"fast": fast, "slow": slow}
        return {
            "entries": compile_expr(ENTRY, params=params, columns=PANEL_COLUMNS, scope=scope),
            "exits": compile_expr(EXIT, params=params, columns=PANEL_COLUMNS, scope=scope),
        }

    return fn


def _by_hand_symbol(fast, slow):
    f, s = close.rolling_mean(fast), close.rolling_mean(slow)
    return {"entries": (f > s) & (f.shift(1) <= s.shift(1)), "exits": (f < s) & (f.shift(1) >= s.shift(1))}


def _by_hand_panel(fast, slow):
    f, s = close.rolling_mean(fast).over("symbol"), close.rolling_mean(slow).over("symbol")
    lagged_f, lagged_s = f.shift(1).over("symbol"), s.shift(1).over("symbol")
    return {"entries": (f > s) & (lagged_f <= lagged_s), "exits": (f < s) & (lagged_f >= lagged_s)}


def _weights_rules(look):
    return {"weights": compile_expr(WEIGHTS, params={"look": look}, columns=PANEL_COLUMNS, scope="panel")}


def _weights_by_hand(look):
    momentum = (close / close.shift(look) - 1).over("symbol")
    ranked = (momentum.rank() / momentum.count()).over("ts_event")
    return {
        "weights": pl.when((ranked > 0.5) & (close > close.rolling_mean(10).over("symbol"))).then(0.5).otherwise(0.0)
    }


@pytest.mark.parametrize(
    ("scope", "compiled", "by_hand", "params", "settings"),
    [
        ("symbol", _rules("symbol"), _by_hand_symbol, {"fast": 5, "slow": 20}, {}),
        (
            "panel",
            _rules("panel"),
            _by_hand_panel,
            {"fast": 5, "slow": 20},
            {"cash_sharing": True, "size": 0.25, "size_type": "percent"},
        ),
        ("panel", _weights_rules, _weights_by_hand, {"look": 10}, {"rebalance": "1w", "cash_sharing": True}),
    ],
)
def test_a_strategy_of_compiled_rules_runs_like_the_hand_written_one(scope, compiled, by_hand, params, settings):
    got = VectorizedStrategy(compiled, scope=scope, **settings).run(PANEL_BARS, **params)
    expected = VectorizedStrategy(by_hand, scope=scope, **settings).run(PANEL_BARS, **params)
    assert len(expected.fills) > 10  # the rules trade
    assert got.equity.equals(expected.equity)
    assert got.fills.equals(expected.fills)


def test_a_sweep_of_compiled_rules_equals_the_hand_written_sweep():
    grid = {"fast": [3, 5, 8], "slow": [15, 30]}
    got = VectorizedStrategy(_rules("panel"), scope="panel").sweep(PANEL_BARS, **grid)
    expected = VectorizedStrategy(_by_hand_panel, scope="panel").sweep(PANEL_BARS, **grid)
    assert got.metrics.equals(expected.metrics)


# ------------------------------------------------------------------------------------------ causality, panel
@st.composite
def _panel_numeric(draw, depth=0):
    """A random numeric expression of the whole language: time series and cross-sections nested either way."""
    if depth >= 3 or draw(st.booleans()):
        return draw(_SERIES)
    kind = draw(st.sampled_from(["cross", "window", "lag", "binary", "if"]))
    a = draw(_panel_numeric(depth + 1))
    if kind == "cross":
        return f"{draw(st.sampled_from(['rank', 'cs_zscore']))}({a})"
    if kind == "window":
        fn = draw(st.sampled_from(["sma", "ema", "rolling_std", "rolling_max", "zscore", "diff", "pct_change"]))
        return f"{fn}({a}, {draw(_WINDOW)})"
    if kind == "lag":
        return f"lag({a}, {draw(st.integers(0, 5))})"
    b = draw(_panel_numeric(depth + 1))
    if kind == "binary":
        return f"({a} {draw(st.sampled_from(['+', '-', '*']))} {b})"
    return f"({a} if {a} > {b} else {b})"


@st.composite
def _panel_expressions(draw):
    a, b = draw(_panel_numeric()), draw(_panel_numeric())
    kind = draw(st.sampled_from(["numeric", "compare", "crossed"]))
    if kind == "numeric":
        return a
    if kind == "compare":
        return f"{a} > {b}"
    return f"{draw(st.sampled_from(['crossed_above', 'crossed_below']))}({a}, {b})"


@settings(max_examples=60, deadline=None)
@given(text=_panel_expressions(), cut=st.integers(12, 88))
def test_no_panel_scope_expression_reads_the_future(text, cut):
    """The panel as a panel-scope strategy evaluates it (nested windows staged), truncated at a timestamp:
    every earlier value of every symbol is unchanged."""
    expr = compile_expr(text, columns=PANEL_COLUMNS, scope="panel")
    full = _panel_values(expr)
    ts = PANEL_BARS.panel().ts[cut]
    truncated = _panel_values(expr, PANEL_BARS.until(ts))
    assert truncated.shape == (full.shape[0], cut + 1)
    np.testing.assert_array_equal(full[:, : cut + 1], truncated, err_msg=text)


# ------------------------------------------------------------------------------------------ configs
_CONFIG = """
[data]
synthetic = {n_assets = 3, n_bars = 50}
[strategy.rules]
weights = "0.5 if rank(pct_change(close, 5)) > 0.5 else 0.0"
"""


def test_a_config_checks_its_rules_in_its_strategy_scope():
    loaded = loads(_CONFIG + '[settings]\nscope = "panel"\n')
    assert loaded.config.strategy.rules["weights"].startswith("0.5 if rank")
    with pytest.raises(ConfigFileError) as caught:
        loads(_CONFIG)  # the default scope: "symbol"
    assert "strategy.rules.weights: rank() compares the symbols at one timestamp" in str(caught.value)
    assert "column 8 of the expression" in str(caught.value)
    with pytest.raises(ConfigFileError) as caught:  # a bad scope is reported once, at the setting
        loads(_CONFIG + '[settings]\nscope = "pnael"\n')
    assert "settings.scope" in str(caught.value)
    assert "strategy.rules" not in str(caught.value)

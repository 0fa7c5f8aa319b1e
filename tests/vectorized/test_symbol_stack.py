"""Symbol scope's leaves in one query across symbols give what one query per symbol gives, bit for bit.

``ml4t._kernel.symbol_stack.leaf_frames`` evaluates the leaves that ``exact_over`` accepts as ``.over("symbol")``
on every symbol's rows stacked, the others per symbol. Here random expressions (of the accepted functions, and
of some that are not: sum-based windows and aggregations, which must stay per symbol) are evaluated both ways on
random universes (1 to 5 symbols, uneven histories, nulls and NaNs) and compared value bit by value bit, null by
null and type by type, through the same ``_collect`` the sweep uses.
"""

import datetime as dt
import re

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ml4t._kernel.signals import Grid, _collect, _parts
from ml4t._kernel.symbol_stack import exact_over, leaf_frames
from ml4t.data._panel import build_panel
from ml4t.errors import ConfigError

_T0 = dt.datetime(2024, 1, 1, 21, tzinfo=dt.UTC)
_GRID = Grid(("k",), [(1,)])


def _fn(k: int) -> dict[str, pl.Expr]:
    return {}


@st.composite
def universes(draw: st.DrawFn) -> pl.DataFrame:
    """A canonical bar frame: 1-5 symbols, each on its own subset of a 1-30 bar timeline, with nulls and NaNs."""
    n_sym = draw(st.integers(1, 5))
    n_bars = draw(st.integers(1, 30))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_sym):
        keep = rng.random(n_bars) < draw(st.sampled_from([0.5, 0.9, 1.0]))
        keep[rng.integers(n_bars)] = True  # every symbol has a bar
        rows += [(b, f"S{s}") for b in np.flatnonzero(keep)]
    n = len(rows)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.05, n)))
    x = rng.normal(size=n) * 10.0 ** rng.integers(-3, 4, n)
    x[rng.random(n) < 0.1] = np.nan
    frame = pl.DataFrame(
        {
            "ts_event": [_T0 + dt.timedelta(days=int(b)) for b, _ in rows],
            "symbol": [s for _, s in rows],
            "open": close,
            "high": close,
            "low": close,
            "close": close,
            "x": pl.Series(x).scatter(np.flatnonzero(rng.random(n) < 0.15).tolist(), None),
            "i": pl.Series(rng.integers(-5, 6, n)),
        }
    )
    return frame.sort("ts_event", "symbol")


_BASE = [pl.col("x"), pl.col("close"), pl.col("i"), pl.col("close").log(), pl.col("x").exp()]
_UNARY = [
    lambda e: e.shift(2),
    lambda e: e.shift(-1),
    lambda e: e.diff(),
    lambda e: e.pct_change(3),
    lambda e: e.cum_sum(),
    lambda e: e.cum_prod(),
    lambda e: e.cum_min(),
    lambda e: e.cum_max(),
    lambda e: e.cum_count(),
    lambda e: e.rank(),
    lambda e: e.rank("dense", descending=True),
    lambda e: e.ewm_mean(span=4),
    lambda e: e.ewm_mean(alpha=0.3, adjust=False, ignore_nulls=True),
    lambda e: e.fill_null(0.5),
    lambda e: e.fill_null(strategy="forward"),
    lambda e: e.abs(),
    lambda e: -e,
    lambda e: e.clip(-1, 1),
    lambda e: e.rolling_max(3),
    lambda e: e.rolling_min(4, min_samples=2),
    lambda e: e.is_null(),
]
_PER_SYMBOL = [  # sums in another order under .over: left per symbol
    lambda e: e.rolling_mean(3),
    lambda e: e.rolling_sum(2),
    lambda e: e.rolling_std(4),
    lambda e: e.mean(),
    lambda e: e.sum(),
]


@st.composite
def leaf(draw: st.DrawFn, depth: int = 2, exact: bool = True) -> pl.Expr:
    e = draw(st.sampled_from(_BASE))
    for _ in range(draw(st.integers(1, depth))):
        op = draw(st.sampled_from(_UNARY if exact else _UNARY + _PER_SYMBOL))
        e = op(e)
        if e.meta.serialize(format="json").count('"Boolean"'):
            e = e.cast(pl.Float64)
        if draw(st.booleans()):
            other = draw(st.sampled_from([*_BASE, pl.lit(2.0), pl.lit(-1)]))
            e = draw(
                st.sampled_from(
                    [e + other, e * other, e / other, e - other, pl.when(e > other).then(e).otherwise(other)]
                )
            )
    return e


def _bits(frame: pl.DataFrame) -> list[tuple[str, bytes, bytes]]:
    return [
        (
            str(s.dtype),
            s.cast(pl.Float64).fill_null(0.0).to_numpy().view(np.int64).tobytes(),
            s.is_null().to_numpy().tobytes(),
        )
        for s in frame.get_columns()
    ]


@settings(max_examples=200, deadline=None)
@given(universes(), st.lists(st.one_of(leaf(), leaf(exact=False)), min_size=1, max_size=4))
def test_one_query_equals_one_query_per_symbol(frame: pl.DataFrame, exprs: list[pl.Expr]) -> None:
    panel = build_panel(frame, sorted(set(frame["symbol"])))
    parts = list(_parts(panel, "symbol", []))
    leaves = [e.alias(f"leaf{i}") for i, e in enumerate(exprs)]
    stacked = [exact_over(e.meta.serialize(format="json")) for e in exprs]

    def collect(part: pl.DataFrame, chosen: list[pl.Expr], symbol: str | None) -> pl.DataFrame:
        return _collect(part, [], chosen, _fn, _GRID, [0], symbol)

    try:
        want = [collect(part, leaves, symbol) for part, _, _, symbol in parts]
    except ConfigError as error:  # an expression Polars refuses (neg of an unsigned count): the same error
        with pytest.raises(ConfigError, match=re.escape(str(error))):
            leaf_frames(parts, leaves, stacked, collect)
        return
    got = leaf_frames(parts, leaves, stacked, collect)
    assert [g.columns for g in got] == [w.columns for w in want]
    for g, w in zip(got, want, strict=True):
        assert _bits(g) == _bits(w)


@given(leaf())
@settings(max_examples=100, deadline=None)
def test_the_listed_functions_are_taken(expr: pl.Expr) -> None:
    assert exact_over(expr.meta.serialize(format="json"))


def test_sums_and_unknown_plans_stay_per_symbol() -> None:
    close = pl.col("close")
    for expr in (
        close.rolling_mean(5),
        close.rolling_sum(5),
        close.rolling_std(5),
        close.mean(),
        close - close.sum(),
        close.ewm_std(span=3),
        close.rank("random", seed=1),
        close.over("ts_event"),
        close.map_batches(lambda s: s),
        close.sort(),
        pl.lit(pl.Series([1.0, 2.0])),
    ):
        assert not exact_over(expr.meta.serialize(format="json")), expr
    assert not exact_over("not json")

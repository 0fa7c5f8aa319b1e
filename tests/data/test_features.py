"""``Bars.with_features``: feature columns computed by recorded builders (per-symbol expressions, functions of
the long frame) that every derivation (``until``, ``between``, ``select``) recomputes on its own rows;
``align_signals`` records its source the same way; ``Bars.features`` / ``Bars.precomputed`` say which columns
are which. Checked against plain per-symbol references, and by a Hypothesis property: for causal builders,
``bars.with_features(...).until(t)`` equals ``bars.until(t).with_features(...)``."""

from __future__ import annotations

import datetime as dt
import pickle

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ml4t
from ml4t.data import align_signals, bars, signals
from ml4t.datasets import synthetic_bars
from ml4t.errors import ConfigError

BARS = synthetic_bars(3, 60, "1d", seed=3)
CLOSE = pl.col("close")
TIMES = sorted(BARS.frame["ts_event"].unique().to_list())


def rank_across(frame: pl.DataFrame) -> pl.DataFrame:
    """A cross-sectional feature: each symbol's close ranked among the symbols at each timestamp."""
    return frame.select(CLOSE.rank().over("ts_event").alias("rank"))


def reference_zscore(frame: pl.DataFrame, window: int) -> list[float | None]:
    """The rolling z-score of the close per symbol, by hand, in the frame's row order."""
    out: list[float | None] = [None] * frame.height
    for symbol in frame["symbol"].unique().to_list():
        rows = [i for i, s in enumerate(frame["symbol"].to_list()) if s == symbol]
        closes = [frame["close"][i] for i in rows]
        for k, i in enumerate(rows):
            if k + 1 >= window:
                w = np.array(closes[k + 1 - window : k + 1])
                out[i] = float((w[-1] - w.mean()) / w.std(ddof=1))
    return out


# ------------------------------------------------------------------------------------------------ building
def test_named_expressions_are_computed_per_symbol_in_time_order():
    z = (CLOSE - CLOSE.rolling_mean(5)) / CLOSE.rolling_std(5)
    featured = BARS.with_features(z=z, ret=CLOSE.pct_change())
    frame = featured.frame
    assert frame.columns == [*BARS.frame.columns, "z", "ret"]
    expected = reference_zscore(frame, 5)
    got = frame["z"].to_list()
    assert all((a is None) == (b is None) for a, b in zip(got, expected, strict=True))
    assert np.allclose([a for a in got if a is not None], [b for b in expected if b is not None])
    by_hand = frame.group_by("symbol", maintain_order=True).agg(CLOSE.pct_change().alias("r")).explode("r")
    assert frame.sort("symbol", maintain_order=True)["ret"].to_list() == by_hand["r"].to_list()
    assert list(featured.features) == ["z", "ret"]
    with pytest.raises(TypeError):
        featured.features["z"] = CLOSE  # type: ignore[index]  # a read-only view
    assert featured.precomputed == []
    assert BARS.features == {} and BARS.with_features().frame.equals(BARS.frame)


def test_positional_builders_functions_and_order():
    featured = BARS.with_features(
        CLOSE.pct_change().alias("ret"),
        lambda frame: frame.select(pl.col("ret").rank().over("ts_event").alias("ret_rank")),
        rank=rank_across,
        twice=pl.col("ret") * 2,  # reads a column of a builder before it
    )
    frame = featured.frame
    assert frame.columns[-4:] == ["ret", "ret_rank", "rank", "twice"]
    assert frame["rank"].to_list() == frame.select(CLOSE.rank().over("ts_event"))["close"].to_list()
    assert frame["twice"].equals(frame["ret"] * 2, check_names=False)
    assert featured.features["rank"] is rank_across


def test_a_function_may_return_a_mapping_of_arrays_or_a_series_under_a_name():
    featured = BARS.with_features(
        lambda f: {"one": np.ones(f.height), "idx": pl.Series(range(f.height))},
        last=lambda f: f["close"] * 0 + 1,
    )
    assert featured.frame["one"].to_list() == [1.0] * len(BARS)
    assert featured.frame["last"].to_list() == [1.0] * len(BARS)


@pytest.mark.parametrize(
    ("args", "named", "message", "column"),
    [
        ((), {"close": CLOSE.shift(1)}, "already a column", "close"),
        ((CLOSE.shift(1),), {}, "already a column", "close"),
        ((pl.all().shift(1),), {}, "must give one column", None),
        ((), {"x": 3}, "Polars expression or a function", "x"),
        ((3,), {}, "Polars expression or a function", None),
        ((), {"x": pl.col("missing")}, "feature expression failed", "x"),
        ((), {"x": lambda f: 1 / 0}, "raised ZeroDivisionError", "x"),
        ((), {"x": lambda f: f.head(3)["close"]}, "returned 3 rows", "x"),
        ((), {"x": lambda f: f.select("close", "open")}, "must return one column", "x"),
        ((lambda f: f.select("close"),), {}, "already a column", "close"),
        ((lambda f: 42,), {}, "must return a polars DataFrame", None),
        ((CLOSE.alias("a"), lambda f: {"a": f["close"]}), {}, "already a column", "a"),
    ],
)
def test_bad_builders_are_config_errors_naming_features_and_the_column(args, named, message, column):
    with pytest.raises(ConfigError, match=message) as info:
        BARS.with_features(*args, **named)
    assert info.value.argument == "features"
    assert info.value.column == column


# ------------------------------------------------------------------------------------------- recomputation
def test_until_recomputes_features_from_the_rows_that_arrived():
    leak = BARS.with_features(fwd=CLOSE.shift(-1) / CLOSE - 1, rank=rank_across)
    cut = TIMES[30]
    truncated = leak.until(cut)
    # the forward return of the cut bar is unknown at the cut: the recomputation says so
    at_cut = truncated.frame.filter(pl.col("ts_event") == cut)
    assert at_cut["fwd"].null_count() == at_cut.height
    assert leak.frame.filter(pl.col("ts_event") == cut)["fwd"].null_count() == 0
    assert truncated.frame.equals(
        BARS.until(cut).with_features(fwd=CLOSE.shift(-1) / CLOSE - 1, rank=rank_across).frame
    )
    assert truncated.features.keys() == leak.features.keys()


def test_between_and_select_recompute_on_their_rows():
    featured = BARS.with_features(ma=CLOSE.rolling_mean(3), rank=rank_across)
    window = featured.between(TIMES[10], TIMES[20])
    assert window.frame.equals(
        BARS.between(TIMES[10], TIMES[20]).with_features(ma=CLOSE.rolling_mean(3), rank=rank_across).frame
    )
    assert window.frame.filter(pl.col("ts_event") == TIMES[10])["ma"].null_count() == 3  # warm-up again
    two = featured.select(["A000", "A002"])
    assert two.frame["rank"].max() == 2  # ranked among the two symbols left
    assert two.frame.equals(
        BARS.select(["A000", "A002"]).with_features(ma=CLOSE.rolling_mean(3), rank=rank_across).frame
    )


def test_a_derivation_with_no_rows_keeps_the_columns_and_their_dtypes():
    featured = BARS.with_features(ma=CLOSE.rolling_mean(3), rank=rank_across, flag=CLOSE > 0)
    empty = featured.until(TIMES[0] - dt.timedelta(days=1))
    assert len(empty) == 0
    assert empty.frame.schema == featured.frame.schema


def test_a_builder_returning_other_columns_on_fewer_rows_is_a_config_error():
    def moody(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.select(CLOSE.alias("a" if frame.height == len(BARS) else "b"))

    with pytest.raises(ConfigError, match="always return the same columns") as info:
        BARS.with_features(moody).until(TIMES[5])
    assert (info.value.argument, info.value.column) == ("features", "a")


def test_indicators_and_aligned_signals_keep_features_and_are_recomputed_too():
    featured = BARS.with_features(ma=CLOSE.rolling_mean(3))
    preds = signals(
        BARS.frame.select("ts_event", "symbol", CLOSE.pct_change().over("symbol").fill_null(0.0).alias("score")),
        ts_arrival="30m",
    )
    aligned = align_signals(featured, preds, prefix="p_").with_indicators({"ind": CLOSE.shift(1)})
    assert list(aligned.features) == ["ma", "p_score", "ind"]
    assert aligned.features["p_score"] is preds
    assert aligned.precomputed == []
    cut = TIMES[40]
    re_aligned = align_signals(BARS.until(cut).with_features(ma=CLOSE.rolling_mean(3)), preds.until(cut), prefix="p_")
    assert aligned.until(cut).frame.equals(re_aligned.with_indicators({"ind": CLOSE.shift(1)}).frame)


def test_precomputed_columns_are_the_given_extras_that_are_not_bar_fields():
    frame = BARS.frame.with_columns(fwd=CLOSE, split=pl.lit(1.0), dividend=pl.lit(0.0), note=pl.lit("x"))
    given = bars(frame).with_features(ma=CLOSE.rolling_mean(3))
    assert given.precomputed == ["fwd", "note"]
    assert ml4t.data.Bars(given.frame).precomputed == ["fwd", "note", "ma"]  # a frame carries no recipe


def feature_of_module(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(CLOSE.cum_max().alias("peak"))


def test_pickling_keeps_the_builders():
    featured = BARS.with_features(feature_of_module, ma=CLOSE.rolling_mean(3))
    back = pickle.loads(pickle.dumps(featured))
    assert back.frame.equals(featured.frame)
    assert list(back.features) == ["peak", "ma"]
    assert back.until(TIMES[20]).frame.equals(featured.until(TIMES[20]).frame)
    with pytest.raises((pickle.PicklingError, AttributeError)):
        pickle.dumps(BARS.with_features(lambda f: f.select(CLOSE.alias("c2"))))  # documented: by reference


# ---------------------------------------------------------------------------------------------- property
CAUSAL = {
    "rolling_mean": lambda k: CLOSE.rolling_mean(k),
    "rolling_std": lambda k: CLOSE.rolling_std(k + 1),
    "shift": lambda k: CLOSE.shift(k - 1),  # shifts >= 0
    "pct_change": lambda k: CLOSE.pct_change(k),
    "cum_sum": lambda k: (CLOSE * k).cum_sum(),
    "cum_max": lambda k: pl.col("volume").cum_max() / k,
    "ewm_mean": lambda k: CLOSE.ewm_mean(span=k, adjust=False),
}


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 1000),
    n=st.integers(5, 40),
    picks=st.lists(st.tuples(st.sampled_from(sorted(CAUSAL)), st.integers(1, 6)), min_size=1, max_size=4),
    cross=st.booleans(),
    at=st.floats(0.0, 1.0),
)
def test_until_then_features_equals_features_then_until_for_causal_builders(seed, n, picks, cross, at):
    data = synthetic_bars(2, n, "1d", seed=seed)
    named = {f"f{i}": CAUSAL[name](k) for i, (name, k) in enumerate(picks)}
    builders = (rank_across,) if cross else ()
    times = sorted(data.frame["ts_event"].unique().to_list())
    cut = times[int(at * (len(times) - 1))]
    assert (
        data.with_features(*builders, **named)
        .until(cut)
        .frame.equals(data.until(cut).with_features(*builders, **named).frame)
    )


def test_indicators_given_as_computed_are_used_as_given_and_recorded_like_the_rest():
    # ml4t's cache passes the indicator columns it read back: the bars are the computed ones, recipe included
    exprs = {"fast": CLOSE.rolling_mean(3), "up": CLOSE.shift(1) < CLOSE, "name": pl.col("symbol").cast(pl.String)}
    plain = BARS.with_indicators(exprs)
    for known in ({}, {"fast": plain.frame["fast"]}, {n: plain.frame[n] for n in exprs}):
        again = BARS.with_indicators(exprs, computed=known)
        assert again.frame.equals(plain.frame)
        assert again.frame.schema == plain.frame.schema
        assert list(again.features) == list(plain.features)
        cut = TIMES[30]
        assert again.until(cut).frame.equals(plain.until(cut).frame)  # recomputed from the recipe
    # the values are taken as given (the caller vouches for them): a derivation recomputes them
    odd = BARS.with_indicators({"fast": CLOSE.rolling_mean(3)}, computed={"fast": plain.frame["fast"] * 0})
    assert odd.frame["fast"].fill_null(0).sum() == 0
    assert odd.until(TIMES[-1]).frame["fast"].equals(plain.frame["fast"])


@pytest.mark.parametrize(
    ("computed", "message"),
    [
        ({"slow": pl.Series([1.0])}, "not an indicator"),
        ({"fast": pl.Series([1.0, 2.0])}, "rows"),
        ({"fast": [1.0] * BARS.frame.height}, "Series"),
        ([("fast", 1)], "mapping"),
    ],
)
def test_bad_computed_indicators_are_config_errors_naming_computed(computed, message):
    with pytest.raises(ConfigError, match=message) as error:
        BARS.with_indicators({"fast": CLOSE.rolling_mean(3)}, computed=computed)
    assert error.value.argument == "computed"

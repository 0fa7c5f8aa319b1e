"""Data fingerprints (``Bars.fingerprint``, ``Signals.fingerprint``, ``ml4t.data._fingerprint``).

Both directions, as properties: equal data built differently (another input order, pandas instead of Polars, a
frame in many chunks or sliced out of a bigger one, a pickle round trip, another process) hashes equal; any
change of a value, a timestamp, a null, a column name, a dtype, the row order, the universe or a declared
setting hashes different.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import itertools
import os
import pickle
import subprocess
import sys

import numpy as np
import polars as pl
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ml4t._time import TS_DTYPE
from ml4t.data import bars, signals
from ml4t.data._fingerprint import frame_fingerprint

START = dt.datetime(2021, 3, 1, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


@st.composite
def bar_frames(draw: st.DrawFn) -> pl.DataFrame:
    """1-3 symbols with 1-8 valid hourly bars each, grouped by symbol, an integer and a text extra column."""
    parts = []
    for k, symbol in enumerate(["AAA", "BBB", "CCC"][: draw(st.integers(1, 3))]):
        n = draw(st.integers(1, 8))
        closes = draw(st.lists(st.floats(1.0, 1e4, allow_nan=False), min_size=n, max_size=n))
        volumes = draw(st.lists(st.floats(0.0, 1e9, allow_nan=False), min_size=n, max_size=n))
        parts.append(
            pl.DataFrame(
                {
                    "timestamp": [START + (i + k) * HOUR for i in range(n)],
                    "symbol": symbol,
                    "open": closes,
                    "high": [c * 1.01 for c in closes],
                    "low": [c * 0.99 for c in closes],
                    "close": closes,
                    "volume": volumes,
                    "rank": list(range(n)),
                    "note": [f"{symbol}-{i}" for i in range(n)],
                }
            )
        )
    return pl.concat(parts)


def _chunked(frame: pl.DataFrame, pieces: int) -> pl.DataFrame:
    """The same rows as one frame of ``pieces`` chunks, each a slice (with an offset) of the original."""
    bounds = np.linspace(0, frame.height, pieces + 1).astype(int)
    return pl.concat([frame[int(lo) : int(hi)] for lo, hi in itertools.pairwise(bounds)], rechunk=False)


@settings(max_examples=40, deadline=None)
@given(bar_frames(), st.integers(1, 4), st.randoms(use_true_random=False))
def test_equal_bars_built_differently_hash_equal(frame, pieces, rnd):
    reference = bars(frame).fingerprint()
    shuffled = frame.with_row_index("i").sort(["timestamp", "symbol"], descending=[False, True]).drop("i")
    padded = pl.concat([frame, frame, frame])[frame.height : 2 * frame.height]  # sliced out of a bigger one
    built = [
        bars(shuffled),  # another interleaving of the symbols: the canonical order is the same
        bars(frame.to_pandas()),
        bars(_chunked(frame, pieces)),
        bars(padded),
        bars(bars(frame).frame),
        pickle.loads(pickle.dumps(bars(frame))),
        # the order of the input's required columns is not data (the extras keep theirs: it is the schema's)
        bars(frame.select(*rnd.sample(frame.columns[:7], 7), "rank", "note")),
    ]
    assert [b.fingerprint() for b in built] == [reference] * len(built)
    assert len(reference) == 32 and int(reference, 16) >= 0


def _scale_row(frame: pl.DataFrame, row: int, factor: float) -> pl.DataFrame:
    hit = pl.int_range(pl.len()) == row
    return frame.with_columns(
        pl.when(hit).then(pl.col(c) * factor).otherwise(pl.col(c)) for c in ("open", "high", "low", "close")
    )


@settings(max_examples=40, deadline=None)
@given(bar_frames(), st.data())
def test_any_change_of_the_bars_changes_the_fingerprint(frame, data):
    reference = bars(frame).fingerprint()
    row = data.draw(st.integers(0, frame.height - 1))
    hit = pl.int_range(pl.len()) == row
    symbol = frame["symbol"][row]
    last = max(i for i, s in enumerate(frame["symbol"]) if s == symbol)  # moving it later keeps the order
    changed = {
        "price": bars(_scale_row(frame, row, 1.5)),
        "volume": bars(frame.with_columns(pl.when(hit).then(pl.col("volume") + 1).otherwise(pl.col("volume")))),
        "extra": bars(frame.with_columns(pl.when(hit).then(pl.col("rank") + 1).otherwise(pl.col("rank")))),
        "text": bars(frame.with_columns(pl.when(hit).then(pl.lit("x")).otherwise(pl.col("note")).alias("note"))),
        "null": bars(frame.with_columns(pl.when(hit).then(None).otherwise(pl.col("rank")).alias("rank"))),
        "timestamp": bars(
            frame.with_columns(
                pl.when(pl.int_range(pl.len()) == last)
                .then(pl.col("timestamp") + dt.timedelta(microseconds=1))
                .otherwise(pl.col("timestamp"))
            )
        ),
        "arrival": bars(frame, latency="1ns"),
        "name": bars(frame.rename({"rank": "rank2"})),
        "dtype": bars(frame.with_columns(pl.col("rank").cast(pl.Int32))),
        "freq": bars(frame, freq="1h"),
    }
    if frame["symbol"].n_unique() > 1:
        changed["universe"] = bars(frame).select(frame["symbol"].unique().sort().to_list()[1:])
    got = {what: b.fingerprint() for what, b in changed.items()}
    assert reference not in got.values(), got


@st.composite
def typed_frames(draw: st.DrawFn) -> pl.DataFrame:
    """A frame with a column of every kind the fingerprint distinguishes, nulls and NaNs included."""
    n = draw(st.integers(2, 12))
    maybe = st.none() | st.integers(-(2**40), 2**40)
    return pl.DataFrame(
        {
            "i": draw(st.lists(maybe, min_size=n, max_size=n)),
            "f": draw(st.lists(st.none() | st.floats(allow_nan=True), min_size=n, max_size=n)),
            "b": draw(st.lists(st.none() | st.booleans(), min_size=n, max_size=n)),
            "s": draw(st.lists(st.none() | st.text(max_size=4), min_size=n, max_size=n)),
            "d": draw(st.lists(st.none() | st.dates(), min_size=n, max_size=n)),
            "t": pl.Series(draw(st.lists(st.integers(0, 2**60), min_size=n, max_size=n)), dtype=pl.Int64).cast(
                TS_DTYPE
            ),
        },
        schema_overrides={"i": pl.Int64, "f": pl.Float64, "b": pl.Boolean, "s": pl.String, "d": pl.Date},
    )


@settings(max_examples=60, deadline=None)
@given(typed_frames(), st.integers(1, 3))
def test_the_frame_hash_reads_logical_values_not_buffers(frame, pieces):
    reference = frame_fingerprint(frame)
    assert frame_fingerprint(_chunked(frame, pieces)) == reference
    assert frame_fingerprint(pl.concat([frame, frame])[frame.height :]) == reference  # a slice at an offset
    assert frame_fingerprint(pl.from_arrow(frame.to_arrow())) == reference
    # NaN payloads are one NaN: a NaN computed another way is the same value
    nan = frame.with_columns(
        pl.when(pl.col("f").is_nan()).then(pl.lit(float("inf")) - float("inf")).otherwise("f").alias("f")
    )
    assert frame_fingerprint(nan) == reference


@settings(max_examples=60, deadline=None)
@given(typed_frames(), st.data())
def test_one_changed_value_or_order_changes_the_frame_hash(frame, data):
    reference = frame_fingerprint(frame)
    row = data.draw(st.integers(0, frame.height - 1))
    column = data.draw(st.sampled_from(frame.columns))
    old = frame[column][row]
    new = data.draw(
        {
            "i": st.none() | st.integers(-(2**40), 2**40),
            "f": st.none() | st.floats(allow_nan=True),
            "b": st.none() | st.booleans(),
            "s": st.none() | st.text(max_size=4),
            "d": st.none() | st.dates(),
            "t": st.integers(0, 2**60).map(lambda ns: pl.Series([ns]).cast(TS_DTYPE)[0]),
        }[column]
    )
    same = old == new or (isinstance(old, float) and isinstance(new, float) and np.isnan(old) and np.isnan(new))
    assume(not same and not (old is None and new is None))
    values = frame[column].to_list()
    values[row] = new
    assert frame_fingerprint(frame.with_columns(pl.Series(column, values, dtype=frame.schema[column]))) != reference
    # the order of the rows is data
    other = data.draw(st.integers(0, frame.height - 1))
    order = list(range(frame.height))
    order[row], order[other] = order[other], order[row]
    swapped = frame[order]
    if not swapped.equals(frame, null_equal=True):
        assert frame_fingerprint(swapped) != reference


def test_names_dtypes_and_attributes_are_part_of_the_hash():
    frame = pl.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    reference = frame_fingerprint(frame, freq_ns=None)
    assert frame_fingerprint(frame, freq_ns=None) == reference
    assert frame_fingerprint(frame.rename({"a": "c"}), freq_ns=None) != reference
    assert frame_fingerprint(frame.with_columns(pl.col("a").cast(pl.Int32)), freq_ns=None) != reference
    assert frame_fingerprint(frame.with_columns(pl.col("b").cast(pl.Categorical)), freq_ns=None) != reference
    assert frame_fingerprint(frame.select("b", "a"), freq_ns=None) != reference
    assert frame_fingerprint(frame, freq_ns=1) != reference
    assert frame_fingerprint(frame) != reference
    # strings are hashed with their lengths: moving a character between values is a change
    assert frame_fingerprint(pl.DataFrame({"b": ["xy", ""]})) != frame_fingerprint(pl.DataFrame({"b": ["x", "y"]}))
    assert frame_fingerprint(pl.DataFrame({"b": [None, "x"]})) != frame_fingerprint(pl.DataFrame({"b": ["", "x"]}))
    # a null is not the zero stored under it, and where the nulls are is data
    assert frame_fingerprint(pl.DataFrame({"a": [None, 0]})) != frame_fingerprint(pl.DataFrame({"a": [0, 0]}))
    assert frame_fingerprint(pl.DataFrame({"a": [None, 0]})) != frame_fingerprint(pl.DataFrame({"a": [0, None]}))


SCRIPT = """
import datetime as dt, polars as pl
from ml4t.data import bars, signals
t = [dt.datetime(2021, 1, d, 21, tzinfo=dt.UTC) for d in (4, 5, 6)]
frame = pl.DataFrame({"timestamp": t * 2, "symbol": ["A"] * 3 + ["B"] * 3, "open": [1.0, 2, 3, 4, 5, 6],
                      "high": [2.0, 3, 4, 5, 6, 7], "low": [0.5, 1, 2, 3, 4, 5], "close": [1.5, 2, 3, 4, 5, 6],
                      "volume": [10.0, 20, 30, 40, 50, 60]})
preds = pl.DataFrame({"ts_event": t, "symbol": "A", "score": [0.1, None, 0.3]})
print(bars(frame, latency="1m").fingerprint(), signals(preds, ts_arrival="5m").fingerprint())
"""


def test_the_fingerprint_is_the_same_in_another_process():
    here = io.StringIO()
    with contextlib.redirect_stdout(here):
        exec(SCRIPT, {})
    outputs = {
        subprocess.run(
            [sys.executable, "-c", SCRIPT],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    }
    assert outputs == {here.getvalue()}


def _predictions(rows: list[tuple[str, int, int, float | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "ts_event": [START + e * HOUR for _, e, _, _ in rows],
            "ts_arrival": [START + (e + d) * HOUR for _, e, d, _ in rows],
            "symbol": [s for s, _, _, _ in rows],
            "score": [v for _, _, _, v in rows],
        },
        schema_overrides={"score": pl.Float64},
    )


prediction_rows = st.lists(
    st.tuples(st.sampled_from(["AAA", "BBB"]), st.integers(0, 50), st.integers(0, 5), st.none() | st.floats(-1, 1)),
    min_size=1,
    max_size=20,
    unique_by=lambda r: (r[0], r[1], r[2]),
)


@settings(max_examples=40, deadline=None)
@given(prediction_rows, st.randoms(use_true_random=False))
def test_equal_signals_built_differently_hash_equal_and_changes_differ(rows, rnd):
    frame = _predictions(rows)
    reference = signals(frame).fingerprint()
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=rnd.randrange(1000))
    same = [
        signals(shuffled),
        signals(frame.to_pandas()),
        signals(_chunked(frame, 2)),
        pickle.loads(pickle.dumps(signals(frame))),
        signals(signals(frame).frame.drop("in_sample")),
    ]
    assert [s.fingerprint() for s in same] == [reference] * len(same)
    row = rnd.randrange(frame.height)
    hit = pl.int_range(pl.len()) == row
    score = frame.with_columns(
        pl.when(hit).then(pl.col("score").fill_null(0.0) + 2.0).otherwise("score").alias("score")
    )
    later = frame.with_columns(pl.when(hit).then(pl.col("ts_arrival") + HOUR * 10).otherwise("ts_arrival"))
    first = min(frame["ts_event"])
    changed = {
        "value": signals(score),
        "arrival": signals(later),
        "embargo": signals(frame, embargo="1ns"),
        "train_end": signals(frame, train_end=first - HOUR),
        "name": signals(frame.rename({"score": "alpha"})),
        "dtype": signals(frame.with_columns(pl.col("score").cast(pl.Float32))),
    }
    got = {what: s.fingerprint() for what, s in changed.items()}
    assert reference not in got.values(), got


def test_the_fingerprint_is_cached_on_the_immutable_bars(make_frame):
    b = bars(make_frame())
    assert b.fingerprint() is b.fingerprint()
    assert b.until(b.end).fingerprint() == b.fingerprint()  # nothing cut: the same data
    assert b.until(b.start).fingerprint() != b.fingerprint()
    # the universe is part of the data: a symbol without bars yet still has a (NaN) row in every layout
    late = make_frame(("BBB",), start=b.start + dt.timedelta(days=3))
    early = bars(pl.concat([make_frame(("AAA",)), late])).until(b.start)
    alone = bars(early.frame)
    assert early.frame.equals(alone.frame) and early.symbols != alone.symbols
    assert early.fingerprint() != alone.fingerprint()


def _documented(frame: pl.DataFrame) -> str:
    """The fingerprint of a frame of float, integer and boolean columns as the module docstring states it, from
    the Python values: tag, row count, then per column its name, dtype, null count, validity bits (when it has
    nulls) and its values with nulls as zero and every NaN as the one canonical NaN, little-endian."""
    import xxhash

    def integer(value: int) -> bytes:
        return value.to_bytes(8, "little", signed=True)

    def text(value: str) -> bytes:
        return integer(len(value.encode())) + value.encode()

    h = xxhash.xxh3_128(text("ml4t-fingerprint/1") + integer(frame.height))
    for name, dtype in frame.schema.items():
        values = frame[name].to_list()
        missing = [v is None for v in values]
        h.update(text(name) + text(str(dtype)) + integer(sum(missing)))
        if any(missing):
            h.update(np.packbits(np.array(missing)).tobytes())
        kind = {pl.Float64: "<f8", pl.Float32: "<f4", pl.Int64: "<i8", pl.Int32: "<i4", pl.Boolean: "?"}[dtype]
        zero = False if dtype == pl.Boolean else 0
        plain = [zero if v is None else (float("nan") if isinstance(v, float) and v != v else v) for v in values]
        h.update(np.array(plain, dtype=kind).tobytes())
    return h.hexdigest()


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_the_hash_of_numeric_and_boolean_columns_is_the_documented_one(data):
    n = data.draw(st.integers(0, 40))
    floats = st.none() | st.floats(allow_nan=True) | st.sampled_from([0.0, -0.0, float("nan")])
    columns = {
        "f": pl.Series(data.draw(st.lists(floats, min_size=n, max_size=n)), dtype=pl.Float64),
        "g": pl.Series(data.draw(st.lists(st.none() | st.floats(width=32), min_size=n, max_size=n)), dtype=pl.Float32),
        "i": pl.Series(data.draw(st.lists(st.integers(-(2**62), 2**62), min_size=n, max_size=n)), dtype=pl.Int64),
        "j": pl.Series(data.draw(st.lists(st.none() | st.integers(-9, 9), min_size=n, max_size=n)), dtype=pl.Int32),
        "b": pl.Series(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=pl.Boolean),
        "c": pl.Series(data.draw(st.lists(st.none() | st.booleans(), min_size=n, max_size=n)), dtype=pl.Boolean),
    }
    frame = pl.DataFrame(list(columns.values()))
    assert frame_fingerprint(frame) == _documented(frame)
    assert frame_fingerprint(_chunked(frame, 3) if n >= 3 else frame) == _documented(frame)

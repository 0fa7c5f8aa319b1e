"""``ml4t.validate.fit_predict``: a model refitted on each forward split, its predictions as point-in-time signals.

The splits are made by hand here (``make_split``, written from the ``Split`` contract), so these tests pin
fit_predict alone: predictions against a manual scikit-learn loop, arrivals and training cut-offs against the
rule ``ts_arrival = max(row ts_arrival, split.ready) + latency`` and ``train_end = split.label_end``, and the
result read by both modes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import polars as pl
import pytest
from sklearn.base import clone
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge

from ml4t import ConfigError, DataError, LeakageError
from ml4t._time import TS_DTYPE, to_ns
from ml4t.data import Bars, Signals, align_signals, bars
from ml4t.datasets import synthetic_bars
from ml4t.event import BarBatch, Context, Engine, Strategy
from ml4t.validate import Split, cpcv, fit_predict, forward_returns, walk_forward

UTC = dt.UTC
T0 = dt.datetime(2022, 1, 3, 21, tzinfo=UTC)
DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
N_DAYS = 60
SYMBOLS = ("AAA", "BBB")


def D(i: int) -> dt.datetime:
    return T0 + i * DAY


@pytest.fixture(scope="module")
def data() -> pl.DataFrame:
    """Two symbols x 60 days; each row arrives 0-47 hours after its event (late data happens); the target is a
    noisy linear function of two features, its last two days per symbol unknown (null and NaN)."""
    rng = np.random.default_rng(7)
    n = N_DAYS * len(SYMBOLS)
    f1, f2 = rng.normal(size=n), rng.normal(size=n)
    target = 0.5 * f1 - 0.25 * f2 + 0.1 * rng.normal(size=n)
    frame = pl.DataFrame(
        {
            "ts_event": [D(i) for i in range(N_DAYS) for _ in SYMBOLS],
            "symbol": [s for _ in range(N_DAYS) for s in SYMBOLS],
            "f1": f1,
            "f2": f2,
            "close": 100 + np.cumsum(rng.normal(size=n)),
            "fwd": target,
            "up": (target > 0).astype(np.int64),
        }
    ).with_columns(pl.col("ts_event").cast(TS_DTYPE))
    frame = frame.with_columns(
        # the last training day of each forward split arrives late: its model is ready after some test rows
        pl.when(pl.col("ts_event").is_in([D(d) for d in (19, 29, 39, 49)]) & (pl.col("symbol") == "AAA"))
        .then(pl.col("ts_event") + pl.duration(hours=47))
        .otherwise(pl.col("ts_event") + pl.duration(hours=pl.Series(rng.integers(0, 48, n))))
        .alias("ts_arrival"),
        pl.when(pl.col("ts_event") == D(N_DAYS - 1))
        .then(None)
        .when(pl.col("ts_event") == D(N_DAYS - 2))
        .then(float("nan"))
        .otherwise(pl.col("fwd"))
        .alias("fwd"),
    )
    return frame


def make_split(frame: pl.DataFrame, index: int, train: tuple[int, int], test: tuple[int, int], **over: Any) -> Split:
    """A split of ``frame`` training on days [train) and testing on days [test), without a label horizon: its
    ``label_end`` is the training rows' last ts_event, ``ready`` their last arrival (the Split contract)."""
    day = frame["ts_event"].cast(pl.Int64).to_numpy()
    rows = {
        name: np.flatnonzero((day >= to_ns(D(a))) & (day < to_ns(D(b))))
        for name, (a, b) in (("train", train), ("test", test))
    }
    tr, te = frame[rows["train"]], frame[rows["test"]]
    fields: dict[str, Any] = {
        "index": index,
        "train": rows["train"],
        "test": rows["test"],
        "train_start": tr["ts_event"].min(),
        "train_end": tr["ts_event"].max(),
        "test_start": te["ts_event"].min(),
        "test_end": te["ts_event"].max(),
        "label_end": tr["ts_event"].max(),
        "ready": tr["ts_arrival"].max(),
    }
    fields.update(over)
    return Split(**fields)


def forward_splits(frame: pl.DataFrame) -> list[Split]:
    """Rolling: 20 training days, 10 test days, step 10 -> tests on days 20-29, 30-39, 40-49, 50-59."""
    return [make_split(frame, k, (10 * k, 10 * k + 20), (10 * k + 20, 10 * k + 30)) for k in range(4)]


def manual(
    model: Any, frame: pl.DataFrame, splits: list[Split], method: str = "predict"
) -> dict[tuple[str, Any], float]:
    """The reference loop: per split, a clone fitted on the training rows with a finite target, then ``method``
    on the test rows."""
    X = frame.select("f1", "f2").to_numpy()
    y_col = "up" if method != "predict" else "fwd"
    y = frame[y_col].cast(pl.Float64).fill_null(float("nan")).to_numpy()
    out: dict[tuple[str, Any], float] = {}
    for split in splits:
        train = [i for i in split.train if not np.isnan(y[i])]
        fitted = clone(model).fit(X[train], y[train])
        values = getattr(fitted, method)(X[split.test])
        values = values[:, -1] if method == "predict_proba" else values
        for i, v in zip(split.test, values, strict=True):
            out[(frame["symbol"][int(i)], frame["ts_event"][int(i)])] = float(v)
    return out


def by_row(sig: Signals, column: str = "prediction") -> dict[tuple[str, Any], Any]:
    return {(r["symbol"], r["ts_event"]): r[column] for r in sig.frame.iter_rows(named=True)}


@pytest.mark.parametrize("model", [LinearRegression(), Ridge(alpha=3.0)], ids=["linear", "ridge"])
def test_predictions_equal_a_manual_per_fold_loop(data, model):
    splits = forward_splits(data)
    sig = fit_predict(model, data, features=["f1", "f2"], target="fwd", splits=splits)
    expected = manual(model, data, splits)
    got = by_row(sig)
    assert got.keys() == expected.keys() and len(sig) == 4 * 10 * len(SYMBOLS)
    np.testing.assert_allclose([got[k] for k in expected], list(expected.values()), rtol=1e-12, atol=1e-12)
    assert not hasattr(model, "coef_")  # the given estimator is never fitted


def test_rows_with_a_missing_feature_are_left_out_of_training_and_predicted_as_nan(data):
    holed = data.with_columns(
        pl.when(pl.int_range(pl.len()) % 7 == 0).then(None).otherwise(pl.col("f1")).alias("f1"),
        pl.when(pl.int_range(pl.len()) % 11 == 0).then(float("nan")).otherwise(pl.col("f2")).alias("f2"),
    )
    splits = forward_splits(holed)
    sig = fit_predict(Ridge(), holed, features=["f1", "f2"], target="fwd", splits=splits)
    # the reference: drop the incomplete rows from each split's training and test rows
    X = holed.select("f1", "f2").cast(pl.Float64).fill_null(float("nan")).to_numpy()
    complete = ~np.isnan(X).any(axis=1)
    kept = [
        make_split(holed, s.index, (10 * s.index, 10 * s.index + 20), (10 * s.index + 20, 10 * s.index + 30))
        for s in splits
    ]
    kept = [Split(**{**vars(s), "train": s.train[complete[s.train]], "test": s.test[complete[s.test]]}) for s in kept]
    expected = manual(Ridge(), holed.with_columns(pl.col("f1", "f2").fill_null(0.0)), kept)
    got = by_row(sig)
    assert len(sig) == 4 * 10 * len(SYMBOLS)  # every test row has a row: NaN says "no prediction for this bar"
    missing = [k for k, v in got.items() if np.isnan(v)]
    assert len(missing) == sum(int((~complete[s.test]).sum()) for s in splits) > 0
    np.testing.assert_allclose([got[k] for k in expected], list(expected.values()), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="NaN"):  # "keep" hands the NaN to the estimator, which refuses it
        fit_predict(Ridge(), holed, features=["f1", "f2"], target="fwd", splits=splits, missing="keep")
    with pytest.raises(ConfigError) as info:
        fit_predict(Ridge(), holed, features=["f1", "f2"], target="fwd", splits=splits, missing="skip")
    assert info.value.argument == "missing"


def test_each_prediction_is_stamped_with_its_arrival_and_its_models_cut_off(data):
    splits = forward_splits(data)
    sig = fit_predict(Ridge(), data, features=["f1", "f2"], target="fwd", splits=splits, latency="30m")
    frame = sig.frame.with_columns(pl.col("train_end").cast(pl.Int64))  # exact ns: a datetime holds microseconds
    stamped = {(r["symbol"], r["ts_event"]): (r["ts_arrival"], r["train_end"]) for r in frame.iter_rows(named=True)}
    later = 0
    for split in splits:
        for i in split.test:
            row = data.row(int(i), named=True)
            assert split.ready is not None
            expected = max(row["ts_arrival"], split.ready) + dt.timedelta(minutes=30)
            later += split.ready > row["ts_arrival"]
            arrival, cut = stamped[(row["symbol"], row["ts_event"])]
            assert arrival == expected
            assert cut == to_ns(split.label_end) - 1  # type: ignore[arg-type]
    assert later > 0  # some test rows arrive before their model is ready: the max matters here
    table = sig.vintages
    assert table is not None
    assert table["train_end"].cast(pl.Int64).to_list() == [to_ns(s.label_end) - 1 for s in splits]  # type: ignore[arg-type]
    assert table["rows"].to_list() == [20, 20, 20, 20] and table["in_sample_rows"].sum() == 0


def test_probabilities_and_decision_scores(data):
    splits = forward_splits(data)
    model = LogisticRegression(C=0.5)
    for method in ("predict_proba", "decision_function"):
        sig = fit_predict(model, data, features=["f1", "f2"], target="up", splits=splits, method=method, name="p")
        expected = manual(model, data, splits, method)
        got = by_row(sig, "p")
        np.testing.assert_allclose([got[k] for k in expected], list(expected.values()), rtol=1e-10)


class Mean:
    """A duck-typed estimator (no scikit-learn): predicts the mean training target; counts its fits."""

    def __init__(self) -> None:
        self.fits = 0
        self.mean = float("nan")

    def fit(self, X: np.ndarray, y: np.ndarray) -> Mean:
        self.fits += 1
        self.mean = float(np.mean(y))
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.full(len(X), self.mean)


def test_a_duck_typed_estimator_is_deep_copied_per_split(data):
    model = Mean()
    splits = forward_splits(data)
    sig = fit_predict(model, data, features="f1", target="fwd", splits=splits)
    assert model.fits == 0
    y = data["fwd"].fill_nan(None)
    for split in splits:
        expected = y.gather(split.train).drop_nulls().mean()
        fold = pl.col("train_end").cast(pl.Int64) == to_ns(split.label_end) - 1  # type: ignore[arg-type]
        values = sig.frame.filter(fold)["prediction"].unique().to_list()
        assert values == [pytest.approx(expected, rel=1e-12)]


def test_data_without_symbol_and_bars_as_data(data):
    single = data.filter(pl.col("symbol") == "AAA").drop("symbol")
    sig = fit_predict(Ridge(), single, features=["f1", "f2"], target="fwd", splits=forward_splits(single))
    assert sig.symbols == ["asset"] and len(sig) == 40
    b = bars(data.select("ts_event", "symbol", "close", "f1", "f2", "fwd"), timestamp="ts_event")
    via_bars = fit_predict(Ridge(), b, features=["f1", "f2"], target="fwd", splits=forward_splits(b.frame))
    assert set(via_bars.frame["ts_event"].to_list()) == {D(i) for i in range(20, 60)}
    # features attached as builders (what the audit recomputes) are columns like any other here
    built = b.with_features(mom=pl.col("close").pct_change(3).fill_null(0.0))
    by_builder = fit_predict(Ridge(), built, features="mom", target="fwd", splits=forward_splits(built.frame))
    expected = fit_predict(Ridge(), built.frame, features="mom", target="fwd", splits=forward_splits(built.frame))
    assert by_builder.frame.equals(expected.frame)


class Reader(Strategy):
    """Records ``ctx.data.signal("prediction", symbol)`` at every bar."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, int], float | None] = {}

    def on_bar(self, ctx: Context, bars: BarBatch) -> None:
        for bar in bars:
            self.seen[(bar.symbol, int(bar.ts_event))] = ctx.data.signal("prediction", bar.symbol)


def test_the_predictions_feed_both_modes_alike(data):
    sig = fit_predict(Ridge(), data, features=["f1", "f2"], target="fwd", splits=forward_splits(data), latency="1h")
    b: Bars = bars(data.select("ts_event", "symbol", "close"), timestamp="ts_event")
    reader = Reader()
    Engine(b, reader, signals=sig, execution="close").run()
    aligned = align_signals(b, sig).frame
    vector = dict(
        zip(
            zip(aligned["symbol"].to_list(), aligned["ts_event"].cast(pl.Int64).to_list(), strict=True),
            aligned["prediction"].to_list(),
            strict=True,
        )
    )
    assert reader.seen == vector
    assert sum(v is not None for v in vector.values()) > 50
    # nothing is visible before the first model existed (ready + latency)
    first = min(sig.frame["ts_arrival"].to_list())
    assert all(v is None for (_, t), v in vector.items() if t < to_ns(first))


def test_a_split_training_after_its_test_block_is_refused(data):
    backwards = make_split(data, 0, (30, 50), (10, 20))
    with pytest.raises(LeakageError, match="trains on 40 rows at or after its test block") as info:
        fit_predict(Ridge(), data, features=["f1", "f2"], target="fwd", splits=[backwards])
    assert (info.value.argument, info.value.symbol, info.value.timestamp) == ("splits", "AAA", to_ns(D(30)))
    mixed = make_split(data, 0, (0, 20), (10, 15))  # test block inside the training window
    with pytest.raises(LeakageError, match="split 0 trains on"):
        fit_predict(Ridge(), data, features=["f1", "f2"], target="fwd", splits=[mixed])


def test_a_combinatorial_split_is_refused_saying_why(data):
    cpcv = make_split(data, 3, (0, 20), (20, 30), groups=(2, 3))
    with pytest.raises(LeakageError, match="never to trade it") as info:
        fit_predict(Ridge(), data, features=["f1", "f2"], target="fwd", splits=[cpcv])
    assert info.value.argument == "splits"


def test_a_model_whose_labels_reach_the_test_block_is_in_sample(data):
    # labels of a 5-day horizon with no purge: the model learned labels about days up to 24, the test block
    # starts at 20: the predictions about days 20-23 (8 rows) overlap them; day 24's label starts after them
    leaky = make_split(data, 0, (0, 20), (20, 30), label_end=D(24), ready=D(25))
    with pytest.raises(LeakageError, match="8 predictions are about events before the end of their own") as info:
        fit_predict(Ridge(), data, features=["f1", "f2"], target="fwd", splits=[leaky])
    assert (info.value.symbol, info.value.timestamp, info.value.argument) == ("AAA", to_ns(D(20)), "splits")


class Counted(list):  # type: ignore[type-arg]
    """A list of splits that knows how many rows they were made from (as a splitter's result may)."""

    n_rows = 0


def test_splits_from_other_data_and_overlapping_test_blocks(data):
    splits = forward_splits(data)
    counted = Counted(splits)
    counted.n_rows = data.height + 1
    with pytest.raises(DataError, match=f"made from {data.height + 1} rows"):
        fit_predict(Ridge(), data, features="f1", target="fwd", splits=counted)
    counted.n_rows = data.height
    assert len(fit_predict(Ridge(), data, features="f1", target="fwd", splits=counted)) == 80
    empty = make_split(data, 0, (0, 20), (70, 80))
    with pytest.raises(DataError, match="split 0 has no test rows"):
        fit_predict(Ridge(), data, features="f1", target="fwd", splits=[empty])
    with pytest.raises(DataError, match="outside data's 60 rows"):
        fit_predict(Ridge(), data.head(60), features="f1", target="fwd", splits=splits)
    overlapping = [make_split(data, 0, (0, 20), (20, 30)), make_split(data, 1, (5, 25), (25, 35))]
    with pytest.raises(DataError, match="10 rows are in the test blocks of several splits") as info:
        fit_predict(Ridge(), data, features="f1", target="fwd", splits=overlapping)
    assert (info.value.symbol, info.value.timestamp) == ("AAA", to_ns(D(25)))


@pytest.mark.parametrize(
    ("kwargs", "error", "argument"),
    [
        ({"features": ["f1", "nope"]}, DataError, "features"),
        ({"features": []}, ConfigError, "features"),
        ({"features": ["f1", "f1"]}, ConfigError, "features"),
        ({"target": "nope"}, DataError, "target"),
        ({"target": "f1"}, ConfigError, "target"),
        ({"method": "transform"}, ConfigError, "method"),
        ({"model": object()}, ConfigError, "model"),
        ({"model": LinearRegression(), "method": "predict_proba"}, ConfigError, "model"),
        ({"name": "symbol"}, ConfigError, "name"),
        ({"latency": "soon"}, ConfigError, "latency"),
        ({"splits": []}, ConfigError, "splits"),
        ({"data": "frame"}, ConfigError, "data"),
        ({"data": pl.DataFrame({"ts_event": [1]})}, DataError, "data"),
    ],
)
def test_bad_arguments_name_themselves(data, kwargs, error, argument):
    call: dict[str, Any] = {"model": Ridge(), "data": data, "features": ["f1", "f2"], "target": "fwd"}
    call["splits"] = forward_splits(data)
    call.update(kwargs)
    model, frame = call.pop("model"), call.pop("data")
    with pytest.raises(error) as info:
        fit_predict(model, frame, **call)
    assert info.value.argument == argument


def test_a_split_whose_training_targets_are_all_missing(data):
    nothing = data.with_columns(pl.lit(None, dtype=pl.Float64).alias("fwd"))
    with pytest.raises(DataError, match="no training row with a target") as info:
        fit_predict(Ridge(), nothing, features="f1", target="fwd", splits=forward_splits(data))
    assert info.value.column == "fwd"


# --- through ml4t.validate's splitters ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def labelled() -> pl.DataFrame:
    """Three synthetic symbols with a 20-bar momentum feature and a 5-bar forward return label."""
    panel = synthetic_bars(n_assets=3, n_bars=300)
    labels = forward_returns(panel, 5)
    return panel.frame.with_columns(
        momentum=pl.col("close").pct_change(20).over("symbol"), label=labels["label"], label_end=labels["label_end"]
    ).drop_nulls("momentum")


def test_walk_forward_purged_by_label_arrival_gives_out_of_sample_predictions(labelled):
    folds = walk_forward(labelled, train=120, test=20, purge="label_end")
    sig = fit_predict(Ridge(), labelled, features="momentum", target="label", splits=folds)
    manual_loop = {}
    X, y = labelled[["momentum"]].to_numpy(), labelled["label"].fill_null(float("nan")).to_numpy()
    for split in folds:
        # purged by arrival: the last kept label is about the test block's first bar (zero latency)
        assert split.label_end == split.test_start
        train = split.train[~np.isnan(y[split.train])]
        values = Ridge().fit(X[train], y[train]).predict(X[split.test])
        for i, v in zip(split.test, values, strict=True):
            manual_loop[(labelled["symbol"][int(i)], labelled["ts_event"][int(i)])] = float(v)
    got = by_row(sig)
    assert got.keys() == manual_loop.keys()
    np.testing.assert_allclose([got[k] for k in manual_loop], list(manual_loop.values()), rtol=1e-12)
    assert not sig.frame["in_sample"].any()
    table = sig.vintages
    assert table is not None and table.height == len(folds)


def test_splits_keeping_labels_that_reach_into_the_test_block_are_refused(labelled):
    # the walk-forward splits as if unpurged labels reached 4 days into each test block (and arrived then): the
    # models learned about the events they predict, and the guard refuses those predictions
    folds = walk_forward(labelled, train=120, test=20, purge="label_end")
    leaky = [Split(**{**vars(s), "label_end": s.test_start + 4 * DAY, "ready": s.test_start + 4 * DAY}) for s in folds]
    with pytest.raises(LeakageError, match="before the end of their own model's training labels"):
        fit_predict(Ridge(), labelled, features="momentum", target="label", splits=leaky)


def test_cpcv_splits_are_refused_and_splits_of_other_data_too(labelled):
    cv = cpcv(labelled, n_groups=5, n_test_groups=2, purge="label_end")
    with pytest.raises(LeakageError, match="never to trade it"):
        fit_predict(Ridge(), labelled, features="momentum", target="label", splits=cv)
    folds = walk_forward(labelled, train=120, test=20, purge="label_end")
    with pytest.raises(DataError, match=f"made from {labelled.height} rows"):
        fit_predict(Ridge(), labelled.head(labelled.height - 3), features="momentum", target="label", splits=folds)

"""``Result.save`` / ``Result.load`` (``ml4t.report._store``): a folder of Parquet files plus a JSON manifest.

A saved and loaded result is the same result: every frame equal with its schema, the metrics, ``meta`` (frames
in it included), ``init_cash``, ``periods_per_year``, ``data_fingerprint``, and the bars (same fingerprint)
when saved. Every way a folder can be damaged is a DataError naming the file; saving is atomic and never
replaces what is not a saved result.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import tempfile
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import xxhash
from hypothesis import given, settings
from hypothesis import strategies as st

import ml4t
import ml4t.costs
from ml4t import Result
from ml4t.data import Bars, bars
from ml4t.datasets import synthetic_bars
from ml4t.demo import SmaCrossWithStop, sma_cross, top_k_by_forecast
from ml4t.errors import ConfigError, DataError
from ml4t.event import Engine, Strategy
from ml4t.report import load_result, save_result
from ml4t.vectorized import VectorizedStrategy

# the runs below reject orders on purpose (the event run buys more than it can afford)
pytestmark = pytest.mark.filterwarnings("ignore::ml4t.errors.Ml4tWarning")

FRAMES = ("equity", "positions", "orders", "fills", "trades")


class _StopsAndRejections(Strategy):
    """Buys 40 units when flat with a 3% stop below the close; every 7th bar also asks for far too much."""

    def __init__(self) -> None:
        self.n = 0

    def on_bar(self, ctx, bars):
        self.n += 1
        for bar in bars:
            held = ctx.position(bar.symbol)
            if held == 0 and not ctx.open_orders(bar.symbol):
                ctx.order(bar.symbol, 40)
            elif held > 0 and not ctx.open_orders(bar.symbol):
                ctx.order(bar.symbol, -held, stop=bar.close * 0.97, tag="stop-loss")
            if self.n % 7 == 0:
                ctx.order(bar.symbol, 1e6)


def _vectorized() -> Result:
    data = synthetic_bars(3, 150, "1d", seed=11)
    return VectorizedStrategy(sma_cross, execution="next_open", fees=0.001, sl_stop=0.05).run(data, fast=3, slow=8)


def _event() -> Result:
    return Engine(synthetic_bars(2, 120, "1d", seed=5), _StopsAndRejections(), init_cash=50_000.0).run()


def _promoted() -> Result:
    data = synthetic_bars(3, 200, "1d", seed=4)
    strategy = VectorizedStrategy(sma_cross, fees=0.001, cash_sharing=True, init_cash=1e5)
    return ml4t.promote(strategy, data, fast=3, slow=10).run(commission=ml4t.costs.Percent(0.001))


def _portfolio() -> Result:
    data = synthetic_bars(4, 120, "1d", seed=8).with_features(forecast=pl.col("close").pct_change(5).over("symbol"))
    return VectorizedStrategy(top_k_by_forecast, scope="panel").run(data, k=2)


def _from_equity() -> Result:
    ts = [dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=i) for i in range(30)]
    equity = 100.0 * np.cumprod(1 + 0.01 * np.sin(np.arange(30)))
    return Result.from_equity(ts, equity, periods_per_year=252.0, meta={"source": "elsewhere"})


RUNS = {"vectorized": _vectorized, "event": _event, "promoted": _promoted, "portfolio": _portfolio}


def _meta_equal(a: object, b: object) -> bool:
    """Equality of meta values, with frames compared by ``equals`` (and their schemas) and NaN equal to NaN."""
    if isinstance(a, pl.DataFrame):
        return isinstance(b, pl.DataFrame) and a.schema == b.schema and a.equals(b)
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_meta_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_meta_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def assert_same_result(loaded: Result, original: Result, *, with_bars: bool = True) -> None:
    for name in FRAMES:
        got, want = getattr(loaded, name), getattr(original, name)
        assert got.schema == want.schema, name
        assert got.equals(want), name
    assert loaded.init_cash == original.init_cash
    assert loaded.periods_per_year == original.periods_per_year
    assert _meta_equal(dict(loaded.meta), dict(original.meta))
    assert loaded.data_fingerprint == original.data_fingerprint
    assert loaded.metrics.schema == original.metrics.schema
    assert loaded.metrics.equals(original.metrics)
    if with_bars and original.bars is not None:
        assert loaded.bars is not None
        assert loaded.bars.fingerprint() == original.bars.fingerprint()
        assert loaded.bars.frame.equals(original.bars.frame)
        assert loaded.bars.symbols == original.bars.symbols
    else:
        assert loaded.bars is None


@pytest.fixture(scope="module", params=sorted(RUNS))
def run(request) -> Result:
    return RUNS[request.param]()


def test_a_saved_run_loads_as_the_same_result(run, tmp_path):
    path = run.save(tmp_path / "run")
    assert path == tmp_path / "run"
    assert_same_result(Result.load(path), run)


def test_the_runs_under_test_have_what_they_are_chosen_for():
    event = _event()
    assert (event.orders["status"] == "rejected").sum() > 0
    assert (event.orders["order_type"] == "stop").sum() > 0
    promoted = _promoted()
    assert promoted.meta["skipped_entries"].height > 0
    assert _portfolio().positions["symbol"].n_unique() == 4


def test_a_promotions_skipped_entries_go_to_their_own_parquet_file(tmp_path):
    promoted = _promoted()
    path = save_result(promoted, tmp_path / "p")
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["meta"]["skipped_entries"] == {"$ml4t": "frame", "file": "meta.skipped_entries.parquet"}
    on_disk = pl.read_parquet(path / "meta.skipped_entries.parquet")
    assert on_disk.equals(promoted.meta["skipped_entries"])


def test_a_result_from_an_equity_curve_round_trips_without_bars(tmp_path):
    result = _from_equity()
    loaded = load_result(save_result(result, tmp_path / "eq"), result_type=Result)
    assert_same_result(loaded, result)
    assert loaded.data_fingerprint is None
    assert not (tmp_path / "eq" / "bars.parquet").exists()


def test_without_bars_the_fingerprint_is_kept(tmp_path):
    result = _vectorized()
    path = result.save(tmp_path / "nobars", bars=False)
    assert not (path / "bars.parquet").exists()
    loaded = Result.load(path)
    assert_same_result(loaded, result, with_bars=False)
    assert loaded.data_fingerprint == result.bars.fingerprint()


def test_the_manifest_says_what_the_folder_holds(tmp_path):
    result = _vectorized()
    path = result.save(tmp_path / "r")
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["format"] == "ml4t-result/1"
    assert manifest["ml4t_version"] == ml4t.__version__
    assert manifest["polars_version"] == pl.__version__
    assert manifest["init_cash"] == result.init_cash
    assert manifest["periods_per_year"] == result.periods_per_year
    assert manifest["data_fingerprint"] == result.data_fingerprint
    assert manifest["bars"]["symbols"] == ["A000", "A001", "A002"]
    on_disk = {p.name for p in path.iterdir()} - {"manifest.json"}
    assert set(manifest["files"]) == on_disk == {f"{n}.parquet" for n in (*FRAMES, "bars")}
    for name, entry in manifest["files"].items():
        data = (path / name).read_bytes()
        assert entry == {"bytes": len(data), "xxh3_128": xxhash.xxh3_128_hexdigest(data)}
    assert manifest["meta"]["settings"]["size"] == {"$ml4t": "float", "value": "inf"}  # JSON has no infinity
    assert manifest["meta_as_repr"] == []


class _Opaque:
    def __repr__(self) -> str:
        return "Opaque(7)"


def test_meta_values_json_cannot_hold_come_back_or_are_listed_as_reprs(tmp_path):
    frame = pl.DataFrame({"a": [1, 2], "ts": [dt.datetime(2024, 1, 1, tzinfo=dt.UTC)] * 2})
    meta = {
        "tuple": (1, "x", (2.5, None)),
        "floats": [math.inf, -math.inf, math.nan, 0.1],
        "when": dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.UTC),
        "day": dt.date(2024, 5, 6),
        "latency": dt.timedelta(minutes=5, microseconds=3),
        "int_keys": {1: "a", 2: [3]},
        "looks_tagged": {"$ml4t": "frame", "file": "x"},
        "nested": {"frames": [frame, {"deeper": frame.head(1)}]},
        "opaque": _Opaque(),
        "deep": {"list": [_Opaque()]},
    }
    result = Result.from_equity(_from_equity().equity["ts_event"], [1.0] * 30, meta=meta)
    path = result.save(tmp_path / "m")
    loaded = Result.load(path)
    expected = {**meta, "opaque": "Opaque(7)", "deep": {"list": ["Opaque(7)"]}}
    assert _meta_equal(dict(loaded.meta), expected)
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["meta_as_repr"] == ["opaque", "deep.list.0"]
    assert {"meta.nested.frames.0.parquet", "meta.nested.frames.1.deeper.parquet"} <= set(manifest["files"])


@settings(max_examples=10, deadline=None)
@given(
    n_assets=st.integers(1, 3),
    seed=st.integers(0, 2**16),
    fees=st.sampled_from([0.0, 0.001]),
    sl_stop=st.sampled_from([None, 0.03]),
    execution=st.sampled_from(["close", "next_open"]),
    fast=st.integers(2, 5),
    event=st.booleans(),
)
def test_random_runs_round_trip(n_assets, seed, fees, sl_stop, execution, fast, event):
    data = synthetic_bars(n_assets, 80, "1d", seed=seed)
    if event:
        engine = Engine(
            data, SmaCrossWithStop(fast, fast + 6), execution=execution, commission=ml4t.costs.Percent(fees)
        )
        result = engine.run()
    else:
        strategy = VectorizedStrategy(sma_cross, execution=execution, fees=fees, sl_stop=sl_stop)
        result = strategy.run(data, fast=fast, slow=fast + 6)
    with tempfile.TemporaryDirectory() as folder:
        assert_same_result(Result.load(result.save(Path(folder) / "r")), result)


# ------------------------------------------------------------------------------------------------ bars
def test_bars_with_a_symbol_without_rows_and_an_inferred_freq_rebuild_with_the_same_fingerprint():
    t0 = dt.datetime(2024, 1, 1, 21, tzinfo=dt.UTC)
    rows = [
        {"ts_event": t0 + dt.timedelta(days=i), "symbol": s, "open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5}
        for i in range(6)
        for s in ("A", "B")
        if s == "A" or i >= 4
    ]
    data = bars(pl.DataFrame(rows).with_columns(volume=pl.lit(10.0)))
    early = data.until(t0 + dt.timedelta(days=2))  # B has no bar yet, but stays in the universe
    assert early.symbols == ["A", "B"] and early.frame["symbol"].unique().to_list() == ["A"]
    for original in (data, early, bars(data.frame, freq="1d")):
        frame, attributes = original.to_parts()
        rebuilt = Bars.from_parts(frame, **attributes)
        assert rebuilt.fingerprint() == original.fingerprint()
        assert rebuilt.freq == original.freq
    assert data.to_parts()[1]["freq_ns"] is None
    assert bars(data.frame, freq="1d").fingerprint() != data.fingerprint()  # a declared freq is part of it


def test_bars_from_parts_refuse_a_symbol_outside_the_universe():
    frame, attributes = synthetic_bars(2, 10, "1d", seed=1).to_parts()
    with pytest.raises(DataError, match="outside the universe") as error:
        Bars.from_parts(frame, symbols=["A000"], freq_ns=attributes["freq_ns"])
    assert error.value.symbol == "A001"


# ------------------------------------------------------------------------------------------------ damage
@pytest.fixture
def saved(tmp_path) -> Path:
    return _vectorized().save(tmp_path / "saved")


def test_a_corrupt_file_is_a_data_error_naming_it(saved):
    file = saved / "equity.parquet"
    data = bytearray(file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    file.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"equity\.parquet does not match its checksum"):
        Result.load(saved)


def test_a_truncated_file_is_a_data_error_naming_it(saved):
    file = saved / "orders.parquet"
    file.write_bytes(file.read_bytes()[:-10])
    with pytest.raises(DataError, match=r"orders\.parquet has \d+ bytes, the manifest says \d+: the file is truncated"):
        Result.load(saved)


def test_a_missing_file_is_a_data_error_naming_it(saved):
    (saved / "bars.parquet").unlink()
    with pytest.raises(DataError, match=r"bars\.parquet is missing"):
        Result.load(saved)


def test_a_missing_or_unreadable_manifest_is_a_data_error(saved, tmp_path):
    (tmp_path / "plain").mkdir()
    with pytest.raises(DataError, match=r"plain is not a saved ml4t result: it has no manifest\.json"):
        Result.load(tmp_path / "plain")
    with pytest.raises(DataError, match="does not exist"):
        Result.load(tmp_path / "nowhere")
    (saved / "manifest.json").write_text("{not json")
    with pytest.raises(DataError, match=r"manifest\.json: cannot read the manifest"):
        Result.load(saved)


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ("ml4t-result/2", r"format 'ml4t-result/2' was written by a newer ml4t"),
        ("ml4t-result/x", r"unknown format 'ml4t-result/x'"),
        ("parquet-bundle/1", r"unknown format 'parquet-bundle/1'"),
        (None, r"unknown format None"),
    ],
)
def test_an_unknown_format_or_a_newer_version_is_a_data_error_naming_the_manifest(saved, tag, message):
    file = saved / "manifest.json"
    manifest = json.loads(file.read_text())
    manifest["format"] = tag
    file.write_text(json.dumps(manifest))
    with pytest.raises(DataError, match=r"manifest\.json: " + message):
        Result.load(saved)


def test_bars_that_rebuild_to_another_fingerprint_are_a_data_error(saved):
    file = saved / "manifest.json"
    manifest = json.loads(file.read_text())
    manifest["bars"]["freq_ns"] = 3_600_000_000_000  # a declared freq the bars were not saved with
    file.write_text(json.dumps(manifest))
    with pytest.raises(DataError, match=r"bars\.parquet: the rebuilt bars have fingerprint"):
        Result.load(saved)


# ------------------------------------------------------------------------------------------------ writing
def test_an_existing_target_is_refused_unless_overwrite(saved):
    result = _from_equity()
    with pytest.raises(ConfigError, match="already exists; pass overwrite=True") as error:
        result.save(saved)
    assert error.value.argument == "path"
    result.save(saved, overwrite=True)
    assert_same_result(Result.load(saved), result)
    assert sorted(p.name for p in saved.parent.iterdir()) == ["saved"]  # the replaced one is gone


def test_a_folder_or_file_that_is_not_a_result_is_never_overwritten(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    lone = tmp_path / "file.txt"
    lone.write_text("keep me too")
    for target in (mine, lone):
        with pytest.raises(ConfigError, match="is not a saved ml4t result; it is never replaced") as error:
            _from_equity().save(target, overwrite=True)
        assert error.value.argument == "path"
    assert (mine / "notes.txt").read_text() == "keep me"
    assert lone.read_text() == "keep me too"


def test_an_interrupted_save_leaves_nothing(tmp_path, monkeypatch):
    result = _vectorized()
    real = pl.DataFrame.write_parquet
    calls = []

    def interrupted(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pl.DataFrame, "write_parquet", interrupted)
    with pytest.raises(KeyboardInterrupt):
        result.save(tmp_path / "new")
    assert list(tmp_path.iterdir()) == []
    # an interrupted overwrite leaves the old result as it was
    monkeypatch.setattr(pl.DataFrame, "write_parquet", real)
    old = _from_equity().save(tmp_path / "old")
    monkeypatch.setattr(pl.DataFrame, "write_parquet", interrupted)
    calls.clear()
    with pytest.raises(KeyboardInterrupt):
        result.save(old, overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == ["old"]
    assert_same_result(Result.load(old), _from_equity())


def test_save_creates_missing_parent_folders(tmp_path):
    path = _from_equity().save(tmp_path / "runs" / "2024" / "a")
    assert (path / "manifest.json").is_file()


def test_a_manifest_naming_a_file_outside_the_folder_is_a_data_error(saved):
    file = saved / "manifest.json"
    manifest = json.loads(file.read_text())
    manifest["files"]["../elsewhere.parquet"] = manifest["files"]["equity.parquet"]
    file.write_text(json.dumps(manifest))
    with pytest.raises(DataError, match=r"a bad entry in its files: '\.\./elsewhere\.parquet'"):
        Result.load(saved)

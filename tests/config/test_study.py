"""The study runner (ml4t.config.Study, the run folder, reproduce): a config's results equal the same study
written by hand with the Python API; the run id keys on what determines a result and nothing else; a run folder
is found again and reproduces; check() lists every problem at once; nothing from a config runs as Python."""

import json
import textwrap
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ml4t
from ml4t.config import ConfigFileError, Rules, Study, load, loads, reproduce
from ml4t.config._run_folder import run_id
from ml4t.config._schema import RangeConfig
from ml4t.config._study import grid_values
from ml4t.costs import Percent
from ml4t.data import align_signals, load_bars, signals
from ml4t.datasets import synthetic_bars
from ml4t.errors import ConfigError
from ml4t.event import Engine
from ml4t.vectorized import VectorizedStrategy

close = pl.col("close")
SYNTHETIC = """
[data.synthetic]
n_assets = 3
n_bars = 250
seed = 4
"""


def _bars():
    return synthetic_bars(3, 250, "1d", 4)


def _study(tmp_path: Path, text: str, name: str = "study.toml", **kwargs) -> Study:
    file = tmp_path / name
    file.write_text(textwrap.dedent(text), encoding="utf-8")
    return Study.from_file(file, **kwargs)


def _sma_rules(fast):
    return {"entries": close > close.rolling_mean(fast), "exits": close < close.rolling_mean(fast)}


SMA = (
    SYNTHETIC
    + """
[strategy]
rules.entries = "close > sma(close, fast)"
rules.exits = "close < sma(close, fast)"
params = { fast = 10 }
[settings]
fees = 0.001
[report]
html = false
"""
)


# ---------------------------------------------------------------------------------- equal to the Python API
def test_a_rules_run_equals_the_hand_written_python_api(tmp_path):
    outcome = _study(tmp_path, SMA).run(tmp_path / "runs")
    expected = VectorizedStrategy(_sma_rules, fees=0.001).run(_bars(), fast=10)
    assert outcome.result.equity.equals(expected.equity)
    assert outcome.result.orders.equals(expected.orders)
    assert outcome.params == {"fast": 10}
    assert outcome.sweep is None and outcome.promoted is None and outcome.audit is None
    assert (outcome.folder / "result" / "manifest.json").is_file()


def test_a_sweep_equals_the_python_api_and_its_choice_is_sweep_best(tmp_path):
    text = (
        SMA + '[sweep]\ngrid.fast = { start = 5, stop = 30, step = 5 }\ngrid.slow = [40, 60]\nmetric = "total_return"\n'
    )
    text = text.replace('"close < sma(close, fast)"', '"sma(close, fast) < sma(close, slow)"')
    outcome = _study(tmp_path, text).run(tmp_path / "runs")

    def rules(fast, slow):
        return {
            "entries": close > close.rolling_mean(fast),
            "exits": close.rolling_mean(fast) < close.rolling_mean(slow),
        }

    sweep = VectorizedStrategy(rules, fees=0.001).sweep(_bars(), fast=[5, 10, 15, 20, 25], slow=[40, 60])
    assert outcome.sweep.equals(sweep.metrics)
    best = sweep.best("total_return", 1)
    assert outcome.params == {"fast": best["fast"][0], "slow": best["slow"][0]}
    assert outcome.result.equity.equals(sweep.result(**outcome.params).equity)
    assert pl.read_parquet(outcome.folder / "sweep.parquet").equals(sweep.metrics)


def test_a_panel_scope_weights_portfolio_equals_the_python_api(tmp_path):
    text = (
        SYNTHETIC
        + """
        [data.features]
        mom = "pct_change(close, 20)"
        [strategy]
        rules.weights = "rank(mom) * w"
        params = { w = 0.5 }
        [settings]
        scope = "panel"
        cash_sharing = true
        [report]
        html = false
        """
    )
    outcome = _study(tmp_path, text).run(tmp_path / "runs")
    bars = _bars().with_features(mom=_momentum(20))
    expected = VectorizedStrategy(_rank_weights, scope="panel", cash_sharing=True).run(bars, w=0.5)
    assert expected.fills.height > 0
    assert outcome.result.equity.equals(expected.equity)


def test_a_panel_scope_rule_windows_time_series_per_symbol_and_ranks_per_timestamp(tmp_path):
    text = (
        SYNTHETIC
        + """
        [strategy]
        rules.weights = "rank(pct_change(close, n)) * w"
        params = { w = 0.5, n = 20 }
        [settings]
        scope = "panel"
        cash_sharing = true
        [report]
        html = false
        """
    )
    outcome = _study(tmp_path, text).run(tmp_path / "runs")

    def nested(w, n):
        mom = (close / close.shift(n) - 1).over("symbol")
        return {"weights": (mom.rank("average") / mom.count()).over("ts_event") * w}

    expected = VectorizedStrategy(nested, scope="panel", cash_sharing=True).run(_bars(), w=0.5, n=20)
    assert expected.fills.height > 0
    assert outcome.result.equity.equals(expected.equity)


def test_a_cross_sectional_rule_in_symbol_scope_is_refused_at_its_key(tmp_path):
    text = SMA.replace('"close > sma(close, fast)"', '"rank(close) > 0.5"')
    with pytest.raises(ConfigFileError, match="panel") as caught:
        _study(tmp_path, text)
    assert [p.path for p in caught.value.problems] == ["strategy.rules.entries"]


def _momentum(n):
    return close / close.shift(n) - 1  # a feature: with_features evaluates it per symbol


def _rank_weights(w):
    mom = pl.col("mom")
    return {"weights": (mom.rank("average") / mom.count()).over("ts_event") * w}


def _predictions(tmp_path: Path) -> Path:
    frame = _bars().frame.select(
        "ts_event", "symbol", (close.pct_change().over("symbol").shift(1) * 100).alias("score")
    )
    path = tmp_path / "predictions.parquet"
    frame.drop_nulls().write_parquet(path)
    return path


def test_signals_with_arrival_times_equal_align_signals(tmp_path):
    path = _predictions(tmp_path)
    text = (
        SYNTHETIC
        + f"""
        [[signals]]
        path = "{path.name}"
        ts_arrival = "2h"
        [strategy]
        rules.entries = "score > th"
        rules.exits = "score < 0"
        params = {{ th = 0.5 }}
        [report]
        html = false
        """
    )
    outcome = _study(tmp_path, text).run(tmp_path / "runs")
    sig = signals(pl.read_parquet(path), ts_arrival="2h")
    bars = align_signals(_bars(), sig)
    expected = VectorizedStrategy(lambda th: {"entries": pl.col("score") > th, "exits": pl.col("score") < 0}).run(
        bars, th=0.5
    )
    assert expected.fills.height > 0
    assert outcome.result.equity.equals(expected.equity)


EVENT_MODULE = """
from ml4t.event import Strategy


class Momentum(Strategy):
    def __init__(self, lookback=5, weight=0.3):
        self.lookback = lookback
        self.weight = weight

    def on_bar(self, ctx, bars):
        for bar in bars:
            closes = ctx.data.history("close", self.lookback, bar.symbol)
            if len(closes) == self.lookback:
                ctx.order_target_percent(bar.symbol, self.weight if closes[-1] > closes[0] else 0.0)
"""

EVENT = (
    SYNTHETIC
    + """
[strategy]
mode = "event"
ref = "{module}:Momentum"
params = {{ lookback = 8 }}
[settings]
commission = {{ model = "Percent", rate = 0.002 }}
[report]
html = false
"""
)


def _write_module(tmp_path: Path, name: str, source: str) -> None:
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")


def test_an_event_mode_ref_with_costs_equals_the_engine(tmp_path):
    _write_module(tmp_path, "mom_event_a", EVENT_MODULE)
    outcome = _study(tmp_path, EVENT.format(module="mom_event_a")).run(tmp_path / "runs")
    import mom_event_a

    expected = Engine(_bars(), mom_event_a.Momentum(lookback=8), commission=Percent(0.002)).run()
    assert expected.fills.height > 0 and expected.fills["fee"].sum() > 0
    assert outcome.result.equity.equals(expected.equity)
    assert outcome.result.fills.equals(expected.fills)
    manifest = json.loads((outcome.folder / "manifest.json").read_text())
    assert manifest["strategy"]["ref"] == "mom_event_a:Momentum" and len(manifest["strategy"]["source_hash"]) == 32


def test_an_event_mode_audit_is_lookahead_of_the_strategy(tmp_path):
    _write_module(tmp_path, "mom_event_f", EVENT_MODULE)
    outcome = _study(tmp_path, EVENT.format(module="mom_event_f") + "[audit]\ncuts = 2\n").run(tmp_path / "runs")
    import mom_event_f

    report = ml4t.audit.lookahead(
        mom_event_f.Momentum(lookback=8), _bars(), cuts=2, engine={"commission": Percent(0.002)}
    )
    assert outcome.audit["passed"] is report.passed is True
    assert outcome.audit["checked_orders"] == report.checked_orders > 0


def test_a_promotion_equals_promote_run_and_compare(tmp_path):
    text = SMA.replace("seed = 4", 'seed = 4\n[data]\nuniverse = ["A001"]') + '[promote]\nexecution = "close"\n'
    outcome = _study(tmp_path, text).run(tmp_path / "runs")
    strategy = VectorizedStrategy(_sma_rules, fees=0.001)
    bars = _bars().select(["A001"])
    promoted = ml4t.promote(strategy, bars, fast=10).run(execution="close")
    assert promoted.fills.height > 0
    assert outcome.promoted.equity.equals(promoted.equity)
    table = ml4t.compare(strategy.run(bars, fast=10), promoted).table
    assert outcome.comparison.equals(table)
    assert (outcome.folder / "promoted" / "manifest.json").is_file()


def test_walk_forward_and_audit_are_the_python_apis(tmp_path):
    text = (
        SMA
        + """
        [sweep]
        grid.fast = [5, 10]
        [validation.walk_forward]
        train = 100
        test = 50
        [audit]
        cuts = 2
        """
    )
    outcome = _study(tmp_path, text).run(tmp_path / "runs")
    strategy = VectorizedStrategy(_sma_rules, fees=0.001)
    splits = ml4t.validate.walk_forward(_bars(), train=100, test=50)
    folds = ml4t.validate.walk_forward_sweep(strategy, _bars(), splits, fast=[5, 10]).folds
    assert outcome.walk_forward.equals(folds)
    report = ml4t.audit.lookahead(strategy, _bars(), params=outcome.params, cuts=2)
    assert outcome.audit["passed"] is report.passed is True
    assert json.loads((outcome.folder / "audit.json").read_text())["cuts"] == [str(c) for c in report.cuts]


def test_rules_pickle_and_are_named_after_the_study():
    import pickle

    rules = Rules("my-study", {"entries": "close > sma(close, n)"}, ["close"])
    again = pickle.loads(pickle.dumps(rules))
    assert again == rules and again.__name__ == "my-study" and "my-study" in repr(again)
    assert str(again(n=3)["entries"]) == str(close > close.rolling_mean(3))


# ---------------------------------------------------------------------------------------------- the run id
def _digits(study: Study) -> str:
    return run_id(study).rsplit("-", 1)[1]


def _bars_file(tmp_path: Path) -> Path:
    path = tmp_path / "bars.parquet"
    _bars().frame.select("ts_event", "symbol", "open", "high", "low", "close", "volume").write_parquet(path)
    return path


def _scale_prices(path: Path, factor: float, row: int | None = None) -> None:
    """Edit the bars file: OHLC times ``factor`` (in one row, or all)."""
    frame = pl.read_parquet(path)
    hit = pl.lit(True) if row is None else pl.int_range(pl.len()) == row
    prices = ("open", "high", "low", "close")
    frame.with_columns(
        pl.when(hit).then(pl.col(c) * factor).otherwise(pl.col(c)).alias(c) for c in prices
    ).write_parquet(path)


FILE_SMA = SMA.replace(SYNTHETIC, '[data]\npath = "bars.parquet"\n')


def test_the_run_id_keys_on_what_determines_the_result(tmp_path):
    path = _bars_file(tmp_path)
    base = _study(tmp_path, FILE_SMA)
    assert run_id(base) == run_id(_study(tmp_path, FILE_SMA)) and run_id(base).startswith("study-")
    same = [
        _study(tmp_path, FILE_SMA.replace("html = false", 'html = true\ntitle = "x"')),
        _study(tmp_path, FILE_SMA + "[executor]\nchunk_size = 7\nprogress = false\n"),
        _study(tmp_path, 'name = "renamed"\n' + FILE_SMA),
        _study(tmp_path, FILE_SMA + '[executor]\nkind = "processes"\nworkers = 2\n'),
        _study(tmp_path, FILE_SMA + '[executor]\nkind = "dask"\naddress = "tcp://10.0.0.5:8786"\n'),
        _study(tmp_path, FILE_SMA + '[executor]\nkind = "ray"\nworkers = 3\n'),
    ]
    assert [_digits(s) for s in same] == [_digits(base)] * 6
    assert run_id(same[2]).startswith("renamed-")
    changed = [
        _study(tmp_path, FILE_SMA.replace("fees = 0.001", "fees = 0.002")),
        _study(tmp_path, FILE_SMA.replace("close < sma(close, fast)", "close < sma(close, fast) * 0.99")),
        _study(tmp_path, FILE_SMA, overrides=["strategy.params.fast=11"]),
    ]
    _scale_prices(path, 1.01, row=7)
    changed.append(_study(tmp_path, FILE_SMA))
    digits = [_digits(s) for s in changed]
    assert _digits(base) not in digits and len(set(digits)) == len(digits)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    title=st.text("abc xyz", max_size=8),
    html=st.booleans(),
    chunk=st.integers(1, 1000),
    progress=st.booleans(),
    name=st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True),
    fees=st.sampled_from([0.001, 0.0, 0.0005, 0.002, 0.01]),
)
def test_the_run_id_ignores_report_executor_and_name_and_keys_on_settings(
    tmp_path, title, html, chunk, progress, name, fees
):
    base = _study(tmp_path, SMA, name="base.toml")
    text = f'name = "{name}"\n' + SMA.replace("fees = 0.001", f"fees = {fees}").replace(
        "html = false", f"html = {str(html).lower()}\ntitle = {title!r}"
    )
    other = _study(tmp_path, text + f"[executor]\nchunk_size = {chunk}\nprogress = {str(progress).lower()}\n")
    assert run_id(other).startswith(f"{name}-")
    assert (_digits(other) == _digits(base)) is (fees == 0.001)


@settings(max_examples=50, deadline=None)
@given(start=st.integers(-20, 20), span=st.integers(1, 40), step=st.integers(1, 7))
def test_an_integer_range_axis_is_pythons_range(start, span, step):
    values = grid_values(RangeConfig(start=start, stop=start + span, step=step))
    assert values == list(range(start, start + span, step))
    assert all(type(v) is int for v in values)


def test_the_run_id_changes_with_the_refs_source(tmp_path):
    _write_module(tmp_path, "mom_event_b", EVENT_MODULE)
    before = run_id(_study(tmp_path, EVENT.format(module="mom_event_b")))
    _write_module(tmp_path, "mom_event_b", EVENT_MODULE.replace("else 0.0", "else 0.05"))
    assert run_id(_study(tmp_path, EVENT.format(module="mom_event_b"))) != before


def test_a_ref_module_imported_elsewhere_is_used_as_it_is_and_imported_again_when_it_changes(tmp_path, monkeypatch):
    import importlib
    import sys

    _write_module(tmp_path, "mom_event_kept", EVENT_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "mom_event_kept", raising=False)
    module = importlib.import_module("mom_event_kept")  # the user's own import (or a package module)
    _study(tmp_path, EVENT.format(module="mom_event_kept")).check()
    assert sys.modules["mom_event_kept"] is module  # its classes stay the ones the user holds
    _write_module(tmp_path, "mom_event_kept", EVENT_MODULE.replace("else 0.0", "else 0.05"))
    _study(tmp_path, EVENT.format(module="mom_event_kept")).check()
    assert sys.modules["mom_event_kept"] is not module  # a changed source is imported again
    monkeypatch.delitem(sys.modules, "mom_event_kept")


def test_a_rerun_finds_its_folder_and_force_runs_again(tmp_path):
    first = _study(tmp_path, SMA).run(tmp_path / "runs")
    again = _study(tmp_path, SMA).run(tmp_path / "runs")
    assert not first.reused and again.reused and again.folder == first.folder
    assert again.result.equity.equals(first.result.equity) and again.params == first.params
    renamed = _study(tmp_path, 'name = "renamed"\n' + SMA.replace("html = false", "html = false\ntitle = 't'"))
    assert renamed.run(tmp_path / "runs").folder == first.folder  # the hash is the key, not the name
    forced = _study(tmp_path, SMA).run(tmp_path / "runs", force=True)
    assert not forced.reused and forced.folder == first.folder
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [first.folder.name]


def test_a_crash_leaves_no_folder_that_looks_finished(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(ml4t.Result, "save", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        _study(tmp_path, SMA).run(tmp_path / "runs")
    assert list((tmp_path / "runs").iterdir()) == []


def test_the_folder_holds_the_config_the_manifest_and_the_outputs(tmp_path):
    outcome = _study(tmp_path, SMA.replace("html = false", "html = true"), overrides=["settings.fees=0.001"]).run(
        tmp_path / "runs"
    )
    names = {p.name for p in outcome.folder.iterdir()}
    assert {"config.json", "study.toml", "manifest.json", "result", "report.html"} <= names
    manifest = json.loads((outcome.folder / "manifest.json").read_text())
    assert manifest["format"] == "ml4t-run/1" and manifest["run_id"] == outcome.run_id
    assert manifest["data_fingerprint"] == _bars().fingerprint()
    assert set(manifest["versions"]) == {"ml4t", "polars", "numpy", "msgspec", "pyarrow", "python"}
    assert set(manifest["outputs"]) == {f"result/{n}" for n in ("equity", "positions", "orders", "fills", "trades")}
    assert manifest["overrides"] == ["settings.fees=0.001"]
    stored = loads((outcome.folder / "config.json").read_text(), format="json")
    assert stored.result_key() == load(tmp_path / "study.toml").result_key()


# ------------------------------------------------------------------------------------------- reproduction
def test_reproduce_says_identical(tmp_path):
    outcome = _study(tmp_path, SMA + "[sweep]\ngrid.fast = [5, 10]\n").run(tmp_path / "runs")
    reproduction = reproduce(outcome.folder)
    assert reproduction.identical and reproduction.differences == () and reproduction.versions_changed == {}


def test_reproduce_names_a_tampered_output(tmp_path):
    outcome = _study(tmp_path, SMA).run(tmp_path / "runs")
    file = outcome.folder / "manifest.json"
    manifest = json.loads(file.read_text())
    manifest["outputs"]["result/fills"] = "0" * 32
    file.write_text(json.dumps(manifest))
    reproduction = reproduce(file)
    assert not reproduction.identical
    assert [d.split(":")[0] for d in reproduction.differences] == ["result/fills"]


def test_reproduce_names_a_data_change(tmp_path):
    path = _bars_file(tmp_path)
    outcome = _study(tmp_path, FILE_SMA).run(tmp_path / "runs")
    _scale_prices(path, 1.05)
    reproduction = reproduce(outcome.folder)
    assert not reproduction.identical
    assert reproduction.differences[0].startswith("data:") and "the data changed" in reproduction.differences[0]
    assert any(d.startswith("result/equity") for d in reproduction.differences)


# ------------------------------------------------------------------------------------------------- check
def test_check_lists_every_problem_at_once(tmp_path):
    _bars_file(tmp_path)
    text = FILE_SMA.replace('path = "bars.parquet"', 'path = "bars.parquet"\nuniverse = ["A000", "A0002"]')
    text = text.replace('"close > sma(close, fast)"', '"closee > sma(close, fast)"')
    text += '[[signals]]\npath = "missing.csv"\n'
    with pytest.raises(ConfigFileError) as caught:
        _study(tmp_path, text).check()
    problems = {p.path: p for p in caught.value.problems}
    assert set(problems) == {"signals.0.path", "data.universe", "strategy.rules.entries"}
    assert "missing.csv" in problems["signals.0.path"].message
    assert "'A0002'" in problems["data.universe"].message and "did you mean 'A002'" in problems["data.universe"].message
    assert "did you mean 'close'" in problems["strategy.rules.entries"].message
    assert problems["data.universe"].line == 3


def test_check_passes_a_good_config_with_a_summary(tmp_path):
    summary = _study(tmp_path, SMA + "[sweep]\ngrid.fast = [5, 10, 20]\n").check()
    assert "3 symbols" in summary and "3 combination(s)" in summary


def test_check_refuses_a_promotion_the_engine_cannot_run(tmp_path):
    with pytest.raises(ConfigFileError, match="cash_sharing") as caught:
        _study(tmp_path, SMA + "[promote]\n").check()
    assert [p.path for p in caught.value.problems] == ["promote"]


def test_check_names_a_ref_that_does_not_import(tmp_path):
    _write_module(tmp_path, "broken_ref_c", "raise RuntimeError('no')\n")
    with pytest.raises(ConfigFileError, match="importing 'broken_ref_c'") as caught:
        _study(tmp_path, EVENT.format(module="broken_ref_c")).check()
    assert [p.path for p in caught.value.problems] == ["strategy.ref"]


# ------------------------------------------------------------------------------------ no code from a config
def test_a_rule_that_imports_is_refused_by_load(tmp_path):
    text = SMA.replace('"close > sma(close, fast)"', "\"__import__('os').system('touch pwned')\"")
    with pytest.raises(ConfigFileError, match=r"strategy\.rules\.entries"):
        _study(tmp_path, text)
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()


def test_a_ref_with_look_ahead_is_refused_before_it_is_imported(tmp_path):
    marker = tmp_path / "imported.txt"
    source = f"""
    import polars as pl
    from pathlib import Path

    Path({str(marker)!r}).write_text("the module ran")


    def signal(n):
        return {{"entries": pl.col("close").shift(-1) > pl.col("close")}}
    """
    _write_module(tmp_path, "peeking_ref_d", source)
    text = SMA.replace('rules.entries = "close > sma(close, fast)"\nrules.exits = "close < sma(close, fast)"', "")
    text = text.replace("[strategy]", '[strategy]\nref = "peeking_ref_d:signal"').replace("fast = 10", "n = 1")
    study = _study(tmp_path, text)
    with pytest.raises(ConfigFileError, match="PIT001") as caught:
        study.check()
    assert [p.path for p in caught.value.problems] == ["strategy.ref"]
    with pytest.raises(ConfigError, match="look-ahead"):
        study.run(tmp_path / "runs")
    assert not marker.exists()


def test_sweep_only_needs_a_sweep(tmp_path):
    with pytest.raises(ConfigError, match=r"\[sweep\]"):
        _study(tmp_path, SMA).run(tmp_path / "runs", sweep_only=True)


def test_a_vectorized_ref_is_linted_then_run(tmp_path):
    _write_module(
        tmp_path,
        "sma_ref_e",
        """
        import polars as pl


        def signal(fast):
            c = pl.col("close")
            return {"entries": c > c.rolling_mean(fast), "exits": c < c.rolling_mean(fast)}
        """,
    )
    text = SMA.replace('rules.entries = "close > sma(close, fast)"\nrules.exits = "close < sma(close, fast)"', "")
    outcome = _study(tmp_path, text.replace("[strategy]", '[strategy]\nref = "sma_ref_e:signal"')).run(
        tmp_path / "runs"
    )
    assert outcome.result.equity.equals(VectorizedStrategy(_sma_rules, fees=0.001).run(_bars(), fast=10).equity)


def test_data_from_a_file_is_load_bars(tmp_path):
    path = _bars_file(tmp_path)
    study = _study(tmp_path, FILE_SMA.replace('path = "bars.parquet"', 'path = "bars.parquet"\nuniverse = ["A001"]'))
    assert study.bars().fingerprint() == load_bars(path).select(["A001"]).fingerprint()


def test_settings_valid_only_together_are_accepted(tmp_path):
    # size_type = "percent" alone is refused with the default size (inf); with size = 0.5 it is valid
    text = SMA.replace("fees = 0.001", 'fees = 0.001\nsize = 0.5\nsize_type = "percent"')
    outcome = _study(tmp_path, text).run(tmp_path / "runs")
    expected = VectorizedStrategy(_sma_rules, fees=0.001, size=0.5, size_type="percent").run(_bars(), fast=10)
    assert outcome.result.equity.equals(expected.equity)


def test_a_yaml_config_is_the_same_study_as_its_toml(tmp_path):
    yaml_text = """
    data:
      synthetic: {n_assets: 3, n_bars: 250, seed: 4}
    strategy:
      rules:
        entries: close > sma(close, fast)
        exits: close < sma(close, fast)
      params: {fast: 10}
    settings: {fees: 0.001}
    report: {html: false}
    """
    assert run_id(_study(tmp_path, yaml_text, name="study.yaml")) == run_id(_study(tmp_path, SMA))


def test_check_refuses_a_ref_of_the_wrong_kind(tmp_path):
    _write_module(tmp_path, "not_a_strategy_g", "class Momentum:\n    pass\n")
    with pytest.raises(ConfigFileError, match=r"neither an ml4t\.event\.Strategy subclass") as caught:
        _study(tmp_path, EVENT.format(module="not_a_strategy_g")).check()
    assert [p.path for p in caught.value.problems] == ["strategy.ref"]


@pytest.mark.parametrize(
    ("start", "end", "first", "last"),
    [
        # a date alone, in the data's tz: from the first instant of the start day through the end day's last one
        ("2015-03-02", "2015-03-06", "2015-03-02 00:00", "2015-03-06 23:59:59.999999"),
        # a time without an offset is in the data's tz; with one, as written
        ("2015-03-02T16:00", "2015-03-06T21:00:00Z", "2015-03-02 16:00", "2015-03-06 16:00"),
    ],
)
def test_start_and_end_are_read_in_the_datas_time_zone(tmp_path, start, end, first, last):
    import datetime as dt
    from zoneinfo import ZoneInfo

    text = SMA.replace(
        "[data.synthetic]", f'[data]\ntz = "America/New_York"\nstart = "{start}"\nend = "{end}"\n[data.synthetic]'
    )
    study = _study(tmp_path, text)
    ny = ZoneInfo("America/New_York")
    by_hand = _bars().between(
        dt.datetime.fromisoformat(first).replace(tzinfo=ny), dt.datetime.fromisoformat(last).replace(tzinfo=ny)
    )
    assert study.bars().fingerprint() == by_hand.fingerprint()
    assert by_hand.frame.height > 0


def test_a_start_that_is_not_a_date_is_named(tmp_path):
    study = _study(tmp_path, SMA.replace("[data.synthetic]", '[data]\nstart = "last spring"\n[data.synthetic]'))
    with pytest.raises(ConfigFileError) as caught:
        study.check()
    (problem,) = caught.value.problems
    assert problem.path == "data.start" and "is not a date or a timestamp" in problem.message


def test_the_same_study_in_a_moved_folder_has_the_same_run_id(tmp_path):
    """The files are identified by their content (the data fingerprint), not their place: a cloned or moved
    project finds its runs; the same place with other content does not."""
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        _bars().frame.write_parquet(tmp_path / folder / "bars.parquet")
    text = SMA.replace("[data.synthetic]\nn_assets = 3\nn_bars = 250\nseed = 4\n", '[data]\npath = "bars.parquet"\n')
    ids = [run_id(_study(tmp_path / folder, text)) for folder in ("a", "b")]
    assert ids[0] == ids[1]
    synthetic_bars(3, 250, "1d", 5).frame.write_parquet(tmp_path / "b" / "bars.parquet")
    assert run_id(_study(tmp_path / "b", text)) != ids[0]


def test_ml4t_config_is_reached_from_ml4t_without_being_imported_by_it():
    """In a notebook `import ml4t; ml4t.config.Study...` works, and `import ml4t` does not import the config
    package (it imports the whole study runner)."""
    import subprocess
    import sys

    code = (
        "import sys, ml4t; assert 'ml4t.config' not in sys.modules; "
        "assert ml4t.config.Study is not None and ml4t.cache.Store is not None; print('ok')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "ok", done.stderr
    with pytest.raises(AttributeError, match="no attribute 'configs'"):
        ml4t.configs  # noqa: B018

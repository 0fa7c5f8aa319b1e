"""The example studies in examples/: each config gives exactly what its Python script (the same study written
with the Python API) gives, `ml4t run` runs it, and the shipped data is what examples/data/make_data.py
writes."""

from __future__ import annotations

import datetime as dt
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import polars as pl
import pytest

from ml4t.config import Study

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
NAMES = ["sma_sweep", "momentum", "ml_signal", "event_costs"]


def _script(name: str) -> ModuleType:
    """examples/<name>.py imported as a module (examples/ first on the path, as `python examples/x.py` has)."""
    sys.path.insert(0, str(EXAMPLES))
    try:
        spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(EXAMPLES))


@pytest.fixture(scope="module")
def python_api() -> dict[str, dict[str, Any]]:
    return {name: _script(name).main() for name in NAMES}


@pytest.mark.parametrize("name", NAMES)
def test_the_config_gives_what_the_python_api_gives(name: str, python_api: dict, tmp_path: Path) -> None:
    expected = python_api[name]
    study = Study.from_file(EXAMPLES / f"{name}.toml", environ={})
    outcome = study.run(tmp_path / "runs")
    assert study.bars().fingerprint() == expected["bars"].fingerprint()
    assert outcome.result.equity.equals(expected["result"].equity)
    assert outcome.result.orders.equals(expected["result"].orders)
    assert outcome.result.metrics.equals(expected["result"].metrics)
    if "sweep" in expected:
        assert outcome.sweep is not None and outcome.sweep.equals(expected["sweep"].metrics)
        assert outcome.params == expected["chosen"]
    if "walk_forward" in expected:
        assert outcome.walk_forward is not None
        assert outcome.walk_forward.equals(expected["walk_forward"].folds)
    if "promoted" in expected:
        assert outcome.promoted is not None and outcome.promoted.equity.equals(expected["promoted"].equity)
        assert outcome.comparison is not None and outcome.comparison.equals(expected["comparison"].table)
    if "audit" in expected:
        assert outcome.audit is not None
        assert outcome.audit["passed"] is expected["audit"].passed is True
        assert outcome.audit["checked_orders"] == expected["audit"].checked_orders
    # the folder reproduces its run
    from ml4t.config import reproduce

    assert reproduce(outcome.folder).identical


@pytest.mark.parametrize("name", NAMES)
def test_ml4t_run_runs_each_example(name: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ml4t.cli", "run", str(EXAMPLES / f"{name}.toml"), "--runs", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert folder.name.startswith(f"{name}-")
    assert str(folder) in done.stdout
    assert (folder / "manifest.json").is_file() and (folder / "report.html").is_file()
    assert (folder / "result").is_dir()


def test_the_shipped_data_is_what_make_data_writes(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(EXAMPLES / "data" / "make_data.py"), str(tmp_path)], check=True, timeout=120)
    shipped = sorted(p.relative_to(EXAMPLES / "data") for p in (EXAMPLES / "data").rglob("*.csv"))
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.csv"))
    assert shipped == written and len(shipped) == 9
    for path in shipped:
        assert (tmp_path / path).read_bytes() == (EXAMPLES / "data" / path).read_bytes(), path


def test_the_predictions_are_out_of_sample() -> None:
    """Every forecast is about a bar after the model's training cut-off plus the 5-day embargo, so the config's
    signals section (train_end, embargo) accepts them without allow_in_sample."""
    stamps = pl.read_csv(EXAMPLES / "data" / "predictions.csv")["ts_event"].str.to_datetime(time_zone="UTC")
    cutoff = pl.Series([dt.datetime(2021, 12, 31, 23, 59, tzinfo=dt.UTC) + dt.timedelta(days=5)])
    assert (stamps > cutoff[0]).all()

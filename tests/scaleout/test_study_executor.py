"""``[executor]`` in ``ml4t run`` (issue #17): the run makes the executor its config names (``open_executor``), hands
it to the sweep and the walk-forward's folds, closes what it started, and records the kind and the workers in the
manifest. Whichever kind ran, the run folder's outputs are the same files, byte for byte (only the manifest's
record of when, how and where it ran, the config's own ``[executor]`` and the minute an HTML report was written
differ)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from ml4t._executor import open_executor, resolve_executor
from ml4t.config import Study, loads
from ml4t.errors import ConfigError

STUDY = """
name = "wf"

[data.synthetic]
n_assets = 2
n_bars = 420
seed = 3

[strategy]
rules.entries = "sma(close, fast) > sma(close, slow)"
rules.exits = "sma(close, fast) < sma(close, slow)"

[settings]
fees = 0.001
cash_sharing = true
size = 0.4
size_type = "percent"

[sweep]
grid.fast = [3, 5, 8, 13]
grid.slow = [30, 60]

[validation.walk_forward]
train = 150
test = 50

[promote]

[audit]
cuts = 2

[report]
html = true
"""

_RUN_RECORD = ("created", "command", "overrides", "config_hash", "executor")
"""The manifest's fields about how the run was made (not what it made): when, the command line and its --set
overrides, the config's hash (the config differs by its [executor]) and the executor itself."""


def _ml4t(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("ML4T__")}
    return subprocess.run(
        [sys.executable, "-m", "ml4t.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=cwd,
        env={**env, "ML4T_PROGRESS": "0"},
    )


_WRITTEN = re.compile(rb"written by ml4t on \d{4}-\d\d-\d\d \d\d:\d\d UTC")
"""The one timing field of an HTML report: the minute it was written."""


def _files(folder: Path) -> dict[str, bytes]:
    """Each file's bytes, an HTML report's with the minute it was written left out."""
    files = {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
    return {
        name: _WRITTEN.sub(b"written by ml4t", data) if name.endswith(".html") else data for name, data in files.items()
    }


def _explained(a: Path, b: Path, differ: list[str]) -> str:
    """Which columns of the differing Parquet files differ (for a failure's message)."""
    import polars as pl

    lines = []
    for name in differ:
        if name.endswith(".parquet"):
            x, y = pl.read_parquet(a / name), pl.read_parquet(b / name)
            cols = [c for c in x.columns if c not in y.columns or not x[c].equals(y[c], check_names=True)]
            lines.append(f"{name}: columns {cols}")
    return "; ".join(lines)


def _without_run_record(manifest: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in manifest.items() if k not in _RUN_RECORD}
    out.pop("cache")  # compared level by level in the test
    return out


def test_ml4t_run_on_processes_writes_the_local_runs_files(tmp_path):
    (tmp_path / "study.toml").write_text(textwrap.dedent(STUDY), encoding="utf-8")
    local = _ml4t(tmp_path, "run", "study.toml", "--runs", "local", "--cache-dir", "cache-local")
    assert local.returncode == 0, local.stderr
    procs = _ml4t(
        tmp_path,
        "run",
        "study.toml",
        "--runs",
        "procs",
        "--cache-dir",
        "cache-procs",
        "--set",
        'executor.kind="processes"',
        "--set",
        "executor.workers=2",
    )
    assert procs.returncode == 0, procs.stderr
    assert "ran on: processes, 2 workers" in procs.stdout and "ran on" not in local.stdout  # local: said by nothing
    ((a,), (b,)) = (list((tmp_path / "local").iterdir()), list((tmp_path / "procs").iterdir()))
    assert a.name == b.name  # the same run id: [executor] is not part of it
    files_a, files_b = _files(a), _files(b)
    assert set(files_a) == set(files_b)
    assert {"walk_forward.parquet", "sweep.parquet", "report.html", "promoted/manifest.json"} <= set(files_a)
    differ = sorted(name for name in files_a if files_a[name] != files_b[name])
    assert differ == ["config.json", "manifest.json"], _explained(a, b, differ)
    config_a, config_b = (
        json.loads(files[name]) for files, name in ((files_a, "config.json"), (files_b, "config.json"))
    )
    assert config_b["executor"] == {**config_a["executor"], "kind": "processes", "workers": 2}
    assert {**config_a, "executor": None} == {**config_b, "executor": None}
    manifest_a, manifest_b = json.loads(files_a["manifest.json"]), json.loads(files_b["manifest.json"])
    assert manifest_a["executor"] == {"kind": "local", "workers": None, "address": None}
    assert manifest_b["executor"] == {"kind": "processes", "workers": 2, "address": None}
    assert _without_run_record(manifest_a) == _without_run_record(manifest_b)
    # what the cache did: the same results blocks, the folds' sweeps' reports back from the workers (a sweep's
    # pieces on workers do not use the indicators level: the walk-forward's folds, whole sweeps, do)
    levels_a, levels_b = manifest_a["cache"]["levels"], manifest_b["cache"]["levels"]
    assert levels_a["results"] == levels_b["results"] and levels_b["results"]["misses"] > 0
    walked = json.loads(files_a["config.json"])["validation"]["walk_forward"] is not None
    assert walked and 0 < levels_b["indicators"]["misses"] <= levels_a["indicators"]["misses"]


def _outputs(text: str, runs: Path, *overrides: str) -> tuple[dict[str, str], dict[str, Any]]:
    outcome = Study(loads(text, overrides=list(overrides), environ={})).run(runs, cache=False)
    manifest = json.loads((outcome.folder / "manifest.json").read_text(encoding="utf-8"))
    return manifest["outputs"], manifest["executor"]


def test_a_study_on_a_local_dask_cluster_makes_the_local_runs_outputs(tmp_path):
    pytest.importorskip("distributed")
    text = STUDY.replace("html = true", "html = false")
    local, _ = _outputs(text, tmp_path / "local")
    dask, ran_on = _outputs(text, tmp_path / "dask", 'executor.kind="dask"', "executor.workers=2")
    assert ran_on == {"kind": "dask", "workers": 2, "address": None}
    assert dask == local


def test_open_executor_starts_ray_with_the_workers_and_the_path_and_shuts_it_down(monkeypatch, tmp_path):
    """Without a running Ray, kind "ray" starts one of ``workers`` CPUs whose workers import from ``path``, and
    shuts it down after; Ray's own calls are recorded here, none is made (a real one: tests/scaleout/test_ray.py)."""
    ray = pytest.importorskip("ray")
    calls: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", lambda **k: calls.append(("init", k)))
    monkeypatch.setattr(ray, "shutdown", lambda: calls.append(("shutdown", {})))
    monkeypatch.delenv("PYTHONPATH", raising=False)
    with open_executor("ray", workers=3, path=tmp_path) as executor:
        assert executor == "ray"
    assert calls == [
        (
            "init",
            {"num_cpus": 3, "runtime_env": {"env_vars": {"POLARS_MAX_THREADS": "1", "PYTHONPATH": str(tmp_path)}}},
        ),
        ("shutdown", {}),
    ]
    calls.clear()
    with open_executor("ray", address="auto"):
        pass
    assert calls == [("init", {"address": "auto"}), ("shutdown", {})]


def test_open_executor_closes_what_it_started():
    with open_executor("processes", workers=2) as pool:
        assert resolve_executor(pool) is not None and resolve_executor(pool).workers == 2  # type: ignore[union-attr]
    with pytest.raises(RuntimeError, match="shutdown"):
        pool.submit(int)
    with open_executor("local") as nothing:
        assert nothing is None


def _polars_threads() -> int:
    import polars

    return polars.thread_pool_size()


def test_open_executor_closes_a_dask_cluster_it_started():
    pytest.importorskip("distributed")
    with open_executor("dask", workers=2) as client:
        assert sum(client.nthreads().values()) == 2
        assert set(client.run(_polars_threads).values()) == {1}  # Polars' pool sized to the worker's one thread
        cluster = client.cluster
    assert client.status == "closed" and cluster.status.name == "closed"


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"kind": "threads"}, "kind"),
        ({"kind": "processes", "workers": 0}, "workers"),
        ({"kind": "local", "workers": 2}, "workers"),
        ({"kind": "processes", "address": "tcp://h:8786"}, "address"),
        ({"kind": "dask", "address": "auto"}, "address"),
    ],
)
def test_open_executor_refuses_what_the_config_refuses(kwargs, argument):
    with pytest.raises(ConfigError) as caught, open_executor(**kwargs):
        pass
    assert caught.value.argument == argument


SIGNALS_MODULE = """
import polars as pl


def cross(fast, slow):
    f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
    return {"entries": f > s, "exits": f < s}
"""


@pytest.mark.parametrize("kind", ["processes", "dask"])
def test_a_ref_beside_the_config_is_importable_on_the_workers(tmp_path, kind):
    """A ``ref``'d signal function lives in a module beside the config, imported with the config's folder on the
    path: the workers (other processes, which import it by name) get that folder on their path too."""
    if kind == "dask":
        pytest.importorskip("distributed")
    name = f"cfg_signals_{kind}"
    (tmp_path / f"{name}.py").write_text(SIGNALS_MODULE, encoding="utf-8")
    text = STUDY.replace("html = true", "html = false").replace(
        'rules.entries = "sma(close, fast) > sma(close, slow)"\nrules.exits = "sma(close, fast) < sma(close, slow)"',
        f'ref = "{name}:cross"',
    )
    (tmp_path / "study.toml").write_text(text, encoding="utf-8")

    def outputs(runs: str, *overrides: str) -> dict[str, str]:
        outcome = Study.from_file(tmp_path / "study.toml", overrides=list(overrides)).run(tmp_path / runs, cache=False)
        return json.loads((outcome.folder / "manifest.json").read_text(encoding="utf-8"))["outputs"]

    assert outputs(kind, f'executor.kind="{kind}"', "executor.workers=2") == outputs("local")


def test_a_run_folder_made_on_processes_reproduces(tmp_path):
    from ml4t.config import reproduce

    text = STUDY.replace("html = true", "html = false").replace("[audit]\ncuts = 2\n", "")
    overrides = ['executor.kind="processes"', "executor.workers=2"]
    outcome = Study(loads(text, overrides=overrides, environ={})).run(tmp_path, cache=False)
    reproduction = reproduce(outcome.folder)
    assert reproduction.identical, str(reproduction)

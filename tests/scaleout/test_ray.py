"""Sweeps and batches of runs on Ray (issue #17): a local Ray instance of two CPUs on this machine, started once for
the module and shut down after; the same answers as this process, bit for bit.

Its session files go to a temporary directory, and it gets a token of its own (``RAY_AUTH_TOKEN``), so starting it
writes nothing under the user's home (a new local Ray would save one in ``~/.ray/auth_token``).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from tests.bitwise import assert_same_sweep as _assert_same  # noqa: E402
from tests.scaleout.test_executor import BARS, GRID, cross  # noqa: E402
from tests.scaleout.test_run_many import _assert_same as _same_result  # noqa: E402
from tests.scaleout.test_run_many import _runs  # noqa: E402

import ml4t  # noqa: E402
import ml4t._executor as executor_module  # noqa: E402
from ml4t.errors import ConfigError  # noqa: E402
from ml4t.result import Result  # noqa: E402
from ml4t.vectorized import VectorizedStrategy  # noqa: E402

# The workers import what the tests send by name as this process does: tests.* from the checkout, this module as
# pytest named it (scaleout.test_ray: tests/ is no package), ml4t from the environment.
IMPORTS = [str(Path(__file__).resolve().parents[i]) for i in (2, 1)]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with pytest.MonkeyPatch.context() as env:
        env.delenv("RAY_AUTH_MODE", raising=False)  # ray.init sets it (to "token"): restored after
        env.setenv("RAY_AUTH_TOKEN", secrets.token_hex(32))
        paths = [*IMPORTS, *filter(None, [os.environ.get("PYTHONPATH")])]
        ray.init(
            num_cpus=2,
            include_dashboard=False,
            log_to_driver=False,
            _temp_dir=str(tmp_path_factory.mktemp("ray")),
            runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join(paths)}},
        )
        try:
            yield
        finally:
            ray.shutdown()


def test_a_sweep_on_ray_is_the_local_sweep_bit_for_bit(cluster, monkeypatch):
    monkeypatch.setattr(executor_module, "PIECE_FLOOR_SECONDS", 0.0)  # several pieces per worker
    put, submitted = [], []
    ray_put, submit = ray.put, executor_module.RayPool._submit
    monkeypatch.setattr(ray, "put", lambda value: put.append(value) or ray_put(value))
    monkeypatch.setattr(executor_module.RayPool, "_submit", lambda self, *a: submitted.append(a) or submit(self, *a))
    strategy = VectorizedStrategy(cross, fees=0.001)
    local = strategy.sweep(BARS, progress=False, **GRID)
    remote = strategy.sweep(BARS, progress=False, executor="ray", **GRID)
    _assert_same(local, remote)
    assert len(submitted) > 1  # several pieces ...
    assert len(put) == 2 and put[0] is BARS  # ... and the bars and the task went to the object store once


def test_a_batch_of_runs_on_ray_gives_each_runs_own_result_in_order(cluster):
    alone = ml4t.run_many(_runs())
    remote = ml4t.run_many(_runs(), executor="ray")
    for got, want in zip(remote, alone, strict=True):
        _same_result(got, want)


def test_a_notebook_defined_signal_function_runs_on_ray(cluster):
    """Ray pickles functions by value when they cannot be imported by name (cloudpickle), like Dask."""

    def local_cross(fast: int, slow: int):
        import polars as pl

        f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
        return {"entries": f > s, "exits": f < s}

    strategy = VectorizedStrategy(local_cross)
    _assert_same(
        strategy.sweep(BARS, progress=False, fast=[3, 5], slow=[40]),
        strategy.sweep(BARS, progress=False, executor="ray", fast=[3, 5], slow=[40]),
    )


def test_the_pool_is_the_clusters_cpus_one_cpu_and_one_thread_per_task(cluster):
    pool = executor_module.resolve_executor("ray")
    assert isinstance(pool, executor_module.RayPool)
    assert (pool.workers, pool.threads_per_task) == (2, 1)


def test_a_process_connected_to_no_ray_runtime_connects_as_ray_does_on_a_first_remote_call(cluster, monkeypatch):
    calls = []
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", lambda *a, **k: calls.append((a, k)))
    executor_module.resolve_executor("ray")
    assert calls == [((), {})]  # ray.init(): RAY_ADDRESS, else a local runtime


def refuses(marker: str) -> Result:
    """A run that raises the user's error on its worker, and counts its attempts in ``marker``."""
    with open(marker, "a") as f:
        f.write("attempt\n")
    raise ConfigError("this run refuses to run", argument="runs")


def test_an_ml4t_error_on_a_worker_arrives_as_itself_and_is_not_retried(cluster, tmp_path):
    marker = tmp_path / "attempts"
    with pytest.raises(ConfigError) as caught:
        ml4t.run_many([lambda: refuses(str(marker))], executor="ray")
    assert type(caught.value) is ConfigError  # unwrapped from Ray's RayTaskError
    assert caught.value.argument == "runs" and str(caught.value).startswith("this run refuses to run")
    assert marker.read_text().count("attempt") == 1


class DiesFirst:
    """A run whose worker process dies on its first ``deaths`` attempts (a lost machine), then runs."""

    def __init__(self, marker: Path, deaths: int) -> None:
        self.marker, self.deaths = str(marker), deaths

    def __call__(self) -> Result:
        with open(self.marker, "a") as f:
            f.write("attempt\n")
        with open(self.marker) as f:
            if f.read().count("attempt") <= self.deaths:
                os._exit(1)
        return _runs()[0].run(progress=False)


def test_a_run_whose_worker_dies_is_run_again_once(cluster, tmp_path):
    want = _runs()[0].run(progress=False)
    (got,) = ml4t.run_many([DiesFirst(tmp_path / "once", 1)], executor="ray")
    _same_result(got, want)
    assert (tmp_path / "once").read_text().count("attempt") == 2
    with pytest.raises(ray.exceptions.RayError):  # Ray does not retry it too: two attempts, not eight
        ml4t.run_many([DiesFirst(tmp_path / "always", 9)], executor="ray")
    assert (tmp_path / "always").read_text().count("attempt") == 2


def _lost(*_args):
    raise ConnectionError("the worker went away")


def test_a_piece_lost_on_ray_is_raised_after_the_other_pieces_stored_their_blocks(cluster, tmp_path, monkeypatch):
    import ml4t.vectorized._result_cache as result_cache
    from ml4t.cache import Store

    monkeypatch.setattr(executor_module, "PIECE_FLOOR_SECONDS", 0.0)
    monkeypatch.setattr(result_cache, "BLOCK", 16)
    submit = executor_module.RayPool._submit

    def losing(self, task, *args):  # the piece holding combination 0 is lost, its retry too
        return submit(self, _lost if 0 in args[-1] else task, *args)

    monkeypatch.setattr(executor_module.RayPool, "_submit", losing)
    store = Store(tmp_path, max_bytes=1 << 30)
    strategy = VectorizedStrategy(cross)
    with pytest.raises(ConnectionError, match="went away"):
        strategy.sweep(BARS, progress=False, executor="ray", cache=store, **GRID)
    monkeypatch.setattr(executor_module.RayPool, "_submit", submit)
    resumed = strategy.sweep(BARS, progress=False, executor="ray", cache=store, **GRID)
    assert resumed.cache.results.misses >= 1  # the lost piece's blocks
    assert resumed.cache.results.hits + resumed.cache.results.misses == 9  # 140 combinations in blocks of 16
    _assert_same(strategy.sweep(BARS, progress=False, **GRID), resumed)


def test_walk_forward_folds_on_ray_are_the_local_walk_forward(cluster):
    from tests.scaleout.test_walk_forward import BARS as WF_BARS
    from tests.scaleout.test_walk_forward import GRID as WF_GRID
    from tests.scaleout.test_walk_forward import SPLITS, assert_same_walk

    from ml4t.validate import walk_forward_sweep

    strategy = VectorizedStrategy(cross, fees=0.001)
    local = walk_forward_sweep(strategy, WF_BARS, SPLITS, progress=False, **WF_GRID)
    remote = walk_forward_sweep(strategy, WF_BARS, SPLITS, progress=False, executor="ray", **WF_GRID)
    assert_same_walk(local, remote)


def test_a_study_with_executor_kind_ray_makes_the_local_runs_outputs(cluster, tmp_path):
    """``[executor] kind = "ray"`` in a study: this process already runs Ray (the module's), which the run uses as
    it is (and leaves running); the run folder's outputs are the local run's."""
    import json

    from tests.scaleout.test_study_executor import STUDY

    from ml4t.config import Study, loads

    text = STUDY.replace("html = true", "html = false")

    def run(folder: str, *overrides: str) -> dict:
        outcome = Study(loads(text, overrides=list(overrides), environ={})).run(tmp_path / folder, cache=False)
        return json.loads((outcome.folder / "manifest.json").read_text(encoding="utf-8"))

    local = run("local")
    remote = run("ray", 'executor.kind="ray"', "executor.workers=2")
    assert remote["executor"] == {"kind": "ray", "workers": 2, "address": None}
    assert remote["outputs"] == local["outputs"]
    assert ray.is_initialized()  # not started by the run, so not shut down by it

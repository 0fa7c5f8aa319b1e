"""``ml4t.run_many``: a batch of event-driven or promoted runs, here or on an executor's workers (issue #17).

A research loop ends in many full-fidelity runs: the top candidates of a sweep promoted under realistic costs,
one strategy on several universes, the same run under several cost assumptions. ``run_many`` takes them as a
list and returns their Results in the same order, each the Result the run gives alone (the same bit for bit,
wherever it ran).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ml4t import _progress
from ml4t._executor import resolve_executor
from ml4t.errors import ConfigError
from ml4t.event import Engine
from ml4t.promotion import Promoted
from ml4t.result import Result

__all__ = ["run_many"]


def run_many(runs: Iterable[Any], *, executor: Any = None, progress: bool | None = None) -> list[Result]:
    """Run every run of ``runs`` and return their Results in order.

    A run is an ``ml4t.event.Engine`` (``engine.run()``), a promotion (``ml4t.promote(strategy, bars,
    **params)``: run under the strategy's own settings), or any callable of no argument that returns a Result
    (``functools.partial(promoted.run, commission=PerShare(0.005))`` for other engine settings).

    ``executor``: None runs them one after the other in this process; a ``concurrent.futures.Executor``, a
    ``dask.distributed.Client`` or ``"ray"`` (the Ray runtime: ``ml4t._executor.RayPool``) runs them on its
    workers (a ProcessPoolExecutor must spawn its workers: ``ml4t.spawn_pool(n)``; each run is pickled to its
    worker, so on a process pool its strategy class and functions must be importable by name). A run whose
    worker fails with anything but an ml4t error is run again once; an ml4t error is raised as is.
    ``progress``: a bar counting finished runs when the batch lasts over a second (``False`` or
    ``ML4T_PROGRESS=0`` hides it).

    A bad run is refused before any runs: a ConfigError naming ``runs`` and its position.
    """
    items = list(runs) if isinstance(runs, Iterable) and not isinstance(runs, (str, bytes)) else None
    if items is None:
        raise ConfigError(f"runs must be a list of runs, got {type(runs).__name__}", argument="runs")
    for i, run in enumerate(items):
        if not (isinstance(run, (Engine, Promoted)) or callable(run)):
            raise ConfigError(
                f"runs[{i}] must be an ml4t.event.Engine, a promotion (ml4t.promote(...)) or a callable returning "
                f"a Result, got {type(run).__name__}",
                argument="runs",
            )
    pool = resolve_executor(executor)
    with _progress.bar(progress, total=len(items), unit="runs", desc="runs") as shown:
        if pool is None:
            out = []
            for i, run in enumerate(items):
                out.append(_run_one(run))
                shown.to(i + 1)
        else:
            out = list(pool.map(_run_one, items, shown))
    for i, result in enumerate(out):
        if not isinstance(result, Result):
            raise ConfigError(f"runs[{i}] returned a {type(result).__name__}, not a Result", argument="runs")
    return out


def _run_one(run: Engine | Promoted | Callable[[], Result]) -> Result:
    """One run, wherever it is (a worker's progress bar is off: the caller counts the runs)."""
    if isinstance(run, (Engine, Promoted)):
        return run.run(progress=False)
    return run()

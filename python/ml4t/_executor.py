"""Where the work runs (issue #17): this process, or an executor's workers.

``sweep(..., executor=None)`` runs the Rust kernel here, on every core (rayon). With an executor (a
``concurrent.futures.Executor``, a ``dask.distributed.Client`` or ``"ray"``) the sweep plans its pieces first
(:mod:`ml4t.vectorized._distribute`: the combinations reading one indicator together), runs each piece on a
worker (the same chunks and the same kernel a local sweep runs: the results are the same bit for bit), and takes
the pieces back as they finish, moving the progress bar by each; the rows are put in grid order at the end.
``ml4t.run_many`` and ``walk_forward_sweep`` use the same :class:`Pool` for their runs and folds.

- **Pieces** (:meth:`Pool.cut`): about :data:`PIECES_PER_WORKER` per worker (so a slow piece does not leave the
  others idle), fewer when a piece would hold under :data:`PIECE_FLOOR_SECONDS` of estimated work (so its fixed
  cost, sending it, preparing the panel on the worker, returning the statistics, stays small), never fewer
  than the workers.
- **Threads**: each task runs the kernel on :attr:`Pool.threads_per_task` threads (the CPUs it was given: one
  per Dask or Ray task, this machine's CPUs shared out on a local pool), not one per core of its machine.
- **Failures**: a piece whose worker raised something other than an ml4t error (a worker that died, a lost
  connection) is submitted again, once; failing again, it is raised after the pieces already running came
  back (their cache blocks stored, so a rerun resumes from them), the queued ones cancelled. An ml4t error (a
  bad rule, bad data) is the user's and raised at once.
- **Ctrl-C**: the wait stops at once, the pieces are cancelled and ``KeyboardInterrupt`` is raised; with the
  cache on, the blocks of the pieces that finished are already stored, so the sweep resumes from them.
- **Processes fork badly**: Polars runs threads in this process, and a child forked from it inherits their locks
  without the threads that hold them, so a fork-context ``ProcessPoolExecutor`` (Linux's default) hangs forever.
  It is refused with a ConfigError that says how to make one that spawns; any pool ml4t makes spawns.
- **Dask**: a ``dask.distributed.Client`` is used as an executor (its futures have ``result`` and ``cancel``);
  the bars are scattered to every worker once per sweep instead of pickled with each piece, and tasks are
  submitted impure.
- **Ray**: ``executor="ray"`` runs the tasks on the Ray runtime this process is connected to (:class:`RayPool`):
  one CPU each, the bars and the task put in its object store once per sweep.
- **Made for a run**: :func:`open_executor` makes the executor a study config's ``[executor]`` names (a spawning
  pool, a Dask client of a scheduler or of a ``LocalCluster`` it starts, Ray) and closes what it started.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import contextlib
import contextvars
import functools
import math
import os
import queue
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from ml4t import _progress
from ml4t.errors import ConfigError, Ml4tError

__all__ = [
    "KINDS",
    "PIECE_FLOOR_SECONDS",
    "PIECES_PER_WORKER",
    "SECONDS_PER_CELL",
    "DaskPool",
    "Pool",
    "RayPool",
    "executor_problems",
    "open_executor",
    "resolve_executor",
    "spawn_pool",
]

T = TypeVar("T")
R = TypeVar("R")

PIECES_PER_WORKER = 4
PIECE_FLOOR_SECONDS = 0.1
"""A piece's work is kept above this (about four times the fixed cost of a piece measured on a local Dask
cluster by ``bench/distributed.py``: 25 ms to send it, prepare the panel on the worker and return the
statistics), unless that would leave workers idle."""
SECONDS_PER_CELL = 30e-9
"""One core's time per bar of one combination of a sweep (signals, kernel, statistics), measured by
``bench/distributed.py`` (``c1`` over the bars) on the project's machine kind: the planner's estimate of a
piece's work, never a result."""
_RETRIES = 1
KINDS = ("local", "processes", "dask", "ray")
"""The kinds of executor :func:`open_executor` makes (a study config's ``[executor] kind``)."""


ONE_CPU_ENV = {"POLARS_MAX_THREADS": "1"}
"""The environment of the worker processes of a cluster ml4t starts, each running one task of one CPU at a time:
Polars sizes its thread pool from it when the process imports Polars (it cannot be resized later); the kernel's
threads are bounded per task (:attr:`Pool.threads_per_task`)."""

_TASK_THREADS: contextvars.ContextVar[int] = contextvars.ContextVar("ml4t_task_threads", default=0)


@contextlib.contextmanager
def task_threads(threads: int) -> Iterator[None]:
    """Within the block, the sweeps this thread runs use at most ``threads`` kernel threads: a task on a worker
    (a walk-forward fold) that was given ``threads`` CPUs, not its machine's every core."""
    token = _TASK_THREADS.set(threads)
    try:
        yield
    finally:
        _TASK_THREADS.reset(token)


def kernel_threads(threads: int = 0) -> int:
    """The kernel's thread bound for a call: ``threads`` when given, else the enclosing :func:`task_threads`'s,
    else 0 (every core)."""
    return threads or _TASK_THREADS.get()


class Pool:
    """A resolved ``executor=`` argument: the executor and its number of workers."""

    def __init__(self, executor: Any, workers: int) -> None:
        self.executor = executor
        self.workers = max(1, workers)

    def share(self, value: Any) -> Any:
        """``value`` as the tasks receive it: itself (pickled with each task), or a cluster's handle to one copy."""
        return value

    def _submit(self, task: Callable[..., Any], *args: Any) -> Any:
        return self.executor.submit(task, *args)

    @property
    def threads_per_task(self) -> int:
        """The CPUs one task may use (the kernel's threads): this machine's CPUs shared by the pool's workers."""
        return max(1, (os.cpu_count() or 1) // self.workers)

    def cut(self, order: Sequence[int], seconds_each: float = 0.0) -> list[list[int]]:
        """``order`` (combination indices, in the order to run them) cut into contiguous pieces, in order: about
        :data:`PIECES_PER_WORKER` per worker, fewer when a piece would hold under :data:`PIECE_FLOOR_SECONDS` of
        work (``seconds_each``: one core's estimated seconds per combination), but never fewer than the
        workers."""
        n = len(order)
        count = self.workers * PIECES_PER_WORKER
        if seconds_each > 0 and PIECE_FLOOR_SECONDS > 0:
            count = min(count, max(self.workers, int(n * seconds_each / PIECE_FLOOR_SECONDS)))
        count = max(1, min(count, n))
        size = max(1, math.ceil(n / count))
        return [list(order[start : start + size]) for start in range(0, n, size)]

    def map(
        self,
        task: Callable[..., R],
        items: Sequence[T],
        shown: _progress.Bar,
        sizes: Sequence[int] | None = None,
        shared: tuple[Any, ...] = (),
    ) -> Iterator[R]:
        """``task(*shared, item)`` for each item, run on the workers, yielded in the items' order (``shared``: values
        from :meth:`share`); ``shown`` moves by each finished item's size (``sizes``, default 1 each). Each item
        is submitted again once when its worker fails with anything but an ml4t error."""
        got: dict[int, R] = {}
        following = 0
        for i, value in self.unordered(task, items, shown, sizes, shared):
            got[i] = value
            while following in got:
                yield got.pop(following)
                following += 1

    def unordered(
        self,
        task: Callable[..., R],
        items: Sequence[T],
        shown: _progress.Bar,
        sizes: Sequence[int] | None = None,
        shared: tuple[Any, ...] = (),
    ) -> Iterator[tuple[int, R]]:
        """Like :meth:`map`, yielding ``(position, value)`` as the items finish, in any order (the progress bar
        counts what finished across the workers). An ml4t error is raised at once. An item that fails otherwise
        twice (a lost worker, a lost connection) is raised only after the items already running have come back
        (and were yielded: a sweep stores their cache blocks, so a rerun resumes from them); the queued ones
        are cancelled (:meth:`_cancel_queued`)."""
        finished: queue.SimpleQueue[int] = queue.SimpleQueue()
        retries = [0] * len(items)
        futures: list[Any] = []
        pending = set(range(len(items)))
        lost: BaseException | None = None

        def submit(i: int) -> Any:
            future = self._submit(task, *shared, items[i])
            future.add_done_callback(lambda _, i=i: finished.put(i))
            return future

        done = 0
        try:
            for i in range(len(items)):
                futures.append(submit(i))  # one by one: each is cancelled on Ctrl-C, even mid-way
            while pending:
                i = _next(finished)
                if i not in pending or not futures[i].done():
                    continue  # a retried item's first future, or a spurious wake-up
                try:
                    value = futures[i].result()
                except Ml4tError:
                    raise
                except (Exception, asyncio.CancelledError) as error:
                    if lost is None and retries[i] < _RETRIES:
                        retries[i] += 1
                        futures[i] = submit(i)  # once more: a worker may have died
                        continue
                    pending.discard(i)
                    if lost is None:
                        lost = error
                        self._cancel_queued([futures[j] for j in pending])
                    continue
                pending.discard(i)
                done += 1 if sizes is None else sizes[i]
                shown.to(done)
                yield i, value
            if lost is not None:
                raise lost
        finally:  # Ctrl-C, an error, or a caller that stopped reading: nothing left running for nothing
            for future in futures:
                future.cancel()

    def _cancel_queued(self, futures: Sequence[Any]) -> None:
        """Cancel the futures not started yet, leaving running ones to finish (a ``concurrent.futures`` future
        cannot be cancelled once it runs)."""
        for future in futures:
            future.cancel()


def _next(finished: queue.SimpleQueue[int]) -> int:
    """The next finished item, waiting in short steps so that Ctrl-C is seen at once (a blocking get is not
    interrupted by it)."""
    while True:
        try:
            return finished.get(timeout=_progress.POLL)
        except queue.Empty:
            continue


class DaskPool(Pool):
    """A ``dask.distributed.Client``: tasks are submitted impure (each runs, a retry too), and a shared value is
    scattered to every worker once per call instead of pickled with each task."""

    @property
    def threads_per_task(self) -> int:
        """One: a Dask worker runs one task per thread it has, so a task has one CPU."""
        return 1

    def share(self, value: Any) -> Any:
        return self.executor.scatter(value, broadcast=True, hash=False)

    def _cancel_queued(self, futures: Sequence[Any]) -> None:
        """Cancel the futures no worker is processing (Dask would stop a running one too)."""
        running = {key for keys in self.executor.processing().values() for key in keys}
        for future in futures:
            if future.key not in running:
                future.cancel()

    def _submit(self, task: Callable[..., Any], *args: Any) -> Any:
        return self.executor.submit(task, *args, pure=False)


class RayPool(Pool):
    """``executor="ray"``: the Ray runtime this process is connected to; when it is connected to none, ``ray.init()``
    connects it as Ray itself does on a first ``.remote()`` call (to the cluster at ``RAY_ADDRESS``, else to a
    local one, started if none runs). ``workers`` is the cluster's CPUs (``ray.cluster_resources()``, at least 1).

    Each task asks for one CPU (``num_cpus=1``: :attr:`threads_per_task` is 1) and runs one remote function,
    :func:`_apply`, given the task as an argument: ``ray.remote`` takes no ``functools.partial`` (a sweep's task),
    and a remote function made per task would be exported to the cluster on each sweep. The task and a shared
    value (:meth:`share`, the bars) go to the object store once per pool (``ray.put``), each task receiving them
    by reference. Ray does not retry a task itself (``max_retries=0``): :meth:`Pool.unordered` runs a failed one
    again once, as on any executor, and an ml4t error raised on a worker is raised here as itself.
    """

    def __init__(self) -> None:
        import ray

        runtime: Any = ray  # not all of Ray's functions are typed
        if not runtime.is_initialized():
            runtime.init()
        super().__init__(runtime, int(runtime.cluster_resources().get("CPU", 1)))
        self._tasks: dict[Callable[..., Any], Any] = {}

    @property
    def threads_per_task(self) -> int:
        """One: each task asks Ray for one CPU."""
        return 1

    def share(self, value: Any) -> Any:
        return self.executor.put(value)

    def _submit(self, task: Callable[..., Any], *args: Any) -> Any:
        ref = self._tasks.get(task)
        if ref is None:
            ref = self._tasks[task] = self.executor.put(task)
        return _RayTask(_remote_apply().remote(ref, *args))

    def _cancel_queued(self, futures: Sequence[Any]) -> None:
        """Cancel none: Ray cancels a queued task and a running one alike (it interrupts the running one, whose
        work is lost), and which ones run is known only to its state API (``ray[default]``'s dashboard). So after
        a lost piece the others all finish (a sweep stores their blocks) before the loss is raised."""


def _apply(task: Callable[..., R], *args: Any) -> R:
    """On a Ray worker: ``task(*args)`` (Ray has resolved the object references among the arguments)."""
    return task(*args)


@functools.cache
def _remote_apply() -> Any:
    """:func:`_apply` as a Ray remote function of one CPU that Ray does not retry (made once)."""
    import ray

    return ray.remote(num_cpus=1, max_retries=0)(_apply)


class _RayTask:
    """A Ray task as :meth:`Pool.unordered` uses a future: ``done``, ``add_done_callback`` and ``result`` are its
    object reference's future's (``ObjectRef.future()``), ``cancel()`` cancels the task (``ray.cancel``). An ml4t
    error raised on the worker is raised as itself (Ray wraps it in a ``RayTaskError``), from Ray's error, which
    shows the worker's traceback."""

    def __init__(self, ref: Any) -> None:
        self.ref = ref
        self._future: cf.Future[Any] = ref.future()

    def done(self) -> bool:
        return self._future.done()

    def add_done_callback(self, fn: Callable[[_RayTask], object]) -> None:
        self._future.add_done_callback(lambda _: fn(self))

    def result(self) -> Any:
        import ray

        try:
            return self._future.result()
        except ray.exceptions.RayTaskError as err:
            cause = getattr(err, "cause", None)
            if isinstance(cause, Ml4tError):
                raise cause from err
            raise

    def cancel(self) -> None:
        import ray

        ray.cancel(self.ref, force=False)


def resolve_executor(executor: object, *, argument: str = "executor") -> Pool | None:
    """The Pool of an ``executor=`` argument, or None for this process's kernel. A ConfigError naming
    ``argument`` for anything else, and for a ProcessPoolExecutor that forks its workers (say why)."""
    if executor is None:
        return None
    if isinstance(executor, str) and executor == "ray":
        try:
            import ray  # noqa: F401
        except ImportError:
            raise ConfigError(
                f"{argument}='ray' needs Ray, which is not installed: pip install 'ml4t[ray]'", argument=argument
            ) from None
        return RayPool()
    if isinstance(executor, cf.ProcessPoolExecutor):
        context = getattr(executor, "_mp_context", None)
        method = context.get_start_method() if context is not None else "fork"
        if method == "fork":
            raise ConfigError(
                "this ProcessPoolExecutor forks its workers (Linux's default), and a child forked from a process "
                "where Polars runs threads inherits their locks without the threads: it hangs forever. Make one "
                "that spawns: ProcessPoolExecutor(n, mp_context=multiprocessing.get_context('spawn')), or "
                "ml4t.spawn_pool(n)",
                argument=argument,
            )
    if isinstance(executor, cf.Executor):
        workers = getattr(executor, "_max_workers", None)
        return Pool(executor, int(workers) if isinstance(workers, int) else (os.cpu_count() or 1))
    kind = type(executor).__module__.partition(".")[0]
    if kind == "distributed" and type(executor).__name__ == "Client":
        threads = executor.nthreads()  # type: ignore[attr-defined]
        return DaskPool(executor, sum(threads.values()) if threads else 1)
    raise ConfigError(
        f"{argument} must be None, a concurrent.futures.Executor (a ThreadPoolExecutor, or a ProcessPoolExecutor "
        f"that spawns: ml4t.spawn_pool(n)), a dask.distributed.Client or 'ray' (the Ray runtime), got "
        f"{type(executor).__name__} {executor!r:.60}",
        argument=argument,
    )


def executor_problems(kind: str, workers: int | None, address: str | None) -> list[tuple[str, str]]:
    """The rules between an executor's ``kind``, ``workers`` and ``address`` (a study config's ``[executor]``
    keys, each valid alone): ``(key, message)`` for each one broken. An ``address`` is a cluster's (``"dask"``
    or ``"ray"``, each its own kind of address); ``workers`` sizes what ml4t starts (a pool or a cluster on this
    machine), so not with an ``address`` nor with ``"local"`` (the kernel of this process, on every core)."""
    problems: list[tuple[str, str]] = []
    if address is not None:
        ray_address = address == "auto" or address.startswith("ray://")
        scheme = address.partition("://")[0] if "://" in address else None
        if kind in ("local", "processes"):
            problems.append(
                (
                    "address",
                    f'kind = "{kind}" runs on this machine; an address is a cluster\'s (kind = "dask" or "ray")',
                )
            )
        elif kind == "dask" and ray_address:
            problems.append(
                ("address", f"{address!r} is a Ray address; a Dask scheduler's is like 'tcp://10.0.0.5:8786'")
            )
        elif kind == "ray" and scheme not in (None, "ray"):
            problems.append(
                ("address", f"{address!r} is not a Ray address: give 'auto', 'ray://host:10001' or 'host:port'")
            )
        elif workers is not None:
            problems.append(
                (
                    "workers",
                    "the cluster at address has its own workers; workers sizes a cluster ml4t starts: remove one",
                )
            )
    if kind == "local" and workers is not None:
        problems.append(
            (
                "workers",
                'kind = "local" runs this process\'s kernel on every core; workers sizes a pool or a cluster: set '
                'kind = "processes", "dask" or "ray"',
            )
        )
    return problems


def spawn_pool(workers: int | None = None) -> cf.ProcessPoolExecutor:
    """A ProcessPoolExecutor of ``workers`` processes (default: the CPUs) that spawns them, as ml4t's work needs
    (see the module's docstring). Use it as a context manager, or call ``shutdown()`` when done."""
    _check_workers(workers)
    return _spawning(workers, ())


def _spawning(workers: int | None, on_path: tuple[str, ...]) -> cf.ProcessPoolExecutor:
    """The one way ml4t makes a process pool: spawning its ``workers``, each with ``on_path`` first on its path."""
    import multiprocessing

    spawn = multiprocessing.get_context("spawn")
    return cf.ProcessPoolExecutor(workers, mp_context=spawn, initializer=_first_on_path, initargs=on_path)


@contextlib.contextmanager
def open_executor(
    kind: str = "local",
    *,
    workers: int | None = None,
    address: str | None = None,
    path: str | os.PathLike[str] | None = None,
) -> Iterator[Any]:
    """The ``executor=`` argument of a ``kind`` of executor, for the block's work; on leaving the block, whatever
    this call started is closed (a pool shut down, a client and its cluster closed, Ray shut down), however the
    block ends. A study's run gives it its config's ``[executor]`` (``ml4t.config._schema.ExecutorConfig`` states
    which keys go with which kind).

    - ``"local"``: None, this process's kernel on every core (``workers`` and ``address`` are not taken).
    - ``"processes"``: ``spawn_pool(workers)`` (default: the CPUs).
    - ``"dask"``: a ``dask.distributed.Client`` of the scheduler at ``address``, else of a ``LocalCluster`` of
      ``workers`` worker processes (default: the CPUs) of one thread each, started here.
    - ``"ray"``: ``"ray"``, with Ray connected to ``address`` (``"auto"``, ``"ray://host:10001"``) or started here
      with ``ray.init(num_cpus=workers)``, unless this process already runs Ray (then it is used as it is).

    ``path``: a folder put first on the workers' ``sys.path`` (a study's folder, where the module of its ``ref``
    is: a worker imports a function by its module's name). A pool's processes get it when they start, a Dask
    cluster's workers when the client connects, Ray's through its ``PYTHONPATH`` when this call starts or
    connects Ray (on a remote cluster it helps where the workers share this file system; elsewhere the module must
    be importable there).

    A bad argument, or a kind whose package is missing (``pip install 'ml4t[dask]'`` / ``'ml4t[ray]'``), is a
    ConfigError naming it."""
    if kind not in KINDS:
        raise ConfigError(f"kind must be one of {list(KINDS)}, got {kind!r}", argument="kind")
    _check_workers(workers)
    if address is not None and not isinstance(address, str):
        raise ConfigError(f"address must be text, got {type(address).__name__}", argument="address")
    for key, message in executor_problems(kind, workers, address):
        raise ConfigError(message, argument=key)
    if kind == "local":
        yield None
    elif kind == "processes":
        with _spawning(workers, () if path is None else (os.fspath(path),)) as pool:
            yield pool
    elif kind == "dask":
        with _dask_client(workers, address) as client:
            if path is not None:
                client.run(_first_on_path, os.fspath(path))
            yield client
    else:
        with _ray(workers, address, None if path is None else os.fspath(path)):
            yield "ray"


@contextlib.contextmanager
def _dask_client(workers: int | None, address: str | None) -> Iterator[Any]:
    """A Client of the scheduler at ``address``, else of a LocalCluster started (and closed) here."""
    distributed = _extra("distributed", "dask")
    if address is not None:
        with distributed.Client(address) as client:
            yield client
        return
    cluster = distributed.LocalCluster(  # its dashboard on a free port (8787 may be another cluster's)
        n_workers=workers or os.cpu_count() or 1,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        env=dict(ONE_CPU_ENV),  # one thread each: Polars' pool too (sized when a worker imports Polars)
    )
    try:
        with distributed.Client(cluster) as client:
            yield client
    finally:
        cluster.close()


@contextlib.contextmanager
def _ray(workers: int | None, address: str | None, path: str | None) -> Iterator[None]:
    """Ray connected to ``address`` or started here with ``workers`` CPUs, its workers with ``path`` first on their
    ``PYTHONPATH`` (and shut down after), unless this process already runs Ray (then used as it is)."""
    ray = _extra("ray", "ray")
    started = not ray.is_initialized()
    if started:
        paths = [p for p in (path, os.environ.get("PYTHONPATH")) if p]
        env_vars = {"PYTHONPATH": os.pathsep.join(paths)} if path is not None else {}
        if address is not None:
            ray.init(address=address, **({"runtime_env": {"env_vars": env_vars}} if env_vars else {}))
        else:  # a local Ray's tasks have one CPU each: Polars' pool too (sized when a worker imports Polars)
            ray.init(num_cpus=workers, runtime_env={"env_vars": {**ONE_CPU_ENV, **env_vars}})
    try:
        yield
    finally:
        if started:
            ray.shutdown()


def _first_on_path(*folders: str) -> None:
    """On a worker: ``folders`` first on ``sys.path`` (once each)."""
    import sys

    for folder in reversed(folders):
        if folder not in sys.path:
            sys.path.insert(0, folder)


def _extra(module: str, extra: str) -> Any:
    """``module`` imported, or a ConfigError saying which extra installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(
            f"kind={extra!r} needs {module}, which is not installed: pip install 'ml4t[{extra}]'", argument="kind"
        ) from None


def _check_workers(workers: object) -> None:
    if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool) or workers < 1):
        raise ConfigError(f"workers must be a positive integer, got {workers!r}", argument="workers")

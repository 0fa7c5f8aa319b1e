"""A study's run folder: what :meth:`ml4t.config.Study.run` writes, finds again and reproduces.

Contract (issue #15). A run is written into a temporary sibling folder and renamed into place when complete, so
a crash never leaves a half folder that looks finished. ``runs/<run_id>/`` holds:

- ``config.json``: the resolved config (overrides applied, data paths absolute), and a copy of the original file;
- ``manifest.json``: format ``"ml4t-run/1"``, the run id, the study's name, when it was created (UTC), the
  command line when given, the config's hash, the data's fingerprint (``Bars.fingerprint()``) and each
  signals file's, the strategy (its rules, or its ``ref`` with the module's source hash and lint findings),
  the chosen parameters, the versions of ml4t, Polars, NumPy, msgspec, PyArrow and Python, and ``outputs``:
  a content digest of every output (of the frames' values, ``ml4t.data``'s fingerprint, not of file bytes),
  and ``cache``: what the cache did (``{"used": false}``, or its directory, the hits, misses and uncached
  entries of every level the run used with each reason and its count, and ``levels``: the counts per level), a
  record only: neither the run id nor an output depends on the cache; and ``executor``: where the work ran
  (``kind``, ``workers``: the pool's or cluster's, null for the local kernel, and ``address``), a record only;
- ``result/`` (``Result.save`` of the single run or the sweep's chosen combination), ``sweep.parquet`` (the
  sweep's metrics), ``walk_forward.parquet`` (one row per fold), ``promoted/`` and ``comparison.parquet``
  (``[promote]``: the event-engine run and ``ml4t.compare``'s table), ``audit.json`` (``[audit]``), and with
  ``report.html = true`` the HTML pages ``report.html``, ``sweep.html`` and ``gap.html``.

The run id is ``<name>-<12 hex digits>``; the digits hash what determines the result (the config without
``report`` / ``executor`` / ``name``, the data's and signals' fingerprints, the ref's source hash, ml4t's and
Polars' versions, and whether only the sweep ran), so a rerun of an identical study finds its folder by them,
whatever its name. :func:`ml4t.config.reproduce` reruns a folder's stored config in a temporary place and
compares every output's digest (a :class:`Reproduction`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import platform
import shutil
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import polars as pl
import xxhash

from ml4t._executor import open_executor, resolve_executor
from ml4t._version import installed
from ml4t.data import frame_fingerprint
from ml4t.errors import ConfigError, DataError

if TYPE_CHECKING:
    from ml4t.cache import CacheReport, Store
    from ml4t.config._load import Loaded
    from ml4t.config._schema import Config
    from ml4t.result import Result


class Study(Protocol):
    """What a run asks of its :class:`ml4t.config.Study` (named here so that this module does not import it)."""

    @property
    def loaded(self) -> Loaded: ...
    @property
    def config(self) -> Config: ...
    @property
    def mode(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def folder(self) -> Path: ...
    def bars(self) -> Any: ...
    def signals(self) -> list[Any]: ...
    def strategy_ref(self) -> Any: ...
    def strategy(self) -> Any: ...
    def event_strategy(self, params: Mapping[str, Any] | None = None) -> Any: ...
    def target(self) -> Any: ...
    def grid(self) -> dict[str, list[Any]]: ...
    def check(self) -> str: ...


__all__ = [
    "RUN_FORMAT",
    "Outcome",
    "Reproduction",
    "find_run",
    "is_run_folder",
    "load_outcome",
    "read_manifest",
    "run_id",
    "run_study",
    "versions",
]

RUN_FORMAT = "ml4t-run/1"
MANIFEST = "manifest.json"
_FRAMES = ("equity", "positions", "orders", "fills", "trades")
_VERSIONED = ("ml4t", "polars", "numpy", "msgspec", "pyarrow")


@dataclass(frozen=True)
class Outcome:
    """What a study's run gave: its ``run_id`` and ``folder``; ``reused`` when an identical earlier run's
    folder was found (then every field is read from it); ``result`` (the single run or the chosen
    combination); ``sweep`` (the sweep's metrics table); ``params`` (the chosen, or the config's, parameters);
    ``walk_forward`` (one row per fold); ``promoted`` (the event-engine run) and ``comparison`` (its table
    against ``result``); ``audit`` (the lookahead audit as stored in ``audit.json``); ``lint`` (the ref's
    lint findings, warnings). What the config does not declare is None. ``cache``: what the cache did in the
    run's sweep or event run when it ran with the cache on (hits, misses and why, over every level it used:
    ``cache_levels`` has each level's, ``"results"``, ``"signals"``, ``"indicators"`` or ``"event"``); None when
    it was off, and for a reused run, which computed nothing."""

    run_id: str
    folder: Path
    reused: bool
    result: Result
    params: dict[str, Any]
    sweep: pl.DataFrame | None = None
    walk_forward: pl.DataFrame | None = None
    promoted: Result | None = None
    comparison: pl.DataFrame | None = None
    audit: dict[str, Any] | None = None
    lint: tuple[str, ...] = ()
    cache: CacheReport | None = None
    cache_levels: dict[str, CacheReport] = field(default_factory=dict)
    executor: dict[str, Any] | None = None
    """Where the work ran (the manifest's record: kind, workers, address); None for a run read from its folder."""

    def summary(self) -> str:
        """A few lines: the folder, the parameters and the result's main metrics."""
        from ml4t.cache import summarize

        metrics = self.result.metrics.row(0, named=True) if self.result.metrics.height else {}
        keys = ("total_return", "sharpe_ratio", "max_drawdown", "trade_count")
        shown = ", ".join(f"{k} {_number(metrics[k])}" for k in keys if k in metrics)
        lines = [f"{'found an identical run' if self.reused else 'run'}: {self.folder}"]
        if self.params:
            lines.append("params: " + ", ".join(f"{k}={v!r}" for k, v in self.params.items()))
        lines.append(shown)
        if self.promoted is not None:
            promoted = self.promoted.metrics.row(0, named=True) if self.promoted.metrics.height else {}
            lines.append("promoted: " + ", ".join(f"{k} {_number(promoted[k])}" for k in keys if k in promoted))
        if self.audit is not None:
            lines.append(f"audit: {'passed' if self.audit['passed'] else 'FAILED'}")
        lines.extend(f"lint: {finding}" for finding in self.lint)
        if self.executor is not None and self.executor["kind"] != "local":
            at = f" at {self.executor['address']}" if self.executor.get("address") else ""
            lines.append(f"ran on: {self.executor['kind']}{at}, {self.executor['workers']} workers")
        if not self.reused:
            lines.append(summarize(self.cache_levels) if self.cache is not None else "cache: off")
        return "\n".join(lines)


@dataclass(frozen=True)
class Reproduction:
    """Whether rerunning a run folder's config gave identical outputs: ``differences`` names each output (and
    the data, signals or strategy source) that changed; ``versions_changed`` maps a package to its version
    then and now."""

    identical: bool
    differences: tuple[str, ...] = ()
    versions_changed: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)

    def __str__(self) -> str:
        if self.identical:
            text = "identical: every output of the run was reproduced"
        else:
            text = "different:\n" + "\n".join(f"  {d}" for d in self.differences)
        if self.versions_changed:
            text += "\nversions changed since the run: " + ", ".join(
                f"{k} {a} -> {b}" for k, a, b in ((k, *v) for k, v in self.versions_changed.items())
            )
        return text


# ------------------------------------------------------------------------------------------------ identity
def versions() -> dict[str, str | None]:
    """The versions a manifest records."""
    return {**{name: installed(name) for name in _VERSIONED}, "python": platform.python_version()}


def _key(study: Study, *, sweep_only: bool) -> dict[str, Any]:
    """What the run id hashes: everything that determines the outputs."""
    resolved = study.strategy_ref()
    return {
        "config": study.loaded.result_key(),
        "data": study.bars().fingerprint(),
        "signals": [s.fingerprint() for s in study.signals()],
        "ref_source": None if resolved is None else resolved.source_hash,
        "ml4t": installed("ml4t"),
        "polars": pl.__version__,
        "only": "sweep" if sweep_only else None,
    }


def run_id(study: Study, *, sweep_only: bool = False) -> str:
    """``<name>-<12 hex>``: the study's name, then the hash of what determines its outputs."""
    text = json.dumps(_key(study, sweep_only=sweep_only), sort_keys=True, separators=(",", ":"), default=str)
    return f"{study.name}-{xxhash.xxh3_128_hexdigest(text.encode())[:12]}"


def is_run_folder(path: str | Path) -> bool:
    """Whether ``path`` is a finished run folder (it has an ``ml4t-run`` manifest)."""
    manifest = Path(path) / MANIFEST
    try:
        return manifest.is_file() and json.loads(manifest.read_text(encoding="utf-8")).get("format") == RUN_FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def find_run(runs: Path, identifier: str) -> Path | None:
    """The finished folder in ``runs`` whose id ends with the hash of ``identifier`` (any name), if any."""
    digits = identifier.rsplit("-", 1)[-1]
    if not runs.is_dir():
        return None
    for folder in sorted(runs.glob(f"*-{digits}")):
        if folder.is_dir() and not folder.name.startswith(".") and is_run_folder(folder):
            return folder
    return None


# ------------------------------------------------------------------------------------------------ running
def run_study(
    study: Study,
    runs: Path,
    *,
    sweep_only: bool = False,
    force: bool = False,
    report: bool = True,
    command: str | None = None,
    cache: bool | Store | None = None,
) -> Outcome:
    """Check the study, then run it into ``runs/<run_id>/`` (or find that folder) and return the Outcome.

    ``cache`` (as ``VectorizedStrategy.sweep``'s: None follows ``ml4t.cache.settings()``) serves the sweep's
    levels (results blocks, signals, indicator leaves) and the event run's indicators; it never changes an
    output nor the run id (the cache is the machine's, not the study's), and the manifest records what it did."""
    import ml4t.cache

    store = ml4t.cache.resolve(cache)
    config = study.config
    if sweep_only and config.sweep is None:
        raise ConfigError("the config has no [sweep] section to run", argument="sweep")
    study.check()
    identifier = run_id(study, sweep_only=sweep_only)
    existing = find_run(runs, identifier)
    if existing is not None and not force:
        return load_outcome(existing, reused=True)
    target = existing if existing is not None else runs / identifier
    runs.mkdir(parents=True, exist_ok=True)
    staging = runs / f".{target.name}.running-{uuid.uuid4().hex[:12]}"
    staging.mkdir()
    try:
        how = config.executor
        where = study.folder  # the ref's module is imported from there, on the workers too
        with open_executor(how.kind, workers=how.workers, address=how.address, path=where) as executor:
            ran_on = _ran_on(how.kind, how.address, executor)
            outcome = _execute(study, staging, sweep_only=sweep_only, report=report, cache=store, executor=executor)
        _write_manifest(
            study, staging, target.name, outcome, sweep_only=sweep_only, command=command, cache=store, ran_on=ran_on
        )
        from ml4t.report._store import swap_folder

        swap_folder(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return dataclasses.replace(outcome, run_id=target.name, folder=target, executor=ran_on)


def _ran_on(kind: str, address: str | None, executor: Any) -> dict[str, Any]:
    """The manifest's record of where the work ran: the kind, the number of workers, the address."""
    pool = resolve_executor(executor)
    return {"kind": kind, "workers": None if pool is None else pool.workers, "address": address}


def _execute(
    study: Study, folder: Path, *, sweep_only: bool, report: bool, cache: Store | None, executor: Any = None
) -> Outcome:
    """Run the study and write its outputs into ``folder``; ``cache``: the store of the sweep's levels, the
    walk-forward folds' sweeps and the event run's indicators (None: off). The other runs (the audit's truncated
    runs, the promoted run) follow ``ml4t.cache.settings()``, as any library call. ``executor``: where the
    sweep's pieces and the walk-forward's folds run (``ml4t._executor.open_executor``'s; None: this process);
    the event run, the chosen combination's run, the promoted run and the audit run here."""
    import ml4t
    from ml4t.event import Engine

    config, loaded = study.config, study.loaded
    how = config.executor  # the [executor] section: where and in what pieces the work runs
    bars = study.bars()
    (folder / "config.json").write_text(json.dumps(loaded.resolved, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    if loaded.file is not None and loaded.file.is_file():
        shutil.copyfile(loaded.file, folder / loaded.file.name)
    resolved = study.strategy_ref()
    lint = resolved.findings if resolved is not None else ()
    sweep = walk = comparison_table = None
    levels: dict[str, CacheReport | None] = {}  # a single vectorized run does not use the cache
    promoted = comparison = audit_report = None
    params = dict(config.strategy.params)
    if study.mode == "event":
        signals = study.signals()
        engine = Engine(
            bars, study.event_strategy(), signals=signals[0] if signals else None, **loaded.settings.to_dict()
        )
        result = engine.run(progress=how.progress, cache=False if cache is None else cache)
        levels = {"event": engine.cache}
        if config.audit is not None and not sweep_only:
            audit_report = ml4t.audit.lookahead(
                study.event_strategy(),  # a fresh instance: the audit deep-copies it for each of its runs
                bars,
                cuts=config.audit.cuts,
                engine=loaded.settings.to_dict(),
                signals=signals[0] if signals else None,
                strict=config.audit.strict,
                progress=how.progress,
            )
    else:
        strategy = study.strategy()
        chosen = None
        if config.sweep is not None:
            sweep = strategy.sweep(
                bars,
                chunk_size=how.chunk_size,
                memory_budget=how.memory_budget,
                progress=how.progress,
                cache=False if cache is None else cache,
                executor=executor,
                **study.grid(),
            )
            levels = {} if sweep.cache is None else dict(sweep.cache.levels())
            best = sweep.best(config.sweep.metric, 1, descending=config.sweep.descending, scope=config.sweep.scope)
            params = {name: best[name][0] for name in sweep.params}
            chosen = best["symbol"][0] if config.sweep.scope == "symbol" else None
            result = sweep.result(symbol=chosen, **params)
        else:
            result = strategy.run(bars, **params)
        if not sweep_only:
            walk_forward = config.validation.walk_forward if config.validation is not None else None
            if walk_forward is not None and config.sweep is not None:
                from ml4t.validate import walk_forward as splits_of
                from ml4t.validate import walk_forward_sweep

                splits = splits_of(bars, **{k: getattr(walk_forward, k) for k in walk_forward.__struct_fields__})
                walked = walk_forward_sweep(
                    strategy,
                    bars,
                    splits,
                    metric=config.sweep.metric,
                    descending=config.sweep.descending,
                    progress=how.progress,
                    cache=False if cache is None else cache,
                    executor=executor,
                    **study.grid(),
                )
                walk = walked.folds
                for fold in walked.sweeps:  # the folds' sweeps count in the run's cache line too
                    for name, counted in ({} if fold.cache is None else fold.cache.levels()).items():
                        before = levels.get(name)
                        levels[name] = counted if before is None else _merged([before, counted])
            if loaded.promote is not None:
                # only the keys the config gives, as in Python: the rest the promotion takes from the strategy
                given = {key: loaded.promote[key] for key in config.promote or {}}
                promoted = ml4t.promote(strategy, bars, **params).run(progress=how.progress, **given)
                comparison = ml4t.compare(result, promoted)
                comparison_table = comparison.table
            if config.audit is not None:
                audit_report = ml4t.audit.lookahead(
                    strategy,
                    bars,
                    params=params,
                    cuts=config.audit.cuts,
                    strict=config.audit.strict,
                    progress=how.progress,
                )
    result.save(folder / "result")
    if sweep is not None:
        sweep.metrics.write_parquet(folder / "sweep.parquet")
    if walk is not None:
        walk.write_parquet(folder / "walk_forward.parquet")
    if promoted is not None and comparison_table is not None:
        promoted.save(folder / "promoted")
        comparison_table.write_parquet(folder / "comparison.parquet")
    audit = _audit_dict(audit_report) if audit_report is not None else None
    if audit is not None:
        (folder / "audit.json").write_text(json.dumps(audit, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    if report and config.report.html:
        title, max_points = config.report.title, config.report.max_points
        result.report(folder / "report.html", audit=audit_report, title=title, max_points=max_points)
        if sweep is not None:
            sweep.report(
                folder / "sweep.html",
                metric=config.sweep.metric if config.sweep is not None else "sharpe_ratio",
                descending=config.sweep.descending if config.sweep is not None else True,
                audit=audit_report,
                title=title,
                max_points=max_points,
            )
        if comparison is not None:
            comparison.report(folder / "gap.html", title=title, max_points=max_points)
    used = {level: report for level, report in levels.items() if report is not None}
    return Outcome(
        run_id="",
        folder=folder,
        reused=False,
        result=result,
        params=params,
        sweep=sweep.metrics if sweep is not None else None,
        walk_forward=walk,
        promoted=promoted,
        comparison=comparison_table,
        audit=audit,
        lint=tuple(lint),
        cache=None if cache is None else _merged(used.values()),
        cache_levels=used,
    )


def _audit_dict(report: Any) -> dict[str, Any]:
    """An ``AuditReport`` as JSON: its verdict and what it checked."""
    first = report.first_divergence
    return {
        "passed": bool(report.passed),
        "mode": report.mode,
        "cuts": [str(c) for c in report.cuts],
        "checked_orders": int(report.checked_orders),
        "checked_signals": int(report.checked_signals),
        "first_divergence": None if first is None else str(first),
        "static_findings": [str(f) for f in report.static_findings],
        "unverified_columns": list(report.unverified_columns),
        "summary": str(report),
    }


def _outputs(outcome: Outcome) -> dict[str, str]:
    """The content digest of every output: each frame's fingerprint (its values, not its file's bytes)."""
    out: dict[str, str] = {}
    for prefix, result in (("result", outcome.result), ("promoted", outcome.promoted)):
        if result is not None:
            for name in _FRAMES:
                out[f"{prefix}/{name}"] = frame_fingerprint(getattr(result, name))
    for name, frame in (
        ("sweep", outcome.sweep),
        ("walk_forward", outcome.walk_forward),
        ("comparison", outcome.comparison),
    ):
        if frame is not None:
            out[name] = frame_fingerprint(frame)
    if outcome.audit is not None:
        text = json.dumps(outcome.audit, sort_keys=True, separators=(",", ":"))
        out["audit"] = xxhash.xxh3_128_hexdigest(text.encode())
    return out


def _merged(levels: Iterable[CacheReport]) -> CacheReport:
    """One report of the run's levels: their entries' hits, misses and uncached summed, the reasons together."""
    from ml4t.cache import CacheReport

    return CacheReport.total(levels)


def _cache_record(outcome: Outcome, store: Store | None) -> dict[str, Any]:
    """What the manifest says of the cache: off, or its directory, the counts, each reason with its count, and
    the counts per level."""
    report = outcome.cache
    if store is None or report is None:
        return {"used": False}
    return {
        "used": True,
        "dir": str(store.root),
        "hits": report.hits,
        "misses": report.misses,
        "uncached": report.uncached,
        "reasons": dict(Counter(report.reasons + report.uncached_reasons).most_common()),
        "levels": {
            level: {"hits": r.hits, "misses": r.misses, "uncached": r.uncached}
            for level, r in outcome.cache_levels.items()
        },
    }


def _write_manifest(
    study: Study,
    folder: Path,
    identifier: str,
    outcome: Outcome,
    *,
    sweep_only: bool,
    command: str | None,
    cache: Store | None,
    ran_on: dict[str, Any],
) -> None:
    loaded = study.loaded
    resolved = study.strategy_ref()
    if resolved is None:
        strategy: dict[str, Any] = {"rules": dict(study.config.strategy.rules)}
    else:
        strategy = {
            "ref": resolved.ref,
            "files": [str(p) for p in resolved.files],
            "source_hash": resolved.source_hash,
            "lint": list(resolved.findings),
        }
    manifest = {
        "format": RUN_FORMAT,
        "run_id": identifier,
        "name": study.name,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": command,
        "config_file": str(loaded.file.resolve()) if loaded.file is not None else None,
        "overrides": list(loaded.overrides),
        "config_hash": xxhash.xxh3_128_hexdigest(loaded.canonical_json().encode()),
        "data_fingerprint": study.bars().fingerprint(),
        "signals": [
            {"path": item.path, "fingerprint": s.fingerprint()}
            for item, s in zip(study.config.signals, study.signals(), strict=True)
        ],
        "strategy": strategy,
        "mode": study.mode,
        "sweep_only": sweep_only,
        "params": outcome.params,
        "versions": versions(),
        "outputs": _outputs(outcome),
        "cache": _cache_record(outcome, cache),
        "executor": ran_on,
    }
    text = json.dumps(manifest, indent=2, default=str) + "\n"
    (folder / MANIFEST).write_text(text, encoding="utf-8")


def read_manifest(folder: Path) -> dict[str, Any]:
    """A run folder's manifest (a DataError when it is not one)."""
    file = folder / MANIFEST
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DataError(f"{folder} is not a run folder: cannot read {MANIFEST} ({error})", argument="FILE") from None
    if not isinstance(manifest, dict) or manifest.get("format") != RUN_FORMAT:
        raise DataError(f"{file}: not a run manifest (format {RUN_FORMAT!r})", argument="FILE")
    return manifest


def load_outcome(folder: Path, *, reused: bool = True) -> Outcome:
    """The Outcome stored in a run folder."""
    from ml4t.result import Result

    manifest = read_manifest(folder)

    def frame(name: str) -> pl.DataFrame | None:
        path = folder / name
        return pl.read_parquet(path) if path.is_file() else None

    audit_file = folder / "audit.json"
    return Outcome(
        run_id=folder.name,
        folder=folder,
        reused=reused,
        result=Result.load(folder / "result"),
        params=dict(manifest.get("params") or {}),
        sweep=frame("sweep.parquet"),
        walk_forward=frame("walk_forward.parquet"),
        promoted=Result.load(folder / "promoted") if (folder / "promoted").is_dir() else None,
        comparison=frame("comparison.parquet"),
        audit=json.loads(audit_file.read_text(encoding="utf-8")) if audit_file.is_file() else None,
        lint=tuple(manifest.get("strategy", {}).get("lint", ())),
    )


def _number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)

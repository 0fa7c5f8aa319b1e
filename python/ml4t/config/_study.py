"""Running a study from its config: the data, the strategy and the settings built through the public Python API
(a config means exactly what the equivalent Python code means), and each run written to a reproducible folder.

Contract (issue #15):

- :class:`Study` wraps a :class:`~ml4t.config._load.Loaded` config. ``bars()``, ``signals()`` and
  ``strategy()`` build what the Python API would (``load_bars`` / ``synthetic_bars`` then ``select`` /
  ``between``; ``ml4t.data.signals`` per file, put on the bars with ``align_signals`` in vectorized mode;
  then ``with_features``; a ``VectorizedStrategy`` over the compiled rules (:class:`Rules`), or the ``ref``'d
  function or event ``Strategy``, linted with ``ml4t.lint`` before it is imported, the config's folder first
  on the import path).
- ``check()`` validates everything a run would touch without running it: the files, the columns the rules
  and features name (with close matches), the symbols of the universe, the ref (lint, import, kind), the
  sweep's metric; it raises ``ConfigFileError`` listing every problem, else returns a short summary.
- ``run(runs)`` runs what the config declares (the single run, or the sweep and its chosen combination; the
  walk-forward validation; the promotion and its comparison; the audit; the report) into
  ``runs/<run_id>/`` and returns an :class:`~ml4t.config._run_folder.Outcome`. The run id is
  ``<name>-<12 hex>`` of what determines the result (the config without report / executor / name, the data's
  and signals' fingerprints, the ref's source hash, ml4t's and Polars' versions): an identical study finds its
  folder (``reused``; any name: the hex is the key) unless ``force``.
- :func:`~ml4t.config._run_folder.reproduce` reruns a run folder's stored config and says whether every
  output is identical (see :mod:`ml4t.config._run_folder` for the folder's layout).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import glob
import importlib
import importlib.machinery
import os
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import polars as pl
import xxhash

from ml4t.config._expr import compile_expr
from ml4t.config._load import ConfigFileError, Loaded, Problem, key_lines, line_of, load, loads
from ml4t.config._run_folder import MANIFEST, Outcome, Reproduction, read_manifest, run_study, versions
from ml4t.config._schema import RangeConfig, SignalsConfig
from ml4t.errors import ConfigError, Ml4tError
from ml4t.settings import Scope

if TYPE_CHECKING:
    from ml4t.cache import Store
    from ml4t.data import Bars, Signals

__all__ = ["LOOKAHEAD_CODES", "Rules", "StrategyRef", "Study", "grid_values", "reproduce"]

_SECTIONS = ("data", "signals", "strategy", "settings", "sweep", "validation", "promote", "audit")
LOOKAHEAD_CODES = ("PIT",)
"""Lint code families that refuse a ``ref``'s import (look-ahead); other findings are reported as warnings."""


class Rules:
    """A config's rules as a signal function: ``Rules(name, rules, columns, scope)(**params)`` is
    ``{key: compile_expr(text, params=params, columns=columns, argument="strategy.rules.<key>", scope=scope)}``
    (``scope``: the strategy's ``settings.scope``). A plain class (not a closure) so that it pickles and a
    sweep can ship it; its ``__name__`` and repr name the study."""

    def __init__(self, name: str, rules: Mapping[str, str], columns: Sequence[str], scope: Scope = "symbol") -> None:
        self.__name__ = name
        self.__qualname__ = name
        self.rules = dict(rules)
        self.columns = tuple(columns)
        self.scope: Scope = scope

    def __call__(self, **params: Any) -> dict[str, pl.Expr]:
        return {
            key: compile_expr(
                text, params=params, columns=self.columns, argument=f"strategy.rules.{key}", scope=self.scope
            )
            for key, text in self.rules.items()
        }

    def __repr__(self) -> str:
        return f"Rules({self.__name__!r}, {self.rules!r}, scope={self.scope!r})"

    def _key(self) -> tuple[Any, ...]:
        return (self.__name__, tuple(sorted(self.rules.items())), self.columns, self.scope)

    def __cache_token__(self) -> tuple[Any, ...]:
        """What the signals depend on, for ``ml4t.cache``'s keys (the sweep's results and signals levels): the
        rule texts, the columns and the scope; not the study's name."""
        return (tuple(sorted(self.rules.items())), self.columns, self.scope)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Rules) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())


@dataclass(frozen=True)
class StrategyRef:
    """A ``ref = "package.module:name"`` resolved without running it: the files that importing it executes
    (its packages' ``__init__`` and the module), the module file's source hash (xxh3_128) and the lint
    findings in those files."""

    ref: str
    files: tuple[Path, ...]
    source_hash: str
    findings: tuple[str, ...]
    lookahead: tuple[str, ...]


def grid_values(axis: list[Any] | RangeConfig) -> list[Any]:
    """The values of a sweep axis: a list as it is, a range table like Python's ``range`` (integers when
    ``start`` and ``step`` are integers, else floats, ``start + i * step`` below ``stop``)."""
    if not isinstance(axis, RangeConfig):
        return list(axis)
    values = []
    i = 0
    while (value := axis.start + i * axis.step) < axis.stop:
        values.append(value)
        i += 1
    return values


class Study:
    """A loaded config and what it builds. ``Study.from_file(path, overrides=, environ=)`` loads it first.
    What it builds (bars, signals, the strategy) is built once and kept."""

    def __init__(self, loaded: Loaded) -> None:
        self.loaded = loaded
        self.config = loaded.config
        self.mode = loaded.config.strategy.mode
        self.folder = loaded.file.parent.resolve() if loaded.file is not None else Path.cwd()
        self._cache: dict[str, Any] = {}

    @classmethod
    def from_file(
        cls, path: str | os.PathLike[str], overrides: Sequence[str] = (), environ: Mapping[str, str] | None = None
    ) -> Study:
        return cls(load(path, overrides=overrides, environ=environ))

    @property
    def name(self) -> str:
        return self.loaded.name

    @property
    def scope(self) -> Scope:
        """How the rules are evaluated: the vectorized settings' ``scope`` (``"symbol"`` in event mode)."""
        scope = getattr(self.loaded.settings, "scope", "symbol")
        return "panel" if scope == "panel" else "symbol"

    def __repr__(self) -> str:
        return f"Study({self.name!r}, mode={self.mode!r}, file={str(self.loaded.file) if self.loaded.file else None})"

    # ------------------------------------------------------------------------------------------- data
    def signals(self) -> list[Signals]:
        """One ``ml4t.data.Signals`` per ``[[signals]]`` file: ``ml4t.data.signals(frame, ...)``."""
        if "signals" not in self._cache:
            self._cache["signals"] = [self._one_signals(item) for item in self.config.signals]
        return list(self._cache["signals"])

    def _one_signals(self, item: SignalsConfig) -> Signals:
        import ml4t.data

        path = self._absolute(item.path)
        frame = _read_frame(path, item.format)
        return ml4t.data.signals(
            frame,
            ts_event=item.ts_event,
            ts_arrival=item.ts_arrival,
            symbol=item.symbol,
            embargo=item.embargo,
            train_end=item.train_end,
            tz=item.tz,
            allow_in_sample=item.allow_in_sample,
        )

    def loaded_bars(self) -> Bars:
        """The bars as read: ``ml4t.data.load_bars(path, ...)`` or ``ml4t.datasets.synthetic_bars(...)``."""
        if "loaded_bars" not in self._cache:
            import ml4t.data
            from ml4t.datasets import synthetic_bars

            data = self.config.data
            if data.synthetic is not None:
                s = data.synthetic
                bars = synthetic_bars(s.n_assets, s.n_bars, s.freq, s.seed, start=s.start, calendar=s.calendar)
            else:
                assert data.path is not None
                paths = [self._absolute(p) for p in ([data.path] if isinstance(data.path, str) else data.path)]
                bars = ml4t.data.load_bars(
                    paths[0] if len(paths) == 1 else paths,
                    format=data.format,
                    tz=data.tz,
                    label=data.label,
                    symbol=data.symbol,
                    adjust=data.adjust,
                    session_close=data.session_close,
                    session_open=data.session_open,
                    freq=data.freq,
                    latency=data.latency,
                    wide=data.wide,
                )
            self._cache["loaded_bars"] = bars
        return self._cache["loaded_bars"]  # type: ignore[no-any-return]

    def raw_bars(self) -> Bars:
        """:meth:`loaded_bars`, then ``select(universe)`` and ``between(start, end)`` as declared."""
        data = self.config.data
        bars = self.loaded_bars()
        if data.universe is not None:
            bars = bars.select(data.universe)
        if data.start is not None or data.end is not None:
            start = None if data.start is None else _instant(data.start, data.tz, "data.start", end=False)
            end = None if data.end is None else _instant(data.end, data.tz, "data.end", end=True)
            bars = bars.between(start, end)
        return bars

    def bars(self) -> Bars:
        """The bars the run reads: :meth:`raw_bars`, in vectorized mode with each signals file put on them
        (``ml4t.data.align_signals``), then the ``features`` (``Bars.with_features(name=<compiled>)``)."""
        if "bars" not in self._cache:
            import ml4t.data

            bars = self.raw_bars()
            if self.mode == "vectorized":
                for signals in self.signals():
                    bars = ml4t.data.align_signals(bars, signals)
            features = self.config.data.features
            if features:
                columns = list(bars.frame.columns)
                named = {}
                for name, text in features.items():
                    # with_features evaluates a named expression per symbol
                    named[name] = compile_expr(text, columns=columns, argument=f"data.features.{name}", scope="symbol")
                    columns.append(name)
                bars = bars.with_features(**named)
            self._cache["bars"] = bars
        return self._cache["bars"]  # type: ignore[no-any-return]

    # --------------------------------------------------------------------------------------- strategy
    def strategy_ref(self) -> StrategyRef | None:
        """The ``ref`` resolved and linted, not imported (None for rules)."""
        ref = self.config.strategy.ref
        if ref is None:
            return None
        if "ref" not in self._cache:
            self._cache["ref"] = _resolve_ref(ref, self.folder)
        return self._cache["ref"]  # type: ignore[no-any-return]

    def target(self) -> Any:
        """What the ``ref`` names, imported after its lint passed (look-ahead findings refuse it)."""
        resolved = self.strategy_ref()
        if resolved is None:
            raise ConfigError("the strategy has rules, not a ref", argument="strategy.ref")
        if resolved.lookahead:
            listing = "\n  ".join(resolved.lookahead)
            raise ConfigError(
                f"{resolved.ref} is not imported: the linter found look-ahead in it:\n  {listing}",
                argument="strategy.ref",
            )
        if "target" not in self._cache:
            self._cache["target"] = _import_ref(resolved, self.folder)
        return self._cache["target"]

    def strategy(self) -> Any:
        """Vectorized mode: a ``VectorizedStrategy`` over :class:`Rules` (or the ref'd signal function) with
        the settings. Event mode: the ref'd ``Strategy`` subclass or factory (call it with the params)."""
        if self.mode == "event":
            return self.target()
        if "strategy" not in self._cache:
            from ml4t.vectorized import VectorizedStrategy

            rules = self.config.strategy.rules
            fn = Rules(self.name, rules, self.bars().frame.columns, self.scope) if rules else self.target()
            self._cache["strategy"] = VectorizedStrategy(fn, **self.loaded.settings.to_dict())
        return self._cache["strategy"]

    def event_strategy(self, params: Mapping[str, Any] | None = None) -> Any:
        """Event mode: the ``Strategy`` instance for ``params`` (default the config's): the ref'd class or
        factory called with them as keyword arguments."""
        from ml4t.event import Strategy

        target = self.target()
        made = target(**dict(self.config.strategy.params if params is None else params))
        if not isinstance(made, Strategy):
            raise ConfigError(
                f"{self.config.strategy.ref} made a {type(made).__name__}, not an ml4t.event.Strategy",
                argument="strategy.ref",
            )
        return made

    def grid(self) -> dict[str, list[Any]]:
        """The sweep's grid: the strategy's ``params`` (one value each), then the sweep's axes."""
        grid = {k: [v] for k, v in self.config.strategy.params.items()}
        if self.config.sweep is not None:
            grid.update({k: grid_values(v) for k, v in self.config.sweep.grid.items()})
        return grid

    # ------------------------------------------------------------------------------------------ check
    def check(self) -> str:
        """Validate what a run would touch, without running it: every problem at once as a
        ``ConfigFileError`` (each with the key path it comes from); else a one-paragraph summary."""
        problems: list[Problem] = []
        file = str(self.loaded.file) if self.loaded.file is not None else None

        lines = key_lines(self.loaded.file) if self.loaded.file is not None else {}

        def add(path: str, message: str) -> None:
            key = tuple(path.split("."))
            origin = next((o for o in self.loaded.overrides if o.partition("=")[0].strip() == path), None)
            line = None if origin is not None else line_of(lines, key)
            problems.append(Problem(path, message, file, line, None if origin is None else f"--set {origin}"))

        data = self.config.data
        data_ok = files_ok = True
        if data.path is not None:
            for i, p in enumerate([data.path] if isinstance(data.path, str) else data.path):
                key = "data.path" if isinstance(data.path, str) else f"data.path.{i}"
                if not _matches(self._absolute(p)):
                    data_ok = False
                    add(key, f"no file {'matches' if glob.has_magic(p) else 'is at'} {self._absolute(p)}")
        for i, item in enumerate(self.config.signals):
            if not _matches(self._absolute(item.path)):
                files_ok = False
                add(f"signals.{i}.path", f"no file is at {self._absolute(item.path)}")
        if self.mode == "event" and len(self.config.signals) > 1:
            add("signals", "an event-mode run takes one signals file (Engine(signals=...))")
        signal_columns: list[str] = []
        for i, item in enumerate(self.config.signals):
            if _matches(self._absolute(item.path)):
                made = self._checked(add, f"signals.{i}", lambda item=item: self._one_signals(item))
                signal_columns += made.columns if made is not None else []
                files_ok = files_ok and made is not None
        bars = loaded = None
        source = "data.path" if data.path is not None else "data.synthetic"
        if (data.path is None or data_ok) and (loaded := self._checked(add, source, self.loaded_bars)) is not None:
            unknown = self._unknown_symbols()
            for symbol, hint in unknown:
                add("data.universe", f"unknown symbol {symbol!r}{hint}")
            if not unknown and files_ok:
                bars = self._checked(add, "data", self.bars)
        if loaded is not None:
            # the columns a rule may name; when the bars could not be built in full, those they would have
            columns = list(bars.frame.columns if bars is not None else [*loaded.frame.columns, *signal_columns])
            columns += [] if bars is not None else list(self.config.data.features)
            note = "" if files_ok else " (the columns of the signals files that could not be read are unknown)"
            for key, text in self.config.strategy.rules.items():
                self._checked(add, f"strategy.rules.{key}", lambda t=text, k=key: self._compile(t, k, columns), note)
        ref_ok = self.config.strategy.ref is None or self._checked(add, "strategy.ref", self._check_ref) is not None
        if bars is not None and ref_ok and self.loaded.promote is not None:
            self._checked(add, "promote", self._check_promote)
        sweep = self.config.sweep
        if sweep is not None:
            from ml4t.vectorized._sweep import METRIC_COLUMNS

            known = [*METRIC_COLUMNS, "deflated_sharpe", "pbo"]
            if sweep.metric not in known:
                close = difflib.get_close_matches(sweep.metric, known, n=1)
                add(
                    "sweep.metric",
                    f"unknown metric {sweep.metric!r}" + (f"; did you mean {close[0]!r}?" if close else ""),
                )
        if problems:
            raise ConfigFileError(problems, file=file)
        return self._summary()

    def _unknown_symbols(self) -> list[tuple[str, str]]:
        """The universe's symbols the data does not have, each with a close match (or the data's symbols)."""
        symbols = list(self.loaded_bars().symbols)
        out = []
        for symbol in self.config.data.universe or []:
            if symbol not in symbols:
                close = difflib.get_close_matches(symbol, symbols, n=1)
                out.append((symbol, f"; did you mean {close[0]!r}?" if close else f"; the data has {symbols[:20]}"))
        return out

    def _compile(self, text: str, key: str, columns: list[str]) -> None:
        argument = f"strategy.rules.{key}"
        compile_expr(text, params=self._first_params(), columns=columns, argument=argument, scope=self.scope)

    def _first_params(self) -> dict[str, Any]:
        return {k: v[0] for k, v in self.grid().items() if v}

    def _check_ref(self) -> bool:
        target = self.target()
        resolved = self.strategy_ref()
        assert resolved is not None
        if self.mode == "event":
            from ml4t.event import Strategy

            if (isinstance(target, type) and not issubclass(target, Strategy)) or not callable(target):
                raise ConfigError(
                    f"{resolved.ref} is neither an ml4t.event.Strategy subclass nor a factory of one", argument="ref"
                )
        elif isinstance(target, type) or not callable(target):
            raise ConfigError(f"{resolved.ref} is not a signal function", argument="ref")
        return True

    def _check_promote(self) -> bool:
        import ml4t

        ml4t.promote(self.strategy(), self.bars(), **self._first_params())
        return True

    @staticmethod
    def _checked(add: Any, path: str, step: Any, note: str = "") -> Any:
        """``step()``, or None with its error added as a problem (at the config key the error names, if any)."""
        try:
            return step()
        except ConfigFileError as error:
            for p in error.problems:
                add(p.path or path, p.message + note)
        except Ml4tError as error:
            argument = error.argument
            keyed = isinstance(argument, str) and argument.split(".")[0] in _SECTIONS and "." in argument
            add(argument if keyed else path, (error.message if keyed else str(error)) + note)
        except (ImportError, SyntaxError, OSError) as error:
            add(path, f"{type(error).__name__}: {error}{note}")
        return None

    def _summary(self) -> str:
        bars = self.bars()
        what = (
            "rules " + ", ".join(self.config.strategy.rules) if self.config.strategy.rules else self.config.strategy.ref
        )
        grid = self.grid()
        combos = 1
        for values in grid.values():
            combos *= len(values)
        parts = [
            f"{self.name}: {self.mode} strategy ({what})",
            f"{len(bars.symbols)} symbols, {bars.frame.height} rows of bars",
            f"{len(self.config.signals)} signals file(s)",
            f"{combos} combination(s)" if self.config.sweep is not None else "a single run",
        ]
        resolved = self.strategy_ref()
        if resolved is not None and resolved.findings:
            parts.append(f"{len(resolved.findings)} lint finding(s)")
        return "; ".join(parts) + ": OK"

    def _absolute(self, path: str) -> str:
        return path if Path(path).is_absolute() else str(self.folder / path)

    # -------------------------------------------------------------------------------------------- run
    def run(
        self,
        runs: str | os.PathLike[str] = "runs",
        *,
        sweep_only: bool = False,
        force: bool = False,
        cache: bool | Store | None = None,
    ) -> Outcome:
        """Run what the config declares into ``runs/<run_id>/`` (see :mod:`ml4t.config._run_folder`) and
        return the :class:`~ml4t.config._run_folder.Outcome`; an identical earlier run is reused unless
        ``force``. ``sweep_only``: the sweep and its chosen combination only (a ConfigError without [sweep]).
        ``cache``: as ``VectorizedStrategy.sweep``'s (None follows ``ml4t.cache.settings()``: off until
        ``ml4t.cache.configure()``; ``ml4t run`` turns it on); it changes no output and not the run id."""
        return run_study(self, Path(runs), sweep_only=sweep_only, force=force, cache=cache)


# ------------------------------------------------------------------------------------------------ helpers
def _instant(text: str, tz: str | None, key: str, *, end: bool) -> dt.datetime:
    """A config's ``start`` / ``end`` as the instant ``Bars.between`` takes: ISO text with an offset as given; a
    date or a time without one in the data's ``tz`` (UTC without one), like the files' own timestamps. A date
    alone (``end = "2014-12-31"``) means the whole day: its first instant as a start, its last as an end."""
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"{text!r} is not a date or a timestamp ('2015-01-02', '2015-01-02T16:00', '2015-01-02T21:00:00Z')",
            argument=key,
        ) from None
    if end and len(text.strip()) == 10:  # a date alone: through the end of that day
        when += dt.timedelta(days=1) - dt.timedelta(microseconds=1)
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(tz or "UTC"))
    return when


def _matches(path: str) -> bool:
    return bool(glob.glob(path)) if glob.has_magic(path) else Path(path).is_file()


def _read_frame(path: str, format: str | None) -> pl.DataFrame:
    kind = format or ("parquet" if path.lower().endswith(".parquet") else "csv")
    try:
        return pl.read_parquet(path) if kind == "parquet" else pl.read_csv(path, try_parse_dates=True)
    except (OSError, pl.exceptions.PolarsError) as error:
        raise ConfigError(f"cannot read {path}: {error}", argument="path") from None


def _resolve_ref(ref: str, folder: Path) -> StrategyRef:
    """Find the files importing ``ref``'s module would run (the config's folder first, then ``sys.path``),
    without importing anything, and lint them."""
    from ml4t import lint

    module, _, _ = ref.partition(":")
    parts = module.split(".")
    search: list[str] | None = [str(folder), *sys.path]
    files: list[Path] = []
    spec = None
    for i in range(len(parts)):
        spec = importlib.machinery.PathFinder.find_spec(".".join(parts[: i + 1]), search)
        if spec is None or spec.origin is None or not spec.has_location:
            raise ConfigError(
                f"cannot find module {'.'.join(parts[: i + 1])!r} of {ref!r} (looked in {folder} and sys.path)",
                argument="strategy.ref",
            )
        files.append(Path(spec.origin))
        search = list(spec.submodule_search_locations or [])
    source = files[-1].read_bytes()
    findings: list[str] = []
    lookahead: list[str] = []
    for path in files:
        if path.suffix != ".py":
            continue
        for finding in lint.check(path):
            text = str(finding)
            findings.append(text)
            if finding.code.startswith(LOOKAHEAD_CODES):
                lookahead.append(text)
    return StrategyRef(ref, tuple(files), xxhash.xxh3_128_hexdigest(source), tuple(findings), tuple(lookahead))


@contextlib.contextmanager
def _first_on_path(folder: Path) -> Iterator[None]:
    sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(str(folder))


def _import_ref(resolved: StrategyRef, folder: Path) -> Any:
    """Import ``resolved.ref``'s module (again when the module loaded under that name is another file or its
    source changed since) and return the named object."""
    module_name, _, attribute = resolved.ref.partition(":")
    loaded = sys.modules.get(module_name)
    if loaded is not None:
        file = getattr(loaded, "__file__", None)
        same_file = file is not None and Path(file).resolve() == resolved.files[-1].resolve()
        # A module of that file loaded by someone else (an import in the user's code, a package module) is
        # taken as it is: importing it again would make its classes other objects than the ones its users
        # hold (pickling, isinstance). One this function imported is imported again when its source changed.
        imported_here = module_name in _LOADED_SOURCE
        if not same_file or (imported_here and _LOADED_SOURCE[module_name] != resolved.source_hash):
            del sys.modules[module_name]
    importlib.invalidate_caches()
    try:
        with _first_on_path(folder):
            module = importlib.import_module(module_name)
    except Exception as error:
        raise ConfigError(
            f"importing {module_name!r} of {resolved.ref!r} failed: {type(error).__name__}: {error}",
            argument="strategy.ref",
        ) from error
    _LOADED_SOURCE[module_name] = resolved.source_hash
    if not hasattr(module, attribute):
        names = [n for n in vars(module) if not n.startswith("_")]
        close = difflib.get_close_matches(attribute, names, n=1)
        raise ConfigError(
            f"module {module_name!r} has no {attribute!r}" + (f"; did you mean {close[0]!r}?" if close else ""),
            argument="strategy.ref",
        )
    return getattr(module, attribute)


_LOADED_SOURCE: dict[str, str] = {}
"""The source hash of each ref module this process imported (a changed file is imported again)."""


# ------------------------------------------------------------------------------------------ reproduction
def reproduce(folder: str | Path) -> Reproduction:
    """Rerun the run folder's stored ``config.json`` in a temporary place and compare every output's content
    digest with the manifest's. The data's (and each signals file's, and the ref's source) fingerprint is
    checked first: when it changed, the differences say so, since that is why outputs differ."""
    folder = Path(folder)
    if folder.name == MANIFEST:
        folder = folder.parent
    manifest = read_manifest(folder)
    text = (folder / "config.json").read_text(encoding="utf-8")
    original = manifest.get("config_file")
    loaded = loads(text, format="json", file=Path(original) if original else folder / "config.json", environ={})
    study = Study(loaded)
    differences: list[str] = []
    fingerprint = study.bars().fingerprint()
    if fingerprint != manifest["data_fingerprint"]:
        differences.append(
            f"data: the bars' fingerprint is {fingerprint}, the run's was {manifest['data_fingerprint']}: "
            "the data changed since the run"
        )
    for i, (item, signals) in enumerate(zip(manifest["signals"], study.signals(), strict=False)):
        if signals.fingerprint() != item["fingerprint"]:
            differences.append(f"signals.{i}: {item['path']} changed since the run (its fingerprint differs)")
    resolved = study.strategy_ref()
    stored = manifest["strategy"].get("source_hash")
    if resolved is not None and resolved.source_hash != stored:
        differences.append(f"strategy: the source of {resolved.ref} changed since the run")
    with tempfile.TemporaryDirectory(prefix="ml4t-reproduce-") as scratch:
        rerun = run_study(  # from scratch: a reproduction recomputes everything, the cache is not read
            study, Path(scratch), sweep_only=bool(manifest["sweep_only"]), force=True, report=False, cache=False
        )
        now = read_manifest(rerun.folder)["outputs"]
    then = manifest["outputs"]
    for name in sorted(set(then) | set(now)):
        if name not in now:
            differences.append(f"{name}: the run had it, the rerun did not make it")
        elif name not in then:
            differences.append(f"{name}: the rerun made it, the run did not have it")
        elif then[name] != now[name]:
            differences.append(f"{name}: differs (digest {now[name]}, the run's {then[name]})")
    current = versions()
    changed = {
        k: (manifest["versions"].get(k), current.get(k))
        for k in current
        if manifest["versions"].get(k) != current.get(k)
    }
    return Reproduction(not differences, tuple(differences), changed)

"""Reading a study's config: a TOML file (``tomllib``), YAML (PyYAML, the optional extra ``ml4t[yaml]``) or
JSON (what a run folder stores, ``config.json``), overridden by environment variables and ``--set``
assignments, checked against the schema with every problem reported at once.

Contract:

- :func:`load` returns a :class:`Loaded`: the validated :class:`~ml4t.config._schema.Config`, the file it came
  from and the resolved plain dict (overrides applied, paths made absolute) that a run folder stores.
- Overrides, later wins: the file, then environment variables ``ML4T__SECTION__KEY=value`` (``__`` separates
  the key path; case-insensitive), then ``--set section.key=value``. A value is read as a TOML value
  (``0.002``, ``true``, ``[5, 10]``, ``"text"``), or as text when it is not one (``--set
  settings.execution=close``). A list item is addressed by its index (``signals.0.path``). Environment
  variable names are read in lower case, so they cannot reach a key with capitals (a symbol, a parameter).
- Dates and times that TOML or YAML read as such (``start = 2020-01-02``) are kept as their ISO text, as the
  schema and the Python API take them. A config has version 1 (``version = 1``, the default); another is refused.
- Problems: every unknown key (with the closest known key), every wrong type or out-of-range value, every
  missing section, every setting ``ml4t.settings`` refuses, every rule outside the expression language, each
  with the file, the line (or the override it came from) and the key path, are collected and raised together
  as one :class:`ConfigFileError`. Nothing from a file is executed: rules are parsed by ``compile_expr``, and
  a ``ref`` is only checked for its form here (the study lints it before importing it).
"""

from __future__ import annotations

import ast
import difflib
import inspect
import json
import os
import re
import tomllib
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

import ml4t.costs as costs
from ml4t._executor import executor_problems
from ml4t.config._expr import compile_expr
from ml4t.config._locate import json_lines, toml_lines, yaml_lines
from ml4t.config._overrides import ENV_PREFIX, assign, environment, first_missing, parse_assignment, plain
from ml4t.config._schema import RESULT_FREE_SECTIONS, RULE_KEYS, Config
from ml4t.errors import ConfigError
from ml4t.settings import EngineSettings, Scope, Settings, VectorizedSettings

__all__ = [
    "ENV_PREFIX",
    "ConfigFileError",
    "Loaded",
    "Problem",
    "check_document",
    "cost_model",
    "key_lines",
    "line_of",
    "load",
    "loads",
    "parse_assignment",
    "read_config_file",
]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a config: where (``file``, ``line`` or the override ``origin``, the dotted key
    ``path``) and what."""

    path: str
    message: str
    file: str | None = None
    line: int | None = None
    origin: str | None = None

    def __str__(self) -> str:
        where = self.file or "<config>"
        if self.line is not None:
            where += f":{self.line}"
        if self.origin is not None:
            where += f" ({self.origin})"
        return f"{where}: {self.path or '<top level>'}: {self.message}"


class ConfigFileError(ConfigError):
    """A config with problems: ``problems`` lists every one (file, line, key path, message)."""

    def __init__(self, problems: Sequence[Problem], *, file: str | None = None) -> None:
        self.problems = sorted(problems, key=lambda p: (p.origin is not None, p.line or 0))
        self.file = file
        head = f"{file or 'the config'}: {len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}"
        super().__init__(head + "".join(f"\n  {p}" for p in self.problems))

    def replace(self, **changes: Any) -> ConfigFileError:
        return ConfigFileError(self.problems, file=self.file)


@dataclass(frozen=True)
class Loaded:
    """A validated config: ``config`` (the schema's structs), ``file`` it came from (None for text),
    ``resolved`` (the plain dict after overrides, data paths absolute: what a run folder stores and hashes)
    and ``overrides`` (the assignments applied, in order, as ``key=value`` text)."""

    config: Config
    file: Path | None
    resolved: dict[str, Any]
    overrides: tuple[str, ...] = ()
    settings: Settings = field(default_factory=VectorizedSettings)
    promote: EngineSettings | None = None

    @property
    def name(self) -> str:
        """The study's name: ``name`` in the config, else the file's stem, else ``"study"``."""
        if self.config.name is not None:
            return self.config.name
        return self.file.stem if self.file is not None else "study"

    def result_key(self) -> dict[str, Any]:
        """The resolved config without what never changes a result: ``report``, ``executor``, ``name``, and the
        places of the data and signals files (the run id hashes their content, the fingerprints, instead: the
        same study in a moved or cloned folder finds its runs). What the run id hashes, with the data's and the
        strategy's own fingerprints."""
        key = {k: v for k, v in self.resolved.items() if k not in RESULT_FREE_SECTIONS}
        key["data"] = {k: v for k, v in key["data"].items() if k != "path"}
        key["signals"] = [{k: v for k, v in item.items() if k != "path"} for item in key.get("signals") or []]
        return key

    def canonical_json(self) -> str:
        """:meth:`result_key` as canonical JSON (sorted keys, no spaces)."""
        return json.dumps(self.result_key(), sort_keys=True, separators=(",", ":"), default=str)


# ------------------------------------------------------------------------------------------------ loading
def load(
    path: str | os.PathLike[str],
    *,
    overrides: Iterable[str] = (),
    environ: Mapping[str, str] | None = None,
) -> Loaded:
    """The config in the TOML, YAML or JSON file ``path`` (by its suffix: ``.toml``, ``.yaml`` / ``.yml``,
    ``.json``), with the environment's ``ML4T__...`` variables (``environ``, default ``os.environ``) and
    ``overrides`` (``"section.key=value"``) applied. Raises ConfigFileError listing every problem."""
    text, format = read_config_file(path)
    return loads(text, format=format, file=Path(path), overrides=overrides, environ=environ)


def read_config_file(path: str | os.PathLike[str]) -> tuple[str, str]:
    """The text of the config file ``path`` and its format (by its suffix); a ConfigError naming ``FILE`` when
    it does not exist or cannot be read."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(
            f"config file {str(file)!r} does not exist" if not file.exists() else f"{file} is not a file",
            argument="FILE",
        )
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read config file {str(file)!r}: {error}", argument="FILE") from None
    return text, _format_of(file)


def loads(
    text: str,
    *,
    format: str = "toml",
    file: Path | None = None,
    overrides: Iterable[str] = (),
    environ: Mapping[str, str] | None = None,
) -> Loaded:
    """The config in ``text`` (``format`` ``"toml"``, ``"yaml"`` or ``"json"``); ``file``, when given, names it
    in errors and is the folder relative data paths start from. See :func:`load`."""
    raw, applied, (settings, promote) = check_document(
        text, Config, _Checker.semantics, format=format, file=file, overrides=overrides, environ=environ
    )
    config = msgspec.convert(raw, Config)
    resolved = _resolve_paths(msgspec.to_builtins(config), file)
    return Loaded(config, file, resolved, applied, settings, promote)


T = typing.TypeVar("T")


def check_document(
    text: str,
    schema: type[msgspec.Struct],
    semantics: Callable[[_Checker, dict[str, Any]], T],
    *,
    format: str = "toml",
    file: Path | None = None,
    overrides: Iterable[str] = (),
    environ: Mapping[str, str] | None = None,
) -> tuple[dict[str, Any], tuple[str, ...], T]:
    """The document in ``text`` with the environment's ``ML4T__...`` variables and ``overrides`` applied, walked
    against the struct ``schema`` and then checked by ``semantics(checker, raw)`` (the rules between its keys,
    reported with the structural problems; what it returns is passed on): ``(raw, applied overrides, what
    semantics returned)``. Every problem at once, as one ConfigFileError. What :func:`loads` does for a study,
    for any config file of the same kind (``ml4t paper``'s)."""
    shown = str(file) if file is not None else None
    raw, lines = _parse(text, format, shown)
    origins: dict[tuple[str, ...], str] = {}
    assignments = [*environment(os.environ if environ is None else environ), *((a, "--set " + a) for a in overrides)]
    problems: list[Problem] = []
    applied = []
    for assignment, origin in assignments:
        try:
            key, value = parse_assignment(assignment)
        except ConfigError as error:
            problems.append(Problem(assignment.partition("=")[0], error.message, shown, origin=origin))
            continue
        created = first_missing(raw, key)
        where = assign(raw, key, value)
        if where is not None:
            problems.append(Problem(".".join(key), where, shown, origin=origin))
            continue
        origins[tuple(key)] = origin
        if created is not None:  # a table the file does not have: its problems (a missing key) came from here
            origins.setdefault(created, origin)
        applied.append(assignment)

    checker = _Checker(shown, lines, origins)
    checker.struct(raw, schema, ())
    extra = semantics(checker, raw)
    problems.extend(checker.problems)
    if problems:
        raise ConfigFileError(problems, file=shown)
    return raw, tuple(applied), extra


def key_lines(file: Path | None) -> dict[tuple[str, ...], int]:
    """The line of each key path of the config ``file`` (empty when there is none or it cannot be read or
    parsed): for problems found after loading, such as a study's checks of the data."""
    if file is None:
        return {}
    try:
        return _parse(file.read_text(encoding="utf-8"), _format_of(file), str(file))[1]
    except (OSError, UnicodeDecodeError, ConfigError):
        return {}


def line_of(lines: Mapping[tuple[str, ...], int], path: Sequence[str]) -> int | None:
    """The line of the key ``path``, or of its nearest enclosing key that has one."""
    for n in range(len(path), -1, -1):
        if tuple(path[:n]) in lines:
            return lines[tuple(path[:n])]
    return None


def _format_of(file: Path) -> str:
    suffix = file.suffix.lower()
    if suffix in (".toml", ".json"):
        return suffix[1:]
    if suffix in (".yaml", ".yml"):
        return "yaml"
    raise ConfigError(f"a config file is .toml, .yaml, .yml or .json, got {file.name!r}", argument="FILE")


def _parse(text: str, format: str, file: str | None) -> tuple[dict[str, Any], dict[tuple[str, ...], int]]:
    """The document as a dict (dates and times as their ISO text) and the line of each key path (1-based)."""
    if format == "toml":
        try:
            raw: Any = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            line = re.search(r"at line (\d+)", str(error))
            problem = Problem("", f"not valid TOML: {error}", file, int(line.group(1)) if line else None)
            raise ConfigFileError([problem], file=file) from None
        return plain(raw), toml_lines(text)
    if format == "json":
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as error:
            raise ConfigFileError([Problem("", f"not valid JSON: {error}", file, error.lineno)], file=file) from None
        lines = json_lines(text) if isinstance(raw, dict) else {}
    elif format == "yaml":
        raw, lines = _parse_yaml(text, file)
    else:
        raise ConfigError(f"format must be 'toml', 'yaml' or 'json', got {format!r}", argument="format")
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigFileError([Problem("", f"a config is a mapping of sections, got {_kind(raw)}", file)], file=file)
    return plain(raw), lines


def _parse_yaml(text: str, file: str | None) -> tuple[Any, dict[tuple[str, ...], int]]:
    """PyYAML's safe loader (plain data only: a ``!!python/...`` tag is refused, never run); a key written
    twice in one mapping is refused (PyYAML would keep the last silently)."""
    try:
        import yaml
    except ImportError:
        raise ConfigError(
            f"{file or '<config>'}: YAML configs need PyYAML: pip install 'ml4t[yaml]' (or write the config as TOML)",
            argument="FILE",
        ) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigFileError([Problem("", f"not valid YAML: {error}", file, line)], file=file) from None
    lines, duplicates = yaml_lines(node)
    if duplicates:
        twice = "key written twice (a mapping's keys are unique)"
        raise ConfigFileError([Problem(".".join(k), twice, file, n) for k, n in duplicates], file=file)
    return raw, lines


# ---------------------------------------------------------------------------------------------- checking
class _Checker:
    """Walks the raw document against the structs, collecting every problem."""

    def __init__(self, file: str | None, lines: dict[tuple[str, ...], int], origins: dict[tuple[str, ...], str]):
        self.file = file
        self.lines = lines
        self.origins = origins
        self.problems: list[Problem] = []

    def add(self, path: tuple[str, ...], message: str) -> None:
        blamed = [k for k in self.origins if path[: len(k)] == k]  # the closest override that set this path
        origin = self.origins[max(blamed, key=len)] if blamed else None
        line = line_of(self.lines, path) if origin is None else None
        self.problems.append(Problem(".".join(path), message, self.file, line, origin))

    def struct(self, value: Any, cls: type[msgspec.Struct], path: tuple[str, ...]) -> None:
        if not isinstance(value, dict):
            self.add(path, f"must be a table (section), got {_kind(value)}")
            return
        fields = {f.encode_name: f for f in msgspec.structs.fields(cls)}
        hints = typing.get_type_hints(cls, include_extras=True)
        for key, item in value.items():
            if key not in fields:
                close = difflib.get_close_matches(str(key), list(fields), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(sorted(fields))}"
                self.add((*path, str(key)), f"unknown key {key!r}{hint}")
                continue
            self.value(item, hints[fields[key].name], (*path, key))
        for name, f in fields.items():
            if f.required and name not in value:
                self.add((*path, name), "missing (required)")

    def value(self, item: Any, tp: Any, path: tuple[str, ...]) -> None:
        """``item`` against the declared type ``tp``: a table or list is walked key by key (so a problem names
        its own key path), a choice gets the close match, anything else is converted by msgspec."""
        container = _container(tp, item)
        if isinstance(container, type) and issubclass(container, msgspec.Struct):
            self.struct(item, container, path)
        elif typing.get_origin(container) is list:
            (element,) = typing.get_args(container)
            for i, entry in enumerate(item):
                self.value(entry, element, (*path, str(i)))
        elif typing.get_origin(container) is dict:
            _, element = typing.get_args(container)
            for key, entry in item.items():
                if not isinstance(key, str):
                    self.add((*path, str(key)), f"a key is text, got {_kind(key)} {key!r}")
                else:
                    self.value(entry, element, (*path, key))
        else:
            choices = _choices(tp)
            if choices is not None and item not in choices:
                self.add(path, _choice_message(item, choices))
                return
            try:
                msgspec.convert(item, tp)
            except msgspec.ValidationError as error:
                described = _description(tp) if "matching regex" in str(error) else None
                self.add(path, f"must be {described}, got {item!r}" if described else _validation_message(error, item))

    def semantics(self, raw: Mapping[str, Any]) -> tuple[Settings, EngineSettings | None]:
        """The rules between sections, the settings and the rules' language, on the raw document (so they are
        reported with the structural problems: every bad key at once); the settings built. A part that already
        has a structural problem is not checked again."""
        strategy = _table(raw, "strategy")
        sweep, validation = _table(raw, "sweep"), _table(raw, "validation")
        mode = strategy.get("mode", "vectorized")
        rules, ref = _table(strategy, "rules"), strategy.get("ref")
        params = _table(strategy, "params")
        # the rules are checked with each axis's first value; a broken axis has none, and stands in as 1 (a valid
        # window, lag and number) so that its own problem is not reported again by every rule that uses it
        grid = {**params}
        for axis, values in _table(sweep, "grid").items():
            grid[axis] = 1
            if self.has(("sweep", "grid", axis)):
                continue
            if isinstance(values, list) and values:
                grid[axis] = values[0]
            elif isinstance(values, dict) and values["start"] < values["stop"]:  # both numbers: checked above
                grid[axis] = values["start"]
            else:
                self.add(("sweep", "grid", axis), f"an axis needs at least one value, got {values!r}")
        if isinstance(raw.get("strategy"), dict):
            if rules and ref is not None:
                self.add(("strategy",), "give either rules or ref, not both")
            if not rules and ref is None and not self.has(("strategy", "rules")):
                self.add(("strategy",), 'give the strategy\'s rules (e.g. rules.entries = "...") or a ref')
            if mode == "event" and rules:
                self.add(
                    ("strategy", "rules"),
                    "an event-mode strategy is a Strategy class: give its ref; to run rules on the event engine, "
                    'use mode = "vectorized" with a [promote] section',
                )
        given = _table(raw, "settings").get("scope", "symbol")
        scope: Scope = "symbol" if given == "symbol" else "panel"  # a bad scope is reported at settings.scope
        for key, text in rules.items():
            if key not in RULE_KEYS:
                close = difflib.get_close_matches(key, list(RULE_KEYS), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f"; the keys are {', '.join(RULE_KEYS)}"
                self.problems = [p for p in self.problems if p.path != f"strategy.rules.{key}"]  # its type aside
                self.add(("strategy", "rules", key), f"unknown signal key {key!r}{hint}")
            elif isinstance(text, str):
                self.expression(text, ("strategy", "rules", key), grid, scope)
        self.unread_parameters(rules, params, _table(sweep, "grid"))
        self.data_rules(raw)
        if _given(raw, "sweep") and mode == "event":
            self.add(("sweep",), "a sweep runs a vectorized strategy; an event-mode strategy runs once")
        if _given(validation, "walk_forward") and not _given(raw, "sweep"):
            self.add(("validation", "walk_forward"), "walk-forward validation re-optimises the [sweep] grid: add one")
        executor = {k: v for k, v in _table(raw, "executor").items() if not self.has(("executor", k))}
        if not self.has(("executor", "kind")):  # the rules between its keys that are valid alone
            kind, workers, address = executor.get("kind") or "local", executor.get("workers"), executor.get("address")
            for key, message in executor_problems(kind, workers, address):
                self.add(("executor", key), message)
        if _given(raw, "promote") and mode == "event":
            self.add(("promote",), "promotion takes a vectorized strategy to the event engine; this one is already")
        mode_settings: type[Settings] = EngineSettings if mode == "event" else VectorizedSettings
        settings = self.settings(_table(raw, "settings"), mode_settings, ("settings",))
        promote = None
        if isinstance(raw.get("promote"), dict):
            built = self.settings(raw["promote"], EngineSettings, ("promote",))
            promote = built if isinstance(built, EngineSettings) else None
        return settings, promote

    def data_rules(self, raw: Mapping[str, Any]) -> None:
        """The rules of the ``[data]`` and ``[[signals]]`` sections (a study's, and any config that has them):
        the features in the expression language, exactly one source of bars, an embargo with its cut-off."""
        data = _table(raw, "data")
        for name, text in _table(data, "features").items():
            if isinstance(text, str):  # with_features evaluates a named expression per symbol
                self.expression(text, ("data", "features", name), {}, "symbol")
        one_source = _given(data, "path") != _given(data, "synthetic")
        if isinstance(raw.get("data"), dict) and not one_source and not self.has(("data", "path")):
            self.add(("data",), "give the bars' path (a file, a glob or a list) or a synthetic table, exactly one")
        signals = raw.get("signals")
        for i, item in enumerate(signals if isinstance(signals, list) else []):
            if isinstance(item, dict) and item.get("embargo") is not None and item.get("train_end") is None:
                self.add(("signals", str(i), "embargo"), "an embargo counts from the training cut-off: give train_end")

    def unread_parameters(self, rules: Mapping[str, Any], params: Mapping[str, Any], grid: Mapping[str, Any]) -> None:
        """A parameter or grid axis that no rule reads is a problem (a misspelt name would otherwise be swept or
        set for nothing), with the closest name the rules do read. Skipped when a rule is not valid syntax."""
        if not rules or any(self.has(("strategy", "rules", key)) for key in rules):
            return  # a broken rule may be the one meant to read it: its own problem says so
        read: set[str] = set()
        for text in rules.values():
            try:
                read |= {
                    node.id
                    for node in ast.walk(ast.parse(str(text).strip(), mode="eval"))
                    if isinstance(node, ast.Name)
                }
            except SyntaxError:
                return
        for section, names in ((("strategy", "params"), params), (("sweep", "grid"), grid)):
            for name in names:
                if name not in read:
                    close = difflib.get_close_matches(name, sorted(read - set(params) - set(grid)), n=1)
                    hint = f"; did you mean {close[0]!r}?" if close else ""
                    self.add((*section, name), f"no rule reads the parameter {name!r}{hint}")

    def expression(self, text: str, path: tuple[str, ...], params: Mapping[str, Any], scope: Scope) -> None:
        if self.has(path):
            return
        try:
            compile_expr(text, params=params, argument=".".join(path), scope=scope)
        except ConfigError as error:
            self.add(path, error.message)

    def has(self, path: tuple[str, ...]) -> bool:
        """Whether a problem is already reported at ``path`` or inside it."""
        dotted = ".".join(path)
        return any(p.path == dotted or p.path.startswith(dotted + ".") for p in self.problems)

    def settings(self, values: Mapping[str, Any], cls: type[Settings], path: tuple[str, ...]) -> Settings:
        built: dict[str, Any] = {}
        for key, value in values.items():
            if self.has((*path, key)):
                return cls.build()
            if key not in cls.__struct_fields__:
                close = difflib.get_close_matches(key, cls.__struct_fields__, n=1)
                hint = (
                    f"; did you mean {close[0]!r}?"
                    if close
                    else f"; {cls.__name__} takes {sorted(cls.__struct_fields__)}"
                )
                self.add((*path, key), f"unknown setting {key!r}{hint}")
                continue
            try:
                converted = cost_model(key, value) if key in ("commission", "slippage") else value
                built[key] = cls.check_field(key, converted)
            except ConfigError as error:
                where = error.argument if error.argument and error.argument.startswith(f"{key}.") else key
                self.add((*path, *where.split(".")), error.message)
        if len(built) != len(values):
            return cls.build()
        try:
            return cls.build(**built)
        except ConfigError as error:
            self.add((*path, error.argument) if error.argument else path, error.message)
            return cls.build()


_MODELS: dict[str, type] = {
    name: getattr(costs, name)
    for name in costs.__all__
    if isinstance(getattr(costs, name), type) and name not in ("Commission", "Slippage")
}


def cost_model(key: str, value: Any) -> Any:
    """A cost model from its table ``{ model = "Percent", rate = 0.001 }``; a number passes through (the
    vectorized ``slippage`` rate); anything else is a ConfigError naming the models (an unknown model or
    argument with the close match; ``argument`` is ``key`` or ``key.<argument>``)."""
    base = costs.Commission if key == "commission" else costs.Slippage
    names = sorted(n for n, m in _MODELS.items() if issubclass(m, base))
    if isinstance(value, int | float) and not isinstance(value, bool) and key == "slippage":
        return value
    if not isinstance(value, dict) or "model" not in value:
        raise ConfigError(
            f'a {key} model is a table {{ model = "{names[0]}", ... }}; the models are {names}', argument=key
        )
    args = dict(value)
    name = args.pop("model")
    model = _MODELS.get(name)
    if model is None or not issubclass(model, base):
        close = difflib.get_close_matches(str(name), names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"unknown {key} model {name!r}{hint}; the models are {names}", argument=key)
    takes = list(inspect.signature(model).parameters)
    for arg in args:
        if arg not in takes:
            close = difflib.get_close_matches(arg, takes, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"it takes {takes}"
            raise ConfigError(f"{name} has no argument {arg!r}; {hint}", argument=f"{key}.{arg}")
    try:
        return model(**args)
    except TypeError as error:
        raise ConfigError(f"{name}: {error}", argument=key) from None


def _table(raw: Any, key: str) -> dict[str, Any]:
    """``raw[key]`` when it is a table, else an empty one (its type problem is reported by the walk)."""
    value = raw.get(key) if isinstance(raw, dict) else None
    return value if isinstance(value, dict) else {}


def _given(raw: Mapping[str, Any], key: str) -> bool:
    """Whether ``raw`` gives ``key`` a value (a null, as JSON and YAML can write, is the default: not given)."""
    return raw.get(key) is not None


def _members(tp: Any) -> tuple[Any, ...]:
    """The types a declared type allows: the members of a union, each without its ``Annotated`` metadata."""
    members = typing.get_args(tp) if typing.get_origin(tp) in (typing.Union, types.UnionType) else (tp,)
    return tuple(typing.get_args(m)[0] if typing.get_origin(m) is typing.Annotated else m for m in members)


def _container(tp: Any, item: Any) -> Any:
    """The member of ``tp`` that is a table (a struct or ``dict[...]``) when ``item`` is one, or ``list[...]``
    when ``item`` is a list; None when ``item`` is a scalar or ``tp`` has no such member."""
    for member in _members(tp):
        is_struct = isinstance(member, type) and issubclass(member, msgspec.Struct)
        origin = typing.get_origin(member)
        if isinstance(item, dict) and (is_struct or origin is dict):
            return member
        if isinstance(item, list) and origin is list:
            return member
    return None


def _description(tp: Any) -> str | None:
    """The ``Meta(description=...)`` of a declared type (or of one member of a union), if it has one."""
    members = typing.get_args(tp) if typing.get_origin(tp) in (typing.Union, types.UnionType) else (tp,)
    for member in members:
        for meta in typing.get_args(member)[1:] if typing.get_origin(member) is typing.Annotated else ():
            if isinstance(meta, msgspec.Meta) and meta.description:
                return meta.description
    return None


def _choices(tp: Any) -> tuple[Any, ...] | None:
    """The allowed values of a ``Literal`` type (``None`` among them when it is optional); None otherwise."""
    members = _members(tp)
    if not any(typing.get_origin(m) is typing.Literal for m in members):
        return None
    choices: list[Any] = []
    for member in members:
        if typing.get_origin(member) is typing.Literal:
            choices.extend(typing.get_args(member))
        elif member is type(None):
            choices.append(None)
        else:
            return None
    return tuple(choices)


def _choice_message(item: Any, choices: tuple[Any, ...]) -> str:
    shown = [c for c in choices if c is not None]
    close = difflib.get_close_matches(item, [str(c) for c in shown], n=1) if isinstance(item, str) else []
    hint = f"; did you mean {close[0]!r}?" if close else ""
    if len(shown) == 1:
        return f"must be {shown[0]!r}, got {item!r}{hint}"
    return f"must be one of {', '.join(repr(c) for c in shown)}, got {item!r}{hint}"


def _kind(value: Any) -> str:
    return {dict: "a table", list: "a list", str: "text", bool: "a boolean", int: "an integer", float: "a number"}.get(
        type(value), type(value).__name__
    )


def _validation_message(error: msgspec.ValidationError, value: Any) -> str:
    """msgspec's message (``Expected `int` >= 1``) with the value given instead of its type."""
    text = re.sub(r" - at `\$[^`]*`$", "", str(error))
    text = re.sub(r", got `[^`]*`$", "", text).replace("`object`", "a table").replace("`array`", "a list")
    return f"{text[0].lower()}{text[1:]}, got {value!r}"


def _resolve_paths(resolved: dict[str, Any], file: Path | None) -> dict[str, Any]:
    """Data and signal paths made absolute from the config file's folder (a run folder's config must mean the
    same files from anywhere)."""
    base = file.parent.resolve() if file is not None else Path.cwd()

    def absolute(p: str) -> str:
        return p if Path(p).is_absolute() else str(base / p)

    data = resolved["data"]
    if isinstance(data.get("path"), str):
        data["path"] = absolute(data["path"])
    elif isinstance(data.get("path"), list):
        data["path"] = [absolute(p) for p in data["path"]]
    for item in resolved.get("signals", []):
        item["path"] = absolute(item["path"])
    return resolved

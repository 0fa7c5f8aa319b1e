"""The schema of a declarative study: one frozen msgspec struct per section, each mapping one-to-one onto the
Python API (a config is never a second way of meaning something).

| section | Python API |
|---|---|
| ``[data]`` | ``ml4t.data.load_bars(path, ...)`` (or ``ml4t.datasets.synthetic_bars(...)``), then
  ``Bars.select(universe)``, ``Bars.between(start, end)``, ``Bars.with_features(**features)`` |
| ``[[signals]]`` | ``ml4t.data.signals(frame, ...)`` per file, put on the bars with ``ml4t.data.align_signals`` |
| ``[strategy]`` | ``rules`` (the dict a signal function returns, written in the expression language) or
  ``ref = "package.module:function"``; ``params`` are the keyword arguments of one run |
| ``[settings]`` | ``ml4t.settings.VectorizedSettings`` (``mode = "vectorized"``) or ``EngineSettings``
  (``mode = "event"``), field for field; a cost model is a table ``{ model = "Percent", rate = 0.001 }`` |
| ``[sweep]`` | ``VectorizedStrategy.sweep(bars, **grid)``, then ``Sweep.best(metric, ...)`` chooses |
| ``[validation.walk_forward]`` | ``ml4t.validate.walk_forward(...)`` then ``walk_forward_sweep(...)`` |
| ``[promote]`` | ``ml4t.promote(strategy, bars, **params).run(**promote)``: the chosen combination on the
  event engine under these ``EngineSettings``, with ``ml4t.compare`` of the two |
| ``[audit]`` | ``ml4t.audit.lookahead(strategy, bars, params=..., cuts=..., strict=...)`` |
| ``[report]`` | ``Result.report`` / ``Sweep.report`` / ``Comparison.report`` |
| ``[executor]`` | where and how the work runs; never changes a result, so it is not part of the run id |

Every struct forbids unknown fields; :mod:`ml4t.config._load` walks a file against these structs and reports
every bad key at once with its line and a close match.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

__all__ = [
    "ADDRESS_PATTERN",
    "SCHEMA_VERSION",
    "RULE_KEYS",
    "AuditConfig",
    "Config",
    "DataConfig",
    "ExecutorConfig",
    "RangeConfig",
    "ReportConfig",
    "SignalsConfig",
    "StrategyConfig",
    "SweepConfig",
    "SyntheticConfig",
    "ValidationConfig",
    "WalkForwardConfig",
]

ADDRESS_PATTERN = r"^(auto|[A-Za-z][A-Za-z0-9+.-]*://\S+|[^\s:/]+:[0-9]+)$"
"""An ``[executor]`` address: ``auto``, ``scheme://...`` or ``host:port`` (which kind takes which:
``ml4t._executor.executor_problems``)."""

SCHEMA_VERSION = 1
"""The version of this schema a config may state (``version = 1``)."""

RULE_KEYS = {
    "entries": "boolean: open a long position",
    "exits": "boolean: close the long position",
    "short_entries": "boolean: open a short position",
    "short_exits": "boolean: close the short position",
    "size": "number: the order size, in the unit of settings.size_type",
    "sl_stop": "number: the stop-loss as a fraction of the entry price",
    "tp_stop": "number: the take-profit as a fraction of the entry price",
    "weights": "number: target portfolio weights (instead of entries / exits)",
    "rebalance": "boolean: the bars on which target weights are traded",
    "leverage": "number: the cap on gross exposure at each rebalance",
}
"""The keys a strategy's ``rules`` may give, each with what its expression means: those of a vectorized signal
function's dict (``ml4t._kernel.keys.KEYS``, a layer above this one; ``tests/config`` checks they agree)."""

Scalar = int | float | bool | str
Duration = Annotated[str, Meta(description="a duration: '2h', '5d', '50ms'")]
Span = Annotated[
    int | str,
    Meta(description="a number of rows (an integer) or a duration ('2y', '6mo', '5d')"),
]


class _Section(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of every section: frozen, keyword-only, unknown fields refused."""


class SyntheticConfig(_Section, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``ml4t.datasets.synthetic_bars(n_assets, n_bars, freq, seed, start=..., calendar=...)``."""

    n_assets: Annotated[int, Meta(ge=1)] = 5
    n_bars: Annotated[int, Meta(ge=2)] = 2520
    freq: str = "1d"
    seed: int = 0
    start: str = "2015-01-02"
    calendar: Literal["24/7"] | None = None


class DataConfig(_Section, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The bars: ``path`` (a file, a glob or a list, relative to the config file) read by
    ``ml4t.data.load_bars`` with the keywords below, or ``synthetic`` bars; then the ``universe`` (a list of
    symbols), the period ``start`` / ``end`` and ``features`` (named expressions added as columns)."""

    path: str | list[str] | None = None
    synthetic: SyntheticConfig | None = None
    format: Literal["csv", "parquet"] | None = None
    tz: str | None = None
    label: Literal["right", "left"] = "right"
    symbol: str | None = None
    adjust: bool = False
    session_close: str | None = None
    session_open: str | None = None
    freq: str | None = None
    latency: Duration | None = None
    wide: Literal["close"] | None = None
    universe: list[str] | None = None
    start: str | None = None
    end: str | None = None
    features: dict[str, str] = {}


class SignalsConfig(_Section, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One file of signals (ML predictions) and how they arrive: ``ml4t.data.signals(frame, ts_event=...,
    ts_arrival=..., symbol=..., embargo=..., train_end=..., tz=..., allow_in_sample=...)``. ``ts_arrival`` is
    a column name or a publication delay ('2h'); ``train_end`` the model's training cut-off."""

    path: str
    format: Literal["csv", "parquet"] | None = None
    ts_event: str = "ts_event"
    ts_arrival: str | None = None
    symbol: str | None = None
    embargo: Duration | None = None
    train_end: str | None = None
    tz: str | None = None
    allow_in_sample: bool = False


class StrategyConfig(_Section, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The strategy: ``rules`` (signal keys such as ``entries`` / ``exits`` / ``weights`` written in the
    expression language of :func:`ml4t.config.compile_expr`) or ``ref``, an import path
    ``"package.module:name"`` of a signal function (vectorized mode) or of an event ``Strategy`` class or
    factory (event mode), linted before it is imported. ``params`` are the keyword arguments of one run (the
    sweep's grid adds to them)."""

    mode: Literal["vectorized", "event"] = "vectorized"
    rules: dict[str, str] = {}
    ref: (
        Annotated[
            str,
            Meta(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$", description="an import path 'package.module:name'"),
        ]
        | None
    ) = None
    params: dict[str, Scalar] = {}


class RangeConfig(_Section, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A grid axis like Python's ``range``: ``start``, ``start + step``, ... below ``stop``. Integers when
    ``start`` and ``step`` are integers (windows stay whole numbers), else floats."""

    start: int | float
    stop: int | float
    step: Annotated[int, Meta(gt=0)] | Annotated[float, Meta(gt=0)] = 1


class SweepConfig(_Section, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``VectorizedStrategy.sweep(bars, **grid)``: each axis a list of values or a range table; then the
    combination with the best ``metric`` (``Sweep.best(metric, descending=..., scope=...)``) is the one the
    study saves, audits and promotes."""

    grid: dict[str, list[Scalar] | RangeConfig]
    metric: str = "sharpe_ratio"
    descending: bool = True
    scope: Literal["portfolio", "symbol"] = "portfolio"


class WalkForwardConfig(_Section, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``ml4t.validate.walk_forward(bars, train=..., test=..., ...)``, then
    ``ml4t.validate.walk_forward_sweep`` re-optimises the sweep's grid on each training window."""

    train: Span
    test: Span
    step: Span | None = None
    mode: Literal["rolling", "expanding"] = "rolling"
    purge: Span | None = None
    embargo: Span | None = None
    start: str | None = None
    min_train: Span | None = None


class ValidationConfig(_Section, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Model and parameter validation on arrival times."""

    walk_forward: WalkForwardConfig | None = None


class AuditConfig(_Section, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``ml4t.audit.lookahead(strategy, bars, params=<the chosen ones>, cuts=..., strict=...)``."""

    cuts: Annotated[int, Meta(ge=1)] = 5
    strict: bool = False


class ReportConfig(_Section, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The run folder's one-file HTML report (``report.html``)."""

    html: bool = True
    title: str | None = None
    max_points: Annotated[int, Meta(ge=100)] | None = None


class ExecutorConfig(_Section, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where the work runs and in what pieces. Nothing here changes a result (not part of the run id).

    ``kind``: ``"local"`` (this process's kernel, on every core), ``"processes"`` (``ml4t.spawn_pool(workers)``,
    default the CPUs), ``"dask"`` (a ``dask.distributed.Client`` of the scheduler at ``address``, else of a
    ``LocalCluster`` of ``workers`` processes of one thread each, default the CPUs) or ``"ray"`` (``executor="ray"``
    on the cluster at ``address``, else on ``ray.init(num_cpus=workers)``). The sweep's pieces and the walk-forward's
    folds run on it (``ml4t._executor.open_executor`` makes it for the run and closes what it started); the rules
    between the keys are ``ml4t._executor.executor_problems``."""

    kind: Annotated[
        Literal["local", "processes", "dask", "ray"],
        Meta(description="where the work runs: this process ('local'), a pool of processes, a Dask or a Ray cluster"),
    ] = "local"
    workers: (
        Annotated[
            int,
            Meta(ge=1, description="the workers of the pool or the cluster ml4t starts (default: the CPUs)"),
        ]
        | None
    ) = None
    address: (
        Annotated[
            str,
            Meta(
                pattern=ADDRESS_PATTERN,
                description="a cluster's address: Dask's scheduler 'tcp://10.0.0.5:8786', Ray's 'auto' or "
                "'ray://host:10001'",
            ),
        ]
        | None
    ) = None
    chunk_size: Annotated[int, Meta(ge=1)] | None = None
    memory_budget: int | str | None = None
    progress: bool | None = None


class Config(_Section, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A whole study. ``settings`` and ``promote`` are validated against ``ml4t.settings`` (the mode's
    settings, ``EngineSettings`` for ``promote``) when the file is loaded."""

    version: Literal[1] = 1
    name: (
        Annotated[
            str,
            Meta(
                pattern=r"^[A-Za-z0-9][\w.-]*$",
                description="a run folder's name: letters, digits, '_', '.' and '-', first a letter or digit",
            ),
        ]
        | None
    ) = None
    data: DataConfig
    signals: list[SignalsConfig] = []
    strategy: StrategyConfig
    settings: dict[str, Any] = {}
    sweep: SweepConfig | None = None
    validation: ValidationConfig | None = None
    promote: dict[str, Any] | None = None
    audit: AuditConfig | None = None
    report: ReportConfig = ReportConfig()
    executor: ExecutorConfig = ExecutorConfig()


RESULT_FREE_SECTIONS = ("report", "executor", "name")
"""Top-level keys that never change a result: left out of the run id's hash."""


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a config (what ``ml4t schema`` prints, for editors to complete and check files):
    every section, with ``settings`` described by both modes' settings and ``promote`` by the event engine's,
    and each cost model as its table (``{ "model": "Percent", "rate": 0.001 }``)."""
    import ml4t.costs as costs
    from ml4t.settings import EngineSettings, VectorizedSettings

    def hook(tp: Any) -> dict[str, Any]:
        if tp in (costs.Commission, costs.Slippage):
            names = sorted(
                n
                for n in costs.__all__
                if isinstance(getattr(costs, n), type)
                and issubclass(getattr(costs, n), tp)
                and getattr(costs, n) is not tp
            )
            kind = "commission" if tp is costs.Commission else "slippage"
            return {
                "type": "object",
                "required": ["model"],
                "properties": {"model": {"enum": names}},
                "description": f"an ml4t.costs {kind} model and its arguments, e.g. "
                + ('{ model = "Percent", rate = 0.001 }' if kind == "commission" else '{ model = "Bps", bps = 5 }'),
            }
        raise NotImplementedError(tp)

    (config, vectorized, engine), components = msgspec.json.schema_components(
        [Config, VectorizedSettings, EngineSettings], schema_hook=hook, ref_template="#/$defs/{name}"
    )
    # the vectorized slippage: a rate, or a slippage model's table (the settings' own schema says "a model")
    slippage = components["VectorizedSettings"]["properties"]["slippage"]
    slippage["anyOf"] = [slippage["anyOf"][0], hook(costs.Slippage)]
    components["StrategyConfig"]["properties"]["rules"] = {
        "type": "object",
        "description": "signal keys written in the expression language (ml4t.config.FUNCTIONS)",
        "properties": {key: {"type": "string", "description": text} for key, text in RULE_KEYS.items()},
        "additionalProperties": False,
        "default": {},
    }
    properties = components["Config"]["properties"]
    properties["settings"] = {
        "description": "the mode's settings: ml4t.settings.VectorizedSettings (mode = 'vectorized') or "
        "EngineSettings (mode = 'event'), field for field",
        "anyOf": [vectorized, engine],
    }
    properties["promote"] = {
        "description": "ml4t.settings.EngineSettings of the promoted run (the chosen combination on the event engine)",
        "anyOf": [engine, {"type": "null"}],
    }
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "ml4t study config",
        **config,
        "$defs": components,
    }
    finite: dict[str, Any] = _finite(schema)
    return finite


def _finite(node: Any) -> Any:
    """``node`` without non-finite numbers, which JSON cannot write: an infinite default is left out and said
    in the description (TOML and YAML write it ``inf`` / ``.inf``)."""
    if isinstance(node, list):
        return [_finite(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _finite(value) for key, value in node.items()}
    default = out.get("default")
    if isinstance(default, float) and not math.isfinite(default):
        del out["default"]
        out["description"] = (out.get("description", "") + f" (default {default}: no limit)").strip()
    return out

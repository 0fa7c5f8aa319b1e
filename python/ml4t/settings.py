"""``ml4t.settings``: every setting of both modes, declared once as a frozen typed struct (msgspec).

The contract:

- Each mode's settings are one frozen struct: :class:`VectorizedSettings` (``VectorizedStrategy``) and
  :class:`EngineSettings` (``ml4t.event.Engine``), both extending :class:`Settings`, the settings the modes
  share (``execution``, ``init_cash``, ``periods_per_year``, the ``commission`` model; the vectorized mode's
  ``fees`` / ``fixed_fees`` / ``slippage`` floats are shorthands for the cost models). A field's type, bounds
  and default are stated here and nowhere else: the public constructors take the same keywords and build it.
- One validator: every construction (``VectorizedSettings(...)``, :meth:`Settings.build`, ``msgspec.convert``,
  unpickling) checks every field against its declared type with the helpers of ``ml4t._validate``, so a value
  is never coerced (``"no"`` is not ``False``, ``True`` is not ``1.0``), NaN is refused, NumPy scalars become
  Python ones, and each failure is a :class:`ml4t.ConfigError` naming the field and the expected type. A name
  that is not a field is refused by :meth:`Settings.build` with the closest field name
  (``unknown setting 'fess'; did you mean 'fees'?``).
- The structs pickle, compare by value, convert to plain dicts (:meth:`Settings.to_dict`) and describe
  themselves as JSON Schema (:meth:`Settings.schema`), which declarative configs read.
- :class:`RunSpec` is a whole run as a value: the strategy (a signal function or an event ``Strategy``
  class), its parameters, the mode's settings and the data's fingerprint.
"""

from __future__ import annotations

import difflib
import inspect
import math
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, ClassVar, Literal, Self, Union

import msgspec
import polars as pl
from msgspec import Meta

from ml4t._time import parse_duration
from ml4t._validate import check_bool, check_choice, check_int, check_number
from ml4t.costs import Commission, Slippage, lower_costs
from ml4t.errors import ConfigError

__all__ = ["EngineSettings", "RunSpec", "Settings", "VectorizedSettings", "lower_vectorized_costs", "signature_of"]

_INF = {"allow_inf": True}
"""``Meta(extra=_INF)`` marks a number that may be infinite (all others must be finite)."""

Positive = Annotated[float, Meta(gt=0)]
Fraction = Annotated[float, Meta(gt=0, lt=1)]
NonNegative = Annotated[float, Meta(ge=0)]
Execution = Literal["close", "next_open"]
Scope = Literal["symbol", "panel"]
"""Where a vectorized strategy's expressions are evaluated: each symbol's bars alone, or the long panel."""
SlippageOrRate = Annotated[
    Any,
    Meta(
        description="a price-only ml4t.costs slippage model (Bps(bps=5.0)), or a rate in [0, 1)",
        extra_json_schema={"anyOf": [{"type": "number", "minimum": 0, "exclusiveMaximum": 1}, {"type": "string"}]},
    ),
]
"""The vectorized ``slippage``: a model, or the float shorthand (msgspec's unions cannot mix the two)."""
Rebalance = Annotated[
    Any,
    Meta(
        description="when target weights are traded: a calendar period ('1w', '1mo', '1q', '1y'), every n bars "
        "(an integer >= 1), a boolean Polars expression, or null for every bar",
        extra_json_schema={"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string"}, {"type": "null"}]},
    ),
]
"""The vectorized ``rebalance``: a period string, a number of bars, a boolean expression, or None."""


def _check_commission(name: str, value: Any) -> Any:
    lower_costs(commission=value)
    return value


def _check_slippage(name: str, value: Any) -> Any:
    lower_costs(slippage=value)
    return value


def _check_rebalance(name: str, value: Any) -> Any:
    """None (every bar), a calendar period Polars can truncate dates to (``"1w"``, ``"1mo"``), a number of bars
    (an integer >= 1), or a boolean Polars expression (evaluated like a signal)."""
    if value is None or isinstance(value, pl.Expr):
        return value
    if isinstance(value, str):
        try:
            pl.Series([0], dtype=pl.Datetime("ns")).dt.truncate(value)
        except (pl.exceptions.PolarsError, ValueError) as error:
            raise ConfigError(
                f"rebalance={value!r} is not a calendar period (e.g. '1w', '1mo', '1q', '1y'): "
                f"{str(error).splitlines()[0]}",
                argument=name,
            ) from None
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(
            f"rebalance must be a calendar period ('1mo'), a number of bars (an integer >= 1), a boolean "
            f"Polars expression or None, got {value!r}",
            argument=name,
        )
    return check_int(name, value, minimum=1)


def _check_slippage_or_rate(name: str, value: Any) -> Any:
    """A slippage model, or the vectorized shorthand: a rate in [0, 1)."""
    if isinstance(value, Slippage):
        return value
    return check_number(name, value, minimum=0.0, below=1.0)


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The settings both modes share. Read a field as an attribute (``settings.fees``) or by name
    (``settings["fees"]``); change one with :meth:`replace` (validated again)."""

    execution: Execution
    """``"close"``: a decision on bar ``t`` fills at ``t``'s close; ``"next_open"``: at the next bar's open."""
    init_cash: Positive
    """Starting cash."""
    periods_per_year: Positive | None = None
    """Annualization of the metrics; ``None`` infers it from the bars' calendar."""
    commission: Commission | None = None
    """A commission model of ``ml4t.costs`` (the vectorized mode's ``fees`` / ``fixed_fees`` are shorthands)."""

    _checks: ClassVar[Mapping[str, Callable[[str, Any], Any]]] = {"commission": _check_commission}
    """Fields whose rule a type cannot state, each checked by its own function ``(name, value) -> value``."""

    def __post_init__(self) -> None:
        for name, check in _field_checks(type(self)).items():
            value = getattr(self, name)
            checked = check(name, value)
            if checked is not value:
                msgspec.structs.force_setattr(self, name, checked)
        self._check_together()

    def _check_together(self) -> None:
        """The rules between fields (after each field is valid on its own)."""

    @classmethod
    def build(cls, **values: Any) -> Self:
        """The settings from keyword values (unnamed fields take their defaults); a name that is not a field
        is a ConfigError suggesting the closest one."""
        cls.check_names(values)
        return cls(**values)

    @classmethod
    def check_names(cls, names: Iterable[str]) -> None:
        """A ConfigError naming the first of ``names`` that is not a field, and the closest field."""
        fields = cls.__struct_fields__
        for name in names:
            if name not in fields:
                match = difflib.get_close_matches(name, fields, n=1)
                hint = f"did you mean {match[0]!r}?" if match else f"{cls.__name__} takes {sorted(fields)}"
                raise ConfigError(f"unknown setting {name!r}; {hint}", argument=name)

    @classmethod
    def check_field(cls, name: str, value: Any) -> Any:
        """``value`` checked as the field ``name`` on its own (its declared type and bounds, by the same check
        construction runs), returned as the field would hold it; the rules between fields are checked only by
        construction. A ConfigError names the field (an unknown name gets the closest one)."""
        cls.check_names([name])
        return _field_checks(cls)[name](name, value)

    def replace(self, **changes: Any) -> Self:
        """A copy with ``changes`` applied, validated like :meth:`build`."""
        return type(self).build(**{**self.to_dict(), **changes})

    def to_dict(self) -> dict[str, Any]:
        """Every field by name (the values themselves, not copies)."""
        return msgspec.structs.asdict(self)

    def __getitem__(self, name: str) -> Any:
        if name not in self.__struct_fields__:
            raise KeyError(name)
        return getattr(self, name)

    @classmethod
    def schema(cls) -> dict[str, Any]:
        """The JSON Schema of these settings (every field, its type, bounds and default)."""
        return msgspec.json.schema(cls, schema_hook=_schema_hook)


class VectorizedSettings(Settings, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The settings of ``ml4t.vectorized.VectorizedStrategy`` (see its docstring for what each one does)."""

    execution: Execution = "close"
    init_cash: Positive = 100_000.0
    size: Annotated[float, Meta(gt=0, extra=_INF)] = math.inf
    size_type: Literal["amount", "value", "percent"] = "amount"
    fees: Annotated[float, Meta(ge=0, le=1)] = 0.0
    fixed_fees: NonNegative = 0.0
    slippage: SlippageOrRate = 0.0
    cash_sharing: bool = False
    sl_stop: Fraction | None = None
    tp_stop: Positive | None = None
    sl_trail: bool = False
    stop_entry_price: Literal["fill", "close"] = "fill"
    accumulate: bool = False
    conflict: Literal["ignore", "entry", "exit"] = "ignore"
    direction_conflict: Literal["ignore", "long", "short"] = "ignore"
    opposite_entry: Literal["reverse", "close", "ignore"] = "reverse"
    min_size: NonNegative = 1e-8
    lot_size: Positive | None = None
    """Orders are whole multiples of this many units (rounded toward zero; vectorbt's ``size_granularity``)."""
    scope: Scope = "symbol"
    """``"symbol"``: the signal expressions are evaluated on each symbol's bars alone; ``"panel"``: on the long
    frame of all symbols in (``ts_event``, ``symbol``) order, with ``.over("symbol")`` / ``.over("ts_event")``."""
    order: Literal["pro_rata", "auto", "symbol"] = "pro_rata"
    """The order of a shared account's orders within a bar: ``"auto"`` sells first (vectorbt's
    ``call_seq="auto"``), ``"symbol"`` in symbol order, ``"pro_rata"`` sells first and buys that together need
    more cash than there is share it in proportion to what each asked for (no symbol favoured by its name)."""
    rebalance: Rebalance = None
    """When target ``weights`` are traded (between rebalances they drift with prices)."""
    leverage: Positive | None = None
    """The cap on gross exposure (sum of absolute position values over equity) a rebalance may reach."""

    _checks: ClassVar[Mapping[str, Callable[[str, Any], Any]]] = {
        "commission": _check_commission,
        "slippage": _check_slippage_or_rate,
        "rebalance": _check_rebalance,
    }

    def _check_together(self) -> None:
        if self.size_type == "percent" and not 0 < self.size <= 1:
            raise ConfigError(f"with size_type='percent', size must be in (0, 1], got {self.size!r}", argument="size")
        lower_vectorized_costs(self)  # a model and a shorthand for the same cost are refused together


def lower_vectorized_costs(s: VectorizedSettings) -> tuple[list[tuple[str, list[float]]], tuple[str, list[float]]]:
    """The vectorized settings' costs as the core takes them (``ml4t.costs.lower_costs``): the models, or the
    float shorthands ``fees`` / ``fixed_fees`` / ``slippage`` for the same models."""
    if isinstance(s.slippage, Slippage):
        return lower_costs(s.commission, s.slippage, fees=s.fees, fixed_fees=s.fixed_fees)
    return lower_costs(s.commission, None, fees=s.fees, fixed_fees=s.fixed_fees, slippage_rate=s.slippage)


_UNITS = (
    ("d", 86_400_000_000_000),
    ("h", 3_600_000_000_000),
    ("m", 60_000_000_000),
    ("s", 1_000_000_000),
    ("ms", 1_000_000),
    ("us", 1_000),
    ("ns", 1),
)


def _check_latency(name: str, value: Any) -> Any:
    """A duration string as given; a timedelta as the same duration in the largest whole unit (``"50ms"``)."""
    if value is None or isinstance(value, str):
        if value is not None:
            parse_duration(value, argument=name)
        return value
    ns = parse_duration(value, argument=name)
    unit, size = next((u, n) for u, n in _UNITS if ns % n == 0)
    return f"{ns // size}{unit}"


def _check_multipliers(name: str, value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ConfigError(f"multipliers must map symbols to numbers, got {type(value).__name__}", argument=name)
    checked = {}
    for symbol, multiplier in value.items():
        try:
            checked[symbol] = check_number(name, multiplier, positive=True)
        except ConfigError as error:
            raise error.replace(message=f"a contract multiplier {error.message}", symbol=symbol) from None
    return checked


def _check_tz(name: str, value: Any) -> Any:
    try:
        pl.Series([0], dtype=pl.Datetime("ns", "UTC")).dt.convert_time_zone(str(value))
    except (pl.exceptions.PolarsError, ValueError) as error:
        raise ConfigError(f"unknown session_tz {value!r}: {error}", argument=name) from None
    return value if isinstance(value, str) else str(value)


class EngineSettings(Settings, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The settings of ``ml4t.event.Engine`` (see its docstring for what each one does). ``leverage`` is
    resolved: ``2.0`` for a margin account when not given, ``None`` for a cash account."""

    execution: Execution = "next_open"
    init_cash: Positive = 1_000_000.0
    slippage: Slippage | None = None
    participation: Annotated[float, Meta(gt=0, le=1)] | None = None
    latency: str | None = None
    """Order latency as a duration (``"50ms"``; a ``timedelta`` is accepted and stored as such a string)."""
    account: Literal["cash", "margin"] = "cash"
    leverage: Annotated[float, Meta(ge=1)] | None = None
    maintenance_margin: NonNegative | None = None
    multipliers: dict[str, float] | None = None
    both_touched: Literal["stop_loss", "take_profit"] = "stop_loss"
    session_tz: str = "UTC"
    fractional: bool = False

    _checks: ClassVar[Mapping[str, Callable[[str, Any], Any]]] = {
        "commission": _check_commission,
        "slippage": _check_slippage,
        "latency": _check_latency,
        "multipliers": _check_multipliers,
        "session_tz": _check_tz,
    }

    def _check_together(self) -> None:
        if self.account == "cash" and self.leverage is not None:
            raise ConfigError("leverage applies to account='margin' only", argument="leverage")
        if self.account == "margin" and self.leverage is None:
            msgspec.structs.force_setattr(self, "leverage", 2.0)

    @property
    def latency_ns(self) -> int:
        """The order latency in int64 nanoseconds (0 without one)."""
        return 0 if self.latency is None else parse_duration(self.latency, argument="latency")


# --------------------------------------------------------------------------------------- the one validator
_FIELD_CHECKS: dict[type, dict[str, Callable[[str, Any], Any]]] = {}


def _field_checks(cls: type[Settings]) -> dict[str, Callable[[str, Any], Any]]:
    """Per field of ``cls``, in declaration order, the check its declared type implies (cached per class)."""
    checks = _FIELD_CHECKS.get(cls)
    if checks is None:
        hints = typing.get_type_hints(cls, include_extras=True)
        checks = {name: cls._checks.get(name) or _check_for(hints[name]) for name in cls.__struct_fields__}
        _FIELD_CHECKS[cls] = checks
    return checks


def _check_for(tp: Any) -> Callable[[str, Any], Any]:
    """The check a declared type states: ``bool``, a ``Literal`` choice, a bounded float (``Meta`` bounds:
    ``ge`` / ``le`` / ``lt``, ``gt=0`` for positive, ``extra=_INF`` to allow infinity), or ``X | None``."""
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        (inner,) = (arg for arg in typing.get_args(tp) if arg is not type(None))
        check = _check_for(inner)
        return lambda name, value: None if value is None else check(name, value)
    if origin is Literal:
        choices = typing.get_args(tp)
        return lambda name, value: check_choice(name, value, choices)
    if tp is bool:
        return lambda name, value: check_bool(name, value)
    if origin is Annotated:
        base, *metas = typing.get_args(tp)
        bounds: dict[str, Any] = {}
        for meta in metas:
            if meta.gt is not None:
                if meta.gt != 0:
                    raise TypeError("only gt=0 (positive) is supported")
                bounds["positive"] = True
            bounds |= {
                k: float(v)
                for k, v in (("minimum", meta.ge), ("maximum", meta.le), ("below", meta.lt))
                if v is not None
            }
            bounds["allow_inf"] = bool((meta.extra or {}).get("allow_inf"))
        if base is float:
            return lambda name, value: check_number(name, value, **bounds)
    if tp is float:
        return lambda name, value: check_number(name, value)
    raise TypeError(f"no check for the declared type {tp!r}; give the field one in _checks")


def _schema_hook(tp: Any) -> dict[str, Any]:
    """JSON Schema of the types msgspec does not know: the cost models (described by their ``repr``)."""
    examples = {Commission: "Percent(rate=0.001)", Slippage: "Bps(bps=5.0)"}
    if tp in examples:
        return {"type": "string", "description": f"an ml4t.costs {tp.__name__.lower()} model, e.g. {examples[tp]}"}
    raise NotImplementedError(tp)


# ---------------------------------------------------------------------------------------------- a run
class RunSpec(msgspec.Struct, frozen=True, kw_only=True):
    """One run as a value: ``strategy`` (a vectorized signal function, or an event ``Strategy`` class or
    factory), its ``params``, the mode's ``settings`` and the ``data`` fingerprint of the bars it runs on
    (``None`` when not known). What configs, caches, remote workers and report headers read."""

    strategy: Any
    params: dict[str, Any] = {}
    settings: Settings
    data: str | None = None

    @property
    def mode(self) -> str:
        """``"vectorized"`` or ``"event"``, from the settings' type."""
        return "vectorized" if isinstance(self.settings, VectorizedSettings) else "event"


def signature_of(cls: type[Settings], *leading: str) -> inspect.Signature:
    """A constructor's signature: the ``leading`` positional parameters, then every field of ``cls`` as a
    keyword with its declared default (what ``help()`` and notebooks show for ``**settings``)."""
    hints = typing.get_type_hints(cls)
    params = [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD) for name in leading]
    for field in msgspec.structs.fields(cls):
        params.append(
            inspect.Parameter(
                field.name, inspect.Parameter.KEYWORD_ONLY, default=field.default, annotation=hints[field.name]
            )
        )
    return inspect.Signature(params)

"""Cost models of both modes: commissions and slippage, lowered once to Rust by :func:`lower_costs`.

Each model is a frozen dataclass that only describes itself; the core's compiled implementations
(``core/src/matching/costs/``, one per file, built by name in ``registry.rs``) do the arithmetic, identically
for every fill in both modes. The vectorized mode's ``fees`` / ``fixed_fees`` / ``slippage`` floats are
shorthands for the same models. A model that needs the bar's volume (``VolumeImpact``) runs in the event
engine only: the vectorized kernel prices an order before sizing it and has no volume. Slippage is applied
first (the fill price moves against the trader; in the event engine never outside the bar, while the vectorized
mode, like vectorbt, does not clamp it to the bar), then the commission is charged on the slipped fill's traded
value ``quantity * price * multiplier``. Commissions are charged per fill, so an order
filled in parts over several bars pays a per-order fee or a per-share minimum once per part (conservative).

>>> import ml4t.costs as costs
>>> costs.PerShare(0.005, minimum=1.0, maximum_rate=0.01)   # Interactive Brokers' fixed US stock pricing
PerShare(per_share=0.005, minimum=1.0, maximum_rate=0.01)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ml4t._validate import check_number
from ml4t.errors import ConfigError

__all__ = [
    "Bps",
    "Commission",
    "HalfSpread",
    "Percent",
    "PerOrder",
    "PerShare",
    "Slippage",
    "Tiered",
    "VolumeImpact",
]


def _finite(name: str, value: float, *, low: float = 0.0, high: float = math.inf, model: str) -> float:
    return check_number(name, value, minimum=low, maximum=high, where=f"{model}: ")


class Commission:
    """Base of the commission models."""

    def _lower(self) -> tuple[str, list[float]]:
        raise NotImplementedError


class Slippage:
    """Base of the slippage models."""

    def _lower(self) -> tuple[str, list[float]]:
        raise NotImplementedError


@dataclass(frozen=True)
class Percent(Commission):
    """``rate * traded value`` (``Percent(0.001)`` is 0.1%, the vectorized mode's ``fees``)."""

    rate: float

    def __post_init__(self) -> None:
        _finite("rate", self.rate, high=1.0, model="Percent")

    def _lower(self) -> tuple[str, list[float]]:
        return "percent", [float(self.rate)]


@dataclass(frozen=True)
class PerShare(Commission):
    """``per_share * quantity``, at least ``minimum``, at most ``maximum_rate * traded value`` (the cap wins
    over the minimum, Interactive Brokers' rule). ``maximum_rate=inf`` means no cap."""

    per_share: float
    minimum: float = 0.0
    maximum_rate: float = math.inf

    def __post_init__(self) -> None:
        _finite("per_share", self.per_share, model="PerShare")
        _finite("minimum", self.minimum, model="PerShare")
        if self.maximum_rate != math.inf:
            rate = _finite("maximum_rate", self.maximum_rate, high=1.0, model="PerShare")
            if rate == 0:
                raise ConfigError("PerShare: maximum_rate must be > 0 (or inf: no cap)", argument="maximum_rate")

    def _lower(self) -> tuple[str, list[float]]:
        return "per_share", [float(self.per_share), float(self.minimum), float(self.maximum_rate)]


@dataclass(frozen=True)
class PerOrder(Commission):
    """A fixed ``amount`` per fill (per order when it fills at once)."""

    amount: float

    def __post_init__(self) -> None:
        _finite("amount", self.amount, model="PerOrder")

    def _lower(self) -> tuple[str, list[float]]:
        return "per_order", [float(self.amount)]


@dataclass(frozen=True)
class Tiered(Commission):
    """``rate * traded value`` with the rate of the first tier whose upper bound is ``>=`` the fill's traded
    value: ``Tiered([(10_000, 0.002), (100_000, 0.001), (math.inf, 0.0005)])``. The whole value pays its
    tier's rate (not marginally); a value above the last bound pays the last rate."""

    tiers: Sequence[tuple[float, float]]

    def __post_init__(self) -> None:
        given: object = self.tiers
        if isinstance(given, (str, bytes)) or not isinstance(given, Sequence):
            raise ConfigError(f"Tiered: tiers must be a list of (upper bound, rate), got {given!r}", argument="tiers")
        if not given:
            raise ConfigError("Tiered: needs at least one (upper bound, rate) tier", argument="tiers")
        for i, tier in enumerate(self.tiers):
            if not isinstance(tier, Sequence) or isinstance(tier, (str, bytes)) or len(tier) != 2:
                raise ConfigError(
                    f"Tiered: tiers[{i}] must be an (upper bound, rate) pair, got {tier!r}", argument="tiers"
                )
        tiers = tuple(
            (
                check_number(f"tiers[{i}] bound", b, allow_inf=True, where="Tiered: "),
                _finite(f"tiers[{i}] rate", r, high=1.0, model="Tiered"),
            )
            for i, (b, r) in enumerate(self.tiers)
        )
        previous = 0.0
        for i, (bound, _rate) in enumerate(tiers):
            if not bound > previous:
                raise ConfigError(
                    f"Tiered: upper bounds must be > 0 and strictly ascending, got tiers[{i}] bound {bound} "
                    f"after {previous}",
                    argument="tiers",
                )
            previous = bound
        object.__setattr__(self, "tiers", tiers)

    def _lower(self) -> tuple[str, list[float]]:
        return "tiered", [x for tier in self.tiers for x in tier]


@dataclass(frozen=True)
class Bps(Slippage):
    """The fill price moves ``bps`` basis points against the trader (``Bps(5)``: buys pay 0.05% more)."""

    bps: float

    def __post_init__(self) -> None:
        _finite("bps", self.bps, high=10_000.0, model="Bps")

    def _lower(self) -> tuple[str, list[float]]:
        return "bps", [float(self.bps)]


@dataclass(frozen=True)
class HalfSpread(Slippage):
    """Crossing half of a quoted spread of ``spread_bps`` basis points."""

    spread_bps: float

    def __post_init__(self) -> None:
        _finite("spread_bps", self.spread_bps, high=20_000.0, model="HalfSpread")

    def _lower(self) -> tuple[str, list[float]]:
        return "half_spread", [float(self.spread_bps)]


@dataclass(frozen=True)
class VolumeImpact(Slippage):
    """Market impact growing with the order's share of the bar's volume:
    ``price * coefficient * (quantity / bar_volume) ** exponent`` (square-root law: ``exponent=0.5``)."""

    coefficient: float
    exponent: float = 0.5

    def __post_init__(self) -> None:
        _finite("coefficient", self.coefficient, model="VolumeImpact")
        if _finite("exponent", self.exponent, model="VolumeImpact") == 0:
            raise ConfigError("VolumeImpact: exponent must be > 0", argument="exponent")

    def _lower(self) -> tuple[str, list[float]]:
        return "volume_impact", [float(self.coefficient), float(self.exponent)]


_Lowered = tuple[str, list[float]]
"""A model as the core's registry takes it: ``(name, parameters)`` (``core/src/matching/costs/registry.rs``)."""


def lower_costs(
    commission: Commission | None = None,
    slippage: Slippage | None = None,
    *,
    fees: float = 0.0,
    fixed_fees: float = 0.0,
    slippage_rate: float = 0.0,
) -> tuple[list[_Lowered], _Lowered]:
    """A run's costs as both engines take them: the commission as parts charged as their sum, and the slippage.

    ``commission`` and ``slippage`` are models of this module. ``fees``, ``fixed_fees`` and ``slippage_rate``
    are the vectorized mode's float shorthands for the same models: ``fees=f`` is ``Percent(f)``,
    ``fixed_fees=x`` a ``PerOrder(x)`` charged with it (their sum is vectorbt's ``fees * traded value +
    fixed_fees``), and ``slippage_rate=s`` moves buys to ``price * (1 + s)`` and sells to ``price * (1 - s)``
    (vectorbt's ``slippage``). A model and a non-zero shorthand for the same cost are a ConfigError naming both.
    """
    if commission is not None and not isinstance(commission, Commission):
        raise ConfigError(
            "commission must be an ml4t.costs commission model (Percent, PerShare, PerOrder, Tiered), "
            f"got {commission!r}",
            argument="commission",
        )
    if slippage is not None and not isinstance(slippage, Slippage):
        raise ConfigError(
            f"slippage must be an ml4t.costs slippage model (Bps, HalfSpread, VolumeImpact), got {slippage!r}",
            argument="slippage",
        )
    fees = check_number("fees", fees, minimum=0.0, maximum=1.0)
    fixed_fees = check_number("fixed_fees", fixed_fees, minimum=0.0)
    slippage_rate = check_number("slippage", slippage_rate, minimum=0.0, below=1.0)
    given = {name: value for name, value in (("fees", fees), ("fixed_fees", fixed_fees)) if value}
    if commission is not None and given:
        name, value = next(iter(given.items()))
        raise ConfigError(
            f"commission={commission!r} and {name}={value!r} both set the commission: pass one "
            "(fees=f is commission=costs.Percent(f), fixed_fees=x is costs.PerOrder(x))",
            argument="commission",
        )
    if commission is not None:
        parts = [commission._lower()]
    else:
        parts = [Percent(fees)._lower()] if fees else []
        if fixed_fees:
            parts.append(PerOrder(fixed_fees)._lower())
    if slippage is not None:
        if slippage_rate:
            raise ConfigError(
                f"slippage={slippage!r} and a slippage rate {slippage_rate!r} both set the slippage: pass one",
                argument="slippage",
            )
        return parts, slippage._lower()
    return parts, ("percent", [slippage_rate]) if slippage_rate else ("none", [])

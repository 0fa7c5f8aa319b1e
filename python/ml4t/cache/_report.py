"""What the cache did in a call: per level, the entries read (hits), computed and stored (misses, each with why),
and what could not be cached (with why).

:class:`CacheReport` is one level's (a sweep's results blocks, signal chunks or indicator leaves; an event run's
indicators). :class:`SweepCacheReport` is a sweep's, one :class:`CacheReport` per level, with the totals over the
levels and a one-line summary that names each level that looked anything up.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields

__all__ = ["CacheReport", "SweepCacheReport", "summarize"]

_SHOWN = 3  # distinct reasons shown in a summary


@dataclass(frozen=True)
class CacheReport:
    """What one level of the cache did: ``hits`` (entries read), ``misses`` (computed and stored), ``uncached``
    (computed without the cache: what could not be keyed soundly), and why per miss (``reasons``) and per
    uncached item (``uncached_reasons``)."""

    hits: int = 0
    misses: int = 0
    uncached: int = 0
    reasons: tuple[str, ...] = field(default=(), repr=False)
    uncached_reasons: tuple[str, ...] = field(default=(), repr=False)

    @property
    def used(self) -> bool:
        """Whether the level looked anything up (or had to leave something out)."""
        return bool(self.hits or self.misses or self.uncached)

    def summary(self, label: str = "cache") -> str:
        """One line: ``"cache: 12 hits, 3 misses (data changed: 1 row of ALFA from 2024-05-01)"``."""
        return f"{label}: {self._counts()}"

    def _counts(self) -> str:
        text = f"{self.hits} hits, {self.misses} misses"
        if self.uncached:
            text += f", {self.uncached} uncached"
        counts = Counter(self.reasons + self.uncached_reasons)
        shown = [f"{n} x {why}" if n > 1 else why for why, n in counts.most_common(_SHOWN)]
        if len(counts) > _SHOWN:
            shown.append(f"{len(counts) - _SHOWN} more reasons")
        return text + (f" ({'; '.join(shown)})" if shown else "")

    @classmethod
    def total(cls, reports: Iterable[CacheReport]) -> CacheReport:
        """The reports of several levels as one: counts summed, reasons together."""
        reports = list(reports)
        return cls(
            sum(r.hits for r in reports),
            sum(r.misses for r in reports),
            sum(r.uncached for r in reports),
            tuple(why for r in reports for why in r.reasons),
            tuple(why for r in reports for why in r.uncached_reasons),
        )


@dataclass(frozen=True)
class SweepCacheReport:
    """What the cache did in a sweep, per level: ``results`` (blocks of combinations' kernel statistics: a hit
    simulates nothing), ``signals`` (the signal arrays of chunks outside the compiled subset) and ``indicators``
    (the distinct indicator leaves of compiled chunks). A block found in ``results`` needs neither of the
    others, so a warm rerun shows results hits only. ``hits``, ``misses``, ``uncached`` and ``reasons`` are
    the totals over the levels."""

    results: CacheReport = CacheReport()
    signals: CacheReport = CacheReport()
    indicators: CacheReport = CacheReport()

    def levels(self) -> dict[str, CacheReport]:
        """The levels by name, in the order a sweep consults them."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def hits(self) -> int:
        return self.total().hits

    @property
    def misses(self) -> int:
        return self.total().misses

    @property
    def uncached(self) -> int:
        return self.total().uncached

    @property
    def reasons(self) -> tuple[str, ...]:
        return self.total().reasons

    def total(self) -> CacheReport:
        """The levels as one report."""
        return CacheReport.total(self.levels().values())

    def summary(self) -> str:
        """One line naming each level that looked anything up: ``"cache: results 0 hits, 10 misses (10 x
        parameters changed: fees 0.001 -> 0.002); indicators 89 hits, 0 misses"``."""
        return summarize(self.levels())


def summarize(levels: Mapping[str, CacheReport]) -> str:
    """One line naming each level that looked anything up: ``"cache: results 1 hits, 0 misses"``."""
    used = [f"{name} {report._counts()}" for name, report in levels.items() if report.used]
    return "cache: " + ("; ".join(used) if used else "nothing to look up")

"""What an audit found: :class:`AuditReport` and :class:`Divergence`."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ml4t.errors import LeakageError
from ml4t.lint import Finding

__all__ = ["AuditReport", "Divergence"]


# ------------------------------------------------------------------------------------------------- report
@dataclass(frozen=True)
class Divergence:
    """The first decision that changed when the data after ``cut`` was removed.

    Attributes
    ----------
    timestamp:
        When the decision was made: the bar of a signal value, the ``ts_submitted`` of an order (for a run
        that raised, the cut).
    symbol:
        The symbol it concerns (None for a run that raised without naming one).
    what:
        ``"signal 'entries'"`` (or another signal key), ``"order"``, or ``"run"`` (the truncated run raised).
    full, truncated:
        The decision in the full run and in the run on the data up to the cut: a signal value; an order as a
        dict of its decision fields, or None when that run has no such order; for ``"run"``, ``"completed"``
        and the exception raised.
    cut:
        The cut: the truncated run saw everything that arrived at or before it.
    """

    timestamp: dt.datetime
    symbol: str | None
    what: str
    full: Any
    truncated: Any
    cut: dt.datetime

    def __str__(self) -> str:
        cut = self.cut.isoformat()
        if self.what == "run":
            return (
                f"the run on the data up to {cut} raised {self.truncated} (the full run completed), so the "
                "strategy's behaviour depends on data after the cut"
            )
        if self.what == "order":
            return (
                f"the order decided at {self.timestamp.isoformat()} is {_describe_order(self.full)} in the full "
                f"run but {_describe_order(self.truncated)} when the data ends at {cut}"
            )
        return (
            f"{self.what} of {self.symbol!r} at {self.timestamp.isoformat()} is {self.full!r} in the full run "
            f"but {self.truncated!r} when the data ends at {cut}"
        )


@dataclass(frozen=True, repr=False)
class AuditReport:
    """The verdict of :func:`lookahead`. ``str(report)`` (and ``repr``) is a one-paragraph summary; a pass
    names the columns it does not cover (``unverified_columns``) and how to cover them.

    Attributes
    ----------
    passed:
        True when every decision at or before every cut matched the full run, the strategy's source (and its
        bars' feature functions) has no look-ahead finding, and, under ``strict``, no column is unverified.
    mode:
        ``"vectorized"``, ``"promoted"`` or ``"event"``.
    cuts:
        The cut timestamps actually used (explicit cuts snapped to the last arrival at or before them).
    first_divergence:
        The earliest divergent decision over all cuts (ties: the earlier cut; a signal before an order),
        or None when the audit passed.
    divergences:
        The first divergence of each cut that had one, in cut order.
    checked_orders:
        Orders of the full run compared, summed over the cuts.
    checked_signals:
        Signal values (symbol x bar x signal key) compared, summed over the cuts; 0 for event strategies.
    static_findings:
        Look-ahead patterns (the linter's ``PIT`` rules, unsuppressed) in the strategy's own source: the ones
        truncation cannot test, such as a global copy of the data read inside a hook, fail the audit too.
        The feature functions of the bars (``Bars.features``) are linted the same way.
    unverified_columns:
        The bar columns the audit cannot verify: precomputed columns (``Bars.precomputed``: not a key, not
        OHLCV or ``split`` / ``dividend``, not from a feature builder or ``align_signals``) that the strategy may
        read: for a vectorized or promoted strategy the ones its signal expressions name (all of them when an
        expression selects columns by pattern), for an event strategy all of them. Truncating rows cannot
        recompute a value computed before the audit, so a pass says nothing about what those values knew.
    strict:
        Whether unverified columns fail the audit (``lookahead(..., strict=True)``).
    strategy, params, data_fingerprint:
        What was audited: the strategy's name (a signal function's or an event strategy's class), the
        parameter values of a vectorized or promoted strategy (None for an event strategy, whose parameters
        are its constructor's), and the fingerprint of the bars (:meth:`ml4t.data.Bars.fingerprint`). A
        report that shows the verdict beside a run says when these are not the run's own.
    """

    passed: bool
    mode: str
    cuts: tuple[dt.datetime, ...]
    first_divergence: Divergence | None
    divergences: tuple[Divergence, ...] = field(default=())
    checked_orders: int = 0
    checked_signals: int = 0
    static_findings: tuple[Finding, ...] = field(default=())
    unverified_columns: tuple[str, ...] = field(default=())
    strict: bool = False
    strategy: str | None = None
    params: Mapping[str, Any] | None = None
    data_fingerprint: str | None = None

    def __str__(self) -> str:
        span = f"{self.cuts[0].isoformat()} .. {self.cuts[-1].isoformat()}" if self.cuts else "none"
        n = len(self.cuts)
        if self.divergences:
            return (
                f"Lookahead audit FAILED ({self.mode} strategy, {len(self.divergences)} of {n} cuts diverged, "
                f"cuts {span}): {self.first_divergence}. A decision must not change when the data after it is "
                "removed: look for negative shifts, centered windows, statistics of the whole sample, or data the "
                f"strategy reads from outside the bars it is given.{self._unverified_note(' Also unverified:')}"
            )
        if self.static_findings:
            listing = "; ".join(str(f) for f in self.static_findings)
            return (
                f"Lookahead audit FAILED ({self.mode} strategy, {n} cut{'s' if n != 1 else ''} {span}): no decision "
                "changed when the data after each cut was removed, but the strategy's source has look-ahead the "
                f"truncation cannot test (the linter's findings): {listing}."
                f"{self._unverified_note(' Also unverified:')}"
            )
        if not self.passed:
            return (
                f"Lookahead audit FAILED (strict; {self.mode} strategy, {n} cut{'s' if n != 1 else ''} {span}): no "
                "decision changed when the data after each cut was removed, but the strategy reads columns the "
                f"audit cannot verify:{self._unverified_note('')}"
            )
        checked = f"{self.checked_orders:,} orders"
        if self.mode != "event":
            checked += f" and {self.checked_signals:,} signal values"
        return (
            f"Lookahead audit passed ({self.mode} strategy, {n} cut{'s' if n != 1 else ''} {span}): "
            f"{checked} decided up to each cut are identical when the data after the cut is removed, so no "
            f"decision before a cut depended on it. Decisions after the last cut ({self.cuts[-1].isoformat()}) "
            "are not covered, nor is information from outside the audited data that the linter does not recognise."
            f"{self._unverified_note(' The pass does NOT cover')}"
        )

    def _unverified_note(self, lead: str) -> str:
        """The sentence naming the unverified columns and how to cover them (empty when there are none)."""
        if not self.unverified_columns:
            return ""
        names = ", ".join(repr(c) for c in self.unverified_columns)
        plural = len(self.unverified_columns) != 1
        them = "them" if plural else "it"
        return (
            f"{lead} the precomputed column{'s' if plural else ''} {names}: {'their' if plural else 'its'} values "
            "came with the data, so removing rows cannot recompute them, and a value computed from later rows "
            f"(a forward return) goes unseen. Attach {them} as builders (bars.with_features(...)) or as Signals "
            f"with arrival times (ml4t.data.align_signals) so the audit recomputes {them}, or drop {them}"
            f"{'' if self.strict else '; lookahead(..., strict=True) fails on them'}."
        )

    def __repr__(self) -> str:
        return f"AuditReport({self})"

    def raise_if_failed(self) -> AuditReport:
        """Raise ``ml4t.LeakageError`` naming the first divergence (its symbol and timestamp as attributes) when
        the audit failed; return the report otherwise."""
        d = self.first_divergence
        if self.passed:
            return self
        if d is None and self.static_findings:
            f = self.static_findings[0]
            raise LeakageError(f"lookahead audit failed: the strategy's source reads the future: {f}", argument=f.path)
        if d is None:
            column = self.unverified_columns[0]
            raise LeakageError(
                f"lookahead audit failed (strict): the strategy may read the precomputed column {column!r}, which the "
                "audit cannot verify; attach it with bars.with_features(...) or as Signals with arrival times",
                argument="strict",
                column=column,
            )
        raise LeakageError(f"lookahead audit failed: {d}", symbol=d.symbol, timestamp=d.timestamp)


def _describe_order(order: dict[str, Any] | None) -> str:
    if order is None:
        return "absent"
    # each side names its own symbol: two orders may differ in nothing else
    text = f"{order['side']} {order['quantity']:g} {order['symbol']!r} {order['order_type']}"
    if order["limit_price"] is not None and not math.isnan(order["limit_price"]):
        text += f" limit {order['limit_price']:g}"
    if order["stop_price"] is not None and not math.isnan(order["stop_price"]):
        text += f" stop {order['stop_price']:g}"
    text += f" ({order['time_in_force']}"
    if order["tag"] is not None:
        text += f", tag {order['tag']!r}"
    return text + f", submitted {order['ts_submitted'].isoformat()})"

"""What a finished run must say out loud: insolvency and many rejections, as one warning each.

Both engines call :func:`report_run` on the ``Result`` they built, so the two modes warn by the same rule:

* equity at or below zero at any bar: one :class:`~ml4t.errors.InsolvencyWarning` naming the first such
  timestamp and the lowest equity (``Result.insolvent_at`` keeps the timestamp);
* at least :data:`MANY_REJECTIONS` orders with status ``rejected``: one
  :class:`~ml4t.errors.RejectionWarning` with their count by ``reason_code``, most frequent first.
"""

from __future__ import annotations

import warnings

import polars as pl

from ml4t.errors import InsolvencyWarning, RejectionWarning
from ml4t.result import Result

__all__ = ["MANY_REJECTIONS", "report_run"]

#: Rejections from this count on are summarized at the end of a run. A handful of refused orders is a
#: strategy probing what it can afford; ten or more is a pattern the user must see.
MANY_REJECTIONS = 10


def report_run(result: Result, *, stacklevel: int = 3) -> None:
    """Warn about what ``result`` shows: insolvency, then many rejections (each at most once)."""
    when = result.insolvent_at
    if when is not None:
        lowest = float(result.equity["equity"].min())  # type: ignore[arg-type]
        warnings.warn(
            f"equity fell to zero or below at {when.isoformat()} (lowest {lowest:,.2f}); "
            "the account was insolvent from then on (Result.insolvent_at)",
            InsolvencyWarning,
            stacklevel=stacklevel,
        )
    rejected = result.orders.filter(pl.col("status") == "rejected")
    if rejected.height >= MANY_REJECTIONS:
        counts = (
            rejected.group_by("reason_code")
            .len()
            .sort(["len", "reason_code"], descending=[True, False], nulls_last=True)
            .rows()
        )
        summary = ", ".join(f"{code}: {n}" for code, n in counts)
        warnings.warn(
            f"{rejected.height} orders were rejected ({summary}); see Result.orders' reason and reason_code",
            RejectionWarning,
            stacklevel=stacklevel,
        )

"""``ml4t.compare``: the reality gap between two runs of one idea, metric by metric, with the part of the
difference in final equity that each cost explains.

>>> gap = ml4t.compare(vectorized_result, event_result)   # doctest: +SKIP
>>> print(gap)                                            # doctest: +SKIP

Attribution of the final-equity difference ``b - a`` (account currency), from the ``Result`` frames only:

* ``commission``: ``-(fees_b - fees_a)``, the fills' fees;
* ``slippage``: ``-(slippage_b - slippage_a)``, the fills' slippage cost;
* ``fill timing, partial fills and rejections``: the rest: trading at other prices, other times or in other
  sizes (next open instead of close, volume caps, orders refused for cash). The counts of rejected and
  partially filled orders and the mean fill price shift are listed beside it.

The first two are exact accounting identities of the two runs; the third is everything else, not a model.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ml4t.errors import ConfigError
from ml4t.result import Result

__all__ = ["Comparison", "compare"]

METRICS = (
    "total_return",
    "annual_return",
    "annual_volatility",
    "sharpe_ratio",
    "sortino_ratio",
    "calmar_ratio",
    "max_drawdown",
    "var",
    "cvar",
    "trade_count",
    "win_rate",
    "profit_factor",
    "expectancy",
    "exposure",
    "turnover",
    "final_equity",
)


@dataclass(frozen=True)
class Comparison:
    """``table``: one row per metric (``a``, ``b``, ``difference``); ``attribution``: the final-equity
    difference by cause; ``orders``: order outcomes of both runs."""

    labels: tuple[str, str]
    table: pl.DataFrame
    attribution: pl.DataFrame
    orders: pl.DataFrame

    def __str__(self) -> str:
        a, b = self.labels
        with pl.Config(tbl_rows=40, tbl_hide_dataframe_shape=True, fmt_str_lengths=60, tbl_width_chars=120):
            return (
                f"reality gap: {a} -> {b}\n{self.table}\n"
                f"final equity difference by cause:\n{self.attribution}\norders:\n{self.orders}"
            )


def _label(result: Result, default: str) -> str:
    meta = result.meta
    mode = meta.get("mode")
    if mode == "event" and meta.get("promotion"):
        return f"event ({meta['promotion']})"
    return str(mode) if mode else default


def compare(a: Result, b: Result, *, labels: tuple[str, str] | None = None) -> Comparison:
    """Compare run ``a`` (e.g. the vectorized idea) with run ``b`` (e.g. its event-driven promotion)."""
    for name, result in (("a", a), ("b", b)):
        if not isinstance(result, Result):
            raise ConfigError(f"{name} must be an ml4t.Result, got {type(result).__name__}", argument=name)
    if labels is not None and not (
        isinstance(labels, (tuple, list)) and len(labels) == 2 and all(isinstance(x, str) for x in labels)
    ):
        raise ConfigError(f"labels must be two strings, got {labels!r}", argument="labels")
    names = labels or (_label(a, "a"), _label(b, "b"))
    if names[0] == names[1]:
        names = (f"{names[0]} (a)", f"{names[1]} (b)")
    ma, mb = a.metrics, b.metrics
    rows = []
    for metric in METRICS:
        va, vb = float(ma[metric][0]), float(mb[metric][0])
        rows.append((metric, va, vb, vb - va))
    table = pl.DataFrame(rows, schema=["metric", names[0], names[1], "difference"], orient="row")

    def total(result: Result, column: str) -> float:
        return float(result.fills[column].sum()) if result.fills.height else 0.0

    final_a = float(a.equity["equity"][-1]) if a.equity.height else a.init_cash
    final_b = float(b.equity["equity"][-1]) if b.equity.height else b.init_cash
    gap = (final_b - b.init_cash) - (final_a - a.init_cash)  # in P&L, so different starting cash compare too
    commission = -(total(b, "fee") - total(a, "fee")) + 0.0  # + 0.0: no negative zero in the table
    slippage = -(total(b, "slippage") - total(a, "slippage")) + 0.0
    attribution = pl.DataFrame(
        {
            "cause": ["commission", "slippage", "fill timing, partial fills and rejections", "total (P&L)"],
            "amount": [commission, slippage, gap - commission - slippage, gap],
        }
    )

    def outcomes(result: Result) -> dict[str, int]:
        counts = dict(result.orders.group_by("status").len().iter_rows())
        return {s: int(counts.get(s, 0)) for s in ("filled", "partially_filled", "rejected", "cancelled", "open")}

    oa, ob = outcomes(a), outcomes(b)
    orders = pl.DataFrame(
        {
            "status": list(oa),
            names[0]: list(oa.values()),
            names[1]: list(ob.values()),
        }
    )
    return Comparison(labels=names, table=table, attribution=attribution, orders=orders)

"""``ml4t.compare``: the reality gap between two runs of one idea, metric by metric, trade by trade, with the
part of the difference in final equity that each cause explains.

>>> gap = ml4t.compare(vectorized_result, event_result)   # doctest: +SKIP
>>> print(gap)                                            # doctest: +SKIP

Trade-level match: the round trips of the two runs (``Result.trades``) are paired by symbol and direction when
their entries are at most one bar apart and their exits too (a trade still open at the end counts as exiting
one bar after the last, so it pairs with one closed on the last bar). Each trade of ``a`` takes the nearest
free trade of ``b`` (entry and exit distance in bars; ties to the earlier). ``Comparison.trades`` lists every
pair and every unmatched trade: the entries and exits that differ.

Attribution of the final-equity difference ``b - a`` (account currency), from the ``Result`` frames only:

* ``commission``: ``-(fees_b - fees_a)``, the fills' fees;
* ``slippage``: ``-(slippage_b - slippage_a)``, the fills' slippage cost;
* ``dividends``: ``dividends_b - dividends_a``, the cash the runs' positions received (``meta["dividends"]``
  of an event run; 0 when absent);
* ``different trades``: the P&L before costs (``pnl + fees + slippage``) of the trades only ``b`` took minus
  that of the trades only ``a`` took; their costs are in the two rows above;
* ``matched trades: timing, prices and sizes``: the rest: paired trades at other prices, a bar apart or in
  other sizes (next open instead of close, volume caps, a different account size after different trades).

The first three are exact accounting identities of the two runs, the fourth is exact given the match, the
fifth is everything else, not a model. A trade's slippage is its fills' slippage allocated like its fees (pro rata
to quantity, ``ml4t._roundtrips``).

Per symbol (``Comparison.symbols``, what a portfolio's gap is made of), from the runs' ``Result.weights`` (a
symbol's ``position_value`` over the bar's equity; null before its listing, and nulls are left out): over the
bars both runs have, ``mean_abs_weight_difference`` and ``max_abs_weight_difference`` of
``|weight_b - weight_a|``; per run ``mean_weight``, ``turnover`` (the symbol's traded value,
``sum(quantity * fill_price)``, over the run's mean equity: how many times the average capital went through
that symbol, not annualized) and ``costs`` (its fills' fees plus slippage).
"""

from __future__ import annotations

import bisect
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ml4t._roundtrips import round_trips
from ml4t._time import TS_DTYPE
from ml4t.errors import ConfigError, DataError
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
    "avg_gross_exposure",
    "avg_net_exposure",
    "avg_n_positions",
    "rebalance_count",
    "avg_rebalance_turnover",
    "final_equity",
)


@dataclass(frozen=True)
class Comparison:
    """``table``: one row per metric (``a``, ``b``, ``difference``); ``attribution``: the final-equity
    difference by cause; ``orders``: order outcomes of both runs (with the entries a realistic promotion
    did not place, ``meta["skipped_entries"]``); ``trades``: the trade-level match, one row
    per pair or unmatched trade (``match`` is ``both``, ``only a`` or ``only b``; ``ts_entry_a``,
    ``ts_exit_a``, ``quantity_a``, ``pnl_a`` and the same for ``b``, null where that run has no trade),
    in time order; ``symbols``: one row per symbol of either run, how their weights, turnover and costs
    differ (see the module docstring); ``a`` and ``b``: the two Results compared (references, left out of
    the repr and of equality)."""

    labels: tuple[str, str]
    table: pl.DataFrame
    attribution: pl.DataFrame
    orders: pl.DataFrame
    trades: pl.DataFrame
    symbols: pl.DataFrame
    a: Result = field(repr=False, compare=False)
    b: Result = field(repr=False, compare=False)

    def plot(self, *, max_points: int | None = None) -> Any:
        """A plotly figure: both equity curves, their P&L difference (b - a) and a waterfall of the final
        P&L difference by cause (:attr:`attribution`); see :func:`ml4t.report.plot_comparison`."""
        from ml4t.report._compare import plot_comparison

        return plot_comparison(self, max_points=max_points)

    def report(self, path: str | os.PathLike[str], *, title: str | None = None, max_points: int | None = None) -> Path:
        """Write the comparison's one-file offline HTML report to ``path`` and return it; see
        :func:`ml4t.report.report_comparison`."""
        from ml4t.report._compare import report_comparison

        return report_comparison(self, path, title=title, max_points=max_points)

    def __str__(self) -> str:
        a, b = self.labels
        counts = self.trades["match"].value_counts()
        n = dict(counts.iter_rows())
        differ = self.trades.filter(pl.col("match") != "both")
        with pl.Config(tbl_rows=40, tbl_hide_dataframe_shape=True, fmt_str_lengths=60, tbl_width_chars=120):
            text = (
                f"reality gap: {a} -> {b}\n{self.table}\n"
                f"final equity difference by cause:\n{self.attribution}\norders:\n{self.orders}\n"
                f"per symbol:\n{self.symbols}\n"
                f"trades: {n.get('both', 0)} matched, {n.get('only a', 0)} only in {a}, "
                f"{n.get('only b', 0)} only in {b}"
            )
            if differ.height:
                shown = differ.head(20).drop("direction", "quantity_a", "quantity_b")
                more = f"\n... and {differ.height - 20} more (Comparison.trades)" if differ.height > 20 else ""
                text += f"; the trades that differ:\n{shown}{more}"
            return text


def _label(result: Result, default: str) -> str:
    meta = result.meta
    mode = meta.get("mode")
    if mode == "event" and meta.get("promotion"):
        return f"event ({meta['promotion']})"
    if mode == "live" and meta.get("broker"):
        return f"live ({meta['broker']})"  # e.g. "live (paper)" against "live (simulated)"
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
    dividends = float(b.meta.get("dividends", 0.0)) - float(a.meta.get("dividends", 0.0)) + 0.0
    trades = match_trades(a, b)
    gross = pl.col("pnl") + pl.col("fees") + pl.col("slippage")
    only = trades.group_by("match").agg(gross.sum()).filter(pl.col("match") != "both")
    gross_only = dict(only.iter_rows())
    different = gross_only.get("only b", 0.0) - gross_only.get("only a", 0.0) + 0.0
    attribution = pl.DataFrame(
        {
            "cause": [
                "commission",
                "slippage",
                "dividends",
                "different trades",
                "matched trades: timing, prices and sizes",
                "total (P&L)",
            ],
            "amount": [
                commission,
                slippage,
                dividends,
                different,
                gap - commission - slippage - dividends - different + 0.0,
                gap,
            ],
        }
    )

    def outcomes(result: Result) -> dict[str, int]:
        counts = dict(result.orders.group_by("status").len().iter_rows())
        out = {s: int(counts.get(s, 0)) for s in ("filled", "partially_filled", "rejected", "cancelled", "open")}
        skipped = result.meta.get("skipped_entries")  # a realistic promotion's entries not placed (dust)
        out["skipped (not placed)"] = skipped.height if isinstance(skipped, pl.DataFrame) else 0
        return out

    oa, ob = outcomes(a), outcomes(b)
    orders = pl.DataFrame(
        {
            "status": list(oa),
            names[0]: list(oa.values()),
            names[1]: list(ob.values()),
        }
    )
    return Comparison(
        labels=names,
        table=table,
        attribution=attribution,
        orders=orders,
        trades=_listing(trades),
        symbols=per_symbol(a, b),
        a=a,
        b=b,
    )


def _activity(result: Result, side: str) -> pl.DataFrame:
    """Per symbol: the mean weight, the traded value over the mean equity, and the fills' costs."""
    mean_equity = float(result.equity.select(pl.col("equity").mean()).item() or 0.0)
    traded = result.fills.group_by("symbol").agg(
        (pl.col("quantity") * pl.col("fill_price")).sum().alias("traded"),
        (pl.col("fee") + pl.col("slippage")).sum().alias(f"costs_{side}"),
    )
    turnover = pl.col("traded") / mean_equity if mean_equity > 0 else pl.lit(float("nan"))
    weights = result.weights.group_by("symbol").agg(pl.col("weight").mean().alias(f"mean_weight_{side}"))
    return (
        weights.join(traded, on="symbol", how="full", coalesce=True)
        .with_columns(turnover.fill_null(0.0).alias(f"turnover_{side}"), pl.col(f"costs_{side}").fill_null(0.0))
        .drop("traded")
    )


def per_symbol(a: Result, b: Result) -> pl.DataFrame:
    """``Comparison.symbols``: one row per symbol of either run, sorted by symbol (see the module docstring)."""
    wa, wb = a.weights, b.weights
    diff = (
        wa.join(wb, on=["ts_event", "symbol"], how="inner", suffix="_b")
        .group_by("symbol")
        .agg(
            (pl.col("weight_b") - pl.col("weight")).abs().mean().alias("mean_abs_weight_difference"),
            (pl.col("weight_b") - pl.col("weight")).abs().max().alias("max_abs_weight_difference"),
        )
    )
    symbols = pl.concat([wa.select("symbol"), wb.select("symbol")]).unique()
    columns = ["mean_weight", "turnover", "costs"]
    return (
        symbols.join(diff, on="symbol", how="left")
        .join(_activity(a, "a"), on="symbol", how="left")
        .join(_activity(b, "b"), on="symbol", how="left")
        .select(
            "symbol",
            "mean_abs_weight_difference",
            "max_abs_weight_difference",
            *(f"{c}_{side}" for c in columns for side in _SIDES),
        )
        .sort("symbol")
    )


_SIDES = ("a", "b")


def _costed_trades(result: Result, name: str) -> pl.DataFrame:
    """``result.trades`` with each trade's slippage (its fills' slippage allocated as the fees are)."""
    trades = result.trades
    if result.fills.height == 0:
        return trades.with_columns(pl.lit(0.0).alias("slippage"))
    marks = dict.fromkeys(result.fills["symbol"].unique().to_list(), 0.0)
    splits = result.meta.get("splits")  # an event run's splits: they rescale positions and resting orders
    costs = round_trips(result.fills.with_columns(pl.col("slippage").alias("fee")), marks, splits=splits)
    key = ["symbol", "direction", "ts_entry", "ts_exit"]
    if costs.select(key).rows() != trades.select(key).rows():
        raise DataError(f"Result.trades of {name} are not the round trips of its fills", argument=name)
    return trades.with_columns(costs["fees"].alias("slippage"))


def match_trades(a: Result, b: Result) -> pl.DataFrame:
    """The trade-level match of ``a`` and ``b`` (see the module docstring): one row per trade of either run,
    with ``match``, ``pair`` (a pair's id; unmatched trades have their own) and the trade's columns."""
    bar_ts = np.unique(
        np.concatenate([r.equity["ts_event"].cast(pl.Int64).to_numpy() for r in (a, b)]).astype(np.int64)
    )
    end = len(bar_ts)  # an open trade exits "one bar after the last"

    def bars_of(trades: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        entry = np.searchsorted(bar_ts, trades["ts_entry"].cast(pl.Int64).to_numpy())
        exits = trades["ts_exit"].cast(pl.Int64)
        exit_ = np.where(exits.is_null().to_numpy(), end, np.searchsorted(bar_ts, exits.fill_null(0).to_numpy()))
        return entry, exit_

    ta, tb = _costed_trades(a, "a"), _costed_trades(b, "b")
    (ea, xa), (eb, xb) = bars_of(ta), bars_of(tb)
    # b's trades by (symbol, direction), sorted by entry bar, for a window search
    free: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for j, key in enumerate(zip(tb["symbol"].to_list(), tb["direction"].to_list(), strict=True)):
        free.setdefault(key, []).append((int(eb[j]), j))
    for candidates in free.values():
        candidates.sort()
    pair_a = np.full(ta.height, -1, dtype=np.int64)
    pair_b = np.full(tb.height, -1, dtype=np.int64)
    order = np.lexsort((xa, ea))
    keys = list(zip(ta["symbol"].to_list(), ta["direction"].to_list(), strict=True))
    for i in order.tolist():
        candidates = free.get(keys[i], [])
        lo = bisect.bisect_left(candidates, (int(ea[i]) - 1, -1))
        best: tuple[int, int, int] | None = None  # (distance, entry bar, position in candidates)
        for k in range(lo, len(candidates)):
            entry, j = candidates[k]
            if entry > ea[i] + 1:
                break
            if abs(int(xb[j]) - int(xa[i])) <= 1:
                distance = abs(entry - int(ea[i])) + abs(int(xb[j]) - int(xa[i]))
                if best is None or (distance, entry) < best[:2]:
                    best = (distance, entry, k)
        if best is not None:
            j = candidates.pop(best[2])[1]
            pair_a[i], pair_b[j] = i, i
    unmatched_b = pair_b < 0
    pair_b[unmatched_b] = ta.height + np.flatnonzero(unmatched_b)
    pair_a[pair_a < 0] = np.flatnonzero(pair_a < 0)
    columns = ["symbol", "direction", "ts_entry", "ts_exit", "quantity", "pnl", "fees", "slippage"]
    both = set(pair_a.tolist()) & set(pair_b.tolist())
    rows = []
    for side, trades, pairs in (("a", ta, pair_a), ("b", tb, pair_b)):
        rows.append(
            trades.select(columns).with_columns(
                pl.Series("pair", pairs, dtype=pl.Int64),
                pl.lit(side).alias("side"),
                pl.Series("match", ["both" if p in both else f"only {side}" for p in pairs.tolist()], dtype=pl.String),
            )
        )
    return pl.concat(rows)


def _listing(matched: pl.DataFrame) -> pl.DataFrame:
    """One row per pair or unmatched trade, in time order, with each run's side beside the other's."""
    fields = ["ts_entry", "ts_exit", "quantity", "pnl"]
    sides = []
    for side in _SIDES:
        part = matched.filter(pl.col("side") == side).select(
            "pair", "symbol", "direction", "match", *(pl.col(f).alias(f"{f}_{side}") for f in fields)
        )
        sides.append(part)
    listing = sides[0].join(sides[1], on=["pair", "symbol", "direction", "match"], how="full", coalesce=True)
    first = pl.coalesce("ts_entry_a", "ts_entry_b")
    ordered = listing.sort(first, "symbol", "pair", nulls_last=True)
    schema = {"ts_entry_a": TS_DTYPE, "ts_exit_a": TS_DTYPE, "ts_entry_b": TS_DTYPE, "ts_exit_b": TS_DTYPE}
    return ordered.select("symbol", "direction", "match", *(f"{f}_{side}" for side in _SIDES for f in fields)).cast(
        pl.Schema(schema)
    )

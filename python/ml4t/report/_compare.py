"""The reality gap seen: ``Comparison.plot()`` and ``Comparison.report(path)`` (issue #14).

The figure: both runs' equity curves, the difference of their P&L (``(equity_b - init_cash_b) - (equity_a -
init_cash_a)`` on the bars both runs have, so it ends at the attribution's total), and a waterfall of the
final P&L difference by cause (``Comparison.attribution``: each cause a step, the total a bar from zero; the
steps sum to the total by construction of the attribution). Long curves are downsampled for display with
min/max buckets (:func:`ml4t.report.minmax_indices`); the Results keep every bar.

This module reads a comparison through its public fields only (``a``, ``b``, ``labels``, ``table``,
``attribution``, ``orders``, ``trades``, ``symbols``), so it imports nothing of ``ml4t.compare``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import polars as pl

from ml4t.errors import ConfigError
from ml4t.report._downsample import DEFAULT_MAX_POINTS, downsampled
from ml4t.report._page import Html
from ml4t.report._sections import max_points_or_default

__all__ = ["equity_traces", "plot_comparison", "pnl_difference", "report_comparison", "run_headers", "waterfall_trace"]

_COLOURS = ("#1f77b4", "#d62728")


def pnl_difference(comparison: Any) -> pl.DataFrame:
    """``ts_event`` and ``difference``: run b's P&L minus run a's on the bars both runs have."""
    a, b = comparison.a, comparison.b
    left: pl.DataFrame = a.equity.select("ts_event", (pl.col("equity") - a.init_cash).alias("pnl_a"))
    right = b.equity.select("ts_event", (pl.col("equity") - b.init_cash).alias("pnl_b"))
    both = left.join(right, on="ts_event", how="inner").sort("ts_event")
    return both.select("ts_event", (pl.col("pnl_b") - pl.col("pnl_a")).alias("difference"))


def equity_traces(comparison: Any, max_points: int = DEFAULT_MAX_POINTS) -> tuple[list[Any], list[Any]]:
    """The two equity curves, and the P&L difference (b - a), as plotly traces (downsampled)."""
    import plotly.graph_objects as go

    curves = []
    for result, label, colour in zip((comparison.a, comparison.b), comparison.labels, _COLOURS, strict=True):
        x, y = downsampled(result.equity["ts_event"], result.equity["equity"].to_numpy(), max_points)
        curves.append(go.Scatter(x=x, y=y, mode="lines", name=f"equity: {label}", line={"color": colour}))
    diff = pnl_difference(comparison)
    x, y = downsampled(diff["ts_event"], diff["difference"].to_numpy(), max_points)
    a, b = comparison.labels
    gap = go.Scatter(
        x=x, y=y, mode="lines", name=f"P&L difference: {b} - {a}", line={"color": "#52606d"}, fill="tozeroy"
    )
    return curves, [gap]


def waterfall_trace(comparison: Any) -> Any:
    """The attribution as a waterfall: one relative step per cause, then the total."""
    import plotly.graph_objects as go

    causes = comparison.attribution["cause"].to_list()
    amounts = comparison.attribution["amount"].to_list()
    measure = ["relative"] * (len(causes) - 1) + ["total"]
    return go.Waterfall(
        x=causes,
        y=amounts,
        measure=measure,
        name="final P&L difference by cause",
        text=[f"{v:+,.2f}" for v in amounts],
        textposition="outside",
        connector={"line": {"color": "#9fb3c8"}},
        hovertemplate="%{x}: %{y:,.2f}<extra></extra>",
    )


def plot_comparison(comparison: Any, *, max_points: int | None = None) -> Any:
    """Three panels: both equity curves, their P&L difference (b - a), and the waterfall of the final P&L
    difference by cause (see the module docstring)."""
    from plotly.subplots import make_subplots

    a, b = comparison.labels
    fig = make_subplots(
        rows=3,
        cols=1,
        vertical_spacing=0.09,
        row_heights=[0.42, 0.23, 0.35],
        subplot_titles=("equity", f"P&L difference ({b} - {a})", "final P&L difference by cause"),
    )
    curves, gap = equity_traces(comparison, max_points_or_default(max_points))
    for trace in curves:
        fig.add_trace(trace, row=1, col=1)
    fig.add_trace(gap[0], row=2, col=1)
    fig.add_trace(waterfall_trace(comparison), row=3, col=1)
    fig.update_xaxes(matches="x", row=2, col=1)
    fig.update_layout(
        height=900, title=f"reality gap: {a} -> {b}", legend={"orientation": "h", "y": 1.06}, margin={"t": 90}
    )
    return fig


def run_headers(comparison: Any) -> pl.DataFrame:
    """The two runs side by side: one row per item of either run's header (the single-run report's
    :func:`~ml4t.report._sections.run_header`: mode, strategy, params, every setting, data fingerprint,
    span, bars, starting cash), in order of first appearance, one column per run (empty where a run has
    no such item)."""
    from ml4t.report._sections import run_header

    headers = [run_header(comparison.a), run_header(comparison.b)]
    items = list(dict.fromkeys(k for h in headers for k in h))
    a, b = comparison.labels

    def text(value: Any) -> str:
        if value is None:
            return ""
        return f"{value:.6g}" if isinstance(value, float) else str(value)

    return pl.DataFrame(
        {"item": items, a: [text(headers[0].get(k)) for k in items], b: [text(headers[1].get(k)) for k in items]}
    )


def report_comparison(
    comparison: Any, path: str | os.PathLike[str], *, title: str | None = None, max_points: int | None = None
) -> Path:
    """Write the comparison's one-file report to ``path`` and return the path. Sections, in order: the two
    runs (settings and data fingerprints side by side), the metric table, the final P&L difference by cause
    (waterfall and table), the equity curves and their P&L difference, order outcomes, per-symbol gaps, the
    trades (those that differ, then the matched pairs) and, when either run has them, a realistic
    promotion's skipped entries."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from ml4t.report._page import Page

    target = Path(path)
    if not target.parent.is_dir():
        raise ConfigError(f"the report's directory {str(target.parent)!r} does not exist", argument="path")
    a, b = comparison.labels
    page = Page(title or f"Reality gap: {a} -> {b}", "ml4t.compare: metric by metric, cause by cause, trade by trade")
    page.section("The two runs", run_headers(comparison))
    page.section("Metrics", comparison.table)
    fall = go.Figure(waterfall_trace(comparison))
    fall.update_layout(height=420, title=f"final P&L difference ({b} - {a}) by cause", showlegend=False)
    page.section(
        "Final P&L difference by cause",
        fall,
        comparison.attribution,
        note="commission, slippage and dividends are exact accounting differences; different trades is the P&L "
        "before costs of the trades only one run took; the rest (matched trades at other prices, times or "
        "sizes) is what remains. The steps sum to the total.",
    )
    curves, gap = equity_traces(comparison, max_points_or_default(max_points))
    lines = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.65, 0.35], vertical_spacing=0.06)
    for trace in curves:
        lines.add_trace(trace, row=1, col=1)
    lines.add_trace(gap[0], row=2, col=1)
    lines.update_yaxes(title_text="equity", row=1, col=1)
    lines.update_yaxes(title_text=f"{b} - {a}", row=2, col=1)
    lines.update_layout(height=560, legend={"orientation": "h", "y": 1.08})
    page.section("Equity curves", lines, note="Downsampled for display (min/max buckets); the Results keep every bar.")
    page.section("Order outcomes", comparison.orders)
    page.section("Per symbol", comparison.symbols)
    trades = comparison.trades
    counts = dict(trades["match"].value_counts().iter_rows()) if trades.height else {}
    summary = (
        f"{counts.get('both', 0):,} trades matched, {counts.get('only a', 0):,} only in {a}, "
        f"{counts.get('only b', 0):,} only in {b} (paired by symbol and direction when entries and exits are at "
        "most one bar apart)."
    )
    differ = trades.filter(pl.col("match") != "both")
    matched = trades.filter(pl.col("match") == "both")
    page.section(
        "Trades",
        summary,
        Html("<h3>Trades that differ</h3>"),
        differ if differ.height else "None: every trade of each run has its pair in the other.",
        Html("<h3>Matched trades</h3>"),
        matched if matched.height else "None.",
    )
    for result, label in ((comparison.a, a), (comparison.b, b)):
        skipped = result.meta.get("skipped_entries")
        if isinstance(skipped, pl.DataFrame) and skipped.height:
            page.section(
                f"Skipped entries: {label}",
                skipped,
                note="Entries the realistic promotion did not place (the order would have been dust).",
            )
    return page.write(target)

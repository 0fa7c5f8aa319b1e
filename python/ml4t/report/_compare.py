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

import numpy as np
import polars as pl

from ml4t.report._downsample import DEFAULT_MAX_POINTS, minmax_indices

__all__ = ["equity_traces", "plot_comparison", "report_comparison", "waterfall_trace"]

_COLOURS = ("#1f77b4", "#d62728")


def _downsampled(ts: pl.Series, values: np.ndarray, max_points: int) -> tuple[list[Any], np.ndarray]:
    keep = minmax_indices(values, max_points)
    return ts.gather(keep).to_list(), values[keep]


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
        x, y = _downsampled(result.equity["ts_event"], result.equity["equity"].to_numpy(), max_points)
        curves.append(go.Scatter(x=x, y=y, mode="lines", name=f"equity: {label}", line={"color": colour}))
    diff = pnl_difference(comparison)
    x, y = _downsampled(diff["ts_event"], diff["difference"].to_numpy(), max_points)
    a, b = comparison.labels
    gap = go.Scatter(
        x=x, y=y, mode="lines", name=f"P&L difference: {b} - {a}", line={"color": "#2ca02c"}, fill="tozeroy"
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
    curves, gap = equity_traces(comparison, max_points or DEFAULT_MAX_POINTS)
    for trace in curves:
        fig.add_trace(trace, row=1, col=1)
    fig.add_trace(gap[0], row=2, col=1)
    fig.add_trace(waterfall_trace(comparison), row=3, col=1)
    fig.update_xaxes(matches="x", row=2, col=1)
    fig.update_layout(
        height=900, title=f"reality gap: {a} -> {b}", legend={"orientation": "h", "y": 1.06}, margin={"t": 90}
    )
    return fig


def report_comparison(comparison: Any, path: str | os.PathLike[str], **kwargs: Any) -> Path:
    raise NotImplementedError

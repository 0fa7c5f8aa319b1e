"""A sweep seen whole: the heatmap of a metric over two parameters, the stability of each cell's
neighbourhood, and the one-file sweep report (``Sweep.heatmap``, ``Sweep.heatmap_data``, ``Sweep.report``).

The heatmap's rule (:func:`heatmap_data`): one cell per pair of values of the parameters ``x`` and ``y``;
its value is ``agg`` (median, mean, max or min) of the metric over the sweep's rows of ``scope`` with those
two values: every combination of the other parameters (and every symbol, for ``scope="symbol"``). A row whose
metric is NaN (e.g. a Sharpe ratio without a trade) is left out of the aggregate (``n_rows`` counts the
rows aggregated) and counted in ``n_nan``; a cell none of whose rows has a number is NaN, never 0 (and has
no neighbourhood statistics). Each cell's neighbourhood is the cell and its grid
neighbours (3 x 3 in grid-index space, cut at the grid's edges); ``neighbourhood_mean``, ``_min``, ``_max``
and ``_std`` (population, ddof=0) are over the neighbourhood's cells that have a number
(``neighbourhood_n`` of them), and NaN for a NaN cell: a parameter set whose neighbours are as good as it is
sits on a plateau, one whose neighbours are bad is a spike (likely luck). The best cell has the best value;
the most robust cell the best worst neighbour (highest ``neighbourhood_min``, or lowest
``neighbourhood_max`` when lower is better); ties go to the first cell in grid order.

Axis values are in grid order: numbers sorted, anything else (strings, booleans) in the order the grid gave
them. ``y=None`` gives a line over ``x`` (the same rule, neighbourhoods of 3), which is also what a sweep of
a single parameter draws.

This module reads a sweep through its public attributes only (``grid``, ``metrics``, ``best``,
``overfitting``, ``result``, ``strategy``, ``bars``), so it imports nothing of ``ml4t.vectorized``.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ml4t._validate import check_int
from ml4t.errors import ConfigError

__all__ = ["AGGREGATES", "STAT_COLUMNS", "heatmap_data", "plot_heatmap", "report_sweep"]

AGGREGATES = ("median", "mean", "max", "min")
_SCOPES = ("portfolio", "symbol")
_DSR = "deflated_sharpe"
_NOT_METRICS = ("scope", "symbol")
STAT_COLUMNS = (
    "n_rows",
    "n_nan",
    "neighbourhood_mean",
    "neighbourhood_min",
    "neighbourhood_max",
    "neighbourhood_std",
    "neighbourhood_n",
)
"""The columns of :func:`heatmap_data` after the parameters and the metric."""


def _close(name: Any, choices: list[str]) -> str:
    match = difflib.get_close_matches(str(name), choices, n=1) if isinstance(name, str) else []
    return f"; did you mean {match[0]!r}?" if match else ""


def _check_param(sweep: Any, argument: str, name: Any) -> None:
    params = list(sweep.grid.names)
    if not isinstance(name, str) or name not in params:
        raise ConfigError(
            f"{argument}={name!r} is not a parameter of the sweep; its parameters are {params}{_close(name, params)}",
            argument=argument,
        )


def metric_names(sweep: Any) -> list[str]:
    """The metrics a heatmap can show: the numeric columns of ``sweep.metrics`` and ``deflated_sharpe``."""
    skip = {*sweep.grid.names, *_NOT_METRICS}
    names = [c for c, t in sweep.metrics.schema.items() if c not in skip and t.is_numeric()]
    return [*names, _DSR]


def _check_metric(sweep: Any, metric: Any) -> None:
    names = metric_names(sweep)
    if not isinstance(metric, str) or metric not in names:
        raise ConfigError(f"unknown metric {metric!r}; available: {names}{_close(metric, names)}", argument="metric")


def axis_values(sweep: Any, name: str) -> list[Any]:
    """The values of parameter ``name`` in grid order: numbers sorted, other values as the grid gave them."""
    k = list(sweep.grid.names).index(name)
    values = list(dict.fromkeys(c[k] for c in sweep.grid.combos))
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return sorted(values)
    return values


def _scope_rows(sweep: Any, metric: str, scope: str) -> pl.DataFrame:
    """The parameters and ``metric`` (Float64, NaN for null) of the sweep's rows of ``scope``."""
    if scope not in _SCOPES:
        raise ConfigError(f"scope must be one of {list(_SCOPES)}, got {scope!r}", argument="scope")
    rows: pl.DataFrame = sweep.metrics.filter(pl.col("scope") == scope) if sweep.metrics.height else sweep.metrics
    if rows.height == 0:
        raise ConfigError(
            f"the sweep has no {scope!r} rows (symbols have rows of their own only without cash sharing and "
            "with several symbols)",
            argument="scope",
        )
    if metric == _DSR:
        rows = rows.with_columns(pl.Series(_DSR, sweep.overfitting(scope).dsr, dtype=pl.Float64))
    return rows.select(*sweep.grid.names, pl.col(metric).cast(pl.Float64).fill_null(float("nan")))


def _neighbourhoods(z: np.ndarray) -> dict[str, np.ndarray]:
    """Per cell of the 2-D grid ``z`` (NaN: no number): the stats of its 3 x 3 neighbourhood's numbers."""
    ny, nx = z.shape
    padded = np.full((ny + 2, nx + 2), np.nan)
    padded[1:-1, 1:-1] = z
    stack = np.stack([padded[dy : dy + ny, dx : dx + nx] for dy in range(3) for dx in range(3)])
    has = ~np.isnan(stack)
    count = has.sum(axis=0)
    own = ~np.isnan(z)  # a NaN cell has no neighbourhood statistics; it has at least itself otherwise
    safe = np.maximum(count, 1)
    with np.errstate(invalid="ignore"):  # inf - inf in a neighbourhood's spread is NaN, said as is
        mean = np.where(has, stack, 0.0).sum(axis=0) / safe
        low = np.where(has, stack, np.inf).min(axis=0)
        high = np.where(has, stack, -np.inf).max(axis=0)
        std = np.sqrt(np.where(has, (stack - mean) ** 2, 0.0).sum(axis=0) / safe)
    nan = np.nan
    return {
        "neighbourhood_mean": np.where(own, mean, nan),
        "neighbourhood_min": np.where(own, low, nan),
        "neighbourhood_max": np.where(own, high, nan),
        "neighbourhood_std": np.where(own, std, nan),
        "neighbourhood_n": np.where(own, count, 0),
    }


def heatmap_data(
    sweep: Any,
    x: str,
    y: str | None = None,
    metric: str = "sharpe_ratio",
    *,
    agg: str = "median",
    scope: str = "portfolio",
) -> pl.DataFrame:
    """One row per cell (see the module docstring), ``x`` values outer, ``y`` inner, in grid order: the
    ``x`` and ``y`` values, the aggregate (a column named after ``metric``), ``n_rows`` (rows aggregated),
    ``n_nan`` (rows left out for a NaN metric), ``neighbourhood_mean``, ``neighbourhood_min``,
    ``neighbourhood_max``, ``neighbourhood_std`` and ``neighbourhood_n``. Without ``y``, one row per ``x``
    value."""
    _check_param(sweep, "x", x)
    if y is not None:
        _check_param(sweep, "y", y)
        if x == y:
            raise ConfigError(f"x and y are both {x!r}; give two different parameters", argument="y")
    for name in (x, y):
        if name in STAT_COLUMNS:
            raise ConfigError(
                f"parameter {name!r} has the name of a column of the heatmap's data {list(STAT_COLUMNS)}; rename it",
                argument="x" if name == x else "y",
            )
    _check_metric(sweep, metric)
    if agg not in AGGREGATES:
        raise ConfigError(
            f"agg must be one of {list(AGGREGATES)}, got {agg!r}{_close(agg, list(AGGREGATES))}", argument="agg"
        )
    rows = _scope_rows(sweep, metric, scope)
    xs = axis_values(sweep, x)
    ys = axis_values(sweep, y) if y is not None else [None]
    keys = [x] if y is None else [x, y]
    value = pl.col(metric).fill_nan(None)
    cells = rows.group_by(keys).agg(
        getattr(value, agg)().alias("value"),
        value.count().alias("n_rows"),
        pl.col(metric).is_nan().sum().alias("n_nan"),
    )
    z = np.full((len(ys), len(xs)), np.nan)
    n_rows = np.zeros((len(ys), len(xs)), dtype=np.int64)
    n_nan = np.zeros_like(n_rows)
    x_at = {v: i for i, v in enumerate(xs)}
    y_at = {v: j for j, v in enumerate(ys)}
    for cell in cells.iter_rows(named=True):
        i, j = x_at[cell[x]], y_at[cell[y]] if y is not None else 0
        z[j, i] = np.nan if cell["value"] is None else cell["value"]
        n_rows[j, i], n_nan[j, i] = cell["n_rows"], cell["n_nan"]
    stats = _neighbourhoods(z)
    columns: dict[str, Any] = {x: pl.Series(x, [v for v in xs for _ in ys])}
    if y is not None:
        columns[y] = pl.Series(y, ys * len(xs))
    flat = {"value": z, "n_rows": n_rows, "n_nan": n_nan, **stats}
    for name, grid in flat.items():
        columns[metric if name == "value" else name] = grid.T.reshape(-1)
    frame = pl.DataFrame(columns)
    return frame.with_columns(pl.col(c).cast(pl.Int64) for c in ("n_rows", "n_nan", "neighbourhood_n"))


def marked_cells(data: pl.DataFrame, metric: str, *, descending: bool = True) -> tuple[int | None, int | None]:
    """The rows of ``data`` (a :func:`heatmap_data` frame) of the best cell and of the most robust cell
    (see the module docstring); None when no cell has a number."""

    def first(values: np.ndarray, highest: bool) -> int | None:
        has = ~np.isnan(values)
        if not has.any():
            return None
        return int(np.argmax(np.where(has, values, -np.inf)) if highest else np.argmin(np.where(has, values, np.inf)))

    best = first(data[metric].to_numpy(), descending)
    worst = "neighbourhood_min" if descending else "neighbourhood_max"
    return best, first(data[worst].to_numpy(), descending)


def _hover(x: str, y: str | None, metric: str, agg: str) -> str:
    """The hover of a cell; its ``customdata`` is the cell's row of ``[metric, *STAT_COLUMNS]``."""
    where = f"{x}=%{{x}}" + (f"<br>{y}=%{{y}}" if y is not None else "")
    return (
        f"{where}<br>{metric} ({agg}): %{{customdata[0]:.4g}}<br>rows aggregated: %{{customdata[1]}}, "
        "with NaN: %{customdata[2]}<br>neighbourhood: mean %{customdata[3]:.4g}, min %{customdata[4]:.4g}, "
        "max %{customdata[5]:.4g}, std %{customdata[6]:.4g} over %{customdata[7]} cells<extra></extra>"
    )


def plot_heatmap(
    sweep: Any,
    x: str,
    y: str | None = None,
    metric: str = "sharpe_ratio",
    *,
    agg: str = "median",
    scope: str = "portfolio",
    descending: bool = True,
) -> Any:
    """The figure of :func:`heatmap_data`: the aggregate and, beside it, each cell's worst neighbour (the
    neighbourhood's min, or max when lower is better: ``descending=False``) on the same colour scale, with
    the best and the most robust cell marked on both and every number in the hover. Without ``y``: both as
    lines over ``x``."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    data = heatmap_data(sweep, x, y, metric, agg=agg, scope=scope)
    worst = "neighbourhood_min" if descending else "neighbourhood_max"
    xs = axis_values(sweep, x)
    ys = axis_values(sweep, y) if y is not None else []
    custom = data.select(metric, *STAT_COLUMNS).to_numpy()
    hover = _hover(x, y, metric, agg)
    others = [p for p in sweep.grid.names if p not in (x, y)] + (["symbols"] if scope == "symbol" else [])
    over = f"{agg} over {', '.join(others)}" if others else "one row per cell"
    titles = (
        f"{metric} ({over})",
        f"worst of each {'3x3 ' if y is not None else ''}neighbourhood ({worst.removeprefix('neighbourhood_')}): "
        f"a plateau stays {'high' if descending else 'low'}",
    )
    fig = make_subplots(rows=1, cols=2, subplot_titles=titles, horizontal_spacing=0.1)
    values = data[metric].to_numpy()
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (None, None)
    for col, column in ((1, metric), (2, worst)):
        name = f"{metric} ({agg})" if col == 1 else worst
        if y is None:
            trace = go.Scatter(
                x=xs, y=data[column].to_numpy(), mode="lines+markers", name=name, customdata=custom, hovertemplate=hover
            )
        else:
            trace = go.Heatmap(
                x=xs,
                y=ys,
                z=data[column].to_numpy().reshape(len(xs), len(ys)).T,  # rows of the frame: x outer, y inner
                customdata=custom.reshape(len(xs), len(ys), -1).transpose(1, 0, 2),
                name=name,
                hovertemplate=hover,
                colorscale="RdYlGn" if descending else "RdYlGn_r",
                zmin=low,
                zmax=high,  # one colour scale for both panels: a plateau reads as the same colour
                showscale=col == 1,
                hoverongaps=False,
            )
        fig.add_trace(trace, row=1, col=col)
    best, robust = marked_cells(data, metric, descending=descending)
    # the robust mark is drawn first and larger, so a best cell that is also the most robust shows both
    for label, at, symbol, colour, size in (
        ("most robust cell", robust, "diamond", "royalblue", 20),
        ("best cell", best, "star", "black", 13),
    ):
        if at is None:
            continue
        cell = data.row(at, named=True)
        for col, column in ((1, metric), (2, worst)):
            fig.add_trace(
                go.Scatter(
                    x=[cell[x]],
                    y=[cell[y] if y is not None else cell[column]],
                    mode="markers",
                    name=label,
                    legendgroup=label,
                    showlegend=col == 1,
                    customdata=custom[at : at + 1],
                    hovertemplate=f"{label}<br>{hover}",
                    marker={"symbol": symbol, "size": size, "color": colour, "line": {"color": "white", "width": 1.5}},
                ),
                row=1,
                col=col,
            )
    for col in (1, 2):
        fig.update_xaxes(title_text=x, type="category", categoryorder="array", categoryarray=xs, row=1, col=col)
        if y is not None:
            fig.update_yaxes(title_text=y, type="category", categoryorder="array", categoryarray=ys, row=1, col=col)
    fig.update_layout(height=520, legend={"orientation": "h", "y": -0.15}, margin={"t": 60})
    return fig


def _grid_table(sweep: Any) -> pl.DataFrame:
    """One row per parameter: its number of values and the first of them, in grid order."""
    rows = []
    for name in sweep.grid.names:
        values = axis_values(sweep, name)
        shown = ", ".join(map(str, values[:8])) + (f", ... ({len(values) - 8} more)" if len(values) > 8 else "")
        rows.append((name, len(values), shown))
    return pl.DataFrame(rows, schema=["parameter", "values", "grid (in grid order)"], orient="row")


def _header(sweep: Any) -> dict[str, Any]:
    """What was swept: the strategy, the number of combinations and rows, the grid's sizes, the data."""
    fn = getattr(sweep.strategy, "signal_fn", None)
    name = getattr(fn, "__qualname__", None) or type(sweep.strategy).__name__
    return {
        "strategy": name,
        "combinations": len(sweep.grid.combos),
        "metrics rows": sweep.metrics.height,
        "grid": " x ".join(f"{p} ({len(axis_values(sweep, p))})" for p in sweep.grid.names),
        "data_fingerprint": sweep.bars.fingerprint(),
    }


def _overfitting(sweep: Any) -> tuple[Any, dict[str, Any], Any]:
    """The paragraph, the numbers and (when CSCV ran) the histogram of the logits."""
    import plotly.graph_objects as go

    fit = sweep.overfitting()
    numbers = {
        "trials N": fit.n_trials,
        "variance of the trials' Sharpe ratios V (per period)": fit.sharpe_variance,
        "Sharpe ratio the best of N skill-less trials shows (annualized)": fit.expected_max_sharpe_annualized,
        "best (by Sharpe ratio)": ", ".join(f"{k}={v!r}" for k, v in (fit.best or {}).items()) or "none",
        "its Sharpe ratio (annualized)": fit.sharpe_ratio,
        "its deflated Sharpe ratio": fit.deflated_sharpe,
        "probability of backtest overfitting (PBO)": fit.pbo,
        "CSCV splits": fit.n_combinations,
        "CSCV blocks of bars": fit.n_blocks,
    }
    figure = None
    if len(fit.logits):
        figure = go.Figure(go.Histogram(x=np.asarray(fit.logits), nbinsx=40, name="CSCV logits"))
        figure.add_vline(x=0.0, line={"color": "#b42318", "dash": "dash"})
        figure.update_layout(
            height=320,
            title="CSCV: logit of the in-sample best's out-of-sample rank (left of 0: at or below the median)",
            xaxis_title="logit",
            yaxis_title="splits",
        )
    return fit, numbers, figure


def _distribution(sweep: Any, metric: str) -> tuple[Any, str]:
    import plotly.graph_objects as go

    rows = _scope_rows(sweep, metric, "portfolio")[metric].to_numpy()
    has = ~np.isnan(rows)
    figure = go.Figure(go.Histogram(x=rows[has], nbinsx=60, name=metric))
    figure.update_layout(
        height=340,
        title=f"{metric} across the {rows.size:,} combinations",
        xaxis_title=metric,
        yaxis_title="combinations",
    )
    return figure, f"{int((~has).sum()):,} combinations have no {metric} (NaN, e.g. no trade) and are not drawn."


def report_sweep(
    sweep: Any,
    path: str | os.PathLike[str],
    *,
    metric: str = "sharpe_ratio",
    x: str | None = None,
    y: str | None = None,
    top: int = 20,
    audit: Any = None,
    descending: bool = True,
    title: str | None = None,
    max_points: int | None = None,
) -> Path:
    """Write the sweep's one-file report to ``path`` (see ``Sweep.report``) and return the path.

    Sections, in order: the sweep (strategy, combinations, grid, bars and their fingerprint), its settings,
    the ``top`` combinations by ``metric`` with ``deflated_sharpe`` and ``pbo``, the overfitting statistics
    (the paragraph, its numbers, the CSCV logits), the heatmap of ``metric`` over ``x`` and ``y`` (default:
    the first two parameters; a line for a sweep of one parameter), the distribution of ``metric`` across
    combinations, the best combination re-simulated (``Result.plot()``'s figure, downsampled to
    ``max_points``, and its metrics), and the lookahead audit's verdict when ``audit`` (an
    ``ml4t.audit.AuditReport``) is given. Best means highest unless ``descending=False`` (lower is better,
    e.g. ``annual_volatility``). The settings, data and audit sections are the single-run report's
    (:mod:`ml4t.report._sections`)."""
    from ml4t.report._page import Page
    from ml4t.report._result import plot_result
    from ml4t.report._sections import audit_section, max_points_or_default, metrics_table, run_header

    check_int("top", top, minimum=1)
    max_points_or_default(max_points)
    target = Path(path)
    if not target.parent.is_dir():
        raise ConfigError(f"the report's directory {str(target.parent)!r} does not exist", argument="path")
    if audit is True:
        best = sweep.best(metric, n=1, descending=descending).select(sweep.grid.names).to_dicts()
        raise ConfigError(
            "audit=True cannot run from here (ml4t.audit builds on ml4t.vectorized, which may not import it "
            "back); run the audit and pass its report: audit=ml4t.audit.lookahead(sweep.strategy, sweep.bars, "
            f"params={best[0] if best else {}!r})",
            argument="audit",
        )
    if audit is not None:
        audit_section(audit)  # checked before any work
    names = list(sweep.grid.names)
    if x is None:
        x = names[0]
    if y is None and x == names[0] and len(names) > 1:
        y = names[1]
    _check_metric(sweep, metric)
    ranked = sweep.best(metric, n=top, descending=descending).drop("scope", "symbol")
    heat = plot_heatmap(sweep, x, y, metric, descending=descending)
    best_row = ranked.row(0, named=True)
    params = {p: best_row[p] for p in names}
    result = sweep.result(**params)
    audit_items = (
        audit_section(audit, params=params, fingerprint=sweep.bars.fingerprint()) if audit is not None else None
    )
    header = _header(sweep)
    page = Page(
        title or f"Sweep report: {header['strategy']}",
        f"{len(sweep.grid.combos):,} combinations of {', '.join(names)}; ranked by {metric}; "
        f"data fingerprint {header['data_fingerprint']}",
    )
    page.section("Sweep", header, _grid_table(sweep))
    settings = {k: v for k, v in run_header(result).items() if k not in ("strategy", "params")}
    page.section("Settings and data", settings, note="Every combination ran with these settings on these bars.")
    page.section(
        f"Top {min(top, ranked.height)} combinations by {metric}",
        ranked,
        note="deflated_sharpe: the probability that a row's true Sharpe ratio beats the best of N skill-less "
        "trials; pbo: the sweep's probability of backtest overfitting (the same on every row).",
    )
    fit, numbers, logits = _overfitting(sweep)
    page.section("Overfitting", str(fit), numbers, *([logits] if logits is not None else []))
    page.section(
        f"Heatmap of {metric}" + (f" over {x} and {y}" if y is not None else f" over {x}"),
        heat,
        note="Each cell aggregates the combinations sharing its two values (the median unless asked otherwise); "
        "the right panel shows each cell's worst neighbour: a plateau stays good there, a lucky spike does not.",
    )
    distribution, missing = _distribution(sweep, metric)
    page.section(f"Distribution of {metric}", distribution, note=missing)
    label = ", ".join(f"{k}={v!r}" for k, v in params.items())
    page.section(
        f"Best combination by {metric}: {label}",
        plot_result(result, max_points=max_points, title=f"{header['strategy']}: {label}"),
        metrics_table(result),
        note="Re-simulated in full (sweep.result(...)); long series are min/max downsampled for display.",
    )
    if audit_items is not None:
        page.section("Lookahead audit", *audit_items)
    return page.write(target)

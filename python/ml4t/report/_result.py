"""The figure and the one-file report of a single run: ``result.plot()`` and ``result.report(path)``.

The figure (:func:`plot_result`) has rows sharing the time axis, top to bottom:

``price``     one symbol's price: candlesticks from ``result.bars`` when it has OHLC and at most
              ``max_points`` bars, else the close (min/max downsampled) inside a high/low band that keeps
              every bucket's highest high and lowest low; the mark (``positions["market_price"]``) when the
              Result has no bars. On it: that symbol's fills (buys as triangles up, sells as triangles down),
              the levels of its stop and limit orders (a segment from ``ts_submitted`` to ``ts_closed``, or
              the last bar while still open) and its orders that did not fill (rejected, cancelled, expired)
              and the engine's margin calls, as x markers whose hover gives the status, ``reason`` and
              ``reason_code``. Absent when the Result has no prices (``Result.from_equity``).
``equity``    the equity and the ``init_cash`` baseline.
``drawdown``  underwater, as a fraction of the running peak (``ml4t.metrics.drawdown_series``), filled.
``exposure``  one symbol: its weight; a portfolio: per-symbol weights stacked (the ten largest by mean
              absolute weight, the rest summed as ``other``, so the stack's top is the net exposure) with the
              gross and net exposure lines. Absent when the Result has no positions.

Every line over bars is min/max downsampled (:func:`ml4t.report.minmax_indices`) to ``max_points``; the
stacked weights are drawn at the points kept of the net and gross lines. Markers are never dropped
silently: a kind with more than ``max_points`` markers shows an evenly spaced ``max_points`` of them and
its legend entry and the title say "n of m shown". Each trace's ``meta`` is ``{"role": ..., ...}``: the
stable key to find it (``price``, ``price_high``, ``price_low``, ``buys``, ``sells``, ``stop_levels``,
``limit_levels``, ``rejected``, ``cancelled``, ``expired``, ``margin_calls``, ``equity``, ``init_cash``,
``drawdown``, ``weight``, ``weight_other``, ``gross``, ``net``); marker traces add ``count`` and ``shown``.
Their names are what the legend shows (a marker trace's name carries its count).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from ml4t.errors import ConfigError
from ml4t.metrics import drawdown_series
from ml4t.report._downsample import minmax_indices
from ml4t.report._page import Page
from ml4t.report._sections import (
    annualization,
    audit_section,
    default_window,
    max_points_or_default,
    metrics_table,
    monthly_returns,
    monthly_returns_figure,
    orders_summary,
    rolling_sharpe,
    rolling_sharpe_figure,
    run_header,
    trades_table,
)

if TYPE_CHECKING:
    from ml4t._shape import ResultShape

__all__ = ["TOP_WEIGHTS", "plot_result", "report_result", "result_page"]

TOP_WEIGHTS = 10
"""Symbols drawn one by one in a portfolio's stacked weights; the rest are summed as ``other``."""

_UNFILLED = {"rejected": "#b42318", "cancelled": "#7b8794", "expired": "#d97706"}
_MARGIN_CALL = "#7c3aed"
_ROW_HEIGHT = {"price": 300, "equity": 170, "drawdown": 120, "exposure": 150}


# ------------------------------------------------------------------------------------------- choices
def _symbols(result: ResultShape) -> list[str]:
    """The symbols the figure can show prices of: the run's own (its positions'; one symbol's account of a
    multi-symbol run has that symbol alone), else the bars'."""
    held = result.positions["symbol"].unique(maintain_order=True).to_list()
    if held or result.bars is None:
        return sorted(held)
    return result.bars.symbols


def _choose_symbol(result: ResultShape, symbol: str | None) -> tuple[str | None, str]:
    """The price row's symbol and what the title says about the choice."""
    known = _symbols(result)
    if symbol is not None:
        if symbol not in known:
            close = difflib.get_close_matches(str(symbol), known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            shown = ", ".join(known[:10]) + (", ..." if len(known) > 10 else "")
            raise ConfigError(
                f"unknown symbol; the run's symbols are {shown or 'none (no prices)'}{hint}",
                argument="symbol",
                symbol=str(symbol),
            )
        return symbol, symbol if len(known) == 1 else f"{symbol} (1 of {len(known)} symbols)"
    if not known:
        return None, ""
    if len(known) == 1:
        return known[0], known[0]
    counts = dict(result.fills.group_by("symbol").len().iter_rows())
    chosen = max(known, key=lambda s: (counts.get(s, 0), -known.index(s)))
    return chosen, f"{chosen} (most fills of {len(known)} symbols; symbol= shows another)"


def _cap(n: int, limit: int) -> np.ndarray:
    """Indices of the markers drawn: all, or ``limit`` evenly spaced ones (first and last included)."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(np.int64))


def _count_name(label: str, shown: int, count: int) -> str:
    return f"{label} ({count:,})" if shown == count else f"{label} ({shown:,} of {count:,} shown)"


def _x(ts: pl.Series) -> np.ndarray:
    """Timestamps as plotly reads them: UTC, naive, to the millisecond (shorter text than nanoseconds)."""
    return ts.dt.replace_time_zone(None).dt.cast_time_unit("ms").to_numpy()


def _num(value: Any) -> str:
    return "" if value is None else f"{value:.6g}" if isinstance(value, float) else str(value)


# ---------------------------------------------------------------------------------------------- price
class _Prices:
    """The shown symbol's prices at full resolution: time (ns), open, high, low, close (NaN when absent)."""

    def __init__(self, result: ResultShape, symbol: str) -> None:
        if result.bars is not None:
            arrays = result.bars.arrays(symbol)
            self.ts = pl.Series("ts_event", arrays["ts_event"]).cast(pl.Datetime("ns", "UTC"))
            self.ohlc = tuple(np.asarray(arrays[k], dtype=np.float64) for k in ("open", "high", "low", "close"))
            self.source = "bars"
        else:
            rows = result.positions.filter(pl.col("symbol") == symbol)
            self.ts = rows["ts_event"]
            close = rows["market_price"].cast(pl.Float64).fill_null(np.nan).to_numpy()
            nan = np.full(len(close), np.nan)
            self.ohlc = (nan, nan, nan, close)
            self.source = "mark"
        self.ns = self.ts.dt.epoch("ns").to_numpy()

    def at(self, ts: pl.Series) -> np.ndarray:
        """The close at or before each time (the first bar's before the first bar; NaN without bars)."""
        if len(self.ns) == 0:
            return np.full(len(ts), np.nan)
        i = np.searchsorted(self.ns, ts.dt.epoch("ns").to_numpy(), side="right") - 1
        return self.ohlc[3][np.clip(i, 0, None)]


def _price_traces(prices: _Prices, points: int, symbol: str) -> list[Any]:
    import plotly.graph_objects as go

    o, h, low, c = prices.ohlc
    n = len(c)
    has_ohlc = prices.source == "bars" and not np.isnan(o).all()
    if has_ohlc and n <= points:
        return [
            go.Candlestick(
                x=_x(prices.ts), open=o, high=h, low=low, close=c, name=f"price {symbol}", meta={"role": "price"}
            )
        ]
    keep = minmax_indices(c, points)
    x = _x(prices.ts.gather(keep))
    traces = []
    if has_ohlc and n:
        band = {"mode": "lines", "line": {"width": 0}, "hoverinfo": "skip", "showlegend": False}
        traces.append(go.Scatter(x=x, y=np.fmax.reduceat(h, keep), name="high", meta={"role": "price_high"}, **band))
        traces.append(
            go.Scatter(
                x=x,
                y=np.fmin.reduceat(low, keep),
                name="low",
                fill="tonexty",
                fillcolor="rgba(31, 119, 180, 0.15)",
                meta={"role": "price_low"},
                **band,
            )
        )
    label = "close" if prices.source == "bars" else "mark"
    traces.append(
        go.Scatter(
            x=x,
            y=c[keep],
            mode="lines",
            name=f"{label} {symbol}",
            line={"color": "#1f77b4", "width": 1.2},
            meta={"role": "price"},
        )
    )
    return traces


def _fill_traces(result: ResultShape, symbol: str, points: int) -> list[Any]:
    import plotly.graph_objects as go

    fills = (
        result.fills.filter(pl.col("symbol") == symbol)
        .join(result.orders.select("order_id", "tag"), on="order_id", how="left")
        .sort("ts_event", "fill_id", maintain_order=True)
    )
    traces = []
    for side, label, shape, color in (
        ("buy", "buys", "triangle-up", "#0e7c3a"),
        ("sell", "sells", "triangle-down", "#b42318"),
    ):
        rows = fills.filter(pl.col("side") == side)
        rows = rows[_cap(rows.height, points)]
        text = [
            f"{side} {_num(r['quantity'])} @ {_num(r['fill_price'])}<br>fee {_num(r['fee'])}, slippage "
            f"{_num(r['slippage'])}<br>order {r['order_id']}{' [' + r['tag'] + ']' if r['tag'] else ''}<br>"
            f"{r['ts_event']}"
            for r in rows.iter_rows(named=True)
        ]
        count = fills.filter(pl.col("side") == side).height
        traces.append(
            go.Scatter(
                x=_x(rows["ts_event"]),
                y=rows["fill_price"].to_numpy(),
                mode="markers",
                name=_count_name(label, rows.height, count),
                marker={"symbol": shape, "size": 9, "color": color, "line": {"width": 0.5, "color": "#102a43"}},
                text=text,
                hovertemplate="%{text}<extra></extra>",
                meta={"role": label, "count": count, "shown": rows.height},
            )
        )
    return traces


def _level_traces(result: ResultShape, symbol: str, points: int) -> list[Any]:
    import plotly.graph_objects as go

    end = result.equity["ts_event"][-1] if result.equity.height else None
    orders = result.orders.filter(pl.col("symbol") == symbol)
    traces = []
    for column, label, color in (("stop_price", "stop", "#b42318"), ("limit_price", "limit", "#0e7c3a")):
        rows = orders.filter(pl.col(column).is_not_null() & pl.col(column).is_finite()).sort("ts_submitted")
        count = rows.height
        if count == 0:
            continue
        rows = rows[_cap(count, points)]
        closed = rows["ts_closed"].fill_null(end) if end is not None else rows["ts_closed"]
        start_x, end_x = _x(rows["ts_submitted"]), _x(closed)
        level = rows[column].to_numpy()
        x = np.empty(3 * rows.height, dtype=object)  # None between segments: a gap
        x[0::3], x[1::3], x[2::3] = start_x, end_x, None
        y = np.empty(3 * rows.height)
        y[0::3], y[1::3], y[2::3] = level, level, np.nan
        text = []
        for r in rows.iter_rows(named=True):
            tag = f" [{r['tag']}]" if r["tag"] else ""
            line = f"{label} {_num(r[column])}: {r['side']} order {r['order_id']}{tag}, {r['status']}"
            text += [line, line, ""]
        traces.append(
            go.Scatter(
                x=x,
                y=y,
                mode="lines",
                name=_count_name(f"{label} levels", rows.height, count),
                line={"color": color, "width": 1, "dash": "dash"},
                text=text,
                hovertemplate="%{text}<extra></extra>",
                connectgaps=False,
                meta={"role": f"{label}_levels", "count": count, "shown": rows.height},
            )
        )
    return traces


def _unfilled_traces(result: ResultShape, symbol: str, prices: _Prices, points: int) -> list[Any]:
    import plotly.graph_objects as go

    orders = result.orders.filter(pl.col("symbol") == symbol)
    margin = pl.col("reason_code").fill_null("") == "margin_call"
    kinds = [(status, status, pl.col("status").eq(status) & ~margin, color) for status, color in _UNFILLED.items()]
    kinds.append(("margin calls", "margin_calls", margin, _MARGIN_CALL))
    traces = []
    for label, role, which, color in kinds:
        rows = orders.filter(which).sort("ts_submitted", "order_id")
        count = rows.height
        if count == 0:
            continue
        rows = rows[_cap(count, points)]
        when = rows.select(pl.coalesce("ts_closed", "ts_submitted")).to_series()
        at = prices.at(when)
        y = rows.select(pl.coalesce("avg_fill_price", "limit_price", "stop_price")).to_series().to_numpy()
        y = np.where(np.isnan(y.astype(np.float64)), at, y)
        text = []
        for r, t in zip(rows.iter_rows(named=True), when.to_list(), strict=True):
            qty = "all-in" if r["quantity"] is None else _num(r["quantity"])
            tag = f" [{r['tag']}]" if r["tag"] else ""
            text.append(
                f"{r['status']}: {r['side']} {qty} {r['order_type']} (order {r['order_id']}{tag})<br>"
                f"reason_code {r['reason_code'] or '-'}<br>{r['reason'] or ''}<br>{t}"
            )
        traces.append(
            go.Scatter(
                x=_x(when),
                y=y,
                mode="markers",
                name=_count_name(label, rows.height, count),
                marker={"symbol": "x", "size": 9, "color": color},
                text=text,
                hovertemplate="%{text}<extra></extra>",
                meta={"role": role, "count": count, "shown": rows.height},
            )
        )
    return traces


# ----------------------------------------------------------------------------------- equity and exposure
def _equity_traces(result: ResultShape, points: int) -> tuple[list[Any], list[Any]]:
    import plotly.graph_objects as go

    ts = result.equity["ts_event"]
    equity = result.equity["equity"].to_numpy()
    keep = minmax_indices(equity, points)
    equity_traces = [
        go.Scatter(
            x=_x(ts.gather(keep)),
            y=equity[keep],
            mode="lines",
            name="equity",
            line={"color": "#102a43", "width": 1.4},
            meta={"role": "equity"},
        ),
        go.Scatter(
            x=_x(ts.gather([0, len(ts) - 1])),
            y=[result.init_cash, result.init_cash],
            mode="lines",
            name="init_cash",
            line={"color": "#9aa5b1", "width": 1, "dash": "dot"},
            meta={"role": "init_cash"},
        ),
    ]
    returns = result.returns["return"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    drawdown = np.asarray(drawdown_series(returns), dtype=np.float64)
    keep = minmax_indices(drawdown, points)
    drawdown_traces = [
        go.Scatter(
            x=_x(ts.gather(keep)),
            y=drawdown[keep],
            mode="lines",
            fill="tozeroy",
            name="drawdown",
            line={"color": "#b42318", "width": 1},
            fillcolor="rgba(180, 35, 24, 0.25)",
            meta={"role": "drawdown"},
        )
    ]
    return equity_traces, drawdown_traces


def _weights(result: ResultShape) -> pl.DataFrame:
    """The weights wide, one row per bar (row of ``equity``): a column per symbol, 0 where a symbol has no
    weight (no row, no mark, or no equity)."""
    weights = result.weights
    bars = result.equity.select("ts_event")
    if weights.height == bars.height and weights["ts_event"].equals(bars["ts_event"]):  # one symbol, dense
        wide = weights.select("ts_event", pl.col("weight").alias(weights["symbol"][0]))
    else:
        wide = bars.join(
            weights.pivot(on="symbol", index="ts_event", values="weight", maintain_order=True),
            on="ts_event",
            how="left",
            maintain_order="left",
        )
    return wide.fill_null(0.0).fill_nan(0.0)


def _exposure_traces(result: ResultShape, points: int) -> list[Any]:
    import plotly.graph_objects as go

    ts = result.equity["ts_event"]
    exposure = result.exposure
    wide = _weights(result)
    symbols = [c for c in wide.columns if c != "ts_event"]
    if len(symbols) == 1:
        weight = wide[symbols[0]].to_numpy()
        keep = minmax_indices(weight, points)
        return [
            go.Scatter(
                x=_x(ts.gather(keep)),
                y=weight[keep],
                mode="lines",
                fill="tozeroy",
                name=symbols[0],
                line={"color": "#1f77b4", "width": 1},
                meta={"role": "weight", "symbol": symbols[0]},
            )
        ]
    net = exposure["net"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    gross = exposure["gross"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    keep = np.union1d(minmax_indices(net, points), minmax_indices(gross, points))
    x = _x(ts.gather(keep))
    mean_abs = wide.select(pl.col(symbols).abs().mean()).row(0)
    ranked = [s for _, s in sorted(zip(mean_abs, symbols, strict=True), key=lambda p: (-p[0], symbols.index(p[1])))]
    top, rest = ranked[:TOP_WEIGHTS], ranked[TOP_WEIGHTS:]
    traces = [
        go.Scatter(
            x=x,
            y=wide[s].to_numpy()[keep],
            mode="lines",
            stackgroup="weights",
            name=s,
            line={"width": 0.5},
            meta={"role": "weight", "symbol": s},
        )
        for s in top
    ]
    if rest:
        other = wide.select(pl.sum_horizontal(rest)).to_series().to_numpy()
        traces.append(
            go.Scatter(
                x=x,
                y=other[keep],
                mode="lines",
                stackgroup="weights",
                name=f"other ({len(rest)} symbols)",
                line={"width": 0.5},
                meta={"role": "weight_other", "symbols": rest},
            )
        )
    for name, values, color in (("gross", gross, "#102a43"), ("net", net, "#d97706")):
        traces.append(
            go.Scatter(
                x=x,
                y=values[keep],
                mode="lines",
                name=name,
                line={"color": color, "width": 1.4},
                meta={"role": name},
            )
        )
    return traces


# ------------------------------------------------------------------------------------------------ figure
def plot_result(
    result: ResultShape, *, symbol: str | None = None, max_points: int | None = None, title: str | None = None
) -> Any:
    """The run as an interactive plotly figure (see the module docstring for its rows and traces).

    ``symbol`` picks the price row's symbol (default: the only one, else the one with the most fills, as
    the title says); an unknown one is a ConfigError naming the closest. ``max_points`` (default
    :data:`ml4t.report.DEFAULT_MAX_POINTS`, at least 4) bounds the points of each drawn series and the
    markers of each kind. ``title`` replaces the default title (strategy, mode, symbol).
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    points = max_points_or_default(max_points)
    shown, about = _choose_symbol(result, symbol)
    rows: dict[str, list[Any]] = {}
    capped = []
    if shown is not None:
        prices = _Prices(result, shown)
        markers = [
            *_fill_traces(result, shown, points),
            *_level_traces(result, shown, points),
            *_unfilled_traces(result, shown, prices, points),
        ]
        rows["price"] = _price_traces(prices, points, shown) + markers
        capped = [t.name for t in markers if t.meta["shown"] < t.meta["count"]]
    rows["equity"], rows["drawdown"] = _equity_traces(result, points)
    if result.positions.height:
        rows["exposure"] = _exposure_traces(result, points)

    names = list(rows)
    heights = [_ROW_HEIGHT[n] for n in names]
    fig = make_subplots(
        rows=len(names),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.025,
        row_heights=[h / sum(heights) for h in heights],
    )
    for i, name in enumerate(names, start=1):
        for k, trace in enumerate(rows[name]):
            trace.legendgroup = name  # the legend lists the rows' traces under the row's name
            if k == 0:
                trace.legendgrouptitle = {"text": name}
            fig.add_trace(trace, row=i, col=1)
        fig.update_yaxes(title_text=name, row=i, col=1)
    fig.update_yaxes(tickformat=".0%", row=names.index("drawdown") + 1, col=1)
    if "exposure" in rows:
        fig.update_yaxes(tickformat=".0%", row=names.index("exposure") + 1, col=1)
    fig.update_xaxes(rangeslider_visible=False)
    if title is None:
        meta = result.meta
        parts = [str(meta.get("strategy") or "run"), f"({meta['mode']})" if meta.get("mode") else ""]
        title = " ".join(p for p in parts if p) + (f": {about}" if about else "")
        if capped:
            title += "; markers capped: " + ", ".join(capped)
    fig.update_layout(
        title=go.layout.Title(text=title),
        height=sum(heights) + 110,
        hovermode="x unified",
        margin={"l": 70, "r": 20, "t": 60, "b": 40},
        legend={"groupclick": "toggleitem", "traceorder": "grouped"},
        meta={"rows": names, "symbol": shown},
    )
    return fig


# ------------------------------------------------------------------------------------------------ report
def result_page(
    result: ResultShape, *, audit: Any = None, title: str | None = None, max_points: int | None = None
) -> Page:
    """The single-run report as a :class:`~ml4t.report.Page` (for other reports to extend or embed): the run
    header, metrics, the run's figure, monthly returns, rolling Sharpe, orders, trades and, when ``audit`` is
    given (an :class:`ml4t.audit.AuditReport`, else ConfigError naming ``audit``), the audit's verdict."""
    params = result.meta.get("params")
    audit_items = (
        audit_section(
            audit, params=params if isinstance(params, Mapping) else None, fingerprint=result.data_fingerprint
        )
        if audit is not None
        else None
    )
    header = run_header(result)
    name = title or f"{header['strategy'] or 'ml4t run'}" + (f" ({header['mode']})" if header["mode"] else "")
    span = f"{header['first_bar']} .. {header['last_bar']}" if header["bars"] else "no bars"
    page = Page(name, f"{span}, {header['bars']:,} bars, data fingerprint {header['data_fingerprint'] or 'unknown'}")
    page.section("Run", header, note="The settings and the data (by fingerprint) that produced this run.")
    page.section("Metrics", metrics_table(result))
    page.section(
        "Price, equity, drawdown and exposure",
        plot_result(result, max_points=max_points),
        note="Long series are min/max downsampled for display (every peak and trough kept); "
        "the Result keeps every bar.",
    )
    monthly = monthly_returns(result)
    page.section(
        "Monthly returns", monthly_returns_figure(monthly), monthly, note="Compounded per calendar month (UTC)."
    )
    window = default_window(result)
    ppy, source = annualization(result)
    about = f"about six months at {ppy:.4g} bars a year ({source})" if ppy is not None else "periods per year unknown"
    page.section(
        "Rolling Sharpe ratio",
        rolling_sharpe_figure(rolling_sharpe(result, window), max_points=max_points),
        note=f"Trailing window of {window} bars ({about}); risk-free rate 0.",
    )
    orders = orders_summary(result)
    items: list[Any] = [orders.counts]
    if orders.rejected.height:
        items += [f"The {orders.rejected.height:,} rejected orders and their reasons:", orders.rejected]
    page.section(
        "Orders",
        *items,
        note=f"{result.orders.height:,} orders by status and reason code; {orders.rejected.height:,} rejected.",
    )
    trades = trades_table(result)
    n_open = trades.filter(pl.col("status") == "open").height
    page.section(
        "Trades", trades, note=f"{trades.height:,} trades ({trades.height - n_open:,} closed, {n_open:,} open)."
    )
    if audit_items is not None:
        page.section("Lookahead audit", *audit_items)
    return page


def report_result(
    result: ResultShape,
    path: str | os.PathLike[str],
    *,
    audit: Any = None,
    title: str | None = None,
    max_points: int | None = None,
) -> Path:
    """Write the run's one-file HTML report (:func:`result_page`) to ``path`` and return it. The file opens
    offline; its directory must exist (ConfigError naming ``path`` otherwise)."""
    target = Path(path)
    if not target.parent.is_dir():
        raise ConfigError(f"the report's directory {str(target.parent)!r} does not exist", argument="path")
    return result_page(result, audit=audit, title=title, max_points=max_points).write(target)

"""The sections every report is made of: a run's header, metrics, monthly returns, rolling Sharpe, orders,
trades and the lookahead audit's verdict, each computed from a :class:`~ml4t.Result` alone.

Contract: each function reads only the Result's frames, ``meta``, ``bars`` and ``periods_per_year``, and
returns plain data (a ``dict`` or a Polars frame) or a plotly figure, which a :class:`~ml4t.report.Page`
shows as a table or a plot; the single-run report, the CLI and comparisons assemble them. Statistics come
from ``ml4t.metrics`` (the shared definitions); what is computed here is stated in each docstring:

- annualization is the Result's ``periods_per_year``; when it has none, the bars' calendar
  (:attr:`ml4t.data.Bars.periods_per_year`), else the equity's own timestamps by the same rule (bars per
  Julian year over the span); :func:`annualization` says which;
- monthly returns compound the per-bar returns (``Result.returns``; ruin is absorbing, a missing return is
  flat) within each calendar month in UTC, as empyrical's ``aggregate_returns(returns, "monthly")``;
- the rolling Sharpe ratio is ``ml4t.metrics.sharpe_ratio``'s definition over a trailing window (risk-free 0).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import polars as pl

from ml4t._time import NS_PER_YEAR
from ml4t._version import installed
from ml4t.errors import ConfigError
from ml4t.metrics import summary
from ml4t.metrics._checks import resolved_deviation
from ml4t.report._downsample import DEFAULT_MAX_POINTS, downsampled
from ml4t.report._page import Html

if TYPE_CHECKING:
    from ml4t._shape import ResultShape

__all__ = [
    "MONTHS",
    "OrdersSummary",
    "annualization",
    "audit_section",
    "default_window",
    "max_points_or_default",
    "metrics_table",
    "monthly_returns",
    "monthly_returns_figure",
    "orders_summary",
    "rolling_sharpe",
    "rolling_sharpe_figure",
    "run_header",
    "trades_table",
]

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
"""The month columns of :func:`monthly_returns`, in calendar order."""


def max_points_or_default(max_points: int | None) -> int:
    """``max_points`` checked (an integer of at least 4, else a ConfigError naming it), or
    :data:`~ml4t.report.DEFAULT_MAX_POINTS` when None: the display budget every figure of a report takes."""
    if max_points is None:
        return DEFAULT_MAX_POINTS
    if isinstance(max_points, bool) or not isinstance(max_points, int | np.integer) or max_points < 4:
        raise ConfigError(f"max_points must be an integer of at least 4, got {max_points!r}", argument="max_points")
    return int(max_points)


# ------------------------------------------------------------------------------------------------ header
def annualization(result: ResultShape) -> tuple[float | None, str]:
    """The periods per year the report annualizes with, and where it came from: ``"result"`` (the Result's
    own ``periods_per_year``), ``"bars"`` (the bars' calendar), ``"equity timestamps"`` (bars per Julian year
    over the equity's span), or ``(None, "unknown")`` for fewer than two bars."""
    if result.periods_per_year is not None:
        return float(result.periods_per_year), "result"
    if result.bars is not None and result.bars.periods_per_year is not None:
        return float(result.bars.periods_per_year), "bars"
    ts = result.equity["ts_event"].dt.epoch("ns")
    if len(ts) >= 2 and int(ts[-1]) > int(ts[0]):
        return (len(ts) - 1) / ((int(ts[-1]) - int(ts[0])) / NS_PER_YEAR), "equity timestamps"
    return None, "unknown"


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, Mapping) and value:
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}", inner, out)
    elif isinstance(value, list | tuple | Mapping):
        out[prefix] = repr(value) if not value else ", ".join(map(str, value))
    else:
        out[prefix] = value


def _version() -> str:
    return installed() or "unknown"


def run_header(result: ResultShape) -> dict[str, Any]:
    """What produced the run, as name -> value (a two-column table on a page): ``mode``, ``strategy``,
    ``params`` (``name=value, ...``), every setting flattened as ``settings.<name>`` (nested ones dotted;
    the vectorized mode keeps them under ``meta["settings"]``, the event engine at the top of ``meta``),
    ``data_fingerprint``, ``symbols``, ``first_bar``, ``last_bar``, ``bars``, ``periods_per_year`` (with
    its source, see :func:`annualization`), ``init_cash`` and ``ml4t_version``. Missing items are None."""
    meta = dict(result.meta)
    params = meta.pop("params", None)
    header: dict[str, Any] = {
        "mode": meta.pop("mode", None),
        "strategy": meta.pop("strategy", None),
        "params": ", ".join(f"{k}={v}" for k, v in params.items()) if isinstance(params, Mapping) else params,
    }
    symbols = meta.pop("symbols", None)
    if symbols is None:
        symbols = result.bars.symbols if result.bars is not None else result.positions["symbol"].unique().sort()
    settings: dict[str, Any] = {}
    nested = meta.pop("settings", {})
    for key, value in {**(nested if isinstance(nested, Mapping) else {"settings": nested}), **meta}.items():
        _flatten(f"settings.{key}", value, settings)
    header.update(sorted(settings.items()))
    ts = result.equity["ts_event"]
    ppy, source = annualization(result)
    header.update(
        {
            "data_fingerprint": result.data_fingerprint,
            "symbols": ", ".join(map(str, symbols)),
            "first_bar": ts[0] if len(ts) else None,
            "last_bar": ts[-1] if len(ts) else None,
            "bars": len(ts),
            "periods_per_year": None if ppy is None else f"{ppy:.6g} ({source})",
            "init_cash": result.init_cash,
            "ml4t_version": _version(),
        }
    )
    return header


# ----------------------------------------------------------------------------------------------- metrics
def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "NaN" if value != value else f"{value:.6g}"
    return str(value)


def metrics_table(result: ResultShape) -> pl.DataFrame:
    """Every statistic of :func:`ml4t.metrics.summary` as rows ``metric``, ``value`` (the value as text:
    floats to 6 significant digits, NaN where undefined, empty where null), annualized with
    :func:`annualization` (periods per year 1 when it is unknown: the annual figures are then per bar)."""
    ppy, _ = annualization(result)
    row = summary(result, periods_per_year=ppy if ppy is not None else 1.0).row(0, named=True)
    return pl.DataFrame(
        {"metric": list(row), "value": [_cell(v) for v in row.values()]},
        schema={"metric": pl.String, "value": pl.String},
    )


# ------------------------------------------------------------------------------------------ monthly returns
def monthly_returns(result: ResultShape) -> pl.DataFrame:
    """Compounded returns per calendar month (UTC): one row per year with ``year``, the twelve
    :data:`MONTHS` (null for a month without bars) and ``total`` (the year's compounded return over the
    bars it has). Each month is ``prod(1 + r) - 1`` of ``Result.returns`` in it (a null return, after ruin,
    counts as flat), so the first month includes the first bar's return from ``init_cash``."""
    returns = result.returns.select(
        pl.col("ts_event").dt.year().alias("year"),
        pl.col("ts_event").dt.month().alias("month"),
        pl.col("return").fill_null(0.0).fill_nan(0.0).alias("r"),
    )
    growth = (pl.col("r") + 1.0).product() - 1.0
    months = returns.group_by("year", "month").agg(growth.alias("r"))
    totals = returns.group_by("year").agg(growth.alias("total"))
    schema = {"year": pl.Int32(), **{m: pl.Float64() for m in MONTHS}, "total": pl.Float64()}
    if returns.is_empty():
        return pl.DataFrame(schema=schema)
    wide = (
        months.with_columns(
            pl.col("month").replace_strict({i + 1: m for i, m in enumerate(MONTHS)}, return_dtype=pl.String)
        )
        .pivot(on="month", index="year", values="r", on_columns=list(MONTHS))
        .join(totals, on="year")
        .sort("year")
    )
    return wide.select(pl.col(c).cast(t) if c in wide.columns else pl.lit(None, t).alias(c) for c, t in schema.items())


def monthly_returns_figure(table: pl.DataFrame, *, title: str | None = None) -> Any:
    """A heatmap of :func:`monthly_returns`' table: years down, months across, green for gains, red for
    losses (centred on 0), each cell labelled in percent. One trace, named ``"monthly returns"``."""
    import plotly.graph_objects as go

    z = table.select(MONTHS).to_numpy().astype(np.float64) if table.height else np.empty((0, 12))
    labels = [["" if v != v else f"{100 * v:.1f}%" for v in row] for row in z]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=list(MONTHS),
            y=[str(y) for y in table["year"].to_list()],
            text=labels,
            texttemplate="%{text}",
            colorscale="RdYlGn",
            zmid=0.0,
            hovertemplate="%{y} %{x}: %{z:.2%}<extra></extra>",
            colorbar={"tickformat": ".0%"},
            name="monthly returns",
            meta={"role": "monthly_returns"},
        )
    )
    fig.update_layout(
        title=title or "Monthly returns",
        height=max(220, 60 + 28 * table.height),
        yaxis={"autorange": "reversed", "type": "category"},
        margin={"l": 60, "r": 20, "t": 50, "b": 40},
    )
    return fig


# ------------------------------------------------------------------------------------------ rolling Sharpe
def default_window(result: ResultShape) -> int:
    """The rolling window when none is given: about six months of bars, ``round(periods_per_year / 2)``
    (126 for 252 bars a year), at least 2; 2 when the annualization is unknown."""
    ppy, _ = annualization(result)
    return max(2, round(ppy / 2)) if ppy is not None else 2


def rolling_sharpe(result: ResultShape, window: int | None = None) -> pl.DataFrame:
    """``ts_event``, ``rolling_sharpe``: per bar, the annualized Sharpe ratio of the ``window`` returns up to
    and including it (``mean / std(ddof=1) * sqrt(periods_per_year)``, risk-free 0, as
    :func:`ml4t.metrics.sharpe_ratio`). Null until a full window of returns, when a return in the window is
    missing (after ruin), and when the window's returns are constant. ``window`` defaults to
    :func:`default_window`; ConfigError unless it is an integer >= 2."""
    if window is None:
        window = default_window(result)
    if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 2:
        raise ConfigError(f"window must be an integer of at least 2 bars, got {window!r}", argument="window")
    ppy, _ = annualization(result)
    r = result.returns["return"].fill_nan(None)
    mean = r.rolling_mean(int(window)).to_numpy().astype(np.float64)
    std = r.rolling_std(int(window), ddof=1).to_numpy().astype(np.float64)
    ok = np.isfinite(mean) & np.isfinite(std) & resolved_deviation(std, mean)
    sharpe = np.full(len(r), np.nan)
    np.divide(mean, std, out=sharpe, where=ok)
    sharpe *= np.sqrt(ppy if ppy is not None else 1.0)
    return pl.DataFrame({"ts_event": result.equity["ts_event"], "rolling_sharpe": sharpe}).with_columns(
        pl.col("rolling_sharpe").fill_nan(None)
    )


def rolling_sharpe_figure(table: pl.DataFrame, *, max_points: int | None = None, title: str | None = None) -> Any:
    """A line of :func:`rolling_sharpe`'s table (min/max downsampled to ``max_points``), with a zero line.
    One data trace, named ``"rolling Sharpe"``."""
    import plotly.graph_objects as go

    values = table["rolling_sharpe"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    x, y = downsampled(table["ts_event"], values, max_points_or_default(max_points))
    fig = go.Figure(
        go.Scatter(
            x=x,
            y=y,
            mode="lines",
            name="rolling Sharpe",
            line={"color": "#1f77b4", "width": 1.3},
            meta={"role": "rolling_sharpe"},
        )
    )
    fig.add_hline(y=0.0, line={"color": "#9aa5b1", "width": 1, "dash": "dot"})
    fig.update_layout(
        title=title or "Rolling Sharpe ratio",
        height=300,
        showlegend=False,
        hovermode="x",
        margin={"l": 60, "r": 20, "t": 50, "b": 40},
    )
    return fig


# ---------------------------------------------------------------------------------------- orders, trades
class OrdersSummary(NamedTuple):
    """``counts``: orders per ``status`` and ``reason_code`` (``orders``, most first); ``rejected``: every
    rejected order with its reason, in submission order."""

    counts: pl.DataFrame
    rejected: pl.DataFrame


def orders_summary(result: ResultShape) -> OrdersSummary:
    """How the run's orders ended: counts by status and reason code, and the rejected orders listed
    (``order_id``, ``ts_submitted``, ``symbol``, ``side``, ``order_type``, ``quantity``, ``limit_price``,
    ``stop_price``, ``reason_code``, ``reason``, ``tag``)."""
    orders = result.orders
    counts = (
        orders.group_by("status", "reason_code")
        .agg(pl.len().cast(pl.Int64).alias("orders"))
        .sort(["orders", "status", "reason_code"], descending=[True, False, False], nulls_last=True)
    )
    rejected = orders.filter(pl.col("status") == "rejected").select(
        "order_id",
        "ts_submitted",
        "symbol",
        "side",
        "order_type",
        "quantity",
        "limit_price",
        "stop_price",
        "reason_code",
        "reason",
        "tag",
    )
    return OrdersSummary(counts, rejected)


def trades_table(result: ResultShape) -> pl.DataFrame:
    """The round trips as a report shows them: ``Result.trades`` in entry order with ``holding`` (exit minus
    entry; null while open) after ``ts_exit``."""
    trades = result.trades.sort("ts_entry", "trade_id", maintain_order=True)
    columns = trades.columns
    at = columns.index("ts_exit") + 1
    return trades.with_columns((pl.col("ts_exit") - pl.col("ts_entry")).alias("holding")).select(
        *columns[:at], "holding", *columns[at:]
    )


# ----------------------------------------------------------------------------------------------- audit
def audit_section(
    report: Any, *, params: Mapping[str, Any] | None = None, fingerprint: str | None = None
) -> tuple[Any, ...]:
    """The items of a lookahead audit's section, for ``page.section("Lookahead audit", *items)``: the verdict
    (a sentence, coloured), a table of its facts (mode, verdict, cuts, checked orders and signal values,
    the first divergence, the unverified columns, the linter's findings) and the audit's own summary text.
    ``report`` must be an :class:`ml4t.audit.AuditReport`; anything else is a ConfigError naming ``audit``.
    ``params`` and ``fingerprint`` are those of the run the report shows: when the audit is of other
    parameters or other data, a warning line under the verdict says so (the verdict is about what was
    audited, not about the run beside it)."""
    from ml4t.audit._report import AuditReport  # the class's own module: ml4t.audit's package imports the engines

    if not isinstance(report, AuditReport):
        raise ConfigError(
            f"audit must be an ml4t.audit.AuditReport (from ml4t.audit.lookahead), got {type(report).__name__}",
            argument="audit",
        )
    verdict = "PASSED" if report.passed else "FAILED"
    css = "verdict-pass" if report.passed else "verdict-fail"
    facts: dict[str, Any] = {
        "verdict": verdict,
        "audited strategy": report.strategy,
        "audited params": _params_text(report.params) if report.params is not None else "(event: its constructor's)",
        "audited data fingerprint": report.data_fingerprint,
        "mode": report.mode,
        "strict": report.strict,
        "cuts": len(report.cuts),
        "first cut": report.cuts[0] if report.cuts else None,
        "last cut": report.cuts[-1] if report.cuts else None,
        "checked orders": report.checked_orders,
        "checked signal values": report.checked_signals,
        "cuts that diverged": len(report.divergences),
        "first divergence": str(report.first_divergence) if report.first_divergence else "none",
        "unverified columns": ", ".join(report.unverified_columns) or "none",
        "linter findings": "; ".join(str(f) for f in report.static_findings) or "none",
    }
    items: list[Any] = [Html(f"<p class='{css}'>Lookahead audit {verdict}</p>")]
    other = []
    if params is not None and report.params is not None and dict(report.params) != dict(params):
        other.append(f"the parameters {_params_text(report.params)}, not the run's {_params_text(params)}")
    if fingerprint is not None and report.data_fingerprint is not None and report.data_fingerprint != fingerprint:
        other.append(f"data with fingerprint {report.data_fingerprint}, not the run's {fingerprint}")
    if other:
        items.append(
            Html(
                f"<p class='verdict-fail'>{html.escape('This audit is of ' + ' and of '.join(other))}: "
                "its verdict is about what was audited, not about the run shown here.</p>"
            )
        )
    return (*items, facts, str(report))


def _params_text(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in params.items()) or "no parameters"

"""``Sweep``: the result of ``VectorizedStrategy.sweep`` — one metrics row per combination (and symbol)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import polars as pl

from ml4t import metrics as m
from ml4t._kernel.signals import Grid, Panel
from ml4t._validate import check_bool, check_int, is_number
from ml4t.cache import SweepCacheReport
from ml4t.data import Bars
from ml4t.errors import ConfigError
from ml4t.result import Result
from ml4t.settings import VectorizedSettings
from ml4t.vectorized._overfit import Overfitting, RowStats, overfitting_of

if TYPE_CHECKING:
    from ml4t.promotion import Promoted


class _Strategy(Protocol):
    """What a sweep asks of its ``VectorizedStrategy`` (named here so this module does not import it)."""

    settings: VectorizedSettings

    def run(self, bars: Bars, **params: Any) -> Result: ...
    def run_symbol(self, bars: Bars, symbol: str, **params: Any) -> Result: ...
    def promote(self, bars: Bars, **params: Any) -> Promoted: ...


__all__ = ["METRIC_COLUMNS", "Sweep", "check_param_names", "sweep_metrics", "symbol_rows"]

_OVERFITTING_COLUMNS = ("deflated_sharpe", "pbo")

_SCOPES = ("portfolio", "symbol", "all")
METRIC_COLUMNS = (
    "total_return",
    "annual_return",
    "annual_volatility",
    "sharpe_ratio",
    "sortino_ratio",
    "max_drawdown",
    "calmar_ratio",
    "trade_count",
    "open_trade_count",
    "final_equity",
)
"""The numbers of every ``Sweep.metrics`` row, after the parameters, ``scope`` and ``symbol``."""
_COLUMNS = ("scope", "symbol", *METRIC_COLUMNS)


def check_param_names(grid: Grid) -> None:
    """A parameter may not take the name of a column of the sweep's metrics (its column would be lost)."""
    for name in grid.names:
        if name in _COLUMNS or name in _OVERFITTING_COLUMNS:
            raise ConfigError(
                f"parameter {name!r} has the name of a column of the sweep's metrics; rename it", argument=name
            )


def sweep_metrics(
    stats: Mapping[str, np.ndarray],
    grid: Grid,
    indices: Sequence[int],
    panel: Panel,
    settings: VectorizedSettings,
    ppy: float,
) -> pl.DataFrame:
    """Metrics rows for one chunk from the kernel's one-pass statistics (``ml4t.metrics``' definitions, via
    ``statistics_from_moments``). Per combination, the kernel gives the portfolio's row, then, when the
    symbols trade separate accounts (no cash sharing, several symbols), one row per symbol."""
    symbols = symbol_rows(panel, settings)
    per_combo = 1 + len(symbols)
    combos = np.repeat(np.asarray(indices), per_combo)
    columns: dict[str, Any] = {
        name: pl.Series(name, [grid.combos[c][k] for c in combos], dtype=grid.dtypes[k])
        for k, name in enumerate(grid.names)
    }
    columns["scope"] = pl.Series("scope", (["portfolio"] + ["symbol"] * len(symbols)) * len(indices))
    columns["symbol"] = pl.Series("symbol", ([None, *symbols]) * len(indices), dtype=pl.String)
    columns |= m.statistics_from_moments(
        n_bars=panel.n_bars,
        count=stats["count"],
        mean=stats["mean"],
        m2=stats["m2"],
        low=stats["low"],
        high=stats["high"],
        downside_sq=stats["downside_sq"],
        total_return=stats["total_return"],
        max_drawdown=stats["max_drawdown"],
        periods_per_year=ppy,
    )
    columns |= {
        "trade_count": stats["closed_trades"],
        "open_trade_count": stats["open_trades"],
        "final_equity": stats["final_equity"],
    }
    return pl.DataFrame(columns)


def symbol_rows(panel: Panel, settings: VectorizedSettings) -> list[str]:
    """The symbols that get rows of their own: each one trades its own account (no cash sharing), and
    there are several (a single symbol's row would repeat the portfolio's)."""
    if settings.cash_sharing or len(panel.symbols) == 1:
        return []
    return list(panel.symbols)


class Sweep:
    """Every combination's metrics (``.metrics``), and any combination's (or symbol's) full ``Result``;
    how much of the best one is selection luck (:meth:`overfitting`, and the ``deflated_sharpe`` / ``pbo``
    columns of :meth:`best`)."""

    def __init__(
        self,
        strategy: _Strategy,
        bars: Bars,
        grid: Grid,
        parts: list[pl.DataFrame],
        periods_per_year: float,
        stats: list[RowStats],
        n_blocks: int,
        *,
        cache: SweepCacheReport | None = None,
    ) -> None:
        self.strategy = strategy
        self.cache = cache
        """What the cache did, per level (``cache.results``, ``cache.signals``, ``cache.indicators``: hits,
        misses and why, what could not be cached and why; ``cache.hits`` and the others total them), or None when
        it was off. ``cache.summary()`` is the line ``repr(sweep)`` ends with."""
        self.bars = bars
        self.grid = grid
        self.periods_per_year = periods_per_year
        self.metrics: pl.DataFrame = pl.concat(parts) if parts else pl.DataFrame()
        """The parameters, ``scope``, ``symbol``, then ``total_return, annual_return, annual_volatility,
        sharpe_ratio, sortino_ratio, max_drawdown, calmar_ratio, trade_count`` (closed round trips),
        ``open_trade_count``, ``final_equity``, as ``ml4t.metrics`` defines them.

        Every combination has one ``scope == "portfolio"`` row (null ``symbol``): the whole run, the numbers
        of ``sweep.result(**params).metrics``. When the symbols trade separate accounts (no cash sharing)
        and there are several, each also has a ``scope == "symbol"`` row per symbol: that symbol's own
        account, the numbers of ``sweep.result(**params, symbol=s).metrics``. Under cash sharing the symbols
        share one account and have no equity of their own, so there are no symbol rows."""
        self._stats = RowStats.concat(stats, n_blocks)  # aligned with the rows of `metrics`
        self._overfitting: dict[tuple[str, float | None], Overfitting] = {}

    @property
    def params(self) -> tuple[str, ...]:
        return self.grid.names

    def __len__(self) -> int:
        return len(self.grid.combos)

    def best(
        self, metric: str = "sharpe_ratio", n: int = 5, *, descending: bool = True, scope: str = "portfolio"
    ) -> pl.DataFrame:
        """The ``n`` best rows by ``metric`` (NaN and null last) among the ``scope`` rows: ``"portfolio"``
        (default: one row per combination, what ``result(**params)`` returns), ``"symbol"`` (per-symbol
        rows, see :attr:`metrics`) or ``"all"``.

        Besides the :attr:`metrics` columns, two say how much of a row's result is selection luck, computed
        over the rows of ``scope`` (every one of them is a trial: ``N`` is their number; see
        :meth:`overfitting`):

        - ``deflated_sharpe``: the row's deflated Sharpe ratio (Bailey & López de Prado 2014), the
          probability that its true Sharpe ratio is above the one the best of ``N`` skill-less trials would
          show by luck (``SR0``, from ``N`` and the variance of the rows' Sharpe ratios), given its number
          of returns, skewness and kurtosis. Near 1: unlikely to be luck; 0.5 or below: the search alone
          explains it.
        - ``pbo``: the sweep's probability of backtest overfitting (Bailey, Borwein, López de Prado & Zhu
          2015; CSCV over 16 blocks of bars, fewer with fewer bars), the same on every row: how often the
          combination that is best on half the history ranks at or below the median on the other half.
          Near 0: the search picks combinations that stay good; 0.5 or above: it picks noise.

        Both are NaN where undefined: ``deflated_sharpe`` for a row without a Sharpe ratio, and for every
        row when fewer than 2 rows have one (their variance is unknown); ``pbo`` with a single row or fewer
        than 2 bars. Either may be the ``metric`` to rank by.
        """
        check_int("n", n, minimum=1)
        check_bool("descending", descending)
        columns = [*self.metrics.columns, *_OVERFITTING_COLUMNS]
        if not isinstance(metric, str) or metric not in columns:
            raise ConfigError(f"unknown metric {metric!r}; available: {columns}", argument="metric")
        mask = self._scope_rows(scope)
        rows = self.metrics.filter(pl.Series(mask))
        if rows.height:
            fit = self.overfitting(scope)
            rows = rows.with_columns(
                pl.Series("deflated_sharpe", fit.dsr, dtype=pl.Float64),
                pl.lit(fit.pbo, dtype=pl.Float64).alias("pbo"),
            )
        else:
            rows = rows.with_columns(pl.lit(None, pl.Float64).alias(c) for c in _OVERFITTING_COLUMNS)
        key = pl.col(metric).fill_nan(None) if rows.schema[metric].is_float() else pl.col(metric)
        return rows.sort(key, descending=descending, nulls_last=True).head(n)

    def overfitting(self, scope: str = "portfolio", n_trials: float | None = None) -> Overfitting:
        """How much of the best row's result is selection luck, over the rows of ``scope`` (``"portfolio"``:
        one per combination, the default; ``"symbol"``; ``"all"``): an :class:`Overfitting` with the number
        of trials ``N``, the variance ``V`` of their per-period Sharpe ratios, the Sharpe ratio the best of
        ``N`` skill-less trials shows by luck (per period and annualized), the best row's parameters, its
        Sharpe ratio and deflated Sharpe ratio, and the probability of backtest overfitting (CSCV) with its
        logits and number of splits. ``print()`` it for a paragraph in words.

        ``n_trials`` overrides ``N`` (default: the rows of ``scope`` actually simulated) when more
        combinations were tried than this sweep holds, e.g. in earlier sweeps; it deflates the Sharpe ratio
        further and does not change PBO, which ranks the rows at hand. See :meth:`best` for what the two
        statistics mean and ``ml4t.metrics`` for their definitions; they equal ``ml4t.metrics``' functions
        over the matrix of the rows' ``result(...).returns``, computed from moments and per-block sums the
        kernel keeps instead of the matrix. Computed once per scope and ``n_trials``.
        """
        if n_trials is not None and not is_number(n_trials):
            raise ConfigError(f"n_trials must be a number >= 1, got {n_trials!r}", argument="n_trials")
        key = (scope, None if n_trials is None else float(n_trials))
        if key not in self._overfitting:
            mask = self._scope_rows(scope)
            if not mask.any():
                raise ConfigError(
                    f"the sweep has no {scope!r} rows (symbols have rows of their own only without cash "
                    "sharing and with several symbols)",
                    argument="scope",
                )
            rows = self.metrics.filter(pl.Series(mask))
            keep = [*self.grid.names, "symbol"] if scope != "portfolio" else list(self.grid.names)
            labels = rows.select(keep).to_dicts()
            self._overfitting[key] = overfitting_of(
                self._stats.take(mask),
                labels,
                scope=scope,
                n_trials=key[1],
                periods_per_year=self.periods_per_year,
            )
        return self._overfitting[key]

    def _scope_rows(self, scope: str) -> np.ndarray:
        """The rows of :attr:`metrics` in ``scope``, as a boolean mask."""
        if scope not in _SCOPES:
            raise ConfigError(f"scope must be one of {list(_SCOPES)}, got {scope!r}", argument="scope")
        if self.metrics.height == 0:
            return np.zeros(0, dtype=bool)
        if scope == "all":
            return np.ones(self.metrics.height, dtype=bool)
        return (self.metrics["scope"] == scope).to_numpy()

    def result(self, *, symbol: str | None = None, **params: Any) -> Result:
        """The full ``Result`` of one combination of the sweep (re-simulated in detail): the whole portfolio,
        or with ``symbol=`` that symbol's own account (only when the symbols trade separate accounts, i.e.
        without cash sharing). Its ``.metrics`` are the numbers of the matching :attr:`metrics` row."""
        self.grid.check_combination(params, "result()")
        symbols = self.bars.symbols
        if symbol is None or (len(symbols) == 1 and symbol == symbols[0]):
            return self.strategy.run(self.bars, **params)
        if symbol not in symbols:
            raise ConfigError(
                f"symbol {symbol!r} is not in the sweep's bars; its symbols are {symbols[:20]}"
                f"{' ...' if len(symbols) > 20 else ''}",
                argument="symbol",
            )
        if self.strategy.settings.cash_sharing:
            raise ConfigError(
                f"result(symbol={symbol!r}): with cash_sharing=True the symbols share one account and have no "
                "equity of their own; use result(**params) and filter its orders, fills or trades by symbol",
                argument="symbol",
            )
        return self.strategy.run_symbol(self.bars, symbol, **params)

    def promote(self, **params: Any) -> Promoted:
        """One combination of the sweep as an event-driven run (``sweep.promote(fast=10, slow=50).run()``);
        see :func:`ml4t.promote`."""
        self.grid.check_combination(params, "promote()")
        return self.strategy.promote(self.bars, **params)

    def heatmap_data(
        self,
        x: str,
        y: str | None = None,
        metric: str = "sharpe_ratio",
        *,
        agg: str = "median",
        scope: str = "portfolio",
    ) -> pl.DataFrame:
        """One row per cell of the heatmap of ``metric`` over parameters ``x`` and ``y``: ``agg`` (median,
        mean, max or min) of the ``scope`` rows (``"portfolio"`` or ``"symbol"``) over every other parameter
        (and symbol), NaN rows left out, with ``n_rows``, ``n_nan`` and the stability of each cell's 3 x 3
        neighbourhood (``neighbourhood_mean``, ``_min``, ``_max``, ``_std``, ``_n``); without ``y``, one row
        per ``x`` value. See :func:`ml4t.report.heatmap_data` for the rule."""
        from ml4t.report._sweep import heatmap_data

        return heatmap_data(self, x, y, metric, agg=agg, scope=scope)

    def heatmap(
        self,
        x: str,
        y: str | None = None,
        metric: str = "sharpe_ratio",
        *,
        agg: str = "median",
        scope: str = "portfolio",
        descending: bool = True,
    ) -> Any:
        """A plotly figure of :meth:`heatmap_data`: the aggregate and each cell's worst neighbour (a plateau
        stays high), the best and the most robust cell marked, every number in the hover. ``descending=False``
        when lower is better (e.g. ``annual_volatility``). Without ``y`` (and for a sweep of one parameter):
        lines over ``x``."""
        from ml4t.report._sweep import plot_heatmap

        return plot_heatmap(self, x, y, metric, agg=agg, scope=scope, descending=descending)

    def report(
        self,
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
        """Write the sweep's one-file offline HTML report to ``path`` and return it: the sweep and its data
        fingerprint, the settings, the ``top`` combinations by ``metric`` with ``deflated_sharpe`` and ``pbo``,
        the overfitting statistics, the heatmap of ``metric`` over ``x`` and ``y`` (default: the first two
        parameters), the distribution of ``metric``, the best combination's equity and drawdown, and the
        lookahead audit's verdict when ``audit`` is given: an ``ml4t.audit.AuditReport``, e.g.
        ``ml4t.audit.lookahead(sweep.strategy, sweep.bars, params=best)``. ``descending=False`` when lower
        is better. See
        :func:`ml4t.report.report_sweep`."""
        from ml4t.report._sweep import report_sweep

        return report_sweep(
            self,
            path,
            metric=metric,
            x=x,
            y=y,
            top=top,
            audit=audit,
            descending=descending,
            title=title,
            max_points=max_points,
        )

    def __repr__(self) -> str:
        best = self.metrics.filter(pl.col("scope") == "portfolio")["sharpe_ratio"].fill_nan(None).max()
        text = (
            f"Sweep({len(self)} combinations of {list(self.grid.names)}, {self.metrics.height} rows; "
            f"best portfolio sharpe_ratio {best!r}"
        )
        if self.metrics.height:
            fit = self.overfitting()
            text += f", its deflated_sharpe {fit.deflated_sharpe:.3g}, pbo {fit.pbo:.3g}"
        return text + ")" + ("" if self.cache is None else "\n" + self.cache.summary())

"""``Sweep``: the result of ``VectorizedStrategy.sweep`` — one metrics row per combination (and symbol)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from ml4t import metrics as m
from ml4t.data import Bars
from ml4t.errors import ConfigError
from ml4t.result import Result
from ml4t.vectorized._promote import Promoted
from ml4t.vectorized._signals import Grid, Panel

if TYPE_CHECKING:
    from ml4t.vectorized._strategy import VectorizedStrategy

__all__ = ["Sweep", "sweep_metrics"]


def sweep_metrics(
    stats: Mapping[str, np.ndarray],
    grid: Grid,
    indices: Sequence[int],
    panel: Panel,
    settings: Mapping[str, Any],
    ppy: float,
) -> pl.DataFrame:
    """Metrics rows for one chunk from the kernel's per-group one-pass statistics; groups are combinations
    (cash sharing) or combination x symbol. Definitions are ``ml4t.metrics``' (statistics_from_moments)."""
    init_cash = settings["init_cash"]
    per_combo = 1 if settings["cash_sharing"] else len(panel.symbols)
    combos = np.repeat(np.asarray(indices), per_combo)
    columns: dict[str, Any] = {
        name: pl.Series(name, [grid.combos[c][k] for c in combos]) for k, name in enumerate(grid.names)
    }
    if per_combo > 1:
        columns["symbol"] = pl.Series("symbol", panel.symbols * len(indices), dtype=pl.String)
    columns |= m.statistics_from_moments(
        n_bars=panel.n_bars,
        count=stats["count"],
        mean=stats["mean"],
        m2=stats["m2"],
        low=stats["low"],
        high=stats["high"],
        downside_sq=stats["downside_sq"],
        total_return=stats["final_equity"] / init_cash - 1.0,
        max_drawdown=stats["max_drawdown"],
        periods_per_year=ppy,
    )
    columns |= {
        "trade_count": stats["closed_trades"],
        "open_trade_count": stats["open_trades"],
        "final_equity": stats["final_equity"],
    }
    return pl.DataFrame(columns)


class Sweep:
    """Every combination's metrics (``.metrics``), and any one combination's full ``Result``."""

    def __init__(
        self, strategy: VectorizedStrategy, bars: Bars, grid: Grid, parts: list[pl.DataFrame], periods_per_year: float
    ) -> None:
        self.strategy = strategy
        self.bars = bars
        self.grid = grid
        self.periods_per_year = periods_per_year
        self.metrics: pl.DataFrame = pl.concat(parts) if parts else pl.DataFrame()
        """One row per combination (per combination and symbol without cash sharing): the parameters,
        then ``total_return, annual_return, annual_volatility, sharpe_ratio, sortino_ratio, max_drawdown,
        calmar_ratio, trade_count`` (closed round trips), ``open_trade_count``, ``final_equity``."""

    @property
    def params(self) -> tuple[str, ...]:
        return self.grid.names

    def __len__(self) -> int:
        return len(self.grid.combos)

    def best(self, metric: str = "sharpe_ratio", n: int = 5, *, descending: bool = True) -> pl.DataFrame:
        """The ``n`` best rows by ``metric`` (NaN and null last)."""
        if metric not in self.metrics.columns:
            raise ConfigError(f"unknown metric {metric!r}; available: {self.metrics.columns}", argument="metric")
        key = pl.col(metric).fill_nan(None) if self.metrics.schema[metric].is_float() else pl.col(metric)
        return self.metrics.sort(key, descending=descending, nulls_last=True).head(n)

    def result(self, **params: Any) -> Result:
        """The full ``Result`` of one combination of the sweep (re-simulated in detail)."""
        if set(params) != set(self.grid.names):
            raise ConfigError(
                f"result() needs exactly the sweep's parameters {list(self.grid.names)}, got {sorted(params)}",
                argument="params",
            )
        key = tuple(params[n] for n in self.grid.names)
        if key not in set(self.grid.combos):
            for name, value in params.items():
                values = sorted({c[self.grid.names.index(name)] for c in self.grid.combos})
                if value not in values:
                    raise ConfigError(
                        f"{name}={value!r} is not in the sweep; its values are {values[:20]}"
                        f"{' ...' if len(values) > 20 else ''}",
                        argument=name,
                    )
            raise ConfigError(f"the combination {params} is not in the sweep", argument="params")
        return self.strategy.run(self.bars, **params)

    def promote(self, **params: Any) -> Promoted:
        """One combination of the sweep as an event-driven run (``sweep.promote(fast=10, slow=50).run()``);
        see :func:`ml4t.promote`."""
        if set(params) != set(self.grid.names):
            raise ConfigError(
                f"promote() takes exactly the sweep's parameters {sorted(self.grid.names)}, got {sorted(params)}",
                argument="params",
            )
        return Promoted(self.strategy, self.bars, params)

    def __repr__(self) -> str:
        best = self.metrics["sharpe_ratio"].fill_nan(None).max()
        return (
            f"Sweep({len(self)} combinations of {list(self.grid.names)}, {self.metrics.height} rows; "
            f"best sharpe_ratio {best!r})"
        )

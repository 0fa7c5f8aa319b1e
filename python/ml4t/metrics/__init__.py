"""The shared metrics module: one implementation of every statistic, for both modes.

Array functions take simple per-period returns, 1-D (one series -> a float) or 2-D (bars x series -> one
value per column, computed at once), with an explicit ``periods_per_year`` where a statistic is
annualized. :func:`summary` computes everything from a :class:`~ml4t.Result` as one row (its return
columns from one pass over the equity curve in the compiled core, with the same definitions, agreeing with
the array functions to the last bits of a sum; see :func:`summary`).
Definitions, conventions (annual risk-free rate, ``ddof=1``, NaN as missing, ruin is absorbing: the return
is -1 on the first bar with equity ``<= 0`` and there is none after) and the reference library they agree
with (empyrical) are in each function's docstring and in ``ml4t.metrics._returns``.
"""

from ml4t.metrics._activity import ACTIVITY_STATS_SCHEMA, activity_statistics
from ml4t.metrics._moments import statistics_from_moments
from ml4t.metrics._overfitting import (
    BlockSums,
    DeflatedSharpe,
    PBOResult,
    ReturnMoments,
    deflated_sharpe_from_moments,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    pbo_from_blocks,
    probabilistic_sharpe_ratio,
    probability_of_backtest_overfitting,
)
from ml4t.metrics._returns import (
    annual_return,
    annual_volatility,
    calmar_ratio,
    conditional_value_at_risk,
    cumulative_returns,
    downside_deviation,
    drawdown_series,
    max_drawdown,
    max_drawdown_duration,
    sharpe_ratio,
    sortino_ratio,
    total_return,
    value_at_risk,
)
from ml4t.metrics._summary import SUMMARY_SCHEMA, summary
from ml4t.metrics._trades import TRADE_STATS_SCHEMA, expectancy, profit_factor, trade_statistics, win_rate

__all__ = [
    "ACTIVITY_STATS_SCHEMA",
    "SUMMARY_SCHEMA",
    "TRADE_STATS_SCHEMA",
    "BlockSums",
    "DeflatedSharpe",
    "PBOResult",
    "ReturnMoments",
    "activity_statistics",
    "annual_return",
    "annual_volatility",
    "calmar_ratio",
    "conditional_value_at_risk",
    "cumulative_returns",
    "deflated_sharpe_from_moments",
    "deflated_sharpe_ratio",
    "downside_deviation",
    "drawdown_series",
    "expectancy",
    "expected_max_sharpe",
    "max_drawdown",
    "max_drawdown_duration",
    "pbo_from_blocks",
    "probabilistic_sharpe_ratio",
    "probability_of_backtest_overfitting",
    "profit_factor",
    "sharpe_ratio",
    "sortino_ratio",
    "statistics_from_moments",
    "summary",
    "total_return",
    "trade_statistics",
    "value_at_risk",
    "win_rate",
]

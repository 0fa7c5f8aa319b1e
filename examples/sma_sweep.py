"""examples/sma_sweep.toml written with the Python API: the same study, the same results (tests/config/
test_examples.py checks they are identical). Run: python examples/sma_sweep.py"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from ml4t import audit, validate
from ml4t.data import load_bars
from ml4t.vectorized import VectorizedStrategy

HERE = Path(__file__).parent


def sma_cross(fast: int, slow: int) -> dict[str, pl.Expr]:
    """Long while the fast moving average is above the slow one."""
    f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
    return {"entries": f > s, "exits": f < s}


def main() -> dict[str, Any]:
    bars = load_bars(HERE / "data/prices/*.csv", tz="America/New_York", session_close="16:00")
    strategy = VectorizedStrategy(sma_cross, execution="next_open", fees=0.001, init_cash=100_000)
    grid = {"fast": range(5, 55, 5), "slow": range(60, 210, 10)}
    sweep = strategy.sweep(bars, **grid)
    best = sweep.best("sharpe_ratio", n=1).row(0, named=True)
    chosen = {"fast": best["fast"], "slow": best["slow"]}
    splits = validate.walk_forward(bars, train="1y", test="3mo")
    walk = validate.walk_forward_sweep(strategy, bars, splits, metric="sharpe_ratio", **grid)
    return {
        "bars": bars,
        "sweep": sweep,
        "chosen": chosen,
        "result": strategy.run(bars, **chosen),
        "walk_forward": walk,
        "audit": audit.lookahead(strategy, bars, params=chosen, cuts=5),
    }


if __name__ == "__main__":
    out = main()
    print(f"chosen {out['chosen']}:")
    print(out["result"].metrics.select("total_return", "sharpe_ratio", "max_drawdown", "trade_count"))
    print(out["walk_forward"])
    print(out["audit"])

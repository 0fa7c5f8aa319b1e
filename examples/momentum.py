"""examples/momentum.toml written with the Python API: the same study, the same results (tests/config/
test_examples.py checks they are identical). Run: python examples/momentum.py"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

import ml4t
import ml4t.costs as costs
from ml4t.data import load_bars
from ml4t.vectorized import VectorizedStrategy

HERE = Path(__file__).parent


def top_k_momentum(k: int, lookback: int) -> dict[str, pl.Expr]:
    """1/k of equity in each of the k symbols (of 8) ranked highest by their return over ``lookback`` bars."""
    momentum = (pl.col("close") / pl.col("close").shift(lookback) - 1).over("symbol")
    rank = (momentum.rank("average") / momentum.count()).over("ts_event")
    return {"weights": pl.when(rank > 1 - k / 8).then(1 / k).otherwise(0.0)}


def main() -> dict[str, Any]:
    bars = load_bars(HERE / "data/prices/*.csv", tz="America/New_York", session_close="16:00")
    strategy = VectorizedStrategy(
        top_k_momentum, scope="panel", cash_sharing=True, rebalance="1mo", execution="next_open", fees=0.001
    )
    sweep = strategy.sweep(bars, k=[2, 3, 4], lookback=[21, 63, 126])
    best = sweep.best("sharpe_ratio", n=1).row(0, named=True)
    chosen = {"k": best["k"], "lookback": best["lookback"]}
    result = strategy.run(bars, **chosen)
    promoted = ml4t.promote(strategy, bars, **chosen).run(
        commission=costs.PerShare(0.005, minimum=1.0, maximum_rate=0.01), slippage=costs.Bps(5), participation=0.1
    )
    return {
        "bars": bars,
        "sweep": sweep,
        "chosen": chosen,
        "result": result,
        "promoted": promoted,
        "comparison": ml4t.compare(result, promoted),
    }


if __name__ == "__main__":
    out = main()
    print(f"chosen {out['chosen']}:")
    print(out["result"].metrics.select("total_return", "sharpe_ratio", "max_drawdown", "trade_count"))
    print(out["comparison"])

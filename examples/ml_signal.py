"""examples/ml_signal.toml written with the Python API: the same study, the same results (tests/config/
test_examples.py checks they are identical). Run: python examples/ml_signal.py"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from ml4t import audit
from ml4t.data import align_signals, load_bars, signals
from ml4t.vectorized import VectorizedStrategy

HERE = Path(__file__).parent


def above(th: float) -> dict[str, pl.Expr]:
    """Long while the forecast exceeds ``th``, out when it turns negative."""
    return {"entries": pl.col("prediction") > th, "exits": pl.col("prediction") < 0}


def main() -> dict[str, Any]:
    bars = load_bars(HERE / "data/prices/*.csv", tz="America/New_York", session_close="16:00")
    forecasts = signals(
        pl.read_csv(HERE / "data/predictions.csv"),
        ts_arrival="30m",
        train_end="2021-12-31T23:59:00Z",
        embargo="5d",
    )
    scored = align_signals(bars, forecasts)
    strategy = VectorizedStrategy(
        above, cash_sharing=True, size=0.2, size_type="percent", fees=0.001, execution="next_open"
    )
    sweep = strategy.sweep(scored, th=[0.0, 0.001, 0.002, 0.004])
    best = sweep.best("sharpe_ratio", n=1).row(0, named=True)
    chosen = {"th": best["th"]}
    return {
        "bars": scored,
        "sweep": sweep,
        "chosen": chosen,
        "result": strategy.run(scored, **chosen),
        "audit": audit.lookahead(strategy, scored, params=chosen, strict=True),
    }


if __name__ == "__main__":
    out = main()
    print(f"chosen {out['chosen']}:")
    print(out["result"].metrics.select("total_return", "sharpe_ratio", "max_drawdown", "trade_count"))
    print(out["audit"])

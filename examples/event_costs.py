"""examples/event_costs.toml written with the Python API: the same run, the same results (tests/config/
test_examples.py checks they are identical). Run: python examples/event_costs.py"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import ml4t.costs as costs
from ml4t import audit
from ml4t.data import load_bars
from ml4t.event import Engine

try:
    from strategies import SmaCrossWithStop
except ImportError:  # imported from elsewhere (the tests): the module beside this file
    from examples.strategies import SmaCrossWithStop  # type: ignore[no-redef]

HERE = Path(__file__).parent
SETTINGS: dict[str, Any] = {
    "init_cash": 100_000,
    "commission": costs.PerShare(0.005, minimum=1.0, maximum_rate=0.01),
    "slippage": costs.Bps(5),
    "participation": 0.1,
}


def main() -> dict[str, Any]:
    bars = load_bars(HERE / "data/prices/*.csv", tz="America/New_York", session_close="16:00")
    bars = bars.select(["ALFA", "CHRL"])
    params = {"fast": 20, "slow": 100, "stop": 0.08}
    result = Engine(bars, SmaCrossWithStop(**params), **SETTINGS).run()
    return {
        "bars": bars,
        "result": result,
        "audit": audit.lookahead(functools.partial(SmaCrossWithStop, **params), bars, engine=SETTINGS, cuts=3),
    }


if __name__ == "__main__":
    out = main()
    print(out["result"].metrics.select("total_return", "sharpe_ratio", "max_drawdown", "trade_count"))
    print(out["result"].orders["status"].value_counts())
    print(out["audit"])

"""Generated study configs for the config tests: a Hypothesis strategy of valid configs (as plain dicts) and a
TOML writer written by hand (a reference independent of the loader)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st


def toml_value(value: Any) -> str:
    """A TOML inline value written by hand (a reference independent of the loader); None has no TOML form, so a
    table drops its None entries (the schema's default for every optional key)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items() if v is not None) + "}"


def toml_document(doc: dict[str, Any], *, sections: bool) -> str:
    """``doc`` as TOML: every entry ``key = <inline value>``, or (``sections``) tables as ``[section]`` headers
    and lists of tables as ``[[section]]``."""
    head, tail = [], []
    for key, value in doc.items():
        if value is None:
            continue
        if sections and isinstance(value, dict):
            tail.append(f"[{json.dumps(key)}]")
            tail += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items() if v is not None]
        elif sections and isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for item in value:
                tail.append(f"[[{json.dumps(key)}]]")
                tail += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in item.items() if v is not None]
        else:
            head.append(f"{json.dumps(key)} = {toml_value(value)}")
    return "\n".join(head + tail) + "\n"


names = st.from_regex(r"[a-z][a-z0-9_-]{0,8}", fullmatch=True)
dates = st.dates().map(lambda d: d.isoformat())
expressions = st.sampled_from(
    ["close > sma(close, fast)", "sma(close, fast) < sma(close, slow)", "crossed_above(close, ema(close, slow))"]
)
synthetic = st.fixed_dictionaries(
    {},
    optional={
        "n_assets": st.integers(1, 50),
        "n_bars": st.integers(2, 10_000),
        "freq": st.sampled_from(["1d", "1h"]),
        "seed": st.integers(0, 2**31),
        "start": dates,
        "calendar": st.just("24/7"),
    },
)
paths = st.sampled_from(["bars.parquet", "/data/bars.csv", "daily/*.parquet"])
data = st.one_of(
    st.fixed_dictionaries({"synthetic": synthetic}),
    st.fixed_dictionaries(
        {"path": st.one_of(paths, st.lists(paths, min_size=1, max_size=2))},
        optional={
            "format": st.sampled_from(["csv", "parquet"]),
            "tz": st.just("America/New_York"),
            "label": st.sampled_from(["left", "right"]),
            "adjust": st.booleans(),
            "session_close": st.just("16:00"),
        },
    ),
).flatmap(
    lambda d: st.fixed_dictionaries(
        {k: st.just(v) for k, v in d.items()},
        optional={
            "universe": st.lists(st.sampled_from(["A", "B", "C"]), max_size=3, unique=True),
            "start": dates,
            "end": dates,
            "features": st.dictionaries(names, st.sampled_from(["pct_change(close)", "zscore(close, 20)"]), max_size=2),
        },
    )
)
signal = st.fixed_dictionaries(
    {"path": st.sampled_from(["preds.parquet", "/p/preds.csv"])},
    optional={"ts_arrival": st.sampled_from(["2h", "published_at"]), "allow_in_sample": st.booleans()},
) | st.fixed_dictionaries({"path": st.just("p.csv"), "train_end": dates, "embargo": st.just("1d")})
strategy = st.fixed_dictionaries(
    {
        # the exits read both parameters (a parameter no rule reads is refused)
        "rules": st.fixed_dictionaries(
            {"entries": expressions, "exits": st.just("sma(close, fast) < sma(close, slow)")}
        ),
        "params": st.fixed_dictionaries({"fast": st.integers(1, 20), "slow": st.integers(21, 200)}),
    }
) | st.fixed_dictionaries({"ref": st.just("my_pkg.signals:sma_cross")}, optional={"params": st.just({"k": 1.5})})
vector_settings = st.fixed_dictionaries(
    {},
    optional={
        "execution": st.sampled_from(["close", "next_open"]),
        "init_cash": st.floats(1, 1e9),
        "fees": st.floats(0, 0.01),
        "slippage": st.floats(0, 0.01),
        "cash_sharing": st.booleans(),
        "sl_stop": st.floats(0.01, 0.5),
        "size_type": st.just("value"),
    },
)
axis = st.lists(st.integers(1, 100), min_size=1, max_size=4) | st.integers(1, 50).map(
    lambda a: {"start": a, "stop": a + 10, "step": 5}
)
sweep = st.fixed_dictionaries(
    {"grid": st.fixed_dictionaries({"fast": axis}, optional={"slow": axis})},
    optional={"metric": st.just("total_return"), "descending": st.booleans(), "scope": st.just("symbol")},
)
span = st.integers(20, 500) | st.sampled_from(["1y", "6mo"])
optional_sections = {
    "name": names,
    "signals": st.lists(signal, max_size=2),
    "settings": vector_settings,
    "audit": st.fixed_dictionaries({}, optional={"cuts": st.integers(1, 9), "strict": st.booleans()}),
    "report": st.fixed_dictionaries({}, optional={"html": st.booleans(), "title": names}),
    "executor": st.fixed_dictionaries({}, optional={"chunk_size": st.integers(1, 10**6), "progress": st.booleans()})
    | st.fixed_dictionaries(
        {"kind": st.sampled_from(["processes", "dask", "ray"])}, optional={"workers": st.integers(1, 64)}
    )
    | st.fixed_dictionaries(
        {"kind": st.just("dask"), "address": st.sampled_from(["tcp://10.0.0.5:8786", "localhost:8786"])}
    )
    | st.fixed_dictionaries({"kind": st.just("ray"), "address": st.sampled_from(["auto", "ray://head:10001"])}),
    "promote": st.fixed_dictionaries(
        {}, optional={"account": st.just("margin"), "participation": st.floats(0.01, 1), "latency": st.just("50ms")}
    ),
}


@st.composite
def configs(draw: st.DrawFn) -> dict[str, Any]:
    config = draw(st.fixed_dictionaries({"data": data, "strategy": strategy}, optional=optional_sections))
    if draw(st.booleans()):
        config["sweep"] = draw(sweep)
        if draw(st.booleans()):
            config["validation"] = {"walk_forward": draw(st.fixed_dictionaries({"train": span, "test": span}))}
    return config

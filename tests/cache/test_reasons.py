"""Miss reasons (issue #16): what changed between the description kept for a slot and the current one."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ml4t.data
from ml4t.cache import Key, block_hashes, describe, explain_miss, key_of
from ml4t.cache._reasons import BLOCK_ROWS
from ml4t.errors import ConfigError

START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
N = 1_500  # rows per symbol: one full block and one of 500


def frame(symbols: tuple[str, ...] = ("ALFA", "BETA"), n: int = N) -> pl.DataFrame:
    rows = [
        {
            "timestamp": START + dt.timedelta(days=i),
            "symbol": s,
            "open": 10.0 + i % 7,
            "high": 12.0 + i % 7,
            "low": 9.0 + i % 7,
            "close": 11.0 + i % 7,
            "volume": 100.0 + i,
        }
        for s in symbols
        for i in range(n)
    ]
    return pl.DataFrame(rows).with_columns(pl.col("timestamp").cast(pl.Datetime("ns", "UTC")))


def edit(bars: ml4t.data.Bars, symbol: str, days: list[int], column: str, delta: Any) -> ml4t.data.Bars:
    """``bars`` with ``column`` moved by ``delta`` on the given days (offsets from START) of ``symbol``."""
    when = [START + dt.timedelta(days=d) for d in days]
    hit = (pl.col("symbol") == symbol) & pl.col("ts_event").is_in(when)
    changed = bars.frame.with_columns(pl.when(hit).then(pl.col(column) + delta).otherwise(pl.col(column)).alias(column))
    return ml4t.data.bars(changed)


@pytest.fixture(scope="module")
def base() -> ml4t.data.Bars:
    return ml4t.data.bars(frame())


def desc(bars: ml4t.data.Bars, **changes: Any) -> dict[str, Any]:
    args: dict[str, Any] = {"expressions": {"entries": pl.col("close") > 11}, "params": {"fast": 10}} | changes
    key = key_of("signals", data=bars.fingerprint(), **args)
    assert isinstance(key, Key)
    return json.loads(json.dumps(describe(key, data=bars)))  # as the store keeps it: JSON text


def test_first_run(base):
    assert explain_miss(None, desc(base)) == "first run"
    assert explain_miss({}, desc(base)) == "first run"


def test_a_changed_price_names_the_row_its_symbol_and_its_time(base):
    changed = edit(base, "ALFA", [121], "close", 0.5)  # 2024-05-01
    reason = explain_miss(desc(base), desc(changed), previous_data=base, current_data=changed)
    assert reason == "data changed: 1 row of ALFA from 2024-05-01"


def test_without_the_rows_the_reason_names_the_block(base):
    changed = edit(base, "BETA", [1_200, 1_203, 1_499], "volume", 1.0)
    assert explain_miss(desc(base), desc(changed)) == "data changed: BETA in the 500 rows from 2026-09-27"
    with_rows = explain_miss(desc(base), desc(changed), previous_data=base, current_data=changed)
    assert with_rows == "data changed: 3 rows of BETA from 2027-04-15"
    assert (START + dt.timedelta(days=BLOCK_ROWS)).date().isoformat() == "2026-09-27"


def test_a_changed_arrival_time_is_a_data_change(base):
    changed = edit(base, "ALFA", [3], "ts_arrival", dt.timedelta(hours=1))
    assert changed.fingerprint() != base.fingerprint()
    reason = explain_miss(desc(base), desc(changed), previous_data=base, current_data=changed)
    assert reason == "data changed: 1 row of ALFA from 2024-01-04"


def test_appended_rows_and_new_symbols(base):
    longer = ml4t.data.bars(frame(n=N + 5))
    reason = explain_miss(desc(base), desc(longer), previous_data=base, current_data=longer)
    assert reason == "data changed: 5 rows of ALFA from 2028-02-09, 5 rows of BETA from 2028-02-09"
    wider = ml4t.data.bars(frame(("ALFA", "BETA", "GAMA")))
    assert explain_miss(desc(base), desc(wider)) == "data changed: GAMA added"
    assert explain_miss(desc(wider), desc(base)) == "data changed: GAMA removed"


def test_a_change_outside_the_rows(base):
    declared = ml4t.data.bars(frame(), freq="1d")
    assert declared.fingerprint() != base.fingerprint()
    assert explain_miss(desc(base), desc(declared)) == (
        "data changed (not in the rows: the universe, the frequency or a column's type)"
    )


def test_versions_expressions_and_parameters(base):
    before = desc(base)
    assert explain_miss(before, desc(base, versions={"ml4t": "0.2.0"})).startswith("ml4t ")
    assert explain_miss(desc(base, versions={"ml4t": "0.1.0"}), desc(base, versions={"ml4t": "0.2.0"})) == (
        "ml4t 0.1.0 -> 0.2.0"
    )
    entries = {"entries": pl.col("close") > 12}
    assert explain_miss(before, desc(base, expressions=entries)) == "expression changed: entries"
    both = {"entries": pl.col("close") > 11, "exits": pl.col("close") < 10}
    assert explain_miss(before, desc(base, expressions=both)) == "expression changed: exits (added)"
    assert explain_miss(before, desc(base, params={"fast": 20})) == "parameters changed: fast 10 -> 20"
    assert explain_miss(before, desc(base, params={"fast": 10.0})) == "parameters changed: fast 10 -> 10.0"
    assert explain_miss(before, desc(base, params={"fast": True})) == "parameters changed: fast 10 -> True"
    assert explain_miss(before, desc(base, params={"fast": 10, "slow": 30})) == "parameters changed: slow added (30)"


def test_several_reasons_in_one_line(base):
    changed = edit(base, "ALFA", [121], "close", 0.5)
    before = desc(base, versions={"ml4t": "0.1.0"})
    after = desc(
        changed, versions={"ml4t": "0.2.0"}, expressions={"entries": pl.col("close") > 12}, params={"fast": 20}
    )
    assert explain_miss(before, after) == (
        "ml4t 0.1.0 -> 0.2.0; data changed: ALFA in the 1,000 rows from 2024-01-01; expression changed: entries; "
        "parameters changed: fast 10 -> 20"
    )


def test_the_same_key_missing_means_the_entry_was_not_there(base):
    assert explain_miss(desc(base), desc(base)) == "the entry was not in the cache (evicted, removed or damaged)"


@settings(max_examples=25, deadline=None)
@given(
    st.sampled_from(["ALFA", "BETA"]),
    st.integers(0, N - 1),
    st.sampled_from([("high", 1.0), ("low", -1.0), ("volume", 5.0), ("ts_arrival", dt.timedelta(seconds=1))]),
)
def test_one_edited_value_changes_the_key_and_is_found(base, symbol, day, change):
    changed = edit(base, symbol, [day], *change)
    before, after = desc(base), desc(changed)
    assert before["key"] != after["key"]
    when = START + dt.timedelta(days=day)
    reason = explain_miss(before, after, previous_data=base, current_data=changed)
    assert reason == f"data changed: 1 row of {symbol} from {when.date().isoformat()}"
    block = day // BLOCK_ROWS * BLOCK_ROWS
    rows = min(BLOCK_ROWS, N - block)
    first = (START + dt.timedelta(days=block)).date().isoformat()
    assert explain_miss(before, after) == f"data changed: {symbol} in the {rows:,} rows from {first}"


def test_block_hashes_are_the_same_in_another_process(base, tmp_path):
    path = tmp_path / "bars.parquet"
    base.frame.write_parquet(path)
    code = (
        "import json, sys, polars as pl; from ml4t.cache import block_hashes; "
        f"print(json.dumps(block_hashes(pl.read_parquet({str(path)!r}))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(out.stdout) == json.loads(json.dumps(block_hashes(base)))
    blocks = block_hashes(base)["symbols"]["ALFA"]
    assert [b[1] for b in blocks] == [BLOCK_ROWS, N - BLOCK_ROWS]


def test_bad_arguments_are_config_errors_naming_them(base):
    with pytest.raises(ConfigError) as info:
        block_hashes(pl.DataFrame({"x": [1]}))
    assert info.value.argument == "data"
    with pytest.raises(ConfigError) as info:
        describe("abc")  # type: ignore[arg-type]
    assert info.value.argument == "key"
    with pytest.raises(ConfigError) as info:
        explain_miss(desc(base), {"key": "x"})
    assert info.value.argument == "current"

"""``ml4t init``: the commented example study loads and runs as written, shows every key of the schema with
its default, lists the expression language's functions and the cost models, and never overwrites a file
unless asked."""

from __future__ import annotations

import re
import tomllib
import types
import typing
from typing import Any

import msgspec
import polars as pl
import pytest

import ml4t.costs as costs
from ml4t.cli import main
from ml4t.config import FUNCTIONS, Config, compile_expr, load
from ml4t.config._init import TEMPLATE, example
from ml4t.config._schema import RULE_KEYS
from ml4t.datasets import synthetic_bars
from ml4t.settings import EngineSettings, VectorizedSettings
from ml4t.vectorized import VectorizedStrategy

KEY_LINE = re.compile(r'^# ((\[\[?[\w.]+\]\]?)|([\w."]+\s*=))')
"""A commented-out TOML line of the template: a header or a key (prose never starts with one)."""


def uncommented(text: str) -> str:
    """The template with every commented-out header and key line made active."""
    return "\n".join(line[2:] if KEY_LINE.match(line) else line for line in text.splitlines())


def shown() -> dict[str, Any]:
    """Every key the template shows, commented out or not, as TOML reads it."""
    return tomllib.loads(uncommented(TEMPLATE))


def test_ml4t_init_writes_a_study_that_loads_as_written(tmp_path, capsys):
    path = tmp_path / "study.toml"
    assert main(["init", str(path)]) == 0
    assert capsys.readouterr().out.strip() == str(path)
    assert path.read_text() == example()
    loaded = load(path)
    assert loaded.config.data.synthetic is not None and loaded.config.data.path is None
    assert loaded.config.sweep is None and loaded.config.signals == []  # the optional sections are commented out
    assert loaded.settings == VectorizedSettings()


def test_the_default_path_and_no_overwrite(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    written = tmp_path / "study.toml"
    assert written.read_text() == example()
    written.write_text("mine")
    assert main(["init"]) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    assert written.read_text() == "mine"
    assert main(["init", "--force"]) == 0
    assert written.read_text() == example()
    assert main(["init", str(tmp_path / "missing" / "s.toml")]) == 2


def test_the_example_runs_like_the_python_it_stands_for(tmp_path):
    """The example, run through the Python API by hand: synthetic bars, its feature, its rules, its params."""
    path = tmp_path / "study.toml"
    path.write_text(example())
    config = load(path).config
    assert config.data.synthetic is not None
    synthetic = config.data.synthetic
    bars = synthetic_bars(n_assets=synthetic.n_assets, n_bars=synthetic.n_bars, freq=synthetic.freq, seed=0)
    bars = bars.with_features(ret=pl.col("close").pct_change().over("symbol"))

    def rules(fast: int, slow: int) -> dict[str, pl.Expr]:
        f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
        return {"entries": (f > s) & (f.shift(1) <= s.shift(1)), "exits": (f < s) & (f.shift(1) >= s.shift(1))}

    def from_config(fast: int, slow: int) -> dict[str, pl.Expr]:
        return {k: compile_expr(v, params={"fast": fast, "slow": slow}) for k, v in config.strategy.rules.items()}

    by_hand = VectorizedStrategy(rules).run(bars, **config.strategy.params)
    configured = VectorizedStrategy(from_config).run(bars, **config.strategy.params)
    assert by_hand.metrics["trade_count"][0] > 0
    assert configured.metrics.equals(by_hand.metrics)


def fields(cls: type) -> dict[str, msgspec.structs.FieldInfo]:
    return {f.encode_name: f for f in msgspec.structs.fields(cls)}


def is_struct(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, msgspec.Struct)


def tables() -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    """Each table of the schema (found by walking the structs, so a new section or key is found too) with
    its keys and their defaults; the settings tables are the mode's settings, the rules' keys RULE_KEYS."""
    out: list[tuple[tuple[str, ...], dict[str, Any]]] = []

    def walk(cls: type, path: tuple[str, ...]) -> None:
        found = fields(cls)
        out.append((path, {k: f.default for k, f in found.items()}))
        hints = typing.get_type_hints(cls)
        for key, f in found.items():
            tp = hints[f.name]
            union = typing.get_origin(tp) in (typing.Union, types.UnionType)
            for member in typing.get_args(tp) if union else (tp,):
                args = typing.get_args(member)
                if is_struct(member):
                    walk(member, (*path, key))
                elif typing.get_origin(member) is list and is_struct(args[0]):
                    walk(args[0], (*path, key, "0"))
                elif typing.get_origin(member) is dict:
                    for value in typing.get_args(args[1]) or (args[1],):
                        if is_struct(value):
                            walk(value, (*path, key, "*"))

    walk(Config, ())
    out.append((("settings",), {k: f.default for k, f in fields(VectorizedSettings).items()}))
    out.append((("promote",), {k: f.default for k, f in fields(EngineSettings).items()}))
    out.append((("strategy", "rules"), dict.fromkeys(RULE_KEYS, msgspec.NODEFAULT)))
    return out


def at(document: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    node: Any = document
    for part in path:
        if part == "*":  # any entry of a map that is a table (a range axis of the grid)
            node = next(v for v in node.values() if isinstance(v, dict))
        else:
            node = node[int(part)] if isinstance(node, list) else node[part]
    return typing.cast(dict[str, Any], node)


def test_every_key_of_the_schema_is_shown():
    document = shown()
    for path, keys in tables():
        missing = set(keys) - set(at(document, path))
        assert not missing, f"the template does not show {sorted(missing)} in [{'.'.join(path)}]"


def test_a_commented_out_key_shows_its_default_and_an_active_one_says_it():
    defaults = {path: keys for path, keys in tables()}
    table: tuple[str, ...] = ()
    checked = set()
    for line in TEMPLATE.splitlines():
        header = re.match(r"^(?:# )?\[\[?([\w.]+)\]\]?", line)
        if header:
            table = tuple(header.group(1).split("."))
            table = (*table, "0") if line.lstrip("# ").startswith("[[") else table
            continue
        key = re.match(r"^(# )?([\w.]+)\s*=", line)
        if not key:
            continue
        *inner, name = (*table, *key.group(2).split("."))
        default = defaults.get(tuple(inner), {}).get(name, msgspec.NODEFAULT)
        comment = line.split("  # ", 1)[1] if "  # " in line else ""
        if default in (None, {}) or default is msgspec.NODEFAULT:
            assert "(default" not in comment or "(default: none" in comment, line
            continue
        value = tomllib.loads(uncommented(line).split("  # ", 1)[0])
        if key.group(1):  # commented out: the value shown is the default
            assert value[key.group(2).split(".")[0]] == default or list(value.values()) == [default], line
        else:
            assert f"(default {default})" in comment, line
        checked.add((*inner, name))
    expected = {
        (*path, key)
        for path, keys in tables()
        if "*" not in path
        for key, default in keys.items()
        if default not in (None, {}, [])
        and default is not msgspec.NODEFAULT
        and not isinstance(default, msgspec.Struct)
    }
    assert checked == expected


def test_the_reference_lists_come_from_the_code():
    text = example()
    for fn in FUNCTIONS.values():
        assert f"#   {fn.signature}: {fn.doc}" in text
    for name in costs.__all__:
        model = getattr(costs, name)
        if isinstance(model, type) and model not in (costs.Commission, costs.Slippage):
            assert re.search(rf"^#   {name}\(", text, re.M), name


@pytest.mark.parametrize("key", list(RULE_KEYS))
def test_each_rule_example_is_in_the_language(key):
    (line,) = [ln for ln in TEMPLATE.splitlines() if re.match(rf"^(# )?rules\.{key} = ", ln)]
    text = tomllib.loads(uncommented(line).split("  # ", 1)[0])["rules"][key]
    compile_expr(text, params={"fast": 10, "slow": 50})

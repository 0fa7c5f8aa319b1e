"""``ml4t schema`` and the config's JSON Schema: valid JSON a Draft 2020-12 validator accepts, and in agreement
with ``ml4t.config.load`` on which configs are valid, for everything a schema can say (keys, types, ranges,
choices, required sections, the rule keys, the cost models' names). What only ``load`` refuses is listed here
by name: the expression language, the rules between keys and sections, the settings' rules between fields,
a cost model's arguments, and a setting of the other mode (``settings`` is either mode's settings)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.config.strategies import configs

from ml4t._kernel.keys import KEYS
from ml4t.cli import main
from ml4t.config import ConfigFileError, json_schema, loads
from ml4t.config._schema import RULE_KEYS

VALIDATOR = jsonschema.Draft202012Validator(json_schema())


def schema_accepts(config: dict[str, Any]) -> bool:
    return VALIDATOR.is_valid(config)


def load_accepts(config: dict[str, Any]) -> bool:
    try:
        loads(json.dumps(config), format="json")
    except ConfigFileError:
        return False
    return True


BASE: dict[str, Any] = {
    "data": {"synthetic": {"n_assets": 2}},
    "strategy": {"rules": {"entries": "close > sma(close, n)"}, "params": {"n": 5}},
}


def with_(path: str, value: Any) -> dict[str, Any]:
    """BASE with ``path`` (dotted) set to ``value``."""
    config = json.loads(json.dumps(BASE))
    node = config
    *parents, last = path.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    return config


def test_ml4t_schema_prints_the_json_schema(capsys):
    assert main(["schema"]) == 0
    out = capsys.readouterr().out

    def refuse(constant: str) -> None:
        raise AssertionError(f"not JSON: {constant}")

    assert json.loads(out, parse_constant=refuse) == json_schema()
    jsonschema.Draft202012Validator.check_schema(json.loads(out))


def test_the_rule_keys_are_the_signal_functions_keys():
    assert tuple(RULE_KEYS) == KEYS


BOTH_REFUSE = {
    "an unknown section": with_("sweeep", {}),
    "an unknown key": with_("data.synthetic.sed", 1),
    "a wrong type": with_("data.synthetic.n_bars", "many"),
    "out of range": with_("data.synthetic.n_assets", 0),
    "a choice": with_("data.label", "rigth"),
    "version 2": with_("version", 2),
    "a bad name": with_("name", "has space"),
    "a bad ref": with_("strategy", {"ref": "os.system"}),
    "a missing section": {"data": BASE["data"]},
    "a missing grid": with_("sweep", {"metric": "sharpe_ratio"}),
    "a signals file without path": with_("signals", [{"ts_event": "t"}]),
    "an unknown setting": with_("settings", {"fess": 0.1}),
    "a setting out of range": with_("settings", {"fees": 2.0}),
    "a setting of a wrong type": with_("settings", {"cash_sharing": "yes"}),
    "an unknown cost model": with_("settings", {"commission": {"model": "Percnt", "rate": 0.1}}),
    "a cost model without a model": with_("settings", {"commission": {"rate": 0.1}}),
    "an unknown rule key": with_("strategy.rules.entires", "close > 1"),
    "a non-text rule": with_("strategy.rules.exits", 1),
    "an unknown promote setting": with_("promote", {"acount": "margin"}),
    "a negative range step": with_("sweep", {"grid": {"n": {"start": 1, "stop": 5, "step": -1}}}),
    "an unknown executor kind": with_("executor", {"kind": "cluster"}),
    "no workers": with_("executor", {"kind": "processes", "workers": 0}),
    "an address that is not one": with_("executor", {"kind": "dask", "address": "somewhere"}),
}

LOAD_ONLY = {
    "an expression reading the future": with_("strategy.rules.exits", "lag(close, -1) > close"),
    "an expression outside the language": with_("strategy.rules.exits", '__import__("os")'),
    "a feature outside the language": with_("data.features", {"f": "close.shift(-1)"}),
    "both path and synthetic": with_("data.path", "bars.csv"),
    "both rules and ref": with_("strategy.ref", "pkg.mod:fn"),
    "an embargo without train_end": with_("signals", [{"path": "p.csv", "embargo": "1d"}]),
    "walk-forward without a sweep": with_("validation", {"walk_forward": {"train": 100, "test": 20}}),
    "an empty grid axis": with_("sweep", {"grid": {"n": []}}),
    "an empty range": with_("sweep", {"grid": {"n": {"start": 5, "stop": 5}}}),
    "commission and fees together": with_(
        "settings", {"fees": 0.001, "commission": {"model": "Percent", "rate": 1e-3}}
    ),
    "leverage on a cash account": with_("promote", {"leverage": 2.0}),
    "a cost model's unknown argument": with_("settings", {"commission": {"model": "Percent", "rtae": 0.1}}),
    "an event setting in vectorized mode": with_("settings", {"account": "margin"}),
    "a calendar period that is not one": with_("settings", {"rebalance": "fortnightly"}),
    "workers on the local kernel": with_("executor", {"kind": "local", "workers": 2}),
    "an address on a local pool": with_("executor", {"kind": "processes", "address": "tcp://h:8786"}),
    "a Ray address for Dask": with_("executor", {"kind": "dask", "address": "auto"}),
    "workers and an address": with_("executor", {"kind": "dask", "workers": 2, "address": "tcp://h:8786"}),
}


BOTH_ACCEPT = {
    "a slippage model in vectorized mode": with_("settings", {"slippage": {"model": "Bps", "bps": 5}}),
    "a slippage rate": with_("settings", {"slippage": 0.001}),
    "an unlimited size": with_("settings", {"size": float("inf")}),
    "a commission model": with_("promote", {"commission": {"model": "PerShare", "per_share": 0.01}}),
    "an integer and a float range": {
        **with_("sweep", {"grid": {"n": {"start": 5, "stop": 9}, "x": {"start": 0.5, "stop": 1, "step": 0.25}}}),
        "strategy": {"rules": {"entries": "close > sma(close, n) * x"}},
    },
    "every rule key": with_("strategy.rules", dict.fromkeys(KEYS[:7], "close > n")),
    "a process pool": with_("executor", {"kind": "processes", "workers": 2}),
    "a Dask scheduler": with_("executor", {"kind": "dask", "address": "tcp://10.0.0.5:8786"}),
    "a local Dask cluster": with_("executor", {"kind": "dask", "workers": 2}),
    "a Ray cluster": with_("executor", {"kind": "ray", "address": "ray://head:10001"}),
    "an event strategy": {
        "data": BASE["data"],
        "strategy": {"mode": "event", "ref": "pkg.mod:Strat"},
        "settings": {"account": "margin"},
    },
}


@pytest.mark.parametrize("name", sorted(BOTH_ACCEPT))
def test_what_the_schema_accepts_load_accepts(name):
    config = BOTH_ACCEPT[name]
    assert schema_accepts(config), list(VALIDATOR.iter_errors(config))
    assert load_accepts(config)


@pytest.mark.parametrize("name", sorted(BOTH_REFUSE))
def test_what_the_schema_refuses_load_refuses(name):
    config = BOTH_REFUSE[name]
    assert not schema_accepts(config)
    assert not load_accepts(config)


@pytest.mark.parametrize("name", sorted(LOAD_ONLY))
def test_what_only_load_refuses(name):
    config = LOAD_ONLY[name]
    assert schema_accepts(config), "the schema can say this one: move it to BOTH_REFUSE"
    assert not load_accepts(config)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=configs(), section=st.sampled_from(["data", "strategy", "settings", "audit", "report", "executor"]))
def test_every_valid_config_is_valid_for_the_schema_and_an_unknown_key_for_neither(config, section):
    assert load_accepts(config)
    assert schema_accepts(config), list(VALIDATOR.iter_errors(config))
    resolved = loads(json.dumps(config), format="json").resolved
    assert schema_accepts(resolved)  # what a run folder stores, nulls included
    config.setdefault(section, {})["zz_unknown"] = 1
    assert not schema_accepts(config)
    assert not load_accepts(config)

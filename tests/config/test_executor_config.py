"""``[executor]`` in a study config (issue #17): ``kind`` (local, processes, dask, ray), ``workers`` and ``address``,
checked key by key, then together, every problem at once with its line; never part of the run id."""

from __future__ import annotations

from typing import Any

import pytest

from ml4t.config import ConfigFileError, loads
from ml4t.config._schema import ExecutorConfig

BASE = """\
[data]
synthetic = { n_assets = 2, n_bars = 200 }
[strategy]
rules.entries = "close > 1"
[executor]
"""
FIRST = BASE.count("\n") + 1  # the line of the first key under [executor]


def executor(text: str) -> ExecutorConfig:
    return loads(BASE + text).config.executor


def problems(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(ConfigFileError) as caught:
        loads(BASE + text)
    return [(p.line, p.path, p.message) for p in caught.value.problems]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", {"kind": "local", "workers": None, "address": None}),
        ('kind = "processes"', {"kind": "processes", "workers": None, "address": None}),
        ('kind = "processes"\nworkers = 3', {"kind": "processes", "workers": 3, "address": None}),
        ('kind = "dask"\nworkers = 2', {"kind": "dask", "workers": 2, "address": None}),
        ('kind = "dask"\naddress = "tcp://10.0.0.5:8786"', {"kind": "dask", "address": "tcp://10.0.0.5:8786"}),
        ('kind = "dask"\naddress = "10.0.0.5:8786"', {"kind": "dask", "address": "10.0.0.5:8786"}),
        ('kind = "ray"', {"kind": "ray", "workers": None, "address": None}),
        ('kind = "ray"\nworkers = 4', {"kind": "ray", "workers": 4}),
        ('kind = "ray"\naddress = "auto"', {"kind": "ray", "address": "auto"}),
        ('kind = "ray"\naddress = "ray://head:10001"', {"kind": "ray", "address": "ray://head:10001"}),
    ],
)
def test_the_kinds_and_their_keys(text: str, expected: dict[str, Any]):
    got = executor(text)
    assert {key: getattr(got, key) for key in expected} == expected


@pytest.mark.parametrize(
    ("text", "path", "says"),
    [
        ('kind = "dsak"', "executor.kind", "did you mean 'dask'?"),
        ('kind = "processes"\nworkers = 0', "executor.workers", ">= 1"),
        ('kind = "processes"\nworkers = 1.5', "executor.workers", "int"),
        ('kind = "dask"\naddress = "somewhere"', "executor.address", "tcp://10.0.0.5:8786"),
        ('kind = "dask"\naddress = 8786', "executor.address", "str"),
    ],
)
def test_each_key_is_checked_alone(text: str, path: str, says: str):
    [(line, where, message)] = problems(text)
    assert where == path and says in message and line is not None


@pytest.mark.parametrize(
    ("text", "path", "says"),
    [
        ('kind = "local"\nworkers = 2', "executor.workers", 'set kind = "processes", "dask" or "ray"'),
        ("workers = 2", "executor.workers", 'kind = "local"'),
        ('kind = "processes"\naddress = "tcp://h:8786"', "executor.address", "a cluster's"),
        ('address = "tcp://h:8786"', "executor.address", "a cluster's"),
        ('kind = "dask"\naddress = "auto"', "executor.address", "a Ray address"),
        ('kind = "dask"\naddress = "ray://h:10001"', "executor.address", "a Ray address"),
        ('kind = "ray"\naddress = "tcp://h:8786"', "executor.address", "not a Ray address"),
        ('kind = "dask"\nworkers = 2\naddress = "tcp://h:8786"', "executor.workers", "has its own workers"),
        ('kind = "ray"\nworkers = 2\naddress = "auto"', "executor.workers", "has its own workers"),
    ],
)
def test_the_keys_are_then_checked_together(text: str, path: str, says: str):
    [(line, where, message)] = problems(text)
    assert where == path and says in message
    assert line == FIRST + [k.split(" = ")[0] for k in text.split("\n")].index(path.split(".")[1])


def test_every_problem_at_once_with_its_line():
    text = 'kind = "processes"\nworkers = 0\naddress = "tcp://h:8786"\nchunk_size = 0\n'
    assert [(line, path) for line, path, _ in problems(text)] == [
        (FIRST + 1, "executor.workers"),
        (FIRST + 2, "executor.address"),  # a rule between keys, reported with the keys checked alone
        (FIRST + 3, "executor.chunk_size"),
    ]


def test_a_bad_kind_is_one_problem_not_a_cascade():
    assert [path for _, path, _ in problems('kind = "cluster"\nworkers = 2\naddress = "auto"')] == ["executor.kind"]


def test_overrides_set_the_executor_and_are_checked_alike():
    loaded = loads(BASE, overrides=['executor.kind="processes"', "executor.workers=2"])
    assert (loaded.config.executor.kind, loaded.config.executor.workers) == ("processes", 2)
    with pytest.raises(ConfigFileError) as caught:
        loads(BASE, overrides=["executor.workers=2"])
    (problem,) = caught.value.problems
    assert problem.path == "executor.workers" and problem.origin is not None

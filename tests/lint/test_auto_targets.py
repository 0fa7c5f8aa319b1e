"""The automatic lint checks what will actually run, however the strategy is wrapped: a partial, a lambda
calling a function, a bound method, a callable object, a decorator, a factory's closure, an event strategy's
base class, a notebook cell. Library code (ml4t, polars, the standard library) is not linted."""

from __future__ import annotations

import functools
import linecache

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ml4t
from ml4t import lint
from ml4t.datasets import synthetic_bars
from ml4t.event import Engine, Strategy
from ml4t.lint._auto import Scan, findings_of, scan
from ml4t.vectorized import VectorizedStrategy


def peeking(lag=1):
    tomorrow = pl.col("close").shift(-1)
    return {"entries": tomorrow > pl.col("close"), "exits": tomorrow < pl.col("close")}


def clean(lag=1, transform=np.sign):
    past = pl.col("close").shift(lag)
    return {"entries": past > pl.col("close"), "exits": past < pl.col("close")}


class Rules:
    """A bound method as the signal function: the class's other code builds what it reads."""

    def __init__(self):
        self.tomorrow = pl.col("close").shift(-1)

    def signals(self, lag=1):
        return {"entries": self.tomorrow > pl.col("close"), "exits": self.tomorrow < pl.col("close")}


class CallableRules(Rules):
    def __call__(self, lag=1):
        return self.signals(lag)


def plain_decorator(fn):
    def wrapper(**params):  # no functools.wraps: nothing points back to fn but the closure
        return fn(**params)

    return wrapper


def factory():
    tomorrow = pl.col("close").shift(-1)

    def signals(lag=1):
        return {"entries": tomorrow > pl.col("close"), "exits": tomorrow < pl.col("close")}

    return signals


class LeakyBase(Strategy):
    def on_bar(self, ctx, bars):
        if bars["close"].shift(-1)[0] > 0:
            ctx.order(bars.symbol, 1)


class InheritsTheLeak(LeakyBase):
    pass


@pytest.fixture
def bars():
    return synthetic_bars(1, 40, seed=3)


@pytest.fixture(autouse=True)
def strict():
    lint.configure("strict")
    yield
    lint._auto._mode = None


WRAPPED = {
    "partial": functools.partial(peeking, lag=2),
    "lambda calling a function": lambda lag=1: peeking(lag),
    "partial of a lambda": functools.partial(lambda fn, lag=1: fn(lag), peeking),
    "bound method": Rules().signals,
    "callable object": CallableRules(),
    "decorator without wraps": plain_decorator(peeking),
    "decorator with wraps": functools.wraps(peeking)(lambda **p: peeking(**p)),
    "factory closure": factory(),
}


@pytest.mark.parametrize("name", list(WRAPPED))
def test_strict_mode_sees_through_wrappers(bars, name):
    with pytest.raises(ml4t.LintError, match=r"PIT001 shift\(-1\)"):
        VectorizedStrategy(WRAPPED[name]).run(bars)


def test_the_finding_is_reported_where_the_leak_is(bars):
    (finding,) = findings_of(functools.partial(peeking, lag=2))
    assert (finding.path, finding.line) == (__file__, peeking.__code__.co_firstlineno + 1)
    (finding,) = findings_of(factory())
    assert finding.line == factory.__code__.co_firstlineno + 1  # in the factory, outside the closure


def test_an_event_strategy_is_linted_with_its_base_classes(bars):
    with pytest.raises(ml4t.LintError, match="PIT001"):
        Engine(bars, InheritsTheLeak()).run()


def test_clean_code_and_library_code_give_nothing(bars):
    for target in (clean, functools.partial(clean, transform=np.tanh), lambda: clean(2), functools.partial(max, 1)):
        result = scan(target)
        assert result.findings == []
        assert result.unchecked == []
    VectorizedStrategy(functools.partial(clean, lag=2)).run(bars)


def test_a_notebook_cell_is_linted_through_linecache(bars):
    source = "import polars as pl\ndef cell_signals():\n    return {'entries': pl.col('close').shift(-1) > 0}\n"
    filename = "<ipython-input-7-cell>"
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    namespace: dict = {"__name__": "__main__"}
    exec(compile(source, filename, "exec"), namespace)
    try:
        (finding,) = findings_of(namespace["cell_signals"])
        assert (finding.path, finding.line, finding.code) == (filename, 3, "PIT001")
        with pytest.raises(ml4t.LintError, match="PIT001"):
            VectorizedStrategy(namespace["cell_signals"]).run(bars)
    finally:
        del linecache.cache[filename]


def test_a_class_built_without_source_cannot_be_checked(bars):
    built = type("Built", (Strategy,), {"__module__": __name__})
    with pytest.raises(ml4t.LintError, match="could not check the strategy Built") as info:
        Engine(bars, built()).run()
    assert "class Built: its source is not available" in str(info.value)


class Holder:
    def __init__(self, fn):
        self.fn = fn

    def method(self, **params):
        return self.fn(**params)

    def __call__(self, **params):
        return self.fn(**params)


WRAPPERS = {
    "partial": lambda fn: functools.partial(fn),
    "lambda": lambda fn: lambda **params: fn(**params),
    "decorator without wraps": plain_decorator,
    "decorator with wraps": lambda fn: functools.wraps(fn)(lambda **params: fn(**params)),
    "bound method": lambda fn: Holder(fn).method,
    "callable object": Holder,
    "lru_cache": functools.lru_cache,
}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(sorted(WRAPPERS)), max_size=4))
def test_any_stack_of_wrappers_is_seen_through(stack):
    """Property: wrap a leaky and a clean signal function in any stack of wrappers; the leak's line is found
    and nothing else, and nothing is reported unchecked."""
    leaky, tidy = peeking, clean
    for name in stack:
        leaky, tidy = WRAPPERS[name](leaky), WRAPPERS[name](tidy)
    leak = (__file__, peeking.__code__.co_firstlineno + 1, "PIT001")
    assert [(f.path, f.line, f.code) for f in scan(leaky).findings] == [leak]
    assert scan(leaky).unchecked == []
    assert scan(tidy) == Scan()

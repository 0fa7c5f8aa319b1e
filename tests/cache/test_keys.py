"""Cache keys (issue #16): a key changes with what is computed, never with how the code is spelt.

User code is written here as source text and imported from modules under ``tmp_path``, so a variant is what a
user would get by editing their file: a moved line, a comment, a renamed helper or local, a changed window.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import itertools
import json
import operator
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import polars as pl
import pytest
import xxhash
from hypothesis import given, settings
from hypothesis import strategies as st

from ml4t.cache import Key, Uncacheable, expression_key, function_key, key_of, slot_key
from ml4t.cache._canon import MAX_DEPTH, Walker
from ml4t.errors import ConfigError

_COUNTER = itertools.count()
FP = "0123456789abcdef" * 2


def load(tmp_path: Path, source: str, name: str | None = None) -> ModuleType:
    """Import ``source`` as a fresh module file under ``tmp_path`` (registered, as an import would)."""
    name = name or f"user_mod_{next(_COUNTER)}"
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def key(fn: Any) -> str:
    k = function_key(fn)
    assert isinstance(k, Key), k
    return k.hex


BASE = """
import numpy as np

WINDOW = 10


def helper(values, n):
    out = np.convolve(values, np.ones(n) / n, mode="valid")
    return out


def signal(values):
    smooth = helper(values, WINDOW)
    return smooth[-1] > values[-1]
"""

SAME = {
    "comment and blank lines": BASE.replace("import numpy as np\n", "# a comment\nimport numpy as np\n\n\n\n"),
    "a moved function": BASE.replace("WINDOW = 10\n", "WINDOW = 10\n\n\ndef unused():\n    return 1\n"),
    "a docstring": BASE.replace("def signal(values):\n", 'def signal(values):\n    """Smooth then compare."""\n'),
    "a renamed helper": BASE.replace("helper", "_smooth_it"),
    "a renamed local": BASE.replace("smooth", "s2").replace("out", "result"),
    "another import alias": BASE.replace("np.", "numpy_.").replace("import numpy as np", "import numpy as numpy_"),
}
CHANGED = {
    "the window": BASE.replace("WINDOW = 10", "WINDOW = 20"),
    "a literal in the helper": BASE.replace('"valid"', '"same"'),
    "an operator": BASE.replace("smooth[-1] > values", "smooth[-1] >= values"),
    "an attribute": BASE.replace("np.ones", "np.zeros"),
    "an index": BASE.replace("values[-1]", "values[-2]"),
}


def test_the_same_computation_spelt_differently_has_one_key(tmp_path):
    base = key(load(tmp_path, BASE).signal)
    for what, source in SAME.items():
        assert key(load(tmp_path, source).signal) == base, what


def test_every_change_of_meaning_changes_the_key(tmp_path):
    keys = {"base": key(load(tmp_path, BASE).signal)}
    for what, source in CHANGED.items():
        keys[what] = key(load(tmp_path, source).signal)
    assert len(set(keys.values())) == len(keys), keys


def test_a_helper_moved_to_another_module_keeps_the_key(tmp_path):
    helpers = load(tmp_path, BASE.split("def signal")[0])
    main = load(
        tmp_path,
        f"from {helpers.__name__} import helper, WINDOW\n\n"
        "def signal(values):\n    smooth = helper(values, WINDOW)\n    return smooth[-1] > values[-1]\n",
    )
    assert key(main.signal) == key(load(tmp_path, BASE).signal)


def test_a_helper_read_through_a_user_module_is_followed(tmp_path):
    lib = load(tmp_path, "def scale(x):\n    return x * 2\n")
    other = load(tmp_path, "def scale(x):\n    return x * 3\n")
    use = "import {m}\n\ndef f(x):\n    return {m}.scale(x) + 1\n"
    assert key(load(tmp_path, use.format(m=lib.__name__)).f) != key(load(tmp_path, use.format(m=other.__name__)).f)


def test_the_interpreter_specializing_the_code_does_not_change_the_key(tmp_path):
    module = load(
        tmp_path, "def f(x):\n    total = 0\n    for i in range(x):\n        total += i * 2\n    return total\n"
    )
    before = key(module.f)
    for _ in range(200):  # warms the adaptive interpreter (inline caches, specialised instructions)
        module.f(50)
    assert key(module.f) == before


def test_closures_and_defaults_count(tmp_path):
    module = load(
        tmp_path,
        """
        def make(n):
            def rule(x):
                return x[-n:].mean()
            return rule

        def with_default(x, n=10):
            return x * n
        """,
    )
    assert key(module.make(10)) == key(module.make(10))
    assert key(module.make(10)) != key(module.make(20))
    other = load(tmp_path, "def with_default(x, n=20):\n    return x * n\n")
    assert key(module.with_default) != key(other.with_default)


def test_recursion_and_mutual_recursion_terminate_and_still_see_changes(tmp_path):
    source = """
    def is_even(n):
        return True if n == 0 else is_odd(n - 1)

    def is_odd(n):
        return False if n == 0 else is_even(n - 1)

    def fact(n):
        return 1 if n <= 1 else n * fact(n - 1)
    """
    a, b = load(tmp_path, source), load(tmp_path, source.replace("is_", "check_"))
    assert key(a.is_even) == key(b.check_even) and key(a.fact) == key(b.fact)
    assert key(a.is_even) != key(a.is_odd)
    c = load(tmp_path, source.replace("return False if n == 0", "return True if n == 0"))
    assert key(c.is_even) != key(a.is_even)  # a change in the callee reaches the caller through the cycle
    assert key(c.fact) == key(a.fact)


def test_a_function_key_is_the_hash_of_its_parts(tmp_path):
    k = function_key(load(tmp_path, BASE).signal)
    assert isinstance(k, Key)
    text = json.dumps(k.parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert k.hex == xxhash.xxh3_128_hexdigest(text.encode()) and len(k.hex) == 32


# ----------------------------------------------------------------------------------------- uncacheable
UNCACHEABLE = {
    "a global list": (
        "CACHE = []\ndef weights(x):\n    return CACHE\n",
        "weights",
        "`weights` reads the global list `CACHE` (mutable): not cached",
    ),
    "a global dict in a helper": (
        "TABLE = {}\ndef helper(x):\n    return TABLE.get(x)\ndef top(x):\n    return helper(x)\n",
        "top",
        "`top` -> `helper` reads the global dict `TABLE` (mutable): not cached",
    ),
    "a global array": (
        "import numpy as np\nW = np.ones(3)\ndef f(x):\n    return x * W\n",
        "f",
        "`f` reads the global ndarray `W` (a NumPy array: mutable): not cached",
    ),
    "a class instance": (
        "class Box:\n    pass\nBOX = Box()\ndef f(x):\n    return BOX\n",
        "f",
        "`f` reads the global Box `BOX` (an instance of Box: its state may change): not cached",
    ),
    "a generator object": (
        "GEN = (i for i in range(3))\ndef f(x):\n    return next(GEN)\n",
        "f",
        "`f` reads the global generator `GEN` (a generator: it is stateful): not cached",
    ),
    "a closure over a list": (
        "def make():\n    seen = []\n    def f(x):\n        return seen\n    return f\nf = make()\n",
        "f",
        "`make.<locals>.f` closes over the list `seen` (mutable): not cached",
    ),
    "a mutable default": (
        "def f(x, memo=[]):\n    return memo\n",
        "f",
        "`f` has a default that is a list (mutable): not cached",
    ),
    "a global write": (
        "COUNT = 0\ndef f(x):\n    global COUNT\n    COUNT += 1\n    return x\n",
        "f",
        "`f` writes the global `COUNT`: not cached",
    ),
    "a generator function": (
        "def f(x):\n    yield x\n",
        "f",
        "`f` is a generator or coroutine function (its result is consumed lazily): not cached",
    ),
}


@pytest.mark.parametrize("case", sorted(UNCACHEABLE))
def test_what_cannot_be_keyed_soundly_is_uncacheable_with_its_reason(tmp_path, case):
    source, name, reason = UNCACHEABLE[case]
    result = function_key(getattr(load(tmp_path, source), name))
    assert result == Uncacheable(reason)


def test_a_c_function_without_code_is_uncacheable_but_a_librarys_named_one_is_keyed():
    assert function_key(operator.itemgetter(1)) == Uncacheable(
        "`operator.itemgetter(1)` is an itemgetter (a C function without code, not a library's named function): "
        "not cached"
    )
    assert isinstance(function_key(np.sqrt), Key) and function_key(np.sqrt) != function_key(np.exp)
    assert isinstance(function_key(len), Key)


def test_recursion_deeper_than_the_bound_is_uncacheable(tmp_path):
    n = MAX_DEPTH + 2
    lines = [f"def f{i}(x):\n    return f{i + 1}(x) + 1\n" for i in range(n)] + [f"def f{n}(x):\n    return x\n"]
    result = function_key(load(tmp_path, "\n".join(lines)).f0)
    assert isinstance(result, Uncacheable)
    assert result.reason.startswith("`f0` -> `f1` -> ") and f"nested deeper than {MAX_DEPTH} levels" in result.reason
    shallow = [f"def f{i}(x):\n    return f{i + 1}(x) + 1\n" for i in range(5)] + ["def f5(x):\n    return x\n"]
    assert isinstance(function_key(load(tmp_path, "\n".join(shallow)).f0), Key)


# --------------------------------------------------------------------------------------- expressions
def test_the_same_plan_from_different_code_has_one_key():
    pairs = [
        (pl.col("close").rolling_mean(10), pl.col("close").rolling_mean(window_size=10)),
        (pl.col("close") + 1, pl.col("close").add(1)),
        (pl.col("close").rolling_mean(10) > pl.col("close"), pl.col("close").rolling_mean(10).gt(pl.col("close"))),
        (pl.col("close").shift(1).over("symbol"), pl.col("close").shift(1).over(["symbol"])),
    ]
    for a, b in pairs:
        assert expression_key(a) == expression_key(b), (a, b)


def _build(spec: Any) -> pl.Expr:
    kind = spec[0]
    if kind == "col":
        return pl.col(spec[1])
    if kind == "lit":
        return pl.lit(spec[2])
    if kind == "rolling_mean":
        return _build(spec[1]).rolling_mean(spec[2])
    if kind == "shift":
        return _build(spec[1]).shift(spec[2])
    if kind == "abs":
        return _build(spec[1]).abs()
    ops = {"+": operator.add, "-": operator.sub, "*": operator.mul, ">": operator.gt, "<": operator.lt}
    return ops[spec[1]](_build(spec[2]), _build(spec[3]))


_LEAVES = st.one_of(
    st.tuples(st.just("col"), st.sampled_from(["open", "close", "volume"])),
    st.tuples(st.just("lit"), st.just("int"), st.integers(-3, 3)),
    st.tuples(st.just("lit"), st.just("float"), st.sampled_from([0.5, 1.0, 2.5])),
)
SPECS = st.recursive(
    _LEAVES,
    lambda inner: st.one_of(
        st.tuples(st.just("rolling_mean"), inner, st.integers(2, 5)),
        st.tuples(st.just("shift"), inner, st.integers(1, 3)),
        st.tuples(st.just("abs"), inner),
        st.tuples(st.just("bin"), st.sampled_from(["+", "-", "*", ">", "<"]), inner, inner),
    ),
    max_leaves=5,
)


@settings(max_examples=150, deadline=None)
@given(SPECS, SPECS)
def test_expressions_have_equal_keys_exactly_when_they_are_the_same_expression(a, b):
    # the reference: the grammar's own tree (repr keeps 1 and 1.0 apart); "bin" specs differ from their
    # spelling only in the tag, so the tree is the expression
    same = repr(a) == repr(b)
    assert (expression_key(_build(a)) == expression_key(_build(b))) == same


def test_a_python_function_in_a_plan_is_keyed_by_what_it_computes(tmp_path):
    def expr(module: ModuleType) -> pl.Expr:
        return pl.col("close").map_batches(module.signal_series, return_dtype=pl.Float64)

    base = BASE + "\ndef signal_series(s):\n    return s * WINDOW\n"
    keys = [expression_key(expr(load(tmp_path, base)))]
    for source in SAME.values():
        keys.append(expression_key(expr(load(tmp_path, source + "\ndef signal_series(s):\n    return s * WINDOW\n"))))
    assert all(isinstance(k, Key) for k in keys) and len(set(keys)) == 1
    changed = expression_key(expr(load(tmp_path, base.replace("WINDOW = 10", "WINDOW = 11"))))
    assert changed != keys[0]


def test_a_lambda_in_a_plan_moved_to_another_line_keeps_its_key(tmp_path):
    # lambdas are pickled by value, line numbers included: the key must not see them
    one = load(tmp_path, "import polars as pl\nE = pl.col('x').map_batches(lambda s: s.cum_sum() * 3)\n")
    two = load(tmp_path, "import polars as pl\n\n\n\n# moved\nE = pl.col('x').map_batches(lambda s: s.cum_sum() * 3)\n")
    three = load(tmp_path, "import polars as pl\nE = pl.col('x').map_batches(lambda s: s.cum_sum() * 4)\n")
    assert one.E.meta.serialize(format="json") != two.E.meta.serialize(format="json")  # the bytes differ
    assert expression_key(one.E) == expression_key(two.E) != expression_key(three.E)


def test_map_elements_and_its_options_are_keyed(tmp_path):
    module = load(tmp_path, "def f(x):\n    out = 0\n    for c in str(x):\n        out += ord(c)\n    return out\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # polars' "inefficient map" advice, if it has one
        a = pl.col("x").map_elements(module.f, return_dtype=pl.Int64)
        b = pl.col("x").map_elements(module.f, return_dtype=pl.Int64, skip_nulls=False)
        c = pl.col("x").map_elements(module.f, return_dtype=pl.Int32)
    keys = [expression_key(e) for e in (a, b, c)]
    assert all(isinstance(k, Key) for k in keys) and len(set(keys)) == 3


def test_an_expression_over_uncacheable_code_is_uncacheable(tmp_path):
    module = load(tmp_path, "CACHE = []\ndef weights(s):\n    return s * len(CACHE)\n")
    result = expression_key(pl.col("x").map_batches(module.weights))
    assert result == Uncacheable("`weights` reads the global list `CACHE` (mutable): not cached")
    entry = key_of("indicators", data=FP, expressions={"entries": pl.col("x").map_batches(module.weights)})
    assert entry == Uncacheable("expression `entries`: `weights` reads the global list `CACHE` (mutable): not cached")


# -------------------------------------------------------------------------------------------- key_of
def test_key_of_combines_data_expressions_parameters_and_versions():
    k = key_of("indicators", data=FP, expressions={"fast": pl.col("close").rolling_mean(10)}, params={"n": 10})
    assert isinstance(k, Key)
    assert k.parts["data"] == FP and k.parts["params"] == {"n": 10} and k.parts["level"] == "indicators"
    assert set(k.parts["versions"]) == {"ml4t", "polars"} and k.parts["versions"]["polars"] == pl.__version__
    assert k.parts["expressions"] == {"fast": expression_key(pl.col("close").rolling_mean(10)).hex}  # type: ignore[union-attr]
    text = json.dumps(k.parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert k.hex == xxhash.xxh3_128_hexdigest(text.encode())


def test_every_part_of_key_of_counts():
    def make(level: str = "signals", **changes: Any) -> Key | Uncacheable:
        args: dict[str, Any] = {
            "data": FP,
            "expressions": {"entries": pl.col("close") > 1, "exits": pl.col("close") < 1},
            "params": {"fast": 10},
        }
        args.update(changes)
        return key_of(level, **args)

    base = make()
    variants = [
        make(data="f" * 32),
        make(level="results"),
        make(expressions={"entries": pl.col("close") > 2, "exits": pl.col("close") < 1}),
        make(expressions={"entries": pl.col("close") < 1, "exits": pl.col("close") > 1}),  # names count
        make(params={"fast": 11}),
        make(params={"fast": 10.0}),
        make(params={"fast": True}),
        make(params={"fast": 10, "slow": 20}),
        make(versions={"ml4t": "0.2.0"}),
        make(versions={"polars": "0.0.1"}),
    ]
    assert base == make(expressions={"exits": pl.col("close") < 1, "entries": pl.col("close") > 1})  # no order
    assert len({base, *variants}) == len(variants) + 1


@settings(max_examples=80, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["a", "b", "c"]),
        st.one_of(
            st.integers(-2, 2), st.sampled_from([-1.0, 0.5, 1.0, 2.0]), st.booleans(), st.none(), st.text(max_size=2)
        ),
        max_size=3,
    ),
    st.dictionaries(
        st.sampled_from(["a", "b", "c"]),
        st.one_of(
            st.integers(-2, 2), st.sampled_from([-1.0, 0.5, 1.0, 2.0]), st.booleans(), st.none(), st.text(max_size=2)
        ),
        max_size=3,
    ),
)
def test_parameters_have_equal_keys_exactly_when_equal_with_their_types(a, b):
    def typed(d: dict[str, Any]) -> set[tuple[str, str, str]]:
        return {(k, type(v).__name__, repr(v)) for k, v in d.items()}

    assert (key_of("x", data=FP, params=a) == key_of("x", data=FP, params=b)) == (typed(a) == typed(b))


def test_parameter_values_of_other_types():
    assert key_of("x", data=FP, params={"n": np.int64(10)}) == key_of("x", data=FP, params={"n": 10})
    day = key_of("x", data=FP, params={"every": dt.timedelta(days=1)})
    assert isinstance(day, Key) and day != key_of("x", data=FP, params={"every": dt.timedelta(days=2)})
    assert key_of("x", data=FP, params={"w": [1, 2]}) != key_of("x", data=FP, params={"w": [2, 1]})
    assert key_of("x", data=FP, params={"m": {"$a": 1}}) != key_of("x", data=FP, params={"m": {"$$a": 1}})
    assert key_of("x", data=FP, params={"o": object()}) == Uncacheable(
        "parameter `o`: a object has no canonical value for a key"
    )


def test_bad_arguments_are_config_errors_naming_them():
    cases = [
        (lambda: key_of("", data=FP), "level"),
        (lambda: key_of("x", data="not-a-fingerprint"), "data"),
        (lambda: key_of("x", data={"bars": "zz"}), "data"),
        (lambda: key_of("x", data=FP, params=[1]), "params"),  # type: ignore[arg-type]
        (lambda: key_of("x", data=FP, expressions={"e": 3}), "expressions"),  # type: ignore[dict-item]
        (lambda: key_of("x", data=FP, versions={"ml4t": 1}), "versions"),  # type: ignore[dict-item]
        (lambda: function_key(3), "fn"),  # type: ignore[arg-type]
        (lambda: expression_key("close"), "expr"),  # type: ignore[arg-type]
        (lambda: slot_key("indicators"), "names"),
        (lambda: slot_key("indicators", ""), "names"),
    ]
    for call, argument in cases:
        with pytest.raises(ConfigError) as info:
            call()
        assert info.value.argument == argument


def test_slot_keys_name_a_place_not_a_content():
    a = slot_key("indicators", "sma_cross", "fast_ma")
    assert len(a) == 32 and a == slot_key("indicators", "sma_cross", "fast_ma")
    assert len({a, slot_key("indicators", "sma_cross", "slow_ma"), slot_key("signals", "sma_cross", "fast_ma")}) == 3
    assert slot_key("x", "ab", "c") != slot_key("x", "a", "bc")


# --------------------------------------------------------------------------------- frozen values and more
VALUES = """
import dataclasses
import enum
import functools

import msgspec
import polars as pl


class Mode(enum.Enum):
    FAST = 1
    SLOW = 2


@dataclasses.dataclass(frozen=True)
class Config:
    window: int = 10


class Rule(msgspec.Struct, frozen=True):
    threshold: float = 0.5


CONFIG = Config()
RULE = Rule()
MODE = Mode.FAST
SMOOTH = pl.col("close").rolling_mean(5)


@functools.lru_cache
def scale(n):
    return n * 2


def f(x):
    if MODE is Mode.FAST:
        return x * CONFIG.window * scale(RULE.threshold)
    return SMOOTH
"""


def test_frozen_values_enums_expressions_and_cached_helpers_are_keyed_by_value(tmp_path):
    base = key(load(tmp_path, VALUES).f)
    assert key(load(tmp_path, VALUES.replace("def scale(n)", "def scale(m)").replace("n * 2", "m * 2")).f) == base
    changes = [
        VALUES.replace("CONFIG = Config()", "CONFIG = Config(window=20)"),
        VALUES.replace("RULE = Rule()", "RULE = Rule(threshold=0.25)"),
        VALUES.replace("MODE = Mode.FAST", "MODE = Mode.SLOW"),
        VALUES.replace("rolling_mean(5)", "rolling_mean(6)"),
        VALUES.replace("return n * 2", "return n * 3"),
    ]
    keys = {key(load(tmp_path, source).f) for source in changes}
    assert base not in keys and len(keys) == len(changes)


def test_a_function_nested_in_another_has_the_key_of_the_same_function_at_the_top(tmp_path):
    module = load(
        tmp_path,
        """
        def top(x, n=3):
            return sum(v * n for v in x)

        def outer():
            def top(x, n=3):
                return sum(v * n for v in x)
            return top
        """,
    )
    assert module.outer().__qualname__ != module.top.__qualname__
    assert key(module.outer()) == key(module.top)


def test_a_numba_function_is_keyed_by_its_python_code_and_options(tmp_path):
    source = "import numba\n\n@numba.njit(cache=False)\ndef rule(x):\n    return x * 2\n"
    base = key(load(tmp_path, source).rule)
    assert key(load(tmp_path, "\n\n" + source).rule) == base
    assert key(load(tmp_path, source.replace("x * 2", "x * 3")).rule) != base
    assert key(load(tmp_path, source.replace("cache=False", "fastmath=True")).rule) != base


def test_keys_are_the_same_in_another_process(tmp_path):
    # a set constant (``x in {...}``) iterates in a per-process hash order: its token must not
    source = BASE + "\ndef pick(x):\n    return x in {'alfa', 'beta', 'gamma', 'delta'}\n"
    module = load(tmp_path, source, name="same_everywhere")
    expr = pl.col("close").map_batches(module.signal) > pl.lit(1.5)
    code = (
        "import sys, polars as pl; sys.path.insert(0, sys.argv[1]); import same_everywhere as m; "
        "from ml4t.cache import function_key, expression_key; "
        "print(function_key(m.signal).hex, function_key(m.pick).hex, "
        "expression_key(pl.col('close').map_batches(m.signal) > pl.lit(1.5)).hex)"
    )
    for seed in ("1", "2"):
        out = subprocess.run(
            [sys.executable, "-c", code, str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        assert out.stdout.split() == [key(module.signal), key(module.pick), expression_key(expr).hex]  # type: ignore[union-attr]


def test_a_user_module_held_in_a_closure_is_read_through(tmp_path):
    lib = load(tmp_path, "def scale(x):\n    return x * 2\n")
    other = load(tmp_path, "def scale(x):\n    return x * 3\n")
    make = load(tmp_path, "def make(lib):\n    def f(x):\n        return lib.scale(x)\n    return f\n").make
    assert key(make(lib)) != key(make(other))


def test_ml4ts_own_code_is_pinned_by_its_version_not_walked():
    # ml4t.event.Strategy's module holds mutable globals (_SQUASHED); a user's Strategy subclass, and a user
    # function that calls ml4t, are keyed with ml4t's code as a reference at ml4t's version (every key holds it)
    from ml4t._version import installed
    from ml4t.event import Strategy
    from ml4t.event._strategy import _misnamed_hook

    class Cross(Strategy):
        window = 10

        def on_bar(self, ctx, bars):  # pragma: no cover - never run
            return bars

    class Wider(Cross):
        window = 20

    found = function_key(Cross)
    assert isinstance(found, Key), found
    assert isinstance(function_key(Wider), Key)
    assert function_key(Wider) != found
    text = str(found.parts)
    assert "ml4t.event._strategy:Strategy" in text and f"ml4t {installed('ml4t')}" in text

    def calls_ml4t(name):
        return _misnamed_hook(name, calls_ml4t)

    keyed = function_key(calls_ml4t)
    assert isinstance(keyed, Key), keyed
    pinned = {"ref": "ml4t.event._strategy:_misnamed_hook", "version": f"ml4t {installed('ml4t')}"}
    assert Walker().function_body(_misnamed_hook)["code"] == pinned


def test_a_configs_rules_are_keyed_by_their_texts_columns_and_scope_not_their_name():
    from ml4t.config._study import Rules

    rules = {"entries": "close > sma(close, fast)", "exits": "close < sma(close, fast)"}
    base = function_key(Rules("study", rules, ["close", "open"]))
    assert isinstance(base, Key), base
    assert function_key(Rules("renamed", rules, ["close", "open"])) == base
    assert function_key(Rules("study", {**rules, "exits": "close < sma(close, 2 * fast)"}, ["close", "open"])) != base
    assert function_key(Rules("study", rules, ["close"])) != base
    assert function_key(Rules("study", rules, ["close", "open"], scope="panel")) != base


def test_user_code_and_common_packages_are_told_apart_without_reading_every_distribution(monkeypatch):
    """Which module is the user's decides whether its code is followed or pinned by version. Reading every
    installed distribution's file list takes about a second: a user function (``__main__``, this test module)
    and a package whose distribution has its name (numpy, polars) are told apart without it."""
    from ml4t.cache import _canon

    _canon.pinned_version.cache_clear()

    def refuse() -> dict:
        raise AssertionError("read every distribution's file list")

    monkeypatch.setattr(_canon, "_distributions", refuse)
    try:
        assert _canon.pinned_version("__main__") is None
        assert _canon.pinned_version(__name__) is None
        assert _canon.pinned_version("numpy") == f"numpy {np.__version__}"
        assert _canon.pinned_version("polars") == f"polars {pl.__version__}"
        assert _canon.pinned_version("json").startswith("python ")
    finally:
        _canon.pinned_version.cache_clear()

"""REP002: random numbers without a seed."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ml4t.lint._core import Finding, Module, Rule
from ml4t.lint.rules import register
from ml4t.lint.rules.rep001_wall_clock_read import imported_name

SEEDED_CONSTRUCTORS = frozenset(
    {"default_rng", "RandomState", "SeedSequence", "PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"}
)
"""``numpy.random`` constructors: unseeded only when called without a seed (or with ``None``)."""
NUMPY_NOT_DRAWS = frozenset(
    {"seed", "Generator", "BitGenerator", "get_state", "set_state", "get_bit_generator", "set_bit_generator"}
)
"""``numpy.random`` functions that draw nothing from the global generator."""
STDLIB_DRAWS = frozenset(
    {
        "random", "randint", "randrange", "choice", "choices", "shuffle", "sample", "uniform", "triangular",
        "gauss", "normalvariate", "lognormvariate", "expovariate", "vonmisesvariate", "gammavariate",
        "betavariate", "paretovariate", "weibullvariate", "binomialvariate", "getrandbits", "randbytes",
    }
)  # fmt: skip
"""The stdlib ``random`` module's functions that draw from its global generator."""


def no_seed(call: ast.Call) -> bool:
    """Called without a seed: no argument, or ``None`` as the first argument / ``seed=``."""
    values = call.args[:1] + [kw.value for kw in call.keywords if kw.arg in ("seed", "entropy", "x")]
    return all(isinstance(v, ast.Constant) and v.value is None for v in values)


def seeds(module: Module, name: str) -> list[ast.Call]:
    """The calls of ``name`` (``numpy.random.seed`` / ``random.seed``) with a seed value."""
    return [
        node
        for node in ast.walk(module.tree)
        if isinstance(node, ast.Call) and imported_name(module, node.func) == name and not no_seed(node)
    ]


def seeded(module: Module, draw: ast.Call, calls: list[ast.Call]) -> bool:
    """Whether a draw from a global generator is repeatable: the generator is seeded with a value at module
    level, in a strategy's ``on_start``, or earlier in the function making the draw."""
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
    here = module.enclosing(draw, kinds)
    for call in calls:
        scope = module.enclosing(call, kinds)
        if scope is None or (isinstance(scope, ast.FunctionDef) and scope.name == "on_start" and scope in module.hooks):
            return True
        if scope is here and call.lineno < draw.lineno:
            return True
    return False


@register
class UnseededRandom(Rule):
    """What it does:
    Flags random numbers drawn without a seed: ``np.random.default_rng()`` / ``RandomState()`` / a bit
    generator (``PCG64()``...) without a seed or with ``None``; draws from NumPy's legacy global generator
    (``np.random.rand``, ``normal``, ``choice``, ``shuffle``... any ``numpy.random`` function but the
    constructors and ``seed``); draws from the stdlib's global generator (``random.random``, ``choice``,
    ``shuffle``, ``gauss``...); ``random.Random()`` without a seed, ``random.SystemRandom()``, and
    ``np.random.seed()`` / ``random.seed()`` without a value (they reseed from the OS).

    A draw from a global generator seeded with a value (``np.random.seed(42)`` / ``random.seed(42)``) at
    module level, in the strategy's ``on_start`` or earlier in the same function is taken as repeatable and
    not flagged. Seeded generators (``rng = np.random.default_rng(7)``; ``rng.normal()``) never are.

    Why is this bad:
    Unseeded randomness makes every run different: a backtest, a Monte Carlo test or a parameter sweep
    cannot be reproduced, and a good result may be luck that vanishes on the next run.

    Example:
    ```python
    noise = np.random.normal(0.0, 0.01, size=len(close))
    ```

    Use instead:
    ```python
    rng = np.random.default_rng(42)
    noise = rng.normal(0.0, 0.01, size=len(close))
    ```
    """

    code = "REP002"
    name = "unseeded-random"

    def check(self, module: Module) -> Iterator[Finding]:
        numpy_seeds = seeds(module, "numpy.random.seed")
        stdlib_seeds = seeds(module, "random.seed")
        for node in module.walk():
            if not isinstance(node, ast.Call):
                continue
            name = imported_name(module, module.value(node.func)) or ""  # also ``draw = np.random.normal``
            parts = name.split(".")
            text = ast.unparse(node.func)
            message = None
            remedy = "np.random.default_rng(SEED)"
            if len(parts) == 3 and parts[:2] == ["numpy", "random"]:
                function = parts[2]
                if function in SEEDED_CONSTRUCTORS or function == "seed":
                    if no_seed(node):
                        message = f"{text}() without a seed draws its state from the OS"
                elif function not in NUMPY_NOT_DRAWS and not seeded(module, node, numpy_seeds):
                    message = f"{text}() draws from NumPy's unseeded global generator"
            elif len(parts) == 2 and parts[0] == "random":
                remedy = "random.Random(SEED)"
                if parts[1] in ("Random", "seed") and no_seed(node):
                    message = f"{text}() without a seed draws its state from the OS"
                elif parts[1] == "SystemRandom":
                    message = f"{text}() draws from the OS and cannot be seeded"
                elif parts[1] in STDLIB_DRAWS and not seeded(module, node, stdlib_seeds):
                    message = f"{text}() draws from the stdlib's unseeded global generator"
            if message:
                yield self.finding(
                    module,
                    node,
                    f"{message}: every run gives different results; use {remedy}",
                )

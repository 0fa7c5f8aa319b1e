"""Every rule, one module each, and the table mapping codes to them.

Families: ``PIT`` future data (look-ahead), ``NBA`` code Numba cannot compile, ``VEC`` vectorized-strategy
purity, ``REP`` reproducibility.
"""

from __future__ import annotations

from ml4t.lint._core import Rule

__all__ = ["RULES"]

RULES: dict[str, type[Rule]] = {}
"""Code -> rule class, in code order. Filled by the imports below (each module registers its rule)."""


def register(rule: type[Rule]) -> type[Rule]:
    """Class decorator: add ``rule`` to :data:`RULES` under its code (codes are unique)."""
    if rule.code in RULES:
        raise AssertionError(f"duplicate lint code {rule.code}")
    RULES[rule.code] = rule
    return rule


def _load_all() -> None:
    """Import every rule module of this package (each registers its rule), then sort the table by code."""
    import importlib
    import pkgutil

    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        importlib.import_module(f"{__name__}.{info.name}")
    ordered = dict(sorted(RULES.items()))
    RULES.clear()
    RULES.update(ordered)


_load_all()

"""Tier 2: the ``Strategy`` base class and ``Engine`` on the Rust event loop and matching engine.

Not implemented yet (issue #4). Nothing is exported until it works.
"""

__all__: list[str] = []

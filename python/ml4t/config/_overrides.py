"""Overrides of a config's values: ``ML4T__SECTION__KEY`` environment variables and ``--set section.key=value``
assignments, applied to the parsed document before it is checked (so their problems are reported with the
file's, naming the variable or the assignment they came from).

Contract: a value is a TOML value (``0.002``, ``true``, ``[5, 10]``, ``"text"``), else the text itself; a
bracketed list that is not TOML is a list of such values (``[AAPL, MSFT]``). A key path is dotted, a list item
addressed by its index (``signals.0.path``). An environment variable's name is read in lower case (``__``
separates the keys), so it cannot reach a key with capitals. ``costs.<name>`` is another name of
``settings.<name>`` for the cost settings (:data:`COST_ALIASES`: ``--set costs.fees=0.002``); in a file they stay
under ``[settings]``, the one place each setting is declared. Dates and times, here and in files, are kept as
their ISO text (:func:`plain`).
"""

from __future__ import annotations

import datetime
import tomllib
from collections.abc import Mapping, Sequence
from typing import Any

from ml4t.errors import ConfigError

__all__ = ["COST_ALIASES", "ENV_PREFIX", "assign", "environment", "first_missing", "parse_assignment", "plain"]

ENV_PREFIX = "ML4T__"
"""Environment variables ``ML4T__SECTION__KEY=value`` override ``section.key``."""


COST_ALIASES = ("commission", "slippage", "fees", "fixed_fees")
"""The settings an override may also name as ``costs.<name>`` (``--set costs.fees=0.002`` is
``--set settings.fees=0.002``)."""


def parse_assignment(text: str) -> tuple[list[str], Any]:
    """``"section.key=value"`` as the key path and the value: a TOML value, else the text itself; a bracketed
    list that is not TOML is a list of such values (``[AAPL, MSFT]`` is ``["AAPL", "MSFT"]``)."""
    key, sep, value = text.partition("=")
    path = [part.strip() for part in key.strip().split(".")]
    if not sep or not all(path):
        raise ConfigError(f"an override is section.key=value, got {text!r}", argument="--set")
    if len(path) >= 2 and path[0] == "costs" and path[1] in COST_ALIASES:
        path[0] = "settings"
    value = value.strip()
    parsed = _override_value(value)
    if isinstance(parsed, str) and value.startswith("[") and value.endswith("]") and value[1:-1].strip():
        parsed = [_override_value(item.strip()) for item in value[1:-1].split(",")]
    return path, parsed


def _override_value(text: str) -> Any:
    """A TOML value, else the text."""
    try:
        return plain(tomllib.loads(f"v = {text}")["v"])
    except tomllib.TOMLDecodeError:
        return text


def environment(environ: Mapping[str, str]) -> list[tuple[str, str]]:
    """Each ``ML4T__...`` variable as ``(assignment, origin)``: ``("settings.fees=0.002",
    "ML4T__SETTINGS__FEES=0.002")``, in the order of their names."""
    out = []
    for name in sorted(environ):
        if name.upper().startswith(ENV_PREFIX) and len(name) > len(ENV_PREFIX):
            key = ".".join(part.lower() for part in name[len(ENV_PREFIX) :].split("__"))
            out.append((f"{key}={environ[name]}", f"{name}={environ[name]}"))
    return out


def first_missing(raw: dict[str, Any], path: Sequence[str]) -> tuple[str, ...] | None:
    """The shortest prefix of ``path`` that ``raw`` does not have yet: the table an assignment would create."""
    node: Any = raw
    for i, part in enumerate(path):
        if not isinstance(node, dict):
            return None
        if part not in node:
            return tuple(path[: i + 1])
        node = node[part]
    return None


def assign(raw: dict[str, Any], path: Sequence[str], value: Any) -> str | None:
    """Set ``raw[path] = value`` (tables made as needed); the reason when a step is not a table or a list."""
    node: Any = raw
    for i, part in enumerate(path[:-1]):
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                return f"{'.'.join(path[: i + 1])}: no list item {part!r} (the list has {len(node)})"
            node = node[int(part)]
        elif isinstance(node, dict):
            if part not in node and path[i + 1].isdigit():
                return f"{'.'.join(path[: i + 1])} is not in the config: there is no list item to set"
            node = node.setdefault(part, {})
        else:
            return f"{'.'.join(path[:i])} is a value, not a table"
    last = path[-1]
    if isinstance(node, list):
        if not last.isdigit() or int(last) >= len(node):
            return f"no list item {last!r} (the list has {len(node)})"
        node[int(last)] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        return f"{'.'.join(path[:-1])} is a value, not a table"
    return None


def plain(value: Any) -> Any:
    """``value`` with every date, time and datetime (TOML and YAML read ``2020-01-02`` as one) as its ISO text:
    the schema's dates are text, as the Python API takes them."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return value

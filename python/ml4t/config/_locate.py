"""Where each key of a config is written: the line (1-based) of every key path of a TOML, JSON or YAML
document, for error messages. The values themselves are always read by the real parsers (``tomllib``,
``json``, PyYAML); this module only points at them.

Contract: :func:`toml_lines` and :func:`json_lines` take a document their parser has already accepted and
return ``{key path: line}``, where a key path is a tuple of keys and list indices as text
(``("signals", "0", "path")``). A path is given the line its key (or list item) first appears on. The scanner
knows TOML's strings (basic, literal, multi-line, with escapes), comments, quoted and dotted keys, table and
array-of-tables headers, inline tables and arrays spread over lines, so a ``#``, ``=`` or bracket inside a
string or a comment never moves it. :func:`yaml_lines` reads the same from PyYAML's node tree and reports
a key written twice in one mapping (PyYAML would silently keep the last).
"""

from __future__ import annotations

import tomllib
from typing import Any

__all__ = ["json_lines", "toml_lines", "yaml_lines"]

Lines = dict[tuple[str, ...], int]

_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_SCALAR_END = frozenset(",]}\n#")


def toml_lines(text: str) -> Lines:
    """The line of each key path of a valid TOML document. An array of tables counts its items
    (``[[signals]]`` twice gives ``signals.0`` and ``signals.1``)."""
    scanner = _Scanner(text)
    scanner.document()
    return scanner.lines


def json_lines(text: str) -> Lines:
    """The line of each key path of a valid JSON document."""
    scanner = _Scanner(text)
    scanner.skip(newlines=True)
    scanner.value(())
    return scanner.lines


class _Scanner:
    """A recursive-descent walk over the structure of a TOML (or JSON) text that skips the scalars."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.lines: Lines = {}

    # ------------------------------------------------------------------------------------- characters
    def peek(self, n: int = 1) -> str:
        return self.text[self.pos : self.pos + n]

    def advance(self, n: int = 1) -> str:
        chunk = self.text[self.pos : self.pos + n]
        self.line += chunk.count("\n")
        self.pos += len(chunk)
        return chunk

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def skip(self, *, newlines: bool) -> None:
        """Spaces, comments and (when ``newlines``) line ends."""
        while not self.at_end():
            char = self.text[self.pos]
            if char in " \t\r" or (newlines and char == "\n"):
                self.advance()
            elif char == "#":
                end = self.text.find("\n", self.pos)
                self.advance((len(self.text) if end < 0 else end) - self.pos)
            else:
                return

    def mark(self, path: tuple[str, ...]) -> None:
        self.lines.setdefault(path, self.line)

    # ------------------------------------------------------------------------------------- TOML syntax
    def document(self) -> None:
        table: tuple[str, ...] = ()
        arrays: dict[tuple[str, ...], int] = {}  # array-of-tables path -> items so far
        while True:
            self.skip(newlines=True)
            if self.at_end():
                return
            start = self.pos
            if self.peek() == "[":
                many = self.peek(2) == "[["
                self.advance(2 if many else 1)
                table = self.header(self.key(), many, arrays)
                self.skip(newlines=False)
                self.advance(2 if many else 1)
            else:
                key = self.key()
                for n in range(1, len(key) + 1):
                    self.mark((*table, *key[:n]))
                self.skip(newlines=False)
                self.advance()  # "="
                self.skip(newlines=False)
                self.value((*table, *key))
            self.skip(newlines=False)
            if self.pos == start:  # never loop in place on text the parser would have refused
                self.advance()

    def header(self, key: tuple[str, ...], many: bool, arrays: dict[tuple[str, ...], int]) -> tuple[str, ...]:
        """The path a ``[table]`` or ``[[array]]`` header opens (a table inside an array of tables belongs to
        its last item), each prefix marked on this line."""
        path: tuple[str, ...] = ()
        for n, part in enumerate(key, start=1):
            path = (*path, part)
            if n == len(key) and many:
                index = arrays.get(path, 0)
                arrays[path] = index + 1
                self.mark(path)
                path = (*path, str(index))
            elif path in arrays:
                path = (*path, str(arrays[path] - 1))
            self.mark(path)
        return path

    def key(self) -> tuple[str, ...]:
        """A bare, quoted or dotted key (JSON's keys are quoted ones)."""
        parts = []
        while True:
            self.skip(newlines=False)
            char = self.peek()
            if char in ('"', "'"):
                raw = self.string()
                parts.append(tomllib.loads(f"k = {raw}")["k"] if char == '"' else raw[1:-1])
            else:
                start = self.pos
                while not self.at_end() and self.text[self.pos] in _BARE:
                    self.advance()
                parts.append(self.text[start : self.pos])
            self.skip(newlines=False)
            if self.peek() != ".":
                return tuple(parts)
            self.advance()

    def value(self, path: tuple[str, ...]) -> None:
        char = self.peek()
        if char == "{":
            self.inline_table(path)
        elif char == "[":
            self.array(path)
        elif char in ('"', "'"):
            self.string()
        else:
            while not self.at_end() and self.text[self.pos] not in _SCALAR_END:
                self.advance()

    def inline_table(self, path: tuple[str, ...]) -> None:
        self.advance()  # "{"
        while True:
            self.skip(newlines=True)
            if self.at_end() or self.peek() == "}":
                self.advance()
                return
            start = self.pos
            key = self.key()
            for n in range(1, len(key) + 1):
                self.mark((*path, *key[:n]))
            self.skip(newlines=True)
            self.advance()  # "=" (TOML) or ":" (JSON)
            self.skip(newlines=True)
            self.value((*path, *key))
            self.skip(newlines=True)
            if self.peek() == "," or self.pos == start:
                self.advance()

    def array(self, path: tuple[str, ...]) -> None:
        self.advance()  # "["
        index = 0
        while True:
            self.skip(newlines=True)
            if self.at_end() or self.peek() == "]":
                self.advance()
                return
            start = self.pos
            item = (*path, str(index))
            self.mark(item)
            self.value(item)
            self.skip(newlines=True)
            if self.peek() == ",":
                self.advance()
                index += 1
            elif self.pos == start:
                self.advance()

    def string(self) -> str:
        """Skip a string of any of TOML's four kinds; its text, quotes included."""
        start = self.pos
        quote = self.peek()
        delimiter = quote * 3 if self.peek(3) == quote * 3 else quote
        self.advance(len(delimiter))
        while not self.at_end():
            if quote == '"' and self.peek() == "\\":
                self.advance(2)
            elif self.peek(len(delimiter)) == delimiter:
                # a multi-line string may end with one or two quotes of its own before the closing three
                run = len(delimiter)
                while len(delimiter) == 3 and self.text[self.pos + run : self.pos + run + 1] == quote and run < 5:
                    run += 1
                self.advance(run)
                break
            else:
                self.advance()
        return self.text[start : self.pos]


def yaml_lines(node: Any) -> tuple[Lines, list[tuple[tuple[str, ...], int]]]:
    """The line of each key path of a PyYAML node tree (``yaml.compose``), and every key written twice in one
    mapping with the line of its second appearance."""
    import yaml

    lines: Lines = {}
    duplicates: list[tuple[tuple[str, ...], int]] = []

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for key_node, value_node in node.value:
                key = (*path, str(key_node.value))
                line = key_node.start_mark.line + 1
                if key in seen:
                    duplicates.append((key, line))
                seen.add(key)
                lines.setdefault(key, line)
                walk(value_node, key)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                key = (*path, str(i))
                lines.setdefault(key, item.start_mark.line + 1)
                walk(item, key)

    walk(node, ())
    return lines, duplicates

"""Canonical forms of what is computed: values, Python code and Polars plans, as JSON-able tokens.

A token says what a thing computes, never how it is spelt, so equal tokens mean equal results:

* **values** by value with their type kept (``1``, ``1.0`` and ``True`` are three tokens; JSON keeps them apart);
* **Python functions** by their bytecode instruction by instruction: a constant by its value (nested code
  objects recursively), a global it loads by the *value* it finds (a function by its own key, so renaming or
  moving a helper changes nothing; a module by name and version), an attribute or keyword by its name, a
  local variable or a jump by its index. Defaults and closure cells count. Left out: names (``co_name``,
  ``co_qualname``, local variable names), the file, the line numbers and positions, the docstring (a constant
  no instruction loads) and the interpreter's specialised (adaptive) bytecode. Argument names are local names
  too (a caller passing one by keyword spells it in its own code, which is keyed);
* code from a **pinned** module (the standard library, ml4t itself however it is installed, or an installed,
  non-editable distribution) by reference and version (``numpy:convolve @ 2.1.0``); user code (``__main__``, a
  script's modules, an editable install) is followed;
* an **object that states its state**, ``__cache_token__()`` returning immutable values (a config's rules), by
  its class (its code, as above) and that state;
* **Polars expressions** by Polars' own serialized plan (``meta.serialize(format="json")``), where each Python
  function Polars embedded as pickled bytes is read back and replaced by its function token (pickle bytes carry
  line numbers, so they would miss on a moved line).

Where a token cannot be made soundly (a mutable object or a class instance read from outside, a C function
that is not a named library function, a function that writes a global, calls nested deeper than a bound)
:class:`Refused` is raised with the reason. Recursion (a function that calls itself, mutual recursion) ends in
a ``{"$cycle": d}`` token naming the ancestor ``d`` levels up, so every key is a finite unrolling.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import dis
import enum
import fractions
import functools
import importlib.metadata
import inspect
import json
import math
import os
import pickle
import site
import sys
import sysconfig
import types
from typing import Any

import polars as pl
import xxhash

from ml4t._version import installed

__all__ = ["Refused", "Walker", "canonical_json", "digest"]

MAX_DEPTH = 32
"""How deep a chain of followed functions may go before a key is refused."""
MAX_VISITS = 2_000
"""How many functions one key may follow before it is refused (a bound on pathological call graphs)."""

_PY = f"{sys.version_info.major}.{sys.version_info.minor}"
_MAGIC = list(b"PLPYFN")
_HEADER = [sys.version_info.minor, sys.version_info.micro]  # Polars' [minor, micro] before a Python pickle
_FLAGS = (
    inspect.CO_VARARGS
    | inspect.CO_VARKEYWORDS
    | inspect.CO_GENERATOR
    | inspect.CO_COROUTINE
    | inspect.CO_ITERABLE_COROUTINE
    | inspect.CO_ASYNC_GENERATOR
)
_NAME_OPS = frozenset(dis.hasname)
_GLOBAL_LOADS = frozenset({"LOAD_GLOBAL", "LOAD_NAME"})
_GLOBAL_WRITES = frozenset({"STORE_GLOBAL", "DELETE_GLOBAL", "STORE_NAME", "DELETE_NAME"})
_MUTABLE = (list, dict, set, bytearray, pl.DataFrame, pl.Series, pl.LazyFrame)
_BY_REPR = (dt.datetime, dt.date, dt.time, dt.timedelta, decimal.Decimal, fractions.Fraction, range, slice)


class Refused(Exception):
    """A token that cannot be made soundly; ``reason`` says what and why, for :class:`ml4t.cache.Uncacheable`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def canonical_json(value: Any) -> str:
    """The one text of a JSON-able value: sorted keys, no spaces, UTF-8, no NaN (tokens tag them)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def digest(value: Any) -> str:
    """xxh3_128 of :func:`canonical_json`, as 32 hex digits."""
    return xxhash.xxh3_128_hexdigest(canonical_json(value).encode())


@functools.lru_cache(maxsize=1)
def _distributions() -> dict[str, list[str]]:
    return dict(importlib.metadata.packages_distributions())  # reads every distribution's file list: ~0.9 s


@functools.lru_cache(maxsize=1)
def _site_dirs() -> tuple[str, ...]:
    found = {sysconfig.get_paths()[name] for name in ("purelib", "platlib")}
    found.update(site.getsitepackages() if hasattr(site, "getsitepackages") else [])
    found.add(site.getusersitepackages())
    return tuple(os.path.join(os.path.realpath(d), "") for d in found if d)


def _installed_code(top: str) -> bool:
    """Whether the imported top-level module ``top`` lives in a site-packages folder (else it is the user's: a
    script, ``__main__``, a notebook, an editable install's source tree)."""
    module = sys.modules.get(top)
    places = [*getattr(module, "__path__", []), getattr(module, "__file__", None) or ""]
    return any(os.path.realpath(p).startswith(_site_dirs()) for p in places if p)


def _distribution_names(top: str) -> list[str]:
    """The distributions that install the top-level module ``top``: the one of the same name when it says so
    (its top_level.txt or its files), else from the full map of every distribution (read once, slow)."""
    try:
        dist = importlib.metadata.distribution(top)
    except importlib.metadata.PackageNotFoundError:
        dist = None
    if dist is not None:
        tops = (dist.read_text("top_level.txt") or "").split()
        if top in tops or any(f.parts[:1] == (top,) or str(f) == f"{top}.py" for f in dist.files or []):
            return [dist.metadata["Name"]]
    return _distributions().get(top, [])


@functools.lru_cache(maxsize=512)
def pinned_version(module: str) -> str | None:
    """The version that pins the code of ``module``: Python's for the standard library, ml4t's for ml4t's own
    modules (however ml4t is installed: every key holds its version, and its modules keep mutable registries a
    walk would refuse, such as ``ml4t.event._strategy._SQUASHED``), the distribution's when it is installed and
    not editable, else None (user code: whatever does not live in a site-packages folder is the user's, found
    without reading every installed distribution's file list)."""
    top = module.partition(".")[0]
    if top in sys.stdlib_module_names or top in ("builtins", "_io"):
        return f"python {_PY}"
    if top == "ml4t":  # pinned however it is installed (an editable install lists no top-level package)
        return f"ml4t {installed('ml4t')}"
    if top == "__main__" or not _installed_code(top):  # `python -m tool` runs an installed file as __main__
        return None
    for dist in _distribution_names(top):
        version = installed(dist)
        if version is None:
            continue
        direct = json.loads(importlib.metadata.distribution(dist).read_text("direct_url.json") or "{}")
        if direct.get("dir_info", {}).get("editable"):
            return None
        return f"{dist} {version}"
    return None


def _type_name(value: object) -> str:
    return type(value).__name__


def _ref(obj: Any) -> str:
    return f"{getattr(obj, '__module__', None)}:{getattr(obj, '__qualname__', getattr(obj, '__name__', '?'))}"


class Walker:
    """Makes the tokens of one key. (A call's parameters are not walked: they are values given once, keyed
    by :func:`ml4t.cache._keys.key_of` as readable JSON; here a list or dict read from outside is state.)"""

    def __init__(self, *, root: str = "the value") -> None:
        self.root = root  # what a refusal names while no function is being followed
        self.stack: list[tuple[int, str]] = []  # (id, name) of the functions and classes being followed
        self.memo: dict[int, Any] = {}  # id -> the token of a function or class that refers to no ancestor
        self.lowest = sys.maxsize  # the shallowest stack level a cycle token of the current walk refers to
        self.visits = 0
        self.keep: list[Any] = []  # objects whose id is memoized stay alive for the walk

    # ------------------------------------------------------------------------------------------ messages
    def _who(self) -> str:
        return " -> ".join(f"`{name}`" for _, name in self.stack if name) or f"`{self.root}`"

    def refuse(self, where: str, value: object, why: str) -> Refused:
        kind = _type_name(value)
        a_kind = ("an " if kind[:1].lower() in "aeiou" else "a ") + kind
        return Refused(f"{self._who()} {where.format(kind=kind, a_kind=a_kind)} ({why}): not cached")

    # -------------------------------------------------------------------------------------------- values
    def value(self, v: Any, where: str) -> Any:
        """The token of ``v``; ``where`` phrases where it was found for a refusal, with ``{kind}`` for its type
        (``"reads the global {kind} `CACHE`"``)."""
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, int) and type(v) is int:
            return v
        if isinstance(v, float) and type(v) is float:
            return v if math.isfinite(v) else {"$float": repr(v)}
        if type(v) is tuple:
            return [self.value(x, where) for x in v]
        if type(v) is frozenset:
            return {"$set": sorted((self.value(x, where) for x in v), key=canonical_json)}
        if isinstance(v, complex):
            return {"$complex": [self.value(v.real, where), self.value(v.imag, where)]}
        if isinstance(v, bytes):
            return {"$bytes": v.hex()}
        if v is Ellipsis:
            return {"$ellipsis": True}
        if isinstance(v, types.CodeType):
            return {"$code": self.code(v, {})}
        if isinstance(v, pl.Expr):
            return {"$expr": self.plan(v)}
        if isinstance(v, pl.DataType):
            return {"$dtype": repr(v)}
        if isinstance(v, _MUTABLE):
            raise self.refuse(where, v, "mutable")
        return self._object(v, where)

    def _object(self, v: Any, where: str) -> Any:
        """Tokens of functions, classes, modules and the immutable values of other types."""
        if isinstance(v, types.FunctionType):
            return self.function(v)
        if isinstance(v, types.ModuleType):
            return self.module(v)  # held as a value (not read by code): a user module keys no attribute
        if isinstance(v, type):
            return self.klass(v)
        if isinstance(v, enum.Enum):
            return {"$enum": self.klass(type(v)), "name": v.name, "value": self.value(v.value, where)}
        if isinstance(v, _BY_REPR):
            return {"$" + _type_name(v): repr(v)}
        if isinstance(v, tuple):  # a named tuple
            return {"$tuple": self.klass(type(v)), "items": [self.value(x, where) for x in v]}
        if isinstance(v, functools.partial):
            return {
                "$partial": self.value(v.func, where),
                "args": [self.value(x, where) for x in v.args],
                "keywords": {k: self.value(x, where) for k, x in sorted(v.keywords.items())},
            }
        if isinstance(v, (staticmethod, classmethod)):
            return {"$" + _type_name(v): self.value(v.__func__, where)}
        if isinstance(v, property):
            return {"$property": [self.value(f, where) for f in (v.fget, v.fset, v.fdel)]}
        if isinstance(v, types.MethodType):
            return {"$method": self.value(v.__func__, where), "self": self.value(v.__self__, where)}
        if isinstance(v, (types.MemberDescriptorType, types.GetSetDescriptorType)):  # a slot of a class
            return {"$slot": v.__name__}
        if isinstance(v, types.CellType):
            return self.value(v.cell_contents, where) if _filled(v) else {"$empty": True}
        if isinstance(v, (types.GeneratorType, types.CoroutineType, types.AsyncGeneratorType)):
            raise self.refuse(where, v, "a generator: it is stateful")
        module = type(v).__module__ or ""
        params = getattr(type(v), "__dataclass_params__", None)
        if dataclasses.is_dataclass(v) and params is not None and params.frozen:
            fields = {f.name: self.value(getattr(v, f.name), where) for f in dataclasses.fields(v)}
            return {"$frozen": self.klass(type(v)), "fields": fields}
        config = getattr(type(v), "__struct_config__", None)  # a frozen msgspec struct (ml4t.settings)
        if config is not None and getattr(config, "frozen", False):
            fields = {f: self.value(getattr(v, f), where) for f in type(v).__struct_fields__}
            return {"$frozen": self.klass(type(v)), "fields": fields}
        if module.partition(".")[0] == "numba" and hasattr(v, "py_func"):
            options = {k: repr(x) for k, x in sorted(getattr(v, "targetoptions", {}).items())}
            return {"$numba": self.function(v.py_func), "options": options, "version": pinned_version("numba")}
        if module == "numpy" and hasattr(v, "dtype") and type(v).__name__ != "ndarray" and hasattr(v, "item"):
            return {"$numpy": str(v.dtype), "value": repr(v.item())}
        if module.partition(".")[0] == "polars" and callable(v) and hasattr(v, "__dict__"):
            # polars' own wrappers of a user function (map_batches): keyed by their state, the function inside
            state = {k: self.value(x, where) for k, x in sorted(vars(v).items())}
            return {"$polars": _ref(type(v)), "state": state}
        if callable(getattr(type(v), "__cache_token__", None)):  # it states what its results depend on (Rules)
            return {"$object": self.klass(type(v)), "state": self.value(v.__cache_token__(), where)}
        wrapped = getattr(v, "__wrapped__", None)
        if callable(wrapped) and pinned_version(module) is not None:  # functools.lru_cache, cache: same results
            return {"$wrapper": _ref(type(v)), "wrapped": self.value(wrapped, where)}
        if callable(v) and not hasattr(v, "__code__"):
            return self._c_function(v, where)
        if isinstance(v, BaseException):
            return {"$exception": self.klass(type(v)), "args": [self.value(x, where) for x in v.args]}
        if module == "numpy" and type(v).__name__ == "ndarray":
            raise self.refuse(where, v, "a NumPy array: mutable")
        raise self.refuse(where, v, f"an instance of {type(v).__qualname__}: its state may change")

    def _c_function(self, v: Any, where: str) -> Any:
        """A C function (a builtin, a NumPy ufunc): by reference when it is a library's named function."""
        owner = getattr(v, "__self__", None)
        module = getattr(v, "__module__", None) or getattr(owner, "__name__", None)
        if isinstance(owner, types.ModuleType) or owner is None:
            name = getattr(v, "__qualname__", None) or getattr(v, "__name__", None)
            found = sys.modules.get(module or "")
            if name and found is not None and functools.reduce(_attr, name.split("."), found) is v:
                version = pinned_version(module or "")
                if version is not None:
                    return {"$ref": f"{module}:{name}", "version": version}
        if owner is not None and not isinstance(owner, types.ModuleType) and hasattr(v, "__name__"):
            return {"$bound": self.value(owner, where), "name": v.__name__}
        raise self.refuse(where, v, "a C function without code, not a library's named function")

    # ----------------------------------------------------------------------------- functions and classes
    def _enter(self, obj: Any, name: str) -> Any | None:
        """A cycle token when ``obj`` is being followed, the memoized token when it was seen; else push it."""
        for level, (seen, _) in enumerate(self.stack):
            if seen == id(obj):
                self.lowest = min(self.lowest, level)
                return {"$cycle": len(self.stack) - 1 - level}
        if id(obj) in self.memo:
            return self.memo[id(obj)]
        if len(self.stack) >= MAX_DEPTH:
            raise Refused(f"{self._who()} calls functions nested deeper than {MAX_DEPTH} levels: not cached")
        self.visits += 1
        if self.visits > MAX_VISITS:
            raise Refused(f"{self._who()} reaches more than {MAX_VISITS} functions: not cached")
        self.stack.append((id(obj), name))
        return None

    def _leave(self, obj: Any, token: Any, outer: int) -> Any:
        level = len(self.stack) - 1
        self.stack.pop()
        if self.lowest >= level:  # refers to nothing above itself: the same token wherever it is met
            self.lowest = outer
            self.memo[id(obj)] = token
            self.keep.append(obj)
        else:
            self.lowest = min(outer, self.lowest)
        return token

    def function(self, fn: types.FunctionType) -> Any:
        """A followed function's token: the digest of its :meth:`function_body` (compact; a cycle stays a cycle)."""
        body = self.function_body(fn)
        return body if "$cycle" in body else {"$function": digest(body)}

    def function_body(self, fn: types.FunctionType) -> Any:
        """A Python function: its code (or its pinned reference), defaults and closure cells."""
        version = pinned_version(fn.__module__ or "")
        seen = self._enter(fn, fn.__qualname__ if version is None else "")  # library code goes unnamed
        if seen is not None:
            return seen
        outer, self.lowest = self.lowest, sys.maxsize
        code = self.code(fn.__code__, fn.__globals__) if version is None else None
        token = {
            "code": {"ref": _ref(fn), "version": version} if version is not None else code,
            "defaults": [self.value(d, "has a default that is {a_kind}") for d in fn.__defaults__ or ()],
            "kwdefaults": {
                k: self.value(d, f"has the default of `{k}` that is {{a_kind}}")
                for k, d in sorted((fn.__kwdefaults__ or {}).items())
            },
            "closure": [
                self.module(cell.cell_contents, _names(fn.__code__))
                if _filled(cell) and isinstance(cell.cell_contents, types.ModuleType)
                else self.value(cell, f"closes over the {{kind}} `{name}`")
                for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=True)
            ],
        }
        return self._leave(fn, token, outer)

    def code(self, co: types.CodeType, globals_: dict[str, Any]) -> Any:
        """The bytecode's meaning, instruction by instruction (see the module docstring)."""
        ops: list[Any] = []
        for ins in dis.get_instructions(co):
            if ins.opname == "EXTENDED_ARG":
                continue  # folded into the next instruction's argument
            if ins.opcode in dis.hasconst and ins.arg is not None:  # dis leaves 3.11's KW_NAMES unresolved
                ops.append([ins.opname, self._const(co.co_consts[ins.arg], globals_)])
            elif ins.opname in _GLOBAL_WRITES:
                raise Refused(f"{self._who()} writes the global `{ins.argval}`: not cached")
            elif ins.opname in _GLOBAL_LOADS:
                ops.append([ins.opname, _flags(ins), self._global(ins.argval, globals_, co.co_names)])
            elif ins.opcode in _NAME_OPS:
                ops.append([ins.opname, _flags(ins), ins.argval])
            elif ins.arg is None:
                ops.append([ins.opname])
            else:
                ops.append([ins.opname, ins.arg])
        return {
            "python": _PY,
            "args": [co.co_argcount, co.co_posonlyargcount, co.co_kwonlyargcount, co.co_flags & _FLAGS],
            "ops": ops,
            "exceptions": co.co_exceptiontable.hex(),
        }

    def _const(self, value: Any, globals_: dict[str, Any]) -> Any:
        if isinstance(value, types.CodeType):  # a nested function, lambda or comprehension: same globals
            return {"$code": self.code(value, globals_)}
        return self.value(value, "has the constant {a_kind}")

    def _global(self, name: str, globals_: dict[str, Any], names: tuple[str, ...]) -> Any:
        if name in globals_:
            found = globals_[name]
            if isinstance(found, types.ModuleType):
                return self.module(found, names)
            return self.value(found, f"reads the global {{kind}} `{name}`")
        builtins = globals_.get("__builtins__", __builtins__)
        table = builtins if isinstance(builtins, dict) else vars(builtins)
        if name in table:
            return {"$builtin": name}
        return {"$unbound": name}

    def module(self, module: types.ModuleType, names: tuple[str, ...] = ()) -> Any:
        """A pinned module by name and version; a user module by the values of the attributes the reading
        code may take from it: those of its names (attribute or global) the module has, submodules likewise."""
        version = pinned_version(module.__name__)
        if version is not None:
            return {"$module": module.__name__, "version": version}
        for level, (seen, _) in enumerate(self.stack):
            if seen == id(module):
                self.lowest = min(self.lowest, level)
                return {"$cycle": len(self.stack) - 1 - level}
        self.stack.append((id(module), module.__name__))
        try:
            read = {}
            for name in sorted(set(names)):
                if name.startswith("__") or name not in vars(module):
                    continue
                found = vars(module)[name]
                if isinstance(found, types.ModuleType):
                    read[name] = self.module(found, names)
                else:
                    read[name] = self.value(found, f"reads the {{kind}} `{module.__name__}.{name}`")
        finally:
            self.stack.pop()
        return {"$module": module.__name__, "read": read}

    def klass(self, cls: type) -> Any:
        """A class of a pinned module by reference; a user class by its bases and members."""
        version = pinned_version(cls.__module__ or "")
        if version is not None:
            return {"$class": _ref(cls), "version": version}
        seen = self._enter(cls, cls.__qualname__)
        if seen is not None:
            return seen
        outer, self.lowest = self.lowest, sys.maxsize
        members: dict[str, Any] = {}
        dataclass = dataclasses.is_dataclass(cls)
        if dataclass:
            members["$fields"] = [f.name for f in dataclasses.fields(cls)]
        if "__struct_fields__" in vars(cls):  # a msgspec struct: its fields and their defaults
            members["$fields"] = list(cls.__struct_fields__)  # type: ignore[attr-defined]
            defaults = getattr(cls, "__struct_defaults__", ())
            members["$defaults"] = [self.value(d, "has a field default that is {a_kind}") for d in defaults]
        for name, member in sorted(vars(cls).items()):
            dunder = name.startswith("_") and name.endswith("_")
            if dunder and not isinstance(member, (types.FunctionType, staticmethod, classmethod, property)):
                continue  # __dict__, __module__, __doc__, dataclass and enum bookkeeping (_member_map_)...
            if dataclass and _generated(member):
                continue  # __init__, __repr__, __eq__... a dataclass wrote from its fields, keyed below
            members[name] = self.value(member, f"reads the {{kind}} `{cls.__qualname__}.{name}`")
        token = {"$class": [self.klass(b) for b in cls.__bases__], "members": members}
        return self._leave(cls, token, outer)

    # ------------------------------------------------------------------------------------- Polars plans
    def plan(self, expr: pl.Expr) -> Any:
        """Polars' serialized plan of ``expr`` with each embedded Python function replaced by its token."""
        try:
            text = expr.meta.serialize(format="json")
        except Exception as exc:  # Polars cannot serialize it (e.g. a literal Python object)
            raise Refused(f"Polars cannot serialize the expression ({exc}): not cached") from exc
        return self._plan_node(json.loads(text))

    def _plan_node(self, node: Any) -> Any:
        if isinstance(node, dict):
            return {k: self._plan_node(v) for k, v in node.items()}
        if isinstance(node, list):
            start = _pickle_start(node)
            if start is not None:
                return self._python_in_plan(node, start)
            if node[:6] == _MAGIC:
                raise Refused("the plan holds a Python function in a form this version cannot read: not cached")
            return [self._plan_node(v) for v in node]
        return node

    def _python_in_plan(self, node: list[int], start: int) -> Any:
        try:
            obj = pickle.loads(bytes(node[start:]))  # the caller's own function, pickled by Polars just now
        except Exception as exc:
            raise Refused(f"the plan holds a Python function that cannot be read back ({exc}): not cached") from exc
        meta = bytes(node[: max(start - 3, 0)]).hex()  # Polars' own options (e.g. the return dtype)
        return {"$python": self.value(obj, "passes Polars {a_kind}"), "meta": meta}


def _pickle_start(node: list[Any]) -> int | None:
    """Where a pickle begins in a list of byte values Polars wrote for a Python object: after its optional
    ``PLPYFN`` header, the bytes ``[cloudpickle?, minor, micro]`` of this Python, then a pickle opcode."""
    if len(node) < 8 or not all(type(b) is int and 0 <= b < 256 for b in node[:64]):
        return None
    limit = min(len(node) - 4, 64)
    for i in range(limit):
        header = node[i] in (0, 1) and node[i + 1 : i + 3] == _HEADER
        if header and node[i + 3] == 0x80 and 2 <= node[i + 4] <= 5 and (i == 0 or node[:6] == _MAGIC):
            return i + 3
    return None


def _flags(ins: dis.Instruction) -> str:
    """The flags an instruction packs beside a name (``NULL + `` of ``LOAD_GLOBAL``), without the name."""
    text, name = ins.argrepr, str(ins.argval)
    return text[: -len(name)] if text.endswith(name) else ""


def _names(co: types.CodeType) -> tuple[str, ...]:
    """The names (globals, attributes) ``co`` and the code nested in it use."""
    nested = (_names(c) for c in co.co_consts if isinstance(c, types.CodeType))
    return tuple(sorted(set(co.co_names).union(*nested)))


def _generated(member: Any) -> bool:
    """Whether ``member`` is a method :mod:`dataclasses` generated (compiled from text: ``<string>``)."""
    code = getattr(inspect.unwrap(member), "__code__", None) if callable(member) else None
    return code is not None and code.co_filename == "<string>"


def _filled(cell: types.CellType) -> bool:
    try:
        cell.cell_contents  # noqa: B018
    except ValueError:
        return False
    return True


def _attr(obj: Any, name: str) -> Any:
    return getattr(obj, name, None)

"""Check TOML tables against the type hints of the objects they configure.

A config section lists the keyword arguments of a dataclass or function (its *fields*: name,
type hint, default). :func:`check_table` refuses unknown keys (naming the allowed ones) and
converts each value to its hint (``[1, 0.1]`` to a tuple, ``"float32"`` to a torch dtype), so
that the objects' own validation sees the types they expect. Every error is one line that
starts with the key's dotted path, e.g. ``training.lr``.

Examples
--------
>>> fields = {"epochs": Field(int, 100), "optimizer": Field(Literal["adam", "sgd"], "adam")}
>>> check_table({"epochs": 5}, fields, "training")
{'epochs': 5}
>>> check_table({"optimiser": "adam"}, fields, "training")
Traceback (most recent call last):
...
stratopt.errors.ConfigError: training.optimiser is not a known key (did you mean 'optimizer'?); allowed: epochs, optimizer
>>> check_table({"optimizer": "lbfgs"}, fields, "training")
Traceback (most recent call last):
...
stratopt.errors.ConfigError: training.optimizer = 'lbfgs' must be one of 'adam', 'sgd'
"""

from __future__ import annotations

import collections.abc as cabc
import dataclasses
import datetime as dt
import difflib
import inspect
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, NoReturn

from stratopt.errors import ConfigError

__all__ = ["Field", "check_table", "dataclass_fields", "keyed_error", "signature_fields"]


@dataclass(frozen=True)
class Field:
    """One key of a section: its type hint and default (``REQUIRED`` when it has none)."""

    hint: Any
    default: Any = None
    required: bool = False


def dataclass_fields(cls: type, *, exclude: Iterable[str] = ()) -> dict[str, Field]:
    """The ``__init__`` fields of a dataclass, with their resolved type hints."""
    hints = typing.get_type_hints(cls)
    out = {}
    for f in dataclasses.fields(cls):
        if not f.init or f.name.startswith("_") or f.name in exclude:
            continue
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        out[f.name] = Field(hints[f.name], None if required else default, required)
    return out


def signature_fields(func: Callable[..., Any], *, exclude: Iterable[str] = ()) -> dict[str, Field]:
    """The keyword-only arguments of a function, with their resolved type hints."""
    hints = typing.get_type_hints(func)
    return {
        name: Field(hints.get(name, Any), p.default)
        for name, p in inspect.signature(func).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and name not in exclude
    }


def check_table(table: Any, fields: Mapping[str, Field], path: str) -> dict[str, Any]:
    """The keys of ``table`` converted to their fields' hints; refuses unknown keys, wrong
    types and missing required keys with a :class:`ConfigError` naming ``path.key``."""
    if not isinstance(table, Mapping):
        raise ConfigError(f"{path} must be a table ([{path}] or {path} = {{...}}), not {_describe(table)}")
    unknown = [k for k in table if k not in fields]
    if unknown:
        key = unknown[0]
        close = difflib.get_close_matches(key, list(fields), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"{path}.{key} is not a known key{hint}; allowed: {', '.join(sorted(fields))}")
    missing = [k for k, f in fields.items() if f.required and k not in table]
    if missing:
        raise ConfigError(f"{path}.{missing[0]} is required; add it to [{path}]")
    return {key: convert(value, fields[key].hint, f"{path}.{key}") for key, value in table.items()}


def convert(value: Any, hint: Any, path: str) -> Any:
    """``value`` (as TOML gives it) as the type ``hint`` describes, or a ConfigError."""
    out = _convert(value, hint)
    if out is _NO:
        raise ConfigError(f"{path} = {_show(value)} must be {_expect(hint)}")
    return out


_NO = object()  # "does not fit this hint"


def _convert(value: Any, hint: Any) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return value
    if origin is Literal:
        return value if any(value == a and type(value) is type(a) for a in args) else _NO
    if origin in (typing.Union, types.UnionType):
        for arm in args:
            out = _convert(value, arm)
            if out is not _NO:
                return out
        return _NO
    if hint is bool:
        return value if isinstance(value, bool) else _NO
    if hint is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else _NO
    if hint is float:
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else _NO
    if hint is str:
        return value if isinstance(value, str) else _NO
    if hint is dt.date:
        return value if isinstance(value, dt.date) and not isinstance(value, dt.datetime) else _NO
    if origin is tuple:
        if not isinstance(value, list):
            return _NO
        if len(args) == 2 and args[1] is Ellipsis:
            items = [_convert(v, args[0]) for v in value]
        elif len(value) == len(args):
            items = [_convert(v, a) for v, a in zip(value, args)]
        else:
            return _NO
        return _NO if any(i is _NO for i in items) else tuple(items)
    if origin in (list, cabc.Sequence):
        if not isinstance(value, list):
            return _NO
        items = [_convert(v, args[0] if args else Any) for v in value]
        return _NO if any(i is _NO for i in items) else items
    if origin in (dict, cabc.Mapping) or hint in (dict, cabc.Mapping):
        if not isinstance(value, Mapping):
            return _NO
        entries = {k: _convert(v, args[1] if len(args) == 2 else Any) for k, v in value.items()}
        return _NO if any(v is _NO for v in entries.values()) else entries
    if getattr(hint, "__module__", "") == "torch" and getattr(hint, "__name__", "") == "dtype":
        import torch

        if isinstance(value, str) and value in ("float64", "float32"):
            return getattr(torch, value)
        return _NO
    return _NO  # a callable, an offset, a rule: not something a file can hold


def _expect(hint: Any) -> str:
    """What a hint accepts, in words (only what a TOML file can write)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        arms = [_expect(a) for a in args if a is not type(None)]
        return " or ".join(w for w in dict.fromkeys(arms) if w)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of {_plural(args[0])}"
        return f"a list of {len(args)} items ({', '.join(_expect(a) for a in args)})"
    if origin in (list, cabc.Sequence):
        return f"a list of {_plural(args[0] if args else Any)}"
    if getattr(hint, "__module__", "") == "torch" and getattr(hint, "__name__", "") == "dtype":
        return "'float64' or 'float32'"
    if hint in _WORDS:
        return _WORDS[hint]
    if origin in (dict, cabc.Mapping) or hint in (dict, cabc.Mapping):
        return f"a table of {_plural(args[1])}" if len(args) == 2 and args[1] is not Any else "a table"
    return "" if hint is not Any else "a value"


_WORDS = {bool: "true or false", int: "a whole number", float: "a number", str: "a string", dt.date: "a date"}


def _plural(hint: Any) -> str:
    return {int: "whole numbers", float: "numbers", str: "strings"}.get(hint, "values")


def _describe(value: Any) -> str:
    return f"{_show(value)} ({type(value).__name__})"


def _show(value: Any) -> str:
    return repr(value) if not isinstance(value, Mapping) else "a table"


_ASSIGNMENT = re.compile(r"\b([A-Za-z_]\w*)\s*=")


def keyed_error(exc: Exception, path: str, keys: Iterable[str] | None = None) -> NoReturn:
    """Re-raise ``exc`` (one of the objects' own errors) as one line naming the config key.

    The key is the message's first word or its first ``name=`` that is one of ``keys`` (the
    objects name the bad argument that way); otherwise the section ``path`` itself. Without
    ``keys``, ``path`` is the key.
    """
    message = " ".join(str(exc).split()) or type(exc).__name__
    if message.startswith(path):
        raise ConfigError(message) from exc
    known = set(keys or ())
    words = [message.split(" ", 1)[0], *_ASSIGNMENT.findall(message)]
    found = next((m for m in words if m in known), None)
    where = f"{path}.{found}" if found else (path if keys is None else f"[{path}]")
    raise ConfigError(f"{where}: {message}") from exc

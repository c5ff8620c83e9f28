"""Strict TOML: a file is read against a declared schema, so a typo is an error, not a lost rule.

``tomllib`` parses anything; read with ``.get``, a misspelt key (``forbiden = [...]``) would
silently drop a from-scratch rule. Every data file of the grader (the curriculum, an
instructor's rubric, the data manifest) declares here which tables and keys it may hold,
their types, which are required and their defaults; :func:`load` checks a file against
that and raises one :class:`SchemaError` naming the file, the table, the key and what was
allowed or expected.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NO_DEFAULT: Any = object()  # the key is left out of the result when the file leaves it out


class SchemaError(ValueError):
    """A TOML file that does not follow its schema (or is not TOML at all)."""


@dataclass(frozen=True)
class Key:
    """One key holding a value: ``str``, ``int``, ``float`` (an integer is accepted), ``bool`` or ``list``."""

    type: type
    doc: str = ""
    required: bool = False
    default: Any = NO_DEFAULT
    items: type | None = None  # the type of every element of a list
    choices: tuple | None = None
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class Table:
    """A table with declared ``keys``; or, with ``values``, one whose keys are free (e.g. stub ids)."""

    keys: Mapping[str, Key | Table | Tables] = field(default_factory=dict)
    doc: str = ""
    required: bool = False
    values: Key | None = None


@dataclass(frozen=True)
class Tables:
    """An array of tables (``[[name]]``), each following ``table``."""

    table: Table
    doc: str = ""
    required: bool = False


_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "an array"}


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return "an array of tables"
    if isinstance(value, bool):
        return "a boolean"
    return next((name for t, name in _NAMES.items() if type(value) is t), type(value).__name__)


# Where a key sits: the chain of (key, label) from the top; label names an array item ("#2 'mlp'").
Where = tuple[tuple[str, str], ...]


def _render(path: Where) -> str:
    """``[policy]``, or ``[[module.stub]] #5 'sgd' of [[module]] #1 'linear_regression'``."""
    if not path:
        return "the top level"
    parts, keys = [], [k for k, _ in path]
    for depth in range(len(path), 0, -1):
        header, label = ".".join(keys[:depth]), path[depth - 1][1]
        if label:
            parts.append(f"[[{header}]] {label}")
        elif depth == len(path):
            parts.append(f"[{header}]")
    return " of ".join(parts)


def _fits(value: Any, wanted: type) -> bool:
    if wanted is float:
        return type(value) in (int, float)  # bool is an int subclass; ``type`` keeps it out
    return type(value) is wanted


def _where(path: Where) -> str:
    return f"in {_render(path)}" if path else "at the top level"


def load(path: str | Path, schema: Table, *, text: str | None = None, label: str | None = None) -> dict[str, Any]:
    """Parse ``path`` (or ``text``, reported as ``label``) and check it against ``schema``."""
    name = label or str(path)
    try:
        raw = tomllib.loads(text if text is not None else Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SchemaError(f"cannot read {name}: {exc}") from None
    return check(raw, schema, name)


def check(data: Mapping[str, Any], schema: Table, file: str, path: Where = ()) -> dict[str, Any]:
    """``data`` checked against ``schema``, with every declared default filled in."""
    if schema.values is not None:
        return {k: _value(v, schema.values, file, path, k) for k, v in data.items()}
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key not in schema.keys:
            allowed = ", ".join(sorted(schema.keys)) or "none"
            what = "table" if isinstance(value, dict) or _kind(value) == "an array of tables" else "key"
            raise SchemaError(f"{file}: unknown {what} {key!r} {_where(path)}; allowed keys: {allowed}")
    for key, spec in schema.keys.items():
        here = ".".join([k for k, _ in path] + [key])
        if key not in data:
            if spec.required:
                raise SchemaError(f"{file}: {_where(path)}, the required key {key!r} is missing")
            if isinstance(spec, Key) and spec.default is not NO_DEFAULT:
                out[key] = list(spec.default) if isinstance(spec.default, list | tuple) else spec.default
            elif isinstance(spec, Tables):
                out[key] = []
            elif isinstance(spec, Table):
                out[key] = check({}, spec, file, (*path, (key, "")))
            continue
        value = data[key]
        if isinstance(spec, Tables):
            if not (isinstance(value, list) and all(isinstance(v, dict) for v in value)):
                raise SchemaError(
                    f"{file}: {key!r} {_where(path)} must be an array of tables [[{here}]], got {_kind(value)}"
                )
            out[key] = [
                check(item, spec.table, file, (*path, (key, _label(i, item)))) for i, item in enumerate(value, 1)
            ]
        elif isinstance(spec, Table):
            if not isinstance(value, dict):
                raise SchemaError(f"{file}: {key!r} {_where(path)} must be a table [{here}], got {_kind(value)}")
            out[key] = check(value, spec, file, (*path, (key, "")))
        else:
            out[key] = _value(value, spec, file, path, key)
    return out


def _label(index: int, item: Mapping[str, Any]) -> str:
    return f"#{index}" + (f" {item['name']!r}" if isinstance(item.get("name"), str) else "")


def _value(value: Any, spec: Key, file: str, path: Where, key: str) -> Any:
    def bad(expected: str) -> SchemaError:
        shown = str(value).lower() if isinstance(value, bool) else repr(value)
        return SchemaError(f"{file}: {key!r} {_where(path)} must be {expected}, got {_kind(value)} ({shown})")

    if not _fits(value, spec.type):
        raise bad(_NAMES[spec.type])
    if spec.type is list and spec.items is not None and not all(_fits(v, spec.items) for v in value):
        raise bad(f"an array of {_NAMES[spec.items].split(' ', 1)[1]}s")
    if spec.choices is not None and value not in spec.choices:
        raise bad("one of " + ", ".join(repr(c) for c in spec.choices))
    if spec.minimum is not None and value < spec.minimum:
        raise bad(f"at least {spec.minimum:g}")
    if spec.maximum is not None and value > spec.maximum:
        raise bad(f"at most {spec.maximum:g}")
    return float(value) if spec.type is float else value

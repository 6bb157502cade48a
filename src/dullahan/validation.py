"""msgspec's validation errors in plain words: which key, and what it must be (its whole range or choices).

Settings files and command arguments are both msgspec structs; this is how either says what is wrong.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

_NAMES = {"int": "an integer", "float": "a number", "bool": "true or false", "str": "a string",
          "array": "a list", "object": "an object", "null": "null"}


def explain(error: str, struct: type[Any], noun: str) -> str:
    """``error`` (a msgspec.ValidationError's text) about ``struct``'s fields, naming them as ``noun``s."""
    message, _, where = error.partition(" - at `$.")
    key = where.rstrip("`").split("[", 1)[0].split(".", 1)[0]
    unknown = re.fullmatch(r"Object contains unknown field `(.+)`", message)
    if unknown:
        return f"unknown {noun} {unknown.group(1)!r}"
    missing = re.fullmatch(r"Object missing required field `(.+)`", message)
    if missing:
        return f"missing {noun} {missing.group(1)!r}"
    if message.startswith("Expected `object`") and not key:
        return "the top level must be an object"
    info = _field_type(struct, key) if key else None
    choices = _choices(info)
    if choices and message.startswith("Invalid enum value"):
        return f"{key!r} must be one of {', '.join(map(str, choices))}"
    wrong = re.fullmatch(r"Expected `([\w |]+)`, got `(\w+)`", message)
    if wrong and key:
        wanted = " or ".join(_NAMES.get(t.strip(), t.strip()) for t in wrong.group(1).split("|")
                             if t.strip() != "null")
        return f"{key!r} must be {wanted}"
    if info is not None and message.startswith("Expected `"):   # a range or a length: say the whole of it
        lo, hi = getattr(info, "ge", None), getattr(info, "le", None)
        if lo is not None and hi is not None:
            return f"{key} must be within {_num(lo)}..{_num(hi)}"
        shortest, longest = getattr(info, "min_length", None), getattr(info, "max_length", None)
        unit = "characters" if isinstance(info, msgspec.inspect.StrType) else "items"
        if "length <=" in message and longest is not None:
            return f"{key} is too long: at most {longest} {unit}"
        if shortest is not None and longest is not None:
            return f"{key} must be {shortest} to {longest} {unit} long"
        if shortest is not None:
            return f"{key} must be at least {shortest} {unit} long"
    return f"{key}: {message}" if key else message


def _field_type(struct: type[Any], key: str) -> Any:
    """The field's type info, looking through ``X | None``."""
    info = msgspec.inspect.type_info(struct)
    assert isinstance(info, msgspec.inspect.StructType)
    found = next((f.type for f in info.fields if f.name == key or f.encode_name == key), None)
    if isinstance(found, msgspec.inspect.UnionType):
        found = next((t for t in found.types if not isinstance(t, msgspec.inspect.NoneType)), found)
    return found


def _choices(info: Any) -> tuple[Any, ...]:
    return tuple(info.values) if isinstance(info, msgspec.inspect.LiteralType) else ()


def _num(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"

"""tmux formats for ``display-message -p``: ``#{variable}`` replaced by values from a dict (pure).

Supported, as in tmux:

- ``#{name}``: the value of ``name``; a variable nobody knows is replaced by nothing;
- ``#{?name,then,else}``: ``then`` when ``name`` is set and neither empty nor ``0``, else ``else`` (both may
  hold further formats; commas and braces inside them nest as in tmux);
- the one-letter aliases ``#D`` (pane_id), ``#P`` (pane_index), ``#T`` (pane_title), ``#W``
  (window_name), ``#I`` (window_index), ``#S`` (session_name), ``#H``/``#h`` (host, host_short);
- ``##`` for a literal ``#``, ``#,`` and ``#}`` for a comma or a brace inside a conditional.

Anything else (a ``#`` before another character, an unclosed ``#{``) is kept as it was written. The values a
session knows are listed by ``Session.format_values``.
"""

from __future__ import annotations

from collections.abc import Mapping

ALIASES = {
    "D": "pane_id", "P": "pane_index", "T": "pane_title", "W": "window_name", "I": "window_index",
    "S": "session_name", "H": "host", "h": "host_short",
}
ESCAPES = {"#": "#", ",": ",", "}": "}"}
MAX_FORMAT_CHARS = 4096
MAX_NESTING = 16


class FormatError(ValueError):
    """A format that is too long or nested too deep."""


def expand(fmt: str, values: Mapping[str, str]) -> str:
    """``fmt`` with its formats replaced by ``values``."""
    if len(fmt) > MAX_FORMAT_CHARS:
        raise FormatError(f"a format has at most {MAX_FORMAT_CHARS} characters, not {len(fmt)}")
    return _expand(fmt, values, 0)


def _expand(fmt: str, values: Mapping[str, str], level: int) -> str:
    if level > MAX_NESTING:
        raise FormatError(f"formats nest at most {MAX_NESTING} deep")
    out: list[str] = []
    i = 0
    while i < len(fmt):
        ch = fmt[i]
        if ch != "#" or i + 1 >= len(fmt):
            out.append(ch)
            i += 1
            continue
        nxt = fmt[i + 1]
        if nxt in ESCAPES:
            out.append(ESCAPES[nxt])
            i += 2
        elif nxt in ALIASES:
            out.append(values.get(ALIASES[nxt], ""))
            i += 2
        elif nxt == "{":
            end = _closing_brace(fmt, i + 2)
            if end is None:
                out.append(fmt[i:])
                break
            out.append(_variable(fmt[i + 2:end], values, level))
            i = end + 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _closing_brace(fmt: str, start: int) -> int | None:
    """The index of the ``}`` closing a ``#{`` whose body starts at ``start``, skipping nested ones."""
    depth = 1
    i = start
    while i < len(fmt):
        if fmt[i] == "#" and i + 1 < len(fmt):
            if fmt[i + 1] == "{":
                depth += 1
            i += 2
            continue
        if fmt[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


def _split_top_level(body: str) -> list[str]:
    """Split a conditional's body at the commas that are not inside a nested ``#{...}`` or escaped."""
    parts: list[str] = []
    depth = 0
    start = 0
    i = 0
    while i < len(body):
        if body[i] == "#" and i + 1 < len(body):
            if body[i + 1] == "{":
                depth += 1
            i += 2
            continue
        if body[i] == "}":
            depth -= 1
        elif body[i] == "," and depth == 0:
            parts.append(body[start:i])
            start = i + 1
        i += 1
    parts.append(body[start:])
    return parts


def _variable(body: str, values: Mapping[str, str], level: int) -> str:
    if body.startswith("?"):
        parts = _split_top_level(body[1:])
        condition = _expand(parts[0], values, level + 1) if parts[0].startswith("#") else values.get(parts[0], "")
        then = parts[1] if len(parts) > 1 else ""
        otherwise = ",".join(parts[2:])
        chosen = then if condition not in ("", "0") else otherwise
        return _expand(chosen, values, level + 1)
    return values.get(body, "")

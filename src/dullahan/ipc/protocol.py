"""The IPC wire format, free of I/O.

A request is one line of JSON: ``{"cmd": "panes", "args": {...}}``. A reply is one line of JSON:
``{"ok": true, "result": ...}`` or ``{"ok": false, "error": "message"}``. Lines are capped at
``MAX_LINE`` bytes; arguments are checked by ``Args`` with clear messages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MAX_LINE = 4 << 20
MAX_TEXT = 1 << 20


class RequestError(Exception):
    """The request is malformed or an argument is unusable; the message says which and why."""


@dataclass(frozen=True)
class Request:
    cmd: str
    args: dict[str, Any]


def decode_request(line: bytes) -> Request:
    if len(line) > MAX_LINE:
        raise RequestError(f"request larger than {MAX_LINE} bytes")
    try:
        obj = json.loads(line.decode("utf-8"))
    except (ValueError, RecursionError) as e:   # bad UTF-8, bad JSON, absurd nesting or numbers
        raise RequestError(f"request is not valid JSON: {str(e)[:200]}") from None
    if not isinstance(obj, dict):
        raise RequestError("request must be a JSON object")
    cmd, args = obj.get("cmd"), obj.get("args", {})
    if not isinstance(cmd, str) or not 0 < len(cmd) <= 64:
        raise RequestError("request needs a 'cmd' string")
    if not isinstance(args, dict):
        raise RequestError("'args' must be an object")
    unknown = set(obj) - {"cmd", "args"}
    if unknown:
        raise RequestError(f"unknown request fields: {', '.join(sorted(unknown))}")
    return Request(cmd, args)


def encode_request(cmd: str, args: dict[str, Any] | None = None) -> bytes:
    return json.dumps({"cmd": cmd, "args": args or {}}, separators=(",", ":")).encode() + b"\n"


def encode_reply(result: Any = None, error: str | None = None) -> bytes:
    body = {"ok": False, "error": error} if error is not None else {"ok": True, "result": result}
    return json.dumps(body, separators=(",", ":"), default=str).encode() + b"\n"


def decode_reply(line: bytes) -> Any:
    """The result of a reply line; RequestError with the server's message when it reports one."""
    try:
        obj = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RequestError(f"the server sent an unreadable reply: {e}") from e
    if not isinstance(obj, dict) or "ok" not in obj:
        raise RequestError("the server sent a malformed reply")
    if not obj["ok"]:
        raise RequestError(str(obj.get("error") or "unknown error"))
    return obj.get("result")


class Args:
    """Typed access to a request's arguments; every getter validates and names the argument on error."""

    def __init__(self, args: dict[str, Any], allowed: set[str]) -> None:
        unknown = set(args) - allowed
        if unknown:
            raise RequestError(f"unknown arguments: {', '.join(sorted(unknown))}")
        self._args = args

    def integer(self, name: str, lo: int, hi: int, default: int | None = None) -> int:
        value = self._args.get(name, default)
        if value is None:
            raise RequestError(f"missing argument '{name}'")
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, str) and value.strip().lstrip("-").isdigit():
                value = int(value)
            else:
                raise RequestError(f"'{name}' must be an integer, got {value!r:.40}")
        if not lo <= value <= hi:
            raise RequestError(f"'{name}' must be within {lo}..{hi}, got {value}")
        return value

    def opt_integer(self, name: str, lo: int, hi: int) -> int | None:
        return None if self._args.get(name) is None else self.integer(name, lo, hi)

    def text(self, name: str, max_len: int, default: str | None = None) -> str:
        value = self._args.get(name, default)
        if value is None:
            raise RequestError(f"missing argument '{name}'")
        if not isinstance(value, str):
            raise RequestError(f"'{name}' must be a string")
        if len(value) > max_len:
            raise RequestError(f"'{name}' is too long ({len(value)} characters; the limit is {max_len})")
        return value

    def opt_text(self, name: str, max_len: int) -> str | None:
        return None if self._args.get(name) is None else self.text(name, max_len)

    def flag(self, name: str, default: bool = False) -> bool:
        value = self._args.get(name, default)
        if not isinstance(value, bool):
            raise RequestError(f"'{name}' must be true or false")
        return value

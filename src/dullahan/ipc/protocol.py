"""The IPC wire format, free of I/O.

A request is one line of JSON: ``{"cmd": "panes", "args": {...}}``. A reply is one line of JSON:
``{"ok": true, "result": ...}`` or ``{"ok": false, "error": "message", "code": "bad_argument"}``. Lines are
capped at ``MAX_LINE`` bytes; the arguments are checked by the command table (``dullahan.commands``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MAX_LINE = 4 << 20
MAX_TEXT = 1 << 20


class RequestError(Exception):
    """The request is malformed or the command failed; the message says which and why, ``code`` how
    (the command table's error codes: ``bad_argument``, ``not_found``, ``failed`` ...)."""

    def __init__(self, message: str, code: str = "failed") -> None:
        super().__init__(message)
        self.code = code


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


def encode_reply(result: Any = None, error: str | None = None, code: str = "failed") -> bytes:
    body = {"ok": False, "error": error, "code": code} if error is not None else {"ok": True, "result": result}
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
        raise RequestError(str(obj.get("error") or "unknown error"), str(obj.get("code") or "failed"))
    return obj.get("result")

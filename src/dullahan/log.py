"""Logging by category.

Every line carries a UTC timestamp, a level and a category. Errors, warnings and info lines are always
written; debug lines only for the categories switched on, through ``DULLAHAN_DEBUG`` at start-up or
``dullahan debug-log SPEC`` at runtime. A spec is a comma-separated list of ``+name`` / ``-name`` items
applied left to right, where ``all`` names every category: ``+all,-sync``.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TextIO

CATEGORIES = (
    "server", "config", "connection", "tls", "http", "ws", "auth", "sync", "pty", "pane",
    "layout", "input", "clipboard", "ipc", "term", "images",
)


class SpecError(ValueError):
    pass


def parse_spec(spec: str, current: frozenset[str] = frozenset()) -> frozenset[str]:
    """Apply a ``+a,-b`` spec to ``current`` and return the new set of enabled categories."""
    enabled = set(current)
    for raw in spec.split(","):
        item = raw.strip()
        if not item:
            continue
        sign, name = ("-", item[1:]) if item[0] == "-" else ("+", item.lstrip("+"))
        if name == "none":
            names: set[str] = set(CATEGORIES)
            sign = "-"
        elif name == "all":
            names = set(CATEGORIES)
        elif name in CATEGORIES:
            names = {name}
        else:
            raise SpecError(f"unknown debug category {name!r}; known: all, none, {', '.join(CATEGORIES)}")
        if sign == "+":
            enabled |= names
        else:
            enabled -= names
    return frozenset(enabled)


class Logger:
    def __init__(self) -> None:
        self.enabled: frozenset[str] = frozenset()
        self._out: TextIO | _Tee = sys.stderr
        self._lock = threading.Lock()
        self.path: str | None = None
        self.errors = 0

    def configure(self, path: str | None = None, spec: str | None = None, also_stderr: bool = False) -> None:
        if spec:
            self.enabled = parse_spec(spec)
        if path is not None:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self._out = _Tee(os.fdopen(fd, "a", buffering=1, encoding="utf-8", errors="replace"),
                             sys.stderr if also_stderr else None)
            self.path = path

    def set_spec(self, spec: str) -> frozenset[str]:
        self.enabled = parse_spec(spec, self.enabled)
        return self.enabled

    def is_on(self, category: str) -> bool:
        return category in self.enabled

    def _write(self, level: str, category: str, msg: str, fields: dict[str, object]) -> None:
        now = time.time()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"
        extra = "".join(f" {k}={_fmt(v)}" for k, v in fields.items())
        line = f"{stamp} {level:<5} {category}: {msg}{extra}\n"
        with self._lock:
            try:
                self._out.write(line)
            except (OSError, ValueError):
                pass

    def debug(self, category: str, msg: str, **fields: object) -> None:
        if category in self.enabled:
            self._write("DEBUG", category, msg, fields)

    def info(self, category: str, msg: str, **fields: object) -> None:
        self._write("INFO", category, msg, fields)

    def warning(self, category: str, msg: str, **fields: object) -> None:
        self._write("WARN", category, msg, fields)

    def error(self, category: str, msg: str, **fields: object) -> None:
        self.errors += 1
        self._write("ERROR", category, msg, fields)


class _Tee:
    def __init__(self, primary: TextIO, secondary: TextIO | None) -> None:
        self.primary, self.secondary = primary, secondary

    def write(self, s: str) -> None:
        self.primary.write(s)
        if self.secondary is not None:
            self.secondary.write(s)
            self.secondary.flush()


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.3f}"
    s = str(v)
    return repr(s) if (" " in s or not s) else s


log = Logger()

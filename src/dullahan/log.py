"""Logging by category.

Every line carries a UTC timestamp, a level and a category. Errors, warnings and info lines are always
written; debug lines only for the categories switched on, through ``DULLAHAN_DEBUG`` at start-up or
``dullahan debug-log SPEC`` at runtime. A spec is a comma-separated list of ``+name`` / ``-name`` items
applied left to right, where ``all`` names every category: ``+all,-sync``.

The log can never fill a disk or leak a secret:

- the file rotates at a size cap, keeping a few old files (``server-7681.log.1`` ...), whatever the
  debug categories; when the server's stderr is the log file (``serve -d``) it follows the rotation;
- every line is scrubbed before it is written: the current tokens, ``token=`` query values, bearer
  credentials and session cookie values become ``***``, and a line is cut at ``MAX_LINE_CHARS``;
- lines an outsider can cause at will (refused requests, malformed HTTP) go through ``log.limited``, which
  writes a burst and then about one line per second, carrying the count of the lines it suppressed.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Protocol, TextIO

CATEGORIES = (
    "server", "config", "connection", "tls", "http", "ws", "auth", "sync", "pty", "pane",
    "layout", "input", "clipboard", "ipc", "term", "images",
)
DEFAULT_MAX_BYTES = 5 << 20
DEFAULT_BACKUPS = 3
MAX_LINE_CHARS = 4096

_SCRUB = re.compile(
    r"(?P<key>cookie:\s*)[^\r\n'\"\\]+"                  # a whole Cookie header
    r"|(?P<key2>token=|dullahan_\d+=)[^\s&;,'\"\\]+"      # a token in a query, our session cookie
    r"|(?P<key3>bearer\s+)[A-Za-z0-9._~+/=-]{8,}",          # a bearer credential
    re.IGNORECASE,
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


def scrub(text: str, secrets: tuple[str, ...] = ()) -> str:
    """``text`` with every known secret and every credential-shaped value replaced by ``***``."""
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, "***")
    return _SCRUB.sub(lambda m: (m.group("key") or m.group("key2") or m.group("key3")) + "***", text)


@dataclass
class RateLimiter:
    """A token bucket for log lines: ``burst`` lines at once, then ``rate`` lines per second (pure)."""

    rate: float = 1.0
    burst: float = 10.0
    tokens: float = field(default=-1.0)
    at: float = 0.0
    suppressed: int = 0

    def allow(self, now: float) -> int | None:
        """None when this line must be dropped; otherwise how many lines were dropped before it."""
        if self.tokens < 0:
            self.tokens, self.at = self.burst, now
        self.tokens = min(self.burst, self.tokens + max(0.0, now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            self.suppressed += 1
            return None
        self.tokens -= 1
        dropped, self.suppressed = self.suppressed, 0
        return dropped


class Sink(Protocol):
    def write(self, line: str) -> None: ...


class _StreamSink:
    """Writes to ``stream``, or to whatever ``sys.stderr`` is at the time."""

    def __init__(self, stream: TextIO | None) -> None:
        self.stream = stream

    def write(self, line: str) -> None:
        (self.stream or sys.stderr).write(line)


class RotatingFile:
    """Appends lines to ``path``; when a line would take it past ``max_bytes`` the file becomes ``path.1``
    (``path.1`` becomes ``path.2`` ..., the oldest of ``backups`` is deleted) and a new file starts.

    With ``follow_stderr``, file descriptor 2 is pointed at each new file, so what the interpreter itself
    writes to stderr (a crash) lands in the current log and is capped with it.
    """

    def __init__(self, path: str, max_bytes: int, backups: int, tee: TextIO | None = None,
                 follow_stderr: bool = False) -> None:
        self.path = path
        self.max_bytes = max(1024, max_bytes)
        self.backups = max(1, backups)
        self.tee = tee
        self.follow_stderr = follow_stderr
        self.rotations = 0
        self._fd = -1
        self._size = 0
        self._open()

    def _open(self) -> None:
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._size = os.fstat(self._fd).st_size
        if self.follow_stderr:
            os.dup2(self._fd, 2)

    def write(self, line: str) -> None:
        data = line.encode("utf-8", "replace")
        if self._size + len(data) > self.max_bytes and self._size > 0:
            self._size = os.fstat(self._fd).st_size   # count what went to stderr behind our back too
            if self._size + len(data) > self.max_bytes:
                self._rotate()
        os.write(self._fd, data)
        self._size += len(data)
        if self.tee is not None:
            self.tee.write(line)
            self.tee.flush()

    def _rotate(self) -> None:
        for i in range(self.backups - 1, 0, -1):
            older = f"{self.path}.{i}"
            if os.path.exists(older):
                os.replace(older, f"{self.path}.{i + 1}")
        os.replace(self.path, f"{self.path}.1")
        old = self._fd
        self._open()
        os.close(old)
        self.rotations += 1


def stderr_is(path: str) -> bool:
    """Whether file descriptor 2 is the file at ``path`` (``serve -d`` hands the server its log as stderr)."""
    try:
        a, b = os.fstat(2), os.stat(path)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


class Logger:
    def __init__(self) -> None:
        self.enabled: frozenset[str] = frozenset()
        self._out: Sink = _StreamSink(None)
        self._lock = threading.Lock()
        self.path: str | None = None
        self.errors = 0
        self._secrets: tuple[str, ...] = ()
        self._limiters: dict[str, RateLimiter] = {}

    def configure(self, path: str | None = None, spec: str | None = None, also_stderr: bool = False,
                  max_bytes: int = DEFAULT_MAX_BYTES, backups: int = DEFAULT_BACKUPS) -> None:
        if spec:
            self.enabled = parse_spec(spec)
        if path is not None:
            follow = stderr_is(path)
            self._out = RotatingFile(path, max_bytes, backups, tee=sys.stderr if also_stderr and not follow else None,
                                     follow_stderr=follow)
            self.path = path

    def set_spec(self, spec: str) -> frozenset[str]:
        self.enabled = parse_spec(spec, self.enabled)
        return self.enabled

    def set_secrets(self, *secrets: str) -> None:
        """Values that must never reach the log (the tokens); replaced by ``***`` in every line."""
        self._secrets = tuple(s for s in secrets if s)

    def is_on(self, category: str) -> bool:
        return category in self.enabled

    def _write(self, level: str, category: str, msg: str, fields: dict[str, object]) -> None:
        now = time.time()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"
        extra = "".join(f" {k}={_fmt(v)}" for k, v in fields.items())
        body = scrub(f"{category}: {msg}{extra}", self._secrets)
        if len(body) > MAX_LINE_CHARS:
            body = f"{body[:MAX_LINE_CHARS]}... ({len(body) - MAX_LINE_CHARS} more characters)"
        line = f"{stamp} {level:<5} {body}\n"
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

    def limited(self, level: str, category: str, key: str, msg: str, **fields: object) -> bool:
        """A line anyone can trigger at will: written within the rate of ``key``'s limiter (a burst of 10,
        then one a second), with ``suppressed=N`` when lines were dropped before it. True if written."""
        with self._lock:
            limiter = self._limiters.get(key)
            if limiter is None:
                limiter = self._limiters[key] = RateLimiter()
            dropped = limiter.allow(time.monotonic())
        if dropped is None:
            return False
        if dropped:
            fields = {**fields, "suppressed": dropped}
        if level == "debug":
            self.debug(category, msg, **fields)
        elif level == "info":
            self.info(category, msg, **fields)
        elif level == "error":
            self.error(category, msg, **fields)
        else:
            self.warning(category, msg, **fields)
        return True


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.3f}"
    s = str(v)
    return repr(s) if (" " in s or not s) else s


log = Logger()

"""Who may connect: token -> session cookie, bearer tokens, Origin checks, and slowing down guessers.

The session cookie is stateless: ``role.issued.nonce.signature`` with an HMAC keyed by both tokens, so it
survives a server restart and dies with ``token --rotate``. Everything is compared in constant time and
no token or cookie value is ever logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import urlsplit

from dullahan.tokens import Role, Tokens

COOKIE_MAX_AGE = 30 * 24 * 3600
MAX_COOKIE_LEN = 256
FREE_FAILURES = 3
MAX_DELAY = 5.0
FAILURE_MEMORY = 600.0
MAX_TRACKED_ADDRESSES = 4096


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Authenticator:
    def __init__(self, tokens: Tokens, port: int) -> None:
        self.cookie_name = f"dullahan_{port}"
        self.set_tokens(tokens)

    def set_tokens(self, tokens: Tokens) -> None:
        self.tokens = tokens
        self._key = hashlib.sha256(b"dullahan-session\0" + tokens.master.encode() + b"\0"
                                   + tokens.view.encode()).digest()

    def role_of_token(self, token: str) -> Role | None:
        return self.tokens.role_of(token)

    def issue_cookie(self, role: Role, now: float | None = None) -> str:
        body = f"{role}.{int(now if now is not None else time.time())}.{_b64(secrets.token_bytes(9))}"
        return f"{body}.{self._sign(body)}"

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())

    def role_of_cookie(self, value: str | None, now: float | None = None) -> Role | None:
        if not value or len(value) > MAX_COOKIE_LEN:
            return None
        body, _, sig = value.rpartition(".")
        if not body or not hmac.compare_digest(sig.encode(), self._sign(body).encode()):
            return None
        parts = body.split(".")
        if len(parts) != 3 or parts[0] not in ("master", "view"):
            return None
        try:
            issued = int(parts[1])
        except ValueError:
            return None
        t = now if now is not None else time.time()
        if not issued - 60 <= t <= issued + COOKIE_MAX_AGE:
            return None
        return "master" if parts[0] == "master" else "view"

    def role_of_bearer(self, header: str | None) -> Role | None:
        if not header or not header.startswith("Bearer "):
            return None
        return self.tokens.role_of(header[7:].strip())


def origin_matches_host(origin: str | None, host: str | None, tls: bool) -> bool:
    """Whether a browser's Origin names exactly the host:port it connected to (no cross-site WebSockets)."""
    if not origin or not host or origin == "null":
        return False
    try:
        parts = urlsplit(origin)
        origin_port = parts.port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        return False
    default = 443 if parts.scheme == "https" else 80
    origin_hostport = f"{parts.hostname}:{origin_port or default}".lower()
    try:
        host_parts = urlsplit("//" + host)
        host_port = host_parts.port
    except ValueError:
        return False
    if not host_parts.hostname:
        return False
    host_hostport = f"{host_parts.hostname}:{host_port or (443 if tls else 80)}".lower()
    return hmac.compare_digest(origin_hostport.encode(), host_hostport.encode())


@dataclass
class _Failures:
    count: int
    first: float
    last: float


class FailureThrottle:
    """Per-address failure counts; after a few failures every further attempt waits longer (capped)."""

    def __init__(self) -> None:
        self._by_address: OrderedDict[str, _Failures] = OrderedDict()

    def delay(self, address: str, now: float | None = None) -> float:
        t = now if now is not None else time.monotonic()
        f = self._by_address.get(address)
        if f is None or t - f.last > FAILURE_MEMORY or f.count < FREE_FAILURES:
            return 0.0
        return min(MAX_DELAY, 0.25 * 2 ** (f.count - FREE_FAILURES))

    def failed(self, address: str, now: float | None = None) -> int:
        t = now if now is not None else time.monotonic()
        f = self._by_address.get(address)
        if f is None or t - f.last > FAILURE_MEMORY:
            f = self._by_address[address] = _Failures(0, t, t)
        f.count += 1
        f.last = t
        self._by_address.move_to_end(address)
        while len(self._by_address) > MAX_TRACKED_ADDRESSES:
            self._by_address.popitem(last=False)
        return f.count

    def succeeded(self, address: str) -> None:
        self._by_address.pop(address, None)

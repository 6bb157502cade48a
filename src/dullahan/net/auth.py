"""Who may connect: token -> session cookie, bearer tokens, and slowing down guessers (Origin and Host
checks are in ``net.proxy``).

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


@dataclass
class _Failures:
    count: int
    first: float
    last: float


class FailureThrottle:
    """Per-address counts of wrong tokens, for slowing down guessers.

    Only the answer to a wrong token waits: after ``FREE_FAILURES`` failures from an address, 0.25 s doubling
    with each further failure, at most ``MAX_DELAY``. A right token is never delayed, whoever failed before
    it from the same address (every local user shares 127.0.0.1), and only real token attempts count: a
    request without credentials, or with a stale cookie, is not a guess.
    """

    def __init__(self) -> None:
        self._by_address: OrderedDict[str, _Failures] = OrderedDict()

    def failed(self, address: str, now: float | None = None) -> tuple[int, float]:
        """Record a wrong token; returns the failure count and how long to wait before answering."""
        t = now if now is not None else time.monotonic()
        f = self._by_address.get(address)
        if f is None or t - f.last > FAILURE_MEMORY:
            f = self._by_address[address] = _Failures(0, t, t)
        f.count += 1
        f.last = t
        self._by_address.move_to_end(address)
        while len(self._by_address) > MAX_TRACKED_ADDRESSES:
            self._by_address.popitem(last=False)
        return f.count, failure_delay(f.count)


def failure_delay(count: int) -> float:
    """The wait before answering the ``count``-th failure in a row from one address (capped)."""
    if count <= FREE_FAILURES:
        return 0.0
    return min(MAX_DELAY, 0.25 * 2 ** min(32, count - FREE_FAILURES - 1))

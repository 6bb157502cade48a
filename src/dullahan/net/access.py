"""Request-level access decisions for the web server: the request as the browser made it (through trusted
proxies), the Host check, and the memory of why a browser's WebSocket upgrade was refused.

A page cannot read the status of a refused WebSocket upgrade, so the server remembers the last refusal of
each browser session (keyed by a digest of its session cookie, for two minutes) and the page asks
``GET <base>refusal`` after a failed upgrade: ``{"reason": "origin_rejected", "detail": "..."}``,
``{"reason": "signed_out"}`` without a valid session, ``{"reason": null}`` when nothing was refused (the
network is down). A refused Host never reaches that handler: every refusal response also carries the
reason in the ``X-Dullahan-Refused`` header, which the page reads from the failed fetch.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass

from aiohttp import web

from dullahan.config import Settings
from dullahan.net.proxy import Forwarded, HostPolicy, ProxyPolicy, is_local_address, machine_names

REFUSAL_MEMORY_SECONDS = 120.0
REFUSAL_MEMORY_ENTRIES = 1024
REFUSAL_HEADER = "X-Dullahan-Refused"


@dataclass(frozen=True)
class Refusal:
    reason: str
    detail: str
    at: float


class RefusalMemory:
    """The last refusal per browser session, bounded in size and age (pure)."""

    def __init__(self, keep_seconds: float = REFUSAL_MEMORY_SECONDS, max_entries: int = REFUSAL_MEMORY_ENTRIES) -> None:
        self.keep_seconds = keep_seconds
        self.max_entries = max_entries
        self._last: OrderedDict[str, Refusal] = OrderedDict()

    def remember(self, session: str, reason: str, detail: str, now: float) -> None:
        self._last[session] = Refusal(reason, detail, now)
        self._last.move_to_end(session)
        while len(self._last) > self.max_entries:
            self._last.popitem(last=False)

    def forget(self, session: str) -> None:
        self._last.pop(session, None)

    def last(self, session: str, now: float) -> Refusal | None:
        refusal = self._last.get(session)
        if refusal is None or now - refusal.at > self.keep_seconds:
            return None
        return refusal


def session_key(cookie: str) -> str:
    """What the refusal memory keys a session by: never the cookie value itself."""
    return hashlib.sha256(cookie.encode("utf-8", "surrogateescape")).hexdigest()[:32]


class Access:
    def __init__(self, settings: Settings, tls: bool) -> None:
        self.tls = tls
        self.proxies = ProxyPolicy(settings.trusted_proxies)
        self.hosts = HostPolicy(settings.bind, settings.allowed_hosts, machine_names(), is_local_address)
        self.refusals = RefusalMemory()

    def forwarded(self, request: web.BaseRequest) -> Forwarded:
        """The request as the browser made it (a few header lookups: cheap enough to repeat)."""
        transport = request.transport
        peer = transport.get_extra_info("peername") if transport is not None else None
        address = str(peer[0]) if peer else "?"
        headers = request.headers
        return self.proxies.resolve(address, self.tls, request.host, headers.getall("X-Forwarded-Proto", []),
                                    headers.getall("X-Forwarded-Host", []), headers.getall("X-Forwarded-For", []))

    def host_allowed(self, request: web.BaseRequest) -> bool:
        return self.hosts.allows(self.forwarded(request).host)

    def remember_refusal(self, cookie: str | None, reason: str, detail: str) -> None:
        if cookie:
            self.refusals.remember(session_key(cookie), reason, detail, time.monotonic())

    def forget_refusal(self, cookie: str | None) -> None:
        if cookie:
            self.refusals.forget(session_key(cookie))

    def last_refusal(self, cookie: str) -> Refusal | None:
        return self.refusals.last(session_key(cookie), time.monotonic())

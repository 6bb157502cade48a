"""The HTTP(S) + WebSocket server: the browser app, the token -> cookie exchange, and client sessions.

Routes, under the base path (``--base-path``, default ``/``):
- ``GET /?token=T``: a valid token sets the session cookie and redirects to ``/`` without the token;
  a wrong one gets 403 (and each further failure from that address waits longer).
- ``GET /``: the browser app for a valid session; 403 otherwise.
- ``GET /ws``: the WebSocket. Needs a session (cookie, or ``Authorization: Bearer`` for scripts) and, when
  the browser's cookie is used, an ``Origin`` equal to the scheme and host the browser addressed (no
  cross-site WebSocket hijacking; through a trusted proxy, as the proxy says).
- ``GET /refusal``: why this browser's last WebSocket upgrade was refused (see ``net.access``).
- ``GET /static/...``: the app's files.
- ``GET /sw.js``: the service worker (at the base path, so that its scope is the whole app), public.
Every request must name a Host the server answers to (``net.proxy.HostPolicy``), else 403 ``host_rejected``.
Every response carries the security headers (CSP without inline script, no-referrer, nosniff, no framing).
Connections pass the ``ConnectionGate`` beneath aiohttp (``net.guard``) before any of this.
"""

from __future__ import annotations

import asyncio
import collections
import socket
import ssl
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from dullahan.actions import BrowserActions
from dullahan.commands.table import Host
from dullahan.config import Settings
from dullahan.hub import SyncHub
from dullahan.log import log
from dullahan.net import disconnect as dc
from dullahan.net.access import REFUSAL_HEADER, Access
from dullahan.net.auth import Authenticator, FailureThrottle
from dullahan.net.client import ClientConnection
from dullahan.net.disconnect import Disconnect
from dullahan.net.guard import GuardedConnection, GuardedSite
from dullahan.net.limits import Admission, ConnectionGate, unauthenticated_caps, websocket_admission
from dullahan.net.proxy import origin_matches
from dullahan.net.tls import server_context
from dullahan.session.session import Session
from dullahan.tokens import Tokens

WEB_ROOT = Path(__file__).resolve().parent.parent / "web"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
MAX_QUERY = 2048
ROLE_TICK = 0.5
HTTP_KEEPALIVE = 75.0   # idle keep-alive of authenticated HTTP connections (aiohttp's default is an hour)


class WebServer:
    def __init__(self, settings: Settings, tokens: Tokens, session: Session, hub: SyncHub, host: Host) -> None:
        self.settings = settings
        self.session = session
        self.hub = hub
        self.actions = BrowserActions(host, hub)
        self.host = host
        self.auth = Authenticator(tokens, settings.port)
        self.throttle = FailureThrottle()
        self.tls = self.settings.tls_cert is not None
        self.access = Access(settings, self.tls)
        self.base = settings.base_path
        self.gate = _make_gate(settings)
        self._evicting: set[int] = set()
        self.clients: dict[int, ClientConnection] = {}
        self.disconnects: collections.Counter[str] = collections.Counter()
        self.counters: collections.Counter[str] = collections.Counter()
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._background: set[asyncio.Task[None]] = set()

    def _hello_extra(self) -> dict[str, Any]:
        """What every hello reply also says: how this server came to be, when it continues another."""
        notice = self.host.restart_notice
        return {"restart": notice} if notice else {}

    def count(self, name: str) -> None:
        self.counters[name] += 1

    # -- life --------------------------------------------------------------------------------------
    async def start(self, socks: list[socket.socket] | None = None) -> None:
        """Listen on the configured address, or on ``socks``: the listeners a restarted server hands over."""
        limit = self.settings.max_header_bytes
        app = web.Application(middlewares=[self._security_headers, self._guard], client_max_size=64 * 1024)
        self._add_routes(app)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        ctx: ssl.SSLContext | None = None
        if self.tls:
            assert self.settings.tls_cert and self.settings.tls_key
            ctx = server_context(self.settings.tls_cert, self.settings.tls_key)
        handler_args = {"max_line_size": limit, "max_field_size": limit, "max_headers": 64, "access_log": None,
                        "keepalive_timeout": HTTP_KEEPALIVE}
        site = GuardedSite(self._runner, self.settings.bind, self.settings.port, gate=self.gate, ssl_context=ctx,
                           handler_args=handler_args, trusted_peer=self.access.proxies.trusts, count=self.count,
                           listeners=socks)
        await site.start()
        self._spawn(self._tick_roles())
        log.info("http", "listening", address=f"{self.settings.bind}:{self.settings.port}",
                 scheme="https" if self.tls else "http", base_path=self.base,
                 unauthenticated_limit=f"{self.gate.max_total}/{self.gate.max_per_address} per address")

    def _add_routes(self, app: web.Application) -> None:
        base = self.base
        app.router.add_get(base, self._index)
        app.router.add_get(base + "ws", self._websocket)
        app.router.add_get(base + "refusal", self._refusal)
        app.router.add_get(base + "sw.js", self._service_worker)
        if base != "/":
            app.router.add_get(base.rstrip("/"), self._to_base)
        if WEB_ROOT.is_dir():
            app.router.add_static(base + "static/", WEB_ROOT, show_index=False, follow_symlinks=False)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _tick_roles(self) -> None:
        """Hand a master role kept for a departed master back when its grace runs out."""
        while not self._closing:
            self.hub.tick(time.monotonic())
            await asyncio.sleep(ROLE_TICK)

    async def close(self) -> None:
        self._closing = True
        for task in list(self._background):
            task.cancel()
        clients = list(self.clients.values())
        await asyncio.gather(*(c.close(Disconnect(dc.SERVER_SHUTDOWN, "server shutting down"), 1001,
                                       "server shutting down") for c in clients), return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()

    def stop_accepting(self) -> None:
        """Close our listening sockets (after a restart handed them over; connected clients stay for now)."""
        for site in self._runner.sites if self._runner is not None else ():
            if isinstance(site, GuardedSite):
                site.stop_accepting()

    def listening_sockets(self) -> list[socket.socket]:
        """The listening sockets, to hand to a restarted server."""
        return [listener for site in (self._runner.sites if self._runner is not None else ())
                if isinstance(site, GuardedSite) for listener in site.listeners]

    def tokens_rotated(self, tokens: Tokens) -> None:
        self.auth.set_tokens(tokens)
        for client in list(self.clients.values()):
            self._spawn(client.close(Disconnect(dc.SIGNED_OUT, "tokens rotated"), 4001, "tokens rotated"))

    # -- reporting ---------------------------------------------------------------------------------
    def client_count(self) -> int:
        return len(self.clients)

    def client_list(self) -> list[dict[str, Any]]:
        return [c.info() for c in self.clients.values()]

    def disconnect_counts(self) -> dict[str, int]:
        return dict(self.disconnects)

    def counter_values(self) -> dict[str, int]:
        return dict(self.counters)

    # -- HTTP --------------------------------------------------------------------------------------
    @web.middleware
    async def _security_headers(self, request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as e:
            response = e
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if self.tls:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if isinstance(response, web.HTTPException):
            raise response
        return response

    @web.middleware
    async def _guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Every request: the Host check, and telling the connection gate about the request and its
        credentials (a valid session cookie authenticates the connection)."""
        guard = _guard_of(request)
        if guard is not None:
            guard.request_started()
        try:
            if not self.access.host_allowed(request):
                host = self.access.forwarded(request).host
                return await self._refuse(request, dc.HOST_REJECTED,
                                          f"host {host[:80]!r} is not one this server answers to")
            if guard is not None and self.auth.role_of_cookie(request.cookies.get(self.auth.cookie_name)):
                guard.authenticated()
            return await handler(request)
        finally:
            if guard is not None:
                guard.request_finished()

    def _address(self, request: web.Request) -> str:
        return self.access.forwarded(request).client

    async def _refuse(self, request: web.Request, reason: str, detail: str, status: int = 403,
                      attempt: bool = False) -> web.Response:
        """Answer a refused request (403, or 503 when full), counted and logged (rate-limited).
        ``attempt``: a wrong token was presented; only those are slowed down."""
        address = self._address(request)
        if attempt:
            failures, delay = self.throttle.failed(address)
            if delay:
                await asyncio.sleep(delay)
            detail = f"{detail} (failure {failures} from this address)"
        self.disconnects[reason] += 1
        log.limited("warning", "auth" if reason == dc.AUTH_FAILED else "connection", f"refused:{reason}", "refused",
                    reason=reason, address=address, path=request.path[:120], detail=detail)
        if request.path == self.base + "ws":
            self.access.remember_refusal(request.cookies.get(self.auth.cookie_name), reason, detail)
        return web.Response(status=status, text=_refusal_text(reason) + "\n",
                            headers={"Cache-Control": "no-store", REFUSAL_HEADER: reason})

    async def _to_base(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPPermanentRedirect(location=self.base + (f"?{request.query_string}" if request.query_string
                                                               else ""))

    async def _refusal(self, request: web.Request) -> web.StreamResponse:
        """Why this browser's last WebSocket upgrade was refused (the page cannot read an upgrade's status)."""
        cookie = request.cookies.get(self.auth.cookie_name)
        body: dict[str, Any] = {"reason": None}
        if self.auth.role_of_cookie(cookie) is None:
            body = {"reason": dc.SIGNED_OUT}
        elif cookie and (last := self.access.last_refusal(cookie)) is not None:
            body = {"reason": last.reason, "detail": last.detail[:300]}
        return web.json_response(body, headers={"Cache-Control": "no-store"})

    async def _index(self, request: web.Request) -> web.StreamResponse:
        if len(request.query_string) > MAX_QUERY:
            return web.Response(status=414, text="query too long\n")
        token = request.query.get("token")
        if token is not None:
            address = self._address(request)
            role = self.auth.role_of_token(token)
            if role is None:
                return await self._refuse(request, dc.AUTH_FAILED, "wrong token in URL", attempt=True)
            _authenticated(request)
            response = web.HTTPSeeOther(location=self.base)
            secure = self.access.forwarded(request).scheme == "https"
            response.set_cookie(self.auth.cookie_name, self.auth.issue_cookie(role), httponly=True,
                                samesite="Strict", secure=secure, path=self.base, max_age=30 * 24 * 3600)
            response.headers["Cache-Control"] = "no-store"
            log.info("auth", "signed in", role=role, address=address)
            raise response
        if self.auth.role_of_cookie(request.cookies.get(self.auth.cookie_name)) is None:
            return await self._refuse(request, dc.AUTH_FAILED, "no valid session cookie")
        index = WEB_ROOT / "index.html"
        if not index.is_file():
            return web.Response(text="the browser client is not installed\n")
        return web.FileResponse(index, headers={"Cache-Control": "no-store"})

    async def _service_worker(self, request: web.Request) -> web.StreamResponse:
        """The offline page's service worker: static code, no session needed; revalidated on every update check."""
        path = WEB_ROOT / "sw.js"
        if not path.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers={"Cache-Control": "no-cache"})

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        if self._closing:
            return web.Response(status=503, text="shutting down\n")
        cookie = request.cookies.get(self.auth.cookie_name)
        cookie_role = self.auth.role_of_cookie(cookie)
        bearer_role = self.auth.role_of_bearer(request.headers.get("Authorization"))
        role = bearer_role or cookie_role
        if role is None:
            bearer = bool(request.headers.get("Authorization"))
            return await self._refuse(request, dc.AUTH_FAILED, "wrong bearer token" if bearer else "no valid session",
                                      attempt=bearer)
        _authenticated(request)
        origin = request.headers.get("Origin")
        seen = self.access.forwarded(request)
        if (bearer_role is None or origin is not None) and not origin_matches(origin, seen.scheme, seen.host):
            return await self._refuse(request, dc.ORIGIN_REJECTED,
                                      f"origin {str(origin)[:80]!r} does not match {seen.scheme}://{seen.host[:80]}")
        if not self._make_room(role):
            return await self._refuse(request, dc.TOO_MANY_CONNECTIONS,
                                      f"{len(self.clients)} clients connected", status=503)
        self.access.forget_refusal(cookie)
        # aiohttp refuses a message of exactly max_msg_size bytes; the advertised limit is inclusive.
        ws = web.WebSocketResponse(max_msg_size=self.settings.max_message_bytes + 1, autoping=False,
                                   heartbeat=None, compress=False, timeout=2.0)
        guard = _guard_of(request)
        if guard is not None:
            guard.websocket = ws
        await ws.prepare(request)
        client = ClientConnection(ws, request, role, self.hub, self.actions, self.settings, self._hello_extra)
        if seen.proxied:
            client.address = seen.client
        self.clients[client.id] = client
        try:
            ended = await client.serve()
        finally:
            self.clients.pop(client.id, None)
            self._evicting.discard(client.id)
        self.disconnects[ended.reason] += 1
        return ws

    def _make_room(self, role: str) -> bool:
        """Whether a new client with this token fits (``websocket_admission``); closes the oldest viewer when a
        master-token client needs its place."""
        present = [c for c in self.clients.values() if c.id not in self._evicting]
        viewers = [c for c in present if not c.can_master]
        decision = websocket_admission(role == "master", len(viewers), len(present) - len(viewers),
                                       self.settings.max_connections, self.settings.reserved_master_connections)
        if decision is Admission.REFUSE:
            return False
        if decision is Admission.EVICT_VIEWER:
            oldest = min(viewers, key=lambda c: c.started)
            self._evicting.add(oldest.id)
            self.count("viewers_evicted")
            log.info("connection", "closing the oldest viewer to make room for a master-token client",
                     client=oldest.id, address=oldest.address)
            task = asyncio.ensure_future(oldest.close(
                Disconnect(dc.TOO_MANY_CONNECTIONS, "closed to make room for a master-token client"), 1013,
                "server full"))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        return True


def _make_gate(settings: Settings) -> ConnectionGate:
    """The gate for connections that have not authenticated, its caps fitted to the fd limit."""
    import resource
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    fd_limit = soft if soft != resource.RLIM_INFINITY else 1 << 20
    total, per_address = unauthenticated_caps(fd_limit, settings.max_unauthenticated,
                                              settings.max_unauthenticated_per_address)
    if total < settings.max_unauthenticated:
        log.info("connection", "unauthenticated connection limit lowered to fit the file descriptor limit",
                 limit=total, fd_limit=fd_limit)
    return ConnectionGate(total, per_address, settings.unauthenticated_timeout)


def _guard_of(request: web.BaseRequest) -> GuardedConnection | None:
    guard = getattr(request.protocol, "guard", None)
    return guard if isinstance(guard, GuardedConnection) else None


def _authenticated(request: web.BaseRequest) -> None:
    """The request carried valid credentials: its connection leaves the unauthenticated pool."""
    guard = _guard_of(request)
    if guard is not None:
        guard.authenticated()


def _refusal_text(reason: str) -> str:
    return {
        dc.AUTH_FAILED: "Not signed in. Open the URL printed by 'dullahan serve' or 'dullahan url'.",
        dc.ORIGIN_REJECTED: "Cross-origin WebSocket refused. Behind a reverse proxy, start the server with "
                            "--trusted-proxy <the proxy's address>.",
        dc.TOO_MANY_CONNECTIONS: "Too many connections.",
        dc.HOST_REJECTED: "This server does not answer to that host name. Start it with --allowed-host <name> "
                          "to allow it.",
    }.get(reason, "Refused.")

"""The HTTP(S) + WebSocket server: the browser app, the token -> cookie exchange, and client sessions.

Routes:
- ``GET /?token=T``: a valid token sets the session cookie and redirects to ``/`` without the token;
  a wrong one gets 403 (and each further failure from that address waits longer).
- ``GET /``: the browser app for a valid session; 403 otherwise.
- ``GET /ws``: the WebSocket. Needs a session (cookie, or ``Authorization: Bearer`` for scripts) and, when
  the browser's cookie is used, an ``Origin`` equal to the Host (no cross-site WebSocket hijacking).
- ``GET /static/...``: the app's files.
Every response carries the security headers (CSP without inline script, no-referrer, nosniff, no framing).
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
from dullahan.net.auth import Authenticator, FailureThrottle, origin_matches_host
from dullahan.net.client import ClientConnection
from dullahan.net.disconnect import Disconnect
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


class WebServer:
    def __init__(self, settings: Settings, tokens: Tokens, session: Session, hub: SyncHub, host: Host) -> None:
        self.settings = settings
        self.session = session
        self.hub = hub
        self.actions = BrowserActions(host, hub)
        self.auth = Authenticator(tokens, settings.port)
        self.throttle = FailureThrottle()
        self.tls = self.settings.tls_cert is not None
        self.clients: dict[int, ClientConnection] = {}
        self.disconnects: collections.Counter[str] = collections.Counter()
        self.counters: collections.Counter[str] = collections.Counter()
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._background: set[asyncio.Task[None]] = set()

    def count(self, name: str) -> None:
        self.counters[name] += 1

    # -- life --------------------------------------------------------------------------------------
    async def start(self, socks: list[socket.socket] | None = None) -> None:
        """Listen on the configured address, or on ``socks``: the listeners a restarted server hands over."""
        limit = self.settings.max_header_bytes
        app = web.Application(middlewares=[self._security_headers], client_max_size=64 * 1024,
                              handler_args={"max_line_size": limit, "max_field_size": limit, "max_headers": 64})
        app.router.add_get("/", self._index)
        app.router.add_get("/ws", self._websocket)
        if WEB_ROOT.is_dir():
            app.router.add_static("/static/", WEB_ROOT, show_index=False, follow_symlinks=False)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        ctx: ssl.SSLContext | None = None
        if self.tls:
            assert self.settings.tls_cert and self.settings.tls_key
            ctx = server_context(self.settings.tls_cert, self.settings.tls_key)
        sites: list[web.BaseSite] = [web.SockSite(self._runner, sock, ssl_context=ctx, backlog=128)
                                     for sock in socks or []]
        if not sites:
            sites.append(web.TCPSite(self._runner, self.settings.bind, self.settings.port, ssl_context=ctx,
                                     backlog=128, reuse_address=True))
        for site in sites:
            await site.start()
        self._spawn(self._tick_roles())
        log.info("http", "listening", address=f"{self.settings.bind}:{self.settings.port}",
                 scheme="https" if self.tls else "http")

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
            server = getattr(site, "_server", None)
            if server is not None:
                server.close()

    def listening_sockets(self) -> list[socket.socket]:
        """The listening sockets, to hand to a restarted server (aiohttp keeps its asyncio server private)."""
        out = []
        for site in self._runner.sites if self._runner is not None else ():
            server = getattr(site, "_server", None)
            out += list(server.sockets) if server is not None else []
        return out

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

    def _address(self, request: web.Request) -> str:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        return str(peer[0]) if peer else "?"

    async def _refuse(self, request: web.Request, reason: str, detail: str, status: int = 403) -> web.Response:
        address = self._address(request)
        if reason == dc.AUTH_FAILED:
            failures = self.throttle.failed(address)
            delay = self.throttle.delay(address)
            if delay:
                await asyncio.sleep(delay)
            detail = f"{detail} (failure {failures} from this address)"
        self.disconnects[reason] += 1
        log.warning("auth" if reason == dc.AUTH_FAILED else "connection", "refused", reason=reason,
                    address=address, path=request.path, detail=detail)
        text = {dc.AUTH_FAILED: "Not signed in. Open the URL printed by 'dullahan serve' or 'dullahan url'.",
                dc.ORIGIN_REJECTED: "Cross-origin WebSocket refused.",
                dc.TOO_MANY_CONNECTIONS: "Too many connections."}.get(reason, "Refused.")
        return web.Response(status=status, text=text + "\n", headers={"Cache-Control": "no-store"})

    async def _index(self, request: web.Request) -> web.StreamResponse:
        if len(request.query_string) > MAX_QUERY:
            return web.Response(status=414, text="query too long\n")
        token = request.query.get("token")
        if token is not None:
            address = self._address(request)
            delay = self.throttle.delay(address)
            if delay:
                await asyncio.sleep(delay)
            role = self.auth.role_of_token(token)
            if role is None:
                return await self._refuse(request, dc.AUTH_FAILED, "wrong token in URL")
            self.throttle.succeeded(address)
            response = web.HTTPSeeOther(location="/")
            response.set_cookie(self.auth.cookie_name, self.auth.issue_cookie(role), httponly=True,
                                samesite="Strict", secure=self.tls, path="/", max_age=30 * 24 * 3600)
            response.headers["Cache-Control"] = "no-store"
            log.info("auth", "signed in", role=role, address=address)
            raise response
        if self.auth.role_of_cookie(request.cookies.get(self.auth.cookie_name)) is None:
            return await self._refuse(request, dc.AUTH_FAILED, "no valid session cookie")
        index = WEB_ROOT / "index.html"
        if not index.is_file():
            return web.Response(text="the browser client is not installed\n")
        return web.FileResponse(index, headers={"Cache-Control": "no-store"})

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        if self._closing:
            return web.Response(status=503, text="shutting down\n")
        cookie_role = self.auth.role_of_cookie(request.cookies.get(self.auth.cookie_name))
        bearer_role = self.auth.role_of_bearer(request.headers.get("Authorization"))
        role = bearer_role or cookie_role
        if role is None:
            why = "wrong bearer token" if request.headers.get("Authorization") else "no valid session"
            return await self._refuse(request, dc.AUTH_FAILED, why)
        origin = request.headers.get("Origin")
        if (bearer_role is None or origin is not None) and not origin_matches_host(origin, request.host, self.tls):
            return await self._refuse(request, dc.ORIGIN_REJECTED,
                                      f"origin {str(origin)[:80]!r} does not match host {request.host[:80]!r}")
        if len(self.clients) >= self.settings.max_connections:
            return await self._refuse(request, dc.TOO_MANY_CONNECTIONS,
                                      f"{len(self.clients)} clients connected", status=503)
        ws = web.WebSocketResponse(max_msg_size=self.settings.max_message_bytes, autoping=False, heartbeat=None,
                                   compress=False, timeout=2.0)
        await ws.prepare(request)
        client = ClientConnection(ws, request, role, self.hub, self.actions, self.settings)
        self.clients[client.id] = client
        try:
            ended = await client.serve()
        finally:
            self.clients.pop(client.id, None)
        self.disconnects[ended.reason] += 1
        return ws

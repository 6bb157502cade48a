"""The listening socket, guarded beneath aiohttp: every TCP connection passes the ``ConnectionGate`` first.

``GuardedSite`` replaces aiohttp's ``TCPSite``. It runs its own accept loop, so a connection is registered
the moment it is accepted, before TLS and before any HTTP: one that never sends a byte (or never finishes
a TLS handshake, or trickles its headers) is counted, capped and closed on time. The accepted socket is
then handed to the loop (``connect_accepted_socket``, TLS included), and its protocol,
``GuardedConnection``, forwards every event to aiohttp's request handler.

``GuardedRequestHandler`` is aiohttp's handler with one addition: after a WebSocket upgrade, a
``MaskCheck`` reads the frame headers ahead of aiohttp's parser and refuses unmasked client frames
(RFC 6455 §5.1) with close code 1002, the same path aiohttp takes for its own protocol errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import ssl
from collections.abc import Callable
from typing import Any, cast

from aiohttp import WSCloseCode, web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.http_websocket import WebSocketError
from aiohttp.web_protocol import RequestHandler

from dullahan.log import log
from dullahan.net.limits import Conn, ConnectionGate, FrameScanner


class MaskCheck:
    """Stands in front of aiohttp's WebSocket parser (same ``feed_data``/``feed_eof`` interface)."""

    def __init__(self, inner: Any, refuse: Callable[[WebSocketError], None]) -> None:
        self.inner = inner
        self.refuse = refuse
        self.scanner = FrameScanner()
        self.failed = False

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        if self.failed:
            return True, b""
        bad_at = self.scanner.feed(data)
        if bad_at is None:
            return self.inner.feed_data(data)
        if bad_at:
            self.inner.feed_data(data[:bad_at])   # the frames before it still count
        self.failed = True
        self.refuse(WebSocketError(WSCloseCode.PROTOCOL_ERROR, "unmasked frame from a client (RFC 6455 5.1)"))
        return True, b""

    def feed_eof(self) -> None:
        self.inner.feed_eof()


def refuse_websocket(ws: web.WebSocketResponse | None, error: WebSocketError, transport: Any) -> None:
    """Make ``ws.receive()`` report ``error`` as if aiohttp's parser had raised it: the reader then gets a
    WSMsgType.ERROR with a WebSocketError, and aiohttp closes with its code. Without a WebSocket (which
    cannot happen after an upgrade) the connection is simply aborted."""
    queue = getattr(ws, "_reader", None)
    if queue is not None and hasattr(queue, "set_exception"):
        queue.set_exception(error)
    elif transport is not None:
        transport.abort()


class GuardedRequestHandler(RequestHandler):
    __slots__ = ("guard",)
    guard: GuardedConnection | None

    def handle_error(self, request: Any, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        """aiohttp's answer to a request it could not parse quotes the offending line (a token, a cookie);
        this one says only what was wrong."""
        if isinstance(exc, HttpProcessingError):
            message = f"{status}: malformed request ({type(exc).__name__})\n"
        return super().handle_error(request, status, exc, message)

    def set_parser(self, parser: Any, data_received_cb: Callable[[], None] | None = None) -> None:
        guard: GuardedConnection | None = getattr(self, "guard", None)
        if guard is not None:
            parser = MaskCheck(parser, lambda e: refuse_websocket(guard.websocket, e, guard.tcp))
        super().set_parser(parser, data_received_cb)


class GuardedConnection(asyncio.Protocol):
    """One accepted connection: registered with the gate at accept time, then a pass-through to aiohttp."""

    def __init__(self, site: GuardedSite, sock: socket.socket, conn: Conn) -> None:
        self.site = site
        self.sock = sock
        self.conn = conn
        self.handler = site.make_handler()
        self.handler.guard = self
        self.tcp: asyncio.Transport | None = None
        self.websocket: web.WebSocketResponse | None = None   # set by the web layer before an upgrade
        self._timer: asyncio.TimerHandle | None = None
        self._released = False
        self._arm(conn.last_active + site.gate.timeout)

    async def set_up(self) -> None:
        """Wrap the accepted socket in a transport (after the TLS handshake, under TLS)."""
        site = self.site
        try:
            await site.loop.connect_accepted_socket(
                lambda: self, self.sock, ssl=site.ssl_context,
                ssl_handshake_timeout=site.gate.timeout if site.ssl_context is not None else None)
        except asyncio.CancelledError:
            self.abort()
            raise
        except (OSError, TimeoutError, ValueError) as e:
            if site.ssl_context is not None:
                self._tls_failed(e)
            self.abort()

    def _tls_failed(self, e: BaseException) -> None:
        reason = getattr(e, "reason", None) or e.__class__.__name__
        self.site.count("tls_handshake_failed")
        log.limited("warning", "tls", "tls_handshake_failed", "TLS handshake failed", reason=reason,
                    peer=self.conn.address, detail=str(e)[:120])

    # -- forwarding ----------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.tcp = cast(asyncio.Transport, transport)   # uvloop's transports do not subclass asyncio's
        if self._released:
            self.tcp.abort()
            return
        self.handler.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        self.handler.data_received(data)

    def eof_received(self) -> None:
        self.handler.eof_received()

    def pause_writing(self) -> None:
        self.handler.pause_writing()

    def resume_writing(self) -> None:
        self.handler.resume_writing()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._release()
        if self.tcp is not None:
            self.handler.connection_lost(exc)

    # -- the gate ------------------------------------------------------------------------------------
    def authenticated(self) -> None:
        if not self.conn.authenticated:
            self.site.gate.authenticate(self.conn)
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def request_started(self) -> None:
        self.site.gate.request_started(self.conn, self.site.loop.time())

    def request_finished(self) -> None:
        self.site.gate.request_finished(self.conn, self.site.loop.time())

    def _arm(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.site.loop.call_at(when, self._check_deadline)

    def _check_deadline(self) -> None:
        self._timer = None
        if self._released:
            return
        conn = self.conn
        if self.site.gate.expire(conn, self.site.loop.time()):
            self.site.count("unauthenticated_timeout")
            log.limited("debug", "connection", "unauthenticated_timeout",
                        "closed a connection that did not authenticate in time", address=conn.address,
                        timeout_s=self.site.gate.timeout)
            self.abort()
            return
        deadline = self.site.gate.deadline(conn)
        if deadline is not None:
            self._arm(deadline)

    def abort(self) -> None:
        """Close the connection now, whatever state it is in (also during a TLS handshake)."""
        if self.tcp is not None:
            self.tcp.abort()
        elif self.sock.fileno() != -1:
            # Still owned by the handshake: shutting the socket down makes its transport end itself. A closed
            # socket object reads -1, so this never touches a descriptor reused by another connection.
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)
        self._release()

    def _release(self) -> None:
        if self._released:
            return
        self._released = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.site.release(self)


class GuardedSite(web.BaseSite):
    """aiohttp's TCPSite with the gate in front: its own accept loop, so every connection is seen (and can be
    capped and closed) the moment it is accepted, before TLS and before any HTTP."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, *, gate: ConnectionGate,
                 ssl_context: ssl.SSLContext | None, handler_args: dict[str, Any],
                 trusted_peer: Callable[[str], bool], count: Callable[[str], None], backlog: int = 128,
                 listeners: list[socket.socket] | None = None) -> None:
        """``listeners``: listening sockets to accept on instead of binding (a restart hands them over)."""
        super().__init__(runner, ssl_context=ssl_context, backlog=backlog)
        self.host, self.port = host, port
        self.gate = gate
        self.handler_args = handler_args
        self.trusted_peer = trusted_peer
        self.count = count
        self.connections: dict[Conn, GuardedConnection] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.listeners: list[socket.socket] = []
        self._given = list(listeners or [])
        self._accepting: list[asyncio.Task[None]] = []
        self.loop = asyncio.get_event_loop()

    @property
    def name(self) -> str:
        return f"{'https' if self.ssl_context else 'http'}://{self.host}:{self.port}"

    @property
    def ssl_context(self) -> ssl.SSLContext | None:
        return self._ssl_context

    def make_handler(self) -> GuardedRequestHandler:
        manager = self._runner.server
        assert manager is not None
        return GuardedRequestHandler(manager, loop=self.loop, **self.handler_args)

    async def start(self) -> None:
        await super().start()
        self.loop = asyncio.get_running_loop()
        self.listeners = self._given or listening_sockets(self.host, self.port, self._backlog)
        for listener in self.listeners:
            listener.setblocking(False)
            task = self.loop.create_task(self._accept_loop(listener))
            self._accepting.append(task)
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    def stop_accepting(self) -> None:
        """Accept no more and close the listening sockets (after a restart handed copies of them over)."""
        for task in self._accepting:
            task.cancel()
        for listener in self.listeners:
            listener.close()

    async def stop(self) -> None:
        self._runner._check_site(self)
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for listener in self.listeners:
            listener.close()
        for guarded in list(self.connections.values()):
            if guarded.tcp is None:   # still in the TLS handshake: aiohttp does not know these
                guarded.abort()
        self._runner._unreg_site(self)

    def _spawn(self, coro: Any) -> None:
        task = self.loop.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _accept_loop(self, listener: socket.socket) -> None:
        while True:
            try:
                sock, peer = await self.loop.sock_accept(listener)
            except OSError as e:   # out of file descriptors, or the like: wait for some to close
                self.count("accept_failed")
                log.limited("warning", "connection", "accept_failed", "cannot accept connections",
                            error=errno.errorcode.get(e.errno or 0, str(e)))
                await asyncio.sleep(0.1)
                continue
            address = str(peer[0]) if isinstance(peer, tuple) and peer else "?"
            guarded = self._admit(sock, address)
            self._spawn(guarded.set_up())

    def _admit(self, sock: socket.socket, address: str) -> GuardedConnection:
        # A reverse proxy carries many clients over its connections: only the total cap applies to it.
        conn, victims = self.gate.open(address, self.loop.time(), per_address_cap=not self.trusted_peer(address))
        guarded = GuardedConnection(self, sock, conn)
        self.connections[conn] = guarded
        for victim in victims:
            other = self.connections.get(victim)
            if other is not None:
                self.count("unauthenticated_evicted")
                log.limited("warning", "connection", "unauthenticated_limit",
                            "too many unauthenticated connections; closed the oldest idle one",
                            address=victim.address, from_address=self.gate.unauthenticated_from(victim.address),
                            total=self.gate.unauthenticated, limit=self.gate.max_total,
                            per_address=self.gate.max_per_address)
                other.abort()
        return guarded

    def release(self, guarded: GuardedConnection) -> None:
        self.gate.close(guarded.conn)
        self.connections.pop(guarded.conn, None)


def listening_sockets(host: str, port: int, backlog: int) -> list[socket.socket]:
    """Non-blocking listening sockets for every address ``host`` resolves to (like ``loop.create_server``)."""
    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _name, address in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(backlog)
            sock.setblocking(False)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets

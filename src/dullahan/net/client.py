"""One connected client's I/O: the hello handshake, a read pump, a send pump and the keepalive.

Everything the client holds or has been told lives in its ``wire.peer.Peer`` (pure, no I/O); this module
only moves bytes between it and the aiohttp WebSocket and runs three small loops:

- the read pump (the connection's own task) hands every text message to ``Peer.receive`` and carries out
  what it hands back (``actions.BrowserActions``): a keystroke reaches the PTY before anything else runs;
- the send pump wakes when the hub marks something dirty (or a paced deadline comes), sends the peer's
  queued replies, then frames (text) and images (binary) for as long as it produces them;
- the keepalive pings on a fixed cadence and ends a peer that stops answering (``wire.keepalive``).

If either background loop dies of a bug, the connection is closed with reason ``server_error`` and a log
line naming the loop: a dead sender never looks like a healthy, idle client. Every connection ends with
exactly one classified ``Disconnect`` and one log line saying why.
"""

from __future__ import annotations

import asyncio
import itertools
import socket as _socket
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from aiohttp import WSMsgType, web

from dullahan import __version__
from dullahan.actions import ActionFailed, BrowserActions
from dullahan.commands.table import browser_commands
from dullahan.config import Settings
from dullahan.hub import SyncHub
from dullahan.log import log
from dullahan.net import disconnect as dc
from dullahan.net.disconnect import Disconnect
from dullahan.wire import protocol as p
from dullahan.wire.peer import Close, Peer, PeerLimits
from dullahan.wire.protocol import ProtocolError

_next_id = itertools.count(1)
CLOSE_TIMEOUT = 2.0
FPS_WINDOW = 5.0
CLOSE_SUPERSEDED = 4002
# Close codes of a client that leaves on purpose (page closed, navigated away); any other end of a master's
# connection (the page dropping a dead socket with 4000, a reset, a timeout) keeps the role for its return.
CLEAN_CLOSE_CODES = frozenset({1000, 1001})
_CLOSE_REASONS = {"abuse": dc.ABUSE, "superseded": dc.SUPERSEDED}


def peer_limits(settings: Settings) -> PeerLimits:
    _browser, viewers = browser_commands()
    return PeerLimits(frames_in_flight=settings.frames_in_flight, frame_interval=settings.frame_interval,
                      messages_per_second=settings.max_messages_per_second, ping_interval=settings.ping_interval,
                      ping_timeout=settings.ping_timeout, max_paste_bytes=settings.max_paste_bytes,
                      viewer_commands=viewers)


class ClientConnection:
    def __init__(self, ws: web.WebSocketResponse, request: web.Request, token_role: str, hub: SyncHub,
                 actions: BrowserActions, settings: Settings,
                 hello_extra: Callable[[], dict[str, Any]] = dict) -> None:
        self.id = next(_next_id)
        self.ws = ws
        self.request = request
        self.hub = hub
        self.actions = actions
        self.settings = settings
        self._hello_extra = hello_extra
        self.can_master = token_role == "master"
        transport = request.transport
        peer = transport.get_extra_info("peername") if transport else None
        self.address = f"{peer[0]}:{peer[1]}" if peer else "?"
        ssl_object = transport.get_extra_info("ssl_object") if transport else None
        self.tls_version = ssl_object.version() if ssl_object else None
        cipher = ssl_object.cipher() if ssl_object else None
        self.cipher = cipher[0] if cipher else None
        self.user_agent = request.headers.get("User-Agent", "")[:200]
        sock = transport.get_extra_info("socket") if transport else None
        try:
            self.nodelay = bool(sock.getsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY)) if sock else False
        except OSError:
            self.nodelay = False
        self.started = time.monotonic()
        self.peer: Peer | None = None
        self.bytes_in = self.bytes_out = 0
        self._sent_times: deque[float] = deque()
        self._wake = asyncio.Event()
        self._wake_handle: asyncio.TimerHandle | None = None
        self._ended: Disconnect | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._final_role = "none"
        self._loss = dc.LossRecorder.install(transport)

    # -- life --------------------------------------------------------------------------------------
    async def serve(self) -> Disconnect:
        try:
            if await self._handshake():
                self._spawn(self._send_pump(), "sender")
                self._spawn(self._keepalive(), "keepalive")
                await self._read_pump()
        except asyncio.CancelledError:
            self.end(Disconnect(dc.SERVER_SHUTDOWN, "connection task cancelled"))
        except Exception as e:   # never let one client take the server down; log the raw exception
            self.end(Disconnect(dc.SERVER_ERROR, f"reader: {e.__class__.__name__}: {e!r}"[:300]))
            log.error("connection", "client reader failed", client=self.id, error=repr(e)[:300])
        finally:
            await self._cleanup()
        assert self._ended is not None
        return self._ended

    def end(self, why: Disconnect) -> None:
        """Record why the connection ends (the first reason wins) and stop the loops."""
        if self._ended is None:
            self._ended = why
        self._wake.set()

    @property
    def ended(self) -> bool:
        return self._ended is not None

    async def close(self, why: Disconnect, code: int = 1001, message: str = "") -> None:
        self.end(why)
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self.ws.close(code=code, message=message.encode())
        except (TimeoutError, ConnectionError, RuntimeError):
            self.abort()

    def abort(self) -> None:
        transport = self.request.transport
        if transport is not None:
            transport.abort()

    async def _close_as(self, close: Close) -> None:
        """End the connection for a reason the peer (or the hub) decided."""
        reason = _CLOSE_REASONS.get(close.reason, dc.UNKNOWN)
        code = CLOSE_SUPERSEDED if reason == dc.SUPERSEDED else 1008
        await self.close(Disconnect(reason, close.detail), code, close.reason)

    def _close_from_hub(self, close: Close) -> None:
        self._spawn(self._close_as(close), "close")

    async def _cleanup(self) -> None:
        if self._wake_handle is not None:
            self._wake_handle.cancel()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            # Bounded: a loop that ignores its cancellation must not keep the connection (and its log
            # line) hanging; the 3.11 asyncio.wait_for race once held this for a whole ping timeout.
            await asyncio.wait(list(self._tasks), timeout=CLOSE_TIMEOUT)
        if self._ended is None:
            self._ended = Disconnect(dc.UNKNOWN, "handler returned without a reason")
        if self.peer is not None:
            self._final_role = self.peer.role
            self.hub.detach(self.peer, time.monotonic(), clean=self._ended.reason == dc.CLIENT_CLOSE
                            and self._ended.close_code in CLEAN_CLOSE_CODES)
        if not self.ws.closed:
            try:
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await self.ws.close()
            except (TimeoutError, ConnectionError, RuntimeError):
                self.abort()
        self._log_end()

    def _log_end(self) -> None:
        d = self._ended
        assert d is not None
        peer = self.peer
        fields: dict[str, object] = {
            "client": self.id, "reason": d.reason, "address": self.address,
            "duration_s": round(time.monotonic() - self.started, 3), "role": self._final_role,
            "bytes_in": self.bytes_in, "bytes_out": self.bytes_out,
            "msgs_in": peer.msgs_in if peer else 0, "msgs_out": peer.msgs_out if peer else 0,
            "frames_out": peer.frames.frames_sent if peer else 0, "in_flight": peer.in_flight if peer else 0,
            "congested": peer.congested if peer else False, "rtt_ms": self._rtt_ms(),
            "tls": self.tls_version or "plain",
        }
        if self.cipher:
            fields["cipher"] = self.cipher
        if d.close_code is not None:
            fields["code"] = d.close_code
        if d.detail:
            fields["detail"] = d.detail
        level = log.error if d.reason in (dc.UNKNOWN, dc.SERVER_ERROR) else log.info
        level("connection", "client disconnected", **fields)

    def _spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._task_done(t, name))

    def _task_done(self, task: asyncio.Task[Any], name: str) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None and not self.ended:
            log.error("connection", "client task failed", client=self.id, task=name, error=repr(error)[:300])
            self.end(Disconnect(dc.SERVER_ERROR, f"{name}: {error.__class__.__name__}: {error}"[:300]))
            self.abort()   # the reader sees the end of the stream and the connection ends with this reason

    @property
    def role(self) -> str:
        return self.peer.role if self.peer is not None else "none"

    # -- hello -------------------------------------------------------------------------------------
    async def _handshake(self) -> bool:
        try:
            async with asyncio.timeout(self.settings.hello_timeout):
                msg = await self.ws.receive()
        except TimeoutError:
            await self.close(Disconnect(dc.HELLO_TIMEOUT, f"no hello within {self.settings.hello_timeout:.0f} s"),
                             code=1008, message="hello timeout")
            return False
        if msg.type != WSMsgType.TEXT:
            why = self._classify(msg)
            if why is None:
                await self.close(Disconnect(dc.PROTOCOL_VIOLATION, f"{msg.type.name} before hello"), code=1002,
                                 message="expected hello")
            else:
                self.end(why)
            return False
        self.bytes_in += len(msg.data)
        try:
            hello = p.parse_message(msg.data)
        except ProtocolError:
            hello = None
        if not isinstance(hello, p.Hello) or hello.version != p.PROTOCOL_VERSION:
            await self._send(p.dumps({"t": "error", "code": "bad_hello",
                                      "msg": f"the first message must be hello with v={p.PROTOCOL_VERSION}"}))
            await self.close(Disconnect(dc.PROTOCOL_VIOLATION, "bad hello"), code=1002, message="bad hello")
            return False
        now = time.monotonic()
        peer = self.peer = Peer(self.id, self.can_master, peer_limits(self.settings), now)
        peer.msgs_in = 1   # the hello
        self.hub.attach(peer, hello.resume, now, self._wake.set, self._close_from_hub)
        peer.hello_reply({"server": __version__,
                          "limits": {"message": self.settings.max_message_bytes, "paste": self.settings.max_paste_bytes,
                                     "paste_chunk": p.MAX_PASTE_CHUNK_CHARS},
                          "ping_interval": self.settings.ping_interval, **self._hello_extra()})
        self._wake.set()
        log.info("connection", "client connected", client=self.id, address=self.address, role=peer.role,
                 resumed=hello.resume is not None and peer.resume_secret == hello.resume,
                 tls=self.tls_version or "plain", agent=self.user_agent[:80])
        return True

    # -- reading -----------------------------------------------------------------------------------
    async def _read_pump(self) -> None:
        ws, peer = self.ws, self.peer
        assert peer is not None
        while not self.ended:
            msg = await ws.receive()
            now = time.monotonic()
            if msg.type == WSMsgType.TEXT:
                self.bytes_in += len(msg.data)
                todo = peer.receive(msg.data, now)
                if todo is not None:
                    try:
                        await self.actions.carry_out(peer, todo)
                    except ActionFailed as e:
                        peer.error(e.code, e.message, e.ref or p.message_type(todo), now, e.request)
            elif msg.type == WSMsgType.PONG:
                peer.keepalive.pong(msg.data, now)
            elif msg.type == WSMsgType.PING:
                await ws.pong(msg.data)
            elif msg.type == WSMsgType.BINARY:
                self.bytes_in += len(msg.data)
                peer.error("binary_not_supported", "binary messages are not part of the protocol", "binary", now)
            else:
                why = self._classify(msg)
                if why is not None:
                    self.end(why)
                    return
            if peer.closing is not None:
                await self._close_as(peer.closing)
                return
            if peer.wants_send:
                self._wake.set()

    def _classify(self, msg: Any) -> Disconnect | None:
        """The reason a message ends the connection, preferring what the transport itself reported."""
        if msg.type == WSMsgType.CLOSED and self._loss is not None and self._loss.exc is not None:
            return dc.from_exception(self._loss.exc)
        return dc.from_message(msg.type, msg.data, msg.extra)

    # -- sending -----------------------------------------------------------------------------------
    async def _send(self, data: bytes, binary: bool = False) -> None:
        await self.ws.send_frame(data, WSMsgType.BINARY if binary else WSMsgType.TEXT)
        self.bytes_out += len(data)

    async def _send_pump(self) -> None:
        peer = self.peer
        assert peer is not None
        loop = asyncio.get_running_loop()
        try:
            while not self.ended:
                await self._wake.wait()
                self._wake.clear()
                while not self.ended:
                    for data in peer.data_to_send():
                        await self._send(data)
                    message = peer.next_message(time.monotonic(), self.hub)
                    if message is None:
                        break
                    await self._send(message.data, message.binary)
                    if not message.binary:
                        self._note_frame()
                if peer.closing is not None and not self.ended:
                    await self._close_as(peer.closing)
                    return
                deadline = peer.next_deadline()
                if deadline is not None:
                    self._wake_at(loop, max(0.0, deadline - time.monotonic()))
        except (ConnectionError, RuntimeError):
            return   # the transport ended under a send: the reader sees it and classifies it

    def _wake_at(self, loop: asyncio.AbstractEventLoop, delay: float) -> None:
        if self._wake_handle is not None:
            self._wake_handle.cancel()
        self._wake_handle = loop.call_later(delay, self._wake.set)

    def _note_frame(self) -> None:
        now = time.monotonic()
        self._sent_times.append(now)
        while self._sent_times and now - self._sent_times[0] > FPS_WINDOW:
            self._sent_times.popleft()

    def frames_per_second(self) -> float:
        now = time.monotonic()
        return sum(1 for t in self._sent_times if now - t <= FPS_WINDOW) / FPS_WINDOW

    # -- keepalive ---------------------------------------------------------------------------------
    async def _keepalive(self) -> None:
        peer = self.peer
        assert peer is not None
        keepalive = peer.keepalive
        while not self.ended:
            await asyncio.sleep(max(0.0, keepalive.deadline() - time.monotonic()))
            if self.ended:
                return
            now = time.monotonic()
            action = keepalive.tick(now)
            if action == "dead":
                self.end(Disconnect(dc.PING_TIMEOUT, f"no reply to a ping for {keepalive.timeout:.0f} s"))
                self.abort()
                return
            if action == "ping":
                payload = keepalive.sent(now)
                try:
                    async with asyncio.timeout(keepalive.timeout):
                        await self.ws.ping(payload)
                except TimeoutError:
                    pass      # the socket is not draining; the unanswered ping will tell
                except (ConnectionError, RuntimeError):
                    return

    def _rtt_ms(self) -> float | None:
        rtt = self.peer.keepalive.rtt if self.peer is not None else None
        return round(rtt * 1000, 3) if rtt is not None else None

    # -- reporting ---------------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        peer = self.peer
        return {
            "id": self.id, "role": self.role, "can_master": self.can_master, "address": self.address,
            "tls": self.tls_version is not None, "tls_version": self.tls_version, "cipher": self.cipher,
            "nodelay": self.nodelay, "rtt_ms": self._rtt_ms(), "frames_per_s": round(self.frames_per_second(), 2),
            "bytes_in": self.bytes_in, "bytes_out": self.bytes_out,
            "msgs_in": peer.msgs_in if peer else 0, "msgs_out": peer.msgs_out if peer else 0,
            "frames_out": peer.frames.frames_sent if peer else 0, "in_flight": peer.in_flight if peer else 0,
            "congested": peer.congested if peer else False, "refused": peer.refused if peer else 0,
            "images_out": peer.images_out if peer else 0,
            "image_bytes_in_flight": peer.image_bytes_in_flight if peer else 0,
            "bad_messages": peer.bad_messages if peer else 0,
            "connected_s": round(time.monotonic() - self.started, 1), "user_agent": self.user_agent,
        }

"""One connected client: its WebSocket, its role, its flow-controlled sender and its keepalive.

The reader handles messages as they arrive (keystrokes go to the PTY at once). The sender wakes when a
pane or the layout changes, and sends a frame when the client has fewer than ``frames_in_flight``
unacknowledged frames; otherwise it leaves the marks set and the next frame after an ack carries the
latest state. Frames that carry a lot of new output spend a per-pane budget refilled 60 times a second,
so a flooding pane costs about 60 frames per second while typing, in it or in another pane, goes out
immediately.

Every connection ends with exactly one classified ``Disconnect`` and one log line saying why.
"""

from __future__ import annotations

import asyncio
import itertools
import socket as _socket
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from dullahan import __version__
from dullahan.log import log
from dullahan.net import disconnect as dc
from dullahan.net.disconnect import Disconnect
from dullahan.session.pane import InputFull, Pane, PaneDead
from dullahan.session.session import SessionError
from dullahan.shapes import MODE_MOUSE
from dullahan.wire import protocol as p
from dullahan.wire.protocol import ProtocolError, dumps
from dullahan.wire.sync import ClientSync

if TYPE_CHECKING:
    from dullahan.net.web import WebServer

_next_id = itertools.count(1)
CLOSE_TIMEOUT = 2.0
FPS_WINDOW = 5.0
FRAME_BURST = 4.0
MODIFIER_CODES = frozenset({"ShiftLeft", "ShiftRight", "ControlLeft", "ControlRight", "AltLeft", "AltRight",
                            "MetaLeft", "MetaRight", "CapsLock", "NumLock", "ScrollLock", "Fn", "OSLeft", "OSRight"})
PACED_BYTES = 2048


class ClientConnection:
    def __init__(self, web_server: WebServer, ws: web.WebSocketResponse, request: web.Request,
                 token_role: str) -> None:
        self.id = next(_next_id)
        self.web = web_server
        self.hub = web_server.hub
        self.session = web_server.session
        self.settings = web_server.settings
        self.ws = ws
        self.request = request
        self.can_master = token_role == "master"
        peer = request.transport.get_extra_info("peername") if request.transport else None
        self.address = f"{peer[0]}:{peer[1]}" if peer else "?"
        ssl_object = request.transport.get_extra_info("ssl_object") if request.transport else None
        self.tls = ssl_object is not None
        self.tls_version = ssl_object.version() if ssl_object else None
        cipher = ssl_object.cipher() if ssl_object else None
        self.cipher = cipher[0] if cipher else None
        self.user_agent = request.headers.get("User-Agent", "")[:200]
        sock = request.transport.get_extra_info("socket") if request.transport else None
        try:
            self.nodelay = bool(sock.getsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY)) if sock else False
        except OSError:
            self.nodelay = False
        self.started = time.monotonic()
        self.sync = ClientSync()
        self.dirty: set[int] = set()
        self.layout_dirty = True
        self.force: set[int] = set()
        self.offsets: dict[int, tuple[int, int]] = {}
        # Per pane: frame budget, when it was last refilled, the pane's output count at its last frame.
        self._pace: dict[int, tuple[float, float, int]] = {}
        self._waiting_view: set[int] = set()   # dirty panes whose fresh view the terminal thread is reading
        self.congested = False
        self.bytes_in = self.bytes_out = 0
        self.msgs_in = self.msgs_out = 0
        self.refused = self.bad_messages = 0
        self.rtt: float | None = None
        self._sent_times: deque[float] = deque()
        self._wake = asyncio.Event()
        self._wake_handle: asyncio.TimerHandle | None = None
        self._ended: Disconnect | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._paste: tuple[int, list[str], int] | None = None
        self._bucket = float(self.settings.max_messages_per_second)
        self._bucket_at = time.monotonic()
        self._rate_noted = 0.0
        self._last_heard = time.monotonic()
        self.hello_done = False
        self._final_role = "none"
        self._loss = dc.LossRecorder.install(request.transport)

    # -- life --------------------------------------------------------------------------------------
    async def serve(self) -> Disconnect:
        try:
            if await self._handshake():
                self._spawn(self._sender())
                self._spawn(self._keepalive())
                await self._read_loop()
        except asyncio.CancelledError:
            self.end(Disconnect(dc.SERVER_SHUTDOWN, "connection task cancelled"))
        except Exception as e:   # never let one client take the server down; log the raw exception
            self.end(Disconnect(dc.UNKNOWN, f"{e.__class__.__name__}: {e!r}"[:300]))
            log.error("connection", "client handler failed", client=self.id, error=repr(e))
        finally:
            await self._cleanup()
        assert self._ended is not None
        return self._ended

    def end(self, why: Disconnect) -> None:
        """Record why the connection ends (the first reason wins) and stop the sender."""
        if self._ended is None:
            self._ended = why
        self._wake.set()

    @property
    def ended(self) -> bool:
        return self._ended is not None

    async def close(self, why: Disconnect, code: int = 1001, message: str = "") -> None:
        self.end(why)
        try:
            await asyncio.wait_for(self.ws.close(code=code, message=message.encode()), CLOSE_TIMEOUT)
        except (TimeoutError, ConnectionError, RuntimeError):
            self.abort()

    def abort(self) -> None:
        transport = self.request.transport
        if transport is not None:
            transport.abort()

    async def _cleanup(self) -> None:
        if self._wake_handle is not None:
            self._wake_handle.cancel()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._final_role = self.role
        if self.hello_done:
            self.hub.remove(self)
        if not self.ws.closed:
            try:
                await asyncio.wait_for(self.ws.close(), CLOSE_TIMEOUT)
            except (TimeoutError, ConnectionError, RuntimeError):
                self.abort()
        if self._ended is None:
            self._ended = Disconnect(dc.UNKNOWN, "handler returned without a reason")
        self._log_end()

    def _log_end(self) -> None:
        d = self._ended
        assert d is not None
        fields: dict[str, object] = {
            "client": self.id, "reason": d.reason, "address": self.address,
            "duration_s": round(time.monotonic() - self.started, 3), "role": self._final_role,
            "bytes_in": self.bytes_in, "bytes_out": self.bytes_out, "msgs_in": self.msgs_in,
            "msgs_out": self.msgs_out, "frames_out": self.sync.frames_sent, "in_flight": self.sync.in_flight,
            "congested": self.congested, "rtt_ms": round(self.rtt * 1000, 3) if self.rtt is not None else None,
            "tls": self.tls_version or "plain",
        }
        if self.cipher:
            fields["cipher"] = self.cipher
        if d.close_code is not None:
            fields["code"] = d.close_code
        if d.detail:
            fields["detail"] = d.detail
        level = log.error if d.reason == dc.UNKNOWN else log.info
        level("connection", "client disconnected", **fields)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def role(self) -> str:
        return self.hub.role_of(self) if self.hello_done else "none"

    # -- hello -------------------------------------------------------------------------------------
    async def _handshake(self) -> bool:
        try:
            msg = await self.ws.receive(timeout=self.settings.hello_timeout)
        except TimeoutError:
            await self.close(Disconnect(dc.HELLO_TIMEOUT, f"no hello within {self.settings.hello_timeout:.0f} s"),
                             code=1008, message="hello timeout")
            return False
        if msg.type != WSMsgType.TEXT:
            why = self._classify(msg)
            self.end(why or Disconnect(dc.PROTOCOL_VIOLATION, f"{msg.type.name} before hello"))
            if why is None:
                await self.close(self._ended or why, code=1002, message="expected hello")  # type: ignore[arg-type]
            return False
        self._count_in(msg.data)
        try:
            hello = p.parse_message(msg.data)
        except ProtocolError as e:
            hello = e  # type: ignore[assignment]
        if not isinstance(hello, p.Hello) or hello.version != p.PROTOCOL_VERSION:
            await self._send({"t": "error", "code": "bad_hello",
                              "msg": f"the first message must be hello with v={p.PROTOCOL_VERSION}"})
            await self.close(Disconnect(dc.PROTOCOL_VIOLATION, "bad hello"), code=1002, message="bad hello")
            return False
        self.hub.add(self)
        self.hello_done = True
        await self._send({"t": "hello", "v": p.PROTOCOL_VERSION, "client": self.id, "server": __version__,
                          "role": self.role, "can_master": self.can_master,
                          "master": self.hub.master.id if self.hub.master else None,
                          "limits": {"message": self.settings.max_message_bytes,
                                     "paste": self.settings.max_paste_bytes,
                                     "paste_chunk": p.MAX_PASTE_CHUNK_CHARS},
                          "ping_interval": self.settings.ping_interval})
        for pane_id in self.hub.visible_panes():
            pane = self.session.panes.get(pane_id)
            state = self.hub.live_state(pane) if pane is not None else None
            if state is not None:
                self.sync.baseline(state)
        self.mark_all()
        log.info("connection", "client connected", client=self.id, address=self.address, role=self.role,
                 tls=self.tls_version or "plain", agent=self.user_agent[:80])
        return True

    # -- reading -----------------------------------------------------------------------------------
    async def _read_loop(self) -> None:
        ws = self.ws
        while not self.ended:
            msg = await ws.receive()
            self._last_heard = time.monotonic()
            if msg.type == WSMsgType.TEXT:
                self._count_in(msg.data)
                if self._rate_ok():
                    await self._handle_text(msg.data)
            elif msg.type == WSMsgType.PONG:
                self._on_pong(msg.data)
            elif msg.type == WSMsgType.PING:
                await ws.pong(msg.data)
            elif msg.type == WSMsgType.BINARY:
                self.bytes_in += len(msg.data)
                self._bad("binary_not_supported", "binary messages are not part of the protocol", "binary")
            else:
                why = self._classify(msg)
                if why is not None:
                    self.end(why)
                    return

    def _classify(self, msg: Any) -> Disconnect | None:
        """The reason a message ends the connection, preferring what the transport itself reported."""
        if msg.type == WSMsgType.CLOSED and self._loss is not None and self._loss.exc is not None:
            return dc.from_exception(self._loss.exc)
        return dc.from_message(msg.type, msg.data, msg.extra)

    def _count_in(self, data: str) -> None:
        self.msgs_in += 1
        self.bytes_in += len(data)

    def _rate_ok(self) -> bool:
        now = time.monotonic()
        rate = self.settings.max_messages_per_second
        self._bucket = min(2.0 * rate, self._bucket + (now - self._bucket_at) * rate)
        self._bucket_at = now
        if self._bucket >= 1:
            self._bucket -= 1
            return True
        self.web.count("rate_limited_messages")
        if now - self._rate_noted > 1:
            self._rate_noted = now
            self._error("rate_limited", f"more than {rate} messages per second; some were dropped", None)
        return False

    async def _handle_text(self, text: str) -> None:
        try:
            msg = p.parse_message(text)
        except ProtocolError as e:
            self._bad(e.code, e.message, None)
            return
        if isinstance(msg, p.MASTER_ONLY) and self.hub.master is not self:
            self.refused += 1
            self.web.count("refused_not_master")
            self._error("not_master", "only the master can do that; this client is watching",
                        type(msg).__name__.lower())
            return
        try:
            await self._dispatch(msg)
        except ProtocolError as e:
            self._bad(e.code, e.message, type(msg).__name__.lower())
        except SessionError as e:
            self._error("failed", str(e), type(msg).__name__.lower())
        except PaneDead as e:
            self._error("pane_dead", str(e), type(msg).__name__.lower())
        except InputFull as e:
            self._error("input_full", str(e), type(msg).__name__.lower())

    def _bad(self, code: str, message: str, ref: str | None) -> None:
        self.bad_messages += 1
        self.web.count("bad_messages")
        log.debug("ws", "bad message", client=self.id, code=code, detail=message[:120])
        self._error(code, message, ref)

    def _error(self, code: str, message: str, ref: str | None) -> None:
        body: dict[str, Any] = {"t": "error", "code": code, "msg": message}
        if ref:
            body["ref"] = ref
        self._spawn(self._send(body))

    def _pane(self, pane_id: int) -> Pane:
        return self.session.pane(pane_id)

    async def _dispatch(self, msg: p.Message) -> None:
        session = self.session
        match msg:
            case p.Ack(frame=n):
                self.sync.ack(n)
                if self.sync.in_flight < self.settings.frames_in_flight:
                    self.congested = False
                    if self.dirty or self.layout_dirty:
                        self._wake.set()
            case p.Key(pane=pid, event=ev):
                sent = self._pane(pid).send_key(ev)
                if sent and ev.action != "release" and ev.code not in MODIFIER_CODES:
                    self._follow_output(pid)
            case p.Text(pane=pid, data=data):
                self._pane(pid).send_text(data)
                self._follow_output(pid)
            case p.Paste():
                self._on_paste(msg)
            case p.Mouse(pane=pid, event=ev):
                self._pane(pid).send_mouse(ev)
            case p.Wheel(pane=pid, event=ev):
                pane = self._pane(pid)
                sent = 0
                if self.hub.master is self and (pane.latest_view().modes & MODE_MOUSE
                                                or self.offsets.get(pid) is None):
                    sent = pane.send_wheel(ev)
                if not sent:
                    self.hub.scroll(self, pane, ev.dy, None)
            case p.Scroll(pane=pid, delta=delta, to=to):
                self.hub.scroll(self, self._pane(pid), delta, to)
            case p.Focus(pane=pid, on=on):
                self._pane(pid).send_focus(on)
            case p.Resize(window=wid, cols=cols, rows=rows):
                session.resize_window(wid, cols, rows)
            case p.SetLayout(window=wid, name=name, tree=tree):
                session.set_layout(wid, name, tree)
            case p.SetSizes(window=wid, path=path, sizes=sizes):
                session.set_split_sizes(wid, path, sizes)
            case p.NewWindow(layout=name):
                session.new_window(name)
            case p.WindowOp(op="select_window", window=wid) if wid is not None:
                session.select_window(wid)
            case p.WindowOp(op="close_window", window=wid) if wid is not None:
                session.kill_window(wid)
            case p.WindowOp(op="new_pane", window=wid):
                session.split_new_pane(wid)
            case p.PaneOp(op="close_pane", pane=pid):
                session.kill_pane(pid)
            case p.PaneOp(op="focus_pane", pane=pid):
                session.focus_pane(pid)
            case p.PaneOp(op="respawn", pane=pid):
                session.respawn(pid)
            case p.ShowPane(pane=pid, slot=slot, window=wid):
                session.show_pane(pid, slot, wid)
            case p.RequestMaster():
                if not self.hub.request_master(self):
                    self.refused += 1
                    self._error("not_allowed", "this client connected with the view token", "request_master")
            case p.Resync(pane=pid):
                targets = [pid] if pid is not None else self.hub.visible_panes()
                self.force.update(targets)
                for target in targets:
                    self.mark_dirty(target)
                self.layout_dirty = True
            case p.Ping(id=ping_id, ts=ts):
                body: dict[str, Any] = {"t": "pong", "id": ping_id}
                if ts is not None:
                    body["ts"] = ts
                if self.rtt is not None:
                    body["rtt"] = round(self.rtt * 1000, 3)
                self._spawn(self._send(body))
            case p.Hello():
                raise ProtocolError("bad_message", "hello was already received")
            case _:
                raise ProtocolError("bad_message", f"unexpected {type(msg).__name__}")

    def _follow_output(self, pane_id: int) -> None:
        """Typing jumps this client's view of the pane back to the live screen."""
        if pane_id in self.offsets:
            self.offsets.pop(pane_id, None)
            self.mark_dirty(pane_id)

    def _on_paste(self, msg: p.Paste) -> None:
        pane_id, parts, size = self._paste if self._paste else (msg.pane, [], 0)
        if pane_id != msg.pane:
            self._paste = None
            raise ProtocolError("bad_paste", "a paste's chunks must all go to the same pane")
        size += len(msg.data.encode("utf-8", "surrogatepass"))
        if size > self.settings.max_paste_bytes:
            self._paste = None
            raise ProtocolError("paste_too_large", f"pastes are limited to {self.settings.max_paste_bytes} bytes")
        parts.append(msg.data)
        if msg.more:
            self._paste = (pane_id, parts, size)
            return
        self._paste = None
        self._pane(pane_id).send_paste("".join(parts))
        self._follow_output(pane_id)

    # -- marks and wake-ups ------------------------------------------------------------------------
    def mark_dirty(self, pane_id: int) -> None:
        if self.hello_done:
            self.dirty.add(pane_id)
            self._waiting_view.discard(pane_id)
            self._wake.set()

    def mark_layout(self) -> None:
        if self.hello_done:
            self.layout_dirty = True
            self.dirty.update(self.hub.visible_panes())
            self._wake.set()

    def mark_all(self) -> None:
        self.mark_layout()

    def role_changed(self) -> None:
        if self.hello_done:
            master = self.hub.master
            self._spawn(self._send({"t": "role", "role": self.role, "master": master.id if master else None}))

    # -- sending -----------------------------------------------------------------------------------
    async def _send(self, body: dict[str, Any]) -> None:
        data = dumps(body)
        try:
            await self.ws.send_frame(data, WSMsgType.TEXT)
        except (ConnectionError, RuntimeError):
            return   # the reader sees the transport's end and classifies it
        self.msgs_out += 1
        self.bytes_out += len(data)

    async def _sender(self) -> None:
        loop = asyncio.get_running_loop()
        interval = self.settings.frame_interval
        window = self.settings.frames_in_flight
        while not self.ended:
            await self._wake.wait()
            self._wake.clear()
            while not self.ended and (self.dirty or self.layout_dirty):
                if self.sync.in_flight >= window:
                    self.congested = True   # an ack wakes us; until then only the marks pile up
                    break
                now = loop.time()
                due, wait = self._due(now, interval)
                if not due and not self.layout_dirty:
                    if wait is not None:
                        self._wake_at(wait)
                    break
                frame = self._build(due, now)
                if frame is not None:
                    await self._send(frame)
                    self._note_frame()

    def _due(self, now: float, interval: float) -> tuple[list[int], float | None]:
        """Dirty panes that may go out now, and how long until the next one may.

        Only output-heavy frames are paced: each pane has a budget of frames refilled 60 times a second (a
        burst of ``FRAME_BURST``), spent by a frame only when the pane wrote more than ``PACED_BYTES`` since
        its last frame. Echoes and typing go out at once however fast they come; a flood settles at about
        60 frames per second without holding back another pane's echo.
        """
        due: list[int] = []
        wait: float | None = None
        panes = self.session.panes
        for pid in list(self.dirty):
            pane = panes.get(pid)
            if pane is None or pid in self._waiting_view:
                if pane is None:
                    self.dirty.discard(pid)
                continue
            tokens, at, sent_bytes = self._pace.get(pid, (FRAME_BURST, now, 0))
            tokens = min(FRAME_BURST, tokens + (now - at) / interval)
            self._pace[pid] = (tokens, now, sent_bytes)
            heavy = pane.bytes_out - sent_bytes > PACED_BYTES
            ready_in = (1 - tokens) * interval if heavy and tokens < 1 else 0.0
            if pane.render_held():
                ready_in = max(ready_in, 0.02)
            if ready_in <= 0:
                due.append(pid)
            elif wait is None or ready_in < wait:
                wait = ready_in
        return due, wait

    def _wake_at(self, delay: float) -> None:
        if self._wake_handle is not None:
            self._wake_handle.cancel()
        self._wake_handle = asyncio.get_running_loop().call_later(delay, self._wake.set)

    def _build(self, due: list[int], now: float) -> dict[str, Any] | None:
        hub, session = self.hub, self.session
        hub.check_style_epoch()
        visible = set(hub.visible_panes())
        for pid in [pid for pid in self.sync.sent if pid not in visible]:
            self.sync.forget(pid)
            self.offsets.pop(pid, None)
        states = []
        for pid in due:
            self.dirty.discard(pid)
            pane = session.panes.get(pid)
            if pane is None or pid not in visible:
                continue
            state = hub.state_for(self, pane)
            if state is None:
                self._waiting_view.add(pid)   # the terminal thread reads it; pane_output wakes us
                continue
            states.append(state)
            tokens, at, sent_bytes = self._pace.get(pid, (FRAME_BURST, now, 0))
            if pane.bytes_out - sent_bytes > PACED_BYTES:
                tokens -= 1
            self._pace[pid] = (tokens, at, pane.bytes_out)
        layout = None
        if self.layout_dirty:
            layout = hub.layout()
            self.layout_dirty = False
        force = frozenset(self.force.intersection(due))
        self.force -= force
        return self.sync.build(states, session.styles, layout, force)

    def _note_frame(self) -> None:
        now = time.monotonic()
        self._sent_times.append(now)
        while self._sent_times and now - self._sent_times[0] > FPS_WINDOW:
            self._sent_times.popleft()

    def frames_per_second(self) -> float:
        now = time.monotonic()
        recent = [t for t in self._sent_times if now - t <= FPS_WINDOW]
        return len(recent) / FPS_WINDOW

    # -- keepalive ---------------------------------------------------------------------------------
    async def _keepalive(self) -> None:
        interval, timeout = self.settings.ping_interval, self.settings.ping_timeout
        while not self.ended:
            await asyncio.sleep(interval)
            sent_at = time.monotonic()
            try:
                await asyncio.wait_for(self.ws.ping(repr(sent_at).encode()), timeout)
            except TimeoutError:
                pass
            except (ConnectionError, RuntimeError):
                return
            remaining = timeout - (time.monotonic() - sent_at)
            if remaining > 0:
                await asyncio.sleep(remaining)
            if self._last_heard < sent_at and not self.ended:
                self.end(Disconnect(dc.PING_TIMEOUT, f"no reply to a ping for {timeout:.0f} s"))
                self.abort()
                return

    def _on_pong(self, data: bytes) -> None:
        try:
            sent_at = float(data.decode())
        except (UnicodeDecodeError, ValueError):
            return
        rtt = time.monotonic() - sent_at
        if 0 <= rtt < 3600:
            self.rtt = rtt

    # -- reporting ---------------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        return {
            "id": self.id, "role": self.role, "can_master": self.can_master, "address": self.address,
            "tls": self.tls, "tls_version": self.tls_version, "cipher": self.cipher, "nodelay": self.nodelay,
            "rtt_ms": round(self.rtt * 1000, 3) if self.rtt is not None else None,
            "frames_per_s": round(self.frames_per_second(), 2), "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out, "msgs_in": self.msgs_in, "msgs_out": self.msgs_out,
            "frames_out": self.sync.frames_sent, "in_flight": self.sync.in_flight, "congested": self.congested,
            "dirty_panes": len(self.dirty), "refused": self.refused, "bad_messages": self.bad_messages,
            "connected_s": round(time.monotonic() - self.started, 1), "user_agent": self.user_agent,
        }

"""A scripted Dullahan client: the protocol of docs/PROTOCOL.md driven from Python.

It connects with a bearer token, says hello, applies every frame to the reference :class:`Replica` (the same
rules as the browser), acknowledges it, asks for a resync when a frame leaves a hole, and counts messages and
bytes each way. It can also:

- read slowly (``read_rate`` bytes per second): after each message it waits as long as that many bytes take,
  so aiohttp's bounded receive queue fills and TCP backs up to the server, like a slow browser tab;
- stall (stop reading altogether for a while, pings unanswered);
- leave cleanly (close frame), or vanish without a close frame (FIN) or with a TCP reset (RST);
- time a keystroke's echo: from sending the key to the first frame whose pane shows the character.

The soak command and the benchmarks use it; tests have their own in ``tests/wsclient.py``.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import ssl
import struct
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

from dullahan.wire.replica import Hole, Replica

FRAME_NUMBER = re.compile(r'"n":(\d+)\}$')   # a frame's number: the server writes it last
TCP_INFO_BYTES_ACKED = 120      # offsets of tcpi_bytes_acked / tcpi_bytes_received in struct tcp_info (Linux)
TCP_INFO_BYTES_RECEIVED = 128


def ws_overhead(n: int, masked: bool) -> int:
    """Bytes of RFC 6455 framing around an ``n``-byte payload."""
    head = 2 if n < 126 else 4 if n < 65536 else 10
    return head + (4 if masked else 0)


def tcp_counters(sock: Any) -> tuple[int, int] | None:
    """(bytes sent and acknowledged, bytes received) on a TCP socket, as the kernel counts them."""
    if sock is None:
        return None
    try:
        raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    except (OSError, AttributeError):
        return None
    if len(raw) < TCP_INFO_BYTES_RECEIVED + 8:
        return None
    acked, received = struct.unpack_from("QQ", raw, TCP_INFO_BYTES_ACKED)
    return max(0, acked - 1), received   # the SYN counts as one acknowledged byte


@dataclass
class Counters:
    """What one client saw and sent, over all its connections."""

    connections: int = 0
    msgs_in: int = 0
    bytes_in: int = 0          # message payload bytes
    wire_in: int = 0           # payload + WebSocket framing
    frames_in: int = 0
    rows_in: int = 0
    images_in: int = 0
    image_bytes_in: int = 0
    msgs_out: int = 0
    bytes_out: int = 0
    wire_out: int = 0
    acks: int = 0
    resyncs: int = 0
    errors: int = 0
    tcp_in: int = 0            # kernel counters of closed connections (live ones are added on read)
    tcp_out: int = 0

    def add(self, other: Counters) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Ending:
    """How a connection ended, as this client saw it."""

    server_id: int | None
    by_us: str | None          # None: the server or the network ended it; else "close", "fin", "rst", "stall"
    kind: str                  # aiohttp message type that ended the reader, or the exception's name
    detail: str = ""
    at: float = field(default_factory=time.monotonic)


class ClientError(Exception):
    pass


Predicate = Callable[[], bool]


class ScriptedClient:
    """One scripted client. ``await connect()``, then read the replica; ``await close()`` at the end."""

    def __init__(self, base_url: str, token: str, *, ssl_context: ssl.SSLContext | None = None,
                 name: str = "client", read_rate: float | None = None, keep_messages: int = 200,
                 compress: bool = False, apply_frames: bool = True) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.token = token
        self.ssl_context = ssl_context
        self.name = name
        self.read_rate = read_rate
        self.compress = compress
        self.apply_frames = apply_frames   # False: acknowledge frames without applying them (a cheap viewer)
        self.counters = Counters()
        self.replica = Replica()
        self.hello: dict[str, Any] = {}
        self.server_id: int | None = None
        self.messages: deque[dict[str, Any]] = deque(maxlen=keep_messages)
        self.endings: list[Ending] = []
        self.connect_failures: list[str] = []
        self.last_frame_at = 0.0
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._leaving: str | None = None
        self._stall_until = 0.0
        self._waiters: list[tuple[Predicate, asyncio.Future[float]]] = []
        self._live = Counters()

    # -- connection life ---------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._ws is not None and not self._ws.closed and self._reader is not None and not self._reader.done()

    async def connect(self, timeout: float = 15.0) -> dict[str, Any]:
        """Open the WebSocket, exchange hello; frames then flow into a fresh replica."""
        if self.connected:
            raise ClientError(f"{self.name} is already connected")
        self.replica = Replica()
        self._leaving = None
        self._live = Counters(connections=1)
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_connect=timeout))
        url = self.base_url.replace("http", "ws", 1) + "ws"
        try:
            self._ws = await asyncio.wait_for(self._session.ws_connect(
                url, headers={"Authorization": f"Bearer {self.token}"},
                ssl=self.ssl_context if self.ssl_context is not None else True,
                autoping=True, autoclose=True, max_msg_size=64 << 20, compress=15 if self.compress else 0),
                timeout)
            await self.send({"t": "hello", "v": 1})
            msg = await asyncio.wait_for(self._ws.receive(), timeout)
        except BaseException as e:
            self.connect_failures.append(f"{e.__class__.__name__}: {e}"[:200])
            await self._drop_session()
            raise
        if msg.type != aiohttp.WSMsgType.TEXT:
            await self._drop_session()
            raise ClientError(f"{self.name}: no hello reply ({msg.type.name} {msg.data!r})")
        self._count_in(msg.data)
        self.hello = json.loads(msg.data)
        if self.hello.get("t") != "hello":
            await self._drop_session()
            raise ClientError(f"{self.name}: expected hello, got {self.hello}")
        self.server_id = self.hello.get("client")
        self._reader = asyncio.create_task(self._read(), name=f"reader-{self.name}")
        return self.hello

    async def close(self, code: int = 1000) -> None:
        """Leave cleanly: a close frame, then wait for the server's."""
        self._leaving = "close"
        ws = self._ws
        if ws is not None and not ws.closed:
            try:
                await asyncio.wait_for(ws.close(code=code), 5)
            except (TimeoutError, ConnectionError, RuntimeError):
                pass
        await self._finish("close")

    async def vanish(self, reset: bool = False) -> None:
        """Leave without a close frame: the TCP connection ends with FIN, or with RST when ``reset``."""
        how = "rst" if reset else "fin"
        self._leaving = how
        ws = self._ws
        transport = self._transport()
        if reset:
            sock = transport.get_extra_info("socket") if transport is not None else None
            if sock is not None:
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                except OSError:
                    pass
        if transport is not None:
            self._note_tcp()
            if reset:
                transport.abort()
            else:
                raw = transport.get_extra_info("socket")
                # Half-close beneath TLS too (no close_notify, no close frame), then drop the socket.
                try:
                    if raw is not None:
                        raw.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                transport.abort()
        if ws is not None and self._reader is not None:
            await asyncio.sleep(0)
        await self._finish(how)

    def stall(self, seconds: float) -> None:
        """Stop reading (and so answering pings) for ``seconds``; the server is expected to give up on us.

        Reading stops at once, at the socket (a frozen tab): the transport stops reading, so nothing more is
        parsed, not even the server's pings, and TCP backs up. The reader also sleeps until then.
        """
        self._leaving = "stall"
        self._stall_until = time.monotonic() + seconds
        transport = self._transport()
        if transport is not None and not transport.is_closing():
            transport.pause_reading()
            asyncio.get_running_loop().call_later(seconds, self._unstall, transport)

    @staticmethod
    def _unstall(transport: asyncio.Transport) -> None:
        if not transport.is_closing():
            try:
                transport.resume_reading()
            except (RuntimeError, AttributeError):
                pass

    async def wait_ended(self, timeout: float) -> Ending | None:
        """Wait until the server ends the connection; the ending, or None on timeout."""
        if self._reader is None:
            return self.endings[-1] if self.endings else None
        try:
            await asyncio.wait_for(asyncio.shield(self._reader), timeout)
        except TimeoutError:
            return None
        await self._finish(self._leaving)
        return self.endings[-1] if self.endings else None

    async def _finish(self, how: str | None) -> None:
        reader = self._reader
        if reader is not None and not reader.done():
            try:
                await asyncio.wait_for(asyncio.shield(reader), 5)
            except TimeoutError:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)
        if self._reader is not None:
            self._reader = None
            if not self.endings or self.endings[-1].server_id != self.server_id:
                self.endings.append(Ending(self.server_id, how, "closed", "ended by us"))
        await self._drop_session()

    async def _drop_session(self) -> None:
        self._note_tcp()
        self.counters.add(self._live)
        self._live = Counters()
        ws, session = self._ws, self._session
        self._ws = self._session = None
        if ws is not None and not ws.closed:
            transport = self._transport(ws)
            if transport is not None:
                transport.abort()
        if session is not None:
            await session.close()
        for _pred, fut in self._waiters:
            if not fut.done():
                fut.set_exception(ClientError(f"{self.name} disconnected"))
        self._waiters.clear()

    def _transport(self, ws: aiohttp.ClientWebSocketResponse | None = None) -> asyncio.Transport | None:
        ws = ws or self._ws
        if ws is None:
            return None
        conn = getattr(ws, "_conn", None)
        transport = getattr(conn, "transport", None) if conn is not None else None
        if transport is None:
            transport = getattr(getattr(ws, "_response", None), "connection", None)
            transport = getattr(transport, "transport", None)
        return transport

    def tcp(self) -> tuple[int, int] | None:
        """Kernel byte counters (sent, received) of the live connection."""
        transport = self._transport()
        return tcp_counters(transport.get_extra_info("socket")) if transport is not None else None

    def _note_tcp(self) -> None:
        counts = self.tcp()
        if counts is not None:
            self._live.tcp_out, self._live.tcp_in = counts

    def totals(self) -> Counters:
        """Counters over all connections, the live one included."""
        total = Counters()
        total.add(self.counters)
        live = Counters()
        live.add(self._live)
        counts = self.tcp()
        if counts is not None:
            live.tcp_out, live.tcp_in = counts
        total.add(live)
        return total

    # -- reading -----------------------------------------------------------------------------------
    def _count_in(self, data: str) -> int:
        n = len(data.encode()) if not data.isascii() else len(data)
        self._live.msgs_in += 1
        self._live.bytes_in += n
        self._live.wire_in += n + ws_overhead(n, masked=False)
        return n

    async def _read(self) -> None:
        ws = self._ws
        assert ws is not None
        ending: Ending | None = None
        try:
            while True:
                if self._stall_until:
                    delay = self._stall_until - time.monotonic()
                    self._stall_until = 0.0
                    if delay > 0:
                        await asyncio.sleep(delay)
                msg = await ws.receive()
                now = time.perf_counter()
                if msg.type == aiohttp.WSMsgType.TEXT:
                    n = self._count_in(msg.data)
                    await self._on_text(msg.data, now)
                    if self.read_rate:
                        await asyncio.sleep(n / self.read_rate)
                elif msg.type == aiohttp.WSMsgType.BINARY:
                    n = self._on_image(msg.data, now)
                    if self.read_rate:
                        await asyncio.sleep(n / self.read_rate)
                elif msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED,
                                  aiohttp.WSMsgType.ERROR):
                    detail = f"{msg.data!r} {msg.extra!r}"[:200]
                    if msg.type == aiohttp.WSMsgType.CLOSE:
                        detail = f"close code {ws.close_code} {msg.extra!r}"[:200]
                    ending = Ending(self.server_id, self._leaving, msg.type.name, detail)
                    return
        except asyncio.CancelledError:
            ending = Ending(self.server_id, self._leaving or "cancelled", "cancelled")
            raise
        except Exception as e:   # a broken frame or a replica error: record it, the soak reports it
            ending = Ending(self.server_id, self._leaving, e.__class__.__name__, str(e)[:200])
        finally:
            self._note_tcp()
            if ending is not None:
                self.endings.append(ending)

    def _on_image(self, data: bytes, at: float) -> int:
        """An image message: kept (undecoded) in the replica for the frames that place it."""
        n = len(data)
        self._live.msgs_in += 1
        self._live.bytes_in += n
        self._live.wire_in += n + ws_overhead(n, masked=False)
        self._live.images_in += 1
        self._live.image_bytes_in += n
        if self.apply_frames:
            self.replica.apply_image(data)
        if self._waiters:
            self._check_waiters(at)
        return n

    async def _on_text(self, data: str, at: float) -> None:
        if not self.apply_frames and data.startswith('{"t":"f"'):
            m = FRAME_NUMBER.search(data, max(0, len(data) - 24))
            if m is not None:
                self._live.frames_in += 1
                await self.send({"t": "ack", "f": int(m.group(1))})
                self._live.acks += 1
                return
        body = orjson.loads(data)
        kind = body.get("t")
        if kind == "f":
            self._live.frames_in += 1
            self._live.rows_in += len(body.get("rows", ())) // 2
            self.last_frame_at = time.monotonic()
            try:
                self.replica.apply(body)
            except Hole as hole:
                self._live.resyncs += 1
                await self.send({"t": "resync", "p": hole.pane})
            await self.send({"t": "ack", "f": body["n"]})
            self._live.acks += 1
            if self._waiters:
                self._check_waiters(at)
        else:
            if kind == "error":
                self._live.errors += 1
            self.messages.append(body)

    def _check_waiters(self, at: float) -> None:
        keep = []
        for pred, fut in self._waiters:
            if fut.done():
                continue
            try:
                ok = pred()
            except (KeyError, IndexError):
                ok = False
            if ok:
                fut.set_result(at)
            else:
                keep.append((pred, fut))
        self._waiters = keep

    # -- sending -----------------------------------------------------------------------------------
    async def send(self, body: dict[str, Any]) -> None:
        ws = self._ws
        if ws is None or ws.closed:
            raise ClientError(f"{self.name} is not connected")
        data = orjson.dumps(body).decode()
        await ws.send_str(data)
        n = len(data)
        self._live.msgs_out += 1
        self._live.bytes_out += n
        self._live.wire_out += n + ws_overhead(n, masked=True)

    async def key(self, pane: int, key: str, code: str = "", mods: int = 0) -> None:
        body: dict[str, Any] = {"t": "key", "p": pane, "code": code, "key": key}
        if mods:
            body["m"] = mods
        await self.send(body)

    async def type_text(self, pane: int, text: str, enter: bool = False) -> None:
        """Committed text (as an IME would send), optionally followed by Enter."""
        if text:
            await self.send({"t": "text", "p": pane, "d": text})
        if enter:
            await self.key(pane, "Enter", "Enter")

    async def resize(self, cols: int, rows: int, window: int | None = None) -> None:
        args: dict[str, Any] = {"cols": cols, "rows": rows}
        if window is not None:
            args["window"] = window
        await self.send({"t": "cmd", "c": "resize-window", "a": args})

    # -- waiting on the replica ----------------------------------------------------------------------
    async def wait_until(self, predicate: Predicate, timeout: float) -> float:
        """perf_counter() time of the message after which ``predicate`` held (now, if it already does)."""
        try:
            if predicate():
                return time.perf_counter()
        except (KeyError, IndexError):
            pass
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, fut))
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            if not fut.done():
                fut.cancel()

    async def wait_layout(self, timeout: float = 15.0) -> list[int]:
        """Wait until the layout and every visible pane have arrived; the visible pane ids."""
        await self.wait_until(lambda: bool(self.pane_ids()) and set(self.pane_ids()) <= set(self.replica.panes),
                              timeout)
        return self.pane_ids()

    async def wait_text(self, pane: int, want: str, timeout: float) -> float:
        return await self.wait_until(lambda: any(want in line for line in self.screen(pane)), timeout)

    async def echo(self, pane: int, ch: str, timeout: float = 10.0) -> float:
        """Type one printable character and return seconds until a frame shows it at the cursor.

        The pane must echo (a shell prompt or ``cat``): the cell at the cursor's position before the key
        must show ``ch`` and the cursor must have moved one cell right.
        """
        cur = self.cursor(pane)
        if cur is None:
            raise ClientError(f"{self.name}: pane {pane} has no cursor to type at")
        x, y = cur

        def shown() -> bool:
            c = self.cursor(pane)
            return c == (x + 1, y) and self.replica.cell(pane, x, y) == ch
        start = time.perf_counter()
        await self.key(pane, ch)
        seen = await self.wait_until(shown, timeout)
        return seen - start

    # -- reading the replica ---------------------------------------------------------------------------
    def active_window(self) -> dict[str, Any] | None:
        layout = self.replica.layout or {}
        for window in layout.get("windows", []):
            if window["id"] == layout.get("active"):
                return window
        return None

    def pane_ids(self) -> list[int]:
        window = self.active_window()
        return [p for p in window["slots"] if p is not None] if window else []

    def screen(self, pane: int) -> list[str]:
        """The pane's rows as text, padded to its width (raises KeyError if the pane is not held)."""
        return self.replica.text(pane)

    def cursor(self, pane: int) -> tuple[int, int] | None:
        p = self.replica.panes.get(pane)
        if p is None or not p.cursor:
            return None
        return int(p.cursor[0]), int(p.cursor[1])

    def snapshot(self, pane: int) -> tuple[Any, ...]:
        """Everything the pane shows: size, rows with their styles resolved, cursor."""
        p = self.replica.panes[pane]
        rows = []
        for row in self.replica.lines(pane):
            text, runs, cells, links, wrapped = row
            styles = tuple(self.replica.style(runs[i + 2]) for i in range(0, len(runs), 3))
            rows.append((text, runs[0::3], runs[1::3], styles, cells, links, wrapped))
        return (p.cols, p.rows, tuple(rows), tuple(p.cursor) if p.cursor else None)

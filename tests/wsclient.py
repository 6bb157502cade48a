"""Scripted WebSocket clients for the transport tests: a full client (aiohttp + the reference replica) and a
raw RFC 6455 client over a plain or TLS socket, for driving the exact disconnect paths.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import select
import socket
import ssl
import struct
import time
from typing import Any

import aiohttp

from dullahan.wire.replica import Hole, Replica


class Client:
    """Connects, says hello, applies and acknowledges frames into a Replica, collects other messages."""

    def __init__(self, base: str, token: str | None = None, cookie: str | None = None,
                 ssl_context: ssl.SSLContext | None = None, origin: str | None = None, auto_ack: bool = True,
                 resume: str | None = None) -> None:
        self.base = base
        self.resume = resume
        self.token, self.cookie, self.ssl, self.origin = token, cookie, ssl_context, origin
        self.auto_ack = auto_ack
        self.replica = Replica()
        self.hello: dict[str, Any] = {}
        self.messages: list[dict[str, Any]] = []
        self.frames = 0
        self.bytes_in = 0
        self.replica_rows_added = 0
        # ("img", key) per image, ("f", panes placing images) per frame, in the order they arrived
        self.order: list[tuple[str, Any]] = []
        self.paused = asyncio.Event()
        self.paused.set()
        self._session: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self.closed: tuple[Any, ...] | None = None

    async def __aenter__(self) -> Client:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect(self) -> None:
        headers = {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if self.cookie:
            headers["Cookie"] = self.cookie
        if self.origin:
            headers["Origin"] = self.origin
        self._session = aiohttp.ClientSession()
        url = self.base.replace("http", "ws", 1) + "ws"
        self.ws = await self._session.ws_connect(url, headers=headers, ssl=self.ssl if self.ssl else True,
                                                 autoping=True, max_msg_size=64 << 20)
        await self.send({"t": "hello", "v": 1, **({"resume": self.resume} if self.resume else {})})
        msg = await asyncio.wait_for(self.ws.receive(), 10)
        self.bytes_in += len(msg.data)
        self.hello = json.loads(msg.data)
        assert self.hello["t"] == "hello", self.hello
        self._reader = asyncio.create_task(self._read())

    async def send(self, obj: dict[str, Any]) -> None:
        assert self.ws is not None
        await self.ws.send_str(json.dumps(obj))

    async def _read(self) -> None:
        assert self.ws is not None
        while True:
            await self.paused.wait()
            msg = await self.ws.receive()
            if msg.type == aiohttp.WSMsgType.BINARY:
                self.bytes_in += len(msg.data)
                self.order.append(("img", self.replica.apply_image(msg.data)))
                continue
            if msg.type != aiohttp.WSMsgType.TEXT:
                self.closed = (msg.type, msg.data, msg.extra)
                return
            self.bytes_in += len(msg.data)
            body = json.loads(msg.data)
            if body["t"] == "f":
                self.frames += 1
                self.order.append(("f", tuple(p["id"] for p in body.get("panes", ()) if p.get("img"))))
                self.replica_rows_added += len(body.get("rows", ())) // 2
                try:
                    self.replica.apply(body)
                except Hole as hole:
                    await self.send({"t": "resync", "p": hole.pane})
                if self.auto_ack:
                    await self.send({"t": "ack", "f": body["n"]})
            else:
                self.messages.append(body)

    async def close(self, code: int = 1000) -> None:
        if self.ws is not None and not self.ws.closed:
            await self.ws.close(code=code)
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    # -- reading the replica ---------------------------------------------------------------------------
    def pane_ids(self) -> list[int]:
        layout = self.replica.layout or {}
        for window in layout.get("windows", []):
            if window["id"] == layout.get("active"):
                return [p for p in window["slots"] if p is not None]
        return []

    def text(self, pane: int) -> str:
        if pane not in self.replica.panes:
            return ""
        try:
            return "\n".join(line.rstrip() for line in self.replica.text(pane))
        except KeyError:
            return ""

    async def wait_text(self, pane: int, want: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.text(pane)
            if want in text:
                return text
            await asyncio.sleep(0.01)
        raise AssertionError(f"pane {pane} never showed {want!r}; it shows:\n{self.text(pane)}")

    async def wait_message(self, kind: str, timeout: float = 10.0, **match: Any) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for m in self.messages:
                if m["t"] == kind and all(m.get(k) == v for k, v in match.items()):
                    return m
            await asyncio.sleep(0.01)
        raise AssertionError(f"no {kind} {match} message; got {self.messages[-5:]}")

    async def type(self, pane: int, text: str, enter: bool = True) -> None:
        for ch in text:
            await self.send({"t": "key", "p": pane, "code": "", "key": ch})
        if enter:
            await self.send({"t": "key", "p": pane, "code": "Enter", "key": "Enter"})


class RawWebSocket:
    """A minimal RFC 6455 client on a raw (optionally TLS) socket: full control over what goes on the wire."""

    def __init__(self, host: str, port: int, headers: dict[str, str], tls: ssl.SSLContext | None = None,
                 timeout: float = 10.0, path: str = "/ws", host_header: str | None = None,
                 source: str | None = None) -> None:
        raw = socket.create_connection((host, port), timeout=timeout,
                                       source_address=(source, 0) if source else None)
        self.sock: socket.socket = tls.wrap_socket(raw, server_hostname=host) if tls else raw
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {path} HTTP/1.1", f"Host: {host_header or f'{host}:{port}'}", "Upgrade: websocket",
                 "Connection: Upgrade",
                 f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            head += chunk
        self.status = int(head.split(b" ", 2)[1]) if head else 0
        self.buffer = head.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in head else b""

    def send_frame(self, opcode: int, payload: bytes, mask: bool = True, fin: bool = True) -> None:
        header = bytes([(0x80 if fin else 0) | opcode])
        n = len(payload)
        mbit = 0x80 if mask else 0
        if n < 126:
            header += bytes([mbit | n])
        elif n < 65536:
            header += bytes([mbit | 126]) + struct.pack("!H", n)
        else:
            header += bytes([mbit | 127]) + struct.pack("!Q", n)
        if mask:
            key = os.urandom(4)
            payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload)) if n < 1 << 16 else _mask(payload, key)
            header += key
        self.sock.sendall(header + payload)

    def send_text(self, obj: Any) -> None:
        self.send_frame(0x1, json.dumps(obj).encode())

    def _read_exact(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("EOF")
            self.buffer += chunk
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def recv_frame(self) -> tuple[int, bytes]:
        b0, b1 = self._read_exact(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._read_exact(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read_exact(8))[0]
        return b0 & 0x0F, self._read_exact(n)

    def recv_until(self, opcode: int, timeout: float = 10.0) -> bytes:
        self.sock.settimeout(timeout)
        while True:
            op, data = self.recv_frame()
            if op == opcode:
                return data

    def close_socket(self) -> None:
        """End the TCP stream without a WebSocket close frame (and, under TLS, without close_notify): a FIN,
        then the server's own end is awaited before closing. Closing at once would be a race: with data of
        the server's still unread here (a frame, a ping), the kernel answers with a reset instead of a FIN."""
        fd = self.sock.fileno()
        with contextlib.suppress(OSError):
            socket.socket.shutdown(self.sock, socket.SHUT_WR)   # beneath TLS: no close_notify
        deadline = time.monotonic() + 10
        with contextlib.suppress(OSError):
            while time.monotonic() < deadline:
                ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
                if ready and not os.read(fd, 65536):
                    break                                        # the server closed its side
        self.sock.close()

    def send_raw(self, data: bytes) -> None:
        """Bytes straight onto the TCP connection, beneath TLS."""
        os.write(self.sock.fileno(), data)

    def reset(self) -> None:
        """Abort with a TCP RST (SO_LINGER 0)."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


def _mask(payload: bytes, key: bytes) -> bytes:
    n = len(payload)
    keystream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(keystream, "big")).to_bytes(n, "big")

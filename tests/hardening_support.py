"""Helpers for the hardening and abuse tests: raw TCP connections, keep-alive HTTP, viewers, a master check."""

from __future__ import annotations

import socket

from web_support import WebServer, client, first_pane, raw, raw_hello
from wsclient import RawWebSocket


def tcp(web: WebServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", web.proc.port), timeout=10)


def server_closed(sock: socket.socket) -> bool:
    """True once the server has closed (or reset) this connection; never blocks."""
    timeout = sock.gettimeout()
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        sock.settimeout(timeout)


class HttpConnection:
    """One keep-alive HTTP/1.1 connection (plain or TLS) with full control of the request."""

    def __init__(self, web: WebServer) -> None:
        sock = tcp(web)
        self.sock = web.client_ssl.wrap_socket(sock, server_hostname="127.0.0.1") if web.tls and web.client_ssl \
            else sock
        self.host = f"127.0.0.1:{web.proc.port}"
        self.buffer = b""

    def request(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        lines = [f"GET {path} HTTP/1.1", f"Host: {self.host}", *(f"{k}: {v}" for k, v in (headers or {}).items())]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed before a response")
            self.buffer += chunk
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        fields = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
        length = int(fields.get("content-length", "0"))
        while len(self.buffer) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed in the body")
            self.buffer += chunk
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return int(status_line.split()[1]), fields, body

    def close(self) -> None:
        self.sock.close()


async def master_types_and_sees_echo(web: WebServer, word: str) -> None:
    async with client(web) as c:
        assert c.hello["can_master"], c.hello
        if c.hello["role"] != "master":
            await c.send({"t": "request_master"})
            await c.wait_message("role", role="master")
        pane = await first_pane(c, timeout=20)
        await c.type(pane, f"echo {word}-$((6*7))")
        await c.wait_text(pane, f"{word}-42", timeout=20)


def viewer(web: WebServer) -> RawWebSocket:
    ws = raw(web, {"Authorization": f"Bearer {web.view}"})
    if ws.status == 101:
        raw_hello(ws)
    return ws

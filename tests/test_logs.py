"""The log under attack (issue 11 items 4 and 5): malformed HTTP requests, sent over real sockets, never put
a token or a cookie value in the log, each costs at most one short line, and a flood of them is rate-limited
with a count of what was suppressed."""

from __future__ import annotations

import socket
import ssl
import time
from pathlib import Path
from typing import Any

import pytest

from helpers import run, wait_for
from test_web import session_cookie
from web_support import WebServer, start_web


@pytest.fixture(params=[False, True], ids=["plain", "tls"])
def tls(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def send_raw(web: WebServer, data: bytes) -> bytes:
    """Send bytes as a request on a fresh connection; returns whatever comes back before the server closes."""
    sock: socket.socket = socket.create_connection(("127.0.0.1", web.proc.port), timeout=10)
    if web.tls:
        assert web.client_ssl is not None
        sock = web.client_ssl.wrap_socket(sock, server_hostname="127.0.0.1")
    try:
        sock.sendall(data)
        reply = b""
        while len(reply) < 65536:
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
        return reply
    except (ConnectionError, ssl.SSLError, TimeoutError):
        return b""
    finally:
        sock.close()


def malformed_requests(token: str, cookie: str, host: str) -> dict[str, bytes]:
    t, c = token.encode(), cookie.encode()
    h = f"Host: {host}\r\n".encode()
    return {
        "url_too_long": b"GET /?token=" + t + b"&pad=" + b"a" * 40_000 + b" HTTP/1.1\r\n" + h + b"\r\n",
        "authorization_too_long": b"GET /ws HTTP/1.1\r\n" + h + b"Authorization: Bearer " + t + b"a" * 40_000
                                  + b"\r\n\r\n",
        "nul_in_url": b"GET /?token=" + t + b"\x00 HTTP/1.1\r\n" + h + b"\r\n",
        "bad_http_version": b"GET /?token=" + t + b" HTTP/9.9\r\n" + h + b"\r\n",
        "bad_version_with_bearer": b"GET /ws HTTP/7.0\r\n" + h + b"Authorization: Bearer " + t + b"\r\n\r\n",
        "cookie_too_long": b"GET / HTTP/1.1\r\n" + h + b"Cookie: " + c + b"; other=" + b"b" * 40_000 + b"\r\n\r\n",
        "bad_header_with_cookie": b"GET / HTTP/1.1\r\n" + h + b"Cookie: " + c + b"\r\nX-Bad\x01: y\r\n\r\n",
        "bad_method_with_cookie": b"G\x01T / HTTP/1.1\r\n" + h + b"Cookie: " + c + b"\r\n\r\n",
        "garbage_with_token": b"\x16\x03\x01 " + t + b" " + c + b"\r\n\r\n",
    }


def all_log_text(web: WebServer) -> str:
    return "".join(p.read_text(errors="replace") for p in sorted(web.proc.runtime_dir.glob("*.log*")))


@pytest.mark.parametrize("debug", [False, True], ids=["default", "debug-all"])
def test_malformed_requests_never_log_a_token_or_cookie(server: Any, tmp_path: Path, tls: bool, debug: bool) -> None:
    web = start_web(server, tmp_path, tls, env={"DULLAHAN_DEBUG": "+all"} if debug else None)
    cookie = run(session_cookie(web, web.master))
    cookie_value = cookie.split("=", 1)[1]
    requests = malformed_requests(web.master, cookie, f"127.0.0.1:{web.proc.port}")
    for name, data in requests.items():
        reply = send_raw(web, data)
        assert web.master.encode() not in reply and cookie_value.encode() not in reply, name
    wait_for(lambda: all_log_text(web).count("malformed request refused") >= len(requests) - 2, 15,
             message=lambda: all_log_text(web)[-3000:])
    assert web.status()["pid"] == web.proc.pid
    log = all_log_text(web)
    for secret in (web.master, web.view, cookie_value, web.master[:16], cookie_value[-20:]):
        assert secret not in log, f"{secret[:6]}... reached the log"
    assert "Traceback" not in log
    malformed = [line for line in log.splitlines() if "malformed request refused" in line]
    assert len(malformed) <= len(requests)
    assert all(len(line) < 200 for line in malformed), malformed
    assert all(line.split(" ", 3)[1] in ("WARN", "DEBUG") and " http: " in line for line in malformed)


def test_a_flood_of_malformed_requests_is_rate_limited(server: Any, tmp_path: Path) -> None:
    web = start_web(server, tmp_path, False)
    started = time.monotonic()
    sent = 0
    while sent < 300 or time.monotonic() - started < 2.5:
        send_raw(web, b"GET /?token=" + web.master.encode() + b" HTTP/9.9\r\n\r\n")
        sent += 1
    elapsed = time.monotonic() - started
    time.sleep(1.2)
    send_raw(web, b"GET / HTTP/9.9\r\n\r\n")   # the next allowed line reports how many were dropped
    wait_for(lambda: "suppressed=" in web.proc.log_text(), 15, message=lambda: web.proc.log_text()[-2000:])
    lines = [line for line in web.proc.log_text().splitlines() if "malformed request refused" in line]
    # A burst of 10, then about one a second.
    assert len(lines) <= 10 + elapsed + 3, (len(lines), sent, elapsed)
    dropped = sum(int(w.split("=", 1)[1]) for line in lines for w in line.split() if w.startswith("suppressed="))
    assert len(lines) + dropped >= sent, (len(lines), dropped, sent)
    assert web.master not in web.proc.log_text()
    assert web.proc.logfile.stat().st_size < 20_000, web.proc.logfile.stat().st_size

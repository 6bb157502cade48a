"""Issue 11, against real servers over real sockets (plain and TLS): viewers never lock the master out,
connections that do not authenticate are capped and closed, the CLI never prints a traceback, wrong tokens
are throttled without hurting the owner, WebSocket frame limits, and the scheme and Host checks."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from hardening_support import HttpConnection, master_types_and_sees_echo, server_closed, tcp, viewer
from helpers import make_env, run, run_cli, wait_for
from test_web import http_get, session_cookie
from web_support import WebServer, disconnect_lines, raw, raw_hello, start_web, wait_reason
from wsclient import RawWebSocket


@pytest.fixture(params=[False, True], ids=["plain", "tls"])
def tls(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


# -- 1. viewers never lock the master out -------------------------------------------------------------------
def test_viewers_cannot_fill_the_slots_reserved_for_master_tokens(server: Any, tmp_path: Path) -> None:
    web = start_web(server, tmp_path, False)
    viewers = [viewer(web) for _ in range(64)]
    try:
        accepted = sum(v.status == 101 for v in viewers)
        assert accepted == 60, [v.status for v in viewers]
        assert all(v.status == 503 for v in viewers[60:])
        cookie = run(session_cookie(web, web.master))
        by_cookie = raw(web, {"Cookie": cookie, "Origin": web.origin})
        assert by_cookie.status == 101
        raw_hello(by_cookie)
        run(master_types_and_sees_echo(web, "owner"))
        assert web.status()["clients"] >= 61
    finally:
        for v in viewers:
            v.close_socket()


def test_a_master_token_client_closes_the_oldest_viewer_when_full(server: Any, tmp_path: Path, tls: bool) -> None:
    web = start_web(server, tmp_path, tls, config={"max_connections": 4, "reserved_master_connections": 1})
    viewers = [viewer(web) for _ in range(4)]
    masters: list[RawWebSocket] = []
    try:
        assert [v.status for v in viewers] == [101, 101, 101, 503]
        masters = [raw(web) for _ in range(2)]     # the reserved slot, then a viewer's place
        assert [m.status for m in masters] == [101, 101]
        for m in masters:
            raw_hello(m)
        close = viewers[0].recv_until(0x8, timeout=10)
        assert int.from_bytes(close[:2], "big") == 1013
        wait_reason(web, "too_many_connections", 2)
        assert "closing the oldest viewer" in web.proc.log_text()
        viewers[1].send_text({"t": "ping", "id": 7})          # the other viewers stay
        while (reply := json.loads(viewers[1].recv_until(0x1)))["t"] != "pong":
            pass
        assert reply["id"] == 7
    finally:
        for s in viewers + masters:
            s.close_socket()


# -- 3. connections that never authenticate ------------------------------------------------------------------
def test_silent_and_trickling_connections_are_closed_before_authentication(server: Any, tmp_path: Path,
                                                                           tls: bool) -> None:
    web = start_web(server, tmp_path, tls)   # the default: 10 s to authenticate (aiohttp alone: an hour)
    silent = [tcp(web) for _ in range(5)]
    trickler = tcp(web)
    cookie = run(session_cookie(web, web.master))
    signed_in = HttpConnection(web)
    stop = threading.Event()

    def trickle() -> None:   # a slow-headers client: a byte every 0.2 s, never a full request
        sent = 0
        data = b"GET / HTTP/1.1\r\nX-Slow: " + b"a" * 1000
        while not stop.is_set() and sent < len(data):
            try:
                trickler.sendall(data[sent:sent + 1])
            except OSError:
                return
            sent += 1
            time.sleep(0.2)
    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        assert signed_in.request("/", {"Cookie": cookie})[0] == 200
        wait_for(lambda: all(server_closed(s) for s in silent), 40, interval=0.2,
                 message="silent connections still open")
        wait_for(lambda: server_closed(trickler), 40, interval=0.2, message="the trickling connection is open")
        # The signed-in connection is not held to the short timeout: it still serves requests.
        assert signed_in.request("/", {"Cookie": cookie})[0] == 200
    finally:
        stop.set()
        thread.join(5)
        for s in [*silent, trickler]:
            s.close()
        signed_in.close()


def test_unauthenticated_connections_are_capped_per_address(server: Any, tmp_path: Path, tls: bool) -> None:
    web = start_web(server, tmp_path, tls)   # the defaults: 32 per address, 128 in all
    held = []
    try:
        for _ in range(100):
            held.append(tcp(web))
        wait_for(lambda: sum(not server_closed(s) for s in held) <= 32, 20, interval=0.1,
                 message=lambda: f"{sum(not server_closed(s) for s in held)} of 100 still open")
        assert all(not server_closed(s) for s in held[-4:]), "the newest connections were closed"
        # The owner still gets in (each new connection closes the oldest idle one from the address).
        assert run(http_get(web, f"/?token={web.master}")).status == 303
        run(master_types_and_sees_echo(web, "capped"))
        log = web.proc.log_text()
        lines = [line for line in log.splitlines() if "too many unauthenticated connections" in line]
        assert 1 <= len(lines) <= 12, lines   # rate-limited
    finally:
        for s in held:
            s.close()


def _fake_control_socket(env: dict[str, str], port: int) -> Path:
    directory = Path(env["XDG_RUNTIME_DIR"]) / "dullahan"
    directory.mkdir(mode=0o700, exist_ok=True)
    return directory / f"server-{port}.sock"


@pytest.mark.parametrize("behaviour", ["reset", "full"])
def test_cli_prints_an_error_never_a_traceback(tmp_path: Path, behaviour: str) -> None:
    """A server that drops the control connection unread (ECONNRESET), or whose socket backlog is full."""
    env = make_env(tmp_path)
    port = 1 + os.getpid() % 60000
    path = _fake_control_socket(env, port)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(0)
    stop = threading.Event()
    fillers: list[socket.socket] = []

    def drop_unread() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            time.sleep(0.3)            # the request arrives and is never read: closing now resets the peer
            conn.close()
    thread = threading.Thread(target=drop_unread, daemon=True)
    if behaviour == "reset":
        thread.start()
    else:
        for _ in range(4):             # nobody accepts: fill the backlog
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.setblocking(False)
            try:
                s.connect(str(path))
            except BlockingIOError:
                s.close()
                break
            fillers.append(s)
    try:
        for args in (["status"], ["panes"], ["send", "1", "x"]):
            result = run_cli(env, *args, "--port", str(port), timeout=60)
            assert result.returncode == 1, (args, result)
            assert "Traceback" not in result.stderr, result.stderr
            assert result.stderr.startswith("dullahan: ") and len(result.stderr.splitlines()) == 1, result.stderr
    finally:
        stop.set()
        if thread.is_alive():
            thread.join(5)
        for s in fillers:
            s.close()
        listener.close()


# -- 7. wrong tokens ------------------------------------------------------------------------------------------
def test_only_real_token_attempts_count_and_the_right_token_is_never_delayed(server: Any, tmp_path: Path) -> None:
    web = start_web(server, tmp_path, False)
    for _ in range(8):      # a cookieless page load is not a guess
        assert run(http_get(web, "/")).status == 403
    assert run(http_get(web, "/", {"Cookie": f"dullahan_{web.proc.port}=stale.1.x.y"})).status == 403
    assert run(http_get(web, "/?token=wrong-guess")).status == 403
    assert "failure 1 from this address" in web.proc.log_text()
    for i in range(7):
        assert run(http_get(web, f"/?token=wrong-guess-{i}")).status == 403
    assert "failure 8 from this address" in web.proc.log_text()
    # Someone else's failures from the same address (every local user is 127.0.0.1) never slow the owner:
    # the ninth failure would wait 5 s; the right token is answered without any wait.
    t0 = time.monotonic()
    assert run(http_get(web, f"/?token={web.master}")).status == 303
    assert time.monotonic() - t0 < 2.5
    # And a wrong bearer on the WebSocket is a real attempt too.
    assert raw(web, {"Authorization": "Bearer not-the-token-at-all"}).status == 403
    assert "failure 9 from this address" in web.proc.log_text()


# -- 8. WebSocket frame limits ----------------------------------------------------------------------------------
LIMIT = 4096


@pytest.fixture
def small_limit(server: Any, tmp_path: Path, tls: bool) -> WebServer:
    return start_web(server, tmp_path, tls, config={"max_message_bytes": LIMIT, "max_paste_bytes": LIMIT})


def _message_of(size: int) -> bytes:
    head = b'{"t":"ping","id":1,"x":"'
    return head + b"a" * (size - len(head) - 2) + b'"}'


def test_a_message_of_exactly_the_limit_is_accepted(small_limit: WebServer) -> None:
    ws = raw(small_limit)
    raw_hello(ws)
    message = _message_of(LIMIT)
    assert len(message) == LIMIT
    ws.send_frame(0x1, message)
    reply = json.loads(ws.recv_until(0x1))
    while reply["t"] != "error":
        reply = json.loads(ws.recv_until(0x1))
    assert reply["code"] == "bad_field"           # parsed and refused as a message: the connection stays
    ws.send_text({"t": "ping", "id": 2})
    while (reply := json.loads(ws.recv_until(0x1)))["t"] != "pong":
        pass
    assert reply["id"] == 2
    ws.send_frame(0x1, _message_of(LIMIT + 1))
    close = ws.recv_until(0x8)
    assert int.from_bytes(close[:2], "big") == 1009
    wait_reason(small_limit, "size_violation")
    ws.close_socket()


def test_unmasked_client_frames_are_a_protocol_violation(small_limit: WebServer) -> None:
    ws = raw(small_limit)
    raw_hello(ws)
    ws.send_frame(0x1, json.dumps({"t": "ping", "id": 1}).encode(), mask=False)
    close = ws.recv_until(0x8)
    assert int.from_bytes(close[:2], "big") == 1002
    wait_reason(small_limit, "protocol_violation")
    line = disconnect_lines(small_limit, "protocol_violation")[0]
    assert "code=1002" in line and "unmasked" in line
    ws.close_socket()
    # before hello too
    ws = raw(small_limit)
    ws.send_frame(0x1, json.dumps({"t": "hello", "v": 1}).encode(), mask=False)
    assert int.from_bytes(ws.recv_until(0x8)[:2], "big") == 1002
    wait_reason(small_limit, "protocol_violation", 2)
    ws.close_socket()


# -- 10. scheme and Host ------------------------------------------------------------------------------------------
def test_origin_with_the_other_scheme_is_refused(server: Any, tmp_path: Path, tls: bool) -> None:
    web = start_web(server, tmp_path, tls)
    cookie = run(session_cookie(web, web.master))
    other = ("http" if tls else "https") + f"://127.0.0.1:{web.proc.port}"
    assert raw(web, {"Cookie": cookie, "Origin": other}).status == 403
    wait_reason(web, "origin_rejected")
    assert raw(web, {"Cookie": cookie, "Origin": web.origin}).status == 101


def _raw_host(web: WebServer, host: str, headers: dict[str, str]) -> RawWebSocket:
    return RawWebSocket("127.0.0.1", web.proc.port, headers, web.client_ssl if web.tls else None, host_header=host)


def test_unknown_host_names_are_refused(server: Any, tmp_path: Path, tls: bool) -> None:
    web = start_web(server, tmp_path, tls, args=("--allowed-host", "term.example"))
    cookie = run(session_cookie(web, web.master))
    port = web.proc.port
    scheme = "https" if tls else "http"
    evil = _raw_host(web, f"evil.example:{port}", {"Cookie": cookie, "Origin": f"{scheme}://evil.example:{port}"})
    assert evil.status == 403
    wait_reason(web, "host_rejected")
    page = run(http_get(web, "/", {"Cookie": cookie, "Host": f"evil.example:{port}"}))
    assert page.status == 403 and page.headers["X-Dullahan-Refused"] == "host_rejected"
    assert web.disconnects()["host_rejected"] >= 2
    assert "reason=host_rejected" in web.proc.log_text()
    for host in (f"localhost:{port}", f"[::1]:{port}", f"term.example:{port}"):
        ok = _raw_host(web, host, {"Cookie": cookie, "Origin": f"{scheme}://{host}"})
        assert ok.status == 101, host
        ok.close_socket()


def test_a_wildcard_bind_answers_to_the_machine_name(server: Any, tmp_path: Path) -> None:
    web = start_web(server, tmp_path, False, args=("--bind", "0.0.0.0", "--insecure"))
    cookie = run(session_cookie(web, web.master))
    port = web.proc.port
    name = socket.gethostname()
    assert run(http_get(web, "/", {"Cookie": cookie, "Host": f"{name}:{port}"})).status == 200
    assert run(http_get(web, "/", {"Cookie": cookie, "Host": f"127.0.0.1:{port}"})).status == 200
    assert run(http_get(web, "/", {"Cookie": cookie, "Host": f"evil.example:{port}"})).status == 403
    assert run(http_get(web, "/", {"Cookie": cookie, "Host": f"192.0.2.1:{port}"})).status == 403

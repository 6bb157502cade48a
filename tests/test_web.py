"""The web transport (issue: HTTP(S) + WebSocket, tokens and roles, sync frames, disconnect diagnosis).

Every test runs against a real server subprocess over real sockets, plain and over TLS with certificates
made by trustme, with scripted clients (aiohttp + the reference replica, or a raw RFC 6455 client).
"""

from __future__ import annotations

import asyncio
import json
import re
import ssl
import statistics
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from helpers import async_wait_for, run, wait_for
from web_support import WebServer, client, disconnect_lines, first_pane, raw, raw_hello, start_web, wait_reason
from wsclient import Client

FAST = {"ping_interval": 1, "ping_timeout": 1, "hello_timeout": 1}


@pytest.fixture(params=[False, True], ids=["plain", "tls"])
def tls(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture
def web(server: Any, tmp_path: Path, tls: bool) -> WebServer:
    return start_web(server, tmp_path, tls)


@pytest.fixture
def fast_web(server: Any, tmp_path: Path, tls: bool) -> WebServer:
    return start_web(server, tmp_path, tls, config=FAST)


async def http_get(web: WebServer, path: str, headers: dict[str, str] | None = None) -> aiohttp.ClientResponse:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as s, s.get(
            web.base.rstrip("/") + path, headers=headers or {}, allow_redirects=False,
            ssl=web.client_ssl if web.tls else True) as r:
        await r.read()
        return r


async def session_cookie(web: WebServer, token: str) -> str:
    r = await http_get(web, f"/?token={token}")
    assert r.status == 303
    morsel = r.cookies[f"dullahan_{web.proc.port}"]
    return f"{morsel.key}={morsel.value}"


# -- HTTP, tokens, cookies -------------------------------------------------------------------------------
def test_token_url_sets_cookie_and_redirects_without_token(web: WebServer) -> None:
    r = run(http_get(web, f"/?token={web.master}"))
    assert r.status == 303
    assert r.headers["Location"] == "/"
    set_cookie = r.headers["Set-Cookie"]
    assert set_cookie.startswith(f"dullahan_{web.proc.port}=")
    assert "HttpOnly" in set_cookie
    assert "SameSite=Strict" in set_cookie
    assert "Path=/" in set_cookie
    assert ("Secure" in set_cookie) == web.tls
    assert web.master not in set_cookie
    cookie = run(session_cookie(web, web.view))
    page = run(http_get(web, "/", {"Cookie": cookie}))
    assert page.status == 200
    assert page.headers["Cache-Control"] == "no-store"


def test_security_headers_on_every_response(web: WebServer) -> None:
    cookie = run(session_cookie(web, web.master))
    for path, headers, status in (("/", {"Cookie": cookie}, 200), ("/", {}, 403), ("/?token=nope", {}, 403)):
        r = run(http_get(web, path, headers))
        assert r.status == status, path
        csp = r.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert r.headers["Referrer-Policy"] == "no-referrer"
        assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_wrong_tokens_are_refused_logged_without_secrets_and_slowed(web: WebServer) -> None:
    guesses = [f"guess-{i}-{'x' * 20}" for i in range(6)]
    times = []
    for guess in guesses:
        t0 = time.monotonic()
        assert run(http_get(web, f"/?token={guess}")).status == 403
        times.append(time.monotonic() - t0)
    log = web.proc.log_text()
    assert log.count("reason=auth_failed") >= 6
    for secret in [*guesses, web.master, web.view]:
        assert secret not in log
    # After the free attempts, each failure is answered later (0.25 s, 0.5 s, 1 s ...): a lower bound only.
    assert times[-1] >= 0.45
    assert web.disconnects()["auth_failed"] >= 6


def test_websocket_needs_a_session(web: WebServer) -> None:
    ws = raw(web, {"Origin": web.origin})
    assert ws.status == 403
    ws = raw(web, {"Authorization": "Bearer not-a-token"})
    assert ws.status == 403
    wait_reason(web, "auth_failed", 2)


def test_websocket_with_cookie_needs_matching_origin(web: WebServer) -> None:
    cookie = run(session_cookie(web, web.master))
    assert raw(web, {"Cookie": cookie, "Origin": "http://evil.example"}).status == 403
    assert raw(web, {"Cookie": cookie}).status == 403      # a cookie without Origin is refused too
    other_port = f"{'https' if web.tls else 'http'}://127.0.0.1:{web.proc.port + 1}"
    assert raw(web, {"Cookie": cookie, "Origin": other_port}).status == 403
    wait_reason(web, "origin_rejected", 3)
    ok = raw(web, {"Cookie": cookie, "Origin": web.origin})
    assert ok.status == 101


# -- roles -------------------------------------------------------------------------------------------------
def test_scripted_client_sees_echo_output(web: WebServer) -> None:
    async def scenario() -> None:
        async with client(web) as c:
            assert c.hello["role"] == "master"
            pane = (await first_pane(c))
            await c.type(pane, "echo hi-$((6*7))")
            await c.wait_text(pane, "hi-42")
    run(scenario())


def test_view_client_watches_but_cannot_type(web: WebServer) -> None:
    async def scenario() -> None:
        async with client(web) as master, client(web, web.view) as viewer:
            assert viewer.hello["role"] == "view" and viewer.hello["can_master"] is False
            pane = await first_pane(master)
            await viewer.type(pane, "echo VIEWER-TYPED")
            err = await viewer.wait_message("error", code="not_master")
            assert err["ref"] == "key"
            await viewer.send({"t": "cmd", "c": "resize-window", "a": {"cols": 50, "rows": 10}})
            await viewer.send({"t": "cmd", "c": "new-window", "a": {"layout": "2x2"}})
            await master.type(pane, "echo from-master")
            await viewer.wait_text(pane, "from-master")
            assert "VIEWER-TYPED" not in web.proc.capture(pane)
            assert len(web.proc.call("windows")) == 1
            await viewer.send({"t": "request_master"})
            await viewer.wait_message("error", code="not_allowed")
            refused = {c["role"]: c["refused"] for c in web.proc.call("clients")}
            assert refused["view"] >= 4
    run(scenario())


def test_master_token_client_can_take_over(web: WebServer) -> None:
    async def scenario() -> None:
        async with client(web) as first, client(web) as second:
            assert (first.hello["role"], second.hello["role"]) == ("master", "view")
            assert second.hello["can_master"] is True
            await second.send({"t": "request_master"})
            await second.wait_message("role", role="master")
            await first.wait_message("role", role="view")
            pane = await first_pane(first)
            await first.type(pane, "echo nope")
            await first.wait_message("error", code="not_master")
            await second.type(pane, "echo now-second")
            await first.wait_text(pane, "now-second")
        # When the master leaves, the role is free: the next master-token client gets it.
        async with client(web) as third:
            assert third.hello["role"] == "master"
    run(scenario())


# -- sync ------------------------------------------------------------------------------------------------
def test_stalled_client_costs_bounded_memory_and_converges(web: WebServer) -> None:
    """One client stops reading while a pane floods; another keeps typing in a second pane. The stalled one
    gets no backlog (at most a window of frames), the server's memory stays flat, and when it reads again
    it converges to the exact current screens."""
    proc = web.proc
    proc.call("layout", layout="2-col")
    flood_pane, echo_pane = proc.call("windows")[0]["panes"]

    def rss_kib() -> int:
        status = Path(f"/proc/{proc.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]

    async def scenario() -> tuple[list[float], int, int]:
        async with client(web) as typist, client(web, web.view) as stalled:
            await first_pane(stalled)
            stalled.paused.clear()                     # stop reading: TCP buffers fill, no acks
            rss_before = rss_kib()
            proc.send(flood_pane, "for i in $(seq 1 8); do seq 1 400000; done; echo FLOOD-DONE")
            latencies = []
            for i in range(40):
                t0 = time.perf_counter()
                await typist.type(echo_pane, f"echo tick-{i}")
                await typist.wait_text(echo_pane, f"\ntick-{i}", timeout=20)
                latencies.append(time.perf_counter() - t0)
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.5)
            info = {c["role"]: c for c in proc.call("clients")}
            stalled_info = info["view"]
            assert stalled_info["in_flight"] <= 3
            assert stalled_info["bytes_out"] < 3_000_000, stalled_info
            rss_during = rss_kib()
            # Let the flood finish, then resume reading: the stalled client must converge exactly.
            wait_for(lambda: "FLOOD-DONE" in proc.capture(flood_pane), 120)
            stalled.paused.set()
            for pane in (flood_pane, echo_pane):
                await _converged(stalled, proc, pane)
            return latencies, rss_before, rss_during
    latencies, before, during = run(scenario())
    print(f"echo while another client is stalled: p50 {statistics.median(latencies) * 1000:.1f} ms, "
          f"max {max(latencies) * 1000:.1f} ms; RSS {before} -> {during} KiB")
    assert during - before < 80_000


async def _converged(c: Client, proc: Any, pane: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    want = ""
    while time.monotonic() < deadline:
        want = proc.capture(pane)
        got = c.text(pane)
        if got.rstrip("\n") == want.rstrip("\n"):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"client did not converge on pane {pane}:\n--- client\n{c.text(pane)}\n--- server\n{want}")


def test_scrolling_sends_only_new_rows_and_alt_screen_return_is_free(web: WebServer) -> None:
    async def scenario() -> None:
        async with client(web) as c:
            pane = await first_pane(c)
            await c.type(pane, "seq 1 200; echo FILLED")
            await c.wait_text(pane, "FILLED")
            await asyncio.sleep(0.2)
            rows_before = _rows_received(c)
            await c.type(pane, "echo one-more-line")
            await c.wait_text(pane, "\none-more-line")
            await asyncio.sleep(0.2)
            # The echoed command, its output and the new prompt: a handful of rows, not a screen.
            assert _rows_received(c) - rows_before <= 6
            await c.type(pane, "printf '\\e[?1049h\\e[2Jfull screen app'; sleep 0.3; printf '\\e[?1049l'")
            await c.wait_text(pane, "full screen app")
            before_return = _rows_received(c)
            deadline = time.monotonic() + 10
            while "full screen app" in c.text(pane) and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.2)
            assert "one-more-line" in c.text(pane)
            assert _rows_received(c) - before_return <= 3
    run(scenario())


def _rows_received(c: Client) -> int:
    return c.replica_rows_added


def test_resync_resends_every_row_of_the_pane(web: WebServer) -> None:
    async def scenario() -> None:
        async with client(web) as c:
            pane = await first_pane(c)
            await c.type(pane, "echo before-resync")
            await c.wait_text(pane, "before-resync")
            c.replica.rows.clear()                 # damage the cache on purpose
            added = c.replica_rows_added
            await c.send({"t": "resync", "p": pane})
            deadline = time.monotonic() + 10
            while c.replica_rows_added - added < len(c.replica.panes[pane].ids) and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            assert "before-resync" in c.text(pane)
    run(scenario())


def test_viewer_scrolls_its_own_view_only(web: WebServer) -> None:
    async def scenario() -> None:
        async with client(web) as master, client(web, web.view) as viewer:
            pane = await first_pane(master)
            await master.type(pane, "seq 1 300 | sed 's/^/L/'; echo END-OF-SEQ")
            # The output line (not the typed command) and the prompt after it: no more output will push the
            # scrollback (which would rightly grow the offset to keep the viewer's rows in place).
            await viewer.wait_text(pane, "\nEND-OF-SEQ\n$")
            await viewer.send({"t": "scroll", "p": pane, "delta": -100})
            deadline = time.monotonic() + 10
            while viewer.replica.panes[pane].fields.get("offset", 0) != 100 and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            assert viewer.replica.panes[pane].fields["offset"] == 100
            assert viewer.replica.panes[pane].cursor is None
            assert "END-OF-SEQ" not in viewer.text(pane)
            shown = [int(x[1:]) for x in viewer.text(pane).split() if re.fullmatch(r"L\d+", x)]
            assert shown and max(shown) < 300
            # The master still sees the live screen, and its typing doesn't move the viewer.
            assert "END-OF-SEQ" in master.text(pane)
            await master.type(pane, "echo master-typed")
            await master.wait_text(pane, "master-typed")
            await asyncio.sleep(0.3)
            assert "master-typed" not in viewer.text(pane)
            # A history row asked for by its number lands at the top of the view.
            history = web.proc.capture(pane, scrollback=True).split("\n")
            await viewer.send({"t": "scroll", "p": pane, "row": 42})
            await async_wait_for(lambda: viewer.text(pane).split("\n")[0] == history[42].rstrip(), 10,
                                 message=lambda: f"top row {viewer.text(pane).splitlines()[:1]}, want {history[42]!r}")
            await viewer.send({"t": "scroll", "p": pane, "to": "bottom"})
            await viewer.wait_text(pane, "master-typed")
    run(scenario())


def test_frames_carry_title_bell_notifications_clipboard_progress(web: WebServer) -> None:
    async def scenario() -> None:
        async with client(web) as c:
            pane = await first_pane(c)
            await c.type(pane, "printf '\\e]0;my-title\\a\\a\\e]9;build done\\a\\e]777;notify;T;B\\a"
                               "\\e]52;c;aMOpbGzDtiDml6XmnKw=\\a\\e]9;4;1;42\\a'")
            deadline = time.monotonic() + 10
            fields = c.replica.panes[pane].fields
            def arrived() -> bool:
                return bool(fields.get("title") == "my-title" and c.replica.clipboard and fields.get("progress")
                            and len(c.replica.notifications) >= 2)
            while time.monotonic() < deadline and not arrived():
                await asyncio.sleep(0.02)
            assert fields["title"] == "my-title"
            assert c.replica.bells.get(pane, 0) >= 1
            assert [n[1:] for n in c.replica.notifications] == [["", "build done"], ["T", "B"]]
            assert c.replica.clipboard[-1][1:] == ["c", "héllö 日本"]
            assert fields["progress"] == [1, 42]
        # A client connecting later does not get old notifications replayed.
        async with client(web) as late:
            await first_pane(late)
            await asyncio.sleep(0.2)
            assert late.replica.notifications == [] and late.replica.clipboard == []
    run(scenario())


def test_large_paste_in_chunks_arrives_intact(web: WebServer, tmp_path: Path) -> None:
    target = tmp_path / "pasted.txt"
    text = "".join(f"{i:07d} héllo wörld 日本語 👍 {'x' * (i % 90)}\n" for i in range(14000))
    assert len(text.encode()) > 1 << 20

    async def scenario() -> None:
        async with client(web) as c:
            pane = await first_pane(c)
            await c.type(pane, f"stty -echo; cat > {target}")
            await asyncio.sleep(0.3)
            chunk = 200_000
            for i in range(0, len(text), chunk):
                await c.send({"t": "paste", "p": pane, "d": text[i:i + chunk], "more": i + chunk < len(text)})
            wait_for(lambda: target.exists() and target.stat().st_size >= len(text.encode()), 30)
            await c.send({"t": "key", "p": pane, "code": "KeyD", "key": "d", "m": 2})
    run(scenario())
    assert target.read_text() == text


# -- bad input and limits ----------------------------------------------------------------------------------
def test_bad_messages_get_errors_and_the_connection_survives(web: WebServer) -> None:
    bad = ["not json", "[1,2]", '{"t": 5}', '{"t": "nope"}', '{"t": "key", "p": "x"}',
           '{"t": "key", "p": 1, "code": "' + "K" * 100 + '"}',
           '{"t": "cmd", "c": "resize-window", "a": {"cols": 0, "rows": 5}}',
           '{"t": "cmd", "c": "resize-window", "a": {"cols": 10, "rows": 100000}}', '{"t": "ack", "f": 99999}',
           '{"t": "key", "p": 99999}', '{"t": "cmd", "c": "no-such-command"}', '{"t": "cmd", "c": "quit"}',
           '{"t": "text", "p": 1, "d": 5}', '{"t": "mouse", "p": 1, "a": "press", "b": 9, "x": 1, "y": 1}',
           '{"t": "cmd", "c": "set-split-sizes", "a": {"path": [0], "sizes": [1e400, 2]}}', '{"t": "hello", "v": 1}',
           '{"t": "key", "extra": 1}', '{"t": "cmd", "c": "layout", "a": {"tree": {"row": ["pane"]}}}',
           '{"t": "scroll", "p": 1, "to": "sideways"}', '{"t": "ping", "id": -1}', "{" * 5000]

    async def scenario() -> None:
        async with client(web) as c:
            pane = await first_pane(c)
            assert c.ws is not None
            for text in bad:
                await c.ws.send_str(text)
            await c.ws.send_bytes(b"\x00\x01binary")
            deadline = time.monotonic() + 10
            while len([m for m in c.messages if m["t"] == "error"]) < len(bad) + 1 and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            errors = [m for m in c.messages if m["t"] == "error"]
            assert len(errors) == len(bad) + 1
            assert {"bad_json", "bad_message", "unknown_type", "bad_field", "bad_ack", "failed", "bad_argument",
                    "unknown_command", "not_allowed",
                    "binary_not_supported"} <= {e["code"] for e in errors}
            await c.type(pane, "echo still-alive")
            await c.wait_text(pane, "still-alive")
    run(scenario())
    assert web.status()["clients"] == 0


def test_message_rate_is_limited_without_dropping_the_client(server: Any, tmp_path: Path) -> None:
    web = start_web(server, tmp_path, False, config={"max_messages_per_second": 50})

    async def scenario() -> None:
        async with client(web) as c:
            pane = await first_pane(c)
            for _ in range(250):   # 100 fit the burst, the rest are refused (but not so many as to be abuse)
                await c.send({"t": "scroll", "p": pane, "delta": 0})
            await c.wait_message("error", code="rate_limited")
            # Pings and acks are never refused, however fast they come (the protocol depends on them).
            for i in range(300):
                await c.send({"t": "ping", "id": i})
            await c.wait_message("pong", id=299)
            assert len([m for m in c.messages if m["t"] == "pong"]) == 300
            await asyncio.sleep(1.5)
            await c.type(pane, "echo after-flood")
            await c.wait_text(pane, "after-flood")
        assert web.disconnects().get("abuse", 0) == 0
    run(scenario())


def test_a_client_flooding_far_beyond_any_browser_is_closed_as_abuse(server: Any, tmp_path: Path) -> None:
    web = start_web(server, tmp_path, False, config={"max_messages_per_second": 50})

    async def scenario() -> None:
        async with client(web) as c:
            pane = await first_pane(c)
            assert c.ws is not None
            for _ in range(2000):
                if c.closed is not None:
                    break
                await c.ws.send_str(json.dumps({"t": "scroll", "p": pane, "delta": 0}))
            await async_wait_for(lambda: c.closed is not None, 10)
        async with client(web) as fine:          # everyone else is unaffected
            await first_pane(fine)
    run(scenario())
    wait_reason(web, "abuse")
    assert any("refused messages per second" in line for line in disconnect_lines(web, "abuse"))


def test_connection_limit_and_header_limit(server: Any, tmp_path: Path) -> None:
    web = start_web(server, tmp_path, False, config={"max_connections": 2})

    async def scenario() -> None:
        async with client(web), client(web):
            third = raw(web)
            assert third.status == 503
        big = await http_get(web, "/", {"X-Big": "a" * 40_000})
        assert big.status in (400, 431)
    run(scenario())
    wait_reason(web, "too_many_connections")
    assert web.status()["pid"] == web.proc.pid


# -- disconnects: every path has its reason ------------------------------------------------------------
def test_client_close_is_logged_with_its_code(fast_web: WebServer) -> None:
    async def scenario() -> None:
        c = client(fast_web)
        await c.connect()
        await first_pane(c)
        await c.close(code=4000)
    run(scenario())
    wait_reason(fast_web, "client_close")
    line = disconnect_lines(fast_web, "client_close")[0]
    assert "code=4000" in line
    for field in ("duration_s=", "bytes_in=", "bytes_out=", "msgs_in=", "msgs_out=", "frames_out=", "rtt_ms=",
                  "in_flight=", "congested=", "tls="):
        assert field in line
    assert ("tls=TLSv1." in line) == fast_web.tls


def test_eof_without_close_frame(fast_web: WebServer) -> None:
    ws = raw(fast_web)
    raw_hello(ws)
    ws.close_socket()
    wait_reason(fast_web, "eof_without_close")
    line = disconnect_lines(fast_web, "eof_without_close")[0]
    assert ("tls=TLSv1." in line) == fast_web.tls


def test_peer_reset(fast_web: WebServer) -> None:
    ws = raw(fast_web)
    raw_hello(ws)
    time.sleep(0.1)
    ws.reset()
    wait_reason(fast_web, "peer_reset")


def test_hello_timeout(fast_web: WebServer) -> None:
    ws = raw(fast_web)
    assert ws.status == 101
    wait_reason(fast_web, "hello_timeout", timeout=10)
    ws.close_socket()


def test_ping_timeout_when_the_peer_goes_silent(fast_web: WebServer) -> None:
    ws = raw(fast_web)
    raw_hello(ws)
    # The raw client never answers pings (a laptop that went to sleep): dropped within ping interval + timeout.
    wait_reason(fast_web, "ping_timeout", timeout=15)
    line = disconnect_lines(fast_web, "ping_timeout")[0]
    assert "no reply to a ping" in line
    ws.close_socket()


def test_oversized_message_is_a_size_violation(fast_web: WebServer) -> None:
    ws = raw(fast_web)
    raw_hello(ws)
    try:
        ws.send_frame(0x1, b'"' + b"x" * (2 << 20) + b'"')
    except (ConnectionError, ssl.SSLError):
        pass   # the server may refuse and close before the whole message is written (SSLEOFError over TLS)
    wait_reason(fast_web, "size_violation")
    assert "code=1009" in disconnect_lines(fast_web, "size_violation")[0]
    ws.close_socket()


def test_invalid_frame_is_a_protocol_violation(fast_web: WebServer) -> None:
    ws = raw(fast_web)
    raw_hello(ws)
    ws.send_frame(0x3, b"reserved opcode")
    wait_reason(fast_web, "protocol_violation")
    assert "code=1002" in disconnect_lines(fast_web, "protocol_violation")[0]
    ws.close_socket()


def test_tls_error_carries_openssl_reason(server: Any, tmp_path: Path) -> None:
    web = start_web(server, tmp_path, True, config=FAST)
    ws = raw(web)
    raw_hello(ws)
    ws.send_raw(b"\x17\x03\x03\x00\x20" + b"\x00" * 32)   # a forged record: fails authentication
    wait_reason(web, "tls_error")
    line = disconnect_lines(web, "tls_error")[0]
    assert re.search(r"detail='?SSL: [A-Z_]+", line), line
    ws.close_socket()


def test_server_shutdown_and_token_rotation_close_clients_with_reasons(web: WebServer) -> None:
    async def scenario() -> tuple[Any, Any]:
        a = client(web)
        await a.connect()
        await first_pane(a)
        web.proc.call("token", rotate=True)
        deadline = time.monotonic() + 10
        while a.closed is None and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        first = a.closed
        await a.close()
        b = client(web)           # the new master token works, the old cookie/token does not
        await b.connect()
        await first_pane(b)
        web.proc.cli("quit")
        deadline = time.monotonic() + 10
        while b.closed is None and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        second = b.closed
        await b.close()
        return first, second
    log_before = web.proc.logfile
    first, second = run(scenario())
    assert first is not None and first[1] == 4001
    assert second is not None and second[1] == 1001
    log = log_before.read_text()
    assert "reason=signed_out" in log
    assert "reason=server_shutdown" in log


def test_status_and_clients_report_live_connections(fast_web: WebServer) -> None:
    async def scenario() -> None:
        async with client(fast_web) as c, client(fast_web, fast_web.view):
            await first_pane(c)
            await asyncio.sleep(2.5)   # one keepalive round: the server measures the RTT from the pong
            clients = fast_web.proc.call("clients")
            assert {x["role"] for x in clients} == {"master", "view"}
            for x in clients:
                assert x["tls"] == fast_web.tls
                assert x["nodelay"] is True
                assert x["address"].startswith("127.0.0.1:")
                assert x["rtt_ms"] is not None and x["rtt_ms"] >= 0
                assert x["bytes_out"] > 0 and x["frames_out"] >= 1
                assert x["in_flight"] >= 0 and x["congested"] in (True, False)
            text = fast_web.proc.cli("clients")
            assert text.returncode == 0 and "master" in text.stdout and "view" in text.stdout
    run(scenario())
    wait_reason(fast_web, "client_close", 2)
    assert "unknown" not in fast_web.disconnects()
    assert "disconnects" in fast_web.proc.cli("status").stdout


def test_layout_changes_that_only_move_panes_reach_clients(web: WebServer) -> None:
    async def scenario() -> None:
        async with client(web) as c:
            await first_pane(c)
            await c.send({"t": "cmd", "c": "layout", "a": {"layout": "2-col"}})
            deadline = time.monotonic() + 10
            while len(c.pane_ids()) != 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            await c.send({"t": "cmd", "c": "layout", "a": {"layout": "single"}})
            while len(c.pane_ids()) != 1 and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            window = c.replica.layout["windows"][0]
            shown, hidden = window["slots"][0], window["hidden"][0]
            await c.send({"t": "cmd", "c": "show-pane", "a": {"pane": hidden, "slot": 0}})   # only who is in slot 0
            while c.pane_ids() != [hidden] and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            assert c.pane_ids() == [hidden]
            assert c.replica.layout["windows"][0]["hidden"] == [shown]
    run(scenario())


def test_modifier_keys_do_not_end_a_scrolled_back_view(web: WebServer) -> None:
    async def scenario() -> None:
        async with client(web) as c:
            pane = await first_pane(c)
            await c.type(pane, "seq 1 200; echo SCROLL-READY")
            await c.wait_text(pane, "\nSCROLL-READY")
            await c.send({"t": "scroll", "p": pane, "delta": -50})
            deadline = time.monotonic() + 10
            fields = c.replica.panes[pane].fields
            while fields.get("offset") != 50 and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            await c.send({"t": "key", "p": pane, "code": "ShiftLeft", "key": "Shift", "m": 1})
            await c.send({"t": "key", "p": pane, "code": "ShiftLeft", "key": "Shift", "a": "release"})
            await c.send({"t": "ping", "id": 77})
            await c.wait_message("pong", id=77)
            await asyncio.sleep(0.2)
            assert fields["offset"] == 50
            await c.type(pane, "x", enter=False)           # a key that types returns to the live screen
            while fields.get("offset") != 0 and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            assert fields["offset"] == 0
    run(scenario())

"""Reconnects that keep the session (issue: client core): resume, the kept master role, keepalive cadence.

Real server subprocesses over real sockets, plain and TLS; scripted clients (aiohttp + the reference
replica) and raw RFC 6455 sockets for the exact network events (a reset, a socket that goes silent).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import statistics
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from helpers import async_wait_for, run
from web_support import WebServer, client, disconnect_lines, first_pane, raw, raw_hello, start_web, wait_reason
from wsclient import Client


@pytest.fixture(params=[False, True], ids=["plain", "tls"])
def tls(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture
def web(server: Any, tmp_path: Path, tls: bool) -> WebServer:
    return start_web(server, tmp_path, tls, config={"master_grace": 60})


async def scroll_to(c: Client, pane: int, delta: int) -> int:
    await c.send({"t": "scroll", "p": pane, "delta": delta})
    await async_wait_for(lambda: c.replica.panes[pane].fields.get("offset", 0) > 0, 10,
                         message=lambda: f"offset {c.replica.panes[pane].fields}")
    return int(c.replica.panes[pane].fields["offset"])


def test_a_reconnecting_page_supersedes_its_old_connection_and_keeps_role_and_scroll(web: WebServer) -> None:
    """The laptop case: the page notices a dead socket before the server does and comes back at once."""
    async def scenario() -> None:
        async with client(web) as old, client(web) as other:
            assert old.hello["role"] == "master" and other.hello["role"] == "view"
            secret = old.hello["resume"]
            assert isinstance(secret, str) and len(secret) >= 22 and secret not in (web.master, web.view)
            pane = await first_pane(old)
            await old.type(pane, "seq 1 200")
            await async_wait_for(lambda: old.replica.panes[pane].fields.get("sb", 0) > 100, 10)
            offset = await scroll_to(old, pane, -30)
            async with client(web, resume=secret) as new:        # the old socket is still open here
                assert new.hello["role"] == "master" and new.hello["resume"] == secret
                await async_wait_for(lambda: old.closed is not None, 10)
                assert old.closed is not None and old.closed[1] == 4002
                await first_pane(new)
                await async_wait_for(lambda: new.replica.panes[pane].fields.get("offset") == offset, 10,
                                     message=lambda: str(new.replica.panes[pane].fields))
                await async_wait_for(lambda: any(m["t"] == "role" and m["master"] == new.hello["client"]
                                                 for m in other.messages), 10)
                assert not any(m["t"] == "role" and m["role"] == "master" for m in other.messages)
                await new.send({"t": "scroll", "p": pane, "to": "bottom"})
                await new.type(pane, "echo typed-after-resume")
                await new.wait_text(pane, "typed-after-resume")
    run(scenario())
    wait_reason(web, "superseded")
    lines = disconnect_lines(web, "superseded")
    assert len(lines) == 1 and "detail='the same page reconnected" in lines[0]
    secret_free = web.proc.log_text()
    assert "resume=" not in secret_free


def test_a_view_token_cannot_use_a_master_pages_secret(web: WebServer) -> None:
    async def scenario() -> None:
        async with client(web) as master, client(web, web.view, resume=master.hello["resume"]) as thief:
            assert thief.hello["role"] == "view" and thief.hello["resume"] != master.hello["resume"]
            await asyncio.sleep(0.3)
            assert master.closed is None
            await master.send({"t": "ping", "id": 1})
            await master.wait_message("pong", id=1)
    run(scenario())
    assert web.disconnects().get("superseded", 0) == 0


def test_a_vanished_master_keeps_its_role_until_it_returns(web: WebServer) -> None:
    async def scenario() -> None:
        gone = raw(web)
        hello = raw_hello(gone)
        assert hello["role"] == "master"
        gone.reset()                                             # the network dropped it: a TCP reset
        wait_reason(web, "peer_reset")
        async with client(web) as newcomer:                      # another browser does not just take it
            assert newcomer.hello["role"] == "view" and newcomer.hello["master"] is None
            back = raw(web)
            back_hello = raw_hello(back, resume=hello["resume"])
            assert back_hello["role"] == "master" and back_hello["resume"] == hello["resume"]
            await newcomer.wait_message("role", role="view", master=back_hello["client"])
            back.close_socket()
    run(scenario())


def test_the_kept_role_goes_back_to_the_previous_master_when_its_grace_ends(server: Any, tmp_path: Path) -> None:
    web = start_web(server, tmp_path, False, config={"master_grace": 2})

    async def scenario() -> None:
        async with client(web) as first:
            assert first.hello["role"] == "master"
            second = raw(web)
            assert raw_hello(second)["role"] == "view"
            second.send_text({"t": "request_master"})
            await first.wait_message("role", role="view")
            second.reset()
            wait_reason(web, "peer_reset")
            await first.wait_message("role", role="master", timeout=15)
    run(scenario())


def test_pings_go_out_on_a_fixed_cadence_and_a_silent_peer_is_dropped(server: Any, tmp_path: Path) -> None:
    """Pings every second whatever the replies do (the old loop waited the whole timeout after each one),
    and a socket that stops answering is dropped within interval + timeout."""
    web = start_web(server, tmp_path, False, config={"ping_interval": 1, "ping_timeout": 6})
    ws = raw(web)
    raw_hello(ws)
    pings: list[float] = []
    deadline = time.monotonic() + 30
    while len(pings) < 6 and time.monotonic() < deadline:
        opcode, data = ws.recv_frame()
        if opcode == 0x9:
            pings.append(time.monotonic())
            ws.send_frame(0xA, data)
    gaps = [b - a for a, b in itertools.pairwise(pings)]
    assert len(pings) == 6 and statistics.median(gaps) < 3.5, gaps
    silent_since = time.monotonic()
    wait_reason(web, "ping_timeout", timeout=30)
    assert time.monotonic() - silent_since < 1 + 6 + 10      # the documented bound, with room for a busy machine
    ws.close_socket()


def test_a_close_frame_sent_while_the_server_was_stopped_is_seen_at_once(server: Any, tmp_path: Path) -> None:
    """SIGSTOP the server, send a close frame, SIGCONT: the disconnect is logged right away, not a ping
    timeout later (a Python 3.11 asyncio.wait_for race used to swallow the keepalive's cancellation)."""
    web = start_web(server, tmp_path, False, config={"ping_interval": 2, "ping_timeout": 60})
    ws = raw(web)
    raw_hello(ws)
    os.kill(web.proc.pid, signal.SIGSTOP)
    try:
        time.sleep(5)                                            # longer than a ping interval: timers overdue
        ws.send_frame(0x8, (1000).to_bytes(2, "big"))
    finally:
        os.kill(web.proc.pid, signal.SIGCONT)
    resumed = time.monotonic()
    wait_reason(web, "client_close", timeout=30)
    assert time.monotonic() - resumed < 15, "the close frame waited for a ping timeout"
    ws.close_socket()


def test_a_client_loop_that_dies_closes_its_connection_with_a_reason(isolated_xdg: dict[str, str],
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug in the sender must not leave a connection that looks healthy and never gets frames."""
    import io

    from dullahan.config import Settings
    from dullahan.hub import SyncHub
    from dullahan.log import log
    from dullahan.net.web import WebServer
    from dullahan.session.session import Session
    from dullahan.tokens import Tokens
    from dullahan.wire.registry import Registry
    from helpers import free_port

    out = io.StringIO()
    monkeypatch.setattr(log, "_out", out)

    async def scenario() -> None:
        settings = Settings(port=free_port(), shell=["bash", "--noprofile", "--norc"])
        session = Session(settings, asyncio.get_running_loop())
        session.new_window("single", 80, 24)
        hub = SyncHub(session, Registry(settings.master_grace))
        tokens = Tokens.generate()
        host = SimpleNamespace(settings=settings, session=session, restart_notice=None)  # what a connection needs of it
        web = WebServer(settings, tokens, session, hub, host)  # type: ignore[arg-type]
        await web.start()
        try:
            async with Client(f"http://127.0.0.1:{settings.port}/", token=tokens.master) as c:
                pane = await first_pane(c)

                def broken() -> None:
                    raise ZeroDivisionError("injected bug in the frame path")
                monkeypatch.setattr(hub, "begin_frame", broken)
                await c.type(pane, "echo x")
                await async_wait_for(lambda: c.closed is not None, 10)
            await async_wait_for(lambda: web.disconnects.get("server_error", 0) == 1, 10)
        finally:
            await web.close()
            await session.shutdown()
    run(scenario())
    text = out.getvalue()
    assert "client task failed client=" in text and "task=sender" in text
    assert "reason=server_error" in text and "ZeroDivisionError" in text


def test_the_masters_sender_is_woken_first_whatever_order_clients_came_in(isolated_xdg: dict[str, str]) -> None:
    """A master that reconnected after its viewers is last among the connections; its echo must still not
    wait behind their frames."""
    from dullahan.config import Settings
    from dullahan.hub import SyncHub
    from dullahan.session.session import Session
    from dullahan.wire.peer import Peer, PeerLimits
    from dullahan.wire.registry import Registry

    async def scenario() -> None:
        settings = Settings(shell=["bash", "--noprofile", "--norc"])
        session = Session(settings, asyncio.get_running_loop())
        try:
            pane = session.pane(session.new_window("single", 80, 24).slots[0])
            hub = SyncHub(session, Registry(settings.master_grace))
            woken: list[int] = []
            for pid, can_master in ((1, False), (2, False), (3, True)):   # the master connects last
                peer = Peer(pid, can_master, PeerLimits(), 0.0)
                hub.attach(peer, None, 0.0, lambda pid=pid: woken.append(pid), lambda close: None)
            assert hub.registry.master is not None and hub.registry.master.id == 3
            woken.clear()
            hub.pane_output(pane)
            assert woken[0] == 3 and sorted(set(woken)) == [1, 2, 3]
        finally:
            await session.shutdown()
    run(scenario())

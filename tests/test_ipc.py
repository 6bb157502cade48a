"""The control socket: misbehaving peers, malformed requests, and large sends."""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dullahan.ipc.client import NoServer, call
from dullahan.ipc.protocol import MAX_LINE, MAX_TEXT, RequestError
from helpers import (
    ServerProc,
    StartServer,
    capture_until,
    free_port,
    ipc_connect,
    ipc_exchange,
    make_env,
    recv_line,
)


def still_connected(sock: socket.socket) -> bool:
    """True when the peer has neither closed the connection nor sent anything."""
    timeout = sock.gettimeout()
    sock.setblocking(False)
    try:
        sock.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        sock.settimeout(timeout)
    return False


# -- peers that misbehave ----------------------------------------------------------------------------------
def test_silent_and_broken_peers_do_not_stall_other_commands(server: StartServer) -> None:
    srv = server()
    silent = ipc_connect(srv.socket)
    half = ipc_connect(srv.socket)
    half.sendall(b'{"cmd": "sta')
    garbage = ipc_connect(srv.socket)
    garbage.sendall(b"\x00\xff garbage }{\n")
    huge = ipc_connect(srv.socket)
    send_errors: list[OSError] = []

    def flood() -> None:
        try:
            huge.sendall(b"x" * (MAX_LINE + (512 << 10)))
        except OSError as e:   # the server may close before we finish; that is fine
            send_errors.append(e)
    flooder = threading.Thread(target=flood)
    flooder.start()
    try:
        # Other commands are answered while those peers hang around.
        status = srv.call("status", timeout=4)
        assert status["pid"] == srv.pid
        assert still_connected(silent), "the silent peer was dropped before status answered"
        assert still_connected(half)
        assert srv.cli("panes", timeout=4).returncode == 0
        assert still_connected(silent)

        reply = json.loads(recv_line(garbage))
        assert reply["ok"] is False and "not valid JSON" in reply["error"]
        # A bad request does not end the connection: the same peer can still ask.
        garbage.sendall(b'{"cmd": "status"}\n')
        assert json.loads(recv_line(garbage))["ok"] is True

        flooder.join(20)
        assert not flooder.is_alive()
        reply = json.loads(recv_line(huge))
        assert reply["ok"] is False and "larger than" in reply["error"]

        # Silent peers are dropped after the read timeout, with a reason.
        silent.settimeout(15)
        half.settimeout(15)
        dropped = json.loads(recv_line(silent))
        assert dropped["ok"] is False and "no request within" in dropped["error"]
        assert recv_line(silent) == b""
        assert json.loads(recv_line(half))["ok"] is False
        assert recv_line(half) == b""
    finally:
        for sock in (silent, half, garbage, huge):
            sock.close()
        flooder.join(5)
    assert srv.call("status")["pid"] == srv.pid
    srv.send(1, "echo healthy-$((9*9))")
    capture_until(srv, 1, "healthy-81")


def test_connections_over_the_cap_make_room_by_closing_the_longest_idle(server: StartServer) -> None:
    """More idle peers than the cap (32): each newcomer closes the one that has waited longest, with a reply
    saying so; the newest 32 stay connected and commands are still answered."""
    srv = server()
    idle = [ipc_connect(srv.socket, timeout=4) for _ in range(40)]
    try:
        dropped = [json.loads(recv_line(sock)) for sock in idle[:8]]
        assert all(r["ok"] is False and "make room" in r["error"] for r in dropped), dropped
        assert all(still_connected(sock) for sock in idle[9:])
        assert srv.request("status", timeout=4)["ok"] is True
    finally:
        for sock in idle:
            sock.close()


def test_the_owners_cli_works_while_others_hold_the_socket(server: StartServer, isolated_xdg: dict[str, str]) -> None:
    """200 silent control connections (a stuck script) must not lock the user out of their server."""
    srv = server()
    holders: list[socket.socket] = []
    try:
        while len(holders) < 200:
            try:
                holders.append(ipc_connect(srv.socket, timeout=4))
            except BlockingIOError:   # the listen backlog is full until the server accepts: try again
                time.sleep(0.01)
        assert call(srv.port, "status", timeout=4)["pid"] == srv.pid
        result = srv.cli("status", timeout=30)
        assert result.returncode == 0, result.stderr
        assert f"pid {srv.pid}" in result.stdout
        panes = srv.cli("panes", timeout=30)
        assert panes.returncode == 0 and panes.stdout.startswith("1 "), panes
    finally:
        for sock in holders:
            sock.close()
    assert "ERROR" not in srv.log_text()


def test_huge_numbers_get_a_clear_error(server: StartServer) -> None:
    srv = server()
    for cmd, args in (("kill-pane", {"pane": "1" * 5000}), ("capture", {"pane": "9" * 30}),
                      ("resize-window", {"cols": "1" * 5000, "rows": 30}), ("send", {"pane": -1, "text": "x"})):
        reply = srv.request(cmd, **args)
        assert reply["ok"] is False, (cmd, reply)
        assert ("must be within" in reply["error"] or "must be an integer" in reply["error"]), reply
        assert "internal error" not in reply["error"], reply
        assert len(reply["error"]) < 200, reply
    result = srv.cli("kill-pane", "1" * 5000)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()[-1]) < 200, result.stderr
    result = srv.cli("resize-window", "1" * 5000, "30")
    assert result.returncode == 2 and len(result.stderr.splitlines()[-1]) < 200
    assert srv.call("status")["errors_logged"] == 0
    assert "ERROR" not in srv.log_text()
    assert len(srv.panes()) == 1


def test_pipelined_requests_on_one_connection(server: StartServer) -> None:
    srv = server()
    with ipc_connect(srv.socket) as sock, sock.makefile("rb") as replies_file:
        sock.sendall(b'{"cmd": "status"}\nnot json\n{"cmd": "panes"}\n')
        replies = [json.loads(replies_file.readline()) for _ in range(3)]
    assert [r["ok"] for r in replies] == [True, False, True]
    assert replies[2]["result"][0]["id"] == 1


# -- malformed requests --------------------------------------------------------------------------------------
def req(cmd: str, **args: Any) -> bytes:
    return json.dumps({"cmd": cmd, "args": args}).encode() + b"\n"


MALFORMED: dict[str, bytes] = {
    "not-json": b"not json\n",
    "invalid-utf8": b"\xff\xfe\n",
    "trailing-garbage": b'{"cmd": "status"} trailing\n',
    "json-array": b"[1, 2]\n",
    "json-string": b'"status"\n',
    "missing-cmd": b'{"args": {}}\n',
    "cmd-not-string": b'{"cmd": 5}\n',
    "cmd-empty": b'{"cmd": ""}\n',
    "cmd-too-long": req("x" * 100),
    "unknown-cmd": req("nosuch"),
    "args-not-object": b'{"cmd": "status", "args": [1]}\n',
    "unknown-field": b'{"cmd": "status", "extra": 1}\n',
    "unknown-arg": req("status", bogus=1),
    "pane-string": req("capture", pane="x"),
    "pane-negative": req("capture", pane=-1),
    "pane-zero": req("kill-pane", pane=0),
    "pane-huge": req("capture", pane=2**70),
    "pane-float": req("capture", pane=1.5),
    "pane-bool": req("capture", pane=True),
    "pane-null": req("capture", pane=None),
    "pane-list": req("capture", pane=[1]),
    "pane-missing": req("capture"),
    "pane-nan": b'{"cmd": "capture", "args": {"pane": NaN}}\n',
    "pane-inf": b'{"cmd": "capture", "args": {"pane": 1e400}}\n',
    "pane-unknown": req("kill-pane", pane=999),
    "text-int": req("send", pane=1, text=123),
    "text-list": req("send", pane=1, text=["a"]),
    "text-missing": req("send", pane=1),
    "enter-string": req("send", pane=1, text="x", enter="yes"),
    "scrollback-int": req("capture", pane=1, scrollback=1),
    "cols-negative": req("resize-window", cols=-5, rows=10),
    "rows-huge": req("resize-window", cols=10, rows=10**100),
    "window-unknown": req("select-window", window=77),
    "layout-int": req("new-window", layout=123),
    "layout-too-long": req("layout", layout="x" * 1000),
    "layout-unknown": req("layout", layout="nosuch"),
    "spec-int": req("debug-log", spec=5),
    "spec-unknown": req("debug-log", spec="+nosuch"),
    "respawn-running": req("respawn", pane=1),
    "deeply-nested": b"[" * 100_000 + b"\n",
    "int-too-many-digits": b'{"cmd": "capture", "args": {"pane": ' + b"9" * 5000 + b"}}\n",
}


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProc]:
    """One server for the batch of malformed requests (each is cheap; a server per case is not)."""
    base = tmp_path_factory.mktemp("ipc")
    srv = ServerProc(free_port(), make_env(base), base)
    try:
        srv.start_detached()
        yield srv
    finally:
        srv.stop()


@pytest.mark.parametrize("payload", list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_request_gets_error_reply(shared_server: ServerProc, payload: bytes) -> None:
    reply = ipc_exchange(shared_server.socket, payload)
    assert reply["ok"] is False
    assert isinstance(reply["error"], str) and reply["error"]
    assert "internal error" not in reply["error"]
    assert shared_server.call("status")["pid"] == shared_server.pid


def test_server_healthy_after_malformed_batch(shared_server: ServerProc) -> None:
    """Runs after the batch above (same module server): nothing changed, nothing crashed."""
    status = shared_server.call("status")
    assert status["windows"] == 1 and status["panes"] == 1
    assert status["debug"] == []
    panes = shared_server.panes()
    assert len(panes) == 1 and panes[0]["running"] and panes[0]["cols"] == 80
    log = shared_server.log_text()
    assert "Traceback" not in log and "Unhandled exception" not in log, log[-3000:]
    shared_server.send(1, "echo fine-$((2*2))")
    capture_until(shared_server, 1, "fine-4")


# -- the Python client ----------------------------------------------------------------------------------------
def test_python_client_call(server: StartServer, isolated_xdg: dict[str, str]) -> None:
    srv = server()
    assert call(srv.port, "status")["pid"] == srv.pid
    with pytest.raises(RequestError, match="no pane 999"):
        call(srv.port, "capture", {"pane": 999})
    other = free_port()
    with pytest.raises(NoServer, match=f"dullahan serve -d --port {other}"):
        call(other, "status")


# -- large sends ------------------------------------------------------------------------------------------------
def send_text(chars: int) -> str:
    """``chars`` characters, mostly ASCII with some é/日本/emoji, a newline at least every 200."""
    rnd = random.Random(7)
    pieces = ["é", "日本", "😀", "abc", "hello world", "0123456789" * 3, "-_=+", "{}"]
    weights = [1, 1, 1, 10, 10, 10, 5, 5]
    out: list[str] = []
    n = line = 0
    while n < chars:
        if line >= rnd.randint(20, 190):
            piece, line = "\n", 0
        else:
            piece = rnd.choices(pieces, weights)[0]
            line += len(piece)
        out.append(piece)
        n += len(piece)
    text = "".join(out)[:chars - 1] + "\n"
    assert len(text) == chars
    return text


def start_sink(srv: ServerProc, out: Path, nbytes: int) -> None:
    """Make pane 1 store the next ``nbytes`` bytes of input in ``out`` (no echo), then print SINK-DONE."""
    srv.send(1, f"stty -echo; printf 'READ%s\\n' Y; head -c {nbytes} > {out}; stty echo; echo SINK-$((0))-DONE")
    capture_until(srv, 1, lambda t: "READY" in t.splitlines())


def test_send_at_the_text_cap_arrives_intact(server: StartServer, tmp_path: Path) -> None:
    srv = server()
    text = send_text(MAX_TEXT)
    data = text.encode()
    out = tmp_path / "sent.out"
    start_sink(srv, out, len(data))
    result = srv.call("send", pane=1, text=text, timeout=30)
    assert result["bytes"] == len(data)
    capture_until(srv, 1, "SINK-0-DONE", timeout=60)
    got = out.read_bytes()
    assert len(got) == len(data)
    assert got == data


def test_send_over_the_text_cap_is_refused(server: StartServer) -> None:
    srv = server()
    before = srv.pane(1)["bytes_in"]
    reply = srv.request("send", pane=1, text="y" * (MAX_TEXT + 1), timeout=30)
    assert reply["ok"] is False
    assert "too long" in reply["error"] and str(MAX_TEXT) in reply["error"]
    assert srv.pane(1)["bytes_in"] == before
    srv.send(1, "echo ok-$((1+2))")
    capture_until(srv, 1, "ok-3")


def test_large_send_through_the_cli(server: StartServer, tmp_path: Path) -> None:
    """A 100 kB argument (the kernel caps one argv string at 128 KiB) goes through ``dullahan send``."""
    srv = server()
    text = send_text(100_000)
    data = text.encode()
    out = tmp_path / "cli.out"
    start_sink(srv, out, len(data))
    result = srv.cli("send", "1", text)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    capture_until(srv, 1, "SINK-0-DONE", timeout=30)
    assert out.read_bytes() == data

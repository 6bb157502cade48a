"""A server's life: start, stale files of a crashed server, two servers side by side, shutdown and reaping."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from helpers import (
    ServerProc,
    StartServer,
    capture_until,
    pane_ended_lines,
    pid_gone,
    pid_running,
    run_cli,
    wait_for,
)


def runtime_files(srv: ServerProc) -> list[Path]:
    return [srv.socket, srv.pidfile]


def make_stubborn(srv: ServerProc, pane: int) -> None:
    """Make a pane's shell ignore SIGHUP and SIGTERM, and wait until it has."""
    srv.send(pane, "trap '' HUP TERM; echo TRAPPED-$((1+1))")
    capture_until(srv, pane, "TRAPPED-2")


def assert_all_reaped(srv: ServerProc, panes: dict[int, int]) -> None:
    """Every pane process is gone, the server logged its end, and the runtime files are removed."""
    wait_for(lambda: all(pid_gone(pid) for pid in panes.values()), 3,
             message=lambda: f"still running: {[p for p in panes.values() if not pid_gone(p)]}")
    ended = pane_ended_lines(srv.log_text())
    assert set(ended) >= set(panes), f"no 'process ended' line for panes {set(panes) - set(ended)}"
    assert "child not reaped" not in srv.log_text()
    for path in runtime_files(srv):
        assert not path.exists(), f"{path} left behind"


def test_start_detached_prints_urls_and_log(server: StartServer) -> None:
    srv = server()
    assert srv.start_output is not None
    out = srv.start_output.stdout
    assert f"http://127.0.0.1:{srv.port}/" in out
    assert "master: " in out and "view: " in out
    assert str(srv.logfile) in out
    assert srv.socket.exists() and srv.pidfile.exists()
    assert int(srv.pidfile.read_text()) == srv.pid
    status = srv.call("status")
    assert status["port"] == srv.port and status["windows"] == 1 and status["panes"] == 1


def test_quit_reaps_every_child_even_one_ignoring_hup_and_term(server: StartServer) -> None:
    srv = server()
    window = srv.call("new-window", layout="2x2")
    assert len(window["panes"]) == 4
    panes = {p["id"]: p["pid"] for p in srv.panes()}
    assert len(panes) == 5 and all(panes.values())
    stubborn = window["panes"][1]
    make_stubborn(srv, stubborn)

    result = srv.cli("quit")
    assert result.returncode == 0, result.stderr
    assert_all_reaped(srv, panes)
    srv.wait_exit(5)
    ended = pane_ended_lines(srv.log_text())
    assert "SIGKILL" in ended[stubborn], ended[stubborn]   # HUP and TERM were ignored
    assert "server: stopped" in srv.log_text()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_foreground_server_and_reaps(server: StartServer, sig: signal.Signals) -> None:
    srv = server(detach=False, args=("--layout", "2-col"))
    panes = {p["id"]: p["pid"] for p in srv.panes()}
    assert len(panes) == 2
    make_stubborn(srv, 2)
    os.kill(srv.pid, sig)
    assert srv.proc is not None
    assert srv.proc.wait(10) == 0, srv.stderr()
    assert_all_reaped(srv, panes)
    assert f"reason={sig.name}" in srv.log_text()


def test_quit_with_an_exited_pane_logs_no_error(server: StartServer) -> None:
    """A pane that ended (and was reaped) before quit must not be reported as 'not reaped'."""
    srv = server()
    srv.send(1, "exit 4")
    wait_for(lambda: not srv.pane(1)["running"], 10)
    errors_before = srv.call("status")["errors_logged"]
    assert srv.cli("quit").returncode == 0
    srv.wait_exit(5)
    assert "child not reaped" not in srv.log_text()
    assert " ERROR " not in srv.log_text(), srv.log_text()
    assert errors_before == 0


def test_two_servers_do_not_interfere(server: StartServer) -> None:
    a, b = server(), server()
    assert a.port != b.port
    for path in ("socket", "pidfile", "logfile", "tokens_file"):
        pa, pb = getattr(a, path), getattr(b, path)
        assert pa != pb and pa.exists() and pb.exists(), path
    assert a.tokens_file.read_text() != b.tokens_file.read_text()

    assert a.cli("send", "1", "echo from-$((1+0))-A", "--enter").returncode == 0
    assert b.cli("send", "1", "echo from-$((1+1))-B", "--enter").returncode == 0
    capture_until(a, 1, "from-1-A")
    capture_until(b, 1, "from-2-B")
    assert "from-2-B" not in a.cli("capture", "1").stdout
    assert "from-1-A" not in b.cli("capture", "1").stdout

    assert a.cli("quit").returncode == 0
    a.wait_exit(5)
    assert not a.socket.exists()
    status = b.cli("status", "--json")
    assert status.returncode == 0 and f'"port": {b.port}' in status.stdout
    assert b.socket.exists() and b.pidfile.exists()
    capture_until(b, 1, "from-2-B")


def test_restart_after_crash_cleans_stale_files(server: StartServer) -> None:
    first = server()
    pane_pids = [p["pid"] for p in first.panes()]
    os.kill(first.pid, signal.SIGKILL)
    first.wait_exit(5)
    first.stopped = True
    assert first.socket.exists() and first.pidfile.exists()   # what a crash leaves behind
    # The shell lives on in the keeper (tests/test_persist.py covers that in depth).
    assert all(pid_running(p) for p in pane_pids)

    second = server(port=first.port)
    assert second.pid != first.pid
    log = second.log_text()
    assert "removed a stale socket from a crashed server" in log
    assert int(second.pidfile.read_text()) == second.pid
    assert [p["pid"] for p in second.panes()] == pane_pids
    second.send(1, "echo alive-$((2*3))")
    capture_until(second, 1, "alive-6")


@pytest.mark.parametrize("detach", [True, False], ids=["detached", "foreground"])
def test_second_server_on_same_port_fails_clearly(server: StartServer, dullahan_env: dict[str, str],
                                                  detach: bool) -> None:
    srv = server()
    pid_text = srv.pidfile.read_text()
    args = ["serve", "--port", str(srv.port)] + (["-d"] if detach else [])
    result = run_cli(dullahan_env, *args)
    assert result.returncode == 1
    assert f"already running on port {srv.port}" in result.stderr
    # The running server is undisturbed.
    assert srv.pidfile.read_text() == pid_text
    assert srv.socket.exists()
    assert srv.call("status")["pid"] == srv.pid
    srv.send(1, "echo still-$((3+4))")
    capture_until(srv, 1, "still-7")

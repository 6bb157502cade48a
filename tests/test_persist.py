"""Sessions that survive, with real server, keeper and shell processes: ``dullahan restart`` (shells alive,
terminals exact, nothing lost), ``kill -9`` of the server (the keeper keeps the shells), the reboot case
(keeper and shells gone too: the saved state comes back with fresh shells), bad state files and a keeper fed
garbage."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
from pathlib import Path
from typing import Any

import pytest

from dullahan.persist import fdpass, state
from dullahan.term.vt import VTerm
from helpers import ServerProc, StartServer, capture_until, pid_gone, pid_running, wait_for

FAST_SAVES = {"state_save_interval": 0.5}


def write_config(srv_env: dict[str, str], settings: dict[str, Any]) -> Path:
    path = Path(srv_env["XDG_CONFIG_HOME"]) / "dullahan" / "config.json"
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_text(json.dumps(settings))
    return path


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def everything(srv: ServerProc) -> dict[str, Any]:
    """What must be identical across a restart: layout, panes (ids, pids, sizes, titles) and every screen with
    its scrollback, in plain text and with colours."""
    panes = srv.panes()
    return {
        "windows": srv.call("windows"),
        "panes": [{k: p[k] for k in ("id", "window", "slot", "cols", "rows", "pid", "running", "title")}
                  for p in panes],
        "screens": {p["id"]: srv.capture(p["id"], scrollback=True) for p in panes},
        "ansi": {p["id"]: srv.capture(p["id"], ansi=True) for p in panes},
    }


def quiet(srv: ServerProc, panes: list[int]) -> None:
    """Wait until the panes' screens stop changing (shells done printing their prompts)."""
    def stable() -> bool:
        first = [srv.capture(p, scrollback=True) for p in panes]
        return first == [srv.capture(p, scrollback=True) for p in panes]
    wait_for(stable, 10, interval=0.2)


# -- restart ---------------------------------------------------------------------------------------------------
def test_restart_keeps_shells_screens_scrollback_and_layout(server: StartServer) -> None:
    srv = server()
    window = srv.call("new-window", layout="main-2side")
    main, side1, side2 = window["panes"]
    srv.send(1, "seq 1 2500; echo SEQ-$((1+1))")
    srv.send(main, "printf '\\033]0;my title\\007\\033[1;31mred\\033[0m \\033[48;5;27mblue\\033[0m\\n'")
    srv.send(side1, "printf '\\033[?1049h\\033[2J\\033[4;3Hfull screen\\033[?2004h'; sleep 600")
    # An escape sequence cut in the middle: its end is printed after the restart.
    srv.send(side2, "printf 'A\\033[3'; read -rs; printf '1mRED\\033[0m\\n'")
    capture_until(srv, 1, "SEQ-2", scrollback=True)
    capture_until(srv, main, "blue")
    capture_until(srv, side1, "full screen")
    capture_until(srv, side2, "A")
    quiet(srv, [1, main, side1, side2])
    before = everything(srv)
    old_pid = srv.pid

    result = srv.restart()
    assert result.returncode == 0, result.stderr
    assert re.search(r"restarted in [\d.]+ s: pid \d+ → \d+", result.stdout), result.stdout
    assert srv.pid != old_pid
    wait_for(lambda: pid_gone(old_pid), 15, message="the old server did not exit")
    after = everything(srv)
    assert after == before
    status = srv.call("status")
    assert status["restart_notice"]["kind"] == "restart" and status["restart_notice"]["to"] == status["version"]
    assert status["panes"] == 4

    # The cut escape sequence resumes in the new server: 'RED' is red, and no '1m' leaks out as text.
    srv.send(side2, "")
    text = capture_until(srv, side2, "ARED")
    assert "ARED" in text.splitlines() and "A1mRED" not in text
    assert re.search(r"\x1b\[[\d;]*(31|38;5;1)[\d;]*mRED", srv.capture(side2, ansi=True))
    srv.send(1, "echo alive-$((6*7))")
    capture_until(srv, 1, "alive-42")
    assert {p["id"]: p["pid"] for p in srv.panes()} == {p["id"]: p["pid"] for p in before["panes"]}
    assert parent_of(srv.pane(1)["pid"]) == srv.keeper_pid()
    # The new server saves on from the file the old one wrote just before: every screen is in it, and a
    # pane that did not change since is the same terminal.
    srv.wait_saved()
    decoded = state.decode(srv.state_file.read_bytes())
    records = {r.id: r for r in decoded.header.panes}
    assert set(records) == {1, main, side1, side2} and all(r.screen is not None for r in records.values())
    kept = records[main]
    assert kept.screen is not None
    assert VTerm.from_snapshot(decoded.blob(kept.screen), 10_000).capture(scrollback=True).rstrip("\n") == \
        srv.capture(main, scrollback=True).rstrip("\n")


def test_restart_carries_a_sleeping_pane(server: StartServer, dullahan_env: dict[str, str]) -> None:
    """A pane idle long enough to sleep (a compressed snapshot instead of a terminal) is handed over as it is."""
    write_config(dullahan_env, {"hibernate_after": 1.0})
    srv = server()
    srv.send(1, "printf '\\033]0;sleepy\\007'; seq 1 2500; echo SEQ-$((1+1))")
    capture_until(srv, 1, "SEQ-2", scrollback=True)
    quiet(srv, [1])
    before = everything(srv)
    wait_for(lambda: srv.call("status")["panes_asleep"] == 1, 60, interval=0.2, message="the pane never slept")
    assert srv.panes()[0]["title"] == "sleepy"                 # a sleeping pane still answers listings
    result = srv.restart()
    assert result.returncode == 0, result.stderr
    assert everything(srv) == before
    srv.send(1, "echo alive-$((6*7))")
    capture_until(srv, 1, "alive-42")


def test_a_counter_loses_and_repeats_nothing_across_restart(server: StartServer, tmp_path: Path) -> None:
    srv = server(args=("--scrollback", "200000"))
    stop = tmp_path / "stop-counting"
    srv.send(1, "python3 -u -c \"import itertools, os, time; [print(i) or time.sleep(0.001) for i in "
                f"itertools.takewhile(lambda i: not os.path.exists('{stop}'), itertools.count(1))]\"; "
                "echo COUNTED-$((2+2))")

    def last_number() -> int:
        numbers = [int(line) for line in srv.capture(1).splitlines() if line.strip().isdigit()]
        return numbers[-1] if numbers else 0
    wait_for(lambda: last_number() > 200, 20)
    result = srv.restart()
    assert result.returncode == 0, result.stderr
    at_restart = last_number()
    wait_for(lambda: last_number() > at_restart + 300, 20, message="the counter did not go on after the restart")
    stop.touch()
    text = capture_until(srv, 1, "COUNTED-4", timeout=20, scrollback=True)
    numbers = [int(line) for line in text.splitlines() if line.strip().isdigit()]
    assert numbers == list(range(1, len(numbers) + 1)), "a gap or a repeat in the counter"
    assert len(numbers) > at_restart + 300


def test_a_new_server_that_cannot_start_leaves_the_old_one_serving(server: StartServer,
                                                                   dullahan_env: dict[str, str]) -> None:
    srv = server()
    srv.send(1, "echo before-$((1+2))")
    capture_until(srv, 1, "before-3")
    shell = srv.pane(1)["pid"]
    config = write_config(dullahan_env, {"ping_interval": "soon"})
    result = srv.restart()
    assert result.returncode == 1
    assert "restart failed" in result.stderr and "ping_interval" in result.stderr and str(config) in result.stderr
    assert srv.call("status")["pid"] == srv.pid
    assert srv.pane(1)["pid"] == shell
    # Thawed: the shell's output is read again, input gets through.
    srv.send(1, "echo still-$((2+2))")
    capture_until(srv, 1, "still-4")
    # And once the config is fixed, the restart goes through.
    config.unlink()
    result = srv.restart()
    assert result.returncode == 0, result.stderr
    assert srv.pane(1)["pid"] == shell
    capture_until(srv, 1, "still-4")


# -- crash -----------------------------------------------------------------------------------------------------
def test_kill9_keeps_the_shells_and_a_new_serve_reattaches_them(server: StartServer,
                                                                dullahan_env: dict[str, str]) -> None:
    write_config(dullahan_env, FAST_SAVES)
    srv = server()
    window = srv.call("new-window", layout="2-col")
    left, right = window["panes"]
    srv.send(1, "echo saved-$((5+5))")
    capture_until(srv, 1, "saved-10")
    # Printed after the crash, while no server reads: it waits in the PTY for the next one.
    srv.send(left, "sleep 3; echo after-the-crash-$((9*9))")
    # A full-screen program is told to repaint (SIGWINCH) when its pane is reattached.
    srv.send(right, "python3 -c \"import signal, time; signal.signal(signal.SIGWINCH, lambda *a: "
                    "print('GOT-WINCH', flush=True)); print('WAITING', flush=True); time.sleep(600)\"")
    capture_until(srv, right, "WAITING")
    srv.wait_saved()
    before = {p["id"]: p["pid"] for p in srv.panes()}
    keeper = srv.keeper_pid()
    assert keeper is not None and all(parent_of(pid) == keeper for pid in before.values())

    os.kill(srv.pid, signal.SIGKILL)
    srv.wait_exit(10)
    wait_for(lambda: not srv.alive(), 5)
    assert all(pid_running(pid) for pid in before.values()), "a shell died with the server"

    again = server(port=srv.port)
    assert {p["id"]: p["pid"] for p in again.panes()} == before
    assert [w["panes"] for w in again.call("windows")] == [[1], [left, right]]
    capture_until(again, 1, "saved-10")
    capture_until(again, left, "after-the-crash-81", timeout=15)
    capture_until(again, right, "GOT-WINCH")
    again.send(1, "echo reattached-$((3+4))")
    capture_until(again, 1, "reattached-7")
    assert again.call("status")["restart_notice"]["kind"] == "crash"
    assert again.keeper_pid() == keeper


def test_quit_after_a_crash_ends_the_kept_shells(server: StartServer) -> None:
    srv = server()
    shell = srv.pane(1)["pid"]
    keeper = srv.keeper_pid()
    os.kill(srv.pid, signal.SIGKILL)
    srv.wait_exit(10)
    assert pid_running(shell)
    result = srv.cli("quit")
    assert result.returncode == 0, result.stderr
    assert "ended the keeper and its 1 shell" in result.stdout
    assert keeper is not None
    wait_for(lambda: pid_gone(shell) and pid_gone(keeper), 10)


def test_quit_ends_shells_and_keeper(server: StartServer) -> None:
    srv = server()
    srv.call("new-window", layout="2-row")
    shells = [p["pid"] for p in srv.panes()]
    keeper = srv.keeper_pid()
    assert keeper is not None
    assert srv.cli("quit").returncode == 0
    wait_for(lambda: all(pid_gone(p) for p in [*shells, keeper]), 10)
    assert not srv.keeper_socket.exists() and not srv.keeper_pidfile.exists()


# -- reboot -----------------------------------------------------------------------------------------------------
def test_saved_state_comes_back_after_keeper_and_shells_are_gone(server: StartServer, tmp_path: Path,
                                                                 dullahan_env: dict[str, str]) -> None:
    write_config(dullahan_env, FAST_SAVES)
    workdir = tmp_path / "work dir"
    workdir.mkdir()
    srv = server()
    window = srv.call("new-window", layout="2-col")
    left, right = window["panes"]
    srv.call("new-window", layout="single")
    srv.call("select-window", window=window["id"])
    srv.send(left, f"cd '{workdir}'; seq 1 1500; printf '\\033[32mgreen\\033[0m\\n'")
    srv.send(right, "sleep 600")
    capture_until(srv, left, "green")
    capture_until(srv, right, "sleep 600")
    wait_for(lambda: srv.pane(right)["running"], 5)
    quiet(srv, [left, right])
    srv.wait_saved()
    windows = srv.call("windows")
    before = {p["id"]: srv.capture(p["id"], scrollback=True) for p in srv.panes()}
    shells = [p["pid"] for p in srv.panes()]
    keeper = srv.keeper_pid()
    assert keeper is not None
    os.kill(srv.pid, signal.SIGKILL)
    os.kill(keeper, signal.SIGKILL)
    wait_for(lambda: all(pid_gone(p) for p in shells), 10, message="shells outlived the keeper and server")
    srv.stopped = True

    again = server(port=srv.port)
    assert again.call("windows") == windows
    panes = {p["id"]: p for p in again.panes()}
    assert set(panes) == set(before)
    assert not set(p["pid"] for p in panes.values()) & set(shells)
    for pane_id, text in before.items():
        restored = capture_until(again, pane_id, "restored after restart at", scrollback=True)
        old_lines = text.rstrip("\n").split("\n")
        assert restored.split("\n")[:len(old_lines)] == old_lines, f"pane {pane_id}'s screen and history differ"
    assert re.search(r"\x1b\[[\d;]*(32|38;5;2)[\d;]*mgreen", again.capture(left, ansi=True))
    assert panes[right]["previous_command"] == ["sleep", "600"]
    assert "previous command: sleep 600" in again.capture(right)
    assert panes[left]["previous_command"] is None
    assert os.readlink(f"/proc/{panes[left]['pid']}/cwd") == str(workdir)
    notice = again.call("status")["restart_notice"]
    assert notice["kind"] == "reboot" and notice["saved_at"]
    # The previous command is offered, never run by itself; 'rerun' runs it.
    assert not any("sleep" in arg for pid in panes_pids(again) for arg in cmdline(pid))
    result = again.cli("rerun", str(right))
    assert result.returncode == 0, result.stderr
    wait_for(lambda: any(cmdline(p) == ["sleep", "600"] for p in descendants(again.pane(right)["pid"])), 10)


def panes_pids(srv: ServerProc) -> list[int]:
    return [pid for p in srv.panes() for pid in descendants(p["pid"])]


def descendants(pid: int) -> list[int]:
    from dullahan.testing.server import tree_pids
    return tree_pids(pid)


def cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode() for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def test_fresh_starts_empty_and_the_state_caps_apply(server: StartServer, dullahan_env: dict[str, str]) -> None:
    write_config(dullahan_env, {**FAST_SAVES, "state_scrollback_lines": 300})
    srv = server()
    srv.send(1, "seq 1 5000; echo CAPPED")
    capture_until(srv, 1, "CAPPED")
    saved = srv.wait_saved()
    assert saved["bytes"] > 0 and saved["dropped_rows"] > 3000
    status_text = srv.cli("status").stdout
    assert re.search(r"state [\d.]+ (B|KiB|MiB), saved", status_text), status_text
    record = state.decode(srv.state_file.read_bytes()).header.panes[0]
    assert 300 <= record.history_rows < 1500 and record.dropped_rows > 3000
    srv.stop()
    assert srv.state_file.exists()

    fresh = server(port=srv.port, args=("--fresh",))
    assert fresh.call("status")["restart_notice"] is None
    assert "CAPPED" not in fresh.capture(1, scrollback=True)


# -- bad input --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_an_unusable_state_file_is_kept_aside_and_the_server_starts_fresh(server: StartServer,
                                                                          dullahan_env: dict[str, str],
                                                                          damage: str) -> None:
    write_config(dullahan_env, FAST_SAVES)
    first = server()
    first.call("new-window", layout="2x2")
    first.wait_saved()
    first.stop()
    good = first.state_file.read_bytes()
    bad = os.urandom(5000) if damage == "garbage" else good[:len(good) // 2]
    first.state_file.write_bytes(bad)

    srv = server(port=first.port)
    status = srv.call("status")
    assert status["windows"] == 1 and status["panes"] == 1
    error = status["state"]["load_error"]
    assert error and ("not a Dullahan state file" in error or "damaged" in error or "short" in error), error
    kept = list(srv.state_file.parent.glob(srv.state_file.name + ".bad-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == bad and str(kept[0]) in error
    assert "cannot be used" in srv.log_text()
    assert "state load error" in srv.cli("status").stdout
    srv.send(1, "echo fine-$((1+1))")
    capture_until(srv, 1, "fine-2")
    srv.wait_saved()
    assert state.decode(srv.state_file.read_bytes()).header.panes


def test_the_keeper_survives_garbage_and_keeps_serving(server: StartServer) -> None:
    srv = server()

    def exchange(payload: bytes) -> dict[str, Any]:
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as sock:
            sock.settimeout(10)
            sock.connect(str(srv.keeper_socket))
            sock.sendall(payload)
            reply, fds = fdpass.receive(sock)
            fdpass.close_all(fds)
            assert not fds
            return reply

    for payload in (b"garbage", b"[1]", b'{"op": "spawn"}', b'{"op": "fd", "pid": 1}', b'{"op": "hello"}',
                    b'{"op": "hello", "protocol": 99}', json.dumps({"op": "status", "pid": "x" * 100}).encode(),
                    b"{" * 50_000, b"x" * (fdpass.MAX_MESSAGE + 10)):
        reply = exchange(payload)
        assert reply["ok"] is False and reply["error"], payload[:40]
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as sock:   # a peer that vanishes mid-request
        sock.connect(str(srv.keeper_socket))
        sock.sendall(b'{"op": "hello", "protocol": 1}')
    assert oct(srv.keeper_socket.stat().st_mode & 0o777) == "0o600"
    assert pid_running(srv.keeper_pid() or 0)
    window = srv.call("new-window", layout="2-col")   # spawning through the keeper still works
    for pane in window["panes"]:
        srv.send(pane, f"echo ok-{pane}-$((1+1))")
        capture_until(srv, pane, f"ok-{pane}-2")


def test_fresh_after_a_crash_ends_the_kept_shells_and_starts_empty(server: StartServer) -> None:
    srv = server()
    srv.call("new-window", layout="2-col")
    shells = [p["pid"] for p in srv.panes()]
    os.kill(srv.pid, signal.SIGKILL)
    srv.wait_exit(10)
    assert all(pid_running(p) for p in shells)
    fresh = server(port=srv.port, args=("--fresh",))
    wait_for(lambda: all(pid_gone(p) for p in shells), 10, message="--fresh left the old shells running")
    status = fresh.call("status")
    assert (status["windows"], status["panes"], status["restart_notice"]) == (1, 1, None)
    assert fresh.pane(1)["pid"] not in shells and fresh.pane(1)["running"]

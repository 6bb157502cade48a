"""A short abuse run for CI (issue 11): each attack ends with the server still serving a real client, a
master that connects, types and sees its echo, and a CLI that answers.

- file descriptors: 1,100 silent TCP connections against a server whose ``ulimit -n`` is 256;
- viewers: more view-token connections than ``max_connections`` before the master arrives;
- the log: debug ``+all`` under a flood of output, with a small size cap;
- budgets: viewers that never read but flood refused input are closed as ``abuse``.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

from hardening_support import master_types_and_sees_echo, server_closed, viewer
from helpers import capture_until, run, wait_for
from test_web import http_get
from web_support import disconnect_lines, start_web

FD_LIMIT = 256


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_silent_connections_cannot_exhaust_file_descriptors(server: Any, tmp_path: Path) -> None:
    web = start_web(server, tmp_path, False, nofile=FD_LIMIT)
    flood: list[socket.socket] = []
    try:
        for _ in range(1100):
            flood.append(socket.create_connection(("127.0.0.1", web.proc.port), timeout=30))
        wait_for(lambda: sum(not server_closed(s) for s in flood) <= 32, 30, interval=0.2,
                 message=lambda: f"{sum(not server_closed(s) for s in flood)} flood connections open")
        peak = open_fds(web.proc.pid)
        assert peak < FD_LIMIT - 64, peak
        # With all 1,100 still held on our side, the owner signs in, drives and uses the CLI.
        assert run(http_get(web, f"/?token={web.master}")).status == 303
        run(master_types_and_sees_echo(web, "fds"))
        result = web.proc.cli("status")
        assert result.returncode == 0, result.stderr
        assert "too many unauthenticated connections" in web.proc.log_text()
    finally:
        for s in flood:
            s.close()


def test_a_viewer_flood_leaves_room_for_the_master(server: Any, tmp_path: Path) -> None:
    web = start_web(server, tmp_path, False)
    viewers = [viewer(web) for _ in range(80)]
    try:
        assert sum(v.status == 101 for v in viewers) == 60
        run(master_types_and_sees_echo(web, "viewers"))
        assert web.proc.cli("clients").returncode == 0
    finally:
        for v in viewers:
            v.close_socket()


def test_debug_all_under_a_flood_keeps_the_log_within_its_cap(server: Any, tmp_path: Path) -> None:
    cap = 64 << 10
    web = start_web(server, tmp_path, False, config={"log_max_bytes": cap, "log_backups": 2},
                    env={"DULLAHAN_DEBUG": "+all"})
    log = web.proc.logfile
    web.proc.send(1, "yes flood-line-for-the-log")
    wait_for(lambda: Path(f"{log}.2").exists() and log.stat().st_size > cap // 2, 60, interval=0.2,
             message=lambda: str(sorted(p.name for p in log.parent.iterdir())))
    web.proc.send(1, "\x03", enter=False)
    capture_until(web.proc, 1, lambda t: t.rstrip().endswith("$"), timeout=30)
    names = sorted(p.name for p in log.parent.iterdir() if p.name.startswith(log.name))
    assert names == [log.name, f"{log.name}.1", f"{log.name}.2"], names
    sizes = [(log.parent / n).stat().st_size for n in names]
    assert all(size <= cap for size in sizes), sizes
    run(master_types_and_sees_echo(web, "logged"))
    assert web.proc.cli("status").returncode == 0
    assert all((log.parent / n).stat().st_size <= cap for n in names)


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def test_viewers_that_never_read_but_flood_refused_input_are_closed(server: Any, tmp_path: Path) -> None:
    """Before: 16 such viewers grew the server by ~1.9 MB/s, and none was ever dropped (their own messages
    counted as liveness). Each is now closed as 'abuse' once its refused messages pass the budget."""
    web = start_web(server, tmp_path, False)
    run(master_types_and_sees_echo(web, "before"))
    before = rss_kb(web.proc.pid)
    flooders = [viewer(web) for _ in range(16)]
    key = json.dumps({"t": "key", "p": 1, "key": "x"}).encode()
    try:
        assert all(v.status == 101 for v in flooders)
        open_ones = set(range(len(flooders)))
        for _round in range(2000):           # never reading a byte of what the server sends
            for i in list(open_ones):
                try:
                    flooders[i].send_frame(0x1, key)
                except OSError:
                    open_ones.discard(i)     # the server closed it
            if not open_ones:
                break
        wait_for(lambda: web.disconnects().get("abuse", 0) == len(flooders), 30,
                 message=lambda: f"disconnects {web.disconnects()}")
        assert all("refused messages per second" in line for line in disconnect_lines(web, "abuse"))
        grown_mb = (rss_kb(web.proc.pid) - before) / 1024
        print(f"\n16 flooding viewers closed as abuse; the server grew by {grown_mb:.1f} MB")
        assert grown_mb < 30, f"the server grew by {grown_mb:.1f} MB"
        run(master_types_and_sees_echo(web, "after"))
    finally:
        for v in flooders:
            v.sock.close()

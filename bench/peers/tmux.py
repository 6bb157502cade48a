"""tmux (the Debian package): the native reference that also keeps terminal state.

The server runs with its own socket and a config holding only ``history-limit 10000`` (as Dullahan's
scrollback). A client is a real ``tmux attach`` on a PTY that the harness reads; what the tmux client writes
to its terminal is tmux's "wire". The master client's output is fed to a Ghostty terminal in the harness (as
a real terminal would show it, answering its queries) so markers and echoes are seen where a person would
see them; viewers just read (at ``read_rate`` when set, so tmux has to cope with a slow terminal).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pyghostty

from bench.common import HISTORY, SHELL_CMD, PtyReader, bench_env, spawn_on_pty, stop_process
from bench.peers.base import Client, Peer, View

Check = tuple[object, "asyncio.Future[float]"]


class Screen:
    """The master client's terminal: tmux's output fed into Ghostty; predicates checked after each chunk."""

    def __init__(self, cols: int, rows: int) -> None:
        self.term = pyghostty.Terminal(cols, rows, 100)
        self.reader: PtyReader | None = None
        self.checks: list[tuple[object, asyncio.Future[float]]] = []
        self.tail = b""
        self.term.on_reply(self._reply)

    def _reply(self, data: bytes) -> None:
        if self.reader is not None and not self.reader.closed:
            self.reader.write(data)

    def on_data(self, data: bytes, at: float) -> None:
        self.term.feed(data)
        window = self.tail + data
        self.tail = data[-16:]
        keep = []
        for check, fut in self.checks:
            if fut.done():
                continue
            if check(window):  # type: ignore[operator]
                fut.set_result(at)
            else:
                keep.append((check, fut))
        self.checks = keep

    def lines(self) -> list[str]:
        return self.term.text().split("\n")

    def row(self, y: int) -> str:
        lines = self.lines()
        return lines[y] if y < len(lines) else ""

    def add(self, check: object) -> asyncio.Future[float]:
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.checks.append((check, fut))
        return fut


class TmuxView(View):
    def __init__(self, client: TmuxClient, pane_id: str, left: int, top: int, cols: int, rows: int) -> None:
        self.client = client
        self.pane_id = pane_id
        self.left, self.top, self.cols, self.rows = left, top, cols, rows

    async def type(self, text: str) -> None:
        if self.client.peer.active_pane() == self.pane_id:
            assert self.client.reader is not None
            self.client.reader.write(text.encode())
        else:   # not the focused pane: tmux's own send-keys (set-up only, never timed)
            await self.client.peer.tmux("send-keys", "-t", self.pane_id, "-l", text.replace("\r", ""))
            if text.endswith("\r"):
                await self.client.peer.tmux("send-keys", "-t", self.pane_id, "Enter")

    def _shows(self, marker: str) -> bool:
        screen = self.client.screen
        assert screen is not None
        lines = screen.lines()[self.top:self.top + self.rows]
        return any(line[self.left:self.left + self.cols].rstrip() == marker for line in lines)

    def expect_marker(self, marker: str) -> asyncio.Future[float]:
        screen = self.client.screen
        assert screen is not None
        tail = marker[-4:].encode()
        return screen.add(lambda window: tail in window and self._shows(marker))

    async def wait_marker(self, marker: str, timeout: float) -> float:
        if self._shows(marker):
            return time.perf_counter()
        return await asyncio.wait_for(self.expect_marker(marker), timeout)

    async def echo(self, ch: str, timeout: float) -> float:
        """The cell at the cursor (the end of the line in ``cat``, blank) must come to show ``ch``.

        Only the cell is checked, not the cursor: while another pane floods, tmux's output moves the cursor
        through that pane and a read can end anywhere in an update.
        """
        screen = self.client.screen
        assert screen is not None and self.client.reader is not None
        # The pane's cursor from tmux itself (the client's cursor may be in the other pane's update).
        pos = await self.client.peer.tmux("display-message", "-p", "-t", self.pane_id, "#{cursor_x} #{cursor_y}")
        cx, cy = (int(v) for v in pos.split())
        x0, y0 = self.left + cx, self.top + cy
        await asyncio.sleep(0.003)   # let the tmux server finish with that command client first
        raw = ch.encode()

        def shown(window: bytes) -> bool:
            if raw not in window:
                return False
            row = screen.row(y0)
            return len(row) > x0 and row[x0] == ch
        fut = screen.add(shown)
        start = time.perf_counter()
        self.client.reader.write(raw)
        return await asyncio.wait_for(fut, timeout) - start


class TmuxClient(Client):
    def __init__(self, peer: TmuxPeer, viewer: bool, read_rate: float | None) -> None:
        self.peer = peer
        self.viewer = viewer
        self.read_rate = read_rate
        self.proc: subprocess.Popen[bytes] | None = None
        self.reader: PtyReader | None = None
        self.screen: Screen | None = None
        self.views: list[View] = []

    async def open(self) -> None:
        peer = self.peer
        argv = [*peer.base, "attach-session", "-t", "bench"] + (["-r"] if self.viewer else [])
        self.proc, fd = spawn_on_pty(argv, peer.client_cols, peer.client_rows, bench_env())
        if self.viewer:
            self.reader = PtyReader(fd, lambda _d, _t: None, rate=self.read_rate)
            await asyncio.sleep(0.2)
            return
        self.screen = Screen(peer.client_cols, peer.client_rows)
        self.reader = PtyReader(fd, self.screen.on_data)
        self.screen.reader = self.reader
        layout = await peer.pane_layout()
        self.views = [TmuxView(self, pid, left, top, w, h) for pid, left, top, w, h in layout]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if all(any("$" in line for line in self.screen.lines()[v.top:v.top + v.rows])  # type: ignore[attr-defined]
                   for v in self.views):
                return
            await asyncio.sleep(0.05)
        raise TimeoutError("the tmux client never showed the prompts")

    def wire_bytes(self) -> int:
        return self.reader.bytes if self.reader else 0

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    async def close(self) -> None:
        if self.reader is not None:
            self.reader.close()
            try:
                os.close(self.reader.fd)
            except OSError:
                pass
        await asyncio.to_thread(stop_process, self.proc)


class TmuxPeer(Peer):
    name = "tmux"
    label = "tmux"
    memory = True

    def __init__(self, tmp: Path | None = None) -> None:
        self.tmp = tmp or Path(tempfile.mkdtemp(prefix="bench-tmux-"))
        self.sock = self.tmp / "sock"
        conf = self.tmp / "tmux.conf"
        conf.write_text(f"set -g history-limit {HISTORY}\nset -g default-shell /bin/sh\n")
        self.base = ["tmux", "-S", str(self.sock), "-f", str(conf)]
        self.pid = 0
        self.client_cols, self.client_rows = self.cols, self.rows + 1
        self.clients: list[TmuxClient] = []
        self._active = ""
        self.panes: list[str] = []

    async def tmux(self, *args: str) -> str:
        proc = await asyncio.create_subprocess_exec(*self.base, *args, stdout=subprocess.PIPE,
                                                    stderr=subprocess.PIPE, env=bench_env())
        out, err = await proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {err.decode().strip()}")
        return out.decode()

    async def start(self, panes: int = 1) -> None:
        # A window of 120 x (40 per pane + 1 border between panes); the client adds the status line.
        height = panes * self.rows + (panes - 1)
        await self.tmux("new-session", "-d", "-s", "bench", "-x", str(self.cols), "-y", str(height), SHELL_CMD)
        await self.tmux("set-option", "-g", "window-size", "manual")
        if panes == 2:
            await self.tmux("split-window", "-v", "-t", "bench", SHELL_CMD)
            await self.tmux("resize-pane", "-t", "bench.0", "-y", str(self.rows))
            await self.tmux("select-pane", "-t", "bench.0")
        self.client_cols, self.client_rows = self.cols, height + 1
        self.pid = int((await self.tmux("display-message", "-p", "#{pid}")).strip())
        layout = await self.pane_layout()
        assert all((w, h) == (self.cols, self.rows) for _p, _l, _t, w, h in layout), layout
        self.panes = [p for p, *_ in layout]
        self._active = (await self.tmux("display-message", "-p", "#{pane_id}")).strip()

    def active_pane(self) -> str:
        return self._active

    async def pane_layout(self) -> list[tuple[str, int, int, int, int]]:
        out = await self.tmux("list-panes", "-t", "bench", "-F",
                              "#{pane_id} #{pane_left} #{pane_top} #{pane_width} #{pane_height}")
        rows = []
        for line in out.split("\n"):
            if line.strip():
                pid, left, top, w, h = line.split()
                rows.append((pid, int(left), int(top), int(w), int(h)))
        return rows

    async def attach(self, *, viewer: bool = False, read_rate: float | None = None) -> Client:
        client = TmuxClient(self, viewer, read_rate)
        await client.open()
        self.clients.append(client)
        return client

    def server_pids(self) -> list[int]:
        return [self.pid] if self.pid else []

    def viewer_spec(self) -> dict[str, Any]:
        return {"name": self.name, "tmp": str(self.tmp), "size": [self.client_cols, self.client_rows]}

    @classmethod
    def from_viewer_spec(cls, spec: dict[str, Any]) -> TmuxPeer:
        peer = cls(Path(spec["tmp"]))
        peer.client_cols, peer.client_rows = spec["size"]
        return peer

    async def stop(self) -> None:
        for c in self.clients:
            await c.close()
        self.clients = []
        try:
            await self.tmux("kill-server")
        except RuntimeError:
            pass
        deadline = time.monotonic() + 5
        while self.pid and os.path.exists(f"/proc/{self.pid}") and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- figure 4 -------------------------------------------------------------------------------------
    async def start_memory(self, panes: int, cols: int, rows: int, history: int) -> None:
        conf = self.tmp / "tmux.conf"
        conf.write_text(f"set -g history-limit {history}\nset -g default-shell /bin/sh\n")
        await self.tmux("new-session", "-d", "-s", "bench", "-x", str(cols), "-y", str(rows), SHELL_CMD)
        for _ in range(panes - 1):
            await self.tmux("new-window", "-t", "bench", SHELL_CMD)
        self.pid = int((await self.tmux("display-message", "-p", "#{pid}")).strip())
        out = await self.tmux("list-panes", "-s", "-t", "bench", "-F", "#{pane_id} #{pane_width}x#{pane_height}")
        self.panes = [line.split()[0] for line in out.split("\n") if line.strip()]

    async def run_everywhere(self, command: str) -> None:
        for p in self.panes:
            await self.tmux("send-keys", "-t", p, "-l", command)
            await self.tmux("send-keys", "-t", p, "Enter")

    async def all_show(self, marker: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        pending = list(self.panes)
        while pending:
            text = await self.tmux("capture-pane", "-p", "-t", pending[0])
            if any(line.rstrip() == marker for line in text.splitlines()):
                pending.pop(0)
                continue
            if time.monotonic() > deadline:
                raise TimeoutError(f"pane {pending[0]} never showed {marker}")
            await asyncio.sleep(0.1)

    async def history_lines(self) -> list[int]:
        out = []
        for p in self.panes:
            text = await self.tmux("capture-pane", "-p", "-S", "-", "-E", "-", "-t", p)
            out.append(len(text.rstrip("\n").split("\n")))
        return out

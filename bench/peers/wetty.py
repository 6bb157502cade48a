"""WeTTY (npm ``wetty``, pinned in bench/package.json) run with ``--command``, so it needs no ssh.

Node runs ``bench/node_modules/wetty/build/main.js`` directly (so its pid is the server's). Each socket.io
connection gets its own shell, so a client opens one connection per pane and there is no fan-out. The client
is python-socketio over a WebSocket, speaking WeTTY's events as its browser client does: ``input`` and
``resize`` out, ``data`` in, and ``commit`` every 256 KiB received (WeTTY's flow control pauses the PTY when
2 MiB are unacknowledged). Wire bytes are the kernel's TCP counters of the client's sockets.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import socketio

from bench.common import BENCH, SHELL_CMD, bench_env, free_port, stop_process, wait_port
from bench.peers.base import Client, Peer, StreamView
from dullahan.testing.client import tcp_counters

MAIN = BENCH / "node_modules" / "wetty" / "build" / "main.js"
ACK_BYTES = 262144


def available() -> str | None:
    """None when WeTTY can run here, else why not."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not MAIN.exists():
        return f"{MAIN} is missing (run scripts/bench, which installs it)"
    pty_node = BENCH / "node_modules" / "node-pty" / "build" / "Release" / "pty.node"
    if not pty_node.exists():
        return "node-pty is not built (scripts/bench builds it with node-gyp)"
    return None


class WettyView(StreamView):
    def __init__(self, sio: socketio.AsyncClient) -> None:
        super().__init__()
        self.sio = sio
        self.unacked = 0
        self.login = asyncio.get_running_loop().create_future()
        sio.on("data", self._on_data)
        sio.on("login", self._on_login)

    async def _on_login(self, *_args: Any) -> None:
        if not self.login.done():
            self.login.set_result(time.perf_counter())

    async def _on_data(self, data: str) -> None:
        self.watch.feed(data, time.perf_counter())
        self.unacked += len(data)
        if self.unacked >= ACK_BYTES:
            self.unacked -= ACK_BYTES
            await self.sio.emit("commit", ACK_BYTES)

    async def send_raw(self, text: str) -> None:
        await self.sio.emit("input", text)

    def tcp_in(self) -> int:
        ws = getattr(self.sio.eio, "ws", None)
        conn = getattr(ws, "_conn", None)
        transport = getattr(conn, "transport", None)
        counts = tcp_counters(transport.get_extra_info("socket")) if transport is not None else None
        return counts[1] if counts else 0


class WettyClient(Client):
    def __init__(self, views: list[WettyView]) -> None:
        self.views = list(views)
        self._views = views

    def wire_bytes(self) -> int:
        return sum(v.tcp_in() for v in self._views)

    async def close(self) -> None:
        for v in self._views:
            await v.sio.disconnect()


class WettyPeer(Peer):
    name = "wetty"
    label = "WeTTY"
    fanout = False

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.panes = 1
        self.clients: list[WettyClient] = []
        self.log: Path | None = None

    async def start(self, panes: int = 1) -> None:
        why = available()
        if why:
            raise RuntimeError(f"WeTTY is not available: {why}")
        self.port = free_port()
        self.panes = panes
        self.proc = subprocess.Popen(["node", str(MAIN), "--port", str(self.port), "--host", "127.0.0.1",
                                      "--command", SHELL_CMD, "--log-level", "warn"],
                                     env=bench_env(NODE_ENV="production"), cwd=str(BENCH), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        await wait_port(self.port, proc=self.proc)

    async def attach(self, *, viewer: bool = False, read_rate: float | None = None) -> Client:
        if viewer:
            raise NotImplementedError("WeTTY starts a new shell per connection; it has no viewers")
        views = []
        for _ in range(self.panes):
            sio = socketio.AsyncClient(reconnection=False)
            view = WettyView(sio)
            await sio.connect(f"http://127.0.0.1:{self.port}", transports=["websocket"], socketio_path="socket.io",
                              wait_timeout=10)
            await asyncio.wait_for(view.login, 10)
            prompt = view.expect_marker("$ ")
            await sio.emit("resize", {"cols": self.cols, "rows": self.rows})
            await view.send_raw("\r")
            await asyncio.wait_for(prompt, 10)
            views.append(view)
        client = WettyClient(views)
        self.clients.append(client)
        return client

    def server_pids(self) -> list[int]:
        return [self.proc.pid] if self.proc else []

    async def stop(self) -> None:
        for c in self.clients:
            try:
                await c.close()
            except Exception:   # a broken client must not keep the server alive
                pass
        self.clients = []
        await asyncio.to_thread(stop_process, self.proc)
        self.proc = None

    def describe(self) -> str:
        version = "?"
        pkg = BENCH / "node_modules" / "wetty" / "package.json"
        if pkg.exists():
            import json
            version = json.loads(pkg.read_text()).get("version", "?")
        return f"WeTTY {version} (node {os.popen('node --version').read().strip()})"

"""terminado (PyPI; Jupyter's terminal backend) in a tiny tornado app, one named terminal per pane.

A client opens one WebSocket per terminal and speaks terminado's JSON messages (``["stdin", text]``,
``["set_size", rows, cols]`` in; ``["stdout", text]`` out). terminado keeps no terminal state: it relays the
PTY's bytes to every client. Wire bytes are the kernel's TCP counters of the client's sockets.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import bench_env, free_port, stop_process, wait_port
from bench.peers.base import Client, Peer, StreamView
from dullahan.testing.client import tcp_counters

APP = Path(__file__).resolve().parent / "terminado_app.py"


class TerminadoView(StreamView):
    def __init__(self, ws: aiohttp.ClientWebSocketResponse, read_rate: float | None) -> None:
        super().__init__()
        self.ws = ws
        self.read_rate = read_rate
        self.task = asyncio.create_task(self._read())
        self.setup = asyncio.get_running_loop().create_future()

    async def _read(self) -> None:
        while True:
            msg = await self.ws.receive()
            at = time.perf_counter()
            if msg.type != aiohttp.WSMsgType.TEXT:
                return
            kind, *rest = json.loads(msg.data)
            if kind == "stdout":
                self.watch.feed(rest[0], at)
            elif kind == "setup" and not self.setup.done():
                self.setup.set_result(at)
            if self.read_rate:
                await asyncio.sleep(len(msg.data) / self.read_rate)

    async def send_raw(self, text: str) -> None:
        await self.ws.send_str(json.dumps(["stdin", text]))

    def tcp_in(self) -> int:
        conn = getattr(self.ws, "_conn", None)
        transport = getattr(conn, "transport", None)
        counts = tcp_counters(transport.get_extra_info("socket")) if transport is not None else None
        return counts[1] if counts else 0


class TerminadoClient(Client):
    def __init__(self, session: aiohttp.ClientSession, views: list[TerminadoView]) -> None:
        self.session = session
        self.views = list(views)
        self._views = views

    def wire_bytes(self) -> int:
        return sum(v.tcp_in() for v in self._views)

    def alive(self) -> bool:
        return all(not v.ws.closed for v in self._views)

    async def close(self) -> None:
        for v in self._views:
            v.task.cancel()
            await v.ws.close()
        await self.session.close()


class TerminadoPeer(Peer):
    name = "terminado"
    label = "terminado"

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.names: list[str] = []
        self.clients: list[TerminadoClient] = []

    async def start(self, panes: int = 1) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen([sys.executable, str(APP), str(self.port)], env=bench_env(),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        await wait_port(self.port, proc=self.proc)
        self.names = [f"pane{i}" for i in range(panes)]

    async def attach(self, *, viewer: bool = False, read_rate: float | None = None) -> Client:
        session = aiohttp.ClientSession()
        views = []
        for name in self.names:
            ws = await session.ws_connect(f"ws://127.0.0.1:{self.port}/websocket/{name}", max_msg_size=0)
            view = TerminadoView(ws, read_rate)
            await asyncio.wait_for(view.setup, 10)
            prompt = view.expect_marker("$ ")
            await ws.send_str(json.dumps(["set_size", self.rows, self.cols, 600, 800]))
            if not viewer:
                await view.send_raw("\r")     # a fresh prompt shows the terminal is live at its new size
                await asyncio.wait_for(prompt, 10)
            views.append(view)
        client = TerminadoClient(session, views)
        self.clients.append(client)
        return client

    def server_pids(self) -> list[int]:
        return [self.proc.pid] if self.proc else []

    def viewer_spec(self) -> dict[str, Any]:
        return {"name": self.name, "port": self.port, "names": self.names}

    @classmethod
    def from_viewer_spec(cls, spec: dict[str, Any]) -> TerminadoPeer:
        peer = cls()
        peer.port, peer.names = spec["port"], list(spec["names"])
        return peer

    async def stop(self) -> None:
        for c in self.clients:
            await c.close()
        self.clients = []
        await asyncio.to_thread(stop_process, self.proc)
        self.proc = None

"""Dullahan: a private server subprocess (``python -m dullahan serve``), clients from ``dullahan.testing.client``.

Keys go out as ``key`` messages (one per keystroke, as the browser sends them); a marker or an echo counts as
arrived when a frame applied to the client's replica shows it. Wire bytes are the kernel's TCP counters of the
client's connection (frames, WebSocket framing and all).
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

from bench.common import HISTORY, SHELL_CMD
from bench.peers.base import Client, Peer, View
from dullahan.testing.client import ScriptedClient
from dullahan.testing.server import DullahanServer


class DullahanView(View):
    def __init__(self, client: ScriptedClient, pane: int) -> None:
        self.client = client
        self.pane = pane

    async def type(self, text: str) -> None:
        chunk = ""
        for ch in text:
            if ch >= " ":
                chunk += ch
                continue
            if chunk:
                await self.client.type_text(self.pane, chunk)
                chunk = ""
            if ch == "\r":
                await self.client.key(self.pane, "Enter", "Enter")
            else:   # a control character: Ctrl + its letter, as the browser sends it
                letter = chr(ord(ch) + 96)
                await self.client.key(self.pane, letter, f"Key{letter.upper()}", mods=2)
        if chunk:
            await self.client.type_text(self.pane, chunk)

    def _shows(self, marker: str) -> bool:
        try:
            return any(line.rstrip() == marker for line in self.client.screen(self.pane))
        except KeyError:
            return False

    def expect_marker(self, marker: str) -> asyncio.Future[float]:
        return asyncio.ensure_future(self.client.wait_until(lambda: self._shows(marker), 3600))

    async def wait_marker(self, marker: str, timeout: float) -> float:
        return await self.client.wait_until(lambda: self._shows(marker), timeout)

    async def echo(self, ch: str, timeout: float) -> float:
        return await self.client.echo(self.pane, ch, timeout)


class DullahanClient(Client):
    def __init__(self, client: ScriptedClient, panes: list[int]) -> None:
        self.client = client
        self.views = [DullahanView(client, p) for p in panes]

    def wire_bytes(self) -> int:
        counts = self.client.tcp()
        return counts[1] if counts else self.client.totals().wire_in

    def alive(self) -> bool:
        return self.client.connected

    async def close(self) -> None:
        await self.client.close()


class DullahanPeer(Peer):
    name = "dullahan"
    label = "Dullahan"
    memory = True

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.env = env
        self.server: DullahanServer | None = None
        self.panes: list[int] = []
        self.window = 0

    async def start(self, panes: int = 1) -> None:
        self.server = server = await asyncio.to_thread(
            DullahanServer.start_private, shell=SHELL_CMD, config={"scrollback_lines": HISTORY}, env=self.env)
        layout, rows = {1: ("single", self.rows + 1), 2: ("2-row", 2 * self.rows + 2)}[panes]
        before = [w["id"] for w in await server.acall("windows")]
        w = await server.acall("new-window", layout=layout, cols=self.cols, rows=rows)
        for wid in before:
            await server.acall("kill-window", window=wid)
        self.window = int(w["id"])
        self.panes = [p for p in w["panes"] if p]
        sizes = {p["id"]: (p["cols"], p["rows"]) for p in await server.acall("panes")}
        assert all(sizes[p] == (self.cols, self.rows) for p in self.panes), sizes
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            texts = [(await server.acall("capture", pane=p))["text"] for p in self.panes]
            if all("$" in t for t in texts):
                break
            await asyncio.sleep(0.05)

    async def attach(self, *, viewer: bool = False, read_rate: float | None = None) -> Client:
        server = self.server
        assert server is not None
        token = server.tokens()["view" if viewer else "master"]
        # Viewers only acknowledge frames (as cheap as tmux's viewers, which just read): on a 2-core machine
        # the harness's own work must not take the server's CPU.
        client = ScriptedClient(server.base_url, token, ssl_context=server.client_ssl,
                                name="viewer" if viewer else "master", read_rate=read_rate, apply_frames=not viewer)
        await client.connect()
        if not viewer:
            await client.wait_layout()
            await client.wait_until(lambda: all(client.cursor(p) is not None for p in self.panes), 10)
        return DullahanClient(client, self.panes)

    def server_pids(self) -> list[int]:
        """The server and its keeper (the process that holds the PTYs so that shells outlive a crash)."""
        if not self.server:
            return []
        from dullahan.persist.keeper_client import KeeperPaths, keeper_pid
        keeper = keeper_pid(KeeperPaths.in_dir(self.server.runtime_dir, self.server.port))
        return [self.server.pid] + ([keeper] if keeper else [])

    def viewer_spec(self) -> dict[str, Any]:
        assert self.server is not None
        return {"name": self.name, "port": self.server.port, "runtime": str(self.server.runtime_dir),
                "config": str(self.server.config_dir), "panes": self.panes}

    @classmethod
    def from_viewer_spec(cls, spec: dict[str, Any]) -> DullahanPeer:
        peer = cls()
        peer.server = DullahanServer(spec["port"], Path(spec["runtime"]), Path(spec["config"]))
        peer.panes = list(spec["panes"])
        return peer

    async def stop(self) -> None:
        if self.server is not None:
            await asyncio.to_thread(self.server.stop)
            self.server = None

    # -- figure 4 -------------------------------------------------------------------------------------
    async def start_memory(self, panes: int, cols: int, rows: int, history: int) -> None:
        self.server = server = await asyncio.to_thread(
            DullahanServer.start_private, shell=SHELL_CMD, config={"scrollback_lines": history}, env=self.env)
        before = [w["id"] for w in await server.acall("windows")]
        self.panes = []
        for _ in range(panes):
            w = await server.acall("new-window", layout="single", cols=cols, rows=rows + 1)
            self.panes += [p for p in w["panes"] if p]
        for wid in before:
            await server.acall("kill-window", window=wid)

    async def run_everywhere(self, command: str) -> None:
        assert self.server is not None
        for p in self.panes:
            await self.server.acall("send", pane=p, text=command, enter=True)

    async def all_show(self, marker: str, timeout: float) -> None:
        assert self.server is not None
        deadline = time.monotonic() + timeout
        pending = list(self.panes)
        while pending:
            text = (await self.server.acall("capture", pane=pending[0]))["text"]
            if any(line.rstrip() == marker for line in text.splitlines()):
                pending.pop(0)
                continue
            if time.monotonic() > deadline:
                raise TimeoutError(f"pane {pending[0]} never showed {marker}")
            await asyncio.sleep(0.1)

    async def history_lines(self) -> list[int]:
        assert self.server is not None
        out = []
        for p in self.panes:
            text = (await self.server.acall("capture", pane=p, scrollback=True))["text"]
            out.append(len(text.rstrip("\n").split("\n")))
        return out


BEFORE_SRC = "BENCH_BEFORE_SRC"      # the src directory of the checkout "before" runs from (bench.run --before)
BEFORE_REV = "BENCH_BEFORE_REV"


class DullahanBeforePeer(DullahanPeer):
    """Dullahan as of an earlier commit (``python -m bench.run --before REV``), measured in the same rounds, so
    before and after are compared side by side on the same machine at the same time."""

    name = "before"
    label = "Dullahan before"

    def __init__(self, env: dict[str, str] | None = None) -> None:
        src = os.environ.get(BEFORE_SRC)
        super().__init__({"PYTHONPATH": src, **(env or {})} if src else env)

    def describe(self) -> str:
        return f"Dullahan before this work (git {os.environ.get(BEFORE_REV, '?')}), same harness and settings"

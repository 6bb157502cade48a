"""The floor: bash on a PTY and a Python read loop (64 KiB reads on the event loop), no terminal emulation.

There is no separate server: the harness process itself reads the PTY, so its CPU time is the floor's.
"""

from __future__ import annotations

import asyncio
import os
import subprocess

from bench.common import SHELL, PtyReader, Utf8Stream, bench_env, spawn_on_pty, stop_process
from bench.peers.base import Client, Peer, StreamView


class BareView(StreamView):
    def __init__(self, peer: BarePeer, index: int) -> None:
        super().__init__()
        self.peer = peer
        self.index = index

    async def send_raw(self, text: str) -> None:
        self.peer.readers[self.index].write(text.encode())


class BareClient(Client):
    def __init__(self, peer: BarePeer) -> None:
        self.peer = peer
        self.views = list(peer.views)

    def wire_bytes(self) -> int:
        return sum(r.bytes for r in self.peer.readers)

    async def close(self) -> None:
        return None


class BarePeer(Peer):
    name = "bare"
    label = "bare PTY (floor)"
    fanout = False

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        self.readers: list[PtyReader] = []
        self.views: list[BareView] = []

    async def start(self, panes: int = 1) -> None:
        prompts = []
        for i in range(panes):
            proc, fd = spawn_on_pty(SHELL, self.cols, self.rows, bench_env())
            view = BareView(self, i)
            self.procs.append(proc)
            self.views.append(view)
            prompts.append(view.expect_marker("$ "))
            self.readers.append(PtyReader(fd, Utf8Stream(view.watch)))
        await asyncio.wait_for(asyncio.gather(*prompts), 10)

    async def attach(self, *, viewer: bool = False, read_rate: float | None = None) -> Client:
        return BareClient(self)

    def server_pids(self) -> list[int]:
        return [os.getpid()]

    async def stop(self) -> None:
        for r in self.readers:
            r.close()
            try:
                os.close(r.fd)
            except OSError:
                pass
        for p in self.procs:
            await asyncio.to_thread(stop_process, p)

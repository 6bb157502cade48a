"""The interface every peer implements, so each figure runs the same script against all of them.

A *peer* is a terminal server (or the bare floor): ``start(panes)`` gives it ``panes`` terminals of 120x40
running ``bash --noprofile --norc``, all visible to an attached client. ``attach()`` connects one client,
which has one *view* per terminal: type into it, wait for a marker on it, time an echo on it. The server's
CPU time and RSS are read from /proc for ``server_pids()``.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from typing import Any

from bench.common import COLS, ROWS, StreamWatch


class View(ABC):
    """One client's view of one terminal."""

    @abstractmethod
    async def type(self, text: str) -> None:
        """Send text as typed keys (``\\r`` is Enter)."""

    @abstractmethod
    async def wait_marker(self, marker: str, timeout: float) -> float:
        """perf_counter() time at which ``marker`` became visible (arrived); registered before the action."""

    @abstractmethod
    def expect_marker(self, marker: str) -> asyncio.Future[float]:
        """Start watching for ``marker``; await the future for its arrival time."""

    @abstractmethod
    async def echo(self, ch: str, timeout: float) -> float:
        """Type one printable character; seconds until the client received its echo."""


class StreamView(View):
    """A view over a raw output stream (PTY bytes, terminado or WeTTY messages): markers and echoes are
    found in the text as it arrives. Suits streams that carry one terminal's output and nothing else."""

    def __init__(self) -> None:
        self.watch = StreamWatch()

    async def send_raw(self, text: str) -> None:
        raise NotImplementedError

    async def type(self, text: str) -> None:
        await self.send_raw(text)

    def expect_marker(self, marker: str) -> asyncio.Future[float]:
        return self.watch.expect(marker)

    async def wait_marker(self, marker: str, timeout: float) -> float:
        return await asyncio.wait_for(self.watch.expect(marker), timeout)

    async def echo(self, ch: str, timeout: float) -> float:
        fut = self.watch.expect(ch)
        start = time.perf_counter()
        await self.send_raw(ch)
        return await asyncio.wait_for(fut, timeout) - start


class Client(ABC):
    views: list[View]

    @abstractmethod
    def wire_bytes(self) -> int:
        """Bytes this client has received so far (TCP payload, or what a terminal client got on its PTY)."""

    @abstractmethod
    async def close(self) -> None: ...


class Peer(ABC):
    name = "peer"
    label = "peer"
    fanout = True       # can many clients watch the same terminals?
    memory = False      # keeps terminal state (scrollback) on the server side?

    cols = COLS
    rows = ROWS

    @abstractmethod
    async def start(self, panes: int = 1) -> None: ...

    @abstractmethod
    async def attach(self, *, viewer: bool = False, read_rate: float | None = None) -> Client: ...

    @abstractmethod
    def server_pids(self) -> list[int]: ...

    @abstractmethod
    async def stop(self) -> None: ...

    def describe(self) -> str:
        return self.label

    # Figure 3 (fan-out): viewers run in a separate process (bench/viewers.py), rebuilt from this spec.
    def viewer_spec(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_viewer_spec(cls, spec: dict[str, Any]) -> Peer:
        raise NotImplementedError

    # Figure 4 (memory): only peers that keep terminal state implement these.
    async def start_memory(self, panes: int, cols: int, rows: int, history: int) -> None:
        raise NotImplementedError

    async def run_everywhere(self, command: str) -> None:
        raise NotImplementedError

    async def all_show(self, marker: str, timeout: float) -> None:
        raise NotImplementedError

    async def history_lines(self) -> list[int]:
        raise NotImplementedError

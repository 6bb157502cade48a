"""Shared pieces of the benchmarks: statistics, /proc readings, PTYs, streams watched for markers and echoes."""

from __future__ import annotations

import asyncio
import codecs
import fcntl
import os
import pty
import resource
import shutil
import signal
import socket
import struct
import subprocess
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dullahan.testing.server import proc_cpu_seconds, proc_rss_bytes

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
SHELL = ["bash", "--noprofile", "--norc"]
SHELL_CMD = "bash --noprofile --norc"
COLS, ROWS = 120, 40
HISTORY = 10_000
MARKER = "BENCH_DONE"
# The command line shows BENCH_""DONE; only the command's output shows BENCH_DONE.
MARKER_CMD = 'echo BENCH_""DONE'


# -- statistics -------------------------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


@dataclass
class Spread:
    median: float
    lo: float
    hi: float
    n: int

    @classmethod
    def of(cls, values: list[float]) -> Spread:
        vals = [v for v in values if v == v]   # drop NaN
        if not vals:
            return cls(float("nan"), float("nan"), float("nan"), 0)
        return cls(percentile(vals, 0.5), min(vals), max(vals), len(vals))


# -- processes --------------------------------------------------------------------------------------------------
def cpu_of(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += proc_cpu_seconds(pid)
        except OSError:
            pass
    return total


def rss_of(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            total += proc_rss_bytes(pid)
        except OSError:
            pass
    return total


def self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_port(port: int, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited ({proc.returncode}) before listening on {port}")
        try:
            _r, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


def stop_process(proc: subprocess.Popen[Any] | None, timeout: float = 5.0) -> None:
    """SIGTERM the process group we started (start_new_session=True), then SIGKILL."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(5)


def bench_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DULLAHAN_", "TMUX")) and k not in ("PROMPT_COMMAND",)}
    env.update(PS1="$ ", TERM="xterm-256color", SHELL="/bin/bash", LANG=env.get("LANG", "C.UTF-8"))
    env.update(extra)
    return env


def set_winsize(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def spawn_on_pty(argv: list[str], cols: int, rows: int, env: dict[str, str] | None = None,
                 cwd: str | None = None) -> tuple[subprocess.Popen[bytes], int]:
    """Start ``argv`` on a new PTY of ``cols`` x ``rows``; returns the process and the master fd."""
    master, slave = pty.openpty()
    set_winsize(slave, cols, rows)
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env or bench_env(), cwd=cwd,
                            start_new_session=True, close_fds=True,
                            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
    os.close(slave)
    os.set_blocking(master, False)
    return proc, master


def which(name: str) -> str | None:
    return shutil.which(name)


# -- streams ----------------------------------------------------------------------------------------------------
Waiter = tuple[Callable[[str], bool], "asyncio.Future[float]"]


class StreamWatch:
    """Text arriving from a peer (a PTY, a websocket), watched for markers and echoes.

    Waiters registered before an action see only what arrives after it. Times are perf_counter() values of
    the moment the chunk was received.
    """

    def __init__(self) -> None:
        self.tail = ""
        self.received = 0          # characters
        self.waiters: list[tuple[str, asyncio.Future[float]]] = []

    def feed(self, text: str, at: float) -> None:
        self.received += len(text)
        if self.waiters:
            window = self.tail + text
            keep = []
            for pattern, fut in self.waiters:
                if fut.done():
                    continue
                if pattern in window:
                    fut.set_result(at)
                else:
                    keep.append((pattern, fut))
            self.waiters = keep
        self.tail = (self.tail + text)[-64:] if len(text) < 64 else text[-64:]

    def expect(self, pattern: str) -> asyncio.Future[float]:
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.tail = ""     # only what arrives from now on
        self.waiters.append((pattern, fut))
        return fut


class PtyReader:
    """Reads a PTY master fd on the event loop; optionally no faster than ``rate`` bytes per second."""

    def __init__(self, fd: int, on_data: Callable[[bytes, float], None], rate: float | None = None,
                 chunk: int = 65536) -> None:
        self.fd = fd
        self.on_data = on_data
        self.rate = rate
        self.chunk = 4096 if rate else chunk
        self.bytes = 0
        self.closed = False
        self.loop = asyncio.get_running_loop()
        self.loop.add_reader(fd, self._readable)
        self._resume: asyncio.TimerHandle | None = None

    def _readable(self) -> None:
        try:
            data = os.read(self.fd, self.chunk)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.close()
            return
        self.bytes += len(data)
        self.on_data(data, time.perf_counter())
        if self.rate and not self.closed:
            self.loop.remove_reader(self.fd)
            self._resume = self.loop.call_later(len(data) / self.rate, self._again)

    def _again(self) -> None:
        if not self.closed:
            self.loop.add_reader(self.fd, self._readable)

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                n = os.write(self.fd, view)
            except BlockingIOError:
                time.sleep(0.0005)
                continue
            view = view[n:]

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._resume is not None:
            self._resume.cancel()
        try:
            self.loop.remove_reader(self.fd)
        except (ValueError, OSError):
            pass


class Utf8Stream:
    """Incremental UTF-8 decoding of a byte stream into a StreamWatch."""

    def __init__(self, watch: StreamWatch) -> None:
        self.watch = watch
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def __call__(self, data: bytes, at: float) -> None:
        self.watch.feed(self.decoder.decode(data), at)


async def until(fut: asyncio.Future[float], timeout: float) -> float:
    return await asyncio.wait_for(fut, timeout)
